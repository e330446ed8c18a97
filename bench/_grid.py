"""The benchmark grid: every (corpus, vocab, rep, tool) run, recorded and summarised.

``Bench`` finds the tools, measures their start-up, runs the grid with the
tools alternating (starting tool rotated each rep), keeps each run's record
and merge list, and summarises medians, ratios and merge parity per tool.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from _measure import run_measured
from _merges import compare_merges, extract_merges, merges_digest
from _tools import find_tokkit, tool_available, tool_command


class Bench:
    """One benchmark session: its options, work directory, environment and every run."""

    def __init__(self, args: argparse.Namespace, tools: list[str]) -> None:
        self.a = args
        self.tools = tools
        self.workdir = Path(tempfile.mkdtemp(prefix="tokkit-train-bench-", dir=args.workdir))
        self.env = dict(os.environ)
        self.env.update(
            RAYON_NUM_THREADS=str(args.threads),
            TOKENIZERS_PARALLELISM="true",
            PYTHONUNBUFFERED="1",
        )
        self.tokkit_cmd: list[str] | None = None
        self.skipped: dict[str, str] = {}
        self.runs: list[dict[str, Any]] = []
        self.ref_merges: dict[tuple[str, int], list[tuple[str, str]]] = {}
        self.tool_merges: dict[tuple[str, str, int], list[tuple[str, str]]] = {}
        self.timed_out_at: dict[str, list[tuple[str, int, int]]] = {}

    # -- setup ----------------------------------------------------------
    def check_tools(self) -> list[str]:
        ok = []
        for tool in self.tools:
            if tool == "tokkit":
                self.tokkit_cmd, how = find_tokkit(self.a.tokkit_cmd)
                if self.tokkit_cmd is None:
                    self.skipped[tool] = how
                    print(f"[skip] tokkit: {how}", file=sys.stderr)
                    continue
                print(f"[info] tokkit: {how}", file=sys.stderr)
            else:
                why = tool_available(tool)
                if why:
                    self.skipped[tool] = why
                    print(f"[skip] {tool}: {why}", file=sys.stderr)
                    continue
            ok.append(tool)
        return ok

    def command(
        self, tool: str, corpus: Path, vocab: int, outdir: Path, noop: bool = False
    ) -> list[str]:
        return tool_command(
            tool,
            self.tokkit_cmd,
            corpus,
            vocab,
            outdir,
            self.a.threads,
            self.a.spm_sentence_cap,
            self.a.spm_max_sentence_length,
            noop=noop,
        )

    def startup_baseline(self, tools: list[str], corpus: Path) -> dict[str, Any]:
        """Spawn-to-exit time and RSS of each tool doing everything but training."""
        out: dict[str, Any] = {}
        for tool in tools:
            walls, rss = [], []
            for i in range(3):
                d = self.workdir / f"noop-{tool}-{i}"
                d.mkdir()
                r = run_measured(
                    self.command(tool, corpus, 1000, d, noop=True), self.env, 120, d / "log"
                )
                if r["status"] == "ok":
                    walls.append(r["wall_s"])
                    rss.append(r["peak_rss_mib"])
            if walls:
                out[tool] = {
                    "wall_s": round(statistics.median(walls), 3),
                    "peak_rss_mib": statistics.median(rss),
                }
        return out

    # -- one run ----------------------------------------------------------
    def one_run(self, tool: str, corpus: Path, vocab: int, rep: int) -> dict[str, Any]:
        size = corpus.stat().st_size
        rec: dict[str, Any] = {"tool": tool, "corpus": str(corpus), "vocab": vocab, "rep": rep}
        # A run at least as big (corpus and vocab) as one that timed out would time out too.
        bigger_than = [
            (c, v) for c, v, b in self.timed_out_at.get(tool, []) if size >= b and vocab >= v
        ]
        if bigger_than and self.a.skip_after_timeout:
            c, v = bigger_than[0]
            rec.update(
                status="skipped_after_timeout",
                wall_s=None,
                note=f"a run on {c} at vocab {v} timed out",
            )
            return rec
        outdir = self.workdir / f"{tool}-{Path(corpus).stem}-{vocab}-r{rep}"
        outdir.mkdir(parents=True)
        cmd = self.command(tool, corpus, vocab, outdir)
        rec["cmd"] = shlex.join(cmd)
        rec.update(run_measured(cmd, self.env, self.a.timeout, outdir / "log"))
        if rec["status"] == "timeout":
            self.timed_out_at.setdefault(tool, []).append((str(corpus), vocab, size))
        if rec["status"] == "ok":
            try:
                merges = extract_merges(tool, outdir)
            except (OSError, ValueError, KeyError) as e:
                merges = None
                rec["merges_error"] = repr(e)
            if merges is not None:
                rec["n_merges"] = len(merges)
                rec["merges_sha"] = merges_digest(merges)
                mk = (tool, str(corpus), vocab)
                self.tool_merges.setdefault(mk, merges)
                if tool == "hf":
                    self.ref_merges.setdefault((str(corpus), vocab), merges)
        if not self.a.keep_artifacts:
            shutil.rmtree(outdir, ignore_errors=True)
        return rec

    def run_grid(self, corpora: list[Path], vocabs: list[int], tools: list[str], save: Any) -> None:
        total = len(corpora) * len(vocabs) * self.a.reps * len(tools)
        done = 0
        for corpus in corpora:
            for vocab in vocabs:
                for rep in range(self.a.reps):
                    k = rep % len(tools)
                    for tool in tools[k:] + tools[:k]:
                        done += 1
                        rec = self.one_run(tool, corpus, vocab, rep)
                        self.runs.append(rec)
                        wall = rec.get("wall_s")
                        shown = f"{wall:.2f}s" if wall is not None else "-"
                        print(
                            f"[{done}/{total}] {Path(corpus).name} V={vocab} rep={rep} "
                            f"{tool:<13} {rec['status']:<8} wall={shown} "
                            f"rss={rec.get('peak_rss_mib', '-')}MiB "
                            f"merges={rec.get('n_merges', '-')}",
                            file=sys.stderr,
                            flush=True,
                        )
                        save()

    # -- summary ------------------------------------------------------------
    def summarize(self, corpus: Path, vocab: int, tools: list[str]) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        ref = self.ref_merges.get((str(corpus), vocab))
        for tool in tools:
            runs = [
                r
                for r in self.runs
                if r["tool"] == tool and r["corpus"] == str(corpus) and r["vocab"] == vocab
            ]
            ok = [r for r in runs if r["status"] == "ok"]
            n_timeout = sum(r["status"] in ("timeout", "skipped_after_timeout") for r in runs)
            n_error = sum(r["status"] == "error" for r in runs)
            walls = [r["wall_s"] for r in ok] + [float("inf")] * n_timeout
            med = statistics.median(walls) if walls else None
            row: dict[str, Any] = {
                "runs": len(runs),
                "ok": len(ok),
                "timeouts": n_timeout,
                "errors": n_error,
                "wall_s": [r.get("wall_s") for r in runs],
                "statuses": [r["status"] for r in runs],
                "median_wall_s": None if med in (None, float("inf")) else round(med, 3),
                "median_timed_out": med == float("inf"),
                "median_peak_rss_mib": (
                    round(statistics.median(r["peak_rss_mib"] for r in ok), 1) if ok else None
                ),
                "median_cpu_s": (
                    round(statistics.median(r["cpu_s"] for r in ok), 2) if ok else None
                ),
                "merges_digests": sorted({r["merges_sha"] for r in ok if "merges_sha" in r}),
            }
            row["deterministic"] = len(row["merges_digests"]) <= 1
            merges = self.tool_merges.get((tool, str(corpus), vocab))
            if tool == "sentencepiece":
                row["merges_vs_hf"] = None
                row["merges_na"] = "n/a (not byte-level)"
            elif ref is None:
                row["merges_vs_hf"] = None
                row["merges_na"] = "n/a (no HF run)"
            elif merges is None:
                row["merges_vs_hf"] = None
                row["merges_na"] = "n/a (no output)"
            else:
                row["merges_vs_hf"] = compare_merges(ref, merges)
            rows[tool] = row
        base = rows.get(self.a.baseline)
        for row in rows.values():
            row["time_ratio"] = _ratio(row, base, "median_wall_s")
            row["rss_ratio"] = _ratio(row, base, "median_peak_rss_mib")
        return rows


def _ratio(row: dict[str, Any], base: dict[str, Any] | None, key: str) -> float | None:
    if base is None or not base.get(key) or row.get(key) is None:
        return None
    return round(row[key] / base[key], 3)
