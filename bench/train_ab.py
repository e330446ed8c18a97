"""Training speed of two tokkit builds side by side: the same commands, alternated, one run.

For a refactor that must not change outputs or slow training: give the ``tokkit`` executable of
the build before the change (a second virtual environment) and of the build after it. Each
configuration is trained by both, alternating A, B, A, B, ... so that machine noise falls on
both alike; the report gives the median wall time and peak RSS of each, their ratio, and
whether every output ``tokenizer.json`` of B equals A's byte for byte.

    python bench/train_ab.py --a /tmp/oldvenv/bin/tokkit --b .venv/bin/tokkit \\
        --corpus corpora/build/en-100mb.txt --reps 3 \\
        --out bench/out/train-ab.json --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import corpus_info, machine_info, run_measured
from _report import write_json, write_section

#: The configurations timed: every training algorithm at the sizes of docs/benchmarks.md.
CONFIGS = {
    "bpe 32k": ["--vocab-size", "32000"],
    "bpe 32k llama3": ["--vocab-size", "32000", "--pretokenizer", "llama3"],
    "superbpe 32k/24k": [
        "--algo",
        "superbpe",
        "--vocab-size",
        "32000",
        "--transition-point",
        "24000",
    ],
    "charbpe 4k": ["--algo", "charbpe", "--vocab-size", "4096", "--max-token-chars", "3"],
    "supertoken 16k": ["--algo", "supertoken", "--vocab-size", "16000", "--seed", "3"],
}


def run_pair(args: argparse.Namespace, name: str, flags: list[str], work: Path) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}
    same = True
    for rep in range(args.reps):
        for side in ("a", "b"):
            out = work / f"{side}-{rep}"
            cmd = [str(getattr(args, side)), "train", *flags, "--num-threads", str(args.threads)]
            cmd += ["--progress", "none", "--force", "--out", str(out), str(args.corpus)]
            res = run_measured(cmd, {"PATH": "/usr/bin:/bin"}, args.timeout, work / f"{side}-log")
            if res["status"] != "ok":
                raise SystemExit(f"{name} ({side}) failed: {res.get('error')}")
            runs[side].append(res)
            print(f"{name} {side} rep {rep}: {res['wall_s']:.2f} s", file=sys.stderr, flush=True)
        a_json = (work / f"a-{rep}" / "tokenizer.json").read_bytes()
        same &= a_json == (work / f"b-{rep}" / "tokenizer.json").read_bytes()
    row: dict[str, Any] = {"config": name, "flags": flags, "identical": same}
    for side in ("a", "b"):
        row[f"{side}_wall_s"] = statistics.median(r["wall_s"] for r in runs[side])
        row[f"{side}_rss_mib"] = statistics.median(r["peak_rss_mib"] for r in runs[side])
        row[f"{side}_runs"] = [r["wall_s"] for r in runs[side]]
    row["wall_ratio"] = row["b_wall_s"] / row["a_wall_s"]
    row["rss_ratio"] = row["b_rss_mib"] / row["a_rss_mib"]
    return row


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"`{result['command']}` ({result['date']}; {m.get('cpu_model', '?')}, {m['nproc']} "
        f"cores; corpus {result['corpus']['path']}, {result['corpus']['bytes'] / 1e6:.0f} MB; "
        f"{result['threads']} threads; {result['reps']} runs each, alternated A, B). "
        f"A: {result['a_label']}; B: {result['b_label']}. Whole process, median.",
        "",
        "| configuration | A s | B s | B / A time | A MiB | B MiB | B / A RSS | tokenizer.json |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['config']} | {r['a_wall_s']:.2f} | {r['b_wall_s']:.2f} | "
            f"{r['wall_ratio']:.3f} | {r['a_rss_mib']:.0f} | {r['b_rss_mib']:.0f} | "
            f"{r['rss_ratio']:.3f} | {'identical' if r['identical'] else 'DIFFERS'} |"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--a", type=Path, required=True, help="tokkit executable of the baseline")
    p.add_argument("--b", type=Path, required=True, help="tokkit executable of the change")
    p.add_argument("--a-label", default="before", help="what A is (a commit)")
    p.add_argument("--b-label", default="after", help="what B is (a commit)")
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--out", type=Path, default=Path("bench/out/train-ab.json"))
    p.add_argument("--markdown", type=Path, help="write the section into this markdown file")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="tokkit-ab-") as tmp:
        for name in args.configs:
            work = Path(tmp) / name.replace(" ", "_").replace("/", "-")
            work.mkdir()
            rows.append(run_pair(args, name, CONFIGS[name], work))
    result = {
        "command": "python bench/train_ab.py " + shlex.join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine_info(),
        "corpus": corpus_info(args.corpus),
        "threads": args.threads,
        "reps": args.reps,
        "a_label": args.a_label,
        "b_label": args.b_label,
        "rows": rows,
    }
    write_json(args.out, result)
    if args.markdown:
        write_section(args.markdown, "train-ab", markdown(result))
    print(markdown(result))
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
