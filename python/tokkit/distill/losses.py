"""ALM cross-tokenizer distillation losses and their companions, in PyTorch (design/distill.md §2).

The alignment (Rust) gives every token of a batch row the index of the aligned text chunk it
belongs to: ``teacher_chunks[b, i]`` and ``student_chunks[b, j]`` in ``0..C-1``, monotone along
the row, or ``-1`` for a token in no chunk (padding, unmatched specials, tokens a caller dropped).
Everything here works on that representation with scatter/gather, never with dense
token-by-chunk matrices, so memory stays ``O(B·T + B·C)`` beyond the logits.

Conventions shared by every function:

- **Shift.** The log-likelihood of token ``i``, ``log p(ids[i] | ids[<i])``, is read from the
  logits at position ``i-1``; token 0 has none and contributes 0.
- **Debiasing** ("append_space", design/distill.md §2). ``sigma_c`` is the log-probability,
  read at the *last* token of chunk ``c``, that the next token starts at a boundary (a token
  whose bytes start with a space, newline or tab, or a special token). A chunk's score is
  ``L_c + sigma_c``.
- **Valid chunks.** A chunk counts when both sides have at least one token with a likelihood
  (index ≥ 1) in it. Other chunks get weight 0 and a harmless finite fill, so that no ``inf`` or
  ``nan`` can reach a gradient through a masked entry.
- **Global denominators** (design/distill.md §3). Each loss returns ``Σ (weight · term) / D``,
  where ``D`` is the weight total of the whole optimiser step: all micro-batches and all
  data-parallel ranks. A trainer computes ``D`` up front with :func:`alm_weight`,
  :func:`sft_denominator` or :func:`latent_denominator` (all-reducing it across ranks) and
  passes it; summing the
  micro-batch losses then gives exactly the full-batch loss. Without ``D`` the local total is
  used.
- **The teacher is a target.** Teacher inputs are detached here, so nothing needs teacher
  gradients (running the teacher under ``torch.no_grad`` is still the caller's job, to save the
  activations).

``torch`` is imported at module level: this module is only imported by code that trains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple, get_args

import torch
from torch import Tensor, nn

from tokkit.distill.chunks import (
    MergedChunks,
    chunk_last,
    chunk_last_index,
    chunk_sizes,
    chunk_sums,
    drop_masked_chunks,
    gather_rows,
    merge_chunks,
    merge_groups,
)
from tokkit.distill.config import DIVERGENCES, Divergence
from tokkit.distill.divergences import EPSILON, alm_divergence, log1mexp
from tokkit.distill.gradmag import combine, gradmag_weights, loss_grad_norms
from tokkit.exceptions import ConfigError
from tokkit.vocab import Vocab

__all__ = [
    "DIVERGENCES",
    "EPSILON",
    "MASKED_LOGIT",
    "ChunkWeight",
    "Divergence",
    "LatentProjector",
    "MergedChunks",
    "alm_divergence",
    "alm_loss",
    "alm_weight",
    "chunk_last",
    "chunk_last_index",
    "chunk_sizes",
    "chunk_space_logprobs",
    "chunk_sums",
    "combine",
    "drop_masked_chunks",
    "gradmag_weights",
    "latent_denominator",
    "latent_loss",
    "log1mexp",
    "loss_grad_norms",
    "masked_log_softmax",
    "merge_chunks",
    "merge_groups",
    "sft_denominator",
    "sft_loss",
    "space_logprobs",
    "space_mask_of",
    "token_logprobs",
]


ChunkWeight = Literal["chunk_count", "tokens"]

MASKED_LOGIT = -1e9
"""The logit given to ids that must get no probability. Finite, unlike ``-inf``, so that a row
with every id masked still has a finite log-softmax, and sums of a few such values stay finite
in float32."""

_SPACE_BYTES = (b" ", b"\n", b"\t")


# --------------------------------------------------------------------------------------------
# Log-probabilities


def _masked_fp32(
    logits: Tensor, vocab_size: int | None, invalid_ids: Tensor | Sequence[int] | None
) -> Tensor:
    """Logits in float32 with ids ``>= vocab_size`` and ``invalid_ids`` set to MASKED_LOGIT."""
    # bf16 logits lose too much in a softmax over 100k+ ids; the spec asks for fp32.
    x = logits.float()
    width = x.shape[-1]
    if vocab_size is None and invalid_ids is None:
        return x
    masked = torch.zeros(width, dtype=torch.bool, device=x.device)
    if vocab_size is not None:
        if vocab_size < 1:
            raise ConfigError(f"vocab_size must be at least 1, got {vocab_size}")
        masked[vocab_size:] = True
    if invalid_ids is not None:
        bad = torch.as_tensor(invalid_ids, dtype=torch.long, device=x.device).reshape(-1)
        if bad.numel():
            if int(bad.min()) < 0:
                raise ConfigError(f"invalid_ids must be non-negative, got {int(bad.min())}")
            # Ids past the logits width have no logit to mask.
            masked[bad[bad < width]] = True
    if bool(masked.all()):
        raise ConfigError("every id is masked (vocab_size / invalid_ids leave no logit)")
    return x.masked_fill(masked, MASKED_LOGIT)


def masked_log_softmax(
    logits: Tensor,
    *,
    vocab_size: int | None = None,
    invalid_ids: Tensor | Sequence[int] | None = None,
) -> Tensor:
    """Float32 log-softmax over the last axis after masking padded and invalid ids.

    Args:
        logits: ``[..., V]`` in any float dtype; cast to float32 first.
        vocab_size: The real vocabulary size; ids ``>= vocab_size`` (padded embedding rows) get
            :data:`MASKED_LOGIT`. ``None`` masks nothing.
        invalid_ids: Further ids to mask (junk rows, ids the tokenizer never emits).
    """
    return torch.log_softmax(_masked_fp32(logits, vocab_size, invalid_ids), dim=-1)


def _shifted_gather(x: Tensor, lse: Tensor, ids: Tensor) -> Tensor:
    """``log p(ids[:, i] | ids[:, <i])`` from masked fp32 logits ``x`` and their logsumexp."""
    # Negative ids (-100 padding labels) would make gather fail; they must be in no chunk and
    # no loss mask, so their value is never read.
    target = ids[:, 1:].clamp(min=0)
    picked = x[:, :-1].gather(-1, target.unsqueeze(-1)).squeeze(-1) - lse[:, :-1]
    first = picked.new_zeros(picked.shape[0], 1)
    # Clamped because a log-probability is ≤ 0; rounding can push a certain token a hair above.
    return torch.cat([first, picked.clamp(max=0.0)], dim=1)


def token_logprobs(
    logits: Tensor,
    ids: Tensor,
    *,
    vocab_size: int | None = None,
    invalid_ids: Tensor | Sequence[int] | None = None,
) -> Tensor:
    """``[B, T]`` log-likelihood of each token under the shift convention (position 0 → 0).

    Args:
        logits: ``[B, T, V]``; the logits at position ``i-1`` score token ``i``.
        ids: ``[B, T]`` token ids. Negative ids (padding labels) are allowed at positions
            that no loss reads.
        vocab_size, invalid_ids: As for :func:`masked_log_softmax`.
    """
    x = _masked_fp32(logits, vocab_size, invalid_ids)
    return _shifted_gather(x, x.logsumexp(-1), ids)


def _space_bool(space_mask: Tensor, width: int, device: torch.device) -> Tensor:
    """The space mask as a bool ``[width]`` tensor on ``device``, padded with False."""
    mask = torch.as_tensor(space_mask, device=device).to(torch.bool).reshape(-1)
    if mask.shape[0] > width:
        if bool(mask[width:].any()):
            raise ConfigError(
                f"space_mask marks ids ≥ {width}, beyond the logits width {width}",
                hint="build it with {size} equal to the model's vocabulary",
            )
        mask = mask[:width]
    elif mask.shape[0] < width:
        # Padded embedding rows are never boundary tokens.
        mask = torch.cat([mask, mask.new_zeros(width - mask.shape[0])])
    if not bool(mask.any()):
        raise ConfigError("space_mask marks no token, so every boundary probability is 0")
    return mask


def _space_from_masked(x: Tensor, lse: Tensor, space: Tensor) -> Tensor:
    """sigma from masked fp32 logits ``x`` ``[..., V]``, their logsumexp and a bool space mask."""
    sigma = x.masked_fill(~space, MASKED_LOGIT).logsumexp(-1) - lse
    return sigma.clamp(max=0.0)


def space_logprobs(
    logits: Tensor,
    space_mask: Tensor,
    *,
    vocab_size: int | None = None,
    invalid_ids: Tensor | Sequence[int] | None = None,
) -> Tensor:
    """sigma at every position: ``log Σ_{v ∈ space} p(v | prefix)`` (``[...]`` from ``[..., V]``).

    The value at position ``i`` is the probability that the token *after* token ``i`` starts
    at a boundary. It is ≤ 0.

    Args:
        logits: ``[..., V]``.
        space_mask: Bool ``[V']`` (see :func:`space_mask_of`); padded with False up to ``V``.
        vocab_size, invalid_ids: As for :func:`masked_log_softmax`; masked ids never count.
    """
    x = _masked_fp32(logits, vocab_size, invalid_ids)
    return _space_from_masked(x, x.logsumexp(-1), _space_bool(space_mask, x.shape[-1], x.device))


def space_mask_of(
    tokens: Vocab | Mapping[int, tuple[bool, str, bytes]] | Sequence[tuple[bool, bytes]],
    size: int | None = None,
) -> Tensor:
    """Bool ``[size]`` mask of the tokens that start at a boundary (design/distill.md §2).

    A token is marked when its raw bytes start with a space, a newline or a tab, or when it is
    special (``space+tab+newline+special``). Ids absent from ``tokens`` are False.

    Args:
        tokens: A :class:`tokkit.vocab.Vocab` (e.g. from :func:`tokkit.vocab.vocab_from_hf`), a
            mapping id → ``(is_special, name, raw_bytes)``, or a sequence indexed by id of
            ``(is_special, raw_bytes)``.
        size: Length of the mask, typically the model's (padded) vocabulary; default one more
            than the largest id. Ids ``>= size`` are left out.
    """
    items: list[tuple[int, bool, bytes]]
    if isinstance(tokens, Vocab):
        items = [(i, key[0], key[2]) for i, key in tokens.keys.items()]
    elif isinstance(tokens, Mapping):
        items = [(int(i), bool(key[0]), bytes(key[-1])) for i, key in tokens.items()]
    else:
        items = [(i, bool(key[0]), bytes(key[1])) for i, key in enumerate(tokens)]
    if size is None:
        size = max((i for i, _, _ in items), default=-1) + 1
    mask = torch.zeros(size, dtype=torch.bool)
    for i, special, raw in items:
        if 0 <= i < size and (special or raw[:1] in _SPACE_BYTES):
            mask[i] = True
    return mask


def chunk_space_logprobs(
    logits: Tensor,
    chunks: Tensor,
    n_chunks: int,
    space_mask: Tensor,
    *,
    vocab_size: int | None = None,
    invalid_ids: Tensor | Sequence[int] | None = None,
) -> Tensor:
    """``[B, C]`` sigma_c: :func:`space_logprobs` at the last token of each chunk (0 if empty).

    Computes the softmax only at the chunk ends, not at every position.
    """
    last = chunk_last_index(chunks, n_chunks)
    rows = gather_rows(logits, last.clamp(min=0))
    x = _masked_fp32(rows, vocab_size, invalid_ids)
    sigma = _space_from_masked(x, x.logsumexp(-1), _space_bool(space_mask, x.shape[-1], x.device))
    return torch.where(last >= 0, sigma, torch.zeros_like(sigma))

def _scored(chunks: Tensor) -> Tensor:
    """Chunks of the tokens that carry a likelihood: token 0 is taken out."""
    out = chunks.clone()
    out[:, 0] = -1
    return out

def _valid_and_counts(
    teacher_chunks: Tensor, student_chunks: Tensor, n_chunks: int
) -> tuple[Tensor, Tensor]:
    """Valid chunks (a scored token on both sides) and the teacher's scored-token counts."""
    teacher_count = chunk_sizes(_scored(teacher_chunks), n_chunks)
    student_count = chunk_sizes(_scored(student_chunks), n_chunks)
    return (teacher_count > 0) & (student_count > 0), teacher_count


# --------------------------------------------------------------------------------------------
# ALM loss (design/distill.md §2 and §3)


_CHUNK_WEIGHTS: tuple[str, ...] = get_args(ChunkWeight)


def _check_chunks(n_chunks: int | None, *chunks: Tensor) -> int:
    """Validate chunk tensors (one host sync) and return ``n_chunks`` (inferred when None)."""
    stats = torch.stack(
        [torch.stack([c.min(), c.max()]) if c.numel() else c.new_tensor([-1, -1]) for c in chunks]
    ).tolist()
    lowest = min(row[0] for row in stats)
    highest = max(row[1] for row in stats)
    if lowest < -1:
        raise ConfigError(f"chunk indices must be ≥ -1, got {lowest}")
    if n_chunks is None:
        return int(highest) + 1
    if highest >= n_chunks:
        raise ConfigError(f"chunk index {highest} out of range for n_chunks={n_chunks}")
    return n_chunks


def _check_weight(chunk_weight: str) -> None:
    if chunk_weight not in _CHUNK_WEIGHTS:
        raise ConfigError(
            f"unknown chunk_weight {chunk_weight!r}", hint="use chunk_count or tokens"
        )


def _chunk_plan(
    teacher_chunks: Tensor,
    student_chunks: Tensor,
    n_chunks: int,
    teacher_sigma: Tensor | None,
    merge_threshold: float | None,
    chunk_weight: str,
) -> tuple[Tensor, Tensor | None, Tensor]:
    """(valid groups, group index per chunk or None, weight per group), shared by the loss and
    :func:`alm_weight` so that the two always agree."""
    valid, teacher_count = _valid_and_counts(teacher_chunks, student_chunks, n_chunks)
    groups = None
    if merge_threshold is not None:
        if teacher_sigma is None:
            raise ConfigError("merging needs the teacher's chunk-end sigma")
        groups = merge_groups(teacher_sigma, valid, merge_threshold)
        teacher_count = chunk_sums(teacher_count, groups, n_chunks)
        valid = chunk_sizes(groups, n_chunks) > 0
    # tokenkit's token_count weight is the teacher's scored-token count; so is this one.
    weight = valid.float() if chunk_weight == "chunk_count" else teacher_count.float()
    return valid, groups, weight * valid


def alm_weight(
    teacher_chunks: Tensor,
    student_chunks: Tensor,
    n_chunks: int | None = None,
    *,
    chunk_weight: ChunkWeight = "chunk_count",
    merge_threshold: float | None = None,
    teacher_sigma: Tensor | None = None,
) -> Tensor:
    """The local weight total ``Σ_c w_c`` of :func:`alm_loss`, to build the global denominator.

    Sum it over the step's micro-batches and all-reduce it over ranks, then pass it to every
    :func:`alm_loss` call of the step. Apply :func:`drop_masked_chunks` first, as for the loss.

    With ``merge_threshold`` set, the groups depend on the teacher, so the count of
    ``chunk_count`` weights needs ``teacher_sigma`` (:func:`chunk_space_logprobs` of the teacher
    logits, e.g. from a no-grad teacher pass over the step's micro-batches). ``tokens`` weights
    do not change under merging, so they need no sigma.
    """
    _check_weight(chunk_weight)
    n_chunks = _check_chunks(n_chunks, teacher_chunks, student_chunks)
    if merge_threshold is not None and chunk_weight == "tokens":
        merge_threshold = None  # merging moves token counts between groups, never changes Σ
    if merge_threshold is not None and teacher_sigma is None:
        raise ConfigError(
            "with merging, the chunk_count weight total depends on the teacher's sigma",
            hint="pass {teacher_sigma} (chunk_space_logprobs of the teacher logits), or use "
            "{chunk_weight=tokens}",
        )
    _, _, weight = _chunk_plan(
        teacher_chunks, student_chunks, n_chunks, teacher_sigma, merge_threshold, chunk_weight
    )
    return weight.sum()


def _denominator(denominator: Tensor | float | None, local: Tensor) -> Tensor:
    """The given global denominator, else the local total (≥ 1: an empty batch gives 0/1)."""
    if denominator is None:
        return local.clamp(min=1.0)
    if isinstance(denominator, Tensor):
        return denominator.detach().to(device=local.device, dtype=torch.float32)
    if not denominator > 0:
        raise ConfigError(f"denominator must be positive, got {denominator}")
    return torch.tensor(float(denominator), device=local.device)


def alm_loss(
    teacher_logits: Tensor,
    student_logits: Tensor,
    teacher_ids: Tensor,
    student_ids: Tensor,
    teacher_chunks: Tensor,
    student_chunks: Tensor,
    *,
    teacher_space_mask: Tensor,
    student_space_mask: Tensor,
    n_chunks: int | None = None,
    kind: Divergence = "binary_ce",
    temperature: float = 100.0,
    debias: bool = True,
    merge_threshold: float | None = 0.1,
    chunk_weight: ChunkWeight = "chunk_count",
    denominator: Tensor | float | None = None,
    teacher_vocab_size: int | None = None,
    student_vocab_size: int | None = None,
    teacher_invalid_ids: Tensor | Sequence[int] | None = None,
    student_invalid_ids: Tensor | Sequence[int] | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """The ALM loss ``Σ_c w_c · d(Score^T_c, Score^S_c) / D`` of one (micro-)batch
    (design/distill.md §2).

    Chunk log-likelihoods ``L_c`` sum the shifted token log-probabilities of each chunk;
    with ``debias`` the score adds ``sigma_c`` ("append_space"); with ``merge_threshold``
    chunks are merged where the teacher's boundary probability is low before scoring.

    Args:
        teacher_logits, student_logits: ``[B, Tt, Vt]`` and ``[B, Ts, Vs]``, any float dtype.
            The teacher's are detached.
        teacher_ids, student_ids: ``[B, Tt]``, ``[B, Ts]``.
        teacher_chunks, student_chunks: ``[B, Tt]``, ``[B, Ts]`` chunk index per token or -1.
            Apply loss masks with :func:`drop_masked_chunks` first.
        teacher_space_mask, student_space_mask: Bool masks from :func:`space_mask_of`.
        n_chunks: ``C``; default one more than the largest chunk index.
        kind, temperature: The divergence (:func:`alm_divergence`) and its τ.
        debias: Add sigma to both sides' chunk scores ("append_space").
        merge_threshold: Teacher boundary probability above which a chunk boundary is kept
            ("merge_by_space_prob", recipe 0.1); None merges nothing.
        chunk_weight: ``chunk_count`` (1 per chunk) or ``tokens`` (the teacher's scored tokens).
        denominator: ``D``, the weight total of the whole step (see :func:`alm_weight`); None
            uses this batch's total.
        teacher_vocab_size, student_vocab_size, teacher_invalid_ids, student_invalid_ids:
            Ids to mask out of each softmax (:func:`masked_log_softmax`).

    Returns:
        ``(loss, stats)``. ``stats`` holds floats: ``chunks`` (valid chunks after merging),
        ``chunks_unmerged``, ``weight`` (the local weight total), ``teacher_logp`` and
        ``student_logp`` (mean chunk scores).
    """
    _check_shapes("teacher", teacher_logits, teacher_ids, teacher_chunks)
    n_chunks = _check_chunks(n_chunks, teacher_chunks, student_chunks)
    teacher = teacher_scores(
        teacher_logits,
        teacher_ids,
        teacher_chunks,
        n_chunks,
        teacher_space_mask,
        sigma=debias or merge_threshold is not None,
        vocab_size=teacher_vocab_size,
        invalid_ids=teacher_invalid_ids,
    )
    return alm_loss_given_teacher(
        teacher,
        student_logits,
        student_ids,
        teacher_chunks,
        student_chunks,
        student_space_mask=student_space_mask,
        n_chunks=n_chunks,
        kind=kind,
        temperature=temperature,
        debias=debias,
        merge_threshold=merge_threshold,
        chunk_weight=chunk_weight,
        denominator=denominator,
        student_vocab_size=student_vocab_size,
        student_invalid_ids=student_invalid_ids,
    )


class TeacherScores(NamedTuple):
    """The teacher's side of ALM, all it needs to keep of its logits: ``[B, C]`` each."""

    logp: Tensor
    """Chunk log-likelihoods ``L^T_c``."""
    sigma: Tensor | None
    """Chunk-end space log-probabilities (None when neither debiasing nor merging needs them)."""


def _check_shapes(name: str, logits: Tensor, ids: Tensor, chunks: Tensor) -> None:
    if logits.dim() != 3 or logits.shape[:2] != ids.shape or ids.shape != chunks.shape:
        raise ConfigError(
            f"{name} logits {tuple(logits.shape)}, ids {tuple(ids.shape)} and chunks "
            f"{tuple(chunks.shape)} do not match as [B, T, V], [B, T], [B, T]"
        )


def teacher_scores(
    teacher_logits: Tensor,
    teacher_ids: Tensor,
    teacher_chunks: Tensor,
    n_chunks: int,
    space_mask: Tensor,
    *,
    sigma: bool = True,
    vocab_size: int | None = None,
    invalid_ids: Tensor | Sequence[int] | None = None,
) -> TeacherScores:
    """The teacher's chunk scores, without gradient: a trainer computes them for every
    micro-batch of a step first (to count the merged chunks of the global denominator with
    :func:`alm_weight`) and keeps these ``[B, C]`` tensors instead of the logits."""
    _check_shapes("teacher", teacher_logits, teacher_ids, teacher_chunks)
    with torch.no_grad():
        token_logp = token_logprobs(
            teacher_logits.detach(), teacher_ids, vocab_size=vocab_size, invalid_ids=invalid_ids
        )
        logp = chunk_sums(token_logp, teacher_chunks, n_chunks)
        chunk_sigma = (
            chunk_space_logprobs(
                teacher_logits.detach(),
                teacher_chunks,
                n_chunks,
                space_mask,
                vocab_size=vocab_size,
                invalid_ids=invalid_ids,
            )
            if sigma
            else None
        )
    return TeacherScores(logp, chunk_sigma)


def alm_loss_given_teacher(
    teacher: TeacherScores,
    student_logits: Tensor,
    student_ids: Tensor,
    teacher_chunks: Tensor,
    student_chunks: Tensor,
    *,
    student_space_mask: Tensor,
    n_chunks: int | None = None,
    kind: Divergence = "binary_ce",
    temperature: float = 100.0,
    debias: bool = True,
    merge_threshold: float | None = 0.1,
    chunk_weight: ChunkWeight = "chunk_count",
    denominator: Tensor | float | None = None,
    student_vocab_size: int | None = None,
    student_invalid_ids: Tensor | Sequence[int] | None = None,
    student_token_logp: Tensor | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """:func:`alm_loss` from the teacher's :func:`teacher_scores` (same arguments otherwise).

    ``student_token_logp`` is :func:`token_logprobs` of the student, when the caller has it
    already (for :func:`sft_loss` too): the ``[B, T, V]`` float32 softmax is then made once."""
    _check_weight(chunk_weight)
    _check_shapes("student", student_logits, student_ids, student_chunks)
    if teacher_chunks.shape[0] != student_ids.shape[0]:
        raise ConfigError("teacher and student batches have different sizes")
    n_chunks = _check_chunks(n_chunks, teacher_chunks, student_chunks)
    teacher_logp, teacher_sigma = teacher
    if (debias or merge_threshold is not None) and teacher_sigma is None:
        raise ConfigError(
            "debiasing and merging need the teacher's sigma (teacher_scores(sigma=True))"
        )

    if student_token_logp is None:
        student_token_logp = token_logprobs(
            student_logits, student_ids, vocab_size=student_vocab_size,
            invalid_ids=student_invalid_ids,
        )
    student_logp = chunk_sums(student_token_logp, student_chunks, n_chunks)
    student_sigma = (
        chunk_space_logprobs(
            student_logits,
            student_chunks,
            n_chunks,
            student_space_mask,
            vocab_size=student_vocab_size,
            invalid_ids=student_invalid_ids,
        )
        if debias
        else None
    )

    valid, groups, weight = _chunk_plan(
        teacher_chunks, student_chunks, n_chunks, teacher_sigma, merge_threshold, chunk_weight
    )
    unmerged = _valid_and_counts(teacher_chunks, student_chunks, n_chunks)[0].sum()
    if groups is not None:
        teacher_logp = chunk_sums(teacher_logp, groups, n_chunks)
        student_logp = chunk_sums(student_logp, groups, n_chunks)
        if teacher_sigma is not None:
            teacher_sigma = chunk_last(teacher_sigma, groups, n_chunks)
        if student_sigma is not None:
            student_sigma = chunk_last(student_sigma, groups, n_chunks)
    teacher_score = teacher_logp
    student_score = student_logp
    if debias:
        assert teacher_sigma is not None
        assert student_sigma is not None
        teacher_score = teacher_score + teacher_sigma
        student_score = student_score + student_sigma

    # A finite stand-in for the scores of invalid chunks: their weight is 0, but a divergence
    # evaluated at an arbitrary value (0 → log(0)) could still put nan into the gradient.
    fill = torch.full_like(teacher_score, -1.0)
    teacher_score = torch.where(valid, teacher_score, fill)
    student_score = torch.where(valid, student_score, fill)
    terms = alm_divergence(teacher_score, student_score, kind, temperature)
    local = weight.sum()
    loss = (terms * weight).sum() / _denominator(denominator, local)

    n_valid = valid.sum()
    per_chunk = n_valid.clamp(min=1).float()
    values = torch.stack(
        [
            n_valid.float(),
            unmerged.float(),
            local,
            (teacher_score * valid).sum() / per_chunk,
            (student_score.detach() * valid).sum() / per_chunk,
        ]
    ).tolist()
    keys = ("chunks", "chunks_unmerged", "weight", "teacher_logp", "student_logp")
    return loss, dict(zip(keys, values, strict=True))


# --------------------------------------------------------------------------------------------
# SFT (design/distill.md §2)


def sft_denominator(loss_mask: Tensor) -> Tensor:
    """Local count of tokens :func:`sft_loss` scores: loss-masked tokens past position 0."""
    return (loss_mask[:, 1:] != 0).sum().float()


def sft_loss(
    student_logits: Tensor,
    ids: Tensor,
    loss_mask: Tensor,
    denominator: Tensor | float | None = None,
    *,
    vocab_size: int | None = None,
    invalid_ids: Tensor | Sequence[int] | None = None,
    token_logp: Tensor | None = None,
) -> Tensor:
    """Next-token cross-entropy summed over loss-masked tokens, divided by ``D``.

    Args:
        student_logits: ``[B, T, V]``.
        ids: ``[B, T]``; token ``i`` is predicted from position ``i-1``.
        loss_mask: ``[B, T]``, nonzero for the tokens to predict (position 0 never is).
        denominator: The step's token count (:func:`sft_denominator` summed over micro-batches
            and ranks); None uses this batch's.
        vocab_size, invalid_ids: As for :func:`masked_log_softmax`.
        token_logp: :func:`token_logprobs` of these logits, if the caller has it already.
    """
    logp = token_logp
    if logp is None:
        logp = token_logprobs(student_logits, ids, vocab_size=vocab_size, invalid_ids=invalid_ids)
    mask = loss_mask != 0
    mask[:, 0] = False
    nll = torch.where(mask, -logp, torch.zeros_like(logp)).sum()
    return nll / _denominator(denominator, sft_denominator(loss_mask))


# --------------------------------------------------------------------------------------------
# Latents (alm_latents, design/distill.md §2)


class LatentProjector(nn.Linear):
    """Maps student hidden states to the teacher's width for :func:`latent_loss`.

    A plain ``nn.Linear(student_width, teacher_width)``; when the widths are equal it starts as
    the identity (zero bias), so training starts from the unprojected distance.
    """

    def __init__(self, student_width: int, teacher_width: int, bias: bool = True) -> None:
        super().__init__(student_width, teacher_width, bias=bias)
        if student_width == teacher_width:
            with torch.no_grad():
                self.weight.copy_(torch.eye(teacher_width))
                if self.bias is not None:
                    self.bias.zero_()


def latent_denominator(teacher_chunks: Tensor, student_chunks: Tensor, n_chunks: int) -> Tensor:
    """Local count of chunks :func:`latent_loss` compares: non-empty on both sides."""
    valid = (chunk_sizes(teacher_chunks, n_chunks) > 0) & (
        chunk_sizes(student_chunks, n_chunks) > 0
    )
    return valid.sum().float()


def latent_loss(
    teacher_hidden: Tensor,
    student_hidden: Tensor,
    teacher_chunks: Tensor,
    student_chunks: Tensor,
    n_chunks: int,
    projector: nn.Module | None = None,
    denominator: Tensor | float | None = None,
) -> Tensor:
    """Squared distance of hidden states at chunk ends, averaged over channels, per chunk / D.

    ``Σ_c mean_k (P(h^S_c) - h^T_c)_k² / D`` over chunks that are non-empty on both sides,
    where ``h_c`` is the hidden state at the last token of chunk ``c`` and ``P`` the projector.

    Args:
        teacher_hidden, student_hidden: ``[B, Tt, Dt]`` and ``[B, Ts, Ds]``; the teacher's is
            detached.
        teacher_chunks, student_chunks, n_chunks: The alignment.
        projector: Maps ``Ds → Dt`` (e.g. :class:`LatentProjector`); required when the widths
            differ, else None compares the states directly.
        denominator: The step's chunk count (:func:`latent_denominator`, summed); None uses
            this batch's.
    """
    n_chunks = _check_chunks(n_chunks, teacher_chunks, student_chunks)
    target = chunk_last(teacher_hidden.detach(), teacher_chunks, n_chunks).float()
    state = chunk_last(student_hidden, student_chunks, n_chunks)
    if projector is not None:
        state = projector(state)
    if state.shape[-1] != target.shape[-1]:
        raise ConfigError(
            f"student width {state.shape[-1]} differs from teacher width {target.shape[-1]}",
            hint="pass a {projector}, e.g. LatentProjector(student_width, teacher_width)",
        )
    valid = (chunk_sizes(teacher_chunks, n_chunks) > 0) & (
        chunk_sizes(student_chunks, n_chunks) > 0
    )
    distance = (state.float() - target).square().mean(-1)
    total = torch.where(valid, distance, torch.zeros_like(distance)).sum()
    return total / _denominator(denominator, valid.sum().float())

