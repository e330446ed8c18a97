"""Byte-level models from token-level ones: next-byte distributions, scoring, generation and
ensembles of models whose tokenizers differ (design/byteprobs.md §4, §7)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tokkit.byteprobs.state import END, NUM_SLOTS, ByteState, VocabTables
from tokkit.exceptions import ConfigError, TokkitError, ZeroProbabilityError

__all__ = ["ByteEnsemble", "ByteLM", "ByteScore", "Generation", "load_vocab"]


def _as_bytes(text: bytes | str) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


def load_vocab(tokenizer_json: str | os.PathLike[str]) -> Any:
    """tokkit's Rust byte vocabulary for a ``tokenizer.json`` (or a directory holding one)."""
    from tokkit import _tokkit

    path = Path(tokenizer_json)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise ConfigError(
            f"{path}: no tokenizer.json; byte-level probabilities need the model's fast "
            "tokenizer file (save it with tokenizer.save_pretrained)"
        )
    try:
        return _tokkit.ByteVocab.from_file(str(path))
    except TokkitError as e:
        raise type(e)(f"{path}: byte-level probabilities cannot use this tokenizer: {e}") from e


class ByteLM:
    """A token-level LM read as an exact byte-level LM.

    Args:
        lm: A :class:`~tokkit.byteprobs.lm.TokenLM` (e.g. :class:`~tokkit.byteprobs.lm.HFTokenLM`).
        vocab: Its tokenizer as a ``tokkit._tokkit.ByteVocab`` (see :func:`load_vocab`).
        exact: Mask extensions no text could produce (design/byteprobs.md §5); off is the
            reference's fast mode.
        exact_tol: Unchecked probability mass allowed per step in exact mode.
        prune: Relative probability below which covers are dropped.
    """

    def __init__(
        self,
        lm: Any,
        vocab: Any,
        *,
        exact: bool = True,
        exact_tol: float = 1e-6,
        prune: float = 1e-12,
        name: str = "",
    ) -> None:
        self.lm = lm
        self.tables = VocabTables(vocab, int(lm.rows))
        self.exact, self.exact_tol, self.prune = exact, exact_tol, prune
        self.name = name

    @classmethod
    def from_pretrained(
        cls,
        model: str | os.PathLike[str],
        *,
        device: str = "cpu",
        dtype: str = "float32",
        exact: bool = True,
        **kwargs: Any,
    ) -> ByteLM:
        """A model directory (or ``tokkit models`` name) with its own ``tokenizer.json``."""
        from tokkit.byteprobs.lm import HFTokenLM

        lm = HFTokenLM(model, device=device, dtype=dtype)
        return cls(lm, load_vocab(lm.path), exact=exact, name=str(model), **kwargs)

    def start(self, prefix: bytes | str = b"") -> ByteState:
        """The state after reading ``prefix``: tokens before its stable boundary are encoded
        once; only the bytes after it are read one by one (design/byteprobs.md §4.4)."""
        data = _as_bytes(prefix)
        state = ByteState(
            self.lm, self.tables, exact=self.exact, exact_tol=self.exact_tol, prune=self.prune
        )
        h = int(self.tables.vocab.stable_boundary(data))
        if h:
            state.head = [int(i) for i in self.tables.vocab.encode(data[:h])]
        state.push_bytes(data[h:])
        return state

    def next_byte_distribution(self, prefix: bytes | str) -> np.ndarray:
        """``P(next byte | prefix)``: 257 probabilities (bytes 0-255, then end of text)."""
        return self.start(prefix).distribution().copy()

    def logprob(self, text: bytes | str, *, end: bool = False) -> ByteScore:
        """Log-probability of ``text`` read byte by byte from the start of a document (plus the
        end of the text when ``end``)."""
        return score_bytes([self], _as_bytes(text), end=end)


class ByteEnsemble:
    """A weighted mean of the next-byte distributions of several byte-level models
    (design/byteprobs.md §7)."""

    def __init__(self, members: Sequence[ByteLM], weights: Sequence[float] | None = None) -> None:
        if not members:
            raise ConfigError("an ensemble needs at least one model")
        w = np.ones(len(members)) if weights is None else np.asarray(weights, dtype=np.float64)
        if (
            w.shape != (len(members),)
            or not np.isfinite(w).all()
            or (w < 0).any()
            or not w.sum() > 0
        ):
            shown = ", ".join(f"{x:g}" for x in w.ravel())  # plain numbers, not np.float64(...)
            raise ConfigError(
                f"need {len(members)} finite non-negative weights with a positive sum, got "
                f"[{shown}]"
            )
        self.members = list(members)
        self.weights = w / w.sum()

    def start(self, prefix: bytes | str = b"") -> list[ByteState]:
        return [m.start(prefix) for m in self.members]

    def distribution(self, states: Sequence[ByteState]) -> np.ndarray:
        return sum(
            (w * s.distribution() for w, s in zip(self.weights, states, strict=True)),
            np.zeros(NUM_SLOTS),
        )

    def next_byte_distribution(self, prefix: bytes | str) -> np.ndarray:
        return self.distribution(self.start(prefix))


@dataclass
class ByteScore:
    """Byte-level log-likelihood of a text."""

    bits_per_byte: float
    bytes: int
    nll_bits: float
    end_bits: float | None
    lm_calls: int
    seconds: float
    lm_seconds: float
    unchecked_mass: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _members(models: Sequence[ByteLM] | ByteLM | ByteEnsemble) -> ByteEnsemble:
    if isinstance(models, ByteEnsemble):
        return models
    if isinstance(models, ByteLM):
        return ByteEnsemble([models])
    return ByteEnsemble(list(models))


def _lm_totals(ens: ByteEnsemble) -> tuple[int, float]:
    lms = {id(m.lm): m.lm for m in ens.members}
    return sum(lm.calls for lm in lms.values()), sum(lm.seconds for lm in lms.values())


def score_bytes(
    models: Sequence[ByteLM] | ByteLM | ByteEnsemble,
    text: bytes,
    *,
    end: bool = False,
    progress: Any = None,
) -> ByteScore:
    """Σ -log2 P(byte | bytes before) over ``text`` under one model or an ensemble."""
    ens = _members(models)
    calls0, lm_s0 = _lm_totals(ens)
    t0 = time.perf_counter()
    states = ens.start(b"")
    nll = 0.0
    for i, b in enumerate(text):
        try:
            nll -= math.log2(_read_byte(ens, states, b))
        except TokkitError as e:
            raise e.prefixed(_where(text, i)) from e
        if progress is not None:
            progress.advance(1)
    end_bits = None
    if end:
        pe = ens.distribution(states)[END]
        end_bits = -math.log2(pe) if pe > 0 else math.inf
    calls1, lm_s1 = _lm_totals(ens)
    n = len(text)
    return ByteScore(
        bits_per_byte=nll / n if n else math.nan,
        bytes=n,
        nll_bits=nll,
        end_bits=end_bits,
        lm_calls=calls1 - calls0,
        seconds=time.perf_counter() - t0,
        lm_seconds=lm_s1 - lm_s0,
        unchecked_mass=max(s.stats.unchecked_mass for s in states),
    )


def _read_byte(ens: ByteEnsemble, states: list[ByteState], b: int) -> float:
    """P(b | the bytes read so far), then read ``b`` into every state."""
    p = float(ens.distribution(states)[b])
    if not p > 0:
        raise ZeroProbabilityError(
            f"the model gives this byte (0x{b:02x}) probability 0: no tokenization it allows "
            "covers the text here (exact mode counts only tokenizations the tokenizer can "
            "produce; fast mode keeps the rest). For valid UTF-8 text this is a tokkit bug: "
            "please report it with the text"
        )
    for s in states:
        s.push(b)
    return p


def _where(text: bytes, i: int, before: int = 40, after: int = 20) -> str:
    """``byte I`` and the text around it, for error messages."""

    def show(part: bytes) -> str:
        return repr(part.decode("utf-8", errors="backslashreplace"))

    return f"byte {i} (after {show(text[max(0, i - before) : i])}, at {show(text[i : i + after])})"


@dataclass
class Generation:
    """A byte-level continuation and what it cost."""

    prompt: bytes
    continuation: bytes
    stopped_at_end: bool
    lm_calls: int
    seconds: float
    lm_seconds: float

    @property
    def text(self) -> str:
        return self.continuation.decode("utf-8", errors="replace")

    def to_json(self) -> dict[str, Any]:
        n = max(1, len(self.continuation))
        return {
            "prompt": self.prompt.decode("utf-8", errors="replace"),
            "continuation": self.text,
            "bytes": len(self.continuation),
            "stopped_at_end": self.stopped_at_end,
            "lm_calls": self.lm_calls,
            "lm_calls_per_byte": self.lm_calls / n,
            "seconds": self.seconds,
            "lm_seconds": self.lm_seconds,
            "outside_lm_share": 1.0 - self.lm_seconds / self.seconds if self.seconds else 0.0,
        }


def pick_byte(
    dist: np.ndarray, *, greedy: bool, temperature: float, top_p: float, rng: np.random.Generator
) -> int:
    """One slot from ``dist``: greedy (also when temperature < 0.1), else temperature applied
    in probability space (``p^(1/T)``, eps 1e-7) and optional top-p (design/byteprobs.md §4.5)."""
    if greedy or temperature < 0.1:
        return int(np.argmax(dist))
    p = np.power(np.maximum(dist, 0.0) + 1e-7, 1.0 / temperature)
    p[dist <= 0] = 0.0
    p /= p.sum()
    if top_p < 1.0:
        order = np.argsort(-p)
        keep = order[: int(np.searchsorted(np.cumsum(p[order]), top_p) + 1)]
        q = np.zeros_like(p)
        q[keep] = p[keep]
        p = q / q.sum()
    return int(rng.choice(p.size, p=p))


def generate(
    models: Sequence[ByteLM] | ByteLM | ByteEnsemble,
    prompt: bytes | str,
    *,
    max_bytes: int = 100,
    greedy: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int = 0,
    stop_at_end: bool = True,
    progress: Any = None,
) -> Generation:
    """Continue ``prompt`` byte by byte (one model or an ensemble); prompts may end mid-token
    or mid-character."""
    ens = _members(models)
    data = _as_bytes(prompt)
    rng = np.random.default_rng(seed)
    calls0, lm_s0 = _lm_totals(ens)
    t0 = time.perf_counter()
    states = ens.start(data)
    out = bytearray()
    ended = False
    while len(out) < max_bytes:
        dist = ens.distribution(states)
        if not stop_at_end and dist[END] > 0:  # continue with the bytes alone
            dist = dist.copy()
            dist[END] = 0.0
            if not dist.sum() > 0:
                break
            dist /= dist.sum()
        slot = pick_byte(dist, greedy=greedy, temperature=temperature, top_p=top_p, rng=rng)
        if slot == END:
            ended = True
            break
        out.append(slot)
        for s in states:
            s.push(slot)
        if progress is not None:
            progress.advance(1)
    calls1, lm_s1 = _lm_totals(ens)
    return Generation(
        prompt=data,
        continuation=bytes(out),
        stopped_at_end=ended,
        lm_calls=calls1 - calls0,
        seconds=time.perf_counter() - t0,
        lm_seconds=lm_s1 - lm_s0,
    )
