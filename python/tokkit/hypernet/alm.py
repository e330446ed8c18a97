"""The ALM objective for hypernetwork training (``--objective alm``; design/hypernet.md §3):
instead of the base LM's own next-token loss on the sampled tokenization, the likelihoods of
aligned chunks under the predicted embeddings are matched to the base model's likelihoods of
the same chunks in its own tokenization (the teacher). It reuses ``tokkit distill``'s alignment
(Rust), teacher pass and losses unchanged; only the student is the frozen base model read
through the predicted rows (:meth:`BaseLM.as_student`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from tokkit.distill.align import align, align_vocab
from tokkit.distill.config import DistillConfig
from tokkit.distill.objective import Batch, student_losses, teacher_pass
from tokkit.hypernet.lm import BaseLM, Sequences

__all__ = ["AlmObjective"]

#: The ALM options: tokkit distill's defaults (binary_ce at temperature 100, append_space
#: debiasing, chunks merged below a space probability of 0.1), the ALM loss alone.
ALM = DistillConfig(losses=("alm",))
#: The special-token code the context token has on both sides of the alignment.
CONTEXT_CODE = 0


@dataclass
class AlmObjective:
    """The teacher side, built once: the base tokenizer, its alignment vocabulary, its space
    mask."""

    lm: BaseLM
    tokenizer: Any  # the base model's HF tokenizer
    seq_len: int

    def __post_init__(self) -> None:
        from tokkit.distill.losses import space_mask_of
        from tokkit.vocab import vocab_from_hf

        vocab = vocab_from_hf(self.tokenizer)
        codes = {} if self.lm.context is None else {self.lm.context: CONTEXT_CODE}
        self.teacher_vocab = align_vocab(vocab, codes)
        rows = self.lm.E.shape[0]
        self.teacher_space = space_mask_of(vocab, rows).to(self.lm.E.device)

    def teacher_rows(self, texts: Sequence[str]) -> list[list[int]]:
        head = [] if self.lm.context is None else [self.lm.context]
        encoded = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [(head + list(r))[: self.seq_len] for r in encoded]

    def batch(self, texts: Sequence[str], seqs: Sequences, pieces: Sequence[bytes]) -> Batch:
        """One micro-batch for the distillation losses: the teacher's tokenization of
        ``texts`` and the student's (``seqs``, the sampled one), aligned."""
        from tokkit._tokkit import AlignVocab

        n = len(pieces)
        student_pieces = [*pieces, b""]
        offsets = np.zeros(n + 2, dtype=np.int64)
        np.cumsum([len(p) for p in student_pieces], out=offsets[1:])
        special = [-1] * n + [CONTEXT_CODE]
        student_vocab = AlignVocab(offsets, b"".join(student_pieces), special)
        every = self.teacher_rows(texts)
        t_rows = [every[i] for i in seqs.kept]
        device = seqs.ids.device
        t_ids = torch.zeros((len(t_rows), max(len(r) for r in t_rows)), dtype=torch.long)
        t_mask = torch.zeros_like(t_ids)
        for i, r in enumerate(t_rows):
            t_ids[i, : len(r)] = torch.tensor(r)
            t_mask[i, : len(r)] = 1
        al = align(self.teacher_vocab, t_rows, student_vocab, seqs.rows,
                   teacher_len=t_ids.shape[1], student_len=seqs.ids.shape[1])
        return Batch(
            teacher_ids=t_ids.to(device),
            teacher_mask=t_mask.to(device),
            student_ids=seqs.ids,
            student_mask=seqs.mask,
            teacher_chunks=torch.from_numpy(al.teacher_chunks).to(device),
            student_chunks=torch.from_numpy(al.student_chunks).to(device),
            n_chunks=max(int(np.max(al.n_chunks)), 1),
        )

    def teacher(self, batch: Batch, autocast: Any) -> Any:
        return teacher_pass(self.lm.model, batch, ALM, space_mask=self.teacher_space,
                            invalid_ids=None, autocast=autocast)

    def student_loss(self, batch: Batch, teacher_out: Any, denominator: float,
                     pieces: Sequence[bytes], E: torch.Tensor, U: torch.Tensor | None,
                     autocast: Any) -> torch.Tensor:
        """The ALM loss of the predicted rows on ``batch``, divided by ``denominator`` (the
        global chunk weight)."""
        space = torch.tensor([p[:1] in (b" ", b"\n", b"\t") for p in pieces] + [True],
                             device=E.device)
        parts, _ = student_losses(
            self.lm.as_student(E, U, autocast), batch, teacher_out, ALM,
            denominators={"alm": denominator}, space_mask=space, invalid_ids=None,
            projector=None, autocast=autocast,
        )
        return parts["alm"]
