"""The byteprobs spec's toy world (§8): a Markov byte process over {a, b}, a 6-token BPE, and
the *perfect token LM* (the exact table of encoding-prefix probabilities), so covers,
prefix probabilities and next-byte distributions can be checked by enumeration."""

from __future__ import annotations

import itertools
import json
import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

LENGTH = 9
FIRST = {"a": 0.5, "b": 0.5}
STEP = {("a", "a"): 0.8, ("a", "b"): 0.2, ("b", "a"): 0.4, ("b", "b"): 0.6}
TOKENS = ["a", "b", "aa", "ab", "aab", "ba"]
MERGES = [("a", "a"), ("a", "b"), ("aa", "b"), ("b", "a")]
EOS = len(TOKENS)  # the LM's end-of-text row


def prob(s: str) -> float:
    """P(the text starts with s) under the Markov process."""
    if not s:
        return 1.0
    p = FIRST[s[0]]
    for x, y in itertools.pairwise(s):
        p *= STEP[(x, y)]
    return p


def encode(s: str) -> list[int]:
    """BPE as the spec defines it: each merge, in priority order, applied left to right over
    the whole sequence before the next."""
    seq = list(s)
    for left, right in MERGES:
        out: list[str] = []
        i = 0
        while i < len(seq):
            if i + 1 < len(seq) and seq[i] == left and seq[i + 1] == right:
                out.append(left + right)
                i += 2
            else:
                out.append(seq[i])
                i += 1
        seq = out
    return [TOKENS.index(t) for t in seq]


def strings(n: int) -> list[str]:
    return ["".join(p) for p in itertools.product("ab", repeat=n)]


def prefix_table() -> dict[tuple[int, ...], float]:
    """P(token stream starts with t) for every t, EOS included after each whole text."""
    table: dict[tuple[int, ...], float] = defaultdict(float)
    for s in strings(LENGTH):
        enc = (*encode(s), EOS)
        for k in range(len(enc) + 1):
            table[enc[:k]] += prob(s)
    return dict(table)


class PerfectLM:
    """The perfect token LM: ``P(v | t) = table[t ⊕ v] / table[t]``, optionally leaking
    ``leak`` of its mass uniformly onto the extensions no text produces (invalid ones)."""

    rows = len(TOKENS) + 1
    end_id = EOS

    def __init__(self, leak: float = 0.0) -> None:
        self.table = prefix_table()
        self.leak = leak
        self.calls = 0
        self.seconds = 0.0

    def logprobs(self, ids: Sequence[int]) -> np.ndarray:
        self.calls += 1
        t = tuple(int(i) for i in ids)
        base = self.table.get(t, 0.0)
        p = np.array(
            [self.table.get((*t, v), 0.0) / base if base else 0.0 for v in range(self.rows)]
        )
        p = p if base else np.zeros(self.rows)
        invalid = p == 0
        invalid[EOS] = False  # the end of a text is a real event, not an encoding
        if self.leak and base and invalid.any():
            p = (1 - self.leak) * p + self.leak * invalid / invalid.sum()
        with np.errstate(divide="ignore"):
            return np.log(p)


def tokenizer_json() -> str:
    """The toy BPE as an HF ``tokenizer.json`` (byte-level, no regex split)."""
    return json.dumps(
        {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [],
            "normalizer": None,
            "pre_tokenizer": {
                "type": "ByteLevel",
                "add_prefix_space": False,
                "trim_offsets": True,
                "use_regex": False,
            },
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "ignore_merges": False,
                "vocab": {t: i for i, t in enumerate(TOKENS)},
                "merges": [[a, b] for a, b in MERGES],
            },
        }
    )


class BruteVocab:
    """The ``ByteVocab`` interface by enumeration over the toy world: an independent reference
    for the cover algorithm (validity = non-zero probability under the perfect LM)."""

    vocab_size = len(TOKENS)

    def __init__(self) -> None:
        self.valid = {t for t, p in prefix_table().items() if p > 0 and EOS not in t}

    def token_bytes(self, i: int) -> bytes:
        return TOKENS[i].encode()

    def first_bytes(self) -> np.ndarray:
        return np.array([ord(t[0]) for t in TOKENS], dtype=np.int16)

    def special_ids(self) -> np.ndarray:
        return np.zeros(0, dtype=np.uint32)

    def encode(self, data: bytes) -> np.ndarray:
        return np.array(encode(data.decode()), dtype=np.uint32)

    def stable_boundary(self, data: bytes) -> int:
        return 0

    def valid_extensions(self, context: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        ctx = tuple(int(i) for i in context)
        return np.array([(*ctx, int(v)) in self.valid for v in candidates], dtype=bool)


def true_next(x: str) -> np.ndarray:
    """The true next-slot distribution after x (slot 256 = end, only after LENGTH bytes)."""
    out = np.zeros(257)
    if len(x) >= LENGTH:
        out[256] = 1.0
        return out
    for b in "ab":
        out[ord(b)] = prob(x + b) / prob(x)
    return out


def log_prob(x: str) -> float:
    return math.log(prob(x))
