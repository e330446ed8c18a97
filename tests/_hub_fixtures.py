"""Fixtures of the tests that talk to the loopback Hub (``_hub_server.py``): no credentials and
no reachable Hub by default (``no_hub_credentials``, autouse in the modules that import it), and
the loopback server with huggingface_hub pointed at it (``online``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._hub_server import HubServer

huggingface_hub = pytest.importorskip("huggingface_hub")
hf_constants = pytest.importorskip("huggingface_hub.constants")


def set_endpoint(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Point huggingface_hub at ``url`` in this process (its constants are read at import)."""
    monkeypatch.setattr(hf_constants, "ENDPOINT", url)
    template = url + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)


@pytest.fixture(autouse=True)
def no_hub_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No token from the environment or the machine, and an endpoint where nothing listens, so a
    test that forgets ``online`` or ``endpoint=`` cannot reach a real Hub."""
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the conftest default, for the subprocesses too
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(hf_constants, "AGENT_HARNESSES_PATH", str(tmp_path / "harnesses.json"))
    set_endpoint(monkeypatch, "http://127.0.0.1:9")


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """The loopback Hub, with huggingface_hub allowed to reach it (in this process and in CLI
    subprocesses): offline mode off, xet off (the server speaks the LFS batch API)."""
    with HubServer() as server:
        monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_XET", True)
        set_endpoint(monkeypatch, server.url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server
        # Drop the pooled keep-alive connections to this server before it goes away.
        huggingface_hub.close_session()
