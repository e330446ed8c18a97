"""The few fields of SentencePiece's ``ModelProto`` that a BPE ``tokenizer.model`` needs, written
straight in the protobuf wire format, so exporting needs neither ``protobuf`` nor generated code.

Field numbers are those of ``sentencepiece_model.proto`` (checked by loading the result in the
``sentencepiece`` package in ``tests/export``). proto2 defaults that differ from what we mean
(``add_dummy_prefix``, ``remove_extra_whitespaces``: true; ``bos_id`` 1, ``eos_id`` 2) are
always written out.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

#: ``SentencePiece.Type`` values.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, BYTE = 1, 2, 3, 4, 6
#: ``TrainerSpec.ModelType.BPE``.
MODEL_BPE = 2


@dataclass(frozen=True)
class Piece:
    """One vocabulary entry; its id is its position in the model."""

    text: str
    score: float
    type: int


@dataclass(frozen=True)
class Spec:
    """What the model says besides its pieces: special ids (-1: none), byte fallback and the
    whitespace handling of the normalizer (no other normalization: the ``identity`` rule)."""

    unk_id: int
    bos_id: int
    eos_id: int
    pad_id: int
    byte_fallback: bool
    escape_whitespaces: bool


def _varint(value: int) -> bytes:
    """Base-128 varint, low group first."""
    if 0 <= value < 0x80:  # most lengths and every tag and type: one byte
        return bytes((value,))
    value &= (1 << 64) - 1  # negative int32 values take ten bytes, as protobuf writes them
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    """A varint field (int32, bool, enum)."""
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes) -> bytes:
    """A length-delimited field (string, bytes, nested message)."""
    return _varint(field << 3 | 2) + _varint(len(value)) + value


def model_proto(pieces: Sequence[Piece], spec: Spec) -> bytes:
    """The serialized ``ModelProto`` of a BPE model with these pieces."""
    out = bytearray()
    pack = struct.Struct("<f").pack
    for piece in pieces:
        # SentencePiece { piece = 1; score = 2; type = 3 }, inlined: a model has 10^5+ pieces.
        text = piece.text.encode("utf-8")
        body = b"\x0a" + _varint(len(text)) + text + b"\x15" + pack(piece.score)
        body += b"\x18" + bytes((piece.type,))
        out += b"\x0a" + _varint(len(body)) + body
    trainer = (
        _int(3, MODEL_BPE)
        + _int(4, len(pieces))
        + _int(35, int(spec.byte_fallback))
        + _int(40, spec.unk_id)
        + _int(41, spec.bos_id)
        + _int(42, spec.eos_id)
        + _int(43, spec.pad_id)
    )
    for field, piece_id in ((45, spec.unk_id), (46, spec.bos_id), (47, spec.eos_id)):
        if piece_id >= 0:
            trainer += _bytes(field, pieces[piece_id].text.encode("utf-8"))
    if spec.pad_id >= 0:
        trainer += _bytes(48, pieces[spec.pad_id].text.encode("utf-8"))
    out += _bytes(2, trainer)
    normalizer = (
        _bytes(1, b"identity")
        + _int(3, 0)  # add_dummy_prefix
        + _int(4, 0)  # remove_extra_whitespaces
        + _int(5, int(spec.escape_whitespaces))
    )
    out += _bytes(3, normalizer)
    return bytes(out)
