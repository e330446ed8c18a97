"""Shared by the hypernetwork tests: one small training run on the real SmolLM2-135M, reused by
the tests that apply, check and break its output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokkit.hypernet.config import Architecture, HypernetConfig

from .._models import prepared
from ..conftest import CORPORA

#: Small enough for the suite (about a minute on two cores), large enough that the held-out
#: bits per byte fall: 4 warm-up steps, then 20 on sampled tokenizers.
SMALL = HypernetConfig(
    arch=Architecture(layers=1, hidden=128, heads=2),
    max_steps=24,
    identity_steps=4,
    warmup_steps=2,
    batch_size=2,
    seq_len=64,
    sample_vocab=512,
    queue_texts=256,
    lr=1e-3,
    identity_lr=1e-3,
    eval_every=0,
    eval_bytes=3000,
)


@pytest.fixture(scope="session")
def smol() -> Path:
    return prepared("smollm2-135m")


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~120 KB of the shipped English prose and code."""
    out = tmp_path_factory.mktemp("data") / "train.txt"
    prose = (CORPORA / "en-prose.txt").read_text(encoding="utf-8")[:80_000]
    code = (CORPORA / "code.txt").read_text(encoding="utf-8")[:40_000]
    out.write_text(prose + "\n" + code, encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def trained(smol: Path, data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hypernetwork for SmolLM2-135M after the SMALL run."""
    from tokkit.hypernet import train_hypernet

    out = tmp_path_factory.mktemp("hn") / "smol-hn"
    train_hypernet(smol, out, config=SMALL, data_paths=[data])
    return out
