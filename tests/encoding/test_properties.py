"""tokkit's BPE encoder against HF ``tokenizers`` (0.23.3), property-tested: for GPT-2, Llama-3,
Qwen2, o200k, cl100k, Gemma-3, Llama-2 and tokkit's own BPE and SuperBPE, ids equal to HF's on
random Unicode (every plane, combining marks, emoji, CJK, right-to-left), long runs of one
character (naive BPE's quadratic case), whitespace runs, contractions, digits, and added tokens
spliced into text; ``encode_batch`` equals ``encode`` text by text.

Hypothesis runs derandomized (a fixed seed per test, no example database), so CI sees the same
inputs every run; the cases that found bugs are pinned with ``@example``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import tokkit
from tokkit._tokkit import BpeTokenizer

from .._tokenizer_files import tokenizer_file
from ..conftest import CORPORA

tokenizers = pytest.importorskip("tokenizers")

_TRAIN = [str(CORPORA / "en-prose.txt"), str(CORPORA / "code.txt")]
_SPECIALS = ["<|endoftext|>", "<pad>"]


def _trained(trainer: tokkit.trainers.Trainer) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        tokkit.train(_TRAIN, trainer, out=tmp / "tok")
        return tmp / "tok" / "tokenizer.json"

    return build


SOURCES: dict[str, Callable[[Path], Path]] = {
    **{
        name: (lambda _, name=name: tokenizer_file(name))
        for name in ["gpt2", "llama3", "qwen2", "o200k", "cl100k", "gemma3", "llama2"]
    },
    "tokkit-bpe": _trained(tokkit.trainers.BPE(vocab_size=6000, special_tokens=_SPECIALS)),
    "tokkit-superbpe": _trained(
        tokkit.trainers.SuperBPE(vocab_size=6000, transition_point=0.75, special_tokens=_SPECIALS)
    ),
    "tokkit-superbpe-recommended": _trained(
        tokkit.trainers.SuperBPE(
            vocab_size=6000,
            transition_point=0.75,
            config="recommended",
            special_tokens=_SPECIALS,
        )
    ),
}


class Pair:
    """HF's and tokkit's tokenizer read from the same ``tokenizer.json``."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.hf = tokenizers.Tokenizer.from_file(str(path))
        self.tk = BpeTokenizer.from_file(str(path))
        self.added = sorted(t.content for t in self.hf.get_added_tokens_decoder().values())

    def check(self, texts: list[str]) -> None:
        """tokkit's ids are HF's for each text, and the batch call gives the single calls' ids."""
        single = []
        for text in texts:
            expected = self.hf.encode(text, add_special_tokens=False).ids
            got = self.tk.encode(text)
            assert got == expected, f"{self.name}: {text!r}\n tokkit {got}\n HF     {expected}"
            single.append(got)
        assert self.tk.encode_batch(texts) == single, f"{self.name}: batch differs"


@pytest.fixture(scope="module", params=list(SOURCES))
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return Pair(request.param, SOURCES[request.param](tmp_path_factory.mktemp(request.param)))


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- strategies ---------------------------------------------------------------------------------

_any_char = st.characters(exclude_categories=("Cs",))
_chars = st.one_of(
    _any_char,  # every plane, unassigned code points included
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(categories=("Mn", "Mc", "Me")),  # combining marks
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji
    st.sampled_from(["\u200d", "\ufe0f", "\U0001f3fd", "\U0001f1f9\U0001f1f7"]),
    # SentencePiece's space symbol, a byte token's name, a BOM, a lone CR
    st.sampled_from(["\u2581", "<0x41>", "\ufeff", "\r", "\x00"]),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
    st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF),  # CJK extension B
    st.characters(min_codepoint=0x0590, max_codepoint=0x06FF),  # Hebrew, Arabic
    st.characters(min_codepoint=0x0900, max_codepoint=0x0DFF),  # Indic
    st.sampled_from([" ", "\n", "\t", "\r\n", "\u00a0", "\u3000"]),
)


def _text(max_size: int) -> st.SearchStrategy[str]:
    """Strings of :data:`_chars` (some of which are two code points: ``\r\n``, a flag)."""
    return st.lists(_chars, max_size=max_size).map("".join)


unicode_text = _text(60)

_run_char = st.one_of(
    st.sampled_from(["a", " ", "\n", "0", "\t", "\r\n", "é", "中", "😀", "!", "\u3000", "_", "ab"]),
    _chars,
)
long_run = st.builds(
    lambda prefix, c, n, suffix: prefix + c * n + suffix,
    _text(3),
    _run_char,
    st.integers(min_value=1, max_value=5000),
    _text(3),
)

_space = ["\u0020", "\t", "\r\n", "\n", "\r", "\u00a0", "\u3000", "\u2003", "\u0085", "\u000b"]
whitespace_text = st.lists(
    st.one_of(
        st.sampled_from(_space),
        st.builds(lambda c, n: c * n, st.sampled_from(_space), st.integers(2, 40)),
        st.sampled_from(["a", "Word", "x", ".", "1", "中", "\u200b", "😀", "'s"]),
    ),
    max_size=20,
).map("".join)


def _mixed_case(word: str, flips: list[bool]) -> str:
    return "".join(c.upper() if i < len(flips) and flips[i] else c for i, c in enumerate(word))


_contraction = st.builds(
    _mixed_case,
    st.sampled_from(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]),
    st.lists(st.booleans(), max_size=3),
)
contraction_text = st.lists(
    st.one_of(
        _contraction,
        st.sampled_from(
            ["'thou", "''s", "'", "''", "\u2019s", "'\u017f", "'\u212a", "'ß", "'İ", "'ǅ"]
        ),
        st.sampled_from(["I", "you", "don", "WE", "it", "she", "y", "é", "中", "1"]),
        st.sampled_from([" ", "  ", "\n", "\t", ".", "!"]),
    ),
    max_size=16,
).map("".join)

_digit = st.sampled_from("0123456789٠١٢٣٤٥٦٧٨٩０１２３４５６７８９½²³⅓①")  # noqa: RUF001
digit_text = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=10**60).map(str),
        st.text(_digit, min_size=1, max_size=30),
        st.sampled_from(["1,000,000", "3.14159", "1e-10", "0x1F", "v2.0.1", "2024-01-31", "１２"]),  # noqa: RUF001
        st.text(st.sampled_from("abcXYZ_é中"), min_size=1, max_size=4),
        st.sampled_from([" ", "  ", ",", ".", "-", "\n", "'s"]),
    ),
    max_size=12,
).map("".join)


@st.composite
def special_text(draw: st.DrawFn, added: list[str]) -> str:
    """Added tokens spliced into text: at random places, next to each other and to spaces."""
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(added),
                st.lists(st.sampled_from(added), min_size=2, max_size=4).map("".join),
                st.sampled_from([" ", "  ", "\n", " \n "]),
                _text(8),
            ),
            max_size=12,
        )
    )
    text = "".join(pieces)
    # Also inside text: a token cut into a word, and a token's prefix left dangling.
    token = draw(st.sampled_from(added))
    at = draw(st.integers(0, len(text)))
    cut = draw(st.integers(0, len(token)))
    return text[:at] + token + text[at:] + token[:cut]


def _batch(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(strategy, min_size=1, max_size=4)


# --- properties ---------------------------------------------------------------------------------


@_settings(150)
@given(texts=_batch(unicode_text))
def test_random_unicode(pair: Pair, texts: list[str]) -> None:
    pair.check(texts)


@_settings(25)
@given(texts=_batch(long_run))
@example(texts=["a" * 5000, " " * 3000, "\n" * 2000, "0" * 1000])
@example(texts=["x" + " " * 3000 + "y", "\t" * 2000 + "a", "ab" * 2500, "😀" * 1000])
def test_long_runs(pair: Pair, texts: list[str]) -> None:
    pair.check(texts)


@_settings(150)
@given(texts=_batch(whitespace_text))
def test_whitespace_runs(pair: Pair, texts: list[str]) -> None:
    pair.check(texts)


@_settings(150)
@given(texts=_batch(contraction_text))
@example(texts=["'thou", "''s", "I'M You'Re it'S", "x'LL 'll 'Ll"])
def test_contractions(pair: Pair, texts: list[str]) -> None:
    pair.check(texts)


@_settings(150)
@given(texts=_batch(digit_text))
@example(texts=["x 1000 ١٢٣٤", "12345678901234567890", "a1b22c333d4444"])
def test_digits(pair: Pair, texts: list[str]) -> None:
    pair.check(texts)


@_settings(100)
@given(data=st.data())
def test_added_tokens_in_text(pair: Pair, data: st.DataObject) -> None:
    texts = data.draw(_batch(special_text(pair.added)))
    pair.check(texts)
