"""Byte-level probabilities of real models (design/byteprobs.md §8, "real-model smoke test"):
SmolLM2-135M (byte-level BPE) by default, Gemma-3-270M (SentencePiece-style BPE with byte
fallback) and their cross-tokenizer ensemble under the ``slow`` marker."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tokkit.byteprobs import END, ByteEnsemble, ByteLM, generate, score_bytes
from tokkit.byteprobs.lm import HFTokenLM
from tokkit.byteprobs.model import load_vocab
from tokkit.cli import main

from .._models import prepared


@functools.cache
def byte_lm(name: str, exact: bool = True) -> ByteLM:
    lm = HFTokenLM(prepared(name))
    return ByteLM(lm, load_vocab(lm.path), exact=exact, name=name)


def canonical_log2prob(model: ByteLM, text: str) -> float:
    """log2 P(encode(text)) after the context token: the usual token-level score."""
    ids = [int(i) for i in model.tables.vocab.encode(text.encode())]
    total = 0.0
    for k, v in enumerate(ids):
        total += model.lm.logprobs(ids[:k])[v] / math.log(2)
    return total


PROMPTS = [
    b"The capital of France is Par",  # mid-word
    b"def fibonacci(n):\n    if n <",  # code, mid-line
    b"Merhaba, bug\xc3\xbcn hava \xc3",  # Turkish, ends inside a UTF-8 character
    b"Hello \xc3( world \xe4",  # not UTF-8: still bytes
    b"",
]


@pytest.mark.parametrize("prompt", PROMPTS, ids=range(len(PROMPTS)))
def test_smollm2_distributions_sum_to_one(prompt: bytes) -> None:
    d = byte_lm("smollm2-135m").next_byte_distribution(prompt)
    assert d.shape == (257,)
    assert (d >= 0).all()
    assert d.sum() == pytest.approx(1.0, abs=1e-9)


def test_a_byte_without_any_token_is_a_clear_error() -> None:
    from tokkit.exceptions import ConfigError

    with pytest.raises(ConfigError, match="0xff has no token"):
        byte_lm("smollm2-135m").next_byte_distribution(b"Hello \xff")


def test_smollm2_mid_character_prompt_continues_the_character() -> None:
    """After the lead byte 0xC3 only continuation bytes 0x80-0xBF are possible
    (design/byteprobs.md §8.6)."""
    d = byte_lm("smollm2-135m").next_byte_distribution(b"Merhaba, bug\xc3\xbcn hava \xc3")
    inside = d[0x80:0xC0].sum()
    assert inside > 1 - 1e-5
    assert d[END] < 1e-6


def test_smollm2_prompt_ending_mid_word_continues_the_word() -> None:
    model = byte_lm("smollm2-135m")
    g = generate(model, b"The capital of France is Par", max_bytes=3, greedy=True)
    assert g.continuation.startswith(b"is"), g.continuation
    # Token-level continuation of the same prompt has to start a new token after "Par".
    assert g.lm_calls <= 3 * (len(b"The capital of France is Par") + 3)


def test_smollm2_byte_level_logprob_is_at_least_the_canonical_one() -> None:
    model = byte_lm("smollm2-135m")
    text = "The quick brown fox jumps over the lazy dog. Naïve café, 1234 items."
    s = score_bytes(model, text.encode())
    canonical = canonical_log2prob(model, text)
    assert -s.nll_bits >= canonical - 1e-6
    # ... and close to it: most of the mass is on the canonical tokenization.
    assert -s.nll_bits - canonical < 2.0


def test_smollm2_fast_mode_is_at_least_exact_mode() -> None:
    """Fast mode keeps the mass exact mode masks, so per text it can only be higher or equal
    before renormalisation; both are proper distributions."""
    exact = byte_lm("smollm2-135m", True).next_byte_distribution(b'print("hel')
    fast = byte_lm("smollm2-135m", False).next_byte_distribution(b'print("hel')
    assert fast.sum() == pytest.approx(1.0)
    assert exact.sum() == pytest.approx(1.0)
    assert np.argmax(exact) == np.argmax(fast) == ord("l")


def test_smollm2_generation_costs_about_one_forward_per_byte() -> None:
    g = generate(byte_lm("smollm2-135m"), b"Once upon a time", max_bytes=24, greedy=True)
    assert len(g.continuation) == 24
    assert g.lm_calls / 24 < 2.0
    assert g.continuation.decode("utf-8", errors="strict")


def test_cli_generate_and_byte_exact_score(tmp_path: Path) -> None:
    model = str(prepared("smollm2-135m"))

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(
            ["generate", "--model", model, "--prompt", "The capital of France is Par",
             "--max-bytes", "3", "--greedy", "--json", "--progress", "none"]
        )  # fmt: skip
    assert rc == 0
    out = json.loads(buf.getvalue())
    assert out["continuation"].startswith("is")
    assert out["lm_calls"] > 0

    f = tmp_path / "t.txt"
    f.write_text("Hello world. Hello world.", encoding="utf-8")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(
            ["score", "--model", model, "--byte-exact", "--json", "--progress", "none", str(f)]
        )
    assert rc == 0
    out = json.loads(buf.getvalue())
    assert out["bytes"] == 25
    assert 0 < out["bits_per_byte"] < 8
    assert out["mode"] == "byte-exact"


@pytest.mark.slow
@pytest.mark.parametrize("prompt", PROMPTS, ids=range(len(PROMPTS)))
def test_gemma_distributions_sum_to_one(prompt: bytes) -> None:
    d = byte_lm("gemma3-270m").next_byte_distribution(prompt)
    assert d.sum() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.slow
def test_gemma_mid_word_and_logprob_bound() -> None:
    model = byte_lm("gemma3-270m")
    g = generate(model, b"The capital of France is Par", max_bytes=3, greedy=True)
    assert g.continuation.startswith(b"is"), g.continuation
    text = "Bugün hava çok güzel. The weather is nice today."
    s = score_bytes(model, text.encode())
    assert -s.nll_bits >= canonical_log2prob(model, text) - 1e-6


@pytest.mark.slow
def test_ensemble_of_smollm2_and_gemma() -> None:
    smol, gemma = byte_lm("smollm2-135m"), byte_lm("gemma3-270m")
    ens = ByteEnsemble([smol, gemma], weights=[0.5, 0.5])
    prefix = b"import numpy as n"
    d = ens.next_byte_distribution(prefix)
    np.testing.assert_allclose(
        d, 0.5 * smol.next_byte_distribution(prefix) + 0.5 * gemma.next_byte_distribution(prefix)
    )
    assert d.sum() == pytest.approx(1.0)
    assert np.argmax(d) == ord("p")


def test_unigram_and_wordpiece_tokenizers_are_refused_with_what_is_supported(
    tmp_path: Path,
) -> None:
    from tokenizers import Tokenizer, models

    from tokkit.exceptions import TokkitError

    unigram = tmp_path / "unigram.json"
    Tokenizer(models.Unigram([("a", -1.0), ("b", -2.0)], 0, False)).save(str(unigram))
    wordpiece = prepared("minilm-l6") / "tokenizer.json"
    for path in (unigram, wordpiece):
        with pytest.raises(TokkitError, match="BPE") as err:
            load_vocab(path)
        assert "Unigram" in str(err.value) or "WordPiece" in str(err.value)


def test_a_tokenizer_larger_than_the_model_is_reported() -> None:
    from tokkit.exceptions import ModelError

    smol = byte_lm("smollm2-135m")
    gemma_vocab = load_vocab(prepared("gemma3-270m") / "tokenizer.json")
    with pytest.raises(ModelError, match="262144 ids but the model has only 49152"):
        ByteLM(smol.lm, gemma_vocab)


#: Contractions the exact byte-level model once gave probability 0 (`'ve` then whitespace), and
#: their neighbours that always scored.
CONTRACTIONS = ["I've started", "'ve ", "'s ", "it's ok", "don't go", "we're here", "I'll go"]
CONTRACTIONS += ["I'd go", "I'm ok", "they've", "I ve ", "We'VE\tgone", "you'Re\n"]


@pytest.mark.parametrize("name", ["smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b"])
def test_contractions_score_byte_exactly_and_above_the_canonical_tokenization(name: str) -> None:
    model = byte_lm(name)
    # The larger models read the failing texts and two that always scored (time).
    texts = CONTRACTIONS if name == "smollm2-135m" else CONTRACTIONS[:2] + CONTRACTIONS[-2:]
    for text in texts:
        s = score_bytes(model, text.encode())
        assert -s.nll_bits >= canonical_log2prob(model, text) - 1e-6, text


def test_qwen_scores_chars_whose_lead_byte_stays_alone() -> None:
    """Qwen2.5 encodes 킭 (ED 82 AD) as [ED, 82 AD]: once scored with probability 0."""
    model = byte_lm("qwen2.5-coder-0.5b")
    for text in ["킭", "傭 is 킭"]:
        s = score_bytes(model, text.encode())
        assert -s.nll_bits >= canonical_log2prob(model, text) - 1e-6, text


def test_cli_byte_exact_score_of_ive_started_is_no_worse_than_canonical(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("I've started", encoding="utf-8")
    scores = {}
    for mode in ([], ["--byte-exact"]):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = main(["score", "--model", str(prepared("smollm2-135m")), "--json", *mode, str(f)])
        assert rc == 0
        scores[bool(mode)] = json.loads(buf.getvalue())["bits_per_byte"]
    assert scores[True] <= scores[False] + 1e-9


def invalid_end(data: bytes) -> int:
    from tokkit.byteprobs.state import invalid_end

    return invalid_end(data)


def test_smollm2_reads_stress_texts_with_bytes_that_are_not_utf8() -> None:
    """Random stress texts (tests/_stress.py) with a byte no UTF-8 text holds put in: every
    distribution sums to 1, and every byte that continues UTF-8 after the last bad one is
    possible."""
    import random

    from .._stress import stress_text

    rng = random.Random(21)
    model = byte_lm("smollm2-135m")
    # Bytes the vocabulary has (SmolLM2 has no 0xFF: see test_a_byte_without_any_token...).
    bad = [b for b in (0xFF, 0xFE, 0x80, 0xBF, 0xC3, 0xE4, 0xF0) if model.tables.by_first[b].size]
    for _ in range(12):
        data = bytearray(stress_text(rng, 12).encode())
        data.insert(rng.randrange(len(data) + 1), rng.choice(bad))
        state = model.start(b"")
        for i, b in enumerate(data):
            d = state.distribution()
            assert d.sum() == pytest.approx(1.0, abs=1e-9)
            if invalid_end(bytes(data[: i + 1])) == invalid_end(bytes(data[:i])):
                assert d[b] > 0, (bytes(data), i)
            state.push(b)


def test_a_zero_probability_names_the_offset_and_the_text_around_it(tmp_path: Path) -> None:
    """A model that truly gives a byte probability 0 (a softmax cannot; an exact table can)."""
    from tokkit.exceptions import ZeroProbabilityError

    from .._stress import ExactLM, TextWorld, TokenBytes

    vocab = load_vocab(prepared("smollm2-135m") / "tokenizer.json")
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(prepared("smollm2-135m") / "tokenizer.json"))
    first = vocab.first_bytes()
    of = [vocab.token_bytes(i) if first[i] >= 0 else b"" for i in range(vocab.vocab_size)]
    world = TextWorld(hf, {"Hello world": 1.0}, TokenBytes(of))
    model = ByteLM(ExactLM(world), vocab)
    with pytest.raises(ZeroProbabilityError, match=r"byte 6 \(after 'Hello ', at 'there'\)"):
        score_bytes(model, b"Hello there")
