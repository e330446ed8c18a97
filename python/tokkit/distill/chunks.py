"""Reductions over chunks given as a chunk index per token (``-1``: in no chunk), and the
merging of chunks (design/distill.md §1 and §2): scatter and gather over ``[B, T]``, never
dense token-by-chunk matrices, so memory stays linear in the sequence."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from tokkit.exceptions import ConfigError

__all__ = [
    "MergedChunks",
    "chunk_last",
    "chunk_last_index",
    "chunk_sizes",
    "chunk_sums",
    "drop_masked_chunks",
    "gather_rows",
    "merge_chunks",
    "merge_groups",
]

# --------------------------------------------------------------------------------------------
# Chunk reductions


def _slots(chunks: Tensor, n_chunks: int) -> Tensor:
    """Chunk indices with ``-1`` sent to an extra trash slot ``n_chunks`` (cut off afterwards)."""
    return torch.where(chunks >= 0, chunks, torch.full_like(chunks, n_chunks))


def chunk_sums(values: Tensor, chunks: Tensor, n_chunks: int) -> Tensor:
    """``[B, C]`` sum of ``values[B, T]`` over the tokens of each chunk (``-1`` ignored)."""
    out = values.new_zeros(values.shape[0], n_chunks + 1)
    return out.scatter_add(1, _slots(chunks, n_chunks), values)[:, :n_chunks]


def chunk_sizes(chunks: Tensor, n_chunks: int) -> Tensor:
    """``[B, C]`` number of tokens in each chunk (int64)."""
    return chunk_sums(torch.ones_like(chunks), chunks, n_chunks)


def chunk_last_index(chunks: Tensor, n_chunks: int) -> Tensor:
    """``[B, C]`` index of the last token of each chunk, ``-1`` for an empty chunk."""
    batch, length = chunks.shape
    positions = torch.arange(length, device=chunks.device).expand(batch, length)
    out = torch.full((batch, n_chunks + 1), -1, dtype=torch.long, device=chunks.device)
    # amax rather than "the last write wins": scatter order is undefined on GPUs.
    out = out.scatter_reduce(1, _slots(chunks, n_chunks), positions, "amax", include_self=True)
    return out[:, :n_chunks]


def gather_rows(values: Tensor, index: Tensor) -> Tensor:
    """``values[b, index[b, c], ...]`` for ``values[B, T, ...]`` and ``index[B, C] >= 0``."""
    expanded = index.reshape(*index.shape, *([1] * (values.dim() - 2)))
    expanded = expanded.expand(*index.shape, *values.shape[2:])
    return values.gather(1, expanded)


def chunk_last(values: Tensor, chunks: Tensor, n_chunks: int, fill: float = 0.0) -> Tensor:
    """``[B, C, ...]`` value of ``values[B, T, ...]`` at the last token of each chunk.

    Empty chunks get ``fill``.
    """
    last = chunk_last_index(chunks, n_chunks)
    picked = gather_rows(values, last.clamp(min=0))
    present = (last >= 0).reshape(*last.shape, *([1] * (values.dim() - 2)))
    return torch.where(present, picked, torch.full_like(picked, fill))



def drop_masked_chunks(
    teacher_chunks: Tensor,
    student_chunks: Tensor,
    n_chunks: int,
    teacher_loss_mask: Tensor | None = None,
    student_loss_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Apply loss masks: every chunk holding a masked-out token (either side) becomes ``-1``.

    A chunk is compared only whole: dropping some of its tokens would compare the likelihoods
    of different texts. (tokenkit drops the masked tokens alone.)
    """

    def bad(chunks: Tensor, mask: Tensor | None) -> Tensor:
        if mask is None:
            return torch.zeros(chunks.shape[0], n_chunks, dtype=torch.bool, device=chunks.device)
        out = (mask == 0) & (chunks >= 0)
        return chunk_sums(out.long(), chunks, n_chunks) > 0

    dropped = bad(teacher_chunks, teacher_loss_mask) | bad(student_chunks, student_loss_mask)

    def apply(chunks: Tensor) -> Tensor:
        hit = dropped.gather(1, chunks.clamp(min=0)) & (chunks >= 0)
        return torch.where(hit, torch.full_like(chunks, -1), chunks)

    return apply(teacher_chunks), apply(student_chunks)




# --------------------------------------------------------------------------------------------
# Merging (merge_by_space_prob, design/distill.md §2)


def merge_groups(teacher_sigma: Tensor, valid: Tensor, threshold: float) -> Tensor:
    """``[B, C]`` merged-group index of each chunk (``-1`` for invalid chunks).

    The boundary after valid chunk ``c`` is kept where the teacher's ``exp(sigma_c) > threshold``;
    it is always kept before an invalid chunk and after the row's last valid chunk, so that a
    group never spans text that is not compared. Groups are numbered ``0..G-1`` along the row.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"merge threshold must be in [0, 1], got {threshold}")
    # Compared in log space: exp(sigma) underflows to 0 for sigma < -104 in float32, which
    # would make threshold 0 merge chunks whose boundary probability is tiny but positive.
    cut = -math.inf if threshold == 0.0 else math.log(threshold)
    next_invalid = torch.cat([~valid[:, 1:], valid.new_ones(valid.shape[0], 1)], dim=1)
    close = valid & ((teacher_sigma > cut) | next_invalid)
    closes = close.long()
    before = closes.cumsum(1) - closes
    return torch.where(valid, before, torch.full_like(before, -1))


class MergedChunks(NamedTuple):
    """Chunk values after :func:`merge_chunks`; index ``g`` is a merged group."""

    teacher_logp: Tensor
    """``[B, C]`` summed teacher L per group (0 past the last group)."""
    student_logp: Tensor
    """``[B, C]`` summed student L per group."""
    teacher_sigma: Tensor
    """``[B, C]`` teacher sigma of each group's last chunk."""
    student_sigma: Tensor
    """``[B, C]`` student sigma of each group's last chunk."""
    valid: Tensor
    """``[B, C]`` bool, True for a non-empty group."""
    groups: Tensor
    """``[B, C]`` group index of each input chunk (``-1`` for invalid chunks)."""


def merge_chunks(
    teacher_logp: Tensor,
    student_logp: Tensor,
    teacher_sigma: Tensor,
    student_sigma: Tensor,
    valid: Tensor,
    threshold: float,
) -> MergedChunks:
    """Merge runs of chunks between kept boundaries (design/distill.md §2; :func:`merge_groups`).

    L values are summed over each group (so ``Σ L`` over valid chunks is conserved) and sigma comes
    from the group's last chunk. The number of groups ``G ≤ C``; outputs keep width ``C``.
    """
    n_chunks = valid.shape[1]
    groups = merge_groups(teacher_sigma, valid, threshold)
    return MergedChunks(
        teacher_logp=chunk_sums(teacher_logp, groups, n_chunks),
        student_logp=chunk_sums(student_logp, groups, n_chunks),
        teacher_sigma=chunk_last(teacher_sigma, groups, n_chunks),
        student_sigma=chunk_last(student_sigma, groups, n_chunks),
        valid=chunk_sizes(groups, n_chunks) > 0,
        groups=groups,
    )
