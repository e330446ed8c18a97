"""Canonical token identity across tokenizers (design/transplant.md §2.1).

Two vocabularies are comparable only once every token is reduced to what it *contributes to the
text*: GPT-2-style ``Ġhello``, SentencePiece ``▁hello`` and a tokkit byte-level ``Ġhello`` all
stand for the bytes ``b" hello"``; SentencePiece ``<0x0A>`` and byte-level ``Ċ`` both stand for
``b"\\n"``. A token's key is ``(is_special, name, raw_bytes)``:

- regular tokens: ``(False, "", raw_bytes)``, never decoded through ``str`` so that partial UTF-8
  pieces keep their identity;
- special tokens: ``(True, string, b"")``; they match another vocabulary's special token with the
  same string, else one with a shared role (``bos``, ``eos``, ...), never a regular token.

Within one vocabulary several ids can share a key (``a`` and ``<0x61>`` under byte fallback). The
*representative* is the regular piece, then the lowest id; a donor id receives the base row of the
representative. :func:`mergekit_keys` reproduces mergekit-tokensurgeon's ``normalized_vocabulary``
(quirks included) for side-by-side comparisons. The same keys serve byte-level probabilities.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tokkit._formats import BYTE_CHARS, BYTE_OF_CHAR, BYTE_PIECE, piece_bytes

__all__ = [
    "BYTE_CHARS",
    "ROLES",
    "TokenKey",
    "Vocab",
    "match_vocabularies",
    "mergekit_keys",
    "vocab_from_json",
]

ROLES = ("bos", "eos", "unk", "pad", "mask", "sep", "cls")

TokenKey = tuple[bool, str, bytes]


@dataclass
class Vocab:
    """One tokenizer's tokens under canonical keys.

    Attributes:
        keys: id → key, for every id the tokenizer defines.
        scheme: how pieces spell bytes: ``byte_level``, ``sentencepiece``, ``wordpiece`` or
            ``raw``.
        roles: role (``bos``, ``eos``, ...) → special token string.
        special_ids: ids of special tokens.
        size: one more than the largest id.
    """

    keys: dict[int, TokenKey]
    scheme: str
    roles: dict[str, str] = field(default_factory=dict)
    special_ids: set[int] = field(default_factory=set)
    strings: dict[int, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return max(self.keys, default=-1) + 1

    def raw_bytes(self, token_id: int) -> bytes:
        """The bytes a token contributes to decoded text (empty for specials)."""
        return self.keys[token_id][2]

    def representatives(self, rows: int | None = None) -> dict[TokenKey, int]:
        """key → representative id: a regular piece before a ``<0xXX>`` byte-fallback piece,
        then the lowest id. Ids ≥ ``rows`` (padding or junk) are left out."""
        rep: dict[TokenKey, int] = {}
        for i in sorted(self.keys):
            if rows is not None and i >= rows:
                continue
            key = self.keys[i]
            j = rep.get(key)
            if j is None or (self._is_byte_piece(j) and not self._is_byte_piece(i)):
                rep[key] = i
        return rep

    def _is_byte_piece(self, i: int) -> bool:
        return self.scheme == "sentencepiece" and bool(BYTE_PIECE.fullmatch(self.strings[i]))

    def role_of(self, token_id: int) -> list[str]:
        """The roles a special token plays (possibly several, e.g. bos and eos)."""
        s = self.strings.get(token_id)
        return [r for r in ROLES if self.roles.get(r) == s]


def _walk(node: Any) -> Iterable[dict[str, Any]]:
    """Every typed component in a normalizer/pre-tokenizer/decoder tree."""
    if isinstance(node, dict):
        if "type" in node:
            yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _scheme(data: Mapping[str, Any]) -> str:
    parts = [*_walk(data.get("decoder")), *_walk(data.get("pre_tokenizer"))]
    types = {p.get("type") for p in parts}
    model = data.get("model") or {}
    if "ByteLevel" in types:
        return "byte_level"
    if "Metaspace" in types or model.get("byte_fallback"):
        return "sentencepiece"
    for p in parts:
        if p.get("type") == "Replace" and "\u2581" in json.dumps(
            p.get("pattern"), ensure_ascii=False
        ):
            return "sentencepiece"
    if model.get("type") == "WordPiece" or "WordPiece" in types:
        return "wordpiece"
    return "raw"


def _regular_bytes(piece: str, scheme: str) -> bytes:
    if scheme == "byte_level":
        if all(c in BYTE_OF_CHAR for c in piece):
            return bytes(BYTE_OF_CHAR[c] for c in piece)
        return piece.encode("utf-8")
    if scheme == "sentencepiece":
        return piece_bytes(piece)
    if scheme == "wordpiece":
        return piece[2:].encode("utf-8") if piece.startswith("##") else piece.encode("utf-8")
    return piece.encode("utf-8")


def _model_vocab(model: Mapping[str, Any]) -> dict[str, int]:
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        return {str(k): int(v) for k, v in vocab.items()}
    if isinstance(vocab, list):  # Unigram: [[piece, score], ...] in id order
        return {str(entry[0]): i for i, entry in enumerate(vocab)}
    return {}


def vocab_from_json(data: Mapping[str, Any], roles: Mapping[str, str | None]) -> Vocab:
    """Canonical keys for an HF ``tokenizer.json`` (parsed) and its special-token roles.

    Args:
        data: The parsed ``tokenizer.json``.
        roles: role → token string, e.g. ``{"bos": "<s>", "eos": "</s>"}`` (``None`` values are
            ignored); usually from :func:`roles_of`.
    """
    scheme = _scheme(data)
    keys: dict[int, TokenKey] = {}
    strings: dict[int, str] = {}
    for piece, i in _model_vocab(data.get("model") or {}).items():
        keys[i] = (False, "", _regular_bytes(piece, scheme))
        strings[i] = piece
    special_ids: set[int] = set()
    for added in data.get("added_tokens") or []:
        i, content = int(added["id"]), str(added["content"])
        strings[i] = content
        if added.get("special", False):
            keys[i] = (True, content, b"")
            special_ids.add(i)
        elif i not in keys:
            keys[i] = (False, "", content.encode("utf-8"))
    clean = {r: s for r, s in roles.items() if s is not None and r in ROLES}
    for s in clean.values():  # a role token the JSON forgot to flag as special
        for i, content in strings.items():
            if content == s and i not in special_ids:
                keys[i] = (True, s, b"")
                special_ids.add(i)
    return Vocab(keys=keys, scheme=scheme, roles=clean, special_ids=special_ids, strings=strings)


def roles_of(tokenizer: Any) -> dict[str, str]:
    """role → token string from a ``transformers`` tokenizer's special-token attributes."""
    out: dict[str, str] = {}
    for role in ROLES:
        value = getattr(tokenizer, f"{role}_token", None)
        if isinstance(value, str) and value:
            out[role] = value
    return out


def vocab_from_hf(tokenizer: Any) -> Vocab:
    """Canonical keys for a ``transformers`` fast tokenizer.

    Reads only the parts :func:`vocab_from_json` needs from the backend (parsing the whole
    ``tokenizer.json`` of a 262k vocabulary, merges included, takes seconds).
    """
    own = getattr(tokenizer, "tokkit_vocab", None)
    if own is not None:  # a tokenizer without tokenizer.json (tokkit.hybrid.HybridTokenizer)
        return own()  # type: ignore[no-any-return]
    backend = tokenizer.backend_tokenizer

    def part(component: Any) -> Any:
        return json.loads(component.__getstate__()) if component is not None else None

    model = backend.model
    data = {
        "model": {
            "type": type(model).__name__,
            "vocab": backend.get_vocab(with_added_tokens=False),
            "byte_fallback": bool(getattr(model, "byte_fallback", False)),
        },
        "decoder": part(backend.decoder),
        "pre_tokenizer": part(backend.pre_tokenizer),
        "added_tokens": [
            {"id": i, "content": t.content, "special": t.special}
            for i, t in backend.get_added_tokens_decoder().items()
        ],
    }
    return vocab_from_json(data, roles_of(tokenizer))


@dataclass
class Matching:
    """How a new (donor-side) vocabulary maps onto the base vocabulary.

    Attributes:
        copy: new id → base id, for tokens the base already has (exact row copies).
        new: new ids that need an estimated row, in increasing order.
        junk: new ids with no usable row (≥ the donor's rows when a donor is used).
    """

    copy: dict[int, int]
    new: list[int]
    junk: list[int] = field(default_factory=list)


def match_vocabularies(
    base: Vocab, new: Vocab, *, base_rows: int, skip: Iterable[int] = ()
) -> Matching:
    """Match every id of ``new`` to a base id with the same canonical key.

    Specials match a base special with the same string first, else one sharing a role (in the
    order bos, eos, unk, pad, mask, sep, cls). Base ids ≥ ``base_rows`` are never used. Ids in
    ``skip`` are left out of both ``copy`` and ``new`` (the caller's junk).
    """
    rep = base.representatives(base_rows)
    # Among base ids with the key, the one spelled like the new token (Gemma's "<0x41>" and "A"
    # share a key; onto its own vocabulary each must copy itself).
    base_by_string = {s: i for i, s in base.strings.items() if i < base_rows}
    base_by_role: dict[str, int] = {}
    for role, s in base.roles.items():
        k = (True, s, b"")
        if k in rep:
            base_by_role[role] = rep[k]
    skip_set = set(skip)
    copy: dict[int, int] = {}
    needs: list[int] = []
    for i in sorted(new.keys):
        if i in skip_set:
            continue
        key = new.keys[i]
        j = base_by_string.get(new.strings.get(i, ""))
        if j is None or base.keys.get(j) != key:
            j = rep.get(key)
        if j is None and key[0]:
            j = next((base_by_role[r] for r in new.role_of(i) if r in base_by_role), None)
        if j is None:
            needs.append(i)
        else:
            copy[i] = j
    return Matching(copy=copy, new=needs, junk=sorted(skip_set))


def mergekit_keys(vocab: Vocab, special_tokens_map: Mapping[str, Any]) -> dict[int, Any]:
    """mergekit-tokensurgeon's ``normalized_vocabulary`` keys, quirks included
    (design/transplant.md §2).

    Tokens starting with the word-start marker (``Ġ`` for byte-level, ``▁`` for SentencePiece)
    become ``("word_start", rest)``; a token whose string is a value of ``special_tokens_map``
    becomes ``("special", role)``, where every additional special token shares the one role
    ``additional_special_tokens`` so only the last survives; everything else matches by its raw
    string (byte-level ``Ċ`` never matches SentencePiece ``<0x0A>``).
    """
    marker = "\u2581" if vocab.scheme == "sentencepiece" else "\u0120"
    by_string: dict[str, str] = {}
    for role, value in special_tokens_map.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            text = v.get("content") if isinstance(v, dict) else v
            if isinstance(text, str):
                by_string[text] = role
    keys: dict[int, Any] = {}
    seen_special: dict[str, int] = {}
    for i in sorted(vocab.strings):
        s = vocab.strings[i]
        if s in by_string:
            role = by_string[s]
            if role in seen_special:  # the quirk: a later token with the same role replaces it
                del keys[seen_special[role]]
            seen_special[role] = i
            keys[i] = ("special", role)
        elif s.startswith(marker):
            keys[i] = ("word_start", s[len(marker) :])
        else:
            keys[i] = ("raw", s)
    return keys
