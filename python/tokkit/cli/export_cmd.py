"""``tokkit export``: write a BPE tokenizer.json as a tiktoken rank file or a SentencePiece
model, only where the target encodes every text to the same ids (:mod:`tokkit.export`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tokkit.cli.common import add_revision

EPILOG = """\
formats:
  tiktoken       byte-level BPE (GPT-2, Llama-3, Qwen, SmolLM2, what `tokkit train` writes):
                 OUT/tokenizer.tiktoken (base64 token, rank = id) + OUT/tiktoken.json (split
                 pattern, special tokens and ids, n_vocab, name). `tokkit.load(OUT)` and
                 `tokkit.export.load_tiktoken(OUT)` read it back.
  sentencepiece  SentencePiece-style BPE (characters, ▁ for spaces, byte fallback; Gemma-3):
                 OUT/tokenizer.model. Byte-level BPE cannot be written as SentencePiece.

exactness:
  Nothing is written unless the export encodes like the tokenizer.json: the normalizer and
  pre-tokenizer must be ones the target can run, and the merge list must be replaceable by a
  ranking of tokens (checked per tokenizer; docs/guides/export.md says why this suffices). Both
  then encode a probe text and must give the same ids. Otherwise the command fails (exit 1)
  and says which condition fails, for which token.
  Not covered: tiktoken matches special tokens only with allowed_special; SentencePiece never
  matches control tokens (<bos>, ...) in text.

The output directory goes to stdout; what was checked goes to stderr.

examples:
  tokkit export --format tiktoken --out my-bpe-tiktoken my-bpe
  tokkit export --format sentencepiece --out gemma-spm "$(tokkit models path gemma3-270m)"
"""


def add_parser(sub: Any) -> None:
    """Register ``tokkit export``."""
    from tokkit.export import FORMATS

    p = sub.add_parser(
        "export",
        help="write a BPE tokenizer as tiktoken or SentencePiece files",
        description=(
            "Write a BPE tokenizer.json as a tiktoken rank file or a SentencePiece model, only\n"
            "where the target library encodes every text to the same ids."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "tokenizer",
        metavar="TOKENIZER",
        help="a tokenizer directory, tokenizer.json, GPT-2 encoder.json, a pretrained name or a "
        "Hub id (org/name)",
    )
    p.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="the directory to write (default: NAME-FORMAT in the current directory)",
    )
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    p.add_argument(
        "--extend-bytes",
        action="store_true",
        help="tiktoken: give bytes without a token new ids after the last one (tokenizers "
        "drops such bytes, tiktoken needs every byte)",
    )
    add_revision(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tokkit export``."""
    from tokkit.export import export

    out = args.out
    if out is None:
        source = Path(args.tokenizer)
        name = source.parent.name if source.is_file() else source.name
        out = f"{name or 'tokenizer'}-{args.format}"
    result = export(
        args.tokenizer, args.format, out, force=args.force, extend_bytes=args.extend_bytes
    )
    names = ", ".join(f.name for f in result.files)
    print(f"wrote {result.out}/ ({names})", file=sys.stderr)
    if result.proven:
        print("merges: proven to encode like the tokenizer.json", file=sys.stderr)
    else:
        print(f"merges: not covered by the proof ({result.gaps[0]})", file=sys.stderr)
    if result.verified:
        print(f"probe text: same ids in {result.format}", file=sys.stderr)
    else:
        print(f"probe text: not compared ({result.format} is not installed)", file=sys.stderr)
    if result.left_out:
        print(
            f"left out of the ranks: {len(result.left_out)} ids no merge makes "
            f"(first: {result.left_out[0]}); encoding never returns them",
            file=sys.stderr,
        )
    if result.new_byte_ids:
        print(
            f"new ids for bytes without a token: {len(result.new_byte_ids)} "
            f"({min(result.new_byte_ids.values())}..{max(result.new_byte_ids.values())})",
            file=sys.stderr,
        )
    print(result.out)
    return 0
