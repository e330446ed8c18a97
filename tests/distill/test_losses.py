"""Invariants of the ALM and companion losses (design/distill.md §6), on small random tensors:
log-probabilities, chunk reductions, self-distillation, merging and parity with naive
references (``_loss_batches.py``)."""

from __future__ import annotations

import math

import pytest
import torch

from tokkit.distill import losses as L
from tokkit.exceptions import ConfigError

from ._loss_batches import (
    EPS,
    KINDS,
    TAU,
    ZERO_KINDS,
    Batch,
    Tensor,
    binary_entropy,
    dense,
    naive_debiased_merged,
    naive_divergence,
    naive_plain,
    random_batch,
    self_batch,
)

# ------------------------------------------------------------------------------------------
# Log-probabilities


def test_masked_log_softmax_rows_normalised() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = (torch.randn(2, 7, 30, generator=gen) * 5).to(torch.bfloat16)
    logp = L.masked_log_softmax(logits, vocab_size=25, invalid_ids=[3, 4, 99])
    assert logp.dtype == torch.float32
    torch.testing.assert_close(logp.logsumexp(-1), torch.zeros(2, 7), atol=1e-6, rtol=0)
    assert bool((logp[..., 25:] < -1e8).all())
    assert bool((logp[..., [3, 4]] < -1e8).all())
    assert bool((logp[..., :3] > -1e3).all())


def test_token_logprobs_shift_and_masking() -> None:
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 6, 20, generator=gen)
    ids = torch.randint(0, 18, (2, 6), generator=gen)
    got = L.token_logprobs(logits, ids, vocab_size=18)
    masked = logits.clone()
    masked[..., 18:] = -math.inf
    logp = torch.log_softmax(masked, -1)
    for b in range(2):
        assert float(got[b, 0]) == 0.0
        for i in range(1, 6):
            assert abs(float(got[b, i]) - float(logp[b, i - 1, ids[b, i]])) < 1e-6
    assert bool((got <= 0).all())


def test_space_logprobs_nonpositive_and_correct() -> None:
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 5, 12, generator=gen) * 4
    space = torch.zeros(10, dtype=torch.bool)  # shorter than the logits: padded with False
    space[[1, 4, 7]] = True
    sigma = L.space_logprobs(logits, space)
    assert bool((sigma <= 0).all())
    want = torch.softmax(logits.double(), -1)[..., [1, 4, 7]].sum(-1).log()
    torch.testing.assert_close(sigma.double(), want, atol=1e-6, rtol=0)
    everything = torch.ones(12, dtype=torch.bool)
    # All ids are boundaries: sigma is exactly log 1 = 0 after the clamp, never above.
    assert float(L.space_logprobs(logits, everything).max()) <= 0.0
    with pytest.raises(ConfigError):
        L.space_logprobs(logits, torch.zeros(12, dtype=torch.bool))


def test_space_mask_of() -> None:
    seq = [
        (False, b" a"),
        (False, b"a"),
        (True, b""),
        (False, b"\n"),
        (False, b"\tx"),
        (False, b""),
    ]
    assert L.space_mask_of(seq).tolist() == [True, False, True, True, True, False]
    mapping = {0: (False, "", b"x"), 3: (False, "", b" y"), 4: (True, "<s>", b"")}
    assert L.space_mask_of(mapping, size=6).tolist() == [False, False, False, True, True, False]


def test_space_mask_of_vocab() -> None:
    from tokkit.vocab import vocab_from_json

    data = {
        "model": {"type": "BPE", "vocab": {"a": 0, "Ġa": 1, "Ċ": 2, "ĉb": 3, "b": 4}},
        "pre_tokenizer": {"type": "ByteLevel"},
        "decoder": {"type": "ByteLevel"},
        "added_tokens": [{"id": 5, "content": "<s>", "special": True}],
    }
    vocab = vocab_from_json(data, {"bos": "<s>"})
    mask = L.space_mask_of(vocab, size=8)
    assert mask.tolist() == [False, True, True, True, False, True, False, False]


# ------------------------------------------------------------------------------------------
# Chunk reductions


def test_chunk_reductions_match_loops() -> None:
    gen = torch.Generator().manual_seed(3)
    chunks = torch.tensor([[0, 0, 1, -1, 2, 2, 2, -1], [-1, 0, 1, 1, 3, -1, -1, -1]])
    values = torch.randn(2, 8, generator=gen)
    hidden = torch.randn(2, 8, 3, generator=gen)
    sums = L.chunk_sums(values, chunks, 5)
    sizes = L.chunk_sizes(chunks, 5)
    last = L.chunk_last(values, chunks, 5, fill=-7.0)
    last_h = L.chunk_last(hidden, chunks, 5)
    for b in range(2):
        for c in range(5):
            members = [i for i in range(8) if chunks[b, i] == c]
            assert int(sizes[b, c]) == len(members)
            assert abs(float(sums[b, c]) - float(values[b, members].sum())) < 1e-6
            if members:
                assert float(last[b, c]) == float(values[b, members[-1]])
                assert torch.equal(last_h[b, c], hidden[b, members[-1]])
            else:
                assert float(last[b, c]) == -7.0
                assert bool((last_h[b, c] == 0).all())


# ------------------------------------------------------------------------------------------
# Same model, same or equivalent tokenization


@pytest.mark.parametrize("diagonal", [True, False])
@pytest.mark.parametrize("kind", ZERO_KINDS)
def test_self_distillation_is_exactly_zero(kind: str, diagonal: bool) -> None:
    b = self_batch(4, diagonal=diagonal)
    for merge in (None, 0.1):
        loss, stats = b.loss(kind=kind, merge_threshold=merge)
        assert stats["chunks"] > 0
        assert float(loss.detach()) == 0.0


@pytest.mark.parametrize("diagonal", [True, False])
def test_self_distillation_binary_ce_gradient_zero(diagonal: bool) -> None:
    b = self_batch(5, diagonal=diagonal)
    loss, _ = b.loss(kind="binary_ce", merge_threshold=0.1)
    loss.backward()
    assert b.student_logits.grad is not None
    assert float(b.student_logits.grad.abs().max()) < 1e-6
    # The value is the binary entropy of p^(1/τ), not 0.
    assert float(loss.detach()) > 0.01


def test_self_distillation_binary_ce_value_is_binary_entropy() -> None:
    b = self_batch(6, diagonal=False)
    loss, stats = b.loss(kind="binary_ce", merge_threshold=None, debias=False)
    want = naive_plain(b, "binary_ce")
    # Same value from the definition: the mean over chunks of H(exp(L/τ - ε)).
    logp = torch.log_softmax(b.teacher_logits.double(), -1)
    ell = logp[:, :-1].gather(-1, b.teacher_ids[:, 1:, None]).squeeze(-1)
    m = dense(b.teacher_chunks, b.n_chunks)[:, 1:]
    lt = torch.einsum("bt,btc->bc", ell, m)
    valid = m.sum(1) > 0
    entropy = binary_entropy((lt / TAU - EPS).exp())
    assert abs(float(want) - float((entropy * valid).sum() / valid.sum())) < 1e-9
    assert abs(float(loss.detach()) - float(want)) < 1e-5
    assert stats["teacher_logp"] == pytest.approx(stats["student_logp"])


@pytest.mark.parametrize("kind", KINDS)
def test_equivalent_tokenization_permuted_vocabulary(kind: str) -> None:
    """A student whose vocabulary is a permutation of the teacher's, with the same model
    (logits permuted the same way): the same distribution over texts."""
    b = self_batch(7, diagonal=False)
    vocab = b.teacher_logits.shape[-1]
    perm = torch.randperm(vocab, generator=torch.Generator().manual_seed(8))
    student_logits = torch.empty_like(b.teacher_logits)
    student_logits[..., perm] = b.teacher_logits
    student_logits.requires_grad_(True)
    space = torch.zeros(vocab, dtype=torch.bool)
    space[perm[b.teacher_space]] = True
    loss, _ = L.alm_loss(
        b.teacher_logits,
        student_logits,
        b.teacher_ids,
        perm[b.teacher_ids],
        b.teacher_chunks,
        b.teacher_chunks,
        teacher_space_mask=b.teacher_space,
        student_space_mask=space,
        kind=kind,  # type: ignore[arg-type]
    )
    loss.backward()
    assert student_logits.grad is not None
    if kind != "abs":  # |x| has a kink at 0: rounding picks a side, so its gradient is ±1
        assert float(student_logits.grad.abs().max()) < 1e-5
    if kind != "binary_ce":
        assert abs(float(loss.detach())) < 1e-5


# ------------------------------------------------------------------------------------------
# Merging


def test_merging_conserves_chunk_logprob_sum() -> None:
    gen = torch.Generator().manual_seed(9)
    valid = torch.rand(4, 12, generator=gen) < 0.8
    valid[:, 9:] = False
    lt = -torch.rand(4, 12, generator=gen) * 5
    ls = -torch.rand(4, 12, generator=gen) * 5
    sig_t = -torch.rand(4, 12, generator=gen) * 4
    sig_s = -torch.rand(4, 12, generator=gen) * 4
    merged = L.merge_chunks(lt, ls, sig_t, sig_s, valid, 0.1)
    assert int(merged.valid.sum()) < int(valid.sum())  # something merged
    for before, after in ((lt, merged.teacher_logp), (ls, merged.student_logp)):
        torch.testing.assert_close((before * valid).sum(1), after.sum(1), atol=1e-5, rtol=0)
    # Integer-valued L makes every partial sum exact: conservation is then bitwise.
    ints = -torch.randint(0, 50, (4, 12), generator=gen).float()
    merged = L.merge_chunks(ints, ints, sig_t, sig_s, valid, 0.1)
    assert torch.equal((ints * valid).sum(1), merged.teacher_logp.sum(1))
    # sigma of a group is the sigma of its last chunk.
    for b in range(4):
        for g in range(int(merged.groups[b].max()) + 1):
            last = int((merged.groups[b] == g).nonzero().max())
            assert float(merged.teacher_sigma[b, g]) == float(sig_t[b, last])
            assert float(merged.student_sigma[b, g]) == float(sig_s[b, last])


def test_merging_threshold_zero_merges_nothing() -> None:
    gen = torch.Generator().manual_seed(10)
    valid = torch.rand(3, 10, generator=gen) < 0.8
    # Finite but tiny boundary probabilities: exp underflows to 0 below -104 in float32.
    sig_t = -torch.rand(3, 10, generator=gen) * 300
    groups = L.merge_groups(sig_t, valid, 0.0)
    for b in range(3):
        assert groups[b][valid[b]].tolist() == list(range(int(valid[b].sum())))
        assert bool((groups[b][~valid[b]] == -1).all())


def test_merging_threshold_one_keeps_only_forced_boundaries() -> None:
    valid = torch.tensor([[True, True, False, True, True, True, False]])
    groups = L.merge_groups(torch.zeros(1, 7), valid, 1.0)
    # Forced closes: before the invalid chunk and after the last valid one.
    assert groups.tolist() == [[0, 0, -1, 1, 1, 1, -1]]


def test_merge_loss_with_threshold_zero_equals_unmerged() -> None:
    b = random_batch(11)
    merged, _ = b.loss(merge_threshold=0.0)
    plain, _ = b.loss(merge_threshold=None)
    assert float(merged.detach()) == float(plain.detach())


# ------------------------------------------------------------------------------------------
# Parity with the naive references


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [12, 13])
def test_parity_with_naive_notebook_loss(kind: str, seed: int) -> None:
    b = random_batch(seed)
    loss, _ = b.loss(kind=kind, debias=False, merge_threshold=None)
    assert abs(float(loss.detach()) - float(naive_plain(b, kind))) <= 1e-5 * max(
        1.0, float(loss.detach())
    )


@pytest.mark.parametrize("kind", ["binary_ce", "reverse_binary_kl", "abs", "joschu_k3"])
@pytest.mark.parametrize("threshold", [0.1, 0.5])
@pytest.mark.parametrize("seed", [14, 15])
def test_parity_with_naive_debiased_merged_loss(kind: str, threshold: float, seed: int) -> None:
    b = random_batch(seed)
    loss, stats = b.loss(kind=kind, debias=True, merge_threshold=threshold)
    if threshold == 0.5:  # these seeds do merge at 0.5; the reference must follow
        assert stats["chunks"] < stats["chunks_unmerged"]
    want = naive_debiased_merged(b, kind, threshold)
    assert abs(float(loss.detach()) - float(want)) <= 1e-5 * max(1.0, float(loss.detach()))


def test_parity_gradient_with_naive_notebook_loss() -> None:
    b = random_batch(16)
    loss, _ = b.loss(debias=False, merge_threshold=None)
    loss.backward()
    assert b.student_logits.grad is not None
    ref_logits = b.student_logits.detach().double().requires_grad_(True)
    ref = Batch(**{**b.__dict__, "student_logits": ref_logits})
    naive_plain_grad(ref).backward()
    assert ref_logits.grad is not None
    torch.testing.assert_close(
        b.student_logits.grad.double(), ref_logits.grad, atol=1e-7, rtol=1e-4
    )


def naive_plain_grad(b: Batch) -> Tensor:
    """:func:`naive_plain` keeping the student's graph (binary_ce)."""
    logp_t = torch.log_softmax(b.teacher_logits.double(), -1)
    logp_s = torch.log_softmax(b.student_logits, -1)
    ell_t = logp_t[:, :-1].gather(-1, b.teacher_ids[:, 1:, None]).squeeze(-1)
    ell_s = logp_s[:, :-1].gather(-1, b.student_ids[:, 1:, None]).squeeze(-1)
    mt = dense(b.teacher_chunks, b.n_chunks)[:, 1:]
    ms = dense(b.student_chunks, b.n_chunks)[:, 1:]
    lt = torch.einsum("bt,btc->bc", ell_t, mt)
    ls = torch.einsum("bt,btc->bc", ell_s, ms)
    valid = (mt.sum(1) > 0) & (ms.sum(1) > 0)
    d = naive_divergence("binary_ce", torch.where(valid, lt, -1.0), torch.where(valid, ls, -1.0))
    return (d * valid).sum() / valid.sum()


def test_binary_kl_temp_limit_is_the_large_temperature_limit() -> None:
    st = torch.tensor([-0.5, -3.0, -12.0, -40.0], dtype=torch.float64)
    ss = torch.tensor([-1.5, -2.0, -20.0, -39.0], dtype=torch.float64)
    tau = 1e5
    a, b = st / tau, ss / tau
    p = a.exp()
    forward_kl = p * (a - b) + (-torch.expm1(a)) * (
        torch.log(-torch.expm1(a)) - torch.log(-torch.expm1(b))
    )
    got = L.alm_divergence(st, ss, "binary_kl_temp_limit")
    torch.testing.assert_close(got.double(), tau * forward_kl, atol=1e-4, rtol=1e-3)
    assert bool((got > 0).all())
