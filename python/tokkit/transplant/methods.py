"""Initialisation methods: rows in the base model's space for tokens it does not have.

Each method is one options class registered by name in :data:`METHODS`; its :meth:`Method.rows`
gets a :class:`Problem` (the base matrices in float32, both vocabularies, the matching) and
returns rows for ``problem.new_ids`` in order, for the input embeddings and, for an untied base,
the output head. Shared tokens never reach a method: the pipeline copies them bit-exact.

- :class:`OMP`: sparse code of the donor embedding over shared anchors, transferred
  (design/transplant.md §4);
- :class:`TokenAdapt`: local piece estimate + global neighbour estimate in an auxiliary space
  (design/transplant.md §6);
- :class:`Mean`: mean of the base rows of the token's pieces under the base tokenizer (ReTok,
  FVT);
- :class:`Focus`: sparsemax-weighted convex combination of shared anchors by auxiliary
  similarity (design/transplant.md §7.1, with the auxiliary encoder standing in for fastText);
- :class:`Random`: per-dimension normal with the base rows' mean and standard deviation, seeded.

A new method is one more class here, decorated with :func:`register`, and its tests.
"""

from __future__ import annotations

import dataclasses
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from tokkit._progress import Progress, ProgressMode
from tokkit.exceptions import ConfigError, TransplantError, TransplantWarning

if TYPE_CHECKING:
    import torch


@dataclass
class Problem:
    """What a method needs. ``base_E``/``base_U`` are float32 on the compute device."""

    base_E: torch.Tensor
    base_U: torch.Tensor | None
    new_ids: list[int]
    copy: dict[int, int]  # new id -> base id (shared tokens)
    new_bytes: dict[int, bytes]  # raw bytes of every new-vocabulary id (b"" for specials)
    base_bytes: dict[int, bytes]  # raw bytes of every base id
    decompose: Callable[[list[bytes]], list[list[int]]]  # base tokenizer pieces per string
    seed: int = 0
    progress: ProgressMode = "none"
    report: dict[str, Any] = field(default_factory=dict)
    _pieces: list[list[int]] | None = field(default=None, init=False, repr=False)

    def new_pieces(self) -> list[list[int]]:
        """Base-tokenizer pieces of every new token, in ``new_ids`` order; computed once, as
        ``--mix-mean`` needs them again after a method that used them (TokenAdapt)."""
        if self._pieces is None:
            self._pieces = self.decompose([self.new_bytes[i] for i in self.new_ids])
        return self._pieces


Rows = tuple["torch.Tensor", "torch.Tensor | None"]


@dataclass
class Donor:
    """A model that already speaks the new tokenizer (OMP's dictionary), float32."""

    E: torch.Tensor
    U: torch.Tensor | None


@dataclass(frozen=True, kw_only=True)
class Method(ABC):
    """A transplant method and its options (an abstract base: see :data:`METHODS`)."""

    #: The method's name (``tokkit transplant --method NAME``).
    name: ClassVar[str]
    #: Whether it needs a donor model that speaks the new tokenizer.
    needs_donor: ClassVar[bool] = False

    @abstractmethod
    def rows(self, p: Problem, donor: Donor | None, device: str) -> Rows:
        """Rows for ``p.new_ids`` (inputs, and outputs for an untied base)."""

    def reads(self) -> tuple[str, ...]:
        """What the method reads besides the models (paths or prepared names), which
        ``--force`` must never remove."""
        return ()

    def to_dict(self) -> dict[str, Any]:
        """The options, for ``tokkit.json``."""
        return dataclasses.asdict(self)


#: Every method by name, in the order the CLI lists them.
METHODS: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: make ``cls`` available by its ``name``."""
    METHODS[cls.name] = cls
    return cls


def method_named(name: str) -> Method:
    """The method ``name`` with its default options."""
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name]()


def text_of(raw: bytes) -> str:
    """A token's text for an auxiliary encoder (invalid UTF-8 shows as U+FFFD)."""
    return raw.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------------------------
# baselines


def mean_rows(p: Problem) -> Rows:
    """Mean of the base rows of each token's pieces; the global mean row when it has none."""

    pieces = p.new_pieces()
    return _piece_mean(p.base_E, pieces), (
        _piece_mean(p.base_U, pieces) if p.base_U is not None else None
    )


@register
@dataclass(frozen=True, kw_only=True)
class Mean(Method):
    """The mean of the base rows of the new token's pieces under the base tokenizer."""

    name: ClassVar[str] = "mean"

    def rows(self, p: Problem, donor: Donor | None, device: str) -> Rows:
        return mean_rows(p)


@register
@dataclass(frozen=True, kw_only=True)
class Random(Method):
    """Per-dimension ``N(mean, std)`` of the base rows, from a generator seeded by the
    transplant's seed."""

    name: ClassVar[str] = "random"

    def rows(self, p: Problem, donor: Donor | None, device: str) -> Rows:
        import torch

        g = torch.Generator(device="cpu").manual_seed(p.seed)

        def draw(m: torch.Tensor) -> torch.Tensor:
            mean, std = m.mean(0).cpu(), m.std(0).cpu()
            noise = torch.randn((len(p.new_ids), m.shape[1]), generator=g)
            return (mean + std * noise).to(m.device)

        return draw(p.base_E), (draw(p.base_U) if p.base_U is not None else None)


def _piece_mean(m: torch.Tensor, pieces: list[list[int]]) -> torch.Tensor:
    import torch

    flat = torch.tensor([j for ps in pieces for j in ps], dtype=torch.long, device=m.device)
    owner = torch.tensor(
        [r for r, ps in enumerate(pieces) for _ in ps], dtype=torch.long, device=m.device
    )
    out = torch.zeros((len(pieces), m.shape[1]), dtype=m.dtype, device=m.device)
    out.index_add_(0, owner, m[flat])
    counts = torch.tensor([len(ps) for ps in pieces], dtype=m.dtype, device=m.device)
    empty = counts == 0
    out = out / counts.clamp_min(1)[:, None]
    out[empty] = m.mean(0)
    return out


# ---------------------------------------------------------------------------------------------
# OMP


@register
@dataclass(frozen=True, kw_only=True)
class OMP(Method):
    """Orthogonal matching pursuit over the shared anchors of a donor model (mergekit's default).

    Args:
        k: Sparsity (clamped to the donor's hidden size and the anchor count).
        select: ``raw`` inner products (mergekit) or ``cosine``.
        tol: Stop a target once its relative residual is below this.
        search: ``screened`` (exact, bf16-screened) or ``full`` (plain float32, the reference).
        refresh: Longest gap between full screens of the anchors; in between, each target
            chooses from a 128-atom shortlist (faster, approximate; ``1``: exact).
        batch_size: Targets per batch.
    """

    name: ClassVar[str] = "omp"
    needs_donor: ClassVar[bool] = True
    k: int = 64
    select: Literal["raw", "cosine"] = "raw"
    tol: float = 1e-6
    search: Literal["screened", "full"] = "screened"
    refresh: int = 1
    batch_size: int = 128

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k must be at least 1, not {self.k}")
        if self.select not in ("raw", "cosine"):
            raise ConfigError(f"select must be raw or cosine, not {self.select!r}")
        if self.search not in ("screened", "full"):
            raise ConfigError(f"search must be screened or full, not {self.search!r}")
        if self.refresh < 1 or self.batch_size < 1:
            raise ConfigError("refresh and batch_size must be at least 1")

    def rows(self, p: Problem, donor: Donor | None, device: str) -> Rows:
        if donor is None:
            raise ConfigError("method omp needs a donor model that speaks the new tokenizer")
        return omp_rows(p, donor.E, donor.U, self)


def omp_rows(p: Problem, donor_E: torch.Tensor, donor_U: torch.Tensor | None, opts: OMP) -> Rows:
    """OMP over the shared anchors, separately for the input matrix and an untied head."""
    from tokkit.transplant.omp import effective_k, omp, transfer

    anchors_new = [i for i in sorted(p.copy) if i < donor_E.shape[0]]
    if not anchors_new:
        raise TransplantError(
            "the donor shares no token with the base model, so OMP has no anchors",
            hint="use {method=tokenadapt} or {method=mean}, which need no donor",
        )
    anchors_base = [p.copy[i] for i in anchors_new]
    k = effective_k(opts.k, donor_E.shape[1], len(anchors_new))
    if k < opts.k:
        warnings.warn(
            f"k={opts.k} exceeds what the dictionary supports (hidden size {donor_E.shape[1]}, "
            f"{len(anchors_new)} anchors); using k={k}",
            TransplantWarning,
            stacklevel=2,
        )
    p.report.update(k_effective=k, anchors=len(anchors_new))

    def run(donor: torch.Tensor, base: torch.Tensor, stage: str) -> torch.Tensor:
        import torch

        a = donor[torch.tensor(anchors_new, device=donor.device)]
        y = donor[torch.tensor(p.new_ids, device=donor.device)]
        with Progress(stage, len(p.new_ids), mode=p.progress, unit="rows") as bar:
            res = omp(
                a,
                y,
                k,
                select=opts.select,
                tol=opts.tol,
                batch_size=opts.batch_size,
                search=opts.search,
                refresh=opts.refresh,
                on_batch=bar.advance,
            )
        return transfer(res, base[torch.tensor(anchors_base, device=base.device)])

    e = run(donor_E, p.base_E, "omp embeddings")
    if p.base_U is None:
        return e, None
    return e, run(donor_U if donor_U is not None else donor_E, p.base_U, "omp lm_head")


# ---------------------------------------------------------------------------------------------
# TokenAdapt


@register
@dataclass(frozen=True, kw_only=True)
class TokenAdapt(Method):
    """TokenAdapt's hybrid of a local (pieces) and a global (neighbours) estimate in the space of
    an auxiliary encoder; no donor model.

    Args:
        temperature: Softmax temperature τ of both estimates.
        top_k: Neighbours of the global estimate.
        global_weight: Weight of the global estimate.
        threshold: Neighbours less similar than this are left out.
        encoder: The auxiliary encoder (a directory or a prepared name).
    """

    name: ClassVar[str] = "tokenadapt"
    temperature: float = 0.3
    top_k: int = 3
    global_weight: float = 0.3
    threshold: float = 0.0
    encoder: str = "minilm-l6"

    def reads(self) -> tuple[str, ...]:
        return (self.encoder,)

    def rows(self, p: Problem, donor: Donor | None, device: str) -> Rows:
        return tokenadapt_rows(p, self, device=device)


def tokenadapt_rows(p: Problem, opts: TokenAdapt, device: str = "cpu") -> Rows:
    """TokenAdapt hybrid: ``(1 - w)·local + w·global`` (paper repository's local weighting)."""
    import torch

    from tokkit.transplant.aux import AuxEmbedder

    tau = opts.temperature + 1e-5
    g = torch.Generator(device="cpu").manual_seed(p.seed)
    e_all = p.base_E
    mu, sigma = float(e_all.mean()), float(e_all.std())

    def background(m: torch.Tensor) -> torch.Tensor:
        return (mu + sigma * torch.randn((len(p.new_ids), m.shape[1]), generator=g)).to(m.device)

    out_e = background(p.base_E)
    out_u = background(p.base_U) if p.base_U is not None else None
    pieces = p.new_pieces()
    need_local = opts.global_weight < 1.0
    need_global = opts.global_weight > 0.0
    embedder = AuxEmbedder(opts.encoder, device=device)
    new_text = [text_of(p.new_bytes[i]) for i in p.new_ids]
    piece_ids = sorted({j for ps in pieces for j in ps}) if need_local else []
    base_ids = sorted(p.base_bytes) if need_global else []
    strings = new_text + [text_of(p.base_bytes[j]) for j in sorted(set(piece_ids) | set(base_ids))]
    phi_all = embedder.embed(strings, progress=p.progress).to(p.base_E.device)
    phi_new = phi_all[: len(new_text)]
    index_of = {j: len(new_text) + r for r, j in enumerate(sorted(set(piece_ids) | set(base_ids)))}
    has_local = torch.zeros(len(p.new_ids), dtype=torch.bool)
    has_global = torch.zeros(len(p.new_ids), dtype=torch.bool)
    local_e = torch.zeros_like(out_e)
    local_u = torch.zeros_like(out_u) if out_u is not None else None
    if need_local:
        phi_n = torch.nn.functional.normalize(phi_new, dim=1)
        for r, ps in enumerate(pieces):
            if not ps:
                continue
            idx = torch.tensor(ps, device=p.base_E.device)
            phi_p = torch.nn.functional.normalize(phi_all[[index_of[j] for j in ps]], dim=1)
            sim = phi_p @ phi_n[r]
            n_chars = max(len(new_text[r]), 1)
            ell = torch.tensor(
                [len(text_of(p.base_bytes[j])) / n_chars for j in ps],
                dtype=sim.dtype,
                device=sim.device,
            )
            b = (torch.softmax(sim, 0) + ell) / 2
            w = torch.softmax(b / tau, 0)
            local_e[r] = w @ p.base_E[idx]
            if local_u is not None and p.base_U is not None:
                local_u[r] = w @ p.base_U[idx]
            has_local[r] = True
    global_e = torch.zeros_like(out_e)
    global_u = torch.zeros_like(out_u) if out_u is not None else None
    if need_global:
        keys = torch.nn.functional.normalize(phi_all[[index_of[j] for j in base_ids]], dim=1)
        base_idx = torch.tensor(base_ids, device=p.base_E.device)
        q = torch.nn.functional.normalize(phi_new, dim=1)
        for start in range(0, len(p.new_ids), 1024):
            sim = q[start : start + 1024] @ keys.T
            top = sim.topk(min(opts.top_k, keys.shape[0]), dim=1)
            w = torch.softmax(top.values / tau, 1) * (top.values >= opts.threshold)
            total = w.sum(1, keepdim=True)
            ok = total.squeeze(1) > 0
            w = w / total.clamp_min(1e-30)
            rows = base_idx[top.indices]
            global_e[start : start + 1024] = torch.einsum("bk,bkd->bd", w, p.base_E[rows])
            if global_u is not None and p.base_U is not None:
                global_u[start : start + 1024] = torch.einsum("bk,bkd->bd", w, p.base_U[rows])
            has_global[start : start + 1024] = ok.cpu()
    wg = opts.global_weight

    def combine(out: torch.Tensor, loc: torch.Tensor, glo: torch.Tensor) -> torch.Tensor:
        both = (has_local & has_global).to(out.device)
        only_l = (has_local & ~has_global).to(out.device)
        only_g = (~has_local & has_global).to(out.device)
        out = out.clone()
        out[both] = (1 - wg) * loc[both] + wg * glo[both]
        out[only_l] = loc[only_l]
        out[only_g] = glo[only_g]
        return out

    p.report.update(
        local_estimates=int(has_local.sum()),
        global_estimates=int(has_global.sum()),
        random_rows=int((~has_local & ~has_global).sum()),
    )
    e = combine(out_e, local_e, global_e)
    u = combine(out_u, local_u, global_u) if out_u is not None else None  # type: ignore[arg-type]
    return e, u


# ---------------------------------------------------------------------------------------------
# FOCUS-style


def sparsemax(z: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of each row of ``z`` onto the probability simplex."""
    import torch

    zs, _ = z.sort(dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    cum = zs.cumsum(-1)
    support = 1 + k * zs > cum
    k_star = support.to(z.dtype).cumsum(-1).argmax(-1, keepdim=True)  # last True position
    tau = (cum.gather(-1, k_star) - 1) / (k_star + 1).to(z.dtype)
    return (z - tau).clamp_min(0)


@register
@dataclass(frozen=True, kw_only=True)
class Focus(Method):
    """FOCUS-style: a sparsemax-weighted convex combination of shared anchors by auxiliary
    similarity.

    Args:
        encoder: The auxiliary encoder (a directory or a prepared name).
    """

    name: ClassVar[str] = "focus"
    encoder: str = "minilm-l6"

    def reads(self) -> tuple[str, ...]:
        return (self.encoder,)

    def rows(self, p: Problem, donor: Donor | None, device: str) -> Rows:
        return focus_rows(p, encoder=self.encoder, device=device)


def focus_rows(p: Problem, encoder: str = "minilm-l6", device: str = "cpu", top: int = 256) -> Rows:
    """Sparsemax over auxiliary cosine similarity to the shared anchors (FOCUS,
    design/transplant.md §7.1).

    Sparsemax is computed on each row's ``top`` largest similarities; that is exact whenever the
    support is smaller than ``top`` (checked, and the row is redone on all anchors otherwise).
    """
    import torch

    from tokkit.transplant.aux import AuxEmbedder

    anchors_new = sorted(p.copy)
    anchors_base = torch.tensor([p.copy[i] for i in anchors_new], device=p.base_E.device)
    embedder = AuxEmbedder(encoder, device=device)
    strings = [text_of(p.new_bytes[i]) for i in p.new_ids] + [
        text_of(p.new_bytes[i]) for i in anchors_new
    ]
    phi = torch.nn.functional.normalize(embedder.embed(strings, progress=p.progress), dim=1)
    phi = phi.to(p.base_E.device)
    q, keys = phi[: len(p.new_ids)], phi[len(p.new_ids) :]
    e = torch.zeros((len(p.new_ids), p.base_E.shape[1]), device=p.base_E.device)
    u = (
        torch.zeros((len(p.new_ids), p.base_U.shape[1]), device=p.base_E.device)
        if p.base_U is not None
        else None
    )
    t = min(top, keys.shape[0])
    for start in range(0, len(p.new_ids), 1024):
        sim = q[start : start + 1024] @ keys.T
        vals, idx = sim.topk(t, dim=1)
        w = sparsemax(vals)
        if t < keys.shape[0]:
            full = (w[:, -1] > 0).nonzero().flatten()  # support reaches the cut: redo exactly
            for r in full.tolist():
                # Rare: a flat similarity profile. Keep the t heaviest weights of the exact
                # projection and renormalise (exact when the support fits in t).
                w_full = sparsemax(sim[r : r + 1])[0]
                heavy = w_full.topk(t)
                w[r] = heavy.values / heavy.values.sum()
                idx[r] = heavy.indices
        rows = anchors_base[idx]
        e[start : start + 1024] = torch.einsum("bk,bkd->bd", w, p.base_E[rows])
        if u is not None and p.base_U is not None:
            u[start : start + 1024] = torch.einsum("bk,bkd->bd", w, p.base_U[rows])
    p.report.update(anchors=len(anchors_new))
    return e, u


# ---------------------------------------------------------------------------------------------
# trained


@register
@dataclass(frozen=True, kw_only=True)
class Zett(Method):
    """Rows predicted by a ZeTT hypernetwork trained for the base model
    (``tokkit hypernet train``; design/hypernet.md §4).

    Args:
        hypernet: The hypernetwork directory.
        batch: New tokens per forward pass.
    """

    name: ClassVar[str] = "zett"
    hypernet: str | None = None
    batch: int = 16_384

    def __post_init__(self) -> None:
        if self.hypernet is not None:
            from tokkit.hypernet.store import read_dir

            read_dir(self.hypernet)  # a wrong directory fails before any model is loaded
        if self.batch < 1:
            raise ConfigError(f"batch must be at least 1, not {self.batch}")

    def reads(self) -> tuple[str, ...]:
        return () if self.hypernet is None else (self.hypernet,)

    def rows(self, p: Problem, donor: Donor | None, device: str) -> Rows:
        if self.hypernet is None:
            raise ConfigError(
                "method zett predicts rows with a trained hypernetwork, and none was given",
                hint="give {hypernet=DIR}, the output of `tokkit hypernet train` for this base "
                "model",
            )
        from tokkit.hypernet.apply import predict

        pieces = [p.new_bytes[i] for i in p.new_ids]
        return predict(self.hypernet, p.base_E, p.base_U, pieces, device=device,
                       batch=self.batch, progress=p.progress)
