"""GradMag (design/distill.md §2): weights that give every loss the same gradient norm on the
last layer, so that no loss drowns the others whatever their scales."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from tokkit.exceptions import ConfigError

__all__ = ["combine", "gradmag_weights", "loss_grad_norms"]

# --------------------------------------------------------------------------------------------
# GradMag (design/distill.md §2)


def loss_grad_norms(losses: Sequence[Tensor], params: Sequence[Tensor]) -> Tensor:
    """``[n]`` norm of each loss's gradient w.r.t. ``params`` (0 where it has none).

    Keeps the graphs (``retain_graph``) so that the combined loss can be backpropagated after.
    """
    norms = []
    for loss in losses:
        if not loss.requires_grad:
            norms.append(torch.zeros((), device=loss.device))
            continue
        grads = torch.autograd.grad(loss, list(params), retain_graph=True, allow_unused=True)
        squares = [g.float().square().sum() for g in grads if g is not None]
        norms.append(torch.stack(squares).sum().sqrt() if squares else loss.new_zeros(()))
    return torch.stack([n.float() for n in norms]).detach()


def gradmag_weights(
    losses: Sequence[Tensor], params: Sequence[Tensor], *, preserve_mag: bool = True
) -> Tensor:
    """GradMag loss weights ``w_i = 1/‖∂L_i/∂params‖`` (detached), ``/ Σ_j w_j`` if preserve_mag.

    ``params`` are meant to be the last layer's trainable parameters (``approx_gradmag``): every
    loss then pushes them with the same gradient norm. A loss with a zero gradient gets weight
    0 (tokenkit's ``1/(‖g‖ + 1e-8)`` would give it weight 1e8 and, normalised, all the weight).
    The norms are local: under data parallelism all-reduce :func:`loss_grad_norms` squared
    first if the ranks must agree.
    """
    norms = loss_grad_norms(losses, params)
    weights = torch.where(norms > 0, 1.0 / norms.clamp(min=torch.finfo(norms.dtype).tiny), 0.0)
    if preserve_mag:
        total = weights.sum()
        weights = torch.where(total > 0, weights / total.clamp(min=1e-30), weights)
    return weights.detach()


def combine(losses: Sequence[Tensor], weights: Tensor | Sequence[float]) -> Tensor:
    """``Σ_i w_i · L_i`` with the weights held constant."""
    if len(losses) != len(weights):
        raise ConfigError(f"{len(losses)} losses but {len(weights)} weights")
    w = torch.as_tensor(weights, dtype=torch.float32, device=losses[0].device).detach()
    return torch.stack([loss.float() for loss in losses]).mul(w).sum()
