"""Each step's tokenizer: a UnigramLM sampled from recent text (Rust ``TokenizerSampler``), or
one of a fixed list of real tokenizers, drawn at ``real_rate`` (``docs/design/hypernet.md`` §2).

The sampler's queue holds the substring counts of the most recent texts: first the start of the
data (``queue_texts`` texts, in batch-sized chunks), then every step's global batch, observed
after that step's tokenizer is drawn. Which tokenizer step ``s`` gets is a function of
(seed, s) and the texts before it, so a resumed run replays the last batches into a fresh
queue (:meth:`StepTokenizers.replay`) and continues exactly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tokkit.hypernet.config import HypernetConfig

__all__ = ["StepTokenizers", "StepVocab"]

#: The noise level of the evaluation tokenizer (the scores themselves are ~1e-3 to 1e-6).
EVAL_NOISE = 1e-12


@dataclass
class StepVocab:
    """One step's vocabulary and this process's sequences in it."""

    pieces: list[bytes]  # id -> raw bytes
    rows: list[list[int]]  # token ids of each text (not cut)
    source: str  # "sampled", or the real tokenizer's name


class _Real:
    """A real tokenizer's regular tokens and encoder (an HF fast tokenizer, as transplant
    loads it)."""

    def __init__(self, spec: str) -> None:
        from tokkit.models import tokenizer_path
        from tokkit.transplant.pipeline import load_tokenizer
        from tokkit.vocab import vocab_from_hf

        self.name = spec
        self.tok = load_tokenizer(tokenizer_path(spec))
        vocab = vocab_from_hf(self.tok)
        self.raw = {i: k[2] for i, k in vocab.keys.items() if not k[0] and k[2]}

    def vocab_for(self, global_texts: Sequence[str], local_texts: Sequence[str], size: int,
                  rng: random.Random) -> StepVocab:
        """The whole step's tokens (every process's texts, so that all processes share one
        vocabulary) plus randomly drawn others, up to ``size`` (a sampled softmax over a large
        vocabulary), renumbered densely; ``local_texts`` encoded in it."""

        def encode(texts: Sequence[str]) -> list[list[int]]:
            rows = self.tok(list(texts), add_special_tokens=False)["input_ids"]
            return [[i for i in r if i in self.raw] for r in rows]

        present = sorted({i for r in encode(global_texts) for i in r})
        others = sorted(set(self.raw) - set(present))
        extra = rng.sample(others, max(0, min(len(others), size - len(present))))
        ids = present + sorted(extra)
        dense = {old: new for new, old in enumerate(ids)}
        return StepVocab([self.raw[i] for i in ids],
                         [[dense[i] for i in r] for r in encode(local_texts)], self.name)


class StepTokenizers:
    """The tokenizer of every step, as a function of the step."""

    def __init__(self, cfg: HypernetConfig) -> None:
        self.cfg = cfg
        self.sampler = self._make(math.log(1e-5), cfg.noise_sigma)
        self._real: dict[str, _Real] = {}

    def _make(self, noise_mu: float, noise_sigma: float) -> Any:
        from tokkit._tokkit import TokenizerSampler

        cfg = self.cfg
        return TokenizerSampler(
            vocab_size=cfg.sample_vocab,
            max_piece_bytes=cfg.max_piece_bytes,
            queue_texts=cfg.queue_texts,
            noise_mu=noise_mu,
            noise_sigma=noise_sigma,
            seed=cfg.seed,
        )

    def replay(self, start: list[list[str]], batch_texts: Callable[[int], list[str]],
               step: int, global_batch: int) -> Any:
        """A fresh queue as it stood before ``step``: the start chunks, then the batches of the
        steps before it that can still be in the queue. Returns the evaluation tokenizer: the
        best pieces of the start chunks, without noise, the same whatever the step."""
        self.sampler = self._make(math.log(1e-5), self.cfg.noise_sigma)
        # The evaluation tokenizer has (next to) no noise: the start's most useful pieces.
        evaluation = self._make(math.log(EVAL_NOISE), 0.0)
        for chunk in start:
            self.sampler.observe(chunk)
            evaluation.observe(chunk)
        eval_tok = evaluation.sample(0)
        keep = -(-self.cfg.queue_texts // global_batch) + 1
        # Identity warm-up steps read no text, so they observed nothing.
        for s in range(max(self.cfg.identity_steps, step - keep), step):
            self.sampler.observe(batch_texts(s))
        return eval_tok

    def for_step(self, step: int, global_texts: list[str], local_texts: list[str]) -> StepVocab:
        """Step ``step``'s vocabulary and ``local_texts`` in it; then ``global_texts`` (the
        whole step's batch, the same in every process) join the queue."""
        cfg = self.cfg
        rng = random.Random(cfg.seed * 1_000_003 + step)
        if cfg.real_tokenizers and rng.random() < cfg.real_rate:
            spec = cfg.real_tokenizers[rng.randrange(len(cfg.real_tokenizers))]
            if spec not in self._real:
                self._real[spec] = _Real(spec)
            out = self._real[spec].vocab_for(global_texts, local_texts, cfg.sample_vocab + 256,
                                             rng)
        else:
            sampled = self.sampler.sample(step)
            out = StepVocab(sampled.pieces(), sampled.encode_batch(local_texts), "sampled")
        self.sampler.observe(global_texts)
        return out
