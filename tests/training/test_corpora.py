"""Checks for the sample corpora shipped in ``corpora/`` (stdlib + pytest only)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
SUMS = CORPORA / "SHA256SUMS"
BENCH_SUMS = CORPORA / "BENCH_SHA256SUMS"
LINE = re.compile(r"^([0-9a-f]{64}) [ *]([^/\\\s][^/\\]*)$")


def _parse(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="ascii").splitlines(), 1):
        m = LINE.match(line)
        assert m, f"{path.name}:{n}: not in sha256sum format: {line!r}"
        name = m.group(2)
        assert name not in entries, f"{path.name}: {name} listed twice"
        entries[name] = m.group(1)
    return entries


LISTED = _parse(SUMS)
SHIPPED = sorted(p.name for p in CORPORA.glob("*.txt"))


def test_sums_file_not_empty() -> None:
    assert LISTED, "SHA256SUMS lists no files"


@pytest.mark.parametrize("name", sorted(LISTED))
def test_checksum(name: str) -> None:
    path = CORPORA / name
    assert path.is_file(), f"{name} is listed in SHA256SUMS but missing"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == LISTED[name], (
        f"{name}: sha256 {digest} != {LISTED[name]} (regenerate with "
        "corpora/make_samples.py or update SHA256SUMS deliberately)"
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_every_txt_is_listed(name: str) -> None:
    assert name in LISTED, f"corpora/{name} is not listed in corpora/SHA256SUMS"


@pytest.mark.parametrize("name", SHIPPED)
def test_valid_utf8_and_not_empty(name: str) -> None:
    data = (CORPORA / name).read_bytes()
    assert data, f"{name} is empty"
    assert b"\x00" not in data, f"{name} contains NUL bytes"
    data.decode("utf-8")  # raises on invalid UTF-8
    assert not data.startswith(b"\xef\xbb\xbf"), f"{name} starts with a BOM"


def test_unicode_edge_covers_the_edge_cases() -> None:
    raw = (CORPORA / "unicode-edge.txt").read_bytes()
    text = raw.decode("utf-8")
    assert b"\r\n" in raw, "CRLF line endings"
    assert re.search(r" +\n", text), "trailing spaces"
    assert "\n\n\n" in text, "runs of empty lines"
    required = {
        "\u00a0",
        "\u0085",
        "\u1680",
        "\u2028",
        "\u2029",
        "\u202f",
        "\u205f",
        "\u3000",
        "\t",
        "\x0b",
        "\x0c",
        "\u200d",
        "\ufe0f",
        "\u0301",
        "\U0001f3fd",  # skin tone modifier
        "\u0660",
        "\u0966",
        "\uff10",  # Arabic-Indic, Devanagari, full-width digits
        "\u2019",  # curly apostrophe
    }
    required |= {chr(c) for c in range(0x2000, 0x200B)}
    missing = sorted(f"U+{ord(c):04X}" for c in required if c not in text)
    assert not missing, f"unicode-edge.txt lacks {missing}"
    for needle in (
        "'s",
        "'t",
        "'re",
        "'ve",
        "'m",
        "'ll",
        "'d",
        "'S",
        "'T",
        "1234567",
        "3.14159",
        "https://",
    ):
        assert needle in text, needle


def test_bench_sums_format() -> None:
    bench = _parse(BENCH_SUMS)
    assert set(bench) >= {"en-100mb.txt", "en-heldout.txt", "en-1gb.txt"}
