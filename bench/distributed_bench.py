#!/usr/bin/env python3
"""Benchmark sharded counting on Ray against single-node training, on one machine.

Both run ``tokkit train`` as a fresh process under ``_measure.run_measured`` (wall time, peak
RSS from ``wait4``), alternating run by run. The Ray runs connect to a local cluster this script
starts (``ray start --head --num-cpus W``: W task workers) and restarts before each Ray run, so
that each run's worker peak RSS (the largest ``VmHWM`` of the cluster's worker processes, read
just after the run) is that run's alone; cluster start-up is not timed (a cluster is normally
running already). Single-node runs use W threads, so both sides use the same cores: the ratio is
the cost of the distributed path itself. Outputs are compared byte for byte.

With ``--sizes``, SuperBPE's single-node runs on each corpus also give the growth of distinct
pre-tokens (stage 1) and stage-2 spans with corpus size, fitted as a power law for the
projection to 10 and 100 GB in ``docs/benchmarks.md``.

Usage::

    python bench/distributed_bench.py --corpus corpora/build/en-1gb.txt --workers 2 \\
        --algos bpe superbpe --reps 2 --markdown docs/benchmarks.md
    python bench/distributed_bench.py --sizes corpora/build/en-10mb.txt \\
        corpora/build/en-100mb.txt corpora/build/en-1gb.txt --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from statistics import median
from typing import Any

from _measure import machine_info, run_measured
from _report import write_section

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ALGOS = {
    "bpe": ["--algo", "bpe", "--vocab-size", "32000"],
    "superbpe": ["--algo", "superbpe", "--vocab-size", "32000", "--transition-point", "24000"],
}


def ray(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(BIN / "ray"), *args], check=True, capture_output=True, env=env,
                   timeout=300)


class Cluster:
    """A local Ray head with ``workers`` CPUs, restarted on demand."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.port = 6400 + os.getpid() % 1000
        self.temp = tempfile.mkdtemp(prefix="tkrb", dir="/tmp")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def restart(self) -> None:
        self.stop()
        ray("start", "--head", "--node-ip-address=127.0.0.1", f"--port={self.port}",
            f"--num-cpus={self.workers}", "--include-dashboard=false",
            "--disable-usage-stats", f"--temp-dir={self.temp}")

    def stop(self) -> None:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True, timeout=300)

    @staticmethod
    def worker_peak_kib() -> int:
        """The largest peak RSS (VmHWM) among the Ray worker processes alive now."""
        peak = 0
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                # Ray renames its workers' processes ray::IDLE, ray::_count...; its agents
                # are named too, and are not workers.
                cmd = (proc / "cmdline").read_bytes()
                if not cmd.startswith(b"ray::") or b"Agent" in cmd.split(b"\0")[0]:
                    continue
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except OSError:
                continue
        return peak


class WorkerPeak:
    """Samples the workers' VmHWM every 0.2 s while a run lasts: Ray ends a job's workers when
    its driver exits, so their peak must be read while they live (VmHWM only grows, so the last
    sample of each worker is within 0.2 s of its end)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, Cluster.worker_peak_kib())

    def __enter__(self) -> WorkerPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mib(self) -> float:
        return round(self.peak / 1024, 1)


def train_cmd(algo: str, corpus: Path, out: Path, threads: int, extra: list[str]) -> list[str]:
    return [str(BIN / "tokkit"), "train", *ALGOS[algo], "--num-threads", str(threads),
            "--progress", "none", "--force", "--out", str(out), *extra, str(corpus)]


def compare(args: argparse.Namespace) -> dict[str, Any]:
    cluster = Cluster(args.workers)
    env = {**os.environ, "TOKKIT_NUM_THREADS": str(args.workers)}
    work = Path(tempfile.mkdtemp(prefix="tkdist"))
    corpus = Path(args.corpus)
    subprocess.run(["cat", str(corpus)], stdout=subprocess.DEVNULL, check=True)  # page cache
    rows = []
    try:
        for algo in args.algos:
            runs: dict[str, list[dict[str, Any]]] = {"single": [], "ray": []}
            for rep in range(args.reps):
                order = ["single", "ray"] if rep % 2 == 0 else ["ray", "single"]
                for side in order:
                    out = work / f"{algo}-{side}"
                    extra = []
                    if side == "ray":
                        cluster.restart()
                        extra = ["--ray", cluster.address, "--shard-mb", str(args.shard_mb)]
                    cmd = train_cmd(algo, corpus, out, args.workers, extra)
                    print(f"[{algo} {side} rep {rep}] {shlex.join(cmd)}", file=sys.stderr)
                    with WorkerPeak() as workers:
                        res = run_measured(cmd, env, args.timeout, work / f"{algo}-{side}-{rep}")
                    if res["status"] != "ok":
                        raise SystemExit(f"{side} failed: {res.get('error')}")
                    if side == "ray":
                        res["worker_peak_mib"] = workers.mib
                        meta = json.loads((out / "tokkit.json").read_text())
                        res["shards"] = meta["distributed"]["shards"]
                        res["count_s"] = meta["training"]["count_seconds"]
                    print(f"  {res}", file=sys.stderr)
                    runs[side].append(res)
            same = (work / f"{algo}-single" / "tokenizer.json").read_bytes() == (
                work / f"{algo}-ray" / "tokenizer.json").read_bytes()
            single_s = median(r["wall_s"] for r in runs["single"])
            ray_s = median(r["wall_s"] for r in runs["ray"])
            rows.append({
                "algo": algo,
                "single_s": single_s,
                "ray_s": ray_s,
                "ratio": round(ray_s / single_s, 2),
                "single_rss": median(r["peak_rss_mib"] for r in runs["single"]),
                "driver_rss": median(r["peak_rss_mib"] for r in runs["ray"]),
                "worker_rss": median(r["worker_peak_mib"] for r in runs["ray"]),
                "shards": runs["ray"][0]["shards"],
                "identical": same,
                "runs": runs,
            })
    finally:
        cluster.stop()
    return {"rows": rows}


def sizes(args: argparse.Namespace) -> dict[str, Any]:
    """Distinct pre-tokens and stage-2 spans against corpus size, from SuperBPE runs."""
    work = Path(tempfile.mkdtemp(prefix="tksizes"))
    rows = []
    for corpus in map(Path, args.sizes):
        out = work / corpus.stem
        sb = train_cmd("superbpe", corpus, out, 2, [])
        env = {**os.environ}
        res = run_measured(sb, env, args.timeout, work / corpus.stem)
        if res["status"] != "ok":
            raise SystemExit(res.get("error"))
        meta = json.loads((out / "tokkit.json").read_text())
        bpe_out = work / f"{corpus.stem}-bpe"
        res_bpe = run_measured(train_cmd("bpe", corpus, bpe_out, 2, []), env, args.timeout,
                               work / f"{corpus.stem}-bpe")
        bpe_meta = json.loads((bpe_out / "tokkit.json").read_text())
        rows.append({
            "corpus": corpus.name,
            "mb": round(corpus.stat().st_size / 1e6),
            "words": bpe_meta["training"]["distinct_words"],
            "spans": meta["superbpe"]["stage2_distinct_spans"],
            "span_bytes": meta["superbpe"]["stage2_span_bytes"],
            "superbpe_rss": res["peak_rss_mib"],
            "bpe_rss": res_bpe["peak_rss_mib"],
        })
        print(f"  {rows[-1]}", file=sys.stderr)
    return {"rows": rows}


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares power law y = a * x^b through log-log points."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    n = len(xs)
    mx, my = sum(lx) / n, sum(ly) / n
    b = sum((x - mx) * (y - my) for x, y in zip(lx, ly, strict=True)) / sum(
        (x - mx) ** 2 for x in lx)
    return math.exp(my - b * mx), b


def markdown_compare(result: dict[str, Any], args: argparse.Namespace) -> str:
    m = machine_info()
    lines = [
        "### Single node against Ray on the same machine",
        "",
        f"- Command: `python bench/distributed_bench.py --corpus {args.corpus} --workers "
        f"{args.workers} --algos {' '.join(args.algos)} --shard-mb {args.shard_mb} --reps "
        f"{args.reps} --markdown docs/benchmarks.md`",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; machine: {m['nproc']} CPUs, "
        f"{m.get('cpu_model', '?')}, {m.get('ram_gib', '?')} GiB",
        f"- Single node: `--num-threads {args.workers}`; Ray: a local cluster with "
        f"{args.workers} worker CPUs (one task and one thread per CPU), `--shard-mb "
        f"{args.shard_mb}`. Wall = whole `tokkit train` process, median of {args.reps}, the two "
        "alternating; the cluster is (re)started before each Ray run and not timed.",
        "",
        "| algorithm | shards | single s | Ray s | Ray / single | single RSS MiB | Ray driver "
        "RSS MiB | Ray worker peak RSS MiB | tokenizer.json identical |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['algo']} | {r['shards']} | {r['single_s']:.1f} | {r['ray_s']:.1f} | "
            f"{r['ratio']:.2f}x | {r['single_rss']:.0f} | {r['driver_rss']:.0f} | "
            f"{r['worker_rss']:.0f} | {'yes' if r['identical'] else 'NO'} |")
    return "\n".join(lines)


def markdown_sizes(result: dict[str, Any], args: argparse.Namespace) -> str:
    rows = result["rows"]
    mbs = [r["mb"] for r in rows]
    a_w, b_w = fit(mbs, [r["words"] for r in rows])
    a_s, b_s = fit(mbs, [r["spans"] for r in rows])
    lines = [
        "### Distinct pre-tokens and SuperBPE spans against corpus size",
        "",
        f"- Command: `python bench/distributed_bench.py --sizes {' '.join(args.sizes)} "
        "--markdown docs/benchmarks.md` (single-node runs at V = 32k; SuperBPE T = 24k, "
        "`paper`)",
        "",
        "| corpus | MB | distinct pre-tokens (BPE, gpt2) | distinct stage-2 spans | span bytes "
        "| BPE peak RSS MiB | SuperBPE peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['corpus']}` | {r['mb']} | {r['words']:,} | {r['spans']:,} | "
            f"{r['span_bytes']:,} | {r['bpe_rss']:.0f} | {r['superbpe_rss']:.0f} |")
    lines += [
        "",
        f"Power-law fits over these points: distinct pre-tokens ≈ {a_w:.3g} · MB^{b_w:.2f}, "
        f"distinct spans ≈ {a_s:.3g} · MB^{b_s:.2f}. Projected:",
        "",
        "| corpus | distinct pre-tokens | distinct spans |",
        "|---|---:|---:|",
    ]
    for gb in (10, 100):
        mb = gb * 1000
        lines.append(f"| {gb} GB | {a_w * mb ** b_w:,.0f} | {a_s * mb ** b_s:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", help="corpus for single node against Ray")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--algos", nargs="+", choices=list(ALGOS), default=["bpe", "superbpe"])
    p.add_argument("--shard-mb", type=int, default=64)
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--sizes", nargs="+", help="corpora for the size table")
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--markdown", type=Path)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "distributed.json")
    args = p.parse_args()
    result: dict[str, Any] = {}
    if args.corpus:
        result["compare"] = compare(args)
        if args.markdown:
            write_section(args.markdown, "distributed-compare",
                          markdown_compare(result["compare"], args))
    if args.sizes:
        result["sizes"] = sizes(args)
        if args.markdown:
            write_section(args.markdown, "distributed-sizes",
                          markdown_sizes(result["sizes"], args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
