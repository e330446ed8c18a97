"""Trainer configurations: one frozen, typed object per algorithm, passed to :func:`tokkit.train`.

They mirror the core's ``TrainerConfig`` (``rust/tokkit-core/src/train/trainer.rs``), which owns
the defaults and the checks: an object is checked by the core when it is made, so a bad value
fails at once with a :class:`~tokkit.exceptions.ConfigError`. Their JSON form (``to_dict``) is
what a recipe holds and what ``tokkit.json`` records, so a run can be repeated exactly::

    >>> from tokkit.trainers import SuperBPE, Trainer
    >>> t = SuperBPE(vocab_size=32000, transition_point=0.75)
    >>> Trainer.from_dict(t.to_dict()) == t
    True
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from tokkit.exceptions import ConfigError

__all__ = ["BPE", "CharBPE", "Hybrid", "SuperBPE", "Supertoken", "Trainer"]


@dataclass(frozen=True, kw_only=True)
class Trainer:
    """What every trainer configuration can do (the base of :class:`BPE` and the others)."""

    #: The core's name of the algorithm (the ``algorithm`` key of the JSON form).
    algorithm: ClassVar[str]
    vocab_size: int

    def __post_init__(self) -> None:
        if isinstance(getattr(self, "special_tokens", ()), str):
            raise ConfigError("special_tokens must be a sequence of strings, not one string")
        # Tuples keep the object hashable and frozen all the way down.
        if "special_tokens" in self._fields():
            object.__setattr__(self, "special_tokens", tuple(self.special_tokens))  # type: ignore[attr-defined]
        self._check()

    def _check(self) -> None:
        """The core's checks of this configuration (a ``ConfigError`` on a bad value)."""
        from tokkit import _tokkit

        _tokkit.trainer_config(self.to_json())

    @classmethod
    def _fields(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    #: Parameters left out of the JSON form while unset (so older recipes read the same).
    _omit_unset: ClassVar[tuple[str, ...]] = ("extend",)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"algorithm": ..., every parameter}``."""
        out: dict[str, Any] = {"algorithm": self.algorithm}
        for name in self._fields():
            value = getattr(self, name)
            if value is None and name in self._omit_unset:
                continue
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def replace(self, **changes: Any) -> Trainer:
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Trainer:
        """The trainer of a JSON form (a recipe, or the ``trainer`` of a ``tokkit.json``).

        Raises:
            ConfigError: No or an unknown ``algorithm``, or a key the algorithm does not take.
        """
        name = data.get("algorithm")
        cls = TRAINERS.get(str(name))
        if cls is None:
            raise ConfigError(f"unknown algorithm {name!r}; choose one of: {', '.join(TRAINERS)}")
        params = {k: v for k, v in data.items() if k != "algorithm"}
        unknown = sorted(set(params) - set(cls._fields()))
        if unknown:
            raise ConfigError(
                f"{name} takes no {', '.join(unknown)}; its parameters are: "
                f"{', '.join(cls._fields())}"
            )
        try:
            return cls(**params)
        except TypeError as e:
            raise ConfigError(f"{name}: {e}") from None


@dataclass(frozen=True, kw_only=True)
class BPE(Trainer):
    """Byte-level BPE with HF ``BpeTrainer`` semantics (same merges, same order, same ids).

    Args:
        vocab_size: Final vocabulary size, counting special tokens and the 256-byte alphabet.
        pretokenizer: ``gpt2``, ``llama3``, ``o200k``, ``none`` (no split) or a custom regex,
            which means what it means to HF ``tokenizers`` (Oniguruma's syntax).
        min_frequency: Stop at the first pair seen fewer times than this.
        special_tokens: Special tokens, given ids ``0..k-1``.
        max_token_length: HF's ``max_token_length``, off-by-one included: the longest token
            has ``max(2, n - 1)`` bytes.
        max_token_chars: Inclusive cap: no token longer than this many bytes. Give one of the
            two caps at most.
        full_alphabet: Start from all 256 bytes (else only the bytes seen).
        extend: A pretrained tokenizer to extend instead of training from scratch: a
            tokenizer directory or ``tokenizer.json``, a model directory, or a prepared model
            name (``tokkit models``). Its tokens, ids, merges and added tokens are kept, its
            pre-tokenizer and normalizer are used, and ``vocab_size`` counts its ids too
            (leave ``pretokenizer`` and ``special_tokens`` unset).
    """

    algorithm: ClassVar[str] = "bpe"
    vocab_size: int
    pretokenizer: str = "gpt2"
    min_frequency: int = 0
    special_tokens: tuple[str, ...] = ()
    max_token_length: int | None = None
    max_token_chars: int | None = None
    full_alphabet: bool = True
    extend: str | None = None


@dataclass(frozen=True, kw_only=True)
class SuperBPE(Trainer):
    """SuperBPE (Liu et al., 2025): classic BPE up to the transition point, then superword
    merges across whitespace. Reads the corpus twice, so it trains on files only.

    Args:
        vocab_size: Final vocabulary size.
        transition_point: Merges learned in stage 1, as a count (``24000``) or a fraction of
            ``vocab_size`` (``0.75``).
        config: ``paper`` (the 2025 paper's pre-tokenizers; the most compressive on our English
            benchmark) or ``recommended`` (the authors' later configuration).
        max_words: Most space-separated words in one token (paper: 4).
        forbid_colon_space: Reject superwords that contain ``": "`` (the paper's rule).
        min_frequency, special_tokens, full_alphabet: As in :class:`BPE`.
        extend: As in :class:`BPE`: the base (byte-level) is stage 1, and superword merges
            are learned on top of it under ``config``'s stage-2 pre-tokenizer; give no
            ``transition_point`` then.
    """

    _omit_unset: ClassVar[tuple[str, ...]] = ("extend", "transition_point")
    algorithm: ClassVar[str] = "superbpe"
    vocab_size: int
    transition_point: float | None = None
    config: Literal["paper", "recommended"] = "paper"
    max_words: int = 4
    forbid_colon_space: bool = True
    min_frequency: int = 0
    special_tokens: tuple[str, ...] = ()
    full_alphabet: bool = True
    extend: str | None = None

    def __post_init__(self) -> None:
        t = self.transition_point
        if isinstance(t, float) and t >= 1 and t.is_integer():
            object.__setattr__(self, "transition_point", int(t))  # a count written as 24000.0
        super().__post_init__()


@dataclass(frozen=True, kw_only=True)
class CharBPE(Trainer):
    """KL3M-style character-level BPE: byte-level BPE with an inclusive token length cap,
    padded with whitespace-run tokens to exactly ``vocab_size`` ids.

    Args:
        vocab_size: Exact final vocabulary size.
        max_token_chars: Inclusive cap in bytes (KL3M: 3 for 4k and 8k, 4 for 16k).
        pad_tokens: Ids reserved for padding ("  ", "\\n\\n", ...); training stops that many ids
            short (KL3M reserves 13).
        pretokenizer, min_frequency, special_tokens, full_alphabet: As in :class:`BPE`.
    """

    algorithm: ClassVar[str] = "charbpe"
    vocab_size: int
    max_token_chars: int
    pad_tokens: int = 0
    pretokenizer: str = "gpt2"
    min_frequency: int = 0
    special_tokens: tuple[str, ...] = ()
    full_alphabet: bool = True


@dataclass(frozen=True, kw_only=True)
class Supertoken(Trainer):
    """TokenAdapt-style supertokens: BPE over seeded random multi-word chunks of each document;
    a text is one pre-token at inference.

    Args:
        vocab_size: Final vocabulary size.
        seed: Seed of the chunk sampling (same seed and corpus, same output).
        chunk_distribution: Chunk lengths in chars with weights summing to 1, as
            ``"4-5:0.2,6-9:0.8"`` (default: TokenAdapt's table, normalised).
        min_frequency, special_tokens, max_token_length, max_token_chars, full_alphabet: As in
            :class:`BPE`.
    """

    algorithm: ClassVar[str] = "supertoken"
    vocab_size: int
    seed: int = 0
    chunk_distribution: str | None = None
    min_frequency: int = 0
    special_tokens: tuple[str, ...] = ()
    max_token_length: int | None = None
    max_token_chars: int | None = None
    full_alphabet: bool = True


@dataclass(frozen=True, kw_only=True)
class Hybrid(Trainer):
    """The morphological hybrid (design/hybrid.md §5): a language's root groups and suffix
    classes first, then byte-level BPE pieces trained on what they leave uncovered. Encoding is
    lossless (``decode(encode(x)) == x``) for every string.

    Args:
        vocab_size: Final vocabulary size: 2 case markers, the special tokens, the roots, the
            suffixes, the 256 bytes and the learned pieces.
        lang: A shipped language (:data:`tokkit.hybrid.LANGS`) or a directory holding
            ``language.json`` and ``roots.tsv``.
        segmentation: ``best_path`` (fewest tokens), ``pure_path`` (fewest non-dictionary
            tokens) or ``longest_match`` (the published greedy order).
        max_roots: Keep only the first N root groups (for small vocabularies).
        min_frequency: Stop BPE at the first pair seen fewer times than this.
        special_tokens: Special tokens, given the ids after the two case markers.
        whole_words: After BPE, the N most frequent space-led lower-case words that would take
            more than one token become single pieces, in place of the last N learned pieces
            (design/hybrid.md §5.4): fewer tokens per word, each such token a whole inflected
            word rather than a morpheme. 0 (the default) adds none.
    """

    algorithm: ClassVar[str] = "hybrid"
    vocab_size: int = 32768
    lang: str = "tr"
    segmentation: Literal["best_path", "pure_path", "longest_match"] = "best_path"
    max_roots: int | None = None
    min_frequency: int = 0
    special_tokens: tuple[str, ...] = ("<pad>", "<bos>", "<eos>")
    whole_words: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.lang, os.PathLike):
            object.__setattr__(self, "lang", os.fspath(self.lang))  # kept as text in recipes
        super().__post_init__()

    def _check(self) -> None:
        from tokkit import _tokkit
        from tokkit.hybrid import language

        if not isinstance(self.lang, str):
            raise ConfigError(f"lang must be a string (a name or a directory), not {self.lang!r}")
        _tokkit.hybrid_check_config(self.to_json())
        language(self.lang)  # an unknown language fails here, before the corpus is read


#: Every trainer by algorithm name.
TRAINERS: dict[str, type[Trainer]] = {
    t.algorithm: t for t in (BPE, SuperBPE, CharBPE, Supertoken, Hybrid)
}
