"""The cover algorithm against brute-force enumeration in toy worlds (design/byteprobs.md §8): every
prefix's next-byte distribution, the chain rule, fast vs exact mode, ensembles, look-ahead
pre-tokenizers, and the tokenization bias the method removes.

Each world runs with two vocabularies: :class:`tests._toy_world.BruteVocab` (validity by
enumeration, no stable boundary: checks the Python algorithm alone) and tokkit's Rust
``ByteVocab`` built from the world's ``tokenizer.json`` (checks validity, stable boundaries and
covers too)."""

from __future__ import annotations

import codecs
import math
from typing import Any

import numpy as np
import pytest

from tests import _toy_world as toy
from tokkit.byteprobs import END, ByteEnsemble, ByteLM, generate, score_bytes

WORLDS = {"spec": toy.SPEC, "digits": toy.digits_world(), "spaces": toy.spaces_world()}


def _vocab(world: toy.World, kind: str) -> object:
    if kind == "brute":
        return toy.BruteVocab(world)
    from tokkit import _tokkit

    return _tokkit.ByteVocab.from_str(world.tokenizer_json)


@pytest.fixture(params=[(w, k) for w in WORLDS for k in ("brute", "rust")], ids="-".join)
def case(request: pytest.FixtureRequest) -> tuple[toy.World, object]:
    name, kind = request.param
    return WORLDS[name], _vocab(WORLDS[name], kind)


def test_world_encoders_agree_with_hf_tokenizers() -> None:
    from tokenizers import Tokenizer

    world = toy.SPEC
    hf = Tokenizer.from_str(world.tokenizer_json)
    for s in world.strings(world.length):
        assert world.encode(s) == hf.encode(s, add_special_tokens=False).ids


def test_lookahead_fixture_has_two_empty_remainder_covers_of_12() -> None:
    """design/byteprobs.md §5.4: encode("12") = [12], yet [1, 2] starts encode("1234")."""
    world = WORLDS["digits"]
    assert world.encode("12") == [4]
    assert world.encode("1234") == [0, 1, 5]
    assert {(4,), (0, 1)} <= toy.BruteVocab(world).valid


def test_next_byte_equals_the_true_process_on_every_prefix(case: tuple) -> None:
    world, vocab = case
    lm = ByteLM(toy.PerfectLM(world), vocab)
    worst = 0.0
    for x in world.prefixes:
        got = lm.next_byte_distribution(x.encode())
        worst = max(worst, float(np.abs(got - world.true_next(x)).max()))
    assert worst < 1e-12


def test_whole_texts_chain_rule_and_end(case: tuple) -> None:
    world, vocab = case
    lm = ByteLM(toy.PerfectLM(world), vocab)
    texts = list(world.texts)
    for s in texts[:: max(1, len(texts) // 7)]:
        score = score_bytes(lm, s.encode(), end=True)
        assert score.end_bits is not None
        bits = score.nll_bits + score.end_bits
        assert bits == pytest.approx(-math.log2(world.texts[s]), abs=1e-9)


def test_incremental_state_equals_state_from_scratch(case: tuple) -> None:
    world, vocab = case
    lm = ByteLM(toy.PerfectLM(world), vocab)
    text = list(world.texts)[-3].encode()
    state = lm.start(b"")
    for i, b in enumerate(text):
        scratch = lm.next_byte_distribution(text[:i])
        np.testing.assert_allclose(state.distribution(), scratch, atol=1e-14)
        state.push(b)


def test_naive_token_level_continuation_is_biased_on_149_prefixes() -> None:
    """The regression target of design/byteprobs.md §8: conditioning on encode(x) is wrong on
    149 prefixes, and on 170 more it has no answer at all (encode(x) never starts a longer text)."""
    world = toy.SPEC
    lm = toy.PerfectLM(world)
    wrong = undefined = 0
    for x in world.prefixes:
        p = np.exp(lm.logprobs(world.encode(x)))
        naive = np.zeros(257)
        for v, t in enumerate(world.tokens):
            naive[ord(t[0])] += p[v]
        naive[END] = p[world.eos]
        if naive.sum() == 0:
            undefined += 1
            continue
        wrong += bool(np.abs(naive / naive.sum() - world.true_next(x)).max() > 1e-9)
    assert (wrong, undefined) == (149, 170)


def _cover_sum(lm: toy.PerfectLM, x: str, vocab: Any, valid_only: bool) -> float:
    """Σ P(t) over the covers t of x (design/byteprobs.md §2), by enumerating token sequences; with
    ``valid_only``, over those ``vocab`` calls valid."""
    world = lm.world
    total = 0.0

    def is_valid(t: tuple[int, ...]) -> bool:
        if isinstance(vocab, toy.BruteVocab):
            return t in vocab.valid
        return bool(vocab.is_valid(list(t)))

    def walk(t: tuple[int, ...], text: str, p: float) -> None:
        nonlocal total
        lp = np.exp(lm.logprobs(t))
        for v, piece in enumerate(world.tokens):
            nxt, q = text + piece, p * lp[v]
            if q == 0 or (valid_only and not is_valid((*t, v))):
                continue
            if len(nxt) >= len(x):
                total += q if nxt.startswith(x) else 0.0
            elif x.startswith(nxt):
                walk((*t, v), nxt, q)

    walk((), "", 1.0)
    return total


def _end_prob(lm: toy.PerfectLM, x: str) -> float:
    """P(encode(x) ⊕ EOS): the text ends after x."""
    ids = lm.world.encode(x)
    p = 1.0
    for k in range(len(ids) + 1):
        nxt = ids[k] if k < len(ids) else lm.end_id
        p *= float(np.exp(lm.logprobs(ids[:k])[nxt]))
    return p


def test_exact_mode_sums_valid_covers_and_fast_mode_all_covers(case: tuple) -> None:
    """With mass leaked onto encodings the world never produces, exact mode is the BTR sum over
    the covers the vocabulary calls valid and fast mode over every cover; without a leak both
    equal the truth. (Rust validity means "some text produces it", the brute-force one "some
    text of this world": a leak onto the difference is legitimately kept by the former.)"""
    world, vocab = case
    leaky = toy.PerfectLM(world, leak=0.05)
    for x in world.prefixes[1 :: max(1, len(world.prefixes) // 5)]:
        for exact in (True, False):
            got = ByteLM(leaky, vocab, exact=exact).next_byte_distribution(x.encode())
            sums = np.array(
                [_cover_sum(leaky, x + c, vocab, valid_only=exact) for c in world.alphabet]
            )
            end = _end_prob(leaky, x)
            slots = [ord(c) for c in world.alphabet]
            np.testing.assert_allclose(got[slots], sums / (sums.sum() + end), atol=1e-12)
        clean = [
            ByteLM(toy.PerfectLM(world), vocab, exact=e).next_byte_distribution(x.encode())
            for e in (True, False)
        ]
        np.testing.assert_allclose(clean[0], clean[1], atol=1e-14)


def test_fast_mode_differs_when_mass_leaks() -> None:
    world = toy.SPEC
    leaky = toy.PerfectLM(world, leak=0.05)
    vocab = toy.BruteVocab(world)
    fast = ByteLM(leaky, vocab, exact=False).next_byte_distribution(b"aab")
    exact = ByteLM(leaky, vocab, exact=True).next_byte_distribution(b"aab")
    assert np.abs(fast - exact).max() > 1e-3


def test_distributions_sum_to_one(case: tuple) -> None:
    world, vocab = case
    lm = ByteLM(toy.PerfectLM(world, leak=0.01), vocab)
    for x in world.prefixes[:40]:
        assert lm.next_byte_distribution(x.encode()).sum() == pytest.approx(1.0, abs=1e-12)


def test_ensembles_of_one_and_of_copies_equal_the_model(case: tuple) -> None:
    world, vocab = case
    a = ByteLM(toy.PerfectLM(world), vocab)
    b = ByteLM(toy.PerfectLM(world), vocab)
    for x in world.prefixes[:: max(1, len(world.prefixes) // 4)]:
        alone = a.next_byte_distribution(x)
        np.testing.assert_allclose(ByteEnsemble([a]).next_byte_distribution(x), alone, atol=1e-14)
        pair = ByteEnsemble([a, b], weights=[0.3, 0.7]).next_byte_distribution(x)
        np.testing.assert_allclose(pair, alone, atol=1e-14)


def test_greedy_generation_follows_the_most_likely_byte() -> None:
    lm = ByteLM(toy.PerfectLM(toy.SPEC), toy.BruteVocab(toy.SPEC))
    g = generate(lm, b"ab", max_bytes=20, greedy=True)
    assert g.continuation == b"bbbbbbb"  # b→b is 0.6; every text ends after 9 bytes
    assert g.stopped_at_end


def test_generation_past_the_end_takes_the_best_byte_and_stops_when_none_is_left() -> None:
    """Without stopping at the end, the end slot is skipped (it used to be picked again and
    again); when only the end has mass, generation stops."""
    lm = ByteLM(toy.PerfectLM(toy.SPEC), toy.BruteVocab(toy.SPEC))
    g = generate(lm, b"ab", max_bytes=20, greedy=True, stop_at_end=False)
    assert g.continuation == b"bbbbbbb"
    assert not g.stopped_at_end


class _RandomByteLM:
    """A token LM over the 256 byte tokens + EOS whose next-token distribution is a seeded
    random function of the context."""

    rows = 257
    end_id = 256

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0

    def logprobs(self, ids: Any) -> np.ndarray:
        self.calls += 1
        seed = hash(tuple(int(i) for i in ids)) % 2**32
        logits = np.random.default_rng(seed).normal(size=self.rows) * 3
        return logits - np.logaddexp.reduce(logits)


def test_a_byte_vocabulary_model_is_its_own_byte_model() -> None:
    """design/byteprobs.md §8.7: with the 256 bytes as the whole vocabulary, the conversion is
    the identity."""
    from tokkit._tokkit import ByteVocab
    from tokkit.vocab import BYTE_CHARS

    tokens = list(BYTE_CHARS)
    vocab = ByteVocab.from_str(toy.tokenizer_json(tokens, [], toy.byte_level(False)))
    lm = _RandomByteLM()
    fast, exact = ByteLM(lm, vocab, exact=False), ByteLM(lm, vocab, exact=True)
    for prefix in [b"", b"a", b"hello w", "çağ".encode(), b"\xc3"]:
        want = np.exp(lm.logprobs(list(prefix)))
        ends = _utf8_prefix(prefix, final=True)  # a text never ends inside a character
        fast_want = np.where(np.arange(257) == END, want * ends, want)
        np.testing.assert_allclose(
            fast.next_byte_distribution(prefix), fast_want / fast_want.sum(), atol=1e-12
        )
        # Exact mode also removes the bytes no UTF-8 text has next (and the end mid-character).
        ok = np.array([_utf8_prefix(prefix + bytes([b])) for b in range(256)] + [True])
        ok[256] = ends
        masked = np.where(ok, want, 0.0)
        np.testing.assert_allclose(exact.next_byte_distribution(prefix), masked / masked.sum())


def _utf8_prefix(data: bytes, final: bool = False) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True
