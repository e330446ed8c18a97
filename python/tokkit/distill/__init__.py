"""Cross-tokenizer distillation (ALM): a teacher heals a student that speaks another tokenizer
(``tokkit distill``; ``docs/design/distill.md``).

- :mod:`~tokkit.distill.align`: both tokenizations of a text cut into chunks of equal bytes
  (Rust, batched, numpy arrays out);
- :mod:`~tokkit.distill.losses`: ALM on chunk likelihoods (debiasing, merging, binarised
  divergences), the student's own next-token loss, the latent loss, GradMag; it re-exports
  :mod:`~tokkit.distill.chunks`, :mod:`~tokkit.distill.divergences` and
  :mod:`~tokkit.distill.gradmag`;
- :mod:`~tokkit.distill.objective`: one micro-batch's losses from both models, normalised by
  global totals;
- :mod:`~tokkit.distill.trainer`: :func:`distill`, the loop (modes full / LoRA / embeddings,
  AdamW, evaluation in bits per byte, checkpoints and resume, DDP via
  :mod:`~tokkit.distill.parallel`);
- :mod:`~tokkit.distill.config`: :class:`DistillConfig`, the options and their defaults.

torch is imported by the trainer and the losses, not by this package's config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokkit.distill.config import DistillConfig

if TYPE_CHECKING:
    from tokkit.distill.trainer import DistillResult, distill

__all__ = ["DistillConfig", "DistillResult", "distill"]


def __getattr__(name: str) -> Any:
    # The trainer imports torch; `import tokkit.distill` for the config alone does not.
    if name in ("distill", "DistillResult"):
        from tokkit.distill import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
