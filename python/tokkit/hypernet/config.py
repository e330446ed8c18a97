"""The options of one hypernetwork training run (``tokkit hypernet train``), checked when made.

Architecture and losses follow ZeTT (``docs/design/hypernet.md`` §1, §3): a 3-layer transformer
as wide as the base model over at most 8 base tokens per new token, the frozen base LM's
next-token loss on sampled tokenizations plus the lexical loss (weight 0.5), AdamW (β₂ 0.95,
weight decay 0.01, gradient norm 0.1) after an identity warm-up. The sizes of one step are a
CPU's, not the paper's TPU pod's (batch 128 x 128 over 32,768-piece tokenizers): the defaults
let 30 steps on SmolLM2-135M take about five minutes on two cores, and every size is an option
(``docs/design/hypernet.md`` §5 says what to use on a GPU).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from tokkit.exceptions import ConfigError

__all__ = ["Architecture", "HypernetConfig"]

#: Fields that say how long or how visibly a run goes, not what it computes (a resumed run may
#: change them).
_RUN_ONLY = {"max_steps", "eval_every", "checkpoint_every", "keep_checkpoints"}
OBJECTIVES = ("clm", "alm")


@dataclass(frozen=True)
class Architecture:
    """The hypernetwork's shape (saved in ``hypernet.json``; the base model fixes the rest).

    Attributes:
        layers: Transformer encoder layers over a token's decomposition.
        hidden: Encoder width (default: the base model's hidden size).
        heads: Attention heads (default: hidden / 64).
        surface_maxlen: Base tokens per new token; longer decompositions are cut.
    """

    layers: int = 3
    hidden: int | None = None
    heads: int | None = None
    surface_maxlen: int = 8

    def __post_init__(self) -> None:
        if self.layers < 1 or self.surface_maxlen < 1:
            raise ConfigError("hypernetwork layers and surface_maxlen must be at least 1")
        if self.hidden is not None and self.hidden < 8:
            raise ConfigError(f"hypernetwork hidden size must be at least 8, not {self.hidden}")
        if self.heads is not None and self.heads < 1:
            raise ConfigError(f"hypernetwork heads must be at least 1, not {self.heads}")

    def resolved(self, model_width: int) -> Architecture:
        """Defaults filled in for a base model of width ``model_width``."""
        hidden = self.hidden or model_width
        heads = self.heads or max(1, hidden // 64)
        if hidden % heads:
            raise ConfigError(
                f"the hypernetwork width {hidden} is not divisible by {heads} heads",
                hint="choose {hn_heads} dividing {hn_hidden}",
            )
        return dataclasses.replace(self, hidden=hidden, heads=heads)


@dataclass(frozen=True)
class HypernetConfig:
    """What a hypernetwork training run computes.

    Attributes:
        arch: The hypernetwork's shape.
        max_steps: Optimizer steps, the identity warm-up included.
        identity_steps: Steps of the identity warm-up (MSE to the base rows of base tokens).
        batch_size, grad_accum, seq_len: Sequences per micro-batch (per process), micro-batches
            per step, tokens per sequence (the context token included).
        sample_vocab: Pieces of each sampled UnigramLM tokenizer besides the 256 bytes (the
            paper: 32,768).
        max_piece_bytes: Sampled pieces are shorter than this (the paper: 16).
        queue_texts: Texts whose substring counts the sampler draws from (the paper: 2,048).
        noise_sigma: sigma of the log-normal noise scale (the paper: 4; its mean is ln 1e-5).
        real_tokenizers: Fixed tokenizers (paths or prepared names) mixed in at ``real_rate``.
        real_rate: Probability that a step uses one of ``real_tokenizers``.
        objective: ``clm`` (the frozen base LM's next-token loss on the step's tokenization) or
            ``alm`` (its chunk likelihoods matched to the base model's own on its own
            tokenization, as ``tokkit distill`` does).
        lexical_weight: Weight of the lexical loss on tokens that are one base token.
        identity_lr, lr: Peak learning rates of the warm-up and of the main phase; the main
            phase warms up again over ``warmup_steps`` and decays (cosine) to 0.1 x ``lr``.
        weight_decay, betas, clip: AdamW and gradient clipping.
        eval_every: Steps between held-out evaluations (0: start and end only).
        eval_bytes: Held-out slice from the end of the data.
        checkpoint_every, keep_checkpoints: Checkpoints (0: none) and how many to keep.
        seed: Data order, sampler noise, real-tokenizer draws and initialisation.
        bf16: ``auto`` (autocast on CUDA with bf16), ``on`` or ``off``.
    """

    arch: Architecture = Architecture()
    max_steps: int = 200
    identity_steps: int = 10
    batch_size: int = 8
    grad_accum: int = 1
    seq_len: int = 128
    sample_vocab: int = 4096
    max_piece_bytes: int = 16
    queue_texts: int = 2048
    noise_sigma: float = 4.0
    real_tokenizers: tuple[str, ...] = ()
    real_rate: float = 0.0
    objective: str = "clm"
    lexical_weight: float = 0.5
    identity_lr: float = 3e-4
    lr: float = 3e-4
    warmup_steps: int = 10
    decay_steps: int | None = None
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.95)
    clip: float = 0.1
    eval_every: int = 50
    eval_bytes: int = 20_000
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    seed: int = 0
    bf16: str = "auto"

    def __post_init__(self) -> None:
        positive = {
            "max_steps": self.max_steps,
            "batch_size": self.batch_size,
            "grad_accum": self.grad_accum,
            "sample_vocab": self.sample_vocab,
            "queue_texts": self.queue_texts,
            "keep_checkpoints": self.keep_checkpoints,
        }
        for name, value in positive.items():
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, not {value}")
        if self.seq_len < 8:
            raise ConfigError(f"seq_len must be at least 8 tokens, not {self.seq_len}")
        if self.max_piece_bytes < 2:
            raise ConfigError(f"max_piece_bytes must be at least 2, not {self.max_piece_bytes}")
        if min(self.identity_steps, self.warmup_steps, self.eval_every,
               self.checkpoint_every) < 0:
            raise ConfigError(
                "identity_steps, warmup_steps, eval_every and checkpoint_every must be ≥ 0"
            )
        if not 0.0 <= self.real_rate <= 1.0:
            raise ConfigError(f"real_rate must be in [0, 1], not {self.real_rate}")
        if self.real_rate > 0 and not self.real_tokenizers:
            raise ConfigError(
                f"real_rate is {self.real_rate} but no real tokenizers are given",
                hint="name them with {real_tokenizers}, or leave {real_rate} at 0",
            )
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective must be clm or alm, not {self.objective!r}")
        if not (self.lr > 0 and self.identity_lr > 0 and self.clip > 0):
            raise ConfigError("lr, identity_lr and clip must be positive")
        if self.lexical_weight < 0 or not math.isfinite(self.lexical_weight):
            raise ConfigError(f"lexical_weight must be ≥ 0, not {self.lexical_weight}")
        if self.noise_sigma < 0:
            raise ConfigError(f"noise_sigma must be ≥ 0, not {self.noise_sigma}")
        if self.eval_bytes < 100:
            raise ConfigError(f"eval_bytes must be at least 100, not {self.eval_bytes}")
        if self.bf16 not in ("auto", "on", "off"):
            raise ConfigError(f"bf16 must be auto, on or off, not {self.bf16!r}")
        if not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"betas must be in [0, 1), not {self.betas}")

    def to_json(self) -> dict[str, Any]:
        """The options as JSON-ready values (``hypernet.json`` and checkpoints)."""
        out = dataclasses.asdict(self)
        out["real_tokenizers"] = list(self.real_tokenizers)
        out["betas"] = list(self.betas)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HypernetConfig:
        """The inverse of :meth:`to_json` (unknown keys are an error)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"unknown hypernetwork options: {', '.join(sorted(unknown))}")
        values = dict(data)
        if "arch" in values:
            values["arch"] = Architecture(**values["arch"])
        for key in ("real_tokenizers", "betas"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)

    def fingerprint(self) -> str:
        """A hash of everything that changes the computation, so that ``--resume`` refuses a
        checkpoint of another run."""
        data = {k: v for k, v in self.to_json().items() if k not in _RUN_ONLY}
        if self.decay_steps is None:
            data["decay_steps"] = self.max_steps
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def is_identity_step(self, step: int) -> bool:
        """Whether optimizer step ``step`` (0-based) belongs to the identity warm-up."""
        return step < self.identity_steps

    def lr_at(self, step: int) -> float:
        """ZeTT's schedule: linear warm-up to ``identity_lr`` over the identity steps; then a
        second linear warm-up from 0 to ``lr`` over ``warmup_steps``; then cosine decay to
        0.1 x ``lr`` at ``decay_steps`` (default ``max_steps``)."""
        if step < self.identity_steps:
            return self.identity_lr * (step + 1) / self.identity_steps
        k = step - self.identity_steps
        if k < self.warmup_steps:
            return self.lr * (k + 1) / self.warmup_steps
        end = (self.decay_steps or self.max_steps) - self.identity_steps - self.warmup_steps
        progress = min(1.0, (k - self.warmup_steps) / max(end, 1))
        return self.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
