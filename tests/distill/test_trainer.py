"""The distillation loop end to end on tiny real Llamas with real tokenizers (two cut
registry tokenizers: SmolLM2's and Qwen2.5's, so teacher and student segment differently):
outputs, invariants of the run (resume, identical models, micro-batching, two processes) and
bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tokkit.distill import DistillConfig, distill
from tokkit.exceptions import ConfigError, ModelError, OutputExistsError, TrainingError

from .._fixtures import fixture_tokenizer
from .._models import prepared, save_tiny_llama
from ..conftest import CORPORA

ROOT = Path(__file__).resolve().parents[2]

#: Small enough for a step in well under a second on one core.
TINY = DistillConfig(
    max_steps=4,
    batch_size=2,
    seq_len=32,
    eval_every=2,
    eval_bytes=2_000,
    warmup_steps=1,
    lr=1e-3,
)


def _tiny_model(tmp: Path, fixture: str, seed: int) -> Path:
    tok_dir = fixture_tokenizer(fixture).parent
    out = tmp / f"{fixture}-{seed}"
    save_tiny_llama(out, vocab_size=8192)
    if seed:  # another random student of the same shape
        torch.manual_seed(seed)
        weights = load_file(str(out / "model.safetensors"))
        from safetensors.torch import save_file

        save_file({k: torch.randn_like(v) * 0.02 for k, v in weights.items()},
                  str(out / "model.safetensors"), metadata={"format": "pt"})
    shutil.copyfile(tok_dir / "tokenizer.json", out / "tokenizer.json")
    # Both cut tokenizers keep <|endoftext|>: the end-of-sequence token and context token.
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|endoftext|>"}
    (out / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("distill-models")
    return _tiny_model(tmp, "smollm2-135m-8k", 0), _tiny_model(tmp, "qwen2.5-coder-0.5b-8k", 1)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = (CORPORA / "en-prose.txt").read_text(encoding="utf-8")[:30_000]
    code = (CORPORA / "code.txt").read_text(encoding="utf-8")[:10_000]
    path = tmp_path_factory.mktemp("distill-data") / "train.txt"
    path.write_text(text + code, encoding="utf-8")
    return path


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out / "model.safetensors"))


def test_run_writes_a_loadable_student_and_metrics(models: tuple[Path, Path], data: Path,
                                                   tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    teacher, student = models
    out = tmp_path / "healed"
    result = distill(teacher, student, data, out, config=TINY)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if "loss" in r]
    evals = [r for r in rows if "bits_per_byte" in r]
    assert [r["step"] for r in train] == [1, 2, 3, 4]
    assert [r["step"] for r in evals] == [0, 2, 4]
    assert all(r["loss"] > 0 for r in train)
    assert all(r["loss_alm"] > 0 for r in train)
    assert result.evaluations() == evals
    assert (out / "distill.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The student's tokenizer is copied byte for byte; the model loads with plain transformers.
    assert (out / "tokenizer.json").read_bytes() == (student / "tokenizer.json").read_bytes()
    lm = AutoModelForCausalLM.from_pretrained(out, trust_remote_code=False)
    tok = AutoTokenizer.from_pretrained(out, trust_remote_code=False)
    assert lm.get_input_embeddings().weight.shape[0] == 8192
    assert tok("hello world")["input_ids"]
    meta = json.loads((out / "tokkit.json").read_text())
    assert meta["distill"]["config"]["max_steps"] == 4
    # Training changed the student's weights (full mode).
    before, after = _weights(student), _weights(out)
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_embeddings_mode_changes_only_the_embeddings(models: tuple[Path, Path], data: Path,
                                                     tmp_path: Path) -> None:
    teacher, student = models
    out = tmp_path / "emb"
    distill(teacher, student, data, out, config=TINY.replace(mode="embeddings", max_steps=2))
    before, after = _weights(student), _weights(out)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed
    assert all("embed_tokens" in k or "lm_head" in k for k in changed)


def test_lora_is_merged_into_the_saved_weights(models: tuple[Path, Path], data: Path,
                                               tmp_path: Path) -> None:
    teacher, student = models
    out = tmp_path / "lora"
    distill(teacher, student, data, out,
            config=TINY.replace(mode="lora", lora_rank=4, lora_alpha=4, max_steps=3))
    before, after = _weights(student), _weights(out)
    assert before.keys() == after.keys()  # merged: no adapter tensors left
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any("q_proj" in k for k in changed)


def test_resume_equals_an_uninterrupted_run(models: tuple[Path, Path], data: Path,
                                            tmp_path: Path) -> None:
    teacher, student = models
    cfg = TINY.replace(checkpoint_every=1)
    whole = distill(teacher, student, data, tmp_path / "whole", config=cfg)
    ckpts = tmp_path / "ckpts"
    distill(teacher, student, data, tmp_path / "part", config=cfg, checkpoint_dir=ckpts,
            stop_after=2)
    assert not (tmp_path / "part").exists()
    with open(ckpts / "metrics.jsonl", "a", encoding="utf-8") as f:  # what a killed run logged
        f.write(json.dumps({"step": 3, "loss": 999.0}) + "\n")
    resumed = distill(teacher, student, data, tmp_path / "part", config=cfg,
                      checkpoint_dir=ckpts, resume=ckpts)
    assert resumed.resumed_from == 2
    live = [json.loads(x) for x in (ckpts / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in live if "loss" in r] == [1, 2, 3, 4]
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "part")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["loss"] for r in whole.metrics if "loss" in r] == [
        r["loss"] for r in resumed.metrics if "loss" in r
    ]


def test_resume_from_another_run_is_refused(models: tuple[Path, Path], data: Path,
                                            tmp_path: Path) -> None:
    teacher, student = models
    ckpts = tmp_path / "ckpts"
    distill(teacher, student, data, tmp_path / "a", config=TINY, checkpoint_dir=ckpts,
            stop_after=1)
    with pytest.raises(ConfigError, match="another run") as e:
        distill(teacher, student, data, tmp_path / "b", config=TINY.replace(lr=5e-4),
                resume=ckpts)
    assert e.value.hint
    assert "resume" in e.value.hint
    assert not (tmp_path / "b").exists()


def test_identical_teacher_and_student_give_zero_alm_gradient(models: tuple[Path, Path],
                                                             data: Path,
                                                             tmp_path: Path) -> None:
    teacher, _ = models
    cfg = TINY.replace(losses=("alm",), max_steps=1, eval_every=0, clip=1e9)
    result = distill(teacher, teacher, data, tmp_path / "same", config=cfg)
    (row,) = [r for r in result.metrics if "loss" in r]
    assert row["grad_norm"] < 1e-6
    assert row["teacher_logp"] == pytest.approx(row["student_logp"], abs=1e-5)


def test_micro_batching_does_not_change_the_update(models: tuple[Path, Path], data: Path,
                                                   tmp_path: Path) -> None:
    teacher, student = models
    base = TINY.replace(max_steps=2, eval_every=0, losses=("alm", "sft"), aggregation="sum")
    distill(teacher, student, data, tmp_path / "b4", config=base.replace(batch_size=4))
    distill(teacher, student, data, tmp_path / "b2x2",
            config=base.replace(batch_size=2, grad_accum=2))
    a, b = _weights(tmp_path / "b4"), _weights(tmp_path / "b2x2")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("mode", ["full", "lora"])
def test_gradient_checkpointing_gives_the_same_update(
    models: tuple[Path, Path], data: Path, tmp_path: Path, mode: str
) -> None:
    teacher, student = models
    base = TINY.replace(max_steps=1, eval_every=0, mode=mode, lora_rank=4, lora_alpha=4)
    distill(teacher, student, data, tmp_path / "plain", config=base)
    distill(teacher, student, data, tmp_path / "ckpt",
            config=base.replace(gradient_checkpointing=True))
    a, b = _weights(tmp_path / "plain"), _weights(tmp_path / "ckpt")
    assert any(not torch.equal(a[k], _weights(student)[k]) for k in a)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("sharding", ["ddp", "fsdp"])
def test_two_gloo_processes_equal_one_with_twice_the_accumulation(
    models: tuple[Path, Path], data: Path, tmp_path: Path, sharding: str
) -> None:
    teacher, student = models
    common = [
        "--teacher", str(teacher), "--student", str(student), "--data", str(data),
        "--max-steps", "2", "--batch-size", "2", "--seq-len", "32", "--eval-every", "0",
        "--eval-bytes", "2000", "--warmup-steps", "1", "--lr", "1e-3",
        "--losses", "alm,sft", "--aggregation", "sum", "--progress", "none",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "python")}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc-per-node", "2", "-m", "tokkit"]
    flags = ["--fsdp"] if sharding == "fsdp" else []
    two = subprocess.run([*torchrun, "distill", *common, *flags, "--out", str(tmp_path / "ddp")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, "-m", "tokkit", "distill", *common, "--grad-accum",
                          "2", "--out", str(tmp_path / "one")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    a, b = _weights(tmp_path / "ddp"), _weights(tmp_path / "one")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6)
    rows = lambda d: [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    for r1, r2 in zip(rows(tmp_path / "ddp"), rows(tmp_path / "one"), strict=True):
        if "loss" in r1:
            assert r1["loss"] == pytest.approx(r2["loss"], rel=1e-5)


def test_a_diverging_run_stops_with_a_clear_error_and_keeps_its_checkpoint(
    models: tuple[Path, Path], data: Path, tmp_path: Path
) -> None:
    teacher, student = models
    ckpts = tmp_path / "ckpts"
    cfg = TINY.replace(lr=1e30, warmup_steps=0, clip=1e30, checkpoint_every=1, eval_every=0,
                       max_steps=6, losses=("sft",))
    with pytest.raises(TrainingError, match="loss became") as e:
        distill(teacher, student, data, tmp_path / "nan", config=cfg, checkpoint_dir=ckpts)
    assert e.value.hint
    assert str(ckpts) in e.value.hint
    assert not (tmp_path / "nan").exists()
    assert sorted(p.name for p in ckpts.glob("step-*"))


def test_tokenizers_that_do_not_spell_the_same_bytes_are_refused(
    models: tuple[Path, Path], data: Path, tmp_path: Path
) -> None:
    teacher, student = models
    # The student's tokenizer writes every space as "_": its tokens no longer spell the text.
    odd = tmp_path / "odd-student"
    shutil.copytree(student, odd)
    spec = json.loads((odd / "tokenizer.json").read_text(encoding="utf-8"))
    spec["normalizer"] = {"type": "Replace", "pattern": {"String": " "}, "content": "_"}
    (odd / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(ConfigError, match="differing bytes") as e:
        distill(teacher, odd, data, tmp_path / "out", config=TINY)
    assert e.value.hint
    assert "normalise" in e.value.hint
    assert not (tmp_path / "out").exists()


def test_options_fsdp_cannot_honour_are_refused() -> None:
    with pytest.raises(ConfigError, match="GradMag") as e:
        TINY.replace(fsdp=True)  # default losses alm,sft with GradMag
    assert e.value.hint
    assert "aggregation" in e.value.hint
    with pytest.raises(ConfigError, match="checkpoints"):
        TINY.replace(fsdp=True, aggregation="sum", checkpoint_every=5)
    with pytest.raises(ConfigError, match="LoRA"):
        TINY.replace(fsdp=True, aggregation="sum", mode="lora")


def test_bad_input_is_refused_before_any_training(models: tuple[Path, Path], data: Path,
                                                  tmp_path: Path) -> None:
    teacher, student = models
    (tmp_path / "exists").mkdir()
    with pytest.raises(OutputExistsError):
        distill(teacher, student, data, tmp_path / "exists", config=TINY)
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("too short\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"too short|held-out"):
        distill(teacher, student, tiny, tmp_path / "o1", config=TINY)
    encoder = prepared("minilm-l6")
    with pytest.raises(ModelError, match="causal"):
        distill(teacher, encoder, data, tmp_path / "o2", config=TINY)
    assert not (tmp_path / "o1").exists()
    assert not (tmp_path / "o2").exists()
