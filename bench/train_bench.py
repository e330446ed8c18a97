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

This file is the command-line entry point: it parses the options, collects
the run's metadata and drives the other modules of ``bench/``:
``_tools.py`` (the trainers and their commands), ``_measure.py`` (timing one
process, machine and corpus facts), ``_merges.py`` (merge lists and their
comparison with HF), ``_grid.py`` (the alternating runs and their summary) and
``_report.py`` (markdown and JSON). ``train_worker.py`` is the per-run worker
of the Python-API tools.

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
import datetime as dt
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _gpt2_pattern import GPT2_PATTERN
from _grid import Bench
from _measure import corpus_info, machine_info
from _report import (
    SECTION_SCALING,
    SECTION_TRAIN,
    markdown_scaling,
    markdown_train,
    write_json,
    write_section,
)
from _tools import ALL_TOOLS, CONFIG_NOTES, SCALING_TOOLS, tool_version


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
        write_json(out, result)

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
