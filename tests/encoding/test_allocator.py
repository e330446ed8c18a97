"""The extension's allocator commits its arenas on demand (``rust/tokkit-py/src/allocator.rs``),
so mimalloc never advises the kernel to back them with transparent huge pages: where the kernel
compacts memory to find one, a fresh process's first ``encode`` stalled on it (GPT-2 on 10 MB:
0.22-0.40 s in 4 of 6 processes, 0.09-0.22 s of it system time, where the call takes ~0.14 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests._tokenizer_files import tokenizer_file

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")

# Encodes ~8 MB in a fresh process, then reports the ids and the process's huge pages (kB).
_ENCODE_AND_REPORT = """
import sys
from tokkit._tokkit import BpeTokenizer

tok = BpeTokenizer.from_file(sys.argv[1])
text = open(sys.argv[2], encoding="utf-8").read()
ids = tok.encode(text * max(1, 8_000_000 // len(text)))
with open("/proc/self/smaps") as maps:
    huge = sum(int(line.split()[1]) for line in maps if line.startswith("AnonHugePages:"))
print(len(ids), huge)
"""


@pytest.mark.skipif(
    not THP.exists() or "[madvise]" not in THP.read_text(),
    reason="needs Linux with transparent huge pages in madvise mode, where only a process's own "
    "madvise call gives it huge pages",
)
def test_encoding_asks_the_kernel_for_no_huge_pages() -> None:
    """The build before the allocator change left tens of megabytes of huge pages in this
    process (the arenas mimalloc committed eagerly); nothing else in it asks for them."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _ENCODE_AND_REPORT,
            str(tokenizer_file("gpt2")),
            str(CORPORA / "en-prose.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    ids, huge_kb = map(int, done.stdout.split())
    assert ids > 1_000_000
    assert huge_kb == 0
