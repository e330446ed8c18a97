"""Hugging Face Hub ids (``org/name``, ``org/name@rev``, ``--revision``) wherever a model or
tokenizer is taken, resolved through ``huggingface_hub.snapshot_download`` and the HF cache.

The Hub cannot be reached from here, so the repos live on the loopback server of
``_hub_server.py`` (the ``online`` fixture points huggingface_hub at it, as ``HF_ENDPOINT``
would); the model is a real transformers Llama, small enough to build in a second, with a
tokenizer tokkit trains on a shipped corpus.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import tokkit
from tokkit import models
from tokkit.exceptions import HubError, ModelNotFoundError, TokenizerNotFoundError
from tokkit.hub import snapshot

from .._hub_fixtures import no_hub_credentials, online
from .._hub_server import HubServer
from .._models import save_tiny_llama
from ..conftest import CORPORA, run_cli

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

__all__ = ["no_hub_credentials", "online"]

REPO = "tokkit-tests/tiny-llama"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (random) Llama with a tokkit-trained BPE tokenizer, saved by transformers."""
    out = tmp_path_factory.mktemp("tiny") / "tiny-llama"
    tok_dir = out.parent / "bpe"
    tokkit.train(
        str(CORPORA / "en-prose.txt"),
        tokkit.trainers.BPE(vocab_size=300, special_tokens=["<|endoftext|>"]),
        out=str(tok_dir),
    )
    tok = transformers.AutoTokenizer.from_pretrained(tok_dir, trust_remote_code=False)
    save_tiny_llama(out, vocab_size=len(tok))
    tok.save_pretrained(out)
    return out


def files_of(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}


@pytest.fixture
def hub(online: HubServer, tiny_model: Path) -> HubServer:
    """The loopback Hub holding the tiny model, plus a pickle that must never be fetched."""
    online.add_repo(REPO, {**files_of(tiny_model), "pytorch_model.bin": b"not fetched"})
    return online


def test_a_hub_id_resolves_to_a_snapshot_in_the_hf_cache(hub: HubServer, tiny_model: Path) -> None:
    d = models.path(REPO)
    assert snapshot.origin(d) == (REPO, hub.repos[REPO].head("main")[0])
    assert d.is_relative_to(Path(snapshot_cache()))
    assert "pytorch_model.bin" not in files_of(d)
    assert files_of(d) == files_of(tiny_model)
    # A second resolution reads the cache: one listing, no file downloaded again.
    before = [r.endpoint for r in hub.requests].count("resolve")
    assert models.path(REPO) == d
    assert [r.endpoint for r in hub.requests].count("resolve") == before


def snapshot_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def test_a_model_loads_and_scores_from_its_hub_id(hub: HubServer, tmp_path: Path) -> None:
    model, tok = models.load_causal_lm(REPO)
    ids = tok("the cat", return_tensors="pt").input_ids
    assert model(ids).logits.shape[-1] == len(tok)
    text = tmp_path / "t.txt"
    text.write_text("The cat sat on the mat.", encoding="utf-8")
    result = run_cli("score", "--model", REPO, "--json", str(text))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["bits_per_byte"] > 0


def test_a_tokenizer_loads_from_a_hub_id_without_the_weights(
    hub: HubServer, tiny_model: Path
) -> None:
    sample = "The cat sat on the mat."
    assert tokkit.load(REPO).encode(sample) == tokkit.load(tiny_model).encode(sample)
    fetched = {r.path.rsplit("/", 1)[-1] for r in hub.requests if r.endpoint == "resolve"}
    assert "model.safetensors" not in fetched
    assert "tokenizer.json" in fetched
    result = run_cli("eval", "--json", "--text", str(CORPORA / "en-prose.txt"), REPO)
    assert result.returncode == 0, result.stderr


def test_revisions_pin_a_commit_by_at_or_by_flag(hub: HubServer, tiny_model: Path) -> None:
    first = hub.repos[REPO].head("main")[0]
    hub.add_repo(REPO, {**files_of(tiny_model), "README.md": b"# second commit\n"})
    assert (models.path(REPO) / "README.md").read_bytes() == b"# second commit\n"
    old = models.path(f"{REPO}@{first}")
    assert not (old / "README.md").exists()
    assert models.path(REPO, revision=first) == old
    result = run_cli("inspect", "--json", "--revision", first, REPO)
    assert result.returncode == 0, result.stderr
    with pytest.raises(ModelNotFoundError, match="has no revision 'nope'"):
        models.path(f"{REPO}@nope")


def test_a_private_repo_needs_a_token(
    hub: HubServer, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.add_repo("tokkit-tests/private", files_of(tiny_model), private=True)
    with pytest.raises(ModelNotFoundError, match="private and the token cannot see it"):
        models.path("tokkit-tests/private")
    monkeypatch.setenv("HF_TOKEN", hub.token)
    assert (models.path("tokkit-tests/private") / "config.json").is_file()


def test_unknown_repos_and_tokenizers_are_typed_errors_with_a_hint(hub: HubServer) -> None:
    with pytest.raises(ModelNotFoundError, match="no Hub repo tokkit-tests/missing"):
        models.path("tokkit-tests/missing")
    with pytest.raises(TokenizerNotFoundError, match="no Hub repo tokkit-tests/missing"):
        tokkit.load("tokkit-tests/missing")
    result = run_cli("score", "--model", "tokkit-tests/missing", str(CORPORA / "en-prose.txt"))
    assert result.returncode == 1
    assert "error: no Hub repo tokkit-tests/missing" in result.stderr
    assert "hint:" in result.stderr


def test_offline_a_cached_snapshot_is_used_and_an_uncached_one_is_a_hub_error(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = models.path(REPO)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert models.path(REPO) == d
    with pytest.raises(HubError, match=r"cannot be reached .* not in the HF cache"):
        models.path("tokkit-tests/never-fetched")


def test_a_local_directory_wins_over_a_hub_id(
    hub: HubServer, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / REPO
    shutil.copytree(tiny_model, local)
    monkeypatch.chdir(tmp_path)
    assert models.path(REPO) == Path(REPO)
    assert not any(r.endpoint == "resolve" for r in hub.requests)


def test_what_is_and_is_not_a_hub_id(tmp_path: Path) -> None:
    assert snapshot.is_hub_id("org/name")
    assert snapshot.is_hub_id("org/name@v1.0")
    assert snapshot.split_revision("org/name@v1.0") == ("org/name", "v1.0")
    for ref in ("name", "./org/name", "/abs/org", "org/na--me", "a/b/c", "org/name@"):
        assert not snapshot.is_hub_id(ref), ref
    assert snapshot.with_revision("org/name", "dev") == "org/name@dev"
    assert snapshot.with_revision("org/name@v1", "dev") == "org/name@v1"
    assert snapshot.with_revision(str(tmp_path), "dev") == str(tmp_path)
    commit = "a" * 40
    cached = tmp_path / "hub" / "models--org--my-model" / "snapshots" / commit
    assert snapshot.origin(cached) == ("org/my-model", commit)
    assert snapshot.origin(tmp_path) is None


def test_a_transplant_from_hub_ids_records_where_its_base_came_from(
    hub: HubServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["transplant", "--model", REPO, "--tokenizer", REPO, "--method", "mean"]
    result = run_cli(*args, "--out", str(out))
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "tokkit.json").read_text(encoding="utf-8"))
    commit = hub.repos[REPO].head("main")[0]
    assert (meta["base_model"]["name"], meta["base_model"]["revision"]) == (REPO, commit)


def test_export_takes_a_hub_id_with_a_revision(hub: HubServer, tmp_path: Path) -> None:
    commit = hub.repos[REPO].head("main")[0]
    out = tmp_path / "exported"
    args = ["export", "--format", "tiktoken", "--revision", commit, "--out", str(out), REPO]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert (out / "tokenizer.tiktoken").is_file()
    sample = "The cat sat on the mat."
    assert tokkit.load(out).encode(sample) == tokkit.load(f"{REPO}@{commit}").encode(sample)


def test_a_tokenizer_from_a_hub_id_needs_no_transformers(
    hub: HubServer, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fetching went through a helper that imported transformers to silence it; a tokenizer
    user with only huggingface_hub got an ImportError."""
    import sys

    # Any import of it, or of a submodule already loaded, fails.
    for name in [m for m in sys.modules if m == "transformers" or m.startswith("transformers.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "transformers", None)
    sample = "The cat sat on the mat."
    assert tokkit.load(REPO).encode(sample) == tokkit.load(tiny_model).encode(sample)
