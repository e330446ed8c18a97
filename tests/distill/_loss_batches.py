"""Random chunked batches and deliberately naive references for the loss tests.

The references use dense token-by-chunk boolean matrices (``L = ell[:, :-1] @ B[:, 1:]`` as in
the ALM notebook), python loops, float64, and the divergence formulas written out from their
definitions, so that they share no code path with the scatter/gather implementation under test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from tokkit.distill import losses as L

Tensor = torch.Tensor
KINDS = list(L.DIVERGENCES)
ZERO_KINDS = [k for k in KINDS if k != "binary_ce"]
TAU = 100.0
EPS = 1e-6


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
