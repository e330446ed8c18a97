"""The frozen base LM read through predicted embeddings: the training loss of a hypernetwork
step and the held-out bits per byte (``docs/design/hypernet.md`` §3).

A sequence is the base model's context token (its own row) followed by pieces of the step's
vocabulary; the logits are the final hidden states against the predicted output rows (the
predicted inputs for a tied base), so the softmax runs over the step's vocabulary only. Models
that scale input embeddings (Gemma's ``embed_scale``) or soft-cap logits get the same here as in
their own forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["BaseLM", "Sequences"]


@dataclass
class Sequences:
    """Padded piece ids of a micro-batch: ``ids`` [B, T] with the context slot ``-1`` at
    position 0 (when the model has a context token), ``mask`` [B, T], ``n_bytes`` of the
    scored targets."""

    ids: torch.Tensor
    mask: torch.Tensor
    targets: int
    n_bytes: int

    @classmethod
    def of(cls, rows: Sequence[Sequence[int]], pieces: Sequence[bytes], seq_len: int,
           context: bool, device: str) -> Sequences:
        head = [-1] if context else []
        cut = [(head + list(r))[:seq_len] for r in rows]
        cut = [r for r in cut if len(r) >= 2]
        width = max((len(r) for r in cut), default=2)
        ids = torch.zeros((max(len(cut), 1), width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        n_bytes = 0
        for i, r in enumerate(cut):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
            n_bytes += sum(len(pieces[t]) for t in r[1:])
        targets = int(mask[:, 1:].sum())
        return cls(ids.to(device), mask.to(device), targets, n_bytes)


class BaseLM:
    """The frozen base model and what reading it through other embeddings needs."""

    def __init__(self, model: Any, context: int | None) -> None:
        self.model = model
        for p in model.parameters():
            p.requires_grad_(False)
        model.eval()
        self.E = model.get_input_embeddings().weight
        out = model.get_output_embeddings()
        self.U = None if out is None or out.weight is self.E else out.weight
        self.context = context
        scale = getattr(model.get_input_embeddings(), "embed_scale", None)
        self.scale = None if scale is None else float(scale)
        self.softcap = getattr(model.config, "final_logit_softcapping", None)

    def nll(self, seqs: Sequences, E: torch.Tensor, U: torch.Tensor | None,
            autocast: Any) -> torch.Tensor:
        """Summed next-token NLL of ``seqs`` (float32) under rows ``E`` (inputs) and ``U``
        (outputs; ``E`` when None)."""
        table = E
        if self.context is not None:
            table = torch.cat([E, self.E[self.context].to(E.dtype)[None]])
        ids = torch.where(seqs.ids < 0, table.shape[0] - 1, seqs.ids)
        x = table[ids]
        if self.scale is not None:
            x = x * self.scale
        with autocast():
            hidden = self.model.base_model(
                inputs_embeds=x, attention_mask=seqs.mask
            ).last_hidden_state
        h = hidden[:, :-1].float()
        logits = h @ (U if U is not None else E).float().T
        if self.softcap:
            logits = self.softcap * torch.tanh(logits / self.softcap)
        target = seqs.ids[:, 1:]
        valid = seqs.mask[:, 1:].bool()
        return torch.nn.functional.cross_entropy(
            logits[valid], target[valid], reduction="sum"
        )
