"""Batched Orthogonal Matching Pursuit (design/transplant.md §4), in torch on any device.

Each target ``y`` (a donor embedding of a token the base lacks) is written greedily as a sparse
least-squares combination of donor anchor rows ``A``; the same coefficients applied to the base
rows of those anchors give the new base row. A batch of targets moves in lock-step: every step is
one GEMM of residuals against the dictionary (the whole cost), then per-target Gram-Schmidt on
the ``k`` selected atoms, done as batched small tensor ops.

Selection is by raw inner product ``|<r, A_j>|`` (mergekit's choice) or by cosine. Ties go to the
lowest anchor index (``torch.argmax`` returns the first maximum). ``k`` is clamped to
``min(k, d, N)``: past the dictionary's rank every further atom is dependent and the triangular
solve explodes (design/transplant.md §4.5). A residual tolerance stops targets that are already
reconstructed.

The default ``screened`` search makes the same choices as scoring every atom in float32 at
every step, but most steps need only a bfloat16 GEMM or none at all (:class:`ScreenedSearch`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

if TYPE_CHECKING:
    import torch

Selection = Literal["raw", "cosine"]
Search = Literal["full", "screened"]
EPS = 1e-8


@dataclass
class OmpResult:
    """Indices into the dictionary (``-1`` where a target stopped early) and coefficients."""

    indices: torch.Tensor  # (M, k) int64
    coefs: torch.Tensor  # (M, k) float
    k: int


def effective_k(k: int, dim: int, anchors: int) -> int:
    """``min(k, d, N)``: the sparsity OMP can use without dependent atoms."""
    return max(1, min(k, dim, anchors))


def omp(
    dictionary: torch.Tensor,
    targets: torch.Tensor,
    k: int,
    *,
    select: Selection = "raw",
    tol: float = 1e-6,
    batch_size: int = 128,
    search: Search = "screened",
    refresh: int = 1,
    shortlist: int | None = None,
    on_batch: Callable[[int], object] | None = None,
) -> OmpResult:
    """Sparse codes of ``targets`` (M x d) over ``dictionary`` (N x d), computed in the dtype given
    (float32 or float64) on the tensors' device.

    Args:
        k: Sparsity (the caller clamps it with :func:`effective_k`).
        select: ``raw`` inner products (mergekit) or ``cosine`` (normalised atoms).
        tol: Stop a target once ``‖r‖ / ‖y‖ < tol``.
        batch_size: Targets per batch (``-1``: all at once).
        search: ``full`` scores every atom in the working dtype at every step; ``screened``
            (float32 only) finds the same atom faster, see :class:`ScreenedSearch`.
        refresh: Longest gap between screens; in between, each target chooses from its last
            shortlist (``1``: screen every step, exact; see :func:`next_screen`).
        shortlist: Atoms kept per screen (default 16, or 128 when ``refresh > 1``).
        on_batch: Called with the number of targets done after each batch.
    """
    import torch

    n, _ = dictionary.shape
    m = targets.shape[0]
    k = min(k, n)
    indices = torch.full((m, k), -1, dtype=torch.long, device=targets.device)
    coefs = torch.zeros((m, k), dtype=targets.dtype, device=targets.device)
    norms = dictionary.norm(dim=1).clamp_min(EPS)
    scored = dictionary / norms[:, None] if select == "cosine" else dictionary
    screened = search == "screened" and dictionary.dtype == torch.float32
    shared = ScreenedSearch.prepare(scored) if screened else None
    bs = m if batch_size is None or batch_size <= 0 else batch_size
    c_list = shortlist or (16 if refresh <= 1 else 128)
    for start in range(0, m, max(bs, 1)):
        y = targets[start : start + bs]
        selector: Selector = (
            ScreenedSearch(shared, refresh=refresh, shortlist=c_list)
            if shared is not None
            else FullSearch(scored)
        )
        idx, cf = _pursue(y, k, tol, selector, dictionary)
        indices[start : start + bs] = idx
        coefs[start : start + bs] = cf
        if on_batch is not None:
            on_batch(y.shape[0])
    return OmpResult(indices=indices, coefs=coefs, k=k)


class Selector(Protocol):
    """Picks each target's next atom: the unselected ``j`` maximising ``|<r, scored_j>|``."""

    def __call__(self, resid: torch.Tensor, chosen: torch.Tensor, step: int) -> torch.Tensor: ...


class FullSearch:
    """Score every atom with one GEMM per step (the reference; mergekit's cost)."""

    def __init__(self, scored: torch.Tensor) -> None:
        self.scored = scored

    def __call__(self, resid: torch.Tensor, chosen: torch.Tensor, step: int) -> torch.Tensor:
        sc = (resid @ self.scored.T).abs()
        if step:
            sc.scatter_(1, chosen[:, :step].clamp_min(0), -1.0)  # never reselect an atom
        return sc.argmax(dim=1)


@dataclass
class _Screen:
    scored: torch.Tensor  # float32 (N, d)
    scored_bf16: torch.Tensor  # the same in bfloat16, for the screening GEMM
    norms: torch.Tensor  # (N,) float32
    scratch: _Scratch


class _Scratch:
    """Reused output buffers for the per-step temporaries of a batch (tens of MB each).

    A fresh tensor that size is a fresh ``mmap``: its first touch page-faults, which cost more
    than the GEMM filling it on CPU.
    """

    def __init__(self) -> None:
        self.flat: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        import torch

        need = math.prod(shape)
        buf = self.flat.get(name)
        if buf is None or buf.numel() < need or buf.dtype != like.dtype:
            buf = torch.empty(need, dtype=like.dtype, device=like.device)
            self.flat[name] = buf
        return buf[:need].view(shape)


class ScreenedSearch:
    """bfloat16 screening with exact float32 verification, and an optional shortlist reuse.

    **Screening (exact).** A bfloat16 GEMM (several times the float32 rate on AVX-512-BF16 CPUs
    and on GPUs) scores every atom. Rounding both operands and the result to bf16 moves a score
    by at most ``c·‖r‖·‖a_j‖`` with ``c = 2^-8 + 2^-9 + d·2^-24`` (float32 accumulation), so
    ``u_j = |s̃_j| + c·‖r‖·‖a_j‖`` bounds each exact score from above. The ``C`` atoms with the
    largest bounds are rescored in float32; when the best exact score beats the ``(C+1)``-th
    bound, no other atom can win and the choice is the full search's (up to float32 rounding
    ties). Targets where it is not met are scored by the full float32 GEMM.

    **Reuse (approximate, ``refresh > 1``).** Between screens, a target chooses among its last
    shortlist, rescored exactly against its current residual. Screens fall on the steps of
    :func:`next_screen`. The benchmark measures what this changes (docs/benchmarks.md);
    ``refresh=1`` screens at every step and is exact.
    """

    def __init__(self, shared: _Screen, *, refresh: int = 1, shortlist: int = 16) -> None:
        n, d = shared.scored.shape
        self.s = shared
        self.refresh = max(1, refresh)
        self.next = 0
        self.c = min(shortlist, n - 1)
        self.slack = 2.0**-8 + 2.0**-9 + d * 2.0**-24
        self.cand: torch.Tensor | None = None
        self.mats: torch.Tensor | None = None
        self.taken: torch.Tensor | None = None

    @staticmethod
    def prepare(scored: torch.Tensor) -> _Screen:
        import torch

        return _Screen(
            scored=scored,
            scored_bf16=scored.to(torch.bfloat16),
            norms=scored.norm(dim=1),
            scratch=_Scratch(),
        )

    def __call__(self, resid: torch.Tensor, chosen: torch.Tensor, step: int) -> torch.Tensor:
        import torch

        screen = step >= self.next or self.cand is None
        if screen:
            self.next = next_screen(step, self.refresh)
            b, (n, d) = resid.shape[0], self.s.scored.shape
            scratch = self.s.scratch
            approx = scratch.get("approx", (b, n), self.s.scored_bf16)
            torch.mm(resid.to(torch.bfloat16), self.s.scored_bf16.T, out=approx)
            u = scratch.get("bound", (b, n), resid)
            u.copy_(approx).abs_()
            u.addcmul_(self.slack * resid.norm(dim=1, keepdim=True), self.s.norms[None, :])
            if step:
                u.scatter_(1, chosen[:, :step].clamp_min(0), -1.0)  # never reselect an atom
            top = u.topk(self.c + 1, dim=1)
            self.cand = top.indices[:, : self.c]
            mats = scratch.get("shortlist", (b * self.c, d), self.s.scored)
            torch.index_select(self.s.scored, 0, self.cand.reshape(-1), out=mats)
            self.mats = mats.view(b, self.c, d)
            self.taken = top.values[:, : self.c] < 0  # already chosen: scored -1 above
            outside = top.values[:, self.c]
        assert self.cand is not None
        assert self.mats is not None
        assert self.taken is not None
        exact = _rowdot(resid, self.mats).abs()
        exact.masked_fill_(self.taken, -1.0)
        best, pos = exact.max(dim=1)
        j = self.cand.gather(1, pos[:, None]).squeeze(1)
        ShortStats.add("steps", int(resid.shape[0]))
        if screen:
            unsure = (best <= outside).nonzero().flatten()
            if unsure.numel():  # near-ties: settle them with the full float32 scores
                j[unsure] = FullSearch(self.s.scored)(resid[unsure], chosen[unsure], step)
                ShortStats.add("full", int(unsure.numel()))
        self.taken |= self.cand == j[:, None]
        return j


def next_screen(step: int, refresh: int) -> int:
    """The step after ``step`` at which :class:`ScreenedSearch` screens every atom again.

    Gaps grow with the step, half of it, up to ``refresh``: 0, 1, 2, 3, 4, 6, 9, 13, 19, 28, ...
    The first atoms remove most of the residual and change which atoms are best; late atoms
    change it little. On SmolLM2's embeddings (3,005 targets, 46k anchors, k = 64) ``refresh=16``
    screens 12 times instead of 64 and the mean relative residual stays within 0.1% of the exact
    search's, where screening every 8 steps (8 screens) loses 3.7%.
    """
    return step + max(1, min(refresh, step // 2))


class ShortStats:
    """Process-wide counters of :class:`ScreenedSearch` (for benchmarks and tests)."""

    counts: ClassVar[dict[str, int]] = {"steps": 0, "full": 0}

    @classmethod
    def add(cls, key: str, n: int) -> None:
        cls.counts[key] = cls.counts.get(key, 0) + n

    @classmethod
    def reset(cls) -> None:
        cls.counts = {"steps": 0, "full": 0}


def _pursue(
    y: torch.Tensor, k: int, tol: float, select: Selector, dictionary: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The OMP loop: ``select`` picks atoms, an incremental QR keeps the least-squares fit.

    Returns the chosen dictionary rows (``-1`` after a target stopped) and their coefficients.
    """
    import torch

    b, d = y.shape
    dev, dt = y.device, y.dtype
    q = torch.zeros((b, k, d), dtype=dt, device=dev)  # orthonormal basis of the selected atoms
    r_mat = torch.zeros((b, k, k), dtype=dt, device=dev)  # atoms = q^T r_mat (upper triangular)
    chosen = torch.full((b, k), -1, dtype=torch.long, device=dev)
    qty = torch.zeros((b, k), dtype=dt, device=dev)
    resid = y.clone()
    y_norm = y.norm(dim=1)
    active = torch.ones(b, dtype=torch.bool, device=dev)
    rows = torch.arange(b, device=dev)
    steps = torch.zeros(b, dtype=torch.long, device=dev)
    for s in range(k):
        active &= resid.norm(dim=1) >= tol * y_norm
        if not bool(active.any()):
            break
        j = select(resid, chosen, s)
        atom = dictionary[j]
        # Gram-Schmidt, twice ("twice is enough") so Q stays orthonormal in float32.
        qs_prev = q[:, :s]
        coef = _rowdot(atom, qs_prev)
        v = atom - _combine(coef, qs_prev)
        coef2 = _rowdot(v, qs_prev)
        v = v - _combine(coef2, qs_prev)
        coef = coef + coef2
        nrm = v.norm(dim=1).clamp_min(EPS)
        qs = v / nrm[:, None]
        a_rows = rows[active]
        q[a_rows, s] = qs[a_rows]
        r_mat[a_rows, :s, s] = coef[a_rows]
        r_mat[a_rows, s, s] = nrm[a_rows]
        chosen[a_rows, s] = j[a_rows]
        qty[a_rows, s] = (qs[a_rows] * y[a_rows]).sum(dim=1)
        steps[a_rows] += 1
        resid = resid - qty[:, s : s + 1] * q[:, s]  # r = y - Q Qᵀ y, one column at a time
    # Back-substitution R c = Q^T y; unused steps have R = I and Q^T y = 0, so c = 0 there.
    unused = (torch.arange(k, device=dev)[None, :] >= steps[:, None]).to(dt)
    r_full = r_mat + torch.diag_embed(unused)
    coefs = torch.linalg.solve_triangular(r_full, qty.unsqueeze(2), upper=True).squeeze(2)
    return chosen, coefs


def _rowdot(vecs: torch.Tensor, mats: torch.Tensor) -> torch.Tensor:
    """``out[b, c] = <vecs[b], mats[b, c]>``, as a batch of row-vector x matrix products (about
    three times faster on CPU than torch's batched matrix x column-vector kernel)."""
    import torch

    return torch.bmm(vecs.unsqueeze(1), mats.transpose(1, 2)).squeeze(1)


def _combine(coefs: torch.Tensor, mats: torch.Tensor) -> torch.Tensor:
    """``out[b] = Σ_c coefs[b, c] · mats[b, c]``."""
    import torch

    return torch.bmm(coefs.unsqueeze(1), mats).squeeze(1)


def transfer(result: OmpResult, base_anchors: torch.Tensor, *, chunk: int = 4096) -> torch.Tensor:
    """``e_new = Σ_m c_m · Bm[Λ_m]`` for every target (rows in ``base_anchors``' space).

    Gathered in chunks of targets: all at once, 215k targets x 64 atoms x 576 dims would be a
    32 GB tensor.
    """
    import torch

    m = result.indices.shape[0]
    out = torch.empty(
        (m, base_anchors.shape[1]), dtype=base_anchors.dtype, device=base_anchors.device
    )
    for start in range(0, m, chunk):
        idx = result.indices[start : start + chunk]
        c = torch.where(idx >= 0, result.coefs[start : start + chunk], 0.0).to(base_anchors.dtype)
        out[start : start + chunk] = torch.einsum("mk,mkd->md", c, base_anchors[idx.clamp_min(0)])
    return out
