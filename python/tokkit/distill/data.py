"""Training sequences for distillation: segments of the corpus, tokenized by both sides.

The documents are the ones ``tokkit train`` reads (:mod:`tokkit.corpus`). They are packed in
order into segments of about ``target_bytes`` (a longer document is cut at a whitespace), so that
each side's tokenization, after its context token, fits ``seq_len`` tokens; what runs past is
cut off and left out of every chunk by the alignment. The held-out slice for evaluation is taken
from the end of the documents before packing, so no training segment contains it.

Which segments a micro-batch gets is a pure function of (seed, global micro-batch index): epoch
``e`` visits the segments in a permutation seeded by ``seed + e``. A resumed run, or a run split
over several processes, therefore sees exactly the batches an uninterrupted single-process run
with the same global batch would.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tokkit.exceptions import ConfigError

__all__ = ["Encoded", "Segments", "encode_side", "eval_segments", "heldout_split", "pack"]


def heldout_split(texts: Sequence[str], eval_bytes: int) -> tuple[list[str], list[str]]:
    """Split ``texts`` into (training, held-out): the held-out part is the last documents
    (at most ``eval_bytes``, and at most a fifth of the data; the last document is cut if it
    alone is larger)."""
    total = sum(len(t.encode("utf-8")) for t in texts)
    budget = min(eval_bytes, total // 5)
    heldout: list[str] = []
    train = list(texts)
    while train and budget > 0:
        last = train.pop()
        size = len(last.encode("utf-8"))
        if size <= budget:
            heldout.insert(0, last)
            budget -= size
            continue
        cut = _cut_at_space(last, len(last.encode("utf-8")) - budget)
        train.append(last[:cut])
        heldout.insert(0, last[cut:])
        budget = 0
    return [t for t in train if t], [t for t in heldout if t.strip()]


def _cut_at_space(text: str, byte_pos: int) -> int:
    """A char index near ``byte_pos`` bytes into ``text``, moved to the next whitespace."""
    pos = len(text.encode("utf-8")[:byte_pos].decode("utf-8", errors="ignore"))
    for i in range(pos, min(len(text), pos + 200)):
        if text[i].isspace():
            return i
    return pos


def pack(texts: Sequence[str], target_bytes: int) -> list[str]:
    """Consecutive documents joined into segments of about ``target_bytes`` (documents keep
    their own line endings; JSON-lines records are joined with a blank line)."""
    segments: list[str] = []
    current: list[str] = []
    size = 0
    for text in texts:
        while len(text.encode("utf-8")) > target_bytes:
            cut = _cut_at_space(text, target_bytes - size) if size < target_bytes else 0
            if cut == 0:
                break
            current.append(text[:cut])
            segments.append(_join(current))
            current, size, text = [], 0, text[cut:]
        current.append(text)
        size += len(text.encode("utf-8"))
        if size >= target_bytes:
            segments.append(_join(current))
            current, size = [], 0
    if current and _join(current).strip():
        segments.append(_join(current))
    return [s for s in segments if s.strip()]


def _join(parts: list[str]) -> str:
    return "".join(p if p.endswith("\n") else p + "\n\n" for p in parts[:-1]) + parts[-1]


#: Held-out documents are scored in segments of about this size (plain-text documents are lines,
#: which alone would give the models almost no context).
EVAL_SEGMENT_BYTES = 4096


def eval_segments(texts: Sequence[str]) -> list[str]:
    """The held-out documents as :func:`tokkit.score.score_model` gets them."""
    return pack(texts, EVAL_SEGMENT_BYTES)


@dataclass(frozen=True)
class Encoded:
    """One side's token ids of every segment, each after the side's context token (if any)
    and cut to ``seq_len``."""

    ids: list[list[int]]
    cut: int  # segments that ran past seq_len

    def __len__(self) -> int:
        return len(self.ids)


def encode_side(
    tokenizer: Any, segments: Sequence[str], context: int | None, seq_len: int
) -> Encoded:
    """Token ids of ``segments`` under ``tokenizer`` (no specials added), after ``context``."""
    head = [] if context is None else [context]
    rows = tokenizer(list(segments), add_special_tokens=False)["input_ids"]
    ids = [(head + list(r))[:seq_len] for r in rows]
    cut = sum(len(head) + len(r) > seq_len for r in rows)
    return Encoded(ids, cut)


def bytes_per_token(tokenizer: Any, texts: Sequence[str]) -> float:
    """Average bytes per token of ``tokenizer`` on ``texts`` (a sample is enough)."""
    rows = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    n_tokens = sum(len(r) for r in rows)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    return n_bytes / max(n_tokens, 1)


@dataclass(frozen=True)
class Segments:
    """The training segments and the order micro-batches take them in."""

    count: int
    seed: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError(
                "the training data is too short for one sequence",
                hint="give more text with {data}, or a smaller {eval_bytes}",
            )

    def micro_batch(self, index: int, size: int) -> list[int]:
        """The segment indices of global micro-batch ``index`` (``size`` sequences each)."""
        out = []
        for k in range(index * size, (index + 1) * size):
            epoch, pos = divmod(k, self.count)
            out.append(_order(self.count, self.seed, epoch)[pos])
        return out


@functools.lru_cache(maxsize=4)
def _order(count: int, seed: int, epoch: int) -> list[int]:
    order = list(range(count))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order
