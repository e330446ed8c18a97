"""Shared fixtures of the hybrid tests: one small tokenizer trained once per session on a slice
of corpora/tr.txt, with the shipped Turkish language cut by ``max_roots`` (or the tests' own
tiny language where the shipped one is missing)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import tokkit
from tokkit.hybrid import LANGS, LANGS_DIR

from ..conftest import CORPORA

#: The tests' own tiny language (hand-written, Turkish-like), for a user's language directory.
MINI = Path(__file__).resolve().parent / "data" / "mini-tr"
#: The language the tests train with: the shipped Turkish when it is there.
LANG = "tr" if "tr" in LANGS else str(MINI)
LANG_DIR = LANGS_DIR / "tr" if "tr" in LANGS else MINI
MAX_ROOTS = 1500
#: Learned pieces on top of the dictionaries and the 256 bytes.
PIECES = 700


def lines_of(path: str | Path) -> list[str]:
    """The lines of a file, line endings kept (every byte of the file is in one of them)."""
    with open(path, encoding="utf-8", newline="") as f:
        return re.findall(r"[^\n]*\n|[^\n]+$", f.read())


def vocab_size_for(lang_dir: Path, max_roots: int, pieces: int) -> int:
    """Markers, specials, roots, suffixes, bytes and ``pieces``: the ids design/hybrid.md §2
    lists."""
    suffixes = len(json.loads((lang_dir / "language.json").read_text("utf-8"))["suffixes"])
    roots = sum(
        1
        for line in (lang_dir / "roots.tsv").read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    )
    return 2 + 3 + min(roots, max_roots) + suffixes + 256 + pieces


@pytest.fixture(scope="session")
def tr_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 120 lines of corpora/tr.txt (about 260 KB)."""
    path = tmp_path_factory.mktemp("corpus") / "tr-slice.txt"
    path.write_text("".join(lines_of(CORPORA / "tr.txt")[:120]), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def trainer() -> tokkit.trainers.Hybrid:
    return tokkit.trainers.Hybrid(
        vocab_size=vocab_size_for(LANG_DIR, MAX_ROOTS, PIECES), lang=LANG, max_roots=MAX_ROOTS
    )


@pytest.fixture(scope="session")
def hybrid_dir(
    tmp_path_factory: pytest.TempPathFactory, tr_slice: Path, trainer: tokkit.trainers.Hybrid
) -> Path:
    """A hybrid tokenizer directory trained through the API."""
    out = tmp_path_factory.mktemp("hybrid") / "tok"
    tokkit.train(tr_slice, trainer, out=out)
    return out
