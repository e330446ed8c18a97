"""What a tokenizer is, at a glance: size, special tokens and their roles, pre-tokenizer and
normaliser, longest tokens, and how it cuts a given text (``tokkit inspect``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tokkit.tokenizer import Tokenizer
from tokkit.vocab import ROLES

__all__ = ["TokenizerInfo", "describe"]


@dataclass(frozen=True)
class TokenizerInfo:
    """One tokenizer described (``to_dict`` is ``tokkit inspect --json``'s object)."""

    name: str
    path: str
    format: str
    engine: str
    vocab_size: int
    special_tokens: dict[str, int]
    #: role (``bos``, ``eos``, ``pad``...) → special token, where the files say so.
    roles: dict[str, str]
    pre_tokenizer: str
    normalizer: str
    #: The longest tokens: (id, text, bytes), longest first.
    longest_tokens: list[tuple[int, str, int]]
    #: The text given, cut into tokens (each token's text), or None.
    segmentation: list[str] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _token_text(data: bytes) -> str:
    return data.decode("utf-8", errors="backslashreplace")


def _component(value: Any) -> str:
    """A ``tokenizer.json`` section as a short type chain: ``Sequence[Split(regex), ByteLevel]``."""
    if not isinstance(value, Mapping):
        return "none"
    kind = str(value.get("type", "?"))
    parts = value.get("pretokenizers") or value.get("normalizers")
    if isinstance(parts, Sequence) and not isinstance(parts, str):
        return f"{kind}[{', '.join(_component(p) for p in parts)}]"
    if kind == "Split" and isinstance(value.get("pattern"), Mapping):
        return "Split(regex)" if "Regex" in value["pattern"] else "Split(string)"
    return kind


def _json_sections(tok: Tokenizer) -> tuple[str, str, dict[str, str]]:
    """Pre-tokenizer, normaliser and roles from the files of a ``tokenizer.json`` tokenizer."""
    file = tok.files[0]
    if tok.format == "hybrid":  # design/hybrid.md §3.1: runs of one class, cut at case changes
        return "hybrid segments", "", _roles(file.with_name("tokenizer_config.json"))
    if tok.format != "tokenizer.json" or file.name != "tokenizer.json":
        return "", "", {}
    data = json.loads(file.read_text(encoding="utf-8"))
    roles = _roles(file.with_name("tokenizer_config.json"))
    return _component(data.get("pre_tokenizer")), _component(data.get("normalizer")), roles


def _roles(config: Path) -> dict[str, str]:
    """The special-token roles a ``tokenizer_config.json`` records (none without one)."""
    roles: dict[str, str] = {}
    if config.is_file():
        cfg = json.loads(config.read_text(encoding="utf-8"))
        for role in ROLES:
            value = cfg.get(f"{role}_token")
            if isinstance(value, Mapping):
                value = value.get("content")
            if isinstance(value, str) and value:
                roles[role] = value
    return roles


def describe(tok: Tokenizer, *, text: str | None = None, longest: int = 10) -> TokenizerInfo:
    """Describe ``tok``; with ``text``, also how it cuts that text."""
    pre, norm, roles = _json_sections(tok)
    if not pre:
        pre = {"tiktoken": "tiktoken regex", "sentencepiece": "sentencepiece"}.get(
            tok.engine, "ByteLevel"
        )
    specials = tok.special_tokens
    lengths = sorted(
        ((len(tok.token_bytes(i)), i) for i in range(tok.vocab_size) if i not in specials.values()),
        key=lambda t: (-t[0], t[1]),
    )[: max(longest, 0)]
    return TokenizerInfo(
        name=tok.name,
        path=str(tok.path),
        format=tok.format,
        engine=tok.engine,
        vocab_size=tok.vocab_size,
        special_tokens=specials,
        roles=roles,
        pre_tokenizer=pre,
        normalizer=norm or "none",
        longest_tokens=[(i, _token_text(tok.token_bytes(i)), n) for n, i in lengths],
        segmentation=(
            None if text is None else [_token_text(tok.token_bytes(i)) for i in tok.encode(text)]
        ),
    )
