"""Checkpoints of a distillation run, in safetensors and JSON only (never pickles).

A checkpoint is a directory ``step-NNNNNN`` written atomically under the run's checkpoint
directory. It holds what makes a resumed run equal to an uninterrupted one:

- ``trainable.safetensors``: the trainable parameters by name (float32);
- ``optimizer.safetensors``: AdamW's moments by parameter name; the step counts go in JSON;
- ``state.json``: the step, the run's fingerprint (options, teacher, student, data), the
  optimizer's hyperparameters, torch's RNG state (hex) and the metrics so far.

The data order is a function of the step (:mod:`tokkit.distill.data`), and the learning rate
one of the step (:meth:`DistillConfig.lr_at`), so nothing else is needed.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit._io import atomic_dir, dumps
from tokkit.exceptions import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["Checkpoint", "append_metrics", "latest", "load", "restore", "save"]

_STEP_DIR = re.compile(r"^step-(\d{6,})$")
#: A state.json larger than this is not one of ours (metrics rows are small).
_MAX_STATE_BYTES = 64 << 20


@dataclass
class Checkpoint:
    """What :func:`load` read back."""

    path: Path
    step: int
    fingerprint: str
    metrics: list[dict[str, Any]]
    trainable: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any]
    rng_state: bytes


def save(
    root: Path,
    step: int,
    *,
    fingerprint: str,
    named_params: list[tuple[str, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    metrics: list[dict[str, Any]],
    keep: int,
) -> Path:
    """Write checkpoint ``step`` under ``root`` and delete all but the ``keep`` latest."""
    import torch
    from safetensors.torch import save_file

    root.mkdir(parents=True, exist_ok=True)
    out = root / f"step-{step:06d}"
    state = optimizer.state_dict()
    index = {i: name for i, (name, _) in enumerate(named_params)}
    moments: dict[str, torch.Tensor] = {}
    steps: dict[str, float] = {}
    for i, per_param in state["state"].items():
        name = index[int(i)]
        for key, value in per_param.items():
            if key == "step":
                steps[name] = float(value)
            else:
                moments[f"{name}::{key}"] = value.detach().float().cpu().contiguous()
    groups = [{k: v for k, v in g.items() if k != "params"} for g in state["param_groups"]]
    with atomic_dir(out, force=True) as tmp:
        save_file(
            {n: p.detach().float().cpu().contiguous() for n, p in named_params},
            str(tmp / "trainable.safetensors"),
        )
        save_file(moments, str(tmp / "optimizer.safetensors"))
        record = {
            "step": step,
            "fingerprint": fingerprint,
            "param_names": [n for n, _ in named_params],
            "optimizer_steps": steps,
            "param_groups": groups,
            "rng_state": torch.get_rng_state().numpy().tobytes().hex(),
            "metrics": metrics,
        }
        (tmp / "state.json").write_text(dumps(record), encoding="utf-8")
    for old in sorted(p for p in root.iterdir() if _STEP_DIR.match(p.name))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return out


def latest(path: Path) -> Path:
    """``path`` itself if it is a checkpoint, else its latest ``step-*`` checkpoint."""
    if (path / "state.json").is_file():
        return path
    if path.is_dir() and not path.is_symlink():
        steps = sorted(p for p in path.iterdir() if _STEP_DIR.match(p.name) and p.is_dir())
        if steps:
            return steps[-1]
    raise ConfigError(
        f"{path} is not a distillation checkpoint (no state.json) nor a directory of them",
        hint="give {resume} a step-NNNNNN directory or the run's checkpoint directory",
    )


def load(path: Path, fingerprint: str) -> Checkpoint:
    """Read the checkpoint at ``path`` (see :func:`latest`), refusing one of another run."""
    import torch
    from safetensors.torch import load_file

    ckpt = latest(path)
    state_file = ckpt / "state.json"
    if state_file.stat().st_size > _MAX_STATE_BYTES:
        raise ConfigError(f"{state_file} is too large to be a tokkit checkpoint")
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        step = int(state["step"])
        names = list(state["param_names"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{state_file} is not a tokkit checkpoint: {e}") from e
    if state.get("fingerprint") != fingerprint:
        raise ConfigError(
            f"{ckpt} comes from another run (other options, teacher, student or data)",
            hint="resume with the options of the run that wrote it, or start a new run "
            "without {resume}",
        )
    trainable = load_file(str(ckpt / "trainable.safetensors"))
    moments = load_file(str(ckpt / "optimizer.safetensors"))
    per_param: dict[int, dict[str, Any]] = {}
    for i, name in enumerate(names):
        entry: dict[str, Any] = {
            key.split("::", 1)[1]: value
            for key, value in moments.items()
            if key.split("::", 1)[0] == name
        }
        if name in state["optimizer_steps"]:
            entry["step"] = torch.tensor(float(state["optimizer_steps"][name]))
        if entry:
            per_param[i] = entry
    groups = state["param_groups"]
    groups[0]["params"] = list(range(len(names)))
    return Checkpoint(
        path=ckpt,
        step=step,
        fingerprint=fingerprint,
        metrics=list(state.get("metrics", [])),
        trainable=trainable,
        optimizer_state={"state": per_param, "param_groups": groups},
        rng_state=bytes.fromhex(state["rng_state"]),
    )


def restore(
    named: list[tuple[str, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    ck: Checkpoint,
    *,
    hint: str,
) -> None:
    """Put ``ck``'s parameters, optimizer state and torch RNG state back into a run.

    Raises:
        ConfigError: ``ck`` holds other parameters than ``named`` (``hint`` says what to do).
    """
    import torch

    if sorted(n for n, _ in named) != sorted(ck.trainable):
        raise ConfigError(f"{ck.path} holds other trainable parameters than this run's",
                          hint=hint)
    with torch.no_grad():
        for name, p in named:
            p.copy_(ck.trainable[name].to(p.dtype))
    optimizer.load_state_dict(ck.optimizer_state)
    torch.set_rng_state(torch.tensor(list(ck.rng_state), dtype=torch.uint8))


def append_metrics(root: Path, rows: Sequence[dict[str, Any]], *, fresh: bool = False) -> None:
    """Append ``rows`` to the live ``root/metrics.jsonl`` (``fresh``: start it anew, as a
    resumed run does from its checkpoint's rows)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "metrics.jsonl", "w" if fresh else "a", encoding="utf-8") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
