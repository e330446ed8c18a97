"""Encode speed and exactness: tokkit against fastokens, tokie, tiktoken, bpe-openai and HF
`tokenizers`, in one run with the tools alternating.

    python bench/encode_bench.py --out bench/out/encode.json --markdown docs/benchmarks.md
    python bench/encode_bench.py --quick            # smoke: 1 rep, small texts, ~2-3 minutes
    python bench/encode_bench.py --tokenizers llama3 gemma3 --texts mixed --modes single batch

Tokenizers: gpt2, llama3, qwen2, o200k, gemma3 (`tests/_tokenizer_files.py`; cl100k on request)
and tokkit's own 32k byte-level BPE and 32k SuperBPE (transition point 0.8), trained by the
`tokkit train` CLI on ~20 MB of en-100mb.txt plus corpora/code.txt and cached under
bench/out/encode-tokenizers/ (`_encode_texts.py`). A tool runs on a vocabulary only if it can
load it: bpe-openai ships o200k and cl100k; tiktoken gets the tokenizer.json's vocabulary as
ranks plus its one split regex (o200k/cl100k: tiktoken's own rank file and regex), so not
Gemma-3 or the SuperBPE (`_encode_tools.py`).

Texts (`_encode_texts.py`, built once per run in a temporary directory; each row names its
text): `mixed` (the issue's case: 5 MB of en-100mb.txt from byte 20,000,000 then 5 MB of the
Python stdlib's .py files), `prose` (en-100mb's prose sources), `code` (stdlib .py) and
`turkish`. Every text has an A, which a fresh process encodes first (cold: the headline), and a
different B of the same kind, which the same process encodes next (warm: where an encoder's
cache across calls shows).

Modes: `single` (the whole text in one call), `batch` (its lines in one batch call), `count`
(the token count of the whole text, no ids), `count_batch` (counts of the lines) and `array`
(ids as a numpy array or flat buffer); 1 or 2 threads (RAYON_NUM_THREADS, RAYON_RS_NUM_CPUS,
TOKKIT_NUM_THREADS, TOKENIZERS_PARALLELISM, and `num_threads=` where a call takes it). A tokkit
mode whose method this build lacks is skipped and printed as "skipped: missing".

Every timed run is a fresh process (`_encode_worker.py` under `_measure.run_measured`, so peak
RSS is the tool's own, loading included); each repetition goes round the plan with the tools'
order rotated, after one untimed process per tool on the first case (see `warm_up`). A call is
timed by `time.process_time` (CPU of all the process's threads) and `time.perf_counter` around
it, building the Python result included. Loading is timed in the same processes (the module's
import, then the load call). A tool other than tokkit and fastokens that is more than
`--slow-factor` (5) times slower than a case's fastest in the first repetition (HF,
Python-pooled batches) is timed once: its ratio is not in question and repeating it would cost
most of the run.

Exactness: each row is checked against HF's ids on the same input (whole-output hash; per line
for batches; counts against HF's token counts), and a diff phase encodes every planned text, A
and B, as lines and as ~8 KB chunks with every tool and counts the documents whose ids differ
from HF's. A tool whose ids differ is still timed, and marked with the counts.

Plans: the default (`PLAN`, about 15 minutes on 2 quiet cores) runs every tokenizer on `mixed`
in one call with one thread; batch and count_batch with 1 and 2 threads, count and array with
one, and prose and code, on o200k, gemma3 and tokkit-bpe32k; Turkish on gemma3 and qwen2.
`--quick` is the same shape on tokkit-bpe32k (and gemma3 for Turkish) with texts a tenth the
size and 1 rep; `--plan all` is the whole cross product (hours). `--tokenizers`, `--texts`,
`--tools`, `--modes` and `--threads` filter any plan. Writes bench/out/encode.json and, with
`--markdown`, the `encode` section.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from _encode_report import markdown
from _encode_texts import TEXTS, TRAINED, build_texts, describe_text, trained_tokenizers
from _encode_tools import DISTS, MODES, TOOLS, can_load, support
from _encode_worker import BATCH_MODES, MODULES, compare_docs, diff_docs

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORKER = BENCH / "_encode_worker.py"

HF_NAMES = ("gpt2", "llama3", "qwen2", "o200k", "gemma3")
TOKENIZERS = (*HF_NAMES, *TRAINED)
EXTRA_TOKENIZERS = ("cl100k",)
# The comparison the benchmark is for: these two get every repetition, however slow.
ALWAYS_REPEATED = ("tokkit", "fastokens")
Plan = list[tuple[list[str], list[str], list[str], list[int]]]


def make_plan(focus: list[str], turkish: list[str]) -> Plan:
    """(texts, tokenizers, modes, threads) groups; the runs are their union, in this order."""
    return [
        (["mixed"], list(TOKENIZERS), ["single"], [1]),
        (["mixed"], focus, ["batch", "count_batch"], [1, 2]),
        (["mixed"], focus, ["lines"], [1]),
        (["mixed"], focus, ["count", "array"], [1]),
        (["prose", "code"], focus, ["single"], [1]),
        (["turkish"], turkish, ["single"], [1]),
    ]


# o200k: every anchor (bpe-openai, tiktoken on its own ranks); gemma3: SentencePiece-style with
# byte fallback; tokkit-bpe32k: the tokenizer.
PLAN = make_plan(["o200k", "gemma3", "tokkit-bpe32k"], ["gemma3", "qwen2"])
QUICK_PLAN = make_plan(["tokkit-bpe32k"], ["gemma3"])
PLAN_ALL: Plan = [(list(TEXTS), list(TOKENIZERS), list(MODES), [1, 2])]


@dataclass(frozen=True)
class Case:
    tokenizer: str
    text: str
    mode: str
    threads: int

    def tag(self, tool: str, rep: int) -> str:
        return f"{self.tokenizer}-{self.text}-{self.mode}-t{self.threads}-{tool}-{rep}"


@dataclass
class Run:
    """What a run needs everywhere: the cases, who can run them, files, and the results."""

    args: argparse.Namespace
    cases: list[Case]
    tools: list[str]
    paths: dict[str, Path]
    texts: dict[str, Any]
    tmp: Path
    env: dict[str, str]
    loadable: dict[tuple[str, str], bool]
    mode_ok: dict[tuple[str, str], bool]
    runs: dict[tuple[Case, str], list[dict[str, Any]]] = field(default_factory=dict)
    broken: dict[tuple[str, str], str] = field(default_factory=dict)
    process_wall_s: float = 0.0


def expand(plan: Plan, args: argparse.Namespace) -> list[Case]:
    """The plan's cases, filtered by the command line, without repeats, in plan order."""
    seen: dict[Case, None] = {}
    for texts, toks, modes, threads in plan:
        for tok in toks:
            for text in texts:
                for mode in modes:
                    for n in threads:
                        if (
                            (not args.tokenizers or tok in args.tokenizers)
                            and (not args.texts or text in args.texts)
                            and (not args.modes or mode in args.modes)
                            and (not args.threads or n in args.threads)
                        ):
                            seen[Case(tok, text, mode, n)] = None
    return list(seen)


def tool_env(base: dict[str, str], threads: int) -> dict[str, str]:
    """The environment of a tool's process: its thread count everywhere a tool may read one,
    and no fastokens segment cache (off by default; an inherited setting must not turn it on)."""
    env = {k: v for k, v in base.items() if k != "FASTOKENS_SEGMENT_CACHE"}
    env.update(
        RAYON_NUM_THREADS=str(threads),
        RAYON_RS_NUM_CPUS=str(threads),
        TOKKIT_NUM_THREADS=str(threads),
        TOKENIZERS_PARALLELISM="true" if threads > 1 else "false",
    )
    return env


def versions(tools: list[str]) -> dict[str, str]:
    out = {}
    for tool in tools:
        try:
            out[tool] = importlib.metadata.version(DISTS[tool])
        except importlib.metadata.PackageNotFoundError:
            out[tool] = "not installed"
    return out


def run_worker(
    run: Run, spec: dict[str, Any], threads: int, log: Path
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One fresh worker process: the launcher's measurements and the worker's JSON (or None)."""
    from _measure import run_measured

    cmd = [sys.executable, str(WORKER), json.dumps(spec)]
    res = run_measured(cmd, tool_env(run.env, threads), run.args.timeout, log)
    if res["status"] != "ok":
        return res, None
    run.process_wall_s += res["wall_s"]
    lines = Path(f"{log}.stdout").read_text().strip().splitlines()
    return res, json.loads(lines[-1])


def warm_up(run: Run) -> None:
    """One untimed process per tool on the first case, before anything is timed.

    The first processes of a run can find the machine's memory in another state than the later
    ones (free huge pages, page cache), and the tool that starts the first repetition would
    take that alone in every run. (tokkit's own slow first processes were its allocator asking
    for huge pages: see `rust/tokkit-py/src/allocator.rs`.)"""
    case = run.cases[0]
    for tool in run.tools:
        if run.loadable[tool, case.tokenizer] and run.mode_ok[tool, case.mode]:
            spec = time_spec(run, case, tool, docs=None)
            run_worker(run, spec, case.threads, run.tmp / f"warm-up-{tool}")


def timing_phase(run: Run) -> None:
    """Every case, repetition by repetition, the tools in rotated order, each a fresh process."""
    args = run.args
    if run.cases:
        warm_up(run)
    once: set[tuple[Case, str]] = set()
    for rep in range(args.reps):
        for case in run.cases:
            if rep == 1:
                firsts = {
                    t: rs[0]["cold"]["cpu_s"] for t in run.tools if (rs := run.runs.get((case, t)))
                }
                fastest = min(firsts.values(), default=0.0)
                once |= {
                    (case, t)
                    for t, s in firsts.items()
                    if t not in ALWAYS_REPEATED and s > args.slow_factor * fastest
                }
            these = [
                t
                for t in run.tools
                if run.loadable[t, case.tokenizer]
                and run.mode_ok[t, case.mode]
                and (case, t) not in once
                and (t, case.tokenizer) not in run.broken
            ]
            k = rep % len(these) if these else 0
            for tool in these[k:] + these[:k]:
                time_one(run, case, tool, rep)


def time_spec(run: Run, case: Case, tool: str, docs: str | None) -> dict[str, Any]:
    """The worker's task: time ``tool`` on ``case`` (keeping per-line results in ``docs``)."""
    text = run.texts[case.text]
    return {
        "task": "time",
        "tool": tool,
        "tokenizer": case.tokenizer,
        "path": str(run.paths[case.tokenizer]),
        "mode": case.mode,
        "threads": case.threads,
        "A": text["A"]["path"],
        "B": text["B"]["path"],
        "docs": docs,
    }


def time_one(run: Run, case: Case, tool: str, rep: int) -> None:
    tag = case.tag(tool, rep)
    text = run.texts[case.text]
    # Per-line results are kept from the first repetition, to compare with HF's.
    docs = str(run.tmp / tag) if rep == 0 and case.mode in BATCH_MODES else None
    res, out = run_worker(run, time_spec(run, case, tool, docs), case.threads, run.tmp / tag)
    if out is None:
        err = str(res.get("error") or res["status"]).strip().splitlines()
        run.broken[tool, case.tokenizer] = err[-1][:300] if err else res["status"]
        print(f"{tag}: FAILED {run.broken[tool, case.tokenizer]}", flush=True)
        return
    run.runs.setdefault((case, tool), []).append({**res, **out, "rep": rep})
    mb, cold = text["A"]["bytes"] / 1e6, out["cold"]
    print(
        f"rep {rep + 1}/{run.args.reps} {case.tokenizer} {case.text} {case.mode} "
        f"t{case.threads} {tool}: {mb / max(cold['cpu_s'], 1e-9):.1f} MB/CPU-s, "
        f"{mb / max(cold['wall_s'], 1e-9):.1f} MB/s wall, load {out['load_s']:.2f} s",
        flush=True,
    )


def diff_phase(run: Run) -> dict[str, Any]:
    """Every tool's ids on the lines and ~8 KB chunks of each planned text (A and B), against
    HF's."""
    threads = min(2, len(os.sched_getaffinity(0)))
    out: dict[str, Any] = {}
    for tok in dict.fromkeys(c.tokenizer for c in run.cases):
        kinds = list(dict.fromkeys(c.text for c in run.cases if c.tokenizer == tok))
        these = [t for t in run.tools if run.loadable[t, tok] and (t, tok) not in run.broken]
        if "hf" not in these:
            continue
        done: dict[str, dict[str, Any]] = {}
        ref = str(run.tmp / f"diff-{tok}-hf")
        for tool in ["hf", *[t for t in these if t != "hf"]]:
            prefix = str(run.tmp / f"diff-{tok}-{tool}")
            texts = {k: [run.texts[k][w]["path"] for w in ("A", "B")] for k in kinds}
            spec: dict[str, Any] = {
                "task": "diff",
                "tool": tool,
                "tokenizer": tok,
                "path": str(run.paths[tok]),
                "threads": threads,
                # bpe-openai's batch is a Python thread pool over its single call: loop instead.
                "batch": support(tool, "batch") is None and tool != "bpe-openai",
                "texts": texts,
                "out": prefix,
            }
            res, got = run_worker(run, spec, threads, Path(prefix))
            if got is None:
                done[tool] = {"error": str(res.get("error") or res["status"])[-300:]}
                print(f"diff {tok} {tool}: FAILED", flush=True)
                if tool == "hf":
                    break  # no reference
                continue
            done[tool] = {}
            for kind in kinds:
                for unit in ("lines", "chunks"):
                    cmp = compare_docs(f"{prefix}.{kind}.{unit}", f"{ref}.{kind}.{unit}")
                    if cmp["first"] is not None and unit == "lines":
                        docs = diff_docs(texts[kind])["lines"]
                        cmp["first_text"] = docs[cmp["first"]][:80]
                    done[tool][f"{kind}.{unit}"] = cmp
            print(
                f"diff {tok} {tool}: "
                + ", ".join(f"{k} {v['differ']}/{v['docs']}" for k, v in done[tool].items()),
                flush=True,
            )
            done[tool]["process_wall_s"] = res["wall_s"]
        out[tok] = done
    return out


def _median(rs: list[dict[str, Any]], key: str, sub: str | None = None) -> float:
    return float(statistics.median(r[sub][key] if sub else r[key] for r in rs))


def summarize(run: Run) -> list[dict[str, Any]]:
    """Medians per case and tool, each checked against HF's ids on the same input."""
    out = []
    for case in run.cases:
        rows: dict[str, Any] = {}
        mb_a = run.texts[case.text]["A"]["bytes"] / 1e6
        mb_b = run.texts[case.text]["B"]["bytes"] / 1e6
        for tool in run.tools:
            rs = run.runs.get((case, tool))
            if not rs:
                continue
            cold_cpu, cold_wall = _median(rs, "cpu_s", "cold"), _median(rs, "wall_s", "cold")
            warm_cpu, warm_wall = _median(rs, "cpu_s", "warm"), _median(rs, "wall_s", "warm")
            rows[tool] = {
                "reps": len(rs),
                "mb_per_cpu_s": round(mb_a / cold_cpu, 2),
                "mb_per_wall_s": round(mb_a / cold_wall, 2),
                "warm_mb_per_cpu_s": round(mb_b / warm_cpu, 2),
                "warm_mb_per_wall_s": round(mb_b / warm_wall, 2),
                "cold_cpu_s": round(cold_cpu, 4),
                "cold_wall_s": round(cold_wall, 4),
                "warm_cpu_s": round(warm_cpu, 4),
                "warm_wall_s": round(warm_wall, 4),
                "load_s": round(_median(rs, "load_s"), 3),
                "import_s": round(_median(rs, "import_s"), 3),
                "peak_rss_mib": max(r["peak_rss_mib"] for r in rs),
                "tokens": rs[0]["cold"]["tokens"],
                "same_every_rep": len({r["cold"].get("sha", r["cold"]["tokens"]) for r in rs}) == 1,
                "runs": [
                    {
                        "rep": r["rep"],
                        "process_wall_s": r["wall_s"],
                        "load_s": round(r["load_s"], 4),
                        **{
                            f"{w}_{k}": round(r[w][k], 4)
                            for w in ("cold", "warm")
                            for k in ("cpu_s", "wall_s")
                        },
                        "peak_rss_mib": r["peak_rss_mib"],
                    }
                    for r in rs
                ],
                "vs_hf": check_vs_hf(run, case, tool),
            }
        out.append({"case": case.__dict__, "tools": rows})
    return out


def check_vs_hf(run: Run, case: Case, tool: str) -> dict[str, Any]:
    """Same ids (or counts) as HF on A (cold) and B (warm)? Batches: how many lines differ.
    The reference is HF's run on the same text: one call for ids and counts of the whole text,
    the batch for lines (its thread count is irrelevant: HF's ids do not depend on it)."""
    mine = run.runs[case, tool][0]
    if case.mode in BATCH_MODES:
        ref = next(
            (
                c
                for c in run.cases
                if (c.tokenizer, c.text, c.mode) == (case.tokenizer, case.text, "batch")
                and (c, "hf") in run.runs
            ),
            None,
        )
        if ref is None:
            return {"checked": False}
        res: dict[str, Any] = {"checked": True}
        for w in ("cold", "warm"):
            res[w] = compare_docs(
                str(run.tmp / case.tag(tool, 0)) + f".{w}",
                str(run.tmp / ref.tag("hf", 0)) + f".{w}",
            )
        res["same"] = all(res[w]["differ"] == 0 for w in ("cold", "warm"))
        return res
    refs = [
        rs[0]
        for (c, t), rs in run.runs.items()
        if t == "hf" and c.mode == "single" and (c.tokenizer, c.text) == (case.tokenizer, case.text)
    ]
    if not refs:
        return {"checked": False}
    key = "tokens" if case.mode == "count" else "sha"
    same = [mine[w][key] == refs[0][w][key] for w in ("cold", "warm")]
    return {"checked": True, "same": all(same), "cold_same": same[0], "warm_same": same[1]}


def load_table(run: Run) -> dict[str, Any]:
    """Median import and load seconds per tokenizer and tool, over its `single` processes."""
    acc: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for (case, tool), rs in run.runs.items():
        if case.mode == "single":
            acc.setdefault(case.tokenizer, {}).setdefault(tool, []).extend(rs)
    return {
        tok: {
            tool: {
                "load_s": round(_median(rs, "load_s"), 3),
                "import_s": round(_median(rs, "import_s"), 3),
                "processes": len(rs),
            }
            for tool, rs in per.items()
        }
        for tok, per in acc.items()
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--slow-factor",
        type=float,
        default=5.0,
        help="a tool this many times slower than a case's fastest in rep 1 is timed once",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke: 1 rep, texts a tenth the size, QUICK_PLAN"
    )
    parser.add_argument("--plan", choices=["default", "all"], default="default")
    parser.add_argument("--tokenizers", nargs="+", choices=[*TOKENIZERS, *EXTRA_TOKENIZERS])
    parser.add_argument("--texts", nargs="+", choices=TEXTS)
    parser.add_argument("--tools", nargs="+", choices=TOOLS)
    parser.add_argument("--modes", nargs="+", choices=MODES)
    parser.add_argument("--threads", nargs="+", type=int, choices=[1, 2])
    parser.add_argument("--no-diff", action="store_true", help="skip the large-corpus diff")
    parser.add_argument("--corpus-dir", type=Path, default=ROOT / "corpora" / "build")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per process")
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "encode.json")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.reps = 1
    return args


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    from _measure import machine_info
    from _report import write_json, write_section

    env = dict(os.environ)
    env["TOKKIT_CACHE"] = env.get("TOKKIT_CACHE", str(ROOT / ".cache" / "tokkit"))
    os.environ["TOKKIT_CACHE"] = env["TOKKIT_CACHE"]
    plan = PLAN_ALL if args.plan == "all" else QUICK_PLAN if args.quick else PLAN
    if args.tokenizers and set(args.tokenizers) & set(EXTRA_TOKENIZERS):
        plan = [*plan, (["mixed"], list(EXTRA_TOKENIZERS), ["single"], [1])]
    cases = expand(plan, args)
    if not cases:
        raise SystemExit("the filters leave nothing to run")
    tools = [t for t in TOOLS if not args.tools or t in args.tools]
    missing = [t for t in tools if importlib.util.find_spec(MODULES[t].split(".")[0]) is None]
    tools = [t for t in tools if t not in missing]

    sys.path.insert(0, str(ROOT))
    from tests._tokenizer_files import tokenizer_file

    toks = list(dict.fromkeys(c.tokenizer for c in cases))
    cache = BENCH / "out" / "encode-tokenizers"
    trained = trained_tokenizers([t for t in toks if t in TRAINED], args.corpus_dir, cache, env)
    paths = {t: trained[t] if t in TRAINED else tokenizer_file(t) for t in toks}

    # What cannot run, known in advance: never silently, always in the report.
    skipped = [
        {"tool": t, "tokenizer": "any", "why": "not installed (bench/requirements.txt)"}
        for t in missing
    ]
    loadable: dict[tuple[str, str], bool] = {}
    for tok in toks:
        for tool in tools:
            why = can_load(tool, tok, paths[tok])
            loadable[tool, tok] = why is None
            if why:
                skipped.append({"tool": tool, "tokenizer": tok, "why": why})
    mode_ok: dict[tuple[str, str], bool] = {}
    for tool in tools:
        for mode in dict.fromkeys(c.mode for c in cases):
            why = support(tool, mode)
            mode_ok[tool, mode] = why is None
            if why:
                skipped.append({"tool": tool, "mode": mode, "why": why})
                if tool == "tokkit":
                    print(f"skipped: missing: tokkit {mode} ({why})", flush=True)

    with tempfile.TemporaryDirectory(prefix="encode-bench-") as tmp_name:
        tmp = Path(tmp_name)
        kinds = list(dict.fromkeys(c.text for c in cases))
        texts = build_texts(args.corpus_dir, tmp, kinds, 0.1 if args.quick else 1.0)
        for kind in kinds:
            print(describe_text(texts[kind]), flush=True)
        run = Run(args, cases, tools, paths, texts, tmp, env, loadable, mode_ok)
        per_rep = sum(
            1 for c in cases for t in tools if loadable[t, c.tokenizer] and mode_ok[t, c.mode]
        )
        print(f"{len(cases)} cases, {per_rep} timed processes in the first repetition", flush=True)
        timing_phase(run)
        diff = {} if args.no_diff or "hf" not in tools else diff_phase(run)
        cases_out = summarize(run)
    for (tool, tok), why in run.broken.items():
        skipped.append({"tool": tool, "tokenizer": tok, "why": f"failed: {why}"})
    meta = {
        "command": "python bench/encode_bench.py " + shlex.join(sys.argv[1:]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "versions": versions(tools),
        "reps": args.reps,
        "slow_factor": args.slow_factor,
        "quick": args.quick,
        "plan": args.plan,
        "texts": {
            k: {w: {kk: vv for kk, vv in v[w].items() if kk != "path"} for w in ("A", "B")}
            | {kk: vv for kk, vv in v.items() if kk not in ("A", "B")}
            for k, v in texts.items()
        },
        "text_lines": {k: describe_text(v) for k, v in texts.items()},
        "tokenizer_files": {t: str(p) for t, p in paths.items()},
        "skipped": skipped,
        "process_wall_s": round(run.process_wall_s, 1),
        "seconds": round(time.monotonic() - started, 1),
    }
    payload = {"meta": meta, "cases": cases_out, "load": load_table(run), "diff": diff}
    write_json(args.out, payload)
    body = markdown(payload)
    print(body)
    if args.markdown:
        write_section(args.markdown, "encode", body)


if __name__ == "__main__":
    main()
