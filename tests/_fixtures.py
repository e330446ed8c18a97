"""Checked-in tokenizer fixtures (``tests/fixtures/tokenizers``), verified against their
SHA256SUMS before use.

    from ._fixtures import fixture_tokenizer

    path = fixture_tokenizer("smollm2-135m-8k")  # .../tokenizer.json
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

TOKENIZERS = Path(__file__).resolve().parent / "fixtures" / "tokenizers"


def checksums() -> dict[str, str]:
    """``name/tokenizer.json`` → sha256, as SHA256SUMS lists them."""
    lines = (TOKENIZERS / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {rel: digest for digest, rel in (line.split(maxsplit=1) for line in lines if line)}


@functools.cache
def fixture_tokenizer(name: str) -> Path:
    """The fixture's ``tokenizer.json``; fails if the file differs from its checksum."""
    rel = f"{name}/tokenizer.json"
    expected = checksums().get(rel)
    if expected is None:
        raise FileNotFoundError(f"no tokenizer fixture {name!r} in {TOKENIZERS}/SHA256SUMS")
    path = TOKENIZERS / rel
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise AssertionError(
            f"{path} has sha256 {actual}, SHA256SUMS says {expected}: rebuild it with "
            "`python tests/fixtures/make_tokenizers.py` or restore it"
        )
    return path
