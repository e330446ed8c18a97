"""tokkit's encoder against HF ``tokenizers`` (0.23.3), id for id: byte-level BPE (GPT-2,
SmolLM2, Qwen2.5-Coder, Llama-3, Qwen2, and o200k and cl100k as ``TikTokenConverter`` writes
them) and SentencePiece-style BPE with byte fallback (Gemma-3, the Llama-2 vocabulary), files
from ``tests._tokenizer_files``. Inputs: seeded random Unicode strings, the shipped corpora, and
llama.cpp's conformance vectors (see ``_vocab_vectors``)."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tokkit._tokkit import BpeTokenizer
from tokkit.exceptions import SerializationError

from .._fixtures import fixture_tokenizer
from .._models import prepared
from .._tokenizer_files import tokenizer_file
from .._vocab_vectors import tokenizer_json, vectors
from ..conftest import CORPORA, SAMPLES

tokenizers = pytest.importorskip("tokenizers")


SOURCES: dict[str, Callable[[], Path]] = {
    "smollm2": lambda: fixture_tokenizer("smollm2-135m-8k"),
    "qwen2.5-coder": lambda: fixture_tokenizer("qwen2.5-coder-0.5b-8k"),
    "smollm2-full": lambda: prepared("smollm2-135m") / "tokenizer.json",
    "qwen2.5-coder-full": lambda: prepared("qwen2.5-coder-0.5b") / "tokenizer.json",
    **{
        name: (lambda name=name: tokenizer_file(name))
        for name in ["gemma3", "gpt2", "llama3", "llama2", "qwen2", "o200k", "cl100k"]
    },
}


#: The full tokenizers behind the fixtures are checked in slow runs (and by the benchmarks).
_SLOW = {"smollm2-full", "qwen2.5-coder-full"}


@pytest.fixture(
    scope="module",
    params=[pytest.param(s, marks=pytest.mark.slow) if s in _SLOW else s for s in SOURCES],
)
def pair(request: pytest.FixtureRequest):
    """``(name, HF tokenizer, tokkit tokenizer)`` read from the same ``tokenizer.json``."""
    path = SOURCES[request.param]()
    return (
        request.param,
        tokenizers.Tokenizer.from_file(str(path)),
        BpeTokenizer.from_file(str(path)),
    )


WORDS = ["the", "The", "don't", "I'm", "naïve", "hello", "world", "tokenizer", "x", "aaaa"]
RUNS = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000"]
PIECES = [
    *["12", "3.14", "2024", "٣٤", "½", "1,000,000"],
    *["İstanbul", "ığdır", "şöyle", "Çağ", "güzel", "ĞÜŞİÖÇ"],  # noqa: RUF001
    *["中文", "日本語", "한국어", "ｆｕｌｌ", "ไทย"],  # noqa: RUF001
    *["😀", "👍🏽", "👨‍👩‍👧", "🇹🇷", "\ufe0f"],
    *["e\u0301", "a\u0308\u0323", "\u094d", "\u200b", "\u200d"],
    *["<|endoftext|>", "<s>", "</s>", "<unk>", "<start_of_turn>", "<table>", "<bos>"],
    *["<|begin_of_text|>", "<|im_start|>", "▁", "▁▁", "<0x41>", "\x00", "\x7f", "\ud7ff"],
    *["'s", "'LL", "...", "->", "#", "{", "}", "def", "():", "//", "“quoted”"],
]


def random_strings(seed: int, count: int) -> list[str]:
    """Seeded mixtures of words, whitespace runs, digits, Turkish, CJK, emoji, combining marks
    and special-token strings (also alone and glued to their neighbours)."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(0, 12)):
            kind = rng.random()
            if kind < 0.35:
                parts.append(rng.choice(WORDS))
            elif kind < 0.6:
                parts.append(rng.choice(RUNS))
            elif kind < 0.95:
                parts.append(rng.choice(PIECES))
            else:
                parts.append(chr(rng.choice([rng.randint(32, 0x2FF), rng.randint(0x370, 0xFFFF)])))
        text = "".join(parts)
        if "\ud800" <= text[:1] <= "\udfff":  # surrogates are not encodable text
            text = text[1:]
        out.append(text.encode("utf-8", "replace").decode("utf-8"))
    out += PIECES + RUNS
    return out


@pytest.mark.parametrize("name", ["gpt2", "llama3", "qwen2", "o200k", "cl100k"])
def test_published_split_patterns_are_recognised(name: str) -> None:
    """Each published pattern is named (and runs on its fast engine, see the Rust tests)."""
    assert BpeTokenizer.from_file(str(SOURCES[name]())).pretokenizer == name


def _mismatches(hf, tk: BpeTokenizer, texts: list[str]) -> list[tuple[str, list[int], list[int]]]:
    bad = []
    for text in texts:
        expected = hf.encode(text, add_special_tokens=False).ids
        got = tk.encode(text)
        if got != expected:
            bad.append((text, expected, got))
    return bad


def test_random_strings(pair) -> None:
    name, hf, tk = pair
    texts = random_strings(seed=5, count=2500)
    bad = _mismatches(hf, tk, texts)
    assert not bad, f"{name}: {len(bad)}/{len(texts)} differ, first: {bad[:3]}"
    # The batch path (piece cache, threads) gives the same ids.
    assert tk.encode_batch(texts[:300]) == [
        hf.encode(t, add_special_tokens=False).ids for t in texts[:300]
    ]


@pytest.mark.slow
def test_many_random_strings(pair) -> None:
    name, hf, tk = pair
    texts = random_strings(seed=11, count=40_000)
    bad = _mismatches(hf, tk, texts)
    assert not bad, f"{name}: {len(bad)}/{len(texts)} differ, first: {bad[:3]}"


def test_corpora(pair) -> None:
    name, hf, tk = pair
    for sample in SAMPLES:
        text = (CORPORA / sample).read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        bad = _mismatches(hf, tk, [text[:200_000], *lines[:400]])
        assert not bad, f"{name} on {sample}: {len(bad)} differ, first: {bad[:1]}"


# tokenizer.json exports of llama.cpp's GGUFs; each vector HF passes, tokkit must pass too.
VECTOR_SETS = ["gpt-2", "qwen2", "phi-3", "llama-bpe", "llama-spm"]


@pytest.mark.parametrize("name", VECTOR_SETS)
def test_llama_cpp_vectors(name: str) -> None:
    path = tokenizer_json(name)
    hf = tokenizers.Tokenizer.from_file(str(path))
    tk = BpeTokenizer.from_file(str(path))
    cases = vectors(name)
    hf_pass = tk_pass = 0
    for text, expected in cases:
        hf_ids = hf.encode(text, add_special_tokens=False).ids
        got = tk.encode(text)
        assert got == hf_ids, f"{name}: {text!r}: tokkit {got}, HF {hf_ids}"
        hf_pass += hf_ids == expected
        tk_pass += got == expected
    assert tk_pass == hf_pass
    # HF itself passes most vectors (all but the dummy-prefix ones for llama-spm).
    assert hf_pass >= (len(cases) * 2) // 3, f"{name}: HF passes only {hf_pass}/{len(cases)}"


@pytest.mark.parametrize("name", ["gemma3", "smollm2", "llama3"])
def test_piece_starts_split_independently(name: str) -> None:
    """Encoding the pieces between piece starts one by one gives the whole text's ids (for
    files without a Prepend normalizer, where pieces encode the same alone)."""
    tk = BpeTokenizer.from_file(str(SOURCES[name]()))
    texts = random_strings(seed=7, count=300)
    words = 0
    for text in texts:
        raw = text.encode()
        starts = tk.piece_starts(text)
        assert starts == sorted(set(starts))
        cuts = [*starts, len(raw)]
        pieces = [raw[a:b].decode() for a, b in itertools.pairwise(cuts)]
        assert [i for p in pieces for i in tk.encode(p)] == tk.encode(text), text
        words += len(starts)
    assert words > len(texts)  # Gemma: spaces start words, not just added tokens


@pytest.mark.parametrize("name", ["gemma3", "llama2"])
def test_sentencepiece_token_bytes(name: str) -> None:
    tk = BpeTokenizer.from_file(str(SOURCES[name]()))
    text = "Hello wörld 中 😀 ok"
    ids = tk.encode(text)
    joined = b"".join(tk.token_bytes(i) for i in ids)
    # Llama-2's normalizer puts a `▁` (a space) before the text; Gemma's does not.
    assert joined == (b" " if name == "llama2" else b"") + text.encode()


def _minimal(model: dict, **extra: object) -> str:
    return json.dumps(
        {"added_tokens": [], "normalizer": None, "pre_tokenizer": None, "model": model, **extra}
    )


@pytest.mark.parametrize(
    ("doc", "named"),
    [
        (_minimal({"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": 0}), "Unigram"),
        (_minimal({"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "a"}), "WordPiece"),
        (
            _minimal({"type": "BPE", "vocab": {"a": 0}, "merges": []}, normalizer={"type": "NFKC"}),
            "NFKC",
        ),
        (
            _minimal(
                {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                added_tokens=[{"id": 0, "content": "a", "lstrip": True, "special": True}],
            ),
            "lstrip",
        ),
    ],
)
def test_unsupported_files_fail_with_what_is_supported(doc: str, named: str) -> None:
    with pytest.raises(SerializationError) as info:
        BpeTokenizer.from_str(doc)
    message = str(info.value)
    assert named in message
    assert "Replace" in message
    assert "byte-level" in message
