"""Data parallelism for ``tokkit distill`` under ``torchrun``: DDP (gloo on CPU, NCCL on CUDA).

Each process takes every ``world``-th micro-batch of the global batch (data.py). Losses are
normalised by *global* totals (chunks, tokens) that :func:`Parallel.all_sum` adds over the
processes, and DDP averages gradients over processes, so each process scales its loss by
``world``: the update equals one process running all micro-batches with gradient accumulation
(a test checks it with two gloo processes). Only rank 0 writes files.

With ``fsdp`` the student is sharded with FSDP2 (``fully_shard`` per decoder block) instead of
replicated: for models that do not fit one device. FSDP also averages gradients, so the same
scaling holds; every process evaluates (the forward pass gathers shards), rank 0 records.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tokkit.exceptions import ConfigError

__all__ = ["Parallel", "autocast_for", "setup"]


@dataclass
class Parallel:
    """This process's place in the run."""

    rank: int = 0
    world: int = 1
    device: str = "cpu"
    initialised: bool = False
    fsdp: bool = False

    @property
    def main(self) -> bool:
        """Whether this process writes files and reports progress."""
        return self.rank == 0

    def all_sum(self, value: float) -> float:
        """``value`` summed over the processes."""
        if self.world == 1:
            return value
        import torch
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t.item())

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def wrap(self, model: Any) -> Any:
        """The model as the training step calls it: DDP-wrapped when there are processes, or
        sharded in place with FSDP2 (each decoder block, then the rest) under ``fsdp``."""
        if self.world == 1:
            return model
        if self.fsdp:
            from torch.distributed.fsdp import fully_shard

            for module in model.modules():
                if type(module).__name__.endswith("DecoderLayer"):
                    fully_shard(module)
            fully_shard(model)
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model)

    def full_state_dict(self, model: Any) -> dict[str, Any] | None:
        """The whole model's weights on rank 0 (gathered from the shards under FSDP; every
        process must call it); None on the other ranks, and without FSDP."""
        if not (self.fsdp and self.world > 1):
            return None
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_model_state_dict,
        )

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        state = get_model_state_dict(model, options=options)
        return state if self.main else None

    @contextlib.contextmanager
    def no_sync(self, wrapped: Any, sync: bool) -> Iterator[None]:
        """Skip DDP's gradient all-reduce on micro-batches before the last of a step."""
        if self.world > 1 and not sync and not self.fsdp:
            with wrapped.no_sync():
                yield
        else:
            yield

    def close(self) -> None:
        if self.initialised:
            import torch.distributed as dist

            dist.destroy_process_group()
            self.initialised = False


def setup(device: str, *, fsdp: bool = False) -> Parallel:
    """Join the process group ``torchrun`` describes in the environment (``WORLD_SIZE``,
    ``RANK``, ``LOCAL_RANK``), or run alone. CUDA processes take device ``cuda:LOCAL_RANK``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Parallel(device=device)
    import torch
    import torch.distributed as dist

    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("device cuda: CUDA is not available", hint="use {device=cpu}")
        device = f"cuda:{local}"
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return Parallel(rank=rank, world=world, device=device, initialised=True, fsdp=fsdp)


def autocast_for(bf16: str, device: str) -> Callable[[], Any]:
    """A context factory for the forward passes: bf16 autocast when ``bf16`` is ``on``, or
    ``auto`` on a CUDA device with bf16 support; else no autocast."""
    import torch

    use = bf16 == "on" or (
        bf16 == "auto" and device.startswith("cuda") and torch.cuda.is_bf16_supported()
    )
    if not use:
        return contextlib.nullcontext
    kind = "cuda" if device.startswith("cuda") else "cpu"
    return lambda: torch.autocast(kind, dtype=torch.bfloat16)
