"""Applying a trained hypernetwork: ``tokkit transplant --method zett`` onto a tokkit tokenizer
(the output loads in transformers and scores), the base tokenizer reproduced, and the typed
errors: another base model, corrupt or truncated files, a link out, no hypernetwork given."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import tokkit
from tokkit.exceptions import ConfigError, HypernetError
from tokkit.hypernet import predict, read_dir
from tokkit.score import score_model

from ..conftest import CORPORA, run_cli
from .conftest import SMALL

pytestmark = pytest.mark.filterwarnings("ignore::tokkit.exceptions.TransplantWarning")

ENGLISH = (CORPORA / "en-prose.txt").read_text(encoding="utf-8")[-6000:]


@pytest.fixture(scope="module")
def bpe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tok") / "bpe-4k"
    tokkit.train([str(CORPORA / "en-prose.txt"), str(CORPORA / "code.txt")],
                 tokkit.trainers.BPE(vocab_size=4000, special_tokens=["<|endoftext|>"]), out=out)
    return out


def test_cli_transplant_with_zett_loads_and_scores(smol: Path, bpe: Path, trained: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "smol-zett"
    r = run_cli("transplant", "--model", str(smol), "--tokenizer", str(bpe), "--method", "zett",
                "--hypernet", str(trained), "--out", str(out), "--progress", "none")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["method"] == "zett"
    assert summary["new_tokens"] > 100
    meta = json.loads((out / "tokkit.json").read_text())
    assert meta["method"] == "zett"
    assert meta["parameters"]["hypernet"] == str(trained)
    # --force never removes an input, the hypernetwork included.
    r = run_cli("transplant", "--model", str(smol), "--tokenizer", str(bpe), "--method", "zett",
                "--hypernet", str(trained), "--out", str(trained), "--force")
    assert r.returncode != 0
    assert (trained / "hypernet.json").is_file()
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(out, trust_remote_code=False)
    assert model.get_input_embeddings().weight.shape[0] >= 4000
    bpb = score_model(out, [ENGLISH]).bits_per_byte
    assert 0.5 < bpb < 4.0
    # Shared rows are the base model's, bit for bit.
    base = load_file(str(smol / "model.safetensors"))["model.embed_tokens.weight"]
    new = load_file(str(out / "model.safetensors"))["model.embed_tokens.weight"]
    tok = tokkit.load(bpe)
    i_new = tok.encode(" the")[0]
    base_tok = tokkit.load(smol)
    assert torch.equal(new[i_new], base[base_tok.encode(" the")[0]])


def test_after_the_warm_up_it_nearly_reproduces_the_base_model(smol: Path, data: Path,
                                                              tmp_path: Path) -> None:
    from tokkit._tokkit import BpeTokenizer
    from tokkit.hypernet import train_hypernet
    from tokkit.models import load_causal_lm

    warm = dataclasses.replace(SMALL, max_steps=4, identity_steps=4)
    train_hypernet(smol, tmp_path / "warm", config=warm, data_paths=[data])
    model, tok = load_causal_lm(smol)
    E = model.get_input_embeddings().weight.detach().float()
    rust = BpeTokenizer.from_file(smol / "tokenizer.json")
    specials = {i for _, i, _ in rust.added_tokens()}
    pieces = [b"" if i in specials else rust.token_bytes(i) for i in range(E.shape[0])]
    pred, _ = predict(tmp_path / "warm", E, None, pieces)
    regular = torch.tensor([i for i in range(E.shape[0]) if i not in specials])
    cos = torch.nn.functional.cosine_similarity(pred[regular], E[regular], dim=1)
    assert float(cos.mean()) > 0.99
    assert float(cos.min()) > 0.8
    base_bpb = score_model(smol, [ENGLISH], loaded=(model, tok)).bits_per_byte
    with torch.no_grad():
        model.get_input_embeddings().weight[regular] = pred[regular]
    swapped = score_model(smol, [ENGLISH], loaded=(model, tok)).bits_per_byte
    assert swapped < base_bpb * 1.05


def test_another_base_model_is_refused(trained: Path, smol: Path) -> None:
    E = load_file(str(smol / "model.safetensors"))["model.embed_tokens.weight"].float()
    other = E.clone()
    other[0, 0] += 1e-3
    with pytest.raises(HypernetError, match="belongs to base model") as e:
        predict(trained, other, None, [b" hello"])
    assert "tokkit hypernet train" in (e.value.hint or "")
    with pytest.raises(HypernetError, match="untied"):
        predict(trained, E, E, [b" hello"])


def test_corrupt_truncated_or_incomplete_directories_are_typed_errors(trained: Path,
                                                                      tmp_path: Path) -> None:
    def copy(name: str) -> Path:
        d = tmp_path / name
        shutil.copytree(trained, d)
        return d

    d = copy("no-json")
    (d / "hypernet.json").unlink()
    with pytest.raises(HypernetError, match=r"no hypernet\.json"):
        read_dir(d)
    d = copy("bad-json")
    (d / "hypernet.json").write_text("{not json")
    with pytest.raises(HypernetError, match="not a tokkit hypernetwork"):
        read_dir(d)
    d = copy("version")
    meta = json.loads((d / "hypernet.json").read_text())
    meta["version"] = 99
    (d / "hypernet.json").write_text(json.dumps(meta))
    with pytest.raises(HypernetError, match="version 99"):
        read_dir(d)
    d = copy("truncated")
    w = d / "hypernet.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    base = load_file(str(read_dir(trained).base["path"]) + "/model.safetensors")
    E = base["model.embed_tokens.weight"].float()
    with pytest.raises(HypernetError, match="does not load"):
        predict(d, E, None, [b" hello"])
    d = copy("link")
    (d / "tokenizer.json").unlink()
    (d / "tokenizer.json").symlink_to(Path(read_dir(trained).base["path"]) / "tokenizer.json")
    with pytest.raises(HypernetError, match="links out"):
        read_dir(d)


def test_bytes_without_a_trained_fallback_row_are_refused(trained: Path, smol: Path,
                                                          tmp_path: Path) -> None:
    E = load_file(str(smol / "model.safetensors"))["model.embed_tokens.weight"].float()
    # Sampled tokenizers hold every byte, so training saw SmolLM2's missing ones (0x04...).
    assert {0x04, 0xF5} <= read_dir(trained).fallback_trained
    e, _ = predict(trained, E, None, [b"a\x04b"])
    assert torch.isfinite(e).all()
    d = tmp_path / "no-fallback"
    shutil.copytree(trained, d)
    meta = json.loads((d / "hypernet.json").read_text())
    meta["fallback_trained"] = []
    (d / "hypernet.json").write_text(json.dumps(meta))
    with pytest.raises(HypernetError, match="0x04") as e_info:
        predict(d, E, None, [b" fine", b"a\x04b"])
    assert e_info.value.hint


def test_zett_without_a_hypernetwork_is_a_config_error(smol: Path, bpe: Path,
                                                       tmp_path: Path) -> None:
    r = run_cli("transplant", "--model", str(smol), "--tokenizer", str(bpe), "--method", "zett",
                "--out", str(tmp_path / "x"), "--progress", "none")
    assert r.returncode == 1
    assert "--hypernet" in r.stderr
    assert not (tmp_path / "x").exists()
    r = run_cli("transplant", "--model", str(smol), "--tokenizer", str(bpe), "--method", "zett",
                "--hypernet", str(tmp_path), "--out", str(tmp_path / "y"), "--progress", "none")
    assert r.returncode == 1
    assert "hypernet.json" in r.stderr
    from tokkit.transplant.methods import Zett

    with pytest.raises(ConfigError):
        Zett(batch=0)
