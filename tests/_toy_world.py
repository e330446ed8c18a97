"""Toy worlds for brute-force checks of byte-level probabilities (design/byteprobs.md §8).

A world is a distribution over the texts of a few lengths over a small alphabet, and a tokenizer.
From them follow, by enumeration, the *perfect token LM* (the exact table of encoding-prefix
probabilities), every valid encoding prefix, and the true next-byte distributions, so covers and
the cover algorithm can be checked exactly. Worlds:

- :data:`SPEC`: design/byteprobs.md §8's Markov process over {a, b}, texts of length 9, BPE merges
  ``a a``, ``a b``, ``aa b``, ``b a`` (encoded here in Python, merge by merge);
- :func:`digits_world`: the look-ahead example of design/byteprobs.md §5.4 (merges ``1 2`` and
  ``3 4`` behind the right-to-left digit grouping ``(?=(\\d{3})+(?!\\d))``);
- :func:`spaces_world`: GPT-2's ``\\s+(?!\\S)`` look-ahead over {a, space}.

The last two are encoded by HF ``tokenizers`` from their ``tokenizer.json``, independently of
tokkit.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass
class World:
    """Texts over ``alphabet`` whose lengths are in ``lengths``, each with probability
    ``prob(text) * weight(len)``, tokenized by ``encode`` into ids of ``tokens``."""

    alphabet: str
    lengths: tuple[int, ...]
    prob: Callable[[str], float]
    tokens: list[str]  # the bytes of each id, as text
    encode: Callable[[str], list[int]]
    tokenizer_json: str

    @property
    def eos(self) -> int:
        return len(self.tokens)

    @property
    def length(self) -> int:
        return max(self.lengths)

    def strings(self, n: int) -> list[str]:
        return ["".join(p) for p in itertools.product(self.alphabet, repeat=n)]

    @cached_property
    def texts(self) -> dict[str, float]:
        return {s: self.prob(s) / len(self.lengths) for n in self.lengths for s in self.strings(n)}

    @cached_property
    def prefix_prob(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for s, p in self.texts.items():
            for k in range(len(s) + 1):
                out[s[:k]] += p
        return dict(out)

    @cached_property
    def table(self) -> dict[tuple[int, ...], float]:
        """P(token stream starts with t) for every t, EOS after each whole text."""
        table: dict[tuple[int, ...], float] = defaultdict(float)
        for s, p in self.texts.items():
            enc = (*self.encode(s), self.eos)
            for k in range(len(enc) + 1):
                table[enc[:k]] += p
        return dict(table)

    @property
    def prefixes(self) -> list[str]:
        return [s for n in range(1, self.length) for s in self.strings(n)]

    def true_next(self, x: str) -> np.ndarray:
        """The true next-slot distribution after x (slot 256: the end of the text)."""
        out = np.zeros(257)
        px = self.prefix_prob[x]
        for c in self.alphabet:
            out[ord(c)] = self.prefix_prob.get(x + c, 0.0) / px
        out[256] = self.texts.get(x, 0.0) / px
        return out


class PerfectLM:
    """The perfect token LM of a world: ``P(v | t) = table[t ⊕ v] / table[t]``, optionally
    leaking ``leak`` of its mass uniformly onto the extensions no text produces."""

    def __init__(self, world: World, leak: float = 0.0) -> None:
        self.world = world
        self.table = world.table
        self.rows = len(world.tokens) + 1
        self.end_id = world.eos
        self.leak = leak
        self.calls = 0
        self.seconds = 0.0

    def logprobs(self, ids: Sequence[int]) -> np.ndarray:
        self.calls += 1
        t = tuple(int(i) for i in ids)
        base = self.table.get(t, 0.0)
        if not base:
            p = np.zeros(self.rows)
        else:
            p = np.array([self.table.get((*t, v), 0.0) / base for v in range(self.rows)])
            invalid = p == 0
            invalid[self.end_id] = False  # the end of a text is an event, not an encoding
            if self.leak and invalid.any():
                p = (1 - self.leak) * p + self.leak * invalid / invalid.sum()
        with np.errstate(divide="ignore"):
            return np.log(p)


class BruteVocab:
    """The ``ByteVocab`` interface by enumeration over a world: an independent reference for
    the cover algorithm (valid = non-zero probability under the perfect LM; no stable
    boundary is ever claimed)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.vocab_size = len(world.tokens)
        self.valid = {t for t, p in world.table.items() if p > 0 and world.eos not in t}

    def token_bytes(self, i: int) -> bytes:
        return self.world.tokens[i].encode()

    def first_bytes(self) -> np.ndarray:
        return np.array([t.encode()[0] for t in self.world.tokens], dtype=np.int16)

    def special_ids(self) -> np.ndarray:
        return np.zeros(0, dtype=np.uint32)

    def encode(self, data: bytes) -> np.ndarray:
        return np.array(self.world.encode(data.decode()), dtype=np.uint32)

    def stable_boundary(self, data: bytes) -> int:
        return 0

    def valid_extensions(self, context: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        ctx = tuple(int(i) for i in context)
        return np.array([(*ctx, int(v)) in self.valid for v in candidates], dtype=bool)


def tokenizer_json(tokens: list[str], merges: list[tuple[str, str]], pre: dict) -> str:
    return json.dumps(
        {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [],
            "normalizer": None,
            "pre_tokenizer": pre,
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
                "vocab": {t: i for i, t in enumerate(tokens)},
                "merges": [[a, b] for a, b in merges],
            },
        }
    )


def byte_level(use_regex: bool) -> dict:
    return {
        "type": "ByteLevel",
        "add_prefix_space": False,
        "trim_offsets": True,
        "use_regex": use_regex,
    }


def _hf_encoder(tokenizer_json: str, tokens: list[str]) -> Callable[[str], list[int]]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tokenizer_json)
    return lambda s: tok.encode(s, add_special_tokens=False).ids


# -- the toy world of design/byteprobs.md §8 -----------------------------------------------

_SPEC_TOKENS = ["a", "b", "aa", "ab", "aab", "ba"]
_SPEC_MERGES = [("a", "a"), ("a", "b"), ("aa", "b"), ("b", "a")]
_FIRST = {"a": 0.5, "b": 0.5}
_STEP = {("a", "a"): 0.8, ("a", "b"): 0.2, ("b", "a"): 0.4, ("b", "b"): 0.6}


def markov(s: str) -> float:
    """P(the text starts with s) under the toy world's Markov process."""
    if not s:
        return 1.0
    p = _FIRST[s[0]]
    for x, y in itertools.pairwise(s):
        p *= _STEP[(x, y)]
    return p


def spec_encode(s: str) -> list[int]:
    """BPE merge by merge: each merge, in priority order, applied left to right over
    the whole sequence before the next."""
    seq = list(s)
    for left, right in _SPEC_MERGES:
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
    return [_SPEC_TOKENS.index(t) for t in seq]


SPEC = World(
    alphabet="ab",
    lengths=(9,),
    prob=markov,
    tokens=_SPEC_TOKENS,
    encode=spec_encode,
    tokenizer_json=tokenizer_json(_SPEC_TOKENS, _SPEC_MERGES, byte_level(False)),
)


def _uniform(alphabet: str) -> Callable[[str], float]:
    return lambda s: float(len(alphabet)) ** -len(s)


def digits_world() -> World:
    """design/byteprobs.md §5.4: ``encode("12") = [12]`` but ``encode("1234") = [1, 2, 34]``."""
    tokens = ["1", "2", "3", "4", "12", "34"]
    pre = {
        "type": "Sequence",
        "pretokenizers": [
            {
                "type": "Split",
                "pattern": {"Regex": r"(?=(\d{3})+(?!\d))"},
                "behavior": "Isolated",
                "invert": False,
            },
            byte_level(False),
        ],
    }
    text = tokenizer_json(tokens, [("1", "2"), ("3", "4")], pre)
    return World("1234", (2, 4), _uniform("1234"), tokens, _hf_encoder(text, tokens), text)


def spaces_world() -> World:
    """GPT-2's ``\\s+(?!\\S)``: ``"a  "`` is ``a|␠␠`` but ``"a  a"`` is ``a|␠|␠a``."""
    tokens = ["a", "Ġ", "aa", "Ġa", "ĠĠ", "Ġaa"]
    merges = [("a", "a"), ("Ġ", "a"), ("Ġ", "Ġ"), ("Ġa", "a")]
    text = tokenizer_json(tokens, merges, byte_level(True))
    byte_tokens = [t.replace("Ġ", " ") for t in tokens]
    return World("a ", (3, 6), _uniform("a "), byte_tokens, _hf_encoder(text, tokens), text)
