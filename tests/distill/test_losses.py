"""Invariants of the ALM and companion losses (design/distill.md §6), on small random tensors.

The references here are deliberately naive: dense token-by-chunk boolean matrices
(``L = ell[:, :-1] @ B[:, 1:]`` as in the ALM notebook), python loops, float64, and the
divergence formulas written out from their definitions, so that they share no code path with
the scatter/gather implementation under test.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import torch

from tokkit.distill import losses as L
from tokkit.exceptions import ConfigError

from .._models import tiny_llama

Tensor = torch.Tensor
KINDS = list(L.DIVERGENCES)
ZERO_KINDS = [k for k in KINDS if k != "binary_ce"]
TAU = 100.0
EPS = 1e-6


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # The suite shares two cores with other work; tiny tensors gain nothing from threads.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------------------
# Random batches


@dataclass
class Batch:
    teacher_logits: Tensor
    student_logits: Tensor
    teacher_ids: Tensor
    student_ids: Tensor
    teacher_chunks: Tensor
    student_chunks: Tensor
    teacher_space: Tensor
    student_space: Tensor
    n_chunks: int

    def loss(self, **kwargs: object) -> tuple[Tensor, dict[str, float]]:
        return L.alm_loss(  # type: ignore[arg-type]
            self.teacher_logits,
            self.student_logits,
            self.teacher_ids,
            self.student_ids,
            self.teacher_chunks,
            self.student_chunks,
            teacher_space_mask=self.teacher_space,
            student_space_mask=self.student_space,
            n_chunks=self.n_chunks,
            **kwargs,
        )


def _row_chunks(gen: torch.Generator, n: int, gaps: bool) -> list[int]:
    """Chunk index per token for ``n`` chunks of 1-3 tokens, with an occasional unmatched
    token (-1) between chunks when ``gaps``."""
    out: list[int] = []
    for c in range(n):
        if gaps and c > 0 and torch.rand((), generator=gen) < 0.15:
            out.append(-1)
        out += [c] * int(torch.randint(1, 4, (), generator=gen))
    return out


def random_batch(
    seed: int,
    batch: int = 3,
    vt: int = 50,
    vs: int = 40,
    scale: float = 2.0,
    requires_grad: bool = True,
) -> Batch:
    """Random logits and a random consistent chunking: row ``b`` has 4-8 chunks covering a
    prefix of both sides, then padding (-1)."""
    gen = torch.Generator().manual_seed(seed)
    rows_t, rows_s = [], []
    for _ in range(batch):
        n = int(torch.randint(4, 9, (), generator=gen))
        rows_t.append(_row_chunks(gen, n, gaps=True))
        rows_s.append(_row_chunks(gen, n, gaps=False))
    tt = max(map(len, rows_t)) + 2
    ts = max(map(len, rows_s)) + 1

    def pad(rows: list[list[int]], length: int) -> Tensor:
        return torch.tensor([r + [-1] * (length - len(r)) for r in rows])

    teacher_space = torch.rand(vt, generator=gen) < 0.3
    student_space = torch.rand(vs, generator=gen) < 0.3
    teacher_space[0] = student_space[0] = True
    return Batch(
        teacher_logits=torch.randn(batch, tt, vt, generator=gen) * scale,
        student_logits=(torch.randn(batch, ts, vs, generator=gen) * scale).requires_grad_(
            requires_grad
        ),
        teacher_ids=torch.randint(0, vt, (batch, tt), generator=gen),
        student_ids=torch.randint(0, vs, (batch, ts), generator=gen),
        teacher_chunks=pad(rows_t, tt),
        student_chunks=pad(rows_s, ts),
        teacher_space=teacher_space,
        student_space=student_space,
        n_chunks=10,
    )


def self_batch(seed: int, diagonal: bool = True) -> Batch:
    """Teacher and student identical: same logits (separate tensors), ids and chunks."""
    b = random_batch(seed)
    chunks = b.teacher_chunks
    if diagonal:
        length = chunks.shape[1]
        chunks = torch.arange(length).expand(chunks.shape[0], length).clone()
    return Batch(
        teacher_logits=b.teacher_logits,
        student_logits=b.teacher_logits.clone().requires_grad_(True),
        teacher_ids=b.teacher_ids,
        student_ids=b.teacher_ids.clone(),
        teacher_chunks=chunks,
        student_chunks=chunks.clone(),
        teacher_space=b.teacher_space,
        student_space=b.teacher_space.clone(),
        n_chunks=max(b.n_chunks, chunks.shape[1]),
    )


# ------------------------------------------------------------------------------------------
# Naive references


def dense(chunks: Tensor, n_chunks: int) -> Tensor:
    """The notebook's alignment matrix: ``M[b, i, c] = 1`` iff token i is in chunk c."""
    out = torch.zeros(*chunks.shape, n_chunks, dtype=torch.float64)
    for b in range(chunks.shape[0]):
        for i in range(chunks.shape[1]):
            if chunks[b, i] >= 0:
                out[b, i, chunks[b, i]] = 1.0
    return out


def naive_divergence(kind: str, st: Tensor, ss: Tensor, tau: float = TAU) -> Tensor:
    """Each divergence written from its definition, in float64."""
    st, ss = st.double(), ss.double()
    a, b = st / tau - EPS, ss / tau - EPS
    p, q = a.exp(), b.exp()
    if kind == "binary_ce":
        return -(p * q.log() + (1 - p) * (1 - q).log())
    if kind == "reverse_binary_kl":
        return q * (q / p).log() + (1 - q) * ((1 - q) / (1 - p)).log()
    if kind == "binary_kl_temp_limit":
        x, y = st - EPS, ss - EPS
        return (x - y) - x * (x / y).log()
    if kind == "abs":
        return (st - ss).abs()
    if kind == "abs_exp":
        return (p - q).abs()
    r = (st - ss) / tau
    if kind == "joschu_k2":
        return r**2 / 2
    assert kind == "joschu_k3"
    return r.exp() - 1 - r


def naive_plain(b: Batch, kind: str) -> Tensor:
    """Unmerged, undebiased ALM loss the notebook way: ``L = ell[:, :-1] @ M[:, 1:]``."""
    scores = []
    for logits, ids, chunks in (
        (b.teacher_logits, b.teacher_ids, b.teacher_chunks),
        (b.student_logits, b.student_ids, b.student_chunks),
    ):
        logp = torch.log_softmax(logits.detach().double(), -1)
        ell = logp[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)
        m = dense(chunks, b.n_chunks)
        scores.append((torch.einsum("bt,btc->bc", ell, m[:, 1:]), m[:, 1:].sum(1)))
    (lt, nt), (ls, ns) = scores
    valid = (nt > 0) & (ns > 0)
    d = naive_divergence(kind, lt, ls)
    return (d * valid).sum() / valid.sum()


def naive_debiased_merged(b: Batch, kind: str, threshold: float) -> Tensor:
    """Debiased and merged ALM loss with python loops over rows, tokens and chunks."""
    total, count = 0.0, 0
    sides = (
        (b.teacher_logits, b.teacher_ids, b.teacher_chunks, b.teacher_space),
        (b.student_logits, b.student_ids, b.student_chunks, b.student_space),
    )
    for row in range(b.teacher_ids.shape[0]):
        per_side = []
        for logits, ids, chunks, space in sides:
            probs = torch.softmax(logits[row].detach().double(), -1)
            ell: dict[int, float] = {}
            n: dict[int, int] = {}
            last: dict[int, int] = {}
            for i in range(ids.shape[1]):
                c = int(chunks[row, i])
                if c < 0:
                    continue
                last[c] = i  # chunks are monotone: the last write is the last token
                if i == 0:
                    continue
                ell[c] = ell.get(c, 0.0) + math.log(float(probs[i - 1, ids[row, i]]))
                n[c] = n.get(c, 0) + 1
            sigma = {c: math.log(float(probs[i][space].sum())) for c, i in last.items()}
            per_side.append((ell, n, sigma))
        (lt, nt, sig_t), (ls, ns, sig_s) = per_side
        valid = [c for c in range(b.n_chunks) if nt.get(c, 0) > 0 and ns.get(c, 0) > 0]
        groups: list[list[int]] = []
        current: list[int] = []
        for c in range(b.n_chunks):
            if c not in valid:
                continue
            current.append(c)
            if math.exp(sig_t[c]) > threshold or c + 1 not in valid:
                groups.append(current)
                current = []
        assert not current
        for g in groups:
            st = sum(lt[c] for c in g) + sig_t[g[-1]]
            ss = sum(ls[c] for c in g) + sig_s[g[-1]]
            total += float(naive_divergence(kind, torch.tensor(st), torch.tensor(ss)))
            count += 1
    return torch.tensor(total / count, dtype=torch.float64)


def binary_entropy(p: Tensor) -> Tensor:
    return -(p * p.log() + (1 - p) * (1 - p).log())


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


# ------------------------------------------------------------------------------------------
# Invariances


def _grads(b: Batch, **kwargs: object) -> tuple[float, Tensor]:
    logits = b.student_logits.detach().clone().requires_grad_(True)
    loss, _ = Batch(**{**b.__dict__, "student_logits": logits}).loss(**kwargs)
    loss.backward()
    assert logits.grad is not None
    return float(loss.detach()), logits.grad


@pytest.mark.parametrize("weight", ["chunk_count", "tokens"])
def test_padding_invariance(weight: str) -> None:
    b = random_batch(17)
    gen = torch.Generator().manual_seed(18)
    loss, grad = _grads(b, chunk_weight=weight)
    bsz = b.teacher_ids.shape[0]
    padded = Batch(
        teacher_logits=torch.cat([b.teacher_logits, torch.randn(bsz, 3, 50, generator=gen)], 1),
        student_logits=torch.cat(
            [b.student_logits.detach(), torch.randn(bsz, 5, 40, generator=gen) * 9], 1
        ),
        teacher_ids=torch.cat([b.teacher_ids, torch.randint(0, 50, (bsz, 3), generator=gen)], 1),
        student_ids=torch.cat([b.student_ids, torch.full((bsz, 5), -100)], 1),
        teacher_chunks=torch.cat([b.teacher_chunks, torch.full((bsz, 3), -1)], 1),
        student_chunks=torch.cat([b.student_chunks, torch.full((bsz, 5), -1)], 1),
        teacher_space=b.teacher_space,
        student_space=b.student_space,
        n_chunks=b.n_chunks + 4,  # empty chunks too
    )
    padded_loss, padded_grad = _grads(padded, chunk_weight=weight)
    assert padded_loss == pytest.approx(loss, rel=1e-6)
    length = b.student_logits.shape[1]
    torch.testing.assert_close(padded_grad[:, :length], grad, atol=1e-9, rtol=1e-5)
    assert float(padded_grad[:, length:].abs().max()) == 0.0


def test_loss_mask_invariance() -> None:
    b = random_batch(19)
    t_mask = torch.ones_like(b.teacher_ids)
    s_mask = torch.ones_like(b.student_ids)
    t_mask[:, :4] = 0  # a prompt of 4 teacher tokens...
    s_mask[:, :2] = 0  # ...and 2 student tokens, so some chunks are only partly masked
    s_mask[0, 7] = 0  # a chunk masked on the student side alone
    tc, sc = L.drop_masked_chunks(b.teacher_chunks, b.student_chunks, b.n_chunks, t_mask, s_mask)
    for b_ in range(tc.shape[0]):
        dropped = set(b.teacher_chunks[b_][t_mask[b_] == 0].tolist())
        dropped |= set(b.student_chunks[b_][s_mask[b_] == 0].tolist())
        dropped.discard(-1)
        for chunks, new in ((b.teacher_chunks, tc), (b.student_chunks, sc)):
            for i in range(chunks.shape[1]):
                c = int(chunks[b_, i])
                assert int(new[b_, i]) == (-1 if c in dropped else c)
    masked = Batch(**{**b.__dict__, "teacher_chunks": tc, "student_chunks": sc})
    loss, grad = _grads(masked)
    # The ids of masked tokens and the logits that only predict them do not matter.
    gen = torch.Generator().manual_seed(20)
    scrambled = Batch(
        **{
            **masked.__dict__,
            "teacher_ids": torch.where(
                tc < 0, torch.randint(0, 50, tc.shape, generator=gen), b.teacher_ids
            ),
            "student_ids": torch.where(sc < 0, torch.full_like(sc, -100), b.student_ids),
        }
    )
    scrambled_loss, scrambled_grad = _grads(scrambled)
    assert scrambled_loss == loss
    assert torch.equal(grad, scrambled_grad)


@pytest.mark.parametrize("weight", ["chunk_count", "tokens"])
@pytest.mark.parametrize("merge", [None, 0.3])
def test_microbatch_invariance(weight: str, merge: float | None) -> None:
    b = random_batch(21, batch=4)
    full_loss, full_grad = _grads(b, chunk_weight=weight, merge_threshold=merge)
    halves = [
        Batch(
            **{
                k: (v[s] if isinstance(v, Tensor) and v.dim() > 1 else v)
                for k, v in b.__dict__.items()
            }
        )
        for s in (slice(0, 2), slice(2, 4))
    ]
    # The trainer's up-front denominator: local totals summed over the micro-batches.
    total = torch.zeros(())
    for h in halves:
        sigma = L.chunk_space_logprobs(
            h.teacher_logits, h.teacher_chunks, h.n_chunks, h.teacher_space
        )
        total = total + L.alm_weight(
            h.teacher_chunks,
            h.student_chunks,
            h.n_chunks,
            chunk_weight=weight,  # type: ignore[arg-type]
            merge_threshold=merge,
            teacher_sigma=sigma,
        )
    _, stats = b.loss(chunk_weight=weight, merge_threshold=merge)
    assert float(total) == stats["weight"]
    parts = [
        _grads(h, chunk_weight=weight, merge_threshold=merge, denominator=total) for h in halves
    ]
    assert sum(p[0] for p in parts) == pytest.approx(full_loss, rel=1e-6)
    torch.testing.assert_close(torch.cat([p[1] for p in parts]), full_grad, atol=1e-9, rtol=1e-5)


def test_microbatch_invariance_sft_and_latent() -> None:
    gen = torch.Generator().manual_seed(22)
    logits = torch.randn(4, 9, 30, generator=gen, requires_grad=True)
    ids = torch.randint(0, 30, (4, 9), generator=gen)
    mask = (torch.rand(4, 9, generator=gen) < 0.7).long()
    full = L.sft_loss(logits, ids, mask)
    den = L.sft_denominator(mask[:2]) + L.sft_denominator(mask[2:])
    split = L.sft_loss(logits[:2], ids[:2], mask[:2], den) + L.sft_loss(
        logits[2:], ids[2:], mask[2:], den
    )
    assert float(split.detach()) == pytest.approx(float(full.detach()), rel=1e-6)
    b = random_batch(23, batch=4)
    th = torch.randn(4, b.teacher_ids.shape[1], 6, generator=gen)
    sh = torch.randn(4, b.student_ids.shape[1], 6, generator=gen)
    tc, sc, n = b.teacher_chunks, b.student_chunks, b.n_chunks
    full = L.latent_loss(th, sh, tc, sc, n)
    den = L.latent_denominator(tc[:2], sc[:2], n) + L.latent_denominator(tc[2:], sc[2:], n)
    split = L.latent_loss(th[:2], sh[:2], tc[:2], sc[:2], n, denominator=den) + L.latent_loss(
        th[2:], sh[2:], tc[2:], sc[2:], n, denominator=den
    )
    assert float(split.detach()) == pytest.approx(float(full.detach()), rel=1e-6)


# ------------------------------------------------------------------------------------------
# Numerical robustness


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("low", ["teacher", "student", "both"])
def test_finite_at_logp_minus_1e4(kind: str, low: str) -> None:
    b = random_batch(24)
    for side in ("teacher", "student"):
        if low in (side, "both"):
            logits = getattr(b, f"{side}_logits").detach().clone()
            ids = getattr(b, f"{side}_ids")
            # The token that is read gets a logit 1e4 below all others: log p ≈ -1e4.
            logits.scatter_(-1, ids[:, 1:, None].clamp(min=0), -1e4)
            logits[:, :, 0] = 5.0  # a space token, so sigma stays moderate
            setattr(b, f"{side}_logits", logits.requires_grad_(side == "student"))
    b.student_logits.requires_grad_(True)
    loss, stats = b.loss(kind=kind)
    loss.backward()
    assert math.isfinite(float(loss.detach()))
    assert b.student_logits.grad is not None
    assert bool(b.student_logits.grad.isfinite().all())
    expected_low = stats["teacher_logp" if low != "student" else "student_logp"]
    assert expected_low < -1e4


@pytest.mark.parametrize("kind", KINDS)
def test_bf16_logits(kind: str) -> None:
    b = random_batch(25)
    half = Batch(
        **{
            **b.__dict__,
            "teacher_logits": b.teacher_logits.to(torch.bfloat16),
            "student_logits": b.student_logits.detach().to(torch.bfloat16).requires_grad_(True),
        }
    )
    loss, _ = half.loss(kind=kind)
    loss.backward()
    assert half.student_logits.grad is not None
    assert half.student_logits.grad.dtype == torch.bfloat16
    assert bool(half.student_logits.grad.float().isfinite().all())
    # The math runs in float32: the same as float32 logits holding the bf16-rounded values.
    rounded = Batch(
        **{
            **b.__dict__,
            "teacher_logits": half.teacher_logits.float(),
            "student_logits": half.student_logits.detach().float(),
        }
    )
    assert float(loss.detach()) == pytest.approx(
        float(rounded.loss(kind=kind)[0].detach()), rel=1e-6
    )


def test_log1mexp_accurate_and_finite_gradient() -> None:
    x = torch.tensor([-1e-7, -1e-3, -0.5, -0.7, -5.0, -100.0, -1e4], dtype=torch.float32)
    x.requires_grad_(True)
    y = L.log1mexp(x)
    want = torch.log(-torch.expm1(x.detach().double()))
    torch.testing.assert_close(y.double(), want, atol=1e-6, rtol=1e-5)
    y.sum().backward()
    assert x.grad is not None
    assert bool(x.grad.isfinite().all())


# ------------------------------------------------------------------------------------------
# SFT, latents, GradMag


def test_sft_loss_matches_cross_entropy() -> None:
    gen = torch.Generator().manual_seed(26)
    logits = torch.randn(2, 8, 20, generator=gen)
    ids = torch.randint(0, 20, (2, 8), generator=gen)
    mask = torch.ones(2, 8, dtype=torch.long)
    mask[1, 5:] = 0
    ids[1, 5:] = -100
    got = L.sft_loss(logits, ids, mask)
    labels = ids[:, 1:].clone()
    labels[mask[:, 1:] == 0] = -100
    want = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 20), labels.reshape(-1))
    assert float(got) == pytest.approx(float(want), rel=1e-6)


def test_latent_loss_zero_for_identical_states_and_projector() -> None:
    b = random_batch(27)
    gen = torch.Generator().manual_seed(28)
    h = torch.randn(*b.teacher_ids.shape, 8, generator=gen)
    tc = b.teacher_chunks
    assert float(L.latent_loss(h, h.clone(), tc, tc.clone(), b.n_chunks)) == 0.0
    same = L.LatentProjector(8, 8)
    assert float(L.latent_loss(h, h.clone(), tc, tc.clone(), b.n_chunks, same).detach()) == 0.0
    # Widths differ: the projector is required and used.
    wide = torch.randn(*b.teacher_ids.shape, 12, generator=gen)
    with pytest.raises(ConfigError):
        L.latent_loss(h, wide, tc, tc, b.n_chunks)
    proj = L.LatentProjector(12, 8)
    with torch.no_grad():
        # A student whose states are an exact linear image of the teacher's: 0 through P.
        lift = torch.randn(8, 12, generator=gen)
        proj.weight.copy_(torch.linalg.pinv(lift).T)
        proj.bias.zero_()
    student = h @ lift
    assert float(L.latent_loss(h, student, tc, tc, b.n_chunks, proj).detach()) < 1e-8
    loss = L.latent_loss(h, wide, tc, tc, b.n_chunks, proj)
    loss.backward()
    assert proj.weight.grad is not None
    assert float(proj.weight.grad.abs().sum()) > 0
    # Distance at the last token of a chunk only, averaged over channels.
    moved = h.clone()
    first = int((tc[0] == 1).nonzero().min())
    last = int((tc[0] == 1).nonzero().max())
    if first != last:
        moved[0, first] += 100.0
        assert float(L.latent_loss(h, moved, tc, tc, b.n_chunks)) == 0.0
    moved[0, last] += 2.0
    count = float(L.latent_denominator(tc, tc, b.n_chunks))
    got = float(L.latent_loss(h, moved, tc, tc, b.n_chunks))
    assert got == pytest.approx(4.0 / count, rel=1e-5)


def test_gradmag_equalises_gradient_norms() -> None:
    gen = torch.Generator().manual_seed(29)
    layer = torch.nn.Linear(6, 4)
    x = torch.randn(10, 6, generator=gen)
    out = layer(x)
    losses = [out.square().mean() * 1000, out.sum() * 0.001, (out - 1).abs().mean()]
    params = list(layer.parameters())
    norms = L.loss_grad_norms(losses, params)
    for preserve in (False, True):
        w = L.gradmag_weights(losses, params, preserve_mag=preserve)
        assert not w.requires_grad
        scaled = (w * norms).tolist()
        assert max(scaled) == pytest.approx(min(scaled), rel=1e-5)
        if preserve:
            assert float(w.sum()) == pytest.approx(1.0)
    w = L.gradmag_weights(losses, params)
    total = L.combine(losses, w)
    grads = torch.autograd.grad(total, params, retain_graph=True)
    want = torch.autograd.grad(sum(wi * li for wi, li in zip(w, losses, strict=True)), params)
    for g, h in zip(grads, want, strict=True):
        torch.testing.assert_close(g, h)


def test_gradmag_zero_gradient_gets_zero_weight() -> None:
    layer = torch.nn.Linear(3, 2)
    out = layer(torch.ones(4, 3))
    constant = torch.tensor(5.0)
    flat = out.sum() * 0.0
    w = L.gradmag_weights([out.square().sum(), constant, flat], list(layer.parameters()))
    assert w.tolist() == [1.0, 0.0, 0.0]


# ------------------------------------------------------------------------------------------
# Errors


def test_bad_options_raise_config_error() -> None:
    b = random_batch(30)
    with pytest.raises(ConfigError):
        b.loss(kind="kl")
    with pytest.raises(ConfigError):
        b.loss(merge_threshold=1.5)
    with pytest.raises(ConfigError):
        b.loss(chunk_weight="bytes")
    with pytest.raises(ConfigError):
        b.loss(temperature=0.0)
    with pytest.raises(ConfigError):
        Batch(**{**b.__dict__, "n_chunks": 2}).loss()
    with pytest.raises(ConfigError):
        L.alm_weight(b.teacher_chunks, b.student_chunks, merge_threshold=0.1)


# ------------------------------------------------------------------------------------------
# A real model


def test_tiny_llama_self_distillation_has_zero_gradient() -> None:
    """The same tiny Llama as teacher and student: binary_ce moves no parameter."""
    model = tiny_llama(48)
    ids = torch.randint(0, 48, (2, 12), generator=torch.Generator().manual_seed(31))
    with torch.no_grad():
        teacher = model(ids).logits
    student = model(ids).logits
    chunks = torch.tensor([[0, 1, 1, 2, 3, 3, 3, 4, 5, 5, 6, 7]] * 2)
    space = torch.zeros(48, dtype=torch.bool)
    space[::3] = True
    loss, _ = L.alm_loss(
        teacher,
        student,
        ids,
        ids,
        chunks,
        chunks,
        teacher_space_mask=space,
        student_space_mask=space,
    )
    loss.backward()
    biggest = max(float(p.grad.abs().max()) for p in model.parameters() if p.grad is not None)
    assert biggest < 1e-6
