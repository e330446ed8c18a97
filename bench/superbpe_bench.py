"""SuperBPE benchmark: tokkit's SuperBPE against HF `tokenizers` trained without whitespace
pre-tokenization (the stage that runs out of memory upstream), side by side and alternating;
a compression table over vocabulary size V and transition point T on held-out English; and
the time and memory of SuperBPE against corpus size.

    python bench/superbpe_bench.py --corpus corpora/build/en-100mb.txt \\
        --heldout corpora/build/en-heldout.txt --markdown docs/benchmarks.md [--anchor] [--table] \\
        [--scaling corpora/build/en-10mb.txt corpora/build/en-100mb.txt corpora/build/en-1gb.txt]

Sections written: `superbpe-anchor`, `superbpe-table`, `superbpe-scaling`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from _measure import machine_info, run_measured
from _report import write_section

HF_NO_WHITESPACE = """
import sys
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
trainer = trainers.BpeTrainer(vocab_size=int(sys.argv[2]), min_frequency=0, show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train([sys.argv[1]], trainer)
tok.save(sys.argv[3])
"""


def tokkit_cmd(corpus: str, vocab: int, transition: float, out: Path, config: str) -> list[str]:
    return [
        sys.executable, "-m", "tokkit", "train", "--algo", "superbpe", "--vocab-size", str(vocab),
        "--transition-point", str(transition), "--superbpe-config", config, "--num-threads", "2",
        "--progress", "none", "--force", "--out", str(out), corpus,
    ]  # fmt: skip


def env() -> dict[str, str]:
    return {**os.environ, "RAYON_NUM_THREADS": "2", "TOKENIZERS_PARALLELISM": "true"}


def header(args: argparse.Namespace) -> list[str]:
    m = machine_info()
    return [
        f"- Command: `python {' '.join(sys.argv)}`",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {m.get('nproc')} CPUs, "
        f"{m.get('cpu_model', '?')}, {m.get('ram_gib', '?')} GiB",
    ]


def anchor(args: argparse.Namespace, work: Path) -> str:
    runs: dict[str, list[dict[str, Any]]] = {"tokkit superbpe": [], "hf, no whitespace split": []}
    for rep in range(args.reps):
        order = list(runs)
        if rep % 2:
            order.reverse()
        for name in order:
            if name.startswith("tokkit"):
                cmd = tokkit_cmd(args.corpus, 32000, 24000, work / "t", "recommended")
            else:
                cmd = [
                    sys.executable,
                    "-c",
                    HF_NO_WHITESPACE,
                    args.corpus,
                    "32000",
                    str(work / "h.json"),
                ]
            r = run_measured(cmd, env(), args.timeout, work / f"log-{len(runs[name])}")
            print(f"[anchor] {name}: {r}", file=sys.stderr)
            runs[name].append(r)

    def med(name: str, key: str) -> float:
        vals = [r[key] for r in runs[name] if r["status"] == "ok"]
        return statistics.median(vals) if vals else float("nan")

    base_t, base_m = med("tokkit superbpe", "wall_s"), med("tokkit superbpe", "peak_rss_mib")
    lines = [
        "### SuperBPE against HF without whitespace pre-tokenization",
        "",
        *header(args),
        f"- Corpus `{args.corpus}`; V = 32,000; tokkit: T = 24,000, `recommended`; HF: ByteLevel("
        "use_regex=False), the same vocabulary, full byte alphabet; 2 threads; alternating runs.",
        "",
        "| trainer | median wall s | x tokkit | median peak RSS MiB | RSS x tokkit | runs |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name in runs:
        t, m = med(name, "wall_s"), med(name, "peak_rss_mib")
        walls = ", ".join(f"{r['wall_s']:.1f}" if r["wall_s"] else r["status"] for r in runs[name])
        lines.append(
            f"| {name} | {t:.1f} | {t / base_t:.2f}x | {m:.0f} | {m / base_m:.2f}x | {walls} |"
        )
    return "\n".join(lines)


def evaluate(tokenizers: dict[str, Path], heldout: str) -> dict[str, dict[str, Any]]:
    args = [
        sys.executable,
        "-m",
        "tokkit",
        "eval",
        "--json",
        "--curve-sizes",
        "none",
        "--text",
        heldout,
    ]
    args += [f"{name}={path}" for name, path in tokenizers.items()]
    rows = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    return {row["name"]: row for row in rows}


def table(args: argparse.Namespace, work: Path) -> str:
    data = Path(args.heldout).read_bytes()
    newlines = data.count(b"\n") / len(data) * 1000
    lines = [
        f"### Compression over V and T (SuperBPE `{args.config}`)",
        "",
        *header(args),
        f"- Trained on `{args.corpus}`; tokens counted on `{args.heldout}` ({len(data):,} bytes, "
        f"{newlines:.1f} newlines per KB); BPE is tokkit's GPT-2-pre-tokenized BPE at the same V.",
        "",
        "| V | T | tokens | bytes/token | vs BPE | train wall s | peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for vocab in args.vocabs:
        paths = {"bpe": work / f"bpe-{vocab}"}
        bpe_cmd = [
            sys.executable, "-m", "tokkit", "train", "--vocab-size", str(vocab),
            "--num-threads", "2", "--progress", "none", "--force", "--out", str(paths["bpe"]),
            args.corpus,
        ]  # fmt: skip
        measured = {"bpe": run_measured(bpe_cmd, env(), args.timeout, work / "log-bpe")}
        for frac in args.fractions:
            name = f"t{frac}"
            paths[name] = work / f"sb-{vocab}-{frac}"
            cmd = tokkit_cmd(args.corpus, vocab, frac, paths[name], args.config)
            measured[name] = run_measured(cmd, env(), args.timeout, work / f"log-{name}")
            print(f"[table] V={vocab} {name}: {measured[name]}", file=sys.stderr)
        rows = evaluate(paths, args.heldout)
        bpe_tokens = rows["bpe"]["tokens"]
        for name in paths:
            r, m = rows[name], measured[name]
            t = "BPE" if name == "bpe" else f"{round(float(name[1:]) * vocab):,} ({name[1:]} V)"
            vs = "" if name == "bpe" else f"{(r['tokens'] / bpe_tokens - 1) * 100:+.1f}%"
            lines.append(
                f"| {vocab:,} | {t} | {r['tokens']:,} | {r['bytes_per_token']:.3f} | {vs} | "
                f"{m['wall_s'] or float('nan'):.1f} | {m['peak_rss_mib'] or float('nan'):.0f} |"
            )
    return "\n".join(lines)


def scaling(args: argparse.Namespace, work: Path) -> str:
    lines = [
        "### SuperBPE time and memory against corpus size (V = 32k, T = 24k, `recommended`)",
        "",
        *header(args),
        "",
        "| corpus | MB | wall s | peak RSS MiB | distinct stage-2 spans "
        "| stage-2 s (count / segment / merge) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for corpus in args.scaling:
        out = work / f"scale-{Path(corpus).stem}"
        r = run_measured(
            tokkit_cmd(corpus, 32000, 24000, out, "recommended"),
            env(),
            args.timeout,
            work / "log-s",
        )
        print(f"[scaling] {corpus}: {r}", file=sys.stderr)
        size = Path(corpus).stat().st_size / 1e6
        if r["status"] != "ok":
            lines.append(f"| `{Path(corpus).name}` | {size:.0f} | {r['status']} | | | |")
            continue
        sb = json.loads((out / "tokkit.json").read_text())["superbpe"]
        stage2 = " / ".join(
            f"{sb[f'stage2_{k}_seconds']:.1f}" for k in ("count", "segment", "merge")
        )
        lines.append(
            f"| `{Path(corpus).name}` | {size:.0f} | {r['wall_s']:.1f} | {r['peak_rss_mib']:.0f} | "
            f"{sb['stage2_distinct_spans']:,} | {stage2} |"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--corpus", default="corpora/build/en-100mb.txt")
    p.add_argument("--heldout", default="corpora/build/en-heldout.txt")
    p.add_argument("--markdown", type=Path, default=Path("docs/benchmarks.md"))
    p.add_argument("--anchor", action="store_true", help="run tokkit against HF, alternating")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--table", action="store_true", help="compression over V and T")
    p.add_argument("--vocabs", type=int, nargs="+", default=[16000, 32000])
    p.add_argument("--fractions", type=float, nargs="+", default=[0.5, 0.75, 0.9])
    p.add_argument("--config", choices=["paper", "recommended"], default="paper")
    p.add_argument("--scaling", nargs="*", default=[], metavar="CORPUS")
    p.add_argument("--timeout", type=float, default=1800)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="superbpe-bench-"))
    try:
        if args.anchor:
            write_section(args.markdown, "superbpe-anchor", anchor(args, work))
        if args.table:
            write_section(args.markdown, f"superbpe-table-{args.config}", table(args, work))
        if args.scaling:
            write_section(args.markdown, "superbpe-scaling", scaling(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
