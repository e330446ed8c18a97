"""The hand-written pre-tokenizer scanners (Llama-3 family, o200k) on the real ``tokenizer.json``
files of Llama-3, Qwen2, cl100k and o200k, against HF ``tokenizers`` (0.23.3): the pieces of
HF's ``Split`` on each file's own pattern, and the ids of the whole tokenizer."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from tokkit._tokkit import BpeTokenizer

from .._tokenizer_files import tokenizer_file
from ..conftest import CORPORA, SAMPLES
from .test_encode_hf import random_strings

tokenizers = pytest.importorskip("tokenizers")

NAMES = ["llama3", "qwen2", "cl100k", "o200k"]

# What these patterns tell apart: cased words with marks, titlecase, modifier and other letters;
# contractions of either case (and long s, U+017F, which folds to `s`); line ends; slashes;
# digit runs.
CHARS = [
    *"abcdeslrtvmABSTRELVMD",
    *"ÉЖǅǈᾈéßжǆ\u017fʰー々中\u0627ก",
    *["\u0301", "\u0308", "\u094d", "\u20dd", "\u0903", "\u200d", "\ufe0f"],
    *"'’./?!-_()\"",  # noqa: RUF001
    *[" ", " ", "  ", "\n", "\r\n", "\t", "\u00a0", "\u3000", "\u2028", "\u0085", "\x0b"],
    *"0179٣½５",  # noqa: RUF001
    *["'s", "'S", "'RE", "'ll", "'LL", "'\u017f", "'T", "'d", "'M", "'Ve", ".\n/", "//", "/"],
    *["😀", "👍🏽", "HTTP", "The", "don't", "1234567"],
]


def cased_strings(seed: int, count: int) -> list[str]:
    """Seeded strings of :data:`CHARS`, now and then with one arbitrary char."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = [rng.choice(CHARS) for _ in range(rng.randint(0, 30))]
        if rng.random() < 0.1:
            parts.append(chr(rng.randint(0x80, 0x2FFFF)))
        out.append("".join(parts).encode("utf-8", "replace").decode("utf-8"))
    return out


@pytest.fixture(scope="module", params=NAMES)
def files(request: pytest.FixtureRequest):
    """``(name, tokenizer.json path, HF tokenizer, tokkit tokenizer)``."""
    path = tokenizer_file(request.param)
    return (
        request.param,
        path,
        tokenizers.Tokenizer.from_file(str(path)),
        BpeTokenizer.from_file(str(path)),
    )


def test_pieces_are_hf_split_pieces(files) -> None:
    name, path, _, tk = files
    split = json.loads(path.read_text(encoding="utf-8"))["pre_tokenizer"]["pretokenizers"][0]
    assert split["type"] == "Split"
    hf_split = tokenizers.pre_tokenizers.Split(
        tokenizers.Regex(split["pattern"]["Regex"]), "isolated"
    )
    assert tk.pretokenizer == name
    for text in cased_strings(seed=5, count=3000):
        raw = text.encode()
        cuts = sorted({0, *tk.piece_starts(text), len(raw)})
        pieces = [raw[a:b].decode() for a, b in itertools.pairwise(cuts)]
        assert pieces == [p for p, _ in hf_split.pre_tokenize_str(text)], (name, text)


def test_ids_are_hf_ids(files) -> None:
    name, _, hf, tk = files
    texts = random_strings(seed=3, count=1000) + cased_strings(seed=4, count=2000)
    for sample in SAMPLES:
        text = (CORPORA / sample).read_text(encoding="utf-8")
        texts += [text[:200_000], *text.splitlines(keepends=True)[:400]]
    bad = [t for t in texts if tk.encode(t) != hf.encode(t, add_special_tokens=False).ids]
    assert not bad, f"{name}: {len(bad)}/{len(texts)} differ, first: {bad[:2]}"
