"""Training on the real SmolLM2-135M: the held-out loss falls, the directory is complete, a
resumed run equals an uninterrupted one, two gloo processes equal one with twice the
accumulation, real tokenizers mix in."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tokkit.exceptions import ConfigError, OutputExistsError
from tokkit.hypernet import read_dir, train_hypernet

from ..conftest import ROOT
from .conftest import SMALL

# A smaller run still for the tests that compare two runs.
TINY = dataclasses.replace(SMALL, max_steps=5, identity_steps=2, sample_vocab=256,
                           seq_len=32)


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines()]


def test_training_lowers_the_held_out_bits_per_byte(trained: Path) -> None:
    rows = _rows(trained)
    evals = [r for r in rows if "bits_per_byte" in r]
    steps = [r for r in rows if r.get("split") != "eval"]
    assert all("step" in r and "loss" in r for r in rows)  # the interface outside checks read
    assert [r["step"] for r in steps] == list(range(1, 25))
    assert {r.get("phase") for r in steps[:4]} == {"identity"}
    assert all(r["tokenizer"] == "sampled" and r["vocab"] > 256 for r in steps[4:])
    # Step 0 is the subword-mean baseline on the fixed evaluation tokenizer; training beats it.
    assert evals[0]["step"] == 0
    assert evals[-1]["step"] == 24
    assert evals[-1]["bits_per_byte"] < evals[0]["bits_per_byte"] - 0.05
    assert (trained / "hypernet.png").read_bytes()[:4] == b"\x89PNG"
    files = read_dir(trained)
    assert files.base["rows"] == 49152
    assert files.base["untied"] is False
    assert files.arch.hidden == 128
    assert files.training["config"]["max_steps"] == 24


def test_a_resumed_run_equals_an_uninterrupted_one(smol: Path, data: Path,
                                                   tmp_path: Path) -> None:
    cfg = dataclasses.replace(TINY, checkpoint_every=1)
    whole = train_hypernet(smol, tmp_path / "whole", config=cfg, data_paths=[data])
    part = train_hypernet(smol, tmp_path / "part", config=cfg, data_paths=[data], stop_after=3,
                          checkpoint_dir=tmp_path / "ck")
    assert part.steps == 3
    assert not (tmp_path / "part").exists()
    train_hypernet(smol, tmp_path / "part", config=cfg, data_paths=[data],
                   resume=tmp_path / "ck", checkpoint_dir=tmp_path / "ck")
    a = load_file(str(tmp_path / "whole" / "hypernet.safetensors"))
    b = load_file(str(tmp_path / "part" / "hypernet.safetensors"))
    # Equal up to float reassociation: oneDNN/MKL pick kernels by buffer alignment, so a resumed
    # process may sum in another order (seen: 1.2e-7 on one weight near zero). An Adam step moves
    # a weight by up to lr = 1e-3; 1e-5 is a hundredth of one step, far below a skipped or
    # repeated batch.
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-5)
    def losses(d: Path) -> list[float]:
        return [r["loss"] for r in _rows(d)]

    assert losses(tmp_path / "part") == pytest.approx(losses(tmp_path / "whole"), rel=1e-5)
    assert whole.steps == 5
    # A checkpoint of other options is refused.
    other = dataclasses.replace(TINY, lr=5e-4)
    with pytest.raises(ConfigError, match="another run"):
        train_hypernet(smol, tmp_path / "x", config=other, data_paths=[data],
                       resume=tmp_path / "ck")


def test_two_gloo_processes_equal_one_with_twice_the_accumulation(
    smol: Path, data: Path, tmp_path: Path
) -> None:
    common = ["hypernet", "train", "--model", str(smol), "--data", str(data),
              "--max-steps", "4", "--identity-steps", "1", "--warmup-steps", "1",
              "--batch-size", "1", "--seq-len", "32", "--sample-vocab", "256",
              "--hn-layers", "1", "--hn-hidden", "64", "--hn-heads", "2", "--eval-every", "0",
              "--eval-bytes", "2000", "--lr", "1e-3", "--progress", "none"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "python")}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc-per-node", "2", "-m", "tokkit"]
    two = subprocess.run([*torchrun, *common, "--out", str(tmp_path / "ddp")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, "-m", "tokkit", *common, "--grad-accum", "2",
                          "--out", str(tmp_path / "one")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    a = load_file(str(tmp_path / "ddp" / "hypernet.safetensors"))
    b = load_file(str(tmp_path / "one" / "hypernet.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6)
    for r1, r2 in zip(_rows(tmp_path / "ddp"), _rows(tmp_path / "one"), strict=True):
        assert r1["loss"] == pytest.approx(r2["loss"], rel=1e-4)


def test_real_tokenizers_mix_with_sampled_ones(smol: Path, data: Path, tmp_path: Path) -> None:
    real = ROOT / "tests" / "fixtures" / "tokenizers" / "qwen2.5-coder-0.5b-8k"
    cfg = dataclasses.replace(TINY, max_steps=6, real_tokenizers=(str(real),), real_rate=0.5)
    train_hypernet(smol, tmp_path / "mixed", config=cfg, data_paths=[data])
    used = [r["tokenizer"] for r in _rows(tmp_path / "mixed") if "tokenizer" in r]
    assert set(used) == {"sampled", str(real)}


def test_an_existing_output_needs_force(trained: Path, smol: Path, data: Path) -> None:
    before = (trained / "hypernet.safetensors").read_bytes()
    with pytest.raises(OutputExistsError):
        train_hypernet(smol, trained, config=TINY, data_paths=[data])
    assert (trained / "hypernet.safetensors").read_bytes() == before


def test_the_alm_objective_trains_against_the_base_model_on_its_own_tokenization(
    smol: Path, data: Path, tmp_path: Path
) -> None:
    cfg = dataclasses.replace(TINY, objective="alm", max_steps=4)
    train_hypernet(smol, tmp_path / "alm", config=cfg, data_paths=[data])
    rows = [r for r in _rows(tmp_path / "alm") if "loss_alm" in r]
    assert len(rows) == 2
    assert all(r["loss_alm"] > 0 and r["grad_norm"] > 0 for r in rows)
    assert read_dir(tmp_path / "alm").training["config"]["objective"] == "alm"
