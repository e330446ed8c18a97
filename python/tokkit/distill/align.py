"""Exact alignment of teacher and student tokenizations for ALM distillation
(design/distill.md §1; properties in design/distill.md §6).

Teacher and student tokenize the same text with different tokenizers. A *chunk* is a pair of
token spans, one per side, whose joined bytes are equal; the chunks are the shortest such spans
(every byte offset where both sides end a token closes one). :func:`align` gives every token of a
batch row its chunk index, ``0..n_chunks-1`` and monotone along the row, or ``-1`` for a token in
no chunk (padding, an unmatched special token, the tail of a row the other side does not reach,
a chunk whose bytes differ). The arrays are the per-token chunk indices ``tokkit.distill.losses``
takes; they share their memory with ``torch.from_numpy``.

>>> teacher, student = pair_vocabs(teacher_tokenizer, student_tokenizer)  # doctest: +SKIP
>>> a = align(teacher, [[2, 9259, 1902]], student, [[1, 19556, 905]])    # doctest: +SKIP
>>> check_alignable(a)                                                    # doctest: +SKIP

Special tokens carry no bytes; each gets a *code* shared by the two vocabularies
(:func:`special_codes`), and two specials with the same code that meet at a chunk boundary form a
chunk of their own (Gemma ``<bos>`` ↔ SmolLM2 ``<|im_start|>``, both the ``bos`` role). The work
runs in Rust (``tokkit._tokkit.align_batch``), in parallel, with the GIL released.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tokkit._tokkit import AlignVocab, align_batch
from tokkit.exceptions import ConfigError
from tokkit.vocab import ROLES, Vocab, vocab_from_hf

__all__ = [
    "AlignVocab",
    "Alignment",
    "align",
    "align_vocab",
    "check_alignable",
    "pair_vocabs",
    "special_codes",
]

Rows = Sequence[Sequence[int]] | npt.NDArray[np.integer]


def special_codes(teacher: Vocab, student: Vocab) -> tuple[dict[int, int], dict[int, int]]:
    """id → code for the special tokens of both vocabularies; equal codes match.

    Specials of the same role (``bos``, ``eos``, ... in the order of :data:`tokkit.vocab.ROLES`)
    share a code; of the rest, specials with the same string do; every other special gets a code
    of its own. A token with several roles (SmolLM2's ``<|im_end|>`` is ``eos`` and ``pad``)
    matches through its first role only, since one id has one code.
    """
    t_codes: dict[int, int] = {}
    s_codes: dict[int, int] = {}
    t_by_string, s_by_string = _specials_by_string(teacher), _specials_by_string(student)
    next_code = 0

    def uncoded(by_string: dict[str, list[int]], codes: dict[int, int], string: str) -> list[int]:
        return [i for i in by_string.get(string, []) if i not in codes]

    def give(t_ids: list[int], s_ids: list[int]) -> None:
        nonlocal next_code
        t_codes.update(dict.fromkeys(t_ids, next_code))
        s_codes.update(dict.fromkeys(s_ids, next_code))
        next_code += 1

    for role in ROLES:
        t_string, s_string = teacher.roles.get(role), student.roles.get(role)
        if t_string is None or s_string is None:
            continue
        t_ids = uncoded(t_by_string, t_codes, t_string)
        s_ids = uncoded(s_by_string, s_codes, s_string)
        if t_ids and s_ids:  # a token already matched through an earlier role stays so
            give(t_ids, s_ids)
    # Then by string; what is left gets a code of its own (it matches nothing).
    for string in (*t_by_string, *s_by_string):
        t_ids = uncoded(t_by_string, t_codes, string)
        s_ids = uncoded(s_by_string, s_codes, string)
        if t_ids or s_ids:
            give(t_ids, s_ids)
    return t_codes, s_codes


def _specials_by_string(vocab: Vocab) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i in sorted(vocab.special_ids):
        out.setdefault(vocab.strings.get(i, ""), []).append(i)
    return out


def align_vocab(vocab: Vocab, codes: dict[int, int]) -> AlignVocab:
    """The :class:`AlignVocab` of ``vocab``: regular tokens (added non-special ones included)
    with their raw bytes, specials with their code from ``codes``; ids the tokenizer does not
    define get no bytes."""
    pieces: list[bytes] = []
    special: list[int] = []
    for i in range(vocab.size):
        key = vocab.keys.get(i)
        if i in codes:
            pieces.append(b"")
            special.append(codes[i])
        else:
            pieces.append(b"" if key is None or key[0] else key[2])
            special.append(-1)
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in pieces], out=offsets[1:])
    return AlignVocab(offsets, b"".join(pieces), special)


def pair_vocabs(teacher_tokenizer: Any, student_tokenizer: Any) -> tuple[AlignVocab, AlignVocab]:
    """The alignment vocabularies of two ``transformers`` fast tokenizers, with shared special
    codes (:func:`special_codes`)."""
    teacher, student = vocab_from_hf(teacher_tokenizer), vocab_from_hf(student_tokenizer)
    t_codes, s_codes = special_codes(teacher, student)
    return align_vocab(teacher, t_codes), align_vocab(student, s_codes)


@dataclass
class Alignment:
    """The chunks of a batch of row pairs.

    Attributes:
        teacher_chunks: ``[B, teacher_len]`` int64 chunk index per teacher token, ``-1`` for a
            token in no chunk and for padding.
        student_chunks: ``[B, student_len]`` int64, the same for the student.
        n_chunks: ``[B]`` int64 chunks per row.
        mismatched: chunks dropped in the whole batch because their bytes differ.
        teacher_lengths: ``[B]`` int64 teacher row lengths before padding.
        student_lengths: ``[B]`` int64 student row lengths before padding.
    """

    teacher_chunks: npt.NDArray[np.int64]
    student_chunks: npt.NDArray[np.int64]
    n_chunks: npt.NDArray[np.int64]
    mismatched: int
    teacher_lengths: npt.NDArray[np.int64]
    student_lengths: npt.NDArray[np.int64]


def _as_rows(ids: Rows) -> Sequence[Sequence[int]]:
    # A numpy batch as lists: the native call reads Python ints fastest.
    return ids.tolist() if isinstance(ids, np.ndarray) else ids


def align(
    teacher: AlignVocab,
    teacher_ids: Rows,
    student: AlignVocab,
    student_ids: Rows,
    *,
    teacher_len: int | None = None,
    student_len: int | None = None,
    num_threads: int | None = None,
) -> Alignment:
    """Align each teacher row with the student row of the same text.

    Args:
        teacher: The teacher's vocabulary (:func:`pair_vocabs`).
        teacher_ids: Teacher token ids, one unpadded row per text.
        student: The student's vocabulary.
        student_ids: Student token ids, one unpadded row per text, as many rows as the teacher.
        teacher_len: Padded length of ``teacher_chunks`` (default: the longest teacher row).
        student_len: Padded length of ``student_chunks`` (default: the longest student row).
        num_threads: Worker threads (default: ``TOKKIT_NUM_THREADS``, else every core).

    Raises:
        ConfigError: The row counts differ, a row is longer than its length, or an id is
            outside its vocabulary.
    """
    t_rows, s_rows = _as_rows(teacher_ids), _as_rows(student_ids)
    t_lengths = np.array([len(r) for r in t_rows], dtype=np.int64)
    s_lengths = np.array([len(r) for r in s_rows], dtype=np.int64)
    if teacher_len is None:
        teacher_len = int(t_lengths.max(initial=0))
    if student_len is None:
        student_len = int(s_lengths.max(initial=0))
    t_chunks, s_chunks, n_chunks, mismatched = align_batch(
        teacher, t_rows, student, s_rows, teacher_len, student_len, num_threads
    )
    return Alignment(t_chunks, s_chunks, n_chunks, mismatched, t_lengths, s_lengths)


def check_alignable(alignment: Alignment, *, max_mismatch_fraction: float = 0.5) -> None:
    """Refuse a tokenizer pair whose alignment shows that they do not tokenize the same bytes.

    Raises:
        ConfigError: A row with tokens on both sides exists but no chunk survives in the whole
            batch, or more than ``max_mismatch_fraction`` of the chunks have differing bytes.
    """
    kept = int(alignment.n_chunks.sum())
    total = kept + alignment.mismatched
    hint = (
        "the tokenizers normalise text differently (lowercasing, Unicode normalisation, a "
        "dummy prefix space); distill between tokenizers that decode to the same bytes"
    )
    has_text = bool(np.any((alignment.teacher_lengths > 0) & (alignment.student_lengths > 0)))
    if has_text and kept == 0:
        raise ConfigError(
            f"no aligned chunk in a batch of {len(alignment.n_chunks)} rows "
            f"({alignment.mismatched} chunks with differing bytes)",
            hint=hint,
        )
    if total and alignment.mismatched > max_mismatch_fraction * total:
        raise ConfigError(
            f"{alignment.mismatched} of {total} aligned chunks have differing bytes, more than "
            f"max_mismatch_fraction={max_mismatch_fraction}",
            hint=f"{hint}, or raise {{max_mismatch_fraction}}",
        )
