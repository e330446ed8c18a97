"""Short random texts that stress pre-tokenizers, and the exact token LM of a set of them: the
brute-force oracle of byte-level probabilities on real tokenizers (design/byteprobs.md §8).

A :class:`TextWorld` is a distribution over a few texts, encoded by HF ``tokenizers`` (not by
tokkit). Its perfect token LM (:class:`ExactLM`) gives every token sequence the probability that
the token stream starts with it, so the exact next-byte distributions must equal the texts' own
(:meth:`TextWorld.true_next`), and a text's byte-level probability must equal the sum over every
tokenization that decodes to it (:meth:`TextWorld.tokenization_sum`). A valid continuation that
tokkit rejects, or a stable boundary that moves, shows up as a difference.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from functools import cached_property

import numpy as np

#: Units a stress text is made of, by kind.
UNITS: dict[str, list[str]] = {
    "contraction": [
        *("'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'rE", "'ve", "'VE", "'Ve", "'vE"),
        *(
            "'m",
            "'M",
            "'ll",
            "'LL",
            "'Ll",
            "'lL",
            "'d",
            "'D",
            "'",
            "\u2019s",
            "\u2019ve",
            "'x",
            "'v",
            "'r",
        ),
    ],
    "word": ["I", "we", "They", "a", "x", "ve", "ABC", "é", "Ünal", "naïve", "İ", "ß", "l"],
    "space": [
        *(" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\r", "\x0b", "\x0c"),
        *("\u00a0", "\u3000", "\u2009", "\u200b", "\u2028", "\u0085"),
    ],
    "digit": ["0", "1", "12", "123", "1234", "٣", "\uff11", "²", "½"],
    "punct": [".", "...", "!?", "--", "—", '"', "(", ")", "''", "/", "://", "#", "@@", "_", "\\"],
    "script": ["中文", "日本語", "Привет", "مرحبا", "שלום", "हिन्दी", "한국어", "Ελλάδα", "\u0627"],
    "emoji": ["😀", "👍🏽", "👨\u200d👩\u200d👧", "🇹🇷", "❤️", "\u0301", "\x01", "\x7f"],
}


def stress_text(rng: random.Random, max_bytes: int) -> str:
    """1-5 random units (kinds drawn uniformly), cut to at most ``max_bytes`` whole units."""
    out = ""
    for _ in range(rng.randint(1, 5)):
        unit = rng.choice(UNITS[rng.choice(list(UNITS))])
        if out and len((out + unit).encode()) > max_bytes:
            break
        out += unit
    return out


def stress_texts(seed: int, count: int, max_bytes: int = 14) -> list[str]:
    """``count`` distinct stress texts (seeded)."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < count:
        out[stress_text(rng, max_bytes)] = None
    return list(out)


class TokenBytes:
    """The bytes of every id (empty for special tokens) and the ids of every byte string."""

    def __init__(self, of: list[bytes]) -> None:
        self.of = of
        self.ids: dict[bytes, list[int]] = defaultdict(list)
        for i, b in enumerate(of):
            if b:
                self.ids[b].append(i)
        self.longest = max(map(len, self.ids))


class TextWorld:
    """Texts with probabilities, tokenized by ``tokenizer`` (an HF ``tokenizers.Tokenizer``)."""

    def __init__(self, tokenizer: object, texts: dict[str, float], token_bytes: TokenBytes) -> None:
        self.hf = tokenizer
        total = sum(texts.values())
        self.texts = {t.encode(): p / total for t, p in texts.items()}
        self.token_bytes = token_bytes
        #: The id that ends a text: one row past the vocabulary.
        self.eos = len(token_bytes.of)

    def encode(self, text: bytes) -> list[int]:
        return list(self.hf.encode(text.decode(), add_special_tokens=False).ids)  # type: ignore[attr-defined]

    @cached_property
    def encodings(self) -> dict[bytes, tuple[int, ...]]:
        return {t: tuple(self.encode(t)) for t in self.texts}

    @cached_property
    def table(self) -> dict[tuple[int, ...], float]:
        """P(the token stream starts with t) for every t with a positive one (EOS included)."""
        table: dict[tuple[int, ...], float] = defaultdict(float)
        for text, p in self.texts.items():
            enc = (*self.encodings[text], self.eos)
            for k in range(len(enc) + 1):
                table[enc[:k]] += p
        return dict(table)

    @cached_property
    def children(self) -> dict[tuple[int, ...], dict[int, float]]:
        out: dict[tuple[int, ...], dict[int, float]] = defaultdict(dict)
        for t, p in self.table.items():
            if t:
                out[t[:-1]][t[-1]] = p
        return dict(out)

    @cached_property
    def prefix_prob(self) -> dict[bytes, float]:
        out: dict[bytes, float] = defaultdict(float)
        for text, p in self.texts.items():
            for k in range(len(text) + 1):
                out[text[:k]] += p
        return dict(out)

    def true_next(self, x: bytes) -> np.ndarray:
        """The texts' next-slot distribution after ``x`` (slot 256: the end of the text)."""
        out = np.zeros(257)
        px = self.prefix_prob[x]
        for b in range(256):
            out[b] = self.prefix_prob.get(x + bytes([b]), 0.0) / px
        out[256] = self.texts.get(x, 0.0) / px
        return out

    def tokenizations(self, text: bytes) -> Iterator[tuple[int, ...]]:
        """Every token sequence (of the whole vocabulary) that decodes to ``text``."""
        ids, longest = self.token_bytes.ids, self.token_bytes.longest

        def walk(pos: int, seq: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
            if pos == len(text):
                yield seq
                return
            for end in range(pos + 1, min(len(text), pos + longest) + 1):
                for i in ids.get(text[pos:end], ()):
                    yield from walk(end, (*seq, i))

        return walk(0, ())

    def tokenization_sum(self, text: bytes) -> float:
        """Σ over every tokenization t of ``text`` of P(t ⊕ EOS) under the perfect LM."""
        return sum(self.table.get((*t, self.eos), 0.0) for t in self.tokenizations(text))


class ExactLM:
    """The perfect token LM of a :class:`TextWorld` (a ``TokenLM``): ``P(v | t) =
    table[t ⊕ v] / table[t]``."""

    def __init__(self, world: TextWorld) -> None:
        self.world = world
        self.rows = world.eos + 1
        self.end_id = world.eos
        self.calls = 0
        self.seconds = 0.0

    def logprobs(self, ids: Sequence[int]) -> np.ndarray:
        self.calls += 1
        t = tuple(int(i) for i in ids)
        base = self.world.table.get(t, 0.0)
        out = np.full(self.rows, -np.inf)
        if base > 0:
            for v, p in self.world.children.get(t, {}).items():
                out[v] = np.log(p / base)
        return out
