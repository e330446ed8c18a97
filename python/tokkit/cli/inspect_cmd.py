"""``tokkit inspect``: what a tokenizer is (size, specials and roles, pre-tokenizer, normaliser,
longest tokens) and, with ``--text``, how each of several tokenizers cuts one string."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tokkit.cli.argtypes import non_negative_int
from tokkit.cli.common import add_revision
from tokkit.cli.eval import split_label

EPILOG = """\
TOKENIZER is anything `tokkit eval` takes: a directory, tokenizer.json, encoder.json, a
.tiktoken or .model file, or a pretrained name (gpt2, cl100k, o200k, llama3, mistral);
NAME=TOKENIZER labels it.

--json prints one object for one tokenizer (a list for several): name, path, format, engine,
vocab_size, special_tokens (text -> id), roles (bos/eos/pad/... -> token, from
tokenizer_config.json), pre_tokenizer, normalizer, longest_tokens ([id, text, bytes]) and
segmentation (the --text cut into token texts, or null).

examples:
  tokkit inspect gpt2
  tokkit inspect --text "I've started 12345 naïve" my-bpe gpt2 o200k llama3
  tokkit inspect --json out/bpe-32k
"""


def add_parser(sub: Any) -> None:
    """Register ``tokkit inspect``."""
    p = sub.add_parser(
        "inspect",
        help="describe tokenizers and compare how they cut a text",
        description="Describe tokenizers; with --text, show how each one cuts that text.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("tokenizers", nargs="+", metavar="[NAME=]TOKENIZER")
    p.add_argument("--text", metavar="TEXT", help="a string to cut with every tokenizer")
    p.add_argument(
        "--longest",
        type=non_negative_int,
        default=10,
        metavar="N",
        help="how many of the longest tokens to list (default: 10)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_revision(p)
    p.set_defaults(run=run)


def _shown(token: str) -> str:
    return token.replace("\n", "\\n").replace("\t", "\\t")


def format_text(infos: list[Any]) -> str:
    """The human-readable report: a block per tokenizer, then the segmentations."""
    lines = []
    for info in infos:
        specials = ", ".join(f"{t}={i}" for t, i in info.special_tokens.items())
        roles = " ".join(f"{r}={t}" for r, t in info.roles.items()) or "none recorded"
        longest = ", ".join(f"{_shown(t)!r} ({n} B)" for _, t, n in info.longest_tokens)
        lines += [
            f"{info.name}  {info.format} via {info.engine}, {info.vocab_size:,} ids  ({info.path})",
            f"  special tokens ({len(info.special_tokens)}): {specials or 'none'}",
            f"  roles: {roles}",
            f"  pre-tokenizer: {info.pre_tokenizer}   normalizer: {info.normalizer}",
            f"  longest tokens: {longest or '-'}",
        ]
    if infos and infos[0].segmentation is not None:
        width = max(len(i.name) for i in infos)
        lines.append("segmentation:")
        for info in infos:
            tokens = info.segmentation
            cut = "|".join(_shown(t) for t in tokens)
            lines.append(f"  {info.name:<{width}}  {len(tokens):>4} tokens  {cut}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``tokkit inspect``."""
    import tokkit
    from tokkit.describe import describe

    infos = []
    for arg in args.tokenizers:
        name, path = split_label(arg)
        tok = tokkit.load(path)
        if name:
            tok.name = name
        infos.append(describe(tok, text=args.text, longest=args.longest))
    if args.json:
        out = [i.to_dict() for i in infos]
        print(json.dumps(out[0] if len(out) == 1 else out, ensure_ascii=False, indent=2))
    else:
        print(format_text(infos))
    return 0
