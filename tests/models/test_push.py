"""``tokkit push`` and ``tokkit.hub``: what reaches the Hub, the model card, and every error
raised before or during the upload.

The Hub cannot be reached from CI, so each upload goes to the loopback server of
``_hub_server.py``, which implements the endpoints huggingface_hub 2.4 uses. Nothing here talks
to anything but 127.0.0.1: huggingface_hub stays in offline mode, with no token and an endpoint
where nothing listens, except under the ``online`` fixture, which points it at the loopback
server.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

import tokkit
from tokkit import hub as tokkit_hub
from tokkit.exceptions import ConfigError, HubError, ModelError, ModelNotFoundError

from .._hub_fixtures import no_hub_credentials, online
from .._hub_server import HubServer
from ..cli_snapshots import cli_process
from ..conftest import CORPORA, run_cli

np = pytest.importorskip("numpy")
safetensors_numpy = pytest.importorskip("safetensors.numpy")
huggingface_hub = pytest.importorskip("huggingface_hub")
hf_constants = pytest.importorskip("huggingface_hub.constants")
yaml = pytest.importorskip("yaml")  # PyYAML comes with huggingface_hub

REPO = "tokkit-tests/tiny-transplant"

__all__ = ["no_hub_credentials", "online"]  # fixtures shared with test_hub_ids.py

# huggingface_hub 2.4 streams LFS uploads with httpx2's deprecated `data=<file>`; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes/text content:DeprecationWarning"
)


@pytest.fixture(scope="module")
def trained_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tokkit tokenizer, trained on a shipped corpus (a fraction of a second)."""
    out = tmp_path_factory.mktemp("tok") / "bpe-300"
    tokkit.train(str(CORPORA / "en-prose.txt"), tokkit.trainers.BPE(vocab_size=300), out=str(out))
    return out


def transplant_meta(**changes: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "kind": "transplant",
        "tokkit_version": tokkit.__version__,
        "method": "omp",
        "parameters": {"k": 64, "batch_size": 256},
        "base_model": {
            "path": "/nonexistent/smollm2",
            "name": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "license": "apache-2.0",
        },
        "donor": None,
        "tokenizer": {"path": "/nonexistent/bpe-300", "vocab_size": 300, "sha256": "ab" * 32},
        "rows": 320,
        "shared_tokens": 250,
        "new_tokens": 50,
        "masked_ids": [300, 301, 302],
        "warnings": ["7 new tokens are pure digits"],
        "metrics": {"bits_per_byte": {"english": {"base": 0.95, "transplanted": 1.26}}},
    }
    meta.update(changes)
    return meta


@pytest.fixture
def model_dir(tmp_path: Path, trained_tokenizer: Path) -> Path:
    """A transplant-shaped model directory: config, real safetensors, a real tokenizer and
    tokkit.json (the weights are random: only the bytes matter here)."""
    d = tmp_path / "tiny-transplant"
    d.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(trained_tokenizer / name, d / name)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": 320,
        "hidden_size": 8,
        "tie_word_embeddings": True,
    }
    (d / "config.json").write_text(json.dumps(config, indent=2))
    (d / "generation_config.json").write_text('{"max_new_tokens": 32}\n')
    rng = np.random.default_rng(0)
    safetensors_numpy.save_file(
        {
            "model.embed_tokens.weight": rng.standard_normal((320, 8)).astype(np.float32),
            "model.norm.weight": np.ones(8, dtype=np.float32),
        },
        str(d / "model.safetensors"),
    )
    (d / "tokkit.json").write_text(json.dumps(transplant_meta(), indent=2))
    return d


def snapshot(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in d.rglob("*") if p.is_file()}


def front_matter(card: str) -> dict[str, Any]:
    assert card.startswith("---\n")
    data = yaml.safe_load(card.split("---\n")[1])
    assert isinstance(data, dict)
    return data


# -- the upload -----------------------------------------------------------------------------------


def test_push_uploads_every_file_byte_identical_with_a_card(
    online: HubServer, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(model_dir)
    monkeypatch.setenv("HF_TOKEN", online.token)
    result = run_cli("push", str(model_dir), "--repo-id", REPO, "--endpoint", online.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{online.url}/{REPO}\n"

    files = online.files(REPO)
    assert set(files) == {*before, "README.md"}
    for name, data in before.items():
        assert files[name] == data, name
    meta = front_matter(files["README.md"].decode())
    assert meta["license"] == "apache-2.0"
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert meta["library_name"] == "transformers"
    assert meta["pipeline_tag"] == "text-generation"
    assert meta["tags"] == ["tokkit", "tokenizer-transplant", "omp"]
    assert online.validated_yaml == [files["README.md"].decode()]

    # The weights took the LFS path (batch, pre-signed PUT, verify), the rest went inline.
    assert online.endpoints() == [
        "create",
        "validate_yaml",
        "preupload",
        "lfs_batch",
        "lfs_upload",
        "lfs_verify",
        "commit",
    ]
    assert all(r.status == 200 for r in online.requests), online.requests
    assert online.unexpected == []
    # DIR is not touched: no README.md written into it, no file changed.
    assert snapshot(model_dir) == before


def test_the_library_returns_what_it_pushed(online: HubServer, model_dir: Path) -> None:
    result = tokkit_hub.push(
        model_dir, REPO, token=online.token, endpoint=online.url, commit_message="first"
    )
    assert result.url == f"{online.url}/{REPO}"
    assert result.commit_oid == online.repos[REPO].head("main")[0]
    assert result.commit_url == f"{online.url}/{REPO}/commit/{result.commit_oid}"
    assert result.token_source == "--token"
    assert result.card is not None
    assert result.warnings == ()
    assert [f.path_in_repo for f in result.files] == sorted(online.files(REPO))
    assert result.total_bytes == sum(len(v) for v in online.files(REPO).values())
    assert online.repos[REPO].commit_messages == ["first"]


def test_pushing_the_same_directory_twice_commits_nothing_new(
    online: HubServer, model_dir: Path
) -> None:
    first = tokkit_hub.push(model_dir, REPO, token=online.token, endpoint=online.url)
    second = tokkit_hub.push(model_dir, REPO, token=online.token, endpoint=online.url)
    assert second.commit_oid == first.commit_oid
    assert len(online.repos[REPO].branches["main"]) == 2  # the empty initial commit + one


def test_private_reaches_the_create_call(online: HubServer, model_dir: Path) -> None:
    tokkit_hub.push(model_dir, REPO, private=True, token=online.token, endpoint=online.url)
    tokkit_hub.push(model_dir, "tokkit-tests/public", token=online.token, endpoint=online.url)
    creates = [r.json for r in online.requests if r.endpoint == "create"]
    assert creates[0] == {
        "name": "tiny-transplant",
        "organization": "tokkit-tests",
        "visibility": "private",
        "type": "model",
    }
    # Without --private no visibility is sent, so an organisation's default applies.
    assert "visibility" not in creates[1]
    assert online.repos[REPO].private
    assert not online.repos["tokkit-tests/public"].private


def test_revision_commits_to_a_new_branch(online: HubServer, model_dir: Path) -> None:
    result = tokkit_hub.push(
        model_dir, REPO, revision="v1", token=online.token, endpoint=online.url
    )
    assert result.url == f"{online.url}/{REPO}/tree/v1"
    assert "branch" in online.endpoints()
    assert "model.safetensors" in online.files(REPO, "v1")
    assert online.files(REPO, "main") == {}


def test_the_stored_login_token_is_used(online: HubServer, model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "hf-home").mkdir()
    (tmp_path / "hf-home" / "token").write_text(online.token)
    # A process of its own: huggingface_hub reads HF_HOME and HF_ENDPOINT when imported.
    result = cli_process("push", str(model_dir), "--repo-id", REPO)
    assert result.returncode == 0, result.stderr
    assert set(online.files(REPO)) >= {"model.safetensors", "README.md"}


def test_token_flag_wins_over_hf_token(
    online: HubServer, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_not_the_right_one")
    result = tokkit_hub.push(model_dir, REPO, token=online.token, endpoint=online.url)
    assert result.token_source == "--token"
    assert all(
        r.headers.get("authorization") == f"Bearer {online.token}"
        for r in online.requests
        if r.endpoint != "lfs_upload"
    )


# -- the card -------------------------------------------------------------------------------------


def test_the_card_describes_the_transplant(model_dir: Path) -> None:
    card = tokkit_hub.model_card(model_dir, repo_id=REPO)
    meta = front_matter(card)
    assert meta["license"] == "apache-2.0"
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    # The recorded bits per byte, as the model-index the Hub shows as evaluation results.
    [entry] = meta["model-index"]
    assert entry["name"] == "tiny-transplant"
    [result] = entry["results"]
    assert result["task"] == {"type": "text-generation"}
    assert result["dataset"] == {"name": "english", "type": "text"}
    assert result["metrics"] == [{"type": "bits_per_byte", "value": 1.26, "name": "bits per byte"}]
    assert "# tiny-transplant" in card
    assert "tokenizer replaced by a new tokenizer of 300 tokens" in card
    assert "`omp`" in card
    assert "- `k`: `64`" in card
    assert "| english | 0.9500 | 1.2600 | +32.6% |" in card
    assert "does not depend on the tokenizer" in card
    assert "distillation" in card
    assert f'AutoModelForCausalLM.from_pretrained("{REPO}")' in card
    assert "without `trust_remote_code`" in card
    assert "It loads the same in transformers 4.57 as in 5.x" in card
    assert "`llama`" in card
    assert "3 ids have no token or no trained row (300, 301, 302)" in card
    assert "suppress_tokens" in card
    assert "- 7 new tokens are pure digits" in card
    assert f"Made with tokkit {tokkit.__version__}" in card
    assert "/nonexistent" not in card  # local paths stay out of a public card


def test_the_license_comes_from_the_base_model_readme(model_dir: Path, tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "README.md").write_text("---\nlicense: mit\nlanguage: en\n---\n# Base\n")
    meta = transplant_meta(base_model={"path": str(base), "name": None, "license": None})
    (model_dir / "tokkit.json").write_text(json.dumps(meta))
    card = tokkit_hub.model_card(model_dir)
    front = front_matter(card)
    assert front.pop("model-index")[0]["name"] == "tiny-transplant"
    assert front == {
        "license": "mit",
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": ["tokkit", "tokenizer-transplant", "omp"],
    }
    assert "a local base model" in card


def test_an_unknown_license_is_left_out_with_a_warning(model_dir: Path) -> None:
    meta = transplant_meta(base_model={"path": "/nonexistent", "name": "a/b", "license": None})
    (model_dir / "tokkit.json").write_text(json.dumps(meta))
    result = tokkit_hub.push(model_dir, REPO, dry_run=True)
    assert result.card is not None
    assert "license" not in front_matter(result.card)
    assert any("license=" in w for w in result.warnings)
    forced = tokkit_hub.push(model_dir, REPO, dry_run=True, license="cc-by-4.0")
    assert forced.card is not None
    assert front_matter(forced.card)["license"] == "cc-by-4.0"
    assert forced.warnings == ()


def test_a_tokenizer_gets_a_tokenizer_card(trained_tokenizer: Path) -> None:
    card = tokkit_hub.model_card(trained_tokenizer, repo_id="me/bpe-300", license="mit")
    assert front_matter(card) == {"license": "mit", "tags": ["tokkit", "tokenizer", "bpe"]}
    assert "`bpe` tokenizer of 300 tokens" in card
    assert 'AutoTokenizer.from_pretrained("me/bpe-300")' in card
    assert "AutoModelForCausalLM" not in card


def test_a_plain_hugging_face_directory_gets_a_card(model_dir: Path) -> None:
    (model_dir / "tokkit.json").unlink()
    card = tokkit_hub.model_card(model_dir, repo_id="me/plain")
    assert front_matter(card) == {"library_name": "transformers", "pipeline_tag": "text-generation"}
    assert 'AutoModelForCausalLM.from_pretrained("me/plain")' in card


def test_a_prepared_model_keeps_its_readme(online: HubServer, model_dir: Path) -> None:
    # The shape `tokkit models prepare` writes: a short name, the upstream id in base_model.
    meta = {
        "kind": "model",
        "name": "smollm2-135m",
        "title": "SmolLM2-135M-Instruct",
        "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "task": "causal-lm",
        "license": "apache-2.0",
        "tokkit_version": tokkit.__version__,
    }
    (model_dir / "tokkit.json").write_text(json.dumps(meta))
    own = "---\nlicense: apache-2.0\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\n---\n# S\n"
    (model_dir / "README.md").write_text(own)
    result = tokkit_hub.push(model_dir, REPO, token=online.token, endpoint=online.url)
    assert result.card is None
    assert result.warnings == ()
    assert online.files(REPO)["README.md"] == own.encode()

    card = tokkit_hub.model_card(model_dir, repo_id="me/smol")
    assert front_matter(card) == {
        "license": "apache-2.0",
        "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": ["tokkit"],
    }
    assert "# SmolLM2-135M-Instruct" in card
    assert "as prepared by `tokkit models`" in card
    assert 'AutoModelForCausalLM.from_pretrained("me/smol")' in card

    meta.update(task="feature-extraction", base_model="sentence-transformers/all-MiniLM-L6-v2")
    (model_dir / "tokkit.json").write_text(json.dumps(meta))
    card = tokkit_hub.model_card(model_dir)
    assert front_matter(card)["pipeline_tag"] == "feature-extraction"
    assert "AutoModel.from_pretrained" in card


def test_an_existing_readme_is_kept_unless_regenerated(online: HubServer, model_dir: Path) -> None:
    (model_dir / "README.md").write_text("# My own notes\n")
    kept = tokkit_hub.push(model_dir, REPO, token=online.token, endpoint=online.url)
    assert online.files(REPO)["README.md"] == b"# My own notes\n"
    assert any("regenerate_card=True" in w for w in kept.warnings)  # a transplant, untagged card

    again = tokkit_hub.push(
        model_dir, REPO, regenerate_card=True, token=online.token, endpoint=online.url
    )
    assert again.card is not None
    assert online.files(REPO)["README.md"] == again.card.encode()
    assert (model_dir / "README.md").read_text() == "# My own notes\n"

    tokkit_hub.push(model_dir, "me/bare", card=False, token=online.token, endpoint=online.url)
    assert online.files("me/bare")["README.md"] == b"# My own notes\n"


def test_no_card_adds_none(online: HubServer, model_dir: Path) -> None:
    result = tokkit_hub.push(model_dir, REPO, card=False, token=online.token, endpoint=online.url)
    assert result.card is None
    assert "README.md" not in online.files(REPO)
    assert "validate_yaml" not in online.endpoints()


# -- dry run --------------------------------------------------------------------------------------


def test_dry_run_sends_nothing_and_prints_the_files_and_card(
    online: HubServer, model_dir: Path
) -> None:
    result = run_cli(
        "push",
        str(model_dir),
        "--repo-id",
        REPO,
        "--dry-run",
        "--private",
        "--endpoint",
        online.url,
    )
    assert result.returncode == 0, result.stderr
    assert online.requests == []
    out = result.stdout
    assert out.startswith("dry run: would push 8 files (")
    assert f"{online.url}/{REPO}" in out
    assert "would be private" in out
    for name in snapshot(model_dir):
        assert f"  {name} " in out
    assert "README.md (generated):" in out
    card = out.split("README.md (generated):\n\n", 1)[1]
    assert front_matter(card)["license"] == "apache-2.0"
    assert "token: none found" in result.stderr  # a dry run needs no token


# -- errors ---------------------------------------------------------------------------------------


def test_a_missing_token_is_a_hub_error(online: HubServer, model_dir: Path) -> None:
    with pytest.raises(HubError, match=r"no Hugging Face token.*hf auth login.*HF_TOKEN"):
        tokkit_hub.push(model_dir, REPO, endpoint=online.url)
    result = run_cli("push", str(model_dir), "--repo-id", REPO)
    assert result.returncode == 1
    assert result.stderr.startswith("error: no Hugging Face token")
    assert result.stdout == ""
    assert online.requests == []


@pytest.mark.parametrize(
    ("endpoint", "status"), [("create", 401), ("create", 403), ("commit", 500), ("lfs_batch", 403)]
)
def test_hub_refusals_become_hub_errors_with_the_status(
    online: HubServer, model_dir: Path, endpoint: str, status: int
) -> None:
    online.fail[endpoint] = status
    with pytest.raises(HubError, match=rf"HTTP {status} from {online.url}: injected failure"):
        tokkit_hub.push(model_dir, REPO, token=online.token, endpoint=online.url)
    assert [r.status for r in online.requests if r.endpoint == endpoint] == [status]
    assert online.repos.get(REPO) is None or online.files(REPO) == {}


def test_a_rejected_token_exits_1_with_a_hint(
    online: HubServer, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    result = run_cli("push", str(model_dir), "--repo-id", REPO)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: creating {REPO} failed: HTTP 401")
    assert "hf auth login" in last
    assert result.stdout == ""


def test_an_unreachable_endpoint_is_a_hub_error(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(HubError, match=rf"creating {REPO} failed: cannot reach {url}"):
        tokkit_hub.push(model_dir, REPO, token="hf_x", endpoint=url)
    huggingface_hub.close_session()


def test_offline_mode_is_a_hub_error(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubError, match="offline mode"):
        tokkit_hub.push(model_dir, REPO, token="hf_x")


def test_pickle_files_are_refused_before_any_request(online: HubServer, model_dir: Path) -> None:
    (model_dir / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ModelError, match=r"pickle files \(pytorch_model\.bin\).*safetensors"):
        tokkit_hub.push(model_dir, REPO, token=online.token, endpoint=online.url)
    with pytest.raises(ModelError, match="pickle"):
        tokkit_hub.push(model_dir, REPO, dry_run=True)
    assert online.requests == []


def test_a_missing_directory_is_an_error(online: HubServer, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no directory at"):
        tokkit_hub.push(tmp_path / "nope", REPO, token=online.token, endpoint=online.url)
    result = run_cli("push", str(tmp_path / "nope"), "--repo-id", REPO, "--token", online.token)
    assert result.returncode == 1
    assert result.stderr.startswith("error: no directory at")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".hidden").write_text("x")
    with pytest.raises(ModelError, match="no files to upload"):
        tokkit_hub.push(tmp_path / "empty", REPO, dry_run=True)
    assert online.requests == []


@pytest.mark.parametrize(
    "repo_id", ["no-owner", "a/b/c", "me/has space", "me/x--y", "me/.x", "me/x.git", "/x", "me/"]
)
def test_an_invalid_repo_id_is_a_config_error(model_dir: Path, repo_id: str) -> None:
    with pytest.raises(ConfigError, match="invalid repo id"):
        tokkit_hub.push(model_dir, repo_id, dry_run=True)


def test_hidden_files_are_not_uploaded(model_dir: Path) -> None:
    (model_dir / ".git").mkdir()
    (model_dir / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (model_dir / ".DS_Store").write_bytes(b"\0")
    result = tokkit_hub.push(model_dir, REPO, dry_run=True)
    assert not any(f.path_in_repo.startswith(".") for f in result.files)


def test_a_link_out_of_the_directory_is_refused(online: HubServer, model_dir: Path) -> None:
    """Issue 13: ``push`` followed symlinks out of DIR and uploaded their targets."""
    from tokkit.hub.directory import describe_dir

    secret = model_dir.parent / "secret.txt"
    secret.write_text("not for the Hub")
    (model_dir / "notes.txt").symlink_to(secret)
    with pytest.raises(ModelError, match="outside"):
        tokkit_hub.push(model_dir, REPO, token=online.token, endpoint=online.url)
    assert REPO not in online.repos
    (model_dir / "notes.txt").unlink()
    (model_dir / "inside.txt").symlink_to(model_dir / "config.json")  # inside: fine
    assert "inside.txt" in {name for name, _ in describe_dir(model_dir).files}


def test_a_hub_cache_snapshot_of_links_into_blobs_is_uploadable(
    tmp_path: Path, model_dir: Path
) -> None:
    from tokkit.hub.directory import describe_dir

    repo = tmp_path / "models--org--name"
    snapshot = repo / "snapshots" / "0123abc"
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for f in model_dir.iterdir():
        if f.is_file():
            blob = repo / "blobs" / f"blob-{f.name}"
            shutil.copy(f, blob)
            (snapshot / f.name).symlink_to(Path("../..") / "blobs" / blob.name)
    names = {name for name, _ in describe_dir(snapshot).files}
    assert names == {f.name for f in model_dir.iterdir() if f.is_file()}
