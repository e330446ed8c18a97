"""Next-token log-probabilities from a causal LM, with the KV cache reused across calls.

The byte-level layer asks for ``P(· | context ⊕ ids)`` once per empty-remainder cover, and
successive calls share long prefixes (the document so far). :class:`HFTokenLM` keeps the cache of
its last call and crops it to the common prefix of the next one, so a call usually runs the model
on one or two new tokens. Any object with the :class:`TokenLM` attributes works in its place
(the brute-force tests use an exact table).
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

__all__ = ["HFTokenLM", "TokenLM"]


class TokenLM(Protocol):
    """What the byte-level layer needs from a token-level language model."""

    #: Size of the next-token distribution (the model's output rows).
    rows: int
    #: Id of the token that ends a text, or ``None``.
    end_id: int | None
    #: Number of forward passes so far, and the seconds they took.
    calls: int
    seconds: float

    def logprobs(self, ids: Sequence[int]) -> np.ndarray:
        """Natural-log ``P(v | context ⊕ ids)`` for every row ``v`` (float64, ``rows`` long)."""
        ...


class HFTokenLM:
    """A Hugging Face causal LM directory (or ``tokkit models`` name) as a :class:`TokenLM`.

    Each document is read after one context token, as :func:`tokkit.score.score_model` does (the
    BOS the tokenizer adds, else EOS; a transplant's recorded one first). Rows with no token
    (padding, ``tokkit.json``'s ``masked_ids``) get probability 0. Contexts longer than
    ``window`` tokens keep the context token and the most recent tokens, moving the start in
    steps of ``window // 4`` so the cache is rebuilt rarely.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        device: str = "cpu",
        dtype: str = "float32",
        window: int = 2048,
        context_token: int | str | None = None,
        loaded: tuple[Any, Any] | None = None,
    ) -> None:
        import torch

        from tokkit import models
        from tokkit import score as score_mod

        self.path = models.path(str(model)) if loaded is None else Path(str(model))
        if loaded is None:
            loaded = models.load_causal_lm(self.path, dtype=dtype, device=device)
        self.model: Any = loaded[0]
        self.tokenizer: Any = loaded[1]
        self.model.eval()
        self.device = device
        self.rows = int(self.model.get_output_embeddings().weight.shape[0])
        ctx_max = int(getattr(self.model.config, "max_position_embeddings", 0) or window)
        self.window = max(8, min(window, ctx_max))
        self.context_id = score_mod.resolve_context_token(self.path, self.tokenizer, context_token)
        eos = self.tokenizer.eos_token_id
        self.end_id = int(eos) if eos is not None and int(eos) < self.rows else None
        masked = score_mod.masked_ids(self.path, self.tokenizer, self.rows)
        self._mask = torch.tensor(masked, dtype=torch.long, device=device)
        self.calls = 0
        self.seconds = 0.0
        self._cache: Any = None
        self._cached: list[int] = []
        self._memo: OrderedDict[tuple[int, ...], np.ndarray] = OrderedDict()

    def _context(self, ids: Sequence[int]) -> list[int]:
        head = [self.context_id] if self.context_id is not None else []
        room = self.window - len(head)
        start = 0
        if len(ids) > room:
            step = max(1, self.window // 4)
            start = -(-(len(ids) - room) // step) * step
        return head + list(ids[start:])

    def logprobs(self, ids: Sequence[int]) -> np.ndarray:
        """Natural-log next-token probabilities after the context token and ``ids``."""
        import torch
        from transformers import DynamicCache

        full = self._context(ids)
        if not full:
            raise ValueError("an LM without a context token needs at least one token of context")
        key = tuple(full)
        hit = self._memo.get(key)
        if hit is not None:
            self._memo.move_to_end(key)
            return hit
        common = 0
        for a, b in zip(self._cached, full, strict=False):
            if a != b:
                break
            common += 1
        common = min(common, len(full) - 1)
        t0 = time.perf_counter()
        with torch.inference_mode():
            if self._cache is None or common == 0:
                # A plain DynamicCache (no per-layer sliding-window layers) can always be cropped;
                # the model's masks still apply each layer's window.
                self._cache, common = DynamicCache(), 0
            elif common < len(self._cached):
                self._cache.crop(common - len(self._cached))
            new = torch.tensor([full[common:]], dtype=torch.long, device=self.device)
            out = self.model(input_ids=new, cache=self._cache, use_cache=True)
            logits = out.logits[0, -1].double()
            if self._mask.numel():
                logits.index_fill_(0, self._mask, float("-inf"))
            lp = torch.log_softmax(logits, dim=0).cpu().numpy()
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self._cached = full
        self._memo[key] = lp
        if len(self._memo) > 64:
            self._memo.popitem(last=False)
        return lp
