#!/usr/bin/env python3
"""Benchmark BPE *training*: tokkit against other trainers on one corpus.

Every run is a fresh process (tokkit's CLI, or ``train_worker.py`` for the
Python-API anchors) started by a small launcher that times it from fork to
reap and reads its peak RSS (``ru_maxrss``) with ``os.wait4``. Wall time and
RSS therefore include interpreter start-up and library import for every tool
alike (tokkit's CLI is itself a Python entry point); each tool's start-up with
no training is measured separately and reported so it can be judged (tens of
ms and MiB, against seconds and GiB of training).

Tools run alternately: ``for corpus: for vocab: for rep: for tool in
rotate(tools, rep)``, so drift (thermal, page cache, a noisy neighbour) is
spread over all tools.

Merges of every tool are converted to the GPT-2 byte-to-unicode alphabet and
compared, in order, with the merges of HF ``tokenizers``.

Usage (see ``--help``)::

    python bench/train_bench.py --corpus corpora/build/en-100mb.txt \
        --vocab 32000 64000 --reps 3 \
        --tools tokkit hf gigabpe rustbpe bpeasy sentencepiece --threads 2 \
        --out bench/out/train-100mb.json --markdown docs/benchmarks.md

    python bench/train_bench.py --scaling A.txt B.txt C.txt --vocab 32000 \
        --reps 3 --out bench/out/train-scaling.json --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

WORKER = Path(__file__).resolve().with_name("train_worker.py")
# GPT-2's pre-tokenization regex (the one train_worker.py gives rustbpe and bpeasy).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

ALL_TOOLS = ("tokkit", "hf", "gigabpe", "rustbpe", "bpeasy", "sentencepiece")
SCALING_TOOLS = ("tokkit", "hf")
# distribution name of each tool, for versions
DISTS = {
    "tokkit": "tokkit",
    "hf": "tokenizers",
    "gigabpe": "gigabpe",
    "rustbpe": "rustbpe",
    "bpeasy": "bpeasy",
    "sentencepiece": "sentencepiece",
}
# How each anchor is configured; goes into the notes of the report.
CONFIG_NOTES = {
    "tokkit": (
        "`tokkit train --algo bpe --vocab-size V --pretokenizer gpt2 --num-threads {threads} "
        "--progress none --force --out DIR CORPUS`"
    ),
    "hf": (
        "`Tokenizer(models.BPE())`, `pre_tokenizers.ByteLevel(add_prefix_space=False)`, "
        "`BpeTrainer(vocab_size=V, min_frequency=0, show_progress=False, "
        "initial_alphabet=ByteLevel.alphabet())`, `tok.train([corpus])`, `tok.save()`; "
        "env RAYON_NUM_THREADS={threads}, TOKENIZERS_PARALLELISM=true"
    ),
    "gigabpe": (
        "`gigabpe.train_tokenizer([corpus], vocab_size=V, output=..., "
        "pretokenizer='bytelevel', min_frequency=0, threads={threads})`; its Python API has no "
        "`initial_alphabet`, so the base alphabet is only the bytes seen in the corpus "
        "and it learns (256 - seen) more merges than HF at the same vocab size"
    ),
    "rustbpe": (
        "`rustbpe.Tokenizer().train_from_iterator(lines, vocab_size=V, "
        "pattern=GPT2_PATTERN)` over the corpus lines (split on `\\n` only, newline "
        "kept, as HF reads files); ranks saved as a tiktoken file; "
        "env RAYON_NUM_THREADS={threads}. "
        "Equal counts are tie-broken on ids that are raw byte values, where HF's ids follow "
        "the byte-to-unicode characters sorted by code point, so the lists can diverge at the "
        "first tie"
    ),
    "bpeasy": (
        "`bpeasy.train_bpe(lines, GPT2_PATTERN, max_token_length=2**31, vocab_size=V, "
        "batch_size=1000)` over the corpus lines (as for rustbpe); saved with "
        "`save_vocab_to_tiktoken`; env RAYON_NUM_THREADS={threads}. Ties are broken on raw "
        "byte ids, as for rustbpe"
    ),
    "sentencepiece": (
        "`SentencePieceTrainer.train(model_type='bpe', vocab_size=V, byte_fallback=True, "
        "num_threads={threads}, normalization_rule_name='identity', add_dummy_prefix=False, "
        "remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, "
        "split_digits=False, max_sentence_length={spm_max_len}, "
        "input_sentence_size={spm_cap})`; not byte-level BPE (pieces are code points with "
        "`▁` for space, newlines are dropped, rare characters fall back to bytes), so its "
        "merges are not comparable"
    ),
}
SECTION_TRAIN = "train-bpe"
SECTION_SCALING = "train-scaling"
MIB = 1024 * 1024


# --------------------------------------------------------------------------
# Merges: extraction and comparison (parent side, untimed).
# --------------------------------------------------------------------------


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map."""
    bs = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


_B2U = bytes_to_unicode()


def _u(b: bytes) -> str:
    return "".join(_B2U[x] for x in b)


def merges_from_tokenizer_json(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8") as f:
        model = json.load(f)["model"]
    out: list[tuple[str, str]] = []
    for m in model["merges"]:
        if isinstance(m, str):
            left, right = m.split(" ")
        else:
            left, right = m
        out.append((left, right))
    return out


def _bpe_replay(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    parts = [bytes([b]) for b in token]
    while True:
        best: tuple[int, int] | None = None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < max_rank and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            return parts
        i = best[1]
        parts[i : i + 2] = [parts[i] + parts[i + 1]]


def merges_from_ranks(ranks: dict[bytes, int]) -> list[tuple[str, str]]:
    """Recover the ordered merge list from tiktoken-style ranks.

    The pair of a rank-r token is the split whose halves both have rank < r;
    when several splits qualify, replay BPE with the ranks below r (the way
    tiktoken-to-HF converters do).
    """
    out: list[tuple[str, str]] = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) < 2:
            continue
        splits = [
            (token[:i], token[i:])
            for i in range(1, len(token))
            if ranks.get(token[:i], rank) < rank and ranks.get(token[i:], rank) < rank
        ]
        if len(splits) != 1:
            parts = _bpe_replay(ranks, token, rank)
            if len(parts) == 2:
                splits = [(parts[0], parts[1])]
        if splits:
            out.append((_u(splits[0][0]), _u(splits[0][1])))
        else:  # not reachable from a real BPE run; keep the position
            out.append(("<unresolved>", _u(token)))
    return out


def read_tiktoken(path: Path) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                tok, rank = line.split()
                ranks[base64.b64decode(tok)] = int(rank)
    return ranks


def extract_merges(tool: str, outdir: Path) -> list[tuple[str, str]] | None:
    tj = outdir / "tokenizer.json"
    if tj.exists():
        return merges_from_tokenizer_json(tj)
    tk = outdir / "ranks.tiktoken"
    if tk.exists():
        return merges_from_ranks(read_tiktoken(tk))
    return None


def merges_digest(merges: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for left, right in merges:
        h.update(f"{left}\x00{right}\x01".encode("utf-8", errors="surrogatepass"))
    return h.hexdigest()[:16]


def compare_merges(ref: list[tuple[str, str]], got: list[tuple[str, str]]) -> dict[str, Any]:
    n = min(len(ref), len(got))
    first = next((i for i in range(n) if ref[i] != got[i]), None)
    res: dict[str, Any] = {
        "equal": first is None and len(ref) == len(got),
        "first_diff": first if first is not None else (None if len(ref) == len(got) else n),
        "prefix_equal": first is None,
        "n_tool": len(got),
        "n_hf": len(ref),
    }
    if first is not None:
        res["hf_at_diff"] = list(ref[first])
        res["tool_at_diff"] = list(got[first])
    return res


def merges_cell(cmp: dict[str, Any] | None, why_na: str = "n/a") -> str:
    if cmp is None:
        return why_na
    if cmp["equal"]:
        return f"yes ({cmp['n_hf']} merges)"
    if cmp["prefix_equal"] and cmp["n_tool"] > cmp["n_hf"]:
        return (
            f"prefix: all {cmp['n_hf']} HF merges equal, in order, then "
            f"{cmp['n_tool'] - cmp['n_hf']} more"
        )
    if cmp["prefix_equal"]:
        n = cmp["n_tool"]
        return f"prefix: its {n} merges equal HF's first {n} (of {cmp['n_hf']})"
    return f"no: first diff at #{cmp['first_diff']} (of {cmp['n_hf']})"


# --------------------------------------------------------------------------
# Running one measured process.
# --------------------------------------------------------------------------


# Launcher run as `python -S -I -c LAUNCHER`. It exists because on Linux a
# child's ru_maxrss starts from the RSS of the process that forked it (exec
# records the old address space's high-water mark), so forking the tools from
# this (growing) benchmark process would inflate their peak RSS. The launcher
# is ~10 MiB, below any tool's real peak; it forks the tool, times it from fork
# to reap, enforces the timeout on the tool's process group, and prints JSON.
LAUNCHER = r"""
import json, os, resource, signal, sys, time
cmd, timeout, out, err = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
timed_out = []
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.setpgid(0, 0)
        fd0 = os.open(os.devnull, os.O_RDONLY)
        fd1 = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        fd2 = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd0, 0); os.dup2(fd1, 1); os.dup2(fd2, 2)
        os.execvp(cmd[0], cmd)
    except BaseException as e:
        os.write(2, repr(e).encode()); os._exit(127)
try:
    os.setpgid(pid, pid)
except OSError:
    pass
def on_alarm(*_):
    timed_out.append(1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, timeout)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
signal.setitimer(signal.ITIMER_REAL, 0)
print(json.dumps({"wall_s": wall, "maxrss_kib": ru.ru_maxrss, "floor_kib": floor,
                  "cpu_s": ru.ru_utime + ru.ru_stime,
                  "returncode": os.waitstatus_to_exitcode(status),
                  "timed_out": bool(timed_out)}))
"""


def run_measured(
    cmd: list[str], env: dict[str, str], timeout: float, log_prefix: Path
) -> dict[str, Any]:
    """Run ``cmd`` under the launcher; return wall time, peak RSS, CPU time and status."""
    launcher = [
        sys.executable,
        "-S",
        "-I",
        "-c",
        LAUNCHER,
        json.dumps(cmd),
        str(timeout),
        f"{log_prefix}.stdout",
        f"{log_prefix}.stderr",
    ]
    try:
        r = subprocess.run(
            launcher,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout + 120,
            check=False,
            start_new_session=True,
        )
        m = json.loads(r.stdout)
    except (subprocess.TimeoutExpired, json.JSONDecodeError) as e:
        return {"status": "error", "wall_s": None, "error": f"launcher failed: {e!r}"}
    res: dict[str, Any] = {
        "wall_s": round(m["wall_s"], 4),
        "peak_rss_mib": round(m["maxrss_kib"] / 1024, 1),  # Linux: KiB
        "rss_floor_mib": round(m["floor_kib"] / 1024, 1),
        "cpu_s": round(m["cpu_s"], 3),
        "returncode": m["returncode"],
    }
    if m["timed_out"]:
        res.update(status="timeout", wall_s=None)
    elif m["returncode"] != 0:
        err = Path(f"{log_prefix}.stderr").read_text(errors="replace")
        res.update(status="error", error=err[-2000:])
    else:
        res["status"] = "ok"
    return res


# --------------------------------------------------------------------------
# Environment: tools, versions, machine.
# --------------------------------------------------------------------------


def find_tokkit(override: str | None) -> tuple[list[str] | None, str]:
    """The tokkit command: --tokkit-cmd, else `tokkit` on PATH, else `python -m tokkit`."""
    candidates: list[list[str]] = []
    if override:
        candidates.append(shlex.split(override))
    else:
        exe = shutil.which("tokkit")
        if exe:
            candidates.append([exe])
        candidates.append([sys.executable, "-m", "tokkit"])
    for cmd in candidates:
        try:
            r = subprocess.run(
                [*cmd, "train", "--help"], capture_output=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return cmd, shlex.join(cmd)
    if override:
        return None, f"`{override} train --help` failed"
    return None, "neither `tokkit train --help` (PATH) nor `python -m tokkit train --help` works"


def tool_version(tool: str, tokkit_cmd: list[str] | None) -> str:
    try:
        return importlib.metadata.version(DISTS[tool])
    except importlib.metadata.PackageNotFoundError:
        pass
    if tool == "tokkit" and tokkit_cmd:
        try:
            r = subprocess.run(
                [*tokkit_cmd, "--version"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if r.returncode == 0 and r.stdout.strip():
                return r.stdout.strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired):
            pass
    return "unknown"


def tool_available(tool: str) -> str | None:
    """None if the tool's Python package imports, else the reason."""
    mod = {"hf": "tokenizers"}.get(tool, tool)
    r = subprocess.run(
        [sys.executable, "-c", f"import {mod}"], capture_output=True, text=True, check=False
    )
    if r.returncode != 0:
        return f"cannot import {mod}: {r.stderr.strip().splitlines()[-1:]}"
    return None


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gib"] = round(int(line.split()[1]) / MIB, 1)
                break
    except OSError:
        pass
    return info


def corpus_info(path: Path) -> dict[str, Any]:
    """Read the whole corpus once (warms the page cache for every tool) and hash it."""
    h = hashlib.sha256()
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            h.update(chunk)
            lines += chunk.count(b"\n")
    size = path.stat().st_size
    return {
        "path": str(path),
        "bytes": size,
        "mb": round(size / 1e6, 1),
        "lines": lines,
        "sha256": h.hexdigest(),
    }


# --------------------------------------------------------------------------
# The benchmark.
# --------------------------------------------------------------------------


class Bench:
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
        if tool == "tokkit":
            assert self.tokkit_cmd is not None
            if noop:
                return [*self.tokkit_cmd, "--help"]
            return [
                *self.tokkit_cmd,
                "train",
                "--algo",
                "bpe",
                "--vocab-size",
                str(vocab),
                "--pretokenizer",
                "gpt2",
                "--num-threads",
                str(self.a.threads),
                "--progress",
                "none",
                "--force",
                "--out",
                str(outdir),
                str(corpus),
            ]
        cmd = [
            sys.executable,
            str(WORKER),
            tool,
            "--corpus",
            str(corpus),
            "--vocab",
            str(vocab),
            "--threads",
            str(self.a.threads),
            "--out",
            str(outdir),
            "--spm-sentence-cap",
            str(self.a.spm_sentence_cap),
            "--spm-max-sentence-length",
            str(self.a.spm_max_sentence_length),
        ]
        if noop:
            cmd.append("--noop")
        return cmd

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


# --------------------------------------------------------------------------
# Markdown.
# --------------------------------------------------------------------------


def _fmt_time(row: dict[str, Any], timeout: float) -> str:
    if row["median_timed_out"]:
        return f">{timeout:g} s"
    if row["median_wall_s"] is None:
        return "error" if row["errors"] else "-"
    return f"{row['median_wall_s']:.2f}"


def _fmt_ratio(row: dict[str, Any], key: str, base: dict[str, Any] | None, timeout: float) -> str:
    if key == "time_ratio" and row["median_timed_out"] and base and base.get("median_wall_s"):
        return f">{timeout / base['median_wall_s']:.1f}x"
    return "-" if row[key] is None else f"{row[key]:.2f}x"


def _fmt_runs(row: dict[str, Any], timeout: float) -> str:
    cells = []
    for wall, status in zip(row["wall_s"], row["statuses"], strict=True):
        if status == "ok":
            cells.append(f"{wall:.2f}")
        elif status in ("timeout", "skipped_after_timeout"):
            cells.append(f">{timeout:g}" + ("" if status == "timeout" else " (skipped)"))
        else:
            cells.append(status)
    return ", ".join(cells)


def _header_lines(meta: dict[str, Any]) -> list[str]:
    m = meta["machine"]
    lines = [
        f"- Command: `{meta['command']}`",
        f"- Date: {meta['date']}",
        f"- Machine: {m['nproc']} CPUs usable (of {m['cpu_count']}), "
        f"{m.get('cpu_model', 'unknown CPU')}, {m.get('ram_gib', '?')} GiB RAM; "
        f"{m['platform']}; Python {m['python']}",
        "- Versions: "
        + ", ".join(
            f"{t} {meta['versions'][t]}" + (f" (`{DISTS[t]}`)" if DISTS[t] != t else "")
            for t in meta["versions"]
        ),
        f"- Threads: {meta['threads']}; reps: {meta['reps']}; timeout per run: "
        f"{meta['timeout_s']:g} s",
    ]
    for tool, why in meta["skipped"].items():
        lines.append(f"- Skipped {tool}: {why}")
    return lines


def _method_notes(meta: dict[str, Any]) -> list[str]:
    base = meta["startup_baseline"]
    bl = "; ".join(
        f"{t} {v['wall_s']:.2f} s / {v['peak_rss_mib']:.0f} MiB" for t, v in base.items()
    )
    return [
        "- Each run is a fresh process; tools alternate run by run "
        "(`for corpus: for vocab: for rep: for tool`, starting tool rotated each rep). "
        "The corpus is read once beforehand so every run starts with it in the page cache.",
        "- Wall = fork to reap, median of reps; peak RSS = the process's `ru_maxrss` "
        "(`os.wait4`, collected by a ~10 MiB launcher process so that the benchmark's own "
        "memory cannot leak into the child's figure), median of reps; CPU = user+system "
        "of the process. Wall and RSS include interpreter "
        "start-up, imports, reading the corpus, training and writing the result, for "
        f"every tool. Start-up alone (no training), for scale: {bl or 'not measured'}.",
        f"- Ratios are tool / {meta['baseline']} (>1: slower or larger than "
        f"{meta['baseline']}). A timed-out run counts as +∞ in the median and is shown as "
        f">{meta['timeout_s']:g} s"
        + (
            "; after a timeout the tool's remaining runs at that or a larger "
            "corpus and vocab size are skipped and counted as timeouts."
            if meta["skip_after_timeout"]
            else "."
        ),
        "- merges == HF: the tool's ordered merge list, in GPT-2 byte-to-unicode form "
        "(byte-valued tokens converted; rank files turned back into pairs), against HF "
        "`tokenizers`' list at the same vocab size; special-token ids are ignored. "
        '"first diff at #i" is the 0-based index of the first differing merge.',
    ]


def _config_notes(tools: list[str], meta: dict[str, Any]) -> list[str]:
    lines = ["", "Configuration of each tool (`GPT2_PATTERN` is GPT-2's pre-tokenizer regex):", ""]
    for t in tools:
        cap = meta["spm_sentence_cap"]
        note = CONFIG_NOTES[t].format(
            threads=meta["threads"], spm_cap=cap, spm_max_len=meta["spm_max_sentence_length"]
        )
        if t == "sentencepiece":
            note += (
                f"; input capped at {cap} sentences (lines)"
                if cap
                else "; no sentence cap (all lines used)"
            )
        lines.append(f"- {t}: {note}")
    return lines


def _error_lines(runs: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, list[str]] = {}
    for r in runs:
        if r["status"] == "error":
            lines = [x for x in str(r.get("error", "")).splitlines() if x.strip()]
            msg = lines[-1].strip() if lines else f"exit status {r.get('returncode')}"
            seen.setdefault(f"{r['tool']}: `{msg[:300]}`", []).append(
                f"{Path(r['corpus']).name} V={r['vocab']} rep {r['rep']}"
            )
    if not seen:
        return []
    return ["", "Failed runs (last line of stderr; full text in the JSON):", ""] + [
        f"- {k} ({'; '.join(v)})" for k, v in seen.items()
    ]


def markdown_train(
    meta: dict[str, Any], summary: dict[str, Any], tools: list[str], runs: list[dict[str, Any]]
) -> str:
    corpus = meta["corpora"][0]
    out = [
        "## BPE training: tokkit vs other trainers",
        "",
        "_Generated by `bench/train_bench.py`; edits between the markers are overwritten._",
        "",
        *_header_lines(meta),
        f"- Corpus: `{corpus['path']}`: {corpus['mb']} MB, {corpus['lines']} lines, "
        f"sha256 `{corpus['sha256'][:16]}…`",
        "",
    ]
    timeout = meta["timeout_s"]
    for vocab, rows in summary.items():
        base = rows.get(meta["baseline"])
        out += [
            f"### vocab {vocab}",
            "",
            f"| tool | median wall s | x {meta['baseline']} | median peak RSS MiB | "
            f"RSS x {meta['baseline']} | CPU s | runs (s) | merges == HF |",
            "|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for tool in tools:
            r = rows[tool]
            cmp = r["merges_vs_hf"]
            cell = merges_cell(cmp, r.get("merges_na", "n/a"))
            if tool == "hf" and cmp is not None and cmp["equal"]:
                cell = f"(reference, {cmp['n_hf']} merges)"
            if not r["deterministic"]:
                cell += "; differs between reps"
            rss = "-" if r["median_peak_rss_mib"] is None else f"{r['median_peak_rss_mib']:.0f}"
            cpu = "-" if r["median_cpu_s"] is None else f"{r['median_cpu_s']:.1f}"
            out.append(
                f"| {tool} | {_fmt_time(r, timeout)} | "
                f"{_fmt_ratio(r, 'time_ratio', base, timeout)} | {rss} | "
                f"{_fmt_ratio(r, 'rss_ratio', base, timeout)} | {cpu} | "
                f"{_fmt_runs(r, timeout)} | {cell} |"
            )
        out.append("")
    out += ["Notes:", "", *_method_notes(meta), *_config_notes(tools, meta), *_error_lines(runs)]
    return "\n".join(out)


def markdown_scaling(
    meta: dict[str, Any], summary: dict[str, Any], tools: list[str], runs: list[dict[str, Any]]
) -> str:
    vocab = meta["vocabs"][0]
    b = meta["baseline"]
    other = [t for t in tools if t != b]
    timeout = meta["timeout_s"]
    out = [
        f"## BPE training vs corpus size (vocab {vocab})",
        "",
        "_Generated by `bench/train_bench.py --scaling`; edits between the markers are "
        "overwritten._",
        "",
        *_header_lines(meta),
        "",
    ]
    head = ["corpus", "MB"] + [f"{t} s" for t in tools]
    head += [f"{t} x {b}" for t in other]
    head += [f"{t} RSS MiB" for t in tools]
    head += [f"{t} RSS x {b}" for t in other]
    merge_cols = [f"{t} merges == HF" for t in tools if t != "hf"]
    sep = "|---|" + "---:|" * (len(head) - 1) + "---|" * len(merge_cols)
    out += ["| " + " | ".join(head + merge_cols) + " |", sep]
    for c in meta["corpora"]:
        rows = summary[c["path"]][str(vocab)]
        base = rows.get(b)
        cells = [f"`{Path(c['path']).name}`", f"{c['mb']:g}"]
        cells += [_fmt_time(rows[t], timeout) for t in tools]
        cells += [_fmt_ratio(rows[t], "time_ratio", base, timeout) for t in other]
        cells += [
            "-"
            if rows[t]["median_peak_rss_mib"] is None
            else f"{rows[t]['median_peak_rss_mib']:.0f}"
            for t in tools
        ]
        cells += [_fmt_ratio(rows[t], "rss_ratio", base, timeout) for t in other]
        cells += [
            merges_cell(rows[t]["merges_vs_hf"], rows[t].get("merges_na", "n/a"))
            for t in tools
            if t != "hf"
        ]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "Notes:", "", *_method_notes(meta), *_config_notes(tools, meta)]
    out += _error_lines(runs)
    return "\n".join(out)


def write_section(md_path: Path, name: str, body: str) -> None:
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = md_path.read_text(encoding="utf-8") if md_path.exists() else "# Benchmarks\n"
    i, j = text.find(start), text.find(end)
    if i != -1 and j > i:
        text = text[:i] + block + text[j + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------
# CLI.
# --------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark BPE training of tokkit against other trainers.",
    )
    p.add_argument("--corpus", type=Path, help="corpus for the tool comparison")
    p.add_argument(
        "--scaling",
        type=Path,
        nargs="+",
        metavar="CORPUS",
        help="scaling mode: run only tokkit and hf over these corpora at the first --vocab",
    )
    p.add_argument(
        "--vocab", type=int, nargs="+", default=[32000], help="vocab sizes (default 32000)"
    )
    p.add_argument("--reps", type=int, default=3, help="runs per tool and size (default 3)")
    p.add_argument("--tools", nargs="+", choices=ALL_TOOLS, default=list(ALL_TOOLS))
    p.add_argument("--threads", type=int, default=2, help="threads for every tool (default 2)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per run (default 900)")
    p.add_argument(
        "--no-skip-after-timeout",
        dest="skip_after_timeout",
        action="store_false",
        help="keep running a tool on a corpus after one of its runs timed out",
    )
    p.add_argument("--out", type=Path, help="raw JSON results (default bench/out/train-*.json)")
    p.add_argument("--markdown", type=Path, help="update this markdown file's section")
    p.add_argument(
        "--baseline", default="tokkit", choices=ALL_TOOLS, help="ratios are tool / baseline"
    )
    p.add_argument(
        "--tokkit-cmd",
        help="command for tokkit (default: `tokkit` on PATH, else `python -m tokkit`)",
    )
    p.add_argument(
        "--spm-sentence-cap",
        type=int,
        default=0,
        help="sentencepiece input_sentence_size (default 0 = all lines)",
    )
    p.add_argument(
        "--spm-max-sentence-length",
        type=int,
        default=1 << 20,
        help="sentencepiece max_sentence_length in bytes (longer lines are "
        "dropped by sentencepiece; default 1 MiB)",
    )
    p.add_argument("--workdir", help="parent directory for per-run output (default: TMPDIR)")
    p.add_argument(
        "--keep-artifacts", action="store_true", help="keep each run's trained files in the workdir"
    )
    a = p.parse_args(argv)
    if (a.corpus is None) == (a.scaling is None):
        p.error("give exactly one of --corpus or --scaling")
    if a.scaling and len(a.vocab) > 1:
        print(f"[warn] --scaling uses one vocab size: {a.vocab[0]}", file=sys.stderr)
        a.vocab = a.vocab[:1]
    if a.reps < 1 or a.threads < 1:
        p.error("--reps and --threads must be >= 1")
    return a


def main(argv: Sequence[str]) -> int:
    a = parse_args(argv)
    scaling = a.scaling is not None
    corpora = [Path(c) for c in (a.scaling if scaling else [a.corpus])]
    for c in corpora:
        if not c.is_file():
            print(f"error: corpus not found: {c}", file=sys.stderr)
            return 2
    tools = list(SCALING_TOOLS) if scaling else list(dict.fromkeys(a.tools))
    out = a.out or Path("bench/out") / (
        "train-scaling.json" if scaling else f"train-{corpora[0].stem}.json"
    )

    bench = Bench(a, tools)
    tools = bench.check_tools()
    if not tools:
        print("error: no tool available", file=sys.stderr)
        return 2
    print(f"[info] tools: {' '.join(tools)}; workdir {bench.workdir}", file=sys.stderr)

    meta: dict[str, Any] = {
        "mode": "scaling" if scaling else "compare",
        "command": shlex.join(["python", *sys.argv]),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "versions": {t: tool_version(t, bench.tokkit_cmd) for t in tools},
        "skipped": bench.skipped,
        "threads": a.threads,
        "reps": a.reps,
        "vocabs": a.vocab,
        "timeout_s": a.timeout,
        "skip_after_timeout": a.skip_after_timeout,
        "baseline": a.baseline,
        "spm_sentence_cap": a.spm_sentence_cap,
        "spm_max_sentence_length": a.spm_max_sentence_length,
        "config": {
            t: CONFIG_NOTES[t].format(
                threads=a.threads, spm_cap=a.spm_sentence_cap, spm_max_len=a.spm_max_sentence_length
            )
            for t in tools
        },
        "gpt2_pattern": GPT2_PATTERN,  # the pattern train_worker.py passes
    }
    print("[info] reading corpora (hash + page-cache warm-up)", file=sys.stderr)
    meta["corpora"] = [corpus_info(c) for c in corpora]
    meta["startup_baseline"] = bench.startup_baseline(tools, corpora[0])
    print(f"[info] start-up baseline: {meta['startup_baseline']}", file=sys.stderr)

    result: dict[str, Any] = {"meta": meta, "runs": bench.runs, "summary": {}}

    def save() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
        tmp.replace(out)

    try:
        bench.run_grid(corpora, a.vocab, tools, save)
    finally:
        result["summary"] = {
            str(c): {str(v): bench.summarize(c, v, tools) for v in a.vocab} for c in corpora
        }
        save()
        if not a.keep_artifacts:
            shutil.rmtree(bench.workdir, ignore_errors=True)
    print(f"[info] raw results: {out}", file=sys.stderr)

    if scaling:
        md = markdown_scaling(meta, result["summary"], tools, bench.runs)
        section = SECTION_SCALING
    else:
        md = markdown_train(meta, result["summary"][str(corpora[0])], tools, bench.runs)
        section = SECTION_TRAIN
    print(md)
    if a.markdown:
        write_section(a.markdown, section, md)
        print(f"[info] updated section {section} in {a.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
