"""Encoding speed of the morphological hybrid (design/hybrid.md §3) against HF ``tokenizers``
running a plain BPE tokenizer of the same vocabulary size on the same Turkish text, and against
the published tokenizer's own Rust implementation (PyPI ``turkish-tokenizer``) when installed.

    python bench/hybrid_speed.py --hybrid DIR --bpe DIR --text corpora/tr.txt --reps 5

Every measurement is a fresh process (peak RSS is the tool's own), the tools alternate within
each repetition, and the clock covers encoding only. Two shapes: the whole text in one call, and
its lines as one batch (one thread, then two). Figures are MB of UTF-8 per CPU-second (the
machine is shared and noisy: compare ratios) and wall MB/s for the two-thread batch.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("tokkit-hybrid", "hf-bpe", "published")
SHAPES = ("single", "batch-1", "batch-2")


def _load(tool: str, args: argparse.Namespace, threads: int) -> Any:
    """An encode function for ``tool``: text → ids, or lines → list of ids."""
    if tool == "tokkit-hybrid":
        from tokkit import _tokkit

        tok = _tokkit.HybridTokenizer.from_json(
            (Path(args.hybrid) / "hybrid.json").read_text(encoding="utf-8")
        )
        return tok.encode, lambda lines: tok.encode_batch(lines, num_threads=threads)
    if tool == "hf-bpe":
        os.environ["RAYON_RS_NUM_THREADS"] = os.environ["RAYON_NUM_THREADS"] = str(threads)
        os.environ["TOKENIZERS_PARALLELISM"] = "true" if threads > 1 else "false"
        import tokenizers

        hf = tokenizers.Tokenizer.from_file(str(Path(args.bpe) / "tokenizer.json"))

        def batch(lines: list[str]) -> list[list[int]]:
            return [e.ids for e in hf.encode_batch(lines, add_special_tokens=False)]

        return (lambda text: hf.encode(text, add_special_tokens=False).ids), batch
    from turkish_tokenizer import TurkishTokenizer  # the published tokenizer (MIT)

    pub = TurkishTokenizer()
    return pub.encode, lambda lines: [pub.encode(line) for line in lines]


def worker(args: argparse.Namespace) -> None:
    """One measurement in this process; prints JSON."""
    text = Path(args.text).read_text(encoding="utf-8")
    threads = 2 if args.shape == "batch-2" else 1
    single, batch = _load(args.tool, args, threads)
    lines = text.splitlines(keepends=True)
    c0, t0 = time.process_time(), time.perf_counter()
    n = len(single(text)) if args.shape == "single" else sum(len(ids) for ids in batch(lines))
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    mb = len(text.encode("utf-8")) / 1e6
    print(
        json.dumps(
            {
                "tool": args.tool,
                "shape": args.shape,
                "tokens": n,
                "cpu_s": cpu,
                "wall_s": wall,
                "mb_per_cpu_s": mb / cpu,
                "mb_per_s": mb / wall,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--hybrid", required=True, help="a tokkit hybrid tokenizer directory")
    ap.add_argument("--bpe", required=True, help="a BPE tokenizer.json directory of the same size")
    ap.add_argument("--text", default=str(ROOT / "corpora" / "tr.txt"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", help="write the raw results here")
    ap.add_argument("--markdown", type=Path, help="write the table into this file (hybrid-speed)")
    ap.add_argument("--worker", dest="tool", help=argparse.SUPPRESS)
    ap.add_argument("--shape", default="single", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tool:
        worker(args)
        return 0
    try:
        import turkish_tokenizer  # noqa: F401

        tools = TOOLS
    except ImportError:
        print(
            "turkish-tokenizer is not installed: the published tokenizer is left out",
            file=sys.stderr,
        )
        tools = TOOLS[:2]
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rep in range(args.reps):
        for shape in SHAPES:
            for tool in tools if rep % 2 == 0 else tools[::-1]:  # alternate the order
                cmd = [
                    sys.executable,
                    __file__,
                    "--hybrid",
                    args.hybrid,
                    "--bpe",
                    args.bpe,
                    "--text",
                    args.text,
                    "--worker",
                    tool,
                    "--shape",
                    shape,
                ]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                runs.setdefault((tool, shape), []).append(json.loads(out.splitlines()[-1]))
    rows = []
    for (tool, shape), rs in runs.items():
        rows.append(
            {
                "tool": tool,
                "shape": shape,
                "tokens": rs[0]["tokens"],
                "mb_per_cpu_s": statistics.median(r["mb_per_cpu_s"] for r in rs),
                "mb_per_s": statistics.median(r["mb_per_s"] for r in rs),
                "peak_rss_mib": max(r["peak_rss_mib"] for r in rs),
            }
        )
    result = {
        "text": args.text,
        "bytes": Path(args.text).stat().st_size,
        "reps": args.reps,
        "rows": rows,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(markdown(result))
    if args.markdown:
        sys.path.insert(0, str(ROOT / "bench"))
        from _report import write_section

        cmd = (
            f"`python bench/hybrid_speed.py --hybrid DIR --bpe DIR --reps {args.reps}`, on "
            f"`{Path(args.text).name}` ({result['bytes']:,} bytes); medians, ratio to HF in "
            "brackets.\n\n"
        )
        write_section(args.markdown, "hybrid-speed", cmd + markdown(result))
    return 0


def markdown(result: dict[str, Any]) -> str:
    """The table: MB per CPU-second for each tool and shape, and the ratio to HF."""
    by = {(r["tool"], r["shape"]): r for r in result["rows"]}
    lines = [
        "| encoder | tokens | one call, MB/CPU-s | lines, 1 thread, MB/CPU-s | lines, 2 threads, "
        "MB/s wall | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for tool in TOOLS:
        if (tool, "single") not in by:
            continue
        s, b1, b2 = by[tool, "single"], by[tool, "batch-1"], by[tool, "batch-2"]
        hf = by["hf-bpe", "single"], by["hf-bpe", "batch-1"], by["hf-bpe", "batch-2"]
        lines.append(
            f"| {tool} | {s['tokens']:,} | {s['mb_per_cpu_s']:.2f} "
            f"({s['mb_per_cpu_s'] / hf[0]['mb_per_cpu_s']:.1f}x) | {b1['mb_per_cpu_s']:.2f} "
            f"({b1['mb_per_cpu_s'] / hf[1]['mb_per_cpu_s']:.1f}x) | {b2['mb_per_s']:.2f} "
            f"({b2['mb_per_s'] / hf[2]['mb_per_s']:.1f}x) "
            f"| {max(s['peak_rss_mib'], b2['peak_rss_mib']):.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
