"""How ALM compares a teacher's and a student's chunk scores: the binarised divergences with
temperature (design/distill.md §2), computed in float32 and finite at extreme log-probabilities."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from tokkit.distill.config import DIVERGENCES, Divergence
from tokkit.exceptions import ConfigError

__all__ = ["EPSILON", "K3_LINEAR_FROM", "alm_divergence", "log1mexp"]

#: Subtracted from the scaled scores so that a chunk of probability 1 stays inside log1mexp's
#: domain.
EPSILON = 1e-6

# --------------------------------------------------------------------------------------------
# Divergences (design/distill.md §2)


#: Where joschu_k3 = e^r - 1 - r turns linear (its tangent), to stay finite.
K3_LINEAR_FROM = 20.0


def log1mexp(x: Tensor) -> Tensor:
    """``log(1 - exp(x))`` for ``x < 0``, accurate near 0 and for very negative ``x``."""
    log_half = -math.log(2.0)
    # Each branch sees only the inputs it is accurate for: torch.where differentiates both
    # branches, and an unselected -inf would turn into a nan gradient.
    small = torch.log1p(-torch.exp(x.clamp(max=log_half)))
    near_zero = torch.log(-torch.expm1(x.clamp(min=log_half)))
    return torch.where(x < log_half, small, near_zero)


def alm_divergence(
    teacher: Tensor,
    student: Tensor,
    kind: Divergence = "binary_ce",
    temperature: float = 100.0,
) -> Tensor:
    """Elementwise divergence between teacher and student chunk scores (log-probabilities ≤ 0).

    With ``a = S_T/τ - ε`` and ``b = S_S/τ - ε`` (``p̃ = e^a = p_T^{1/τ}``, ``q̃ = e^b``):

    - ``binary_ce``: ``-[p̃·b + (1-p̃)·log(1-q̃)]``, the cross-entropy of the binary events
      "this chunk" / "anything else"; its minimum over the student is the binary entropy of
      ``p̃``, not 0.
    - ``reverse_binary_kl``: ``KL(Bern(q̃) ‖ Bern(p̃))``.
    - ``binary_kl_temp_limit``: ``(x - y) - x·log(-x) + x·log(-y)`` with ``x = S_T - ε``,
      ``y = S_S - ε`` (no τ). This is ``lim_{τ→∞} τ·KL(Bern(p̃) ‖ Bern(q̃))``: with
      ``1 - p̃ ≈ -x/τ`` the forward KL is ``((x-y) - x·log(x/y))/τ + O(1/τ²)``. Note the
      direction: the *forward* KL, the one ``binary_ce`` minimises, not ``reverse_binary_kl``.
    - ``abs``: ``|S_T - S_S|`` (legacy, no τ).
    - ``abs_exp``: ``|p̃ - q̃|``.
    - ``joschu_k2``: ``r²/2`` and ``joschu_k3``: ``(e^r - 1) - r``, Schulman's estimators on
      the log-ratio ``r = (S_T - S_S)/τ = log(p̃/q̃)``. Past ``r = 20`` k3 continues along its
      tangent, so it stays finite where the student is far *less* likely than the teacher
      (tokenkit's ``e^r`` overflows to inf at ``r > 88``).

    All are 0 (``binary_ce``: minimal) when the scores are equal. Computed in float32.
    """
    if kind not in DIVERGENCES:
        raise ConfigError(
            f"unknown ALM divergence {kind!r}", hint="use one of " + ", ".join(DIVERGENCES)
        )
    if not temperature > 0:
        raise ConfigError(f"temperature must be positive, got {temperature}")
    t = teacher.float()
    s = student.float()
    if kind == "abs":
        return (t - s).abs()
    if kind == "binary_kl_temp_limit":
        x, y = t - EPSILON, s - EPSILON
        return (x - y) - x * torch.log(-x) + x * torch.log(-y)
    if kind in ("joschu_k2", "joschu_k3"):
        r = (t - s) / temperature
        if kind == "joschu_k2":
            return r * r / 2
        capped = r.clamp(max=K3_LINEAR_FROM)
        slope = math.expm1(K3_LINEAR_FROM)
        return torch.expm1(capped) - capped + slope * (r - K3_LINEAR_FROM).clamp(min=0)
    a = t / temperature - EPSILON
    b = s / temperature - EPSILON
    if kind == "binary_ce":
        return -(torch.exp(a) * b + (-torch.expm1(a)) * log1mexp(b))
    if kind == "reverse_binary_kl":
        return torch.exp(b) * (b - a) + (-torch.expm1(b)) * (log1mexp(b) - log1mexp(a))
    return (torch.exp(a) - torch.exp(b)).abs()  # abs_exp
