"""The options of one distillation run (``tokkit distill``), checked when made.

Defaults follow tokenkit's recommended recipe (``docs/design/distill.md`` §3; spec
``zett_alm.md``, the recipe) where it fits a CPU: the losses ``sft`` + ``alm`` balanced by GradMag,
ALM as ``binary_ce`` at temperature 100 with ``append_space`` debiasing and chunks merged where
the teacher's space probability is below 0.1; AdamW (β₂ 0.95, weight decay 0.01, clipping 1.0)
with linear warm-up and decay. Batch size, sequence length and evaluation size are smaller than
the recipe's (64 x 512) so that 100 steps of SmolLM2-135M take about ten minutes on two cores.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from tokkit.exceptions import ConfigError

Mode = Literal["full", "lora", "embeddings"]
MODES: tuple[Mode, ...] = ("full", "lora", "embeddings")
LOSSES = ("alm", "sft", "latents")
AGGREGATIONS = ("gradmag", "sum")
#: How ALM compares chunk likelihoods (``losses.alm_divergence``).
Divergence = Literal[
    "binary_ce",
    "reverse_binary_kl",
    "binary_kl_temp_limit",
    "abs",
    "abs_exp",
    "joschu_k2",
    "joschu_k3",
]
DIVERGENCES: tuple[str, ...] = get_args(Divergence)

#: Fields that say how long or how visibly a run goes, not what it computes: a resumed run may
#: change them (a longer --max-steps continues a finished schedule only if warm-up/decay agree,
#: which the schedule fields below pin).
_RUN_ONLY = {"max_steps", "eval_every", "checkpoint_every", "keep_checkpoints"}


@dataclass(frozen=True)
class DistillConfig:
    """What a distillation run computes.

    Attributes:
        mode: ``full`` (every student weight), ``lora`` (low-rank adapters on the attention and
            MLP projections plus the embeddings; merged into the saved model unless
            ``merge_lora`` is false) or ``embeddings`` (input and output rows only).
        losses: Any of ``alm`` (approximate likelihood matching on aligned chunks), ``sft``
            (the student's own next-token loss) and ``latents`` (hidden states at chunk ends).
        aggregation: ``gradmag`` (each loss weighted by the inverse norm of its gradient on the
            last layer, weights summing to 1) or ``sum`` (``loss_weights``, default 1 each).
        divergence: How teacher and student chunk likelihoods are compared (``binary_ce``...).
        temperature: Binarisation temperature τ.
        debias: Add each side's probability that the next token starts at a space
            (``append_space``).
        merge_threshold: Keep a chunk boundary only where the teacher's space probability is
            above this; ``None`` keeps every chunk.
        max_steps: Optimizer steps.
        batch_size: Sequences per micro-batch (per process).
        grad_accum: Micro-batches per optimizer step.
        seq_len: Tokens per sequence (each side; the context token included).
        lr, warmup_steps, weight_decay, betas, clip: AdamW and its schedule (linear warm-up to
            ``lr``, then linear decay to 0 at ``max_steps``; ``decay_steps`` fixes the decay's
            end independently of ``max_steps``, so that a longer resumed run keeps it).
        eval_every: Steps between evaluations (0: only at the start and the end).
        eval_bytes: Size of the held-out slice taken from the end of the data when no separate
            evaluation data is given.
        checkpoint_every: Steps between checkpoints (0: none).
        keep_checkpoints: How many of the latest checkpoints to keep.
        seed: Data order and any random initialisation.
        lora_rank, lora_alpha: LoRA size; ``lora_embeddings`` also trains the embeddings.
        merge_lora: Merge adapters into the saved weights (default) or save a PEFT adapter.
        bf16: ``auto`` (bf16 autocast where the device supports it: CUDA with bf16), ``on``
            or ``off``.
        gradient_checkpointing: Recompute activations in the backward pass (less memory).
        fsdp: Shard the student over the processes (FSDP2) instead of replicating it (DDP).
    """

    mode: Mode = "full"
    losses: tuple[str, ...] = ("alm", "sft")
    aggregation: str = "gradmag"
    loss_weights: tuple[float, ...] = ()
    divergence: str = "binary_ce"
    temperature: float = 100.0
    debias: bool = True
    merge_threshold: float | None = 0.1
    max_steps: int = 100
    batch_size: int = 4
    grad_accum: int = 1
    seq_len: int = 128
    lr: float = 1e-4
    warmup_steps: int = 10
    decay_steps: int | None = None
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.95)
    clip: float = 1.0
    eval_every: int = 50
    eval_bytes: int = 20_000
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    seed: int = 0
    lora_rank: int = 64
    lora_alpha: int = 64
    lora_embeddings: bool = True
    merge_lora: bool = True
    bf16: str = "auto"
    gradient_checkpointing: bool = False
    fsdp: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if not self.losses or any(x not in LOSSES for x in self.losses):
            raise ConfigError(
                f"losses must be a non-empty subset of {', '.join(LOSSES)}, not "
                f"{','.join(self.losses) or '(none)'}"
            )
        if len(set(self.losses)) != len(self.losses):
            raise ConfigError(f"a loss is named twice in {','.join(self.losses)}")
        if self.aggregation not in AGGREGATIONS:
            raise ConfigError(f"aggregation must be gradmag or sum, not {self.aggregation!r}")
        if self.loss_weights and len(self.loss_weights) != len(self.losses):
            raise ConfigError(
                f"{len(self.loss_weights)} loss weights for {len(self.losses)} losses",
                hint="give one weight per loss, in the order of {losses}",
            )
        if self.divergence not in DIVERGENCES:
            raise ConfigError(
                f"divergence must be one of {', '.join(DIVERGENCES)}, not {self.divergence!r}"
            )
        positive = {
            "max_steps": self.max_steps,
            "batch_size": self.batch_size,
            "grad_accum": self.grad_accum,
            "lora_rank": self.lora_rank,
            "keep_checkpoints": self.keep_checkpoints,
        }
        for name, value in positive.items():
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, not {value}")
        if self.seq_len < 8:
            raise ConfigError(f"seq_len must be at least 8 tokens, not {self.seq_len}")
        if not (self.lr > 0 and self.temperature > 0 and self.clip > 0):
            raise ConfigError("lr, temperature and clip must be positive")
        if self.merge_threshold is not None and not 0 <= self.merge_threshold < 1:
            raise ConfigError(f"merge_threshold must be in [0, 1), not {self.merge_threshold}")
        if min(self.warmup_steps, self.eval_every, self.checkpoint_every) < 0:
            raise ConfigError("warmup_steps, eval_every and checkpoint_every must be ≥ 0")
        if self.eval_bytes < 100:
            raise ConfigError(f"eval_bytes must be at least 100, not {self.eval_bytes}")
        if self.bf16 not in ("auto", "on", "off"):
            raise ConfigError(f"bf16 must be auto, on or off, not {self.bf16!r}")
        if self.fsdp and self.aggregation == "gradmag" and len(self.losses) > 1:
            raise ConfigError(
                "GradMag needs per-loss gradients of the last layer, which FSDP's sharded "
                "parameters do not give",
                hint="use {aggregation=sum} (with {loss_weights}) under {fsdp}",
            )
        if self.fsdp and self.mode == "lora":
            raise ConfigError(
                "LoRA under FSDP is not supported yet", hint="use {mode=full} under {fsdp}"
            )
        if self.fsdp and self.checkpoint_every:
            raise ConfigError(
                "checkpoints of a sharded (FSDP) run are not supported yet",
                hint="run without {fsdp} to checkpoint, or without {checkpoint_every}",
            )
        if not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"betas must be in [0, 1), not {self.betas}")

    def replace(self, **changes: Any) -> DistillConfig:
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The options as JSON-ready values (recorded in ``tokkit.json`` and checkpoints)."""
        out = dataclasses.asdict(self)
        out["losses"], out["loss_weights"] = list(self.losses), list(self.loss_weights)
        out["betas"] = list(self.betas)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DistillConfig:
        """The inverse of :meth:`to_json` (unknown keys are an error)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"unknown distillation options: {', '.join(sorted(unknown))}")
        values = dict(data)
        for key in ("losses", "loss_weights", "betas"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)

    def fingerprint(self) -> str:
        """A hash of everything that changes the computation (not ``max_steps`` and the like),
        so that ``--resume`` can refuse a checkpoint from another run."""
        data = {k: v for k, v in self.to_json().items() if k not in _RUN_ONLY}
        if self.decay_steps is None:
            data["decay_steps"] = self.max_steps  # the schedule depends on it then
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def lr_at(self, step: int) -> float:
        """The learning rate of optimizer step ``step`` (0-based): linear warm-up over
        ``warmup_steps``, then linear decay to 0 at ``decay_steps`` (default ``max_steps``)."""
        end = self.decay_steps or self.max_steps
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        span = max(end - self.warmup_steps, 1)
        return self.lr * max(0.0, 1.0 - (step - self.warmup_steps) / span)
