"""The frozen base LM read through predicted embeddings: the training losses of a hypernetwork
step and the held-out bits per byte (``docs/design/hypernet.md`` §3).

A sequence is the base model's context token followed by pieces of the step's vocabulary. The
context token takes the id ``n`` (the vocabulary's size) and its own base rows, so the model's
vocabulary for the step is the ``n`` pieces plus that special; the logits are the final hidden
states against the predicted output rows (the predicted inputs for a tied base). Models that
scale input embeddings (Gemma's ``embed_scale``) or soft-cap logits get the same here as in
their own forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import torch

__all__ = ["BaseLM", "Sequences"]


@dataclass
class Sequences:
    """Padded ids of a micro-batch (``ids`` [B, T], ``mask`` [B, T]), the rows before padding
    and which input rows they are (``kept``), the count of scored targets and their bytes."""

    ids: torch.Tensor
    mask: torch.Tensor
    rows: list[list[int]]
    kept: list[int]
    targets: int
    n_bytes: int

    @classmethod
    def of(cls, rows: Sequence[Sequence[int]], pieces: Sequence[bytes], seq_len: int,
           context: bool, device: str) -> Sequences:
        """``rows`` of piece ids after the context id ``len(pieces)`` (when the model has a
        context token), cut to ``seq_len``; rows with nothing to score are left out."""
        head = [len(pieces)] if context else []
        cut = [(head + list(r))[:seq_len] for r in rows]
        kept = [i for i, r in enumerate(cut) if len(r) >= 2]
        cut = [cut[i] for i in kept]
        width = max((len(r) for r in cut), default=2)
        ids = torch.zeros((max(len(cut), 1), width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        n_bytes = 0
        for i, r in enumerate(cut):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
            n_bytes += sum(len(pieces[t]) for t in r[1:] if t < len(pieces))
        targets = int(mask[:, 1:].sum())
        return cls(ids.to(device), mask.to(device), cut, kept, targets, n_bytes)


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

    def logits(self, ids: torch.Tensor, mask: torch.Tensor, E: torch.Tensor,
               U: torch.Tensor | None, autocast: Any) -> torch.Tensor:
        """[B, T, n (+1)] float32 logits of ``ids`` under rows ``E`` (inputs) and ``U``
        (outputs; ``E`` when None) of ``n`` pieces, plus the context token's own rows as id
        ``n`` when the model has one."""
        inputs, outputs = E, (U if U is not None else E)
        if self.context is not None:
            ctx_in = self.E[self.context].to(E.dtype)[None]
            ctx_out = (self.U if self.U is not None else self.E)[self.context].to(E.dtype)[None]
            inputs = torch.cat([inputs, ctx_in])
            outputs = torch.cat([outputs, ctx_out])
        x = inputs[ids]
        if self.scale is not None:
            x = x * self.scale
        with autocast():
            hidden = self.model.base_model(inputs_embeds=x, attention_mask=mask).last_hidden_state
        logits: torch.Tensor = hidden.float() @ outputs.float().T
        if self.softcap:
            logits = self.softcap * torch.tanh(logits / self.softcap)
        return logits

    def nll(self, seqs: Sequences, E: torch.Tensor, U: torch.Tensor | None,
            autocast: Any) -> torch.Tensor:
        """Summed next-token NLL of ``seqs`` (float32)."""
        logits = self.logits(seqs.ids, seqs.mask, E, U, autocast)[:, :-1]
        valid = seqs.mask[:, 1:].bool()
        return torch.nn.functional.cross_entropy(
            logits[valid], seqs.ids[:, 1:][valid], reduction="sum"
        )

    def as_student(self, E: torch.Tensor, U: torch.Tensor | None, autocast: Any) -> Any:
        """A callable with a causal LM's interface (``logits`` from ``input_ids``) over the
        predicted rows: the student of the ALM objective."""

        def student(input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    output_hidden_states: bool = False) -> Any:
            logits = self.logits(input_ids, attention_mask, E, U, autocast)
            return SimpleNamespace(logits=logits, hidden_states=None)

        return student
