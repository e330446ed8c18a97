"""The cover algorithm against brute-force enumeration in the byteprobs spec's toy world (§8):
every prefix's next-byte distribution, the chain rule, fast vs exact mode, ensembles, and the
tokenization bias the method removes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests import _toy_world as toy
from tokkit.byteprobs import END, ByteEnsemble, ByteLM, generate, score_bytes

PREFIXES = [s for n in range(1, toy.LENGTH) for s in toy.strings(n)]


def vocabularies() -> list[object]:
    out: list[object] = [toy.BruteVocab()]
    try:
        from tokkit import _tokkit

        out.append(_tokkit.ByteVocab.from_str(toy.tokenizer_json()))
    except AttributeError:  # pragma: no cover - before the Rust core lands
        pass
    return out


@pytest.fixture(params=vocabularies(), ids=lambda v: type(v).__name__)
def vocab(request: pytest.FixtureRequest) -> object:
    return request.param


def test_next_byte_equals_the_true_process_on_every_prefix(vocab: object) -> None:
    lm = ByteLM(toy.PerfectLM(), vocab)
    worst = 0.0
    for x in PREFIXES:
        got = lm.next_byte_distribution(x.encode())
        worst = max(worst, float(np.abs(got - toy.true_next(x)).max()))
    assert worst < 1e-12


def test_whole_texts_end_and_chain_rule(vocab: object) -> None:
    lm = ByteLM(toy.PerfectLM(), vocab)
    for s in ["aabababba", "bbbbbbbbb", "abaabaaab"]:
        score = score_bytes(lm, s.encode(), end=True)
        assert score.nll_bits == pytest.approx(-toy.log_prob(s) / math.log(2), abs=1e-9)
        assert score.end_bits == pytest.approx(0.0, abs=1e-9)  # a length-9 text always ends


def test_incremental_state_equals_state_from_scratch(vocab: object) -> None:
    lm = ByteLM(toy.PerfectLM(), vocab)
    state = lm.start(b"")
    for i, b in enumerate(b"abaabbaab"):
        scratch = lm.next_byte_distribution(b"abaabbaab"[:i])
        np.testing.assert_allclose(state.distribution(), scratch, atol=1e-14)
        state.push(b)


def test_naive_token_level_continuation_is_biased_on_149_prefixes() -> None:
    """The regression target of spec §8: conditioning on encode(x) is wrong on 149 prefixes,
    and on 170 more it has no answer at all (encode(x) never starts a longer text)."""
    lm = toy.PerfectLM()
    wrong = undefined = 0
    for x in PREFIXES:
        p = np.exp(lm.logprobs(toy.encode(x)))
        naive = np.zeros(257)
        for v, t in enumerate(toy.TOKENS):
            naive[ord(t[0])] += p[v]
        naive[END] = p[toy.EOS]
        if naive.sum() == 0:
            undefined += 1
            continue
        wrong += bool(np.abs(naive / naive.sum() - toy.true_next(x)).max() > 1e-9)
    assert (wrong, undefined) == (149, 170)


def _cover_sum(lm: toy.PerfectLM, x: str, valid_only: bool) -> float:
    """Σ P(t) over the covers t of x (spec §2), by enumerating token sequences."""
    valid = toy.BruteVocab().valid
    total = 0.0

    def walk(t: tuple[int, ...], text: str, p: float) -> None:
        nonlocal total
        lp = np.exp(lm.logprobs(t))
        for v, piece in enumerate(toy.TOKENS):
            nxt, q = text + piece, p * lp[v]
            if q == 0 or (valid_only and (*t, v) not in valid):
                continue
            if len(nxt) >= len(x):
                total += q if nxt.startswith(x) else 0.0
            elif x.startswith(nxt):
                walk((*t, v), nxt, q)

    walk((), "", 1.0)
    return total


def test_exact_mode_sums_valid_covers_and_fast_mode_all_covers(vocab: object) -> None:
    """With mass leaked onto invalid encodings, exact mode is the BTR sum over valid covers
    only and fast mode over every cover; without a leak both equal the truth."""
    leaky = toy.PerfectLM(leak=0.05)
    for x in ["aab", "b", "abba"]:
        for exact in (True, False):
            got = ByteLM(leaky, vocab, exact=exact).next_byte_distribution(x.encode())
            sums = np.array([_cover_sum(leaky, x + b, valid_only=exact) for b in "ab"])
            np.testing.assert_allclose(got[[ord("a"), ord("b")]], sums / sums.sum(), atol=1e-12)
        clean = [
            ByteLM(toy.PerfectLM(), vocab, exact=e).next_byte_distribution(x.encode())
            for e in (True, False)
        ]
        np.testing.assert_allclose(clean[0], clean[1], atol=1e-14)
    fast = ByteLM(leaky, vocab, exact=False).next_byte_distribution(b"aab")
    exact = ByteLM(leaky, vocab, exact=True).next_byte_distribution(b"aab")
    assert np.abs(fast - exact).max() > 1e-3


def test_distributions_sum_to_one(vocab: object) -> None:
    lm = ByteLM(toy.PerfectLM(leak=0.01), vocab)
    for x in PREFIXES[:60]:
        assert lm.next_byte_distribution(x.encode()).sum() == pytest.approx(1.0, abs=1e-12)


def test_ensembles_of_one_and_of_copies_equal_the_model(vocab: object) -> None:
    a = ByteLM(toy.PerfectLM(), vocab)
    b = ByteLM(toy.PerfectLM(), vocab)
    for x in [b"a", b"abba", b"bbbab"]:
        alone = a.next_byte_distribution(x)
        np.testing.assert_allclose(ByteEnsemble([a]).next_byte_distribution(x), alone, atol=1e-14)
        pair = ByteEnsemble([a, b], weights=[0.3, 0.7]).next_byte_distribution(x)
        np.testing.assert_allclose(pair, alone, atol=1e-14)


def test_greedy_generation_follows_the_most_likely_byte(vocab: object) -> None:
    lm = ByteLM(toy.PerfectLM(), vocab)
    g = generate(lm, b"ab", max_bytes=20, greedy=True)
    assert g.continuation == b"bbbbbbb"  # b→b is 0.6; every text ends after 9 bytes
    assert g.stopped_at_end
