"""One training step's losses, from aligned token batches (the composition of ``losses.py``).

A step runs in two phases so that every loss is normalised by its *global* total before any
backward pass (design/distill.md §3):

1. :func:`teacher_pass` runs the teacher on each micro-batch under ``no_grad`` and keeps only
   small per-chunk tensors: chunk log-likelihoods, space log-probabilities, the merge groups
   (which depend on the teacher alone) and, for the latent loss, the hidden states at chunk
   ends. Their counts, summed over micro-batches and processes, are the denominators.
2. :func:`student_losses` runs the student on the same micro-batch and returns each loss
   already divided by its global denominator, so that summing the micro-batches' gradients
   (and DDP's average times the process count) gives the full-batch gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from tokkit.distill import losses
from tokkit.distill.config import DistillConfig

__all__ = ["Batch", "TeacherOut", "student_losses", "teacher_pass"]


@dataclass
class Batch:
    """One micro-batch, right-padded; chunk index -1 marks tokens in no chunk (and padding)."""

    teacher_ids: torch.Tensor  # [B, Tt]
    teacher_mask: torch.Tensor  # [B, Tt] attention mask
    student_ids: torch.Tensor  # [B, Ts]
    student_mask: torch.Tensor
    teacher_chunks: torch.Tensor  # [B, Tt]
    student_chunks: torch.Tensor  # [B, Ts]
    n_chunks: int  # the largest chunk count of a row

    def to(self, device: str) -> Batch:
        move = {k: v.to(device) for k, v in vars(self).items() if isinstance(v, torch.Tensor)}
        return Batch(**move, n_chunks=self.n_chunks)

    @property
    def sft_tokens(self) -> float:
        """Student tokens with a likelihood (:func:`losses.sft_denominator`)."""
        return float(losses.sft_denominator(self.student_mask))


@dataclass
class TeacherOut:
    """The teacher's side of one micro-batch: per-chunk scores (not the logits) and, for the
    latent loss, its last hidden states."""

    scores: losses.TeacherScores
    hidden: torch.Tensor | None  # [B, Tt, D]
    weight: float  # this micro-batch's share of the ALM denominator
    latent_count: float


def teacher_pass(
    teacher: Any,
    batch: Batch,
    cfg: DistillConfig,
    *,
    space_mask: torch.Tensor,
    invalid_ids: torch.Tensor | None,
    autocast: Any,
) -> TeacherOut:
    """The teacher's forward pass on ``batch`` reduced to what the losses need."""
    want_hidden = "latents" in cfg.losses
    with torch.no_grad(), autocast():
        out = teacher(
            input_ids=batch.teacher_ids,
            attention_mask=batch.teacher_mask,
            output_hidden_states=want_hidden,
        )
    scores = losses.teacher_scores(
        out.logits,
        batch.teacher_ids,
        batch.teacher_chunks,
        batch.n_chunks,
        space_mask,
        sigma=cfg.debias or cfg.merge_threshold is not None,
        invalid_ids=invalid_ids,
    )
    weight = losses.alm_weight(
        batch.teacher_chunks,
        batch.student_chunks,
        batch.n_chunks,
        merge_threshold=cfg.merge_threshold,
        teacher_sigma=scores.sigma,
    )
    hidden = out.hidden_states[-1].float() if want_hidden else None
    latent_count = (
        float(losses.latent_denominator(batch.teacher_chunks, batch.student_chunks, batch.n_chunks))
        if want_hidden
        else 0.0
    )
    return TeacherOut(scores, hidden, float(weight), latent_count)


def student_losses(
    student: Any,
    batch: Batch,
    teacher_out: TeacherOut,
    cfg: DistillConfig,
    *,
    denominators: dict[str, float],
    space_mask: torch.Tensor,
    invalid_ids: torch.Tensor | None,
    projector: torch.nn.Module | None,
    autocast: Any,
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Each configured loss of the student on ``batch``, divided by its global denominator,
    and cheap statistics (chunk counts, mean chunk scores)."""
    want_hidden = "latents" in cfg.losses
    with autocast():
        out = student(
            input_ids=batch.student_ids,
            attention_mask=batch.student_mask,
            output_hidden_states=want_hidden,
        )
    result: dict[str, torch.Tensor] = {}
    stats: dict[str, float] = {}
    # The float32 softmax over [B, T, V] is the costliest part of the losses: made once for both.
    token_logp = None
    if "alm" in cfg.losses or "sft" in cfg.losses:
        token_logp = losses.token_logprobs(out.logits, batch.student_ids, invalid_ids=invalid_ids)
    if "alm" in cfg.losses:
        result["alm"], stats = losses.alm_loss_given_teacher(
            teacher_out.scores,
            out.logits,
            batch.student_ids,
            batch.teacher_chunks,
            batch.student_chunks,
            student_space_mask=space_mask,
            n_chunks=batch.n_chunks,
            kind=cfg.divergence,  # type: ignore[arg-type]
            temperature=cfg.temperature,
            debias=cfg.debias,
            merge_threshold=cfg.merge_threshold,
            denominator=max(denominators["alm"], 1.0),
            student_invalid_ids=invalid_ids,
            student_token_logp=token_logp,
        )
    if "sft" in cfg.losses:
        result["sft"] = losses.sft_loss(
            out.logits,
            batch.student_ids,
            batch.student_mask,
            denominator=max(denominators["sft"], 1.0),
            invalid_ids=invalid_ids,
            token_logp=token_logp,
        )
    if want_hidden:
        assert teacher_out.hidden is not None
        result["latents"] = losses.latent_loss(
            teacher_out.hidden,
            out.hidden_states[-1].float(),
            batch.teacher_chunks,
            batch.student_chunks,
            batch.n_chunks,
            projector,
            denominator=max(denominators["latents"], 1.0),
        )
    return result, stats
