"""Shared fixtures: the shipped corpora (offline, checksummed) and helpers to run the CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"
SAMPLES = ["en-prose.txt", "en-tech.txt", "code.txt", "tr.txt", "unicode-edge.txt"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def corpus_files() -> list[str]:
    """All shipped sample corpora."""
    return [str(CORPORA / name) for name in SAMPLES]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m tokkit ARGS`` from the project root and capture its output."""
    from .cli_snapshots import cli

    return cli(*args)
