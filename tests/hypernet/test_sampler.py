"""``tokkit._tokkit.TokenizerSampler``: tokenizers sampled per batch for ZeTT hypernetwork
training (design/hypernet.md §2), and ``BpeTokenizer.encode_pieces``, which decomposes
a new token into the base tokenizer's tokens."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tokkit._tokkit import BpeTokenizer, SampledTokenizer, TokenizerSampler
from tokkit.exceptions import ConfigError

from .._fixtures import fixture_tokenizer
from ..conftest import CORPORA, SAMPLES


def _texts(size: int = 2048) -> list[str]:
    """2 KB texts from every shipped corpus."""
    texts = []
    for name in SAMPLES:
        text = (CORPORA / name).read_text(encoding="utf-8")
        texts += [text[i : i + size] for i in range(0, min(len(text), 40 * size), size)]
    return texts


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _texts()


def _observed(texts: list[str], **kwargs: object) -> TokenizerSampler:
    sampler = TokenizerSampler(vocab_size=4000, queue_texts=256, seed=5, **kwargs)  # type: ignore[arg-type]
    for start in range(0, len(texts), 32):
        sampler.observe(texts[start : start + 32])
    return sampler


def _same(a: SampledTokenizer, b: SampledTokenizer) -> bool:
    return a.pieces() == b.pieces() and np.array_equal(a.log_probs(), b.log_probs())


def test_reproducible_under_seed_and_step(texts: list[str]) -> None:
    a, b = _observed(texts), _observed(texts)
    x, y = a.sample(11), b.sample(11)
    assert _same(x, y)
    assert x.encode_batch(texts[:16]) == y.encode_batch(texts[:16])
    assert not _same(a.sample(12), x)
    assert _same(_observed(texts, num_threads=1).sample(11), x)


def test_bytes_always_in_and_sizes(texts: list[str]) -> None:
    sampler = _observed(texts)
    assert sampler.queued_texts == len(texts) <= 256
    for step in range(5):
        tok = sampler.sample(step)
        pieces = tok.pieces()
        assert pieces[:256] == [bytes([b]) for b in range(256)]
        assert len(tok) == len(pieces) == len(tok.log_probs())
        assert tok.log_probs().dtype == np.float32
        assert np.isfinite(tok.log_probs()).all()
        assert len(set(pieces)) == len(pieces)
        whitespace = sum(1 for p in pieces[256:] if p.decode("utf-8", "replace").isspace())
        assert len(tok) <= 256 + whitespace + 4000
    empty = TokenizerSampler().sample(0)
    assert len(empty) == 256
    assert empty.decode_bytes(empty.encode("ünï")) == "ünï".encode()


def test_lossless_on_the_corpora(texts: list[str]) -> None:
    tok = _observed(texts).sample(0)
    pieces = tok.pieces()
    for name in SAMPLES:
        text = (CORPORA / name).read_text(encoding="utf-8")
        ids = tok.encode(text)
        assert all(0 <= i < len(tok) for i in ids)
        assert b"".join(pieces[i] for i in ids) == text.encode()
    batch = tok.encode_batch(texts[:64])
    assert batch == [tok.encode(t) for t in texts[:64]]


def test_queue_drops_old_batches() -> None:
    sampler = TokenizerSampler(queue_texts=2)
    sampler.observe(["zqxjv"])
    assert sampler.count(b"zqxj") == 1
    sampler.observe(["one"])
    sampler.observe(["two"])
    assert sampler.queued_texts == 2
    assert sampler.count(b"zqxj") == 0
    assert sampler.count(b"o") == 2


def test_config_errors() -> None:
    for kwargs in (
        {"vocab_size": 0},
        {"max_piece_bytes": 1},
        {"max_piece_bytes": 17},
        {"crop_bytes": 0},
        {"queue_texts": 0},
        {"noise_sigma": -1.0},
        {"noise_mu": math.inf},
    ):
        with pytest.raises(ConfigError):
            TokenizerSampler(**kwargs)  # type: ignore[arg-type]


def test_encode_pieces_decomposes_sampled_tokens(texts: list[str]) -> None:
    base = BpeTokenizer.from_file(fixture_tokenizer("smollm2-135m-8k"))
    covered = {
        b for b in range(256) if base.encode_pieces([bytes([b])]) != [[]]
    }  # bytes the base model has a token for
    pieces = [p for p in _observed(texts).sample(0).pieces()[256:] if set(p) <= covered]
    assert len(pieces) > 1000
    decomposed = base.encode_pieces(pieces)
    assert len(decomposed) == len(pieces)
    for piece, ids in zip(pieces, decomposed, strict=True):
        assert ids
        assert b"".join(base.token_bytes(i) for i in ids) == piece
    # A single pre-token encodes as in a text; the empty batch and a thread count are accepted.
    assert base.encode_pieces([b"hello"]) == [base.encode("hello")]
    assert base.encode_pieces([], num_threads=1) == []
    assert base.encode_pieces(pieces[:50], num_threads=1) == decomposed[:50]
