"""Export to SentencePiece: a SentencePiece-style BPE ``tokenizer.json`` (characters, ``▁`` for
spaces, optionally byte fallback) as a BPE ``tokenizer.model``, after the checks of
:mod:`tokkit.export` that are SentencePiece's own: the normalizer, the unk token, the byte
pieces, the scores that stand for the merge order.

Named ``to_sentencepiece``, not ``sentencepiece``, so that it is never taken for the
``sentencepiece`` package.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tokkit import _formats
from tokkit.exceptions import ExportError
from tokkit.export import (
    MODEL_FILE,
    Built,
    added_tokens,
    check_bpe_model,
    live_merges,
    merge_order,
    merge_pairs,
    spm_proto,
)

_SPACE = "\u2581"  # SentencePiece's visible space
_BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")
_NAMES = {
    "bos": ("<bos>", "<s>", "<|begin_of_text|>"),
    "eos": ("<eos>", "</s>", "<|end_of_text|>", "<|endoftext|>"),
    "pad": ("<pad>", "<|pad|>"),
}


def _sentencepiece_normalizer(data: Any) -> bool:
    """Whether spaces become ``▁`` (the only normalization the export writes)."""
    norm = data.get("normalizer")
    steps = norm.get("normalizers", []) if norm and norm.get("type") == "Sequence" else [norm]
    steps = [s for s in steps if s]
    replace = {"type": "Replace", "pattern": {"String": " "}, "content": _SPACE}
    if any(s.get("type") == "Prepend" for s in steps):
        raise ExportError(
            "its normalizer prepends ▁ (add_dummy_prefix); tokenizers does that to each piece "
            "between added tokens, SentencePiece once per text"
        )
    if steps not in ([], [replace]):
        kinds = " + ".join(str(s.get("type")) for s in steps)
        raise ExportError(
            f"its normalizer is {kinds}; the export can only turn spaces into ▁ (Replace ' ' → '▁')"
        )
    escape = bool(steps)
    pre = data.get("pre_tokenizer")
    # After spaces became ▁ a split on " " finds nothing: Gemma's pre-tokenizer does nothing.
    harmless = pre is None or (
        escape
        and pre.get("type") == "Split"
        and pre.get("pattern") == {"String": " "}
        and not pre.get("invert")
    )
    if not harmless:
        raise ExportError(
            f"its pre-tokenizer is {pre.get('type')}; SentencePiece BPE does not split the text "
            "before merging"
        )
    return escape


def _is_byte_level(data: Any) -> bool:
    """Whether a ByteLevel step pre-tokenizes or decodes (GPT-2-style byte-level BPE)."""
    text = json.dumps([data.get("pre_tokenizer"), data.get("decoder")])
    return '"ByteLevel"' in text


def build(data: Any) -> Built:
    """The ``tokenizer.model`` of a SentencePiece-style BPE, after every check of the
    :mod:`tokkit.export` docstring but the probe.

    Raises:
        ExportError: A condition fails.
    """
    if _is_byte_level(data):
        raise ExportError(
            "it is byte-level BPE (GPT-2 style); SentencePiece merges characters, not bytes, so "
            "it cannot hold these tokens",
            hint="export it with format tiktoken instead",
        )
    model = check_bpe_model(data, byte_level=False)
    if model.get("ignore_merges"):
        raise ExportError("its BPE has ignore_merges=true; SentencePiece always merges")
    escape = _sentencepiece_normalizer(data)
    added = added_tokens(data)
    byte_fallback = bool(model.get("byte_fallback"))
    unk = model.get("unk_token")
    if unk is None or unk not in model["vocab"]:
        raise ExportError("it has no unk token; a SentencePiece model needs one")
    if not byte_fallback and not model.get("fuse_unk"):
        # SentencePiece joins a run of unknown characters into one unknown piece.
        raise ExportError(
            "it gives each unknown character its own unk token (fuse_unk=false, no byte "
            "fallback); SentencePiece gives a run of them one"
        )
    for text, (_, special) in added.items():
        if not special and (" " in text or _SPACE in text):
            raise ExportError(
                f"added token {text!r} holds a space; tokenizers matches it before spaces "
                "become ▁, SentencePiece after"
            )
    vocab = {t: int(i) for t, i in model["vocab"].items()}
    bytes_ = {t for t in vocab if _BYTE_PIECE.fullmatch(t)} if byte_fallback else set()
    if byte_fallback and len(bytes_) < 256:
        raise ExportError(f"only {len(bytes_)} of the 256 <0xNN> byte tokens are in it")
    normal = {t: i for t, i in vocab.items() if t not in added and t not in bytes_ and t != unk}
    merges = live_merges(normal, merge_pairs(model), added)
    order = merge_order.token_order(normal, merges)
    for token in normal:
        for c in token:
            if c not in normal and c not in added:
                raise ExportError(
                    f"{c!r} is in token {token!r} but is no token itself; SentencePiece would "
                    "merge it where tokenizers falls back to bytes"
                )
    # SentencePiece joins the piece with the highest score: the merged tokens in merge order,
    # then the tokens no merge makes (by id), as _pieces scores them.
    token_rank = {t: len(order.merged) + i for t, i in normal.items()}
    token_rank.update({t: i for i, t in enumerate(order.merged)})
    gaps = merge_order.check(token_rank, order, engine="SentencePiece", whole_pieces=False)
    pieces = _pieces(vocab, normal, order, added, bytes_, unk)
    ids = {
        role: next((added[n][0] for n in names if n in added), -1) for role, names in _NAMES.items()
    }
    spec = spm_proto.Spec(
        unk_id=vocab[unk],
        bos_id=ids["bos"],
        eos_id=ids["eos"],
        pad_id=ids["pad"],
        byte_fallback=byte_fallback,
        escape_whitespaces=escape,
    )
    proto = spm_proto.model_proto(pieces, spec)
    encode = None
    if _formats.has_module("sentencepiece"):
        import sentencepiece

        sp = sentencepiece.SentencePieceProcessor(model_proto=proto)

        def encode(text: str) -> list[int]:
            """The export's ids, without BOS/EOS."""
            return list(sp.encode(text, out_type=int))

    return Built({MODEL_FILE: proto}, gaps, encode)


def _pieces(
    vocab: Mapping[str, int],
    normal: Mapping[str, int],
    order: merge_order.TokenOrder,
    added: Mapping[str, tuple[int, bool]],
    bytes_: set[str],
    unk: str,
) -> list[spm_proto.Piece]:
    """Every id's piece. A merged token scores minus its merge position (SentencePiece joins the
    pair whose piece scores highest); single characters and tokens no merge makes score below
    them all (they are never the result of a join). float32 holds these integers exactly."""
    score = {t: -float(i) for i, t in enumerate(order.merged)}
    floor = -float(len(order.merged))
    by_id: dict[int, spm_proto.Piece] = {}
    for text, i in vocab.items():
        if text in added:
            kind = spm_proto.CONTROL if added[text][1] else spm_proto.USER_DEFINED
            piece = spm_proto.Piece(text, 0.0, spm_proto.UNKNOWN if text == unk else kind)
        elif text == unk:
            piece = spm_proto.Piece(text, 0.0, spm_proto.UNKNOWN)
        elif text in bytes_:
            piece = spm_proto.Piece(text, 0.0, spm_proto.BYTE)
        else:
            piece = spm_proto.Piece(text, score.get(text, floor - normal[text]), spm_proto.NORMAL)
        by_id[i] = piece
    for text, (i, special) in added.items():
        if i not in by_id:
            kind = spm_proto.CONTROL if special else spm_proto.USER_DEFINED
            by_id[i] = spm_proto.Piece(text, 0.0, kind)
    missing = sorted(set(range(max(by_id) + 1)) - set(by_id))
    if missing:
        raise ExportError(
            f"{len(missing)} ids have no token (first: {missing[0]}); SentencePiece ids are "
            "positions in a list without holes"
        )
    return [by_id[i] for i in range(len(by_id))]
