"""Invariants of the ALM and companion losses (design/distill.md §6), continued: padding,
loss-mask and micro-batch invariance, numerical robustness, SFT, latents, GradMag, errors and a
real model."""

from __future__ import annotations

import math

import pytest
import torch

from tokkit.distill import losses as L
from tokkit.exceptions import ConfigError

from .._models import tiny_llama
from ._loss_batches import (
    KINDS,
    Batch,
    Tensor,
    random_batch,
)

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
