"""Threads and processes: every parallel call honours ``num_threads`` / ``TOKKIT_NUM_THREADS``,
results do not depend on the worker count, and the library keeps working in a child made by
``fork()`` after the parent used its pools (what a torch ``DataLoader`` worker does)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tokkit
from tokkit._tokkit import BpeTokenizer, ByteVocab

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
LINES = (CORPORA / "en-prose.txt").read_text(encoding="utf-8").splitlines()[:3000]


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tok") / "bpe"
    tokkit.train(CORPORA / "en-prose.txt", tokkit.trainers.BPE(vocab_size=2000), out=out)
    return out / "tokenizer.json"


def test_encode_batch_honours_num_threads(tokenizer_json: Path) -> None:
    tok = BpeTokenizer.from_file(tokenizer_json)
    one = tok.encode_batch(LINES, num_threads=1)
    assert one == tok.encode_batch(LINES, num_threads=3) == tok.encode_batch(LINES)
    assert one == [tok.encode(x) for x in LINES]


# Four Python threads, each a batch on two threads at a time, counted and encoded.
_CONCURRENT_BATCHES = """
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tokkit._tokkit import BpeTokenizer

tok = BpeTokenizer.from_file(sys.argv[1])
lines = Path(sys.argv[2]).read_text(encoding="utf-8").splitlines()[:3000]
expected = tok.encode_batch(lines, num_threads=1)
counts = [len(ids) for ids in expected]


def run(k):
    if k % 2:
        return tok.count_tokens_batch(lines, num_threads=2) == counts
    return tok.encode_batch(lines, num_threads=2) == expected


with ThreadPoolExecutor(max_workers=4) as pool:
    print("agree" if all(pool.map(run, range(16))) else "differ")
"""


def test_batches_from_several_python_threads_at_once_finish_and_agree(
    tokenizer_json: Path,
) -> None:
    """A batch on two threads is its caller plus one pool thread, which every other caller's
    batch shares. Batches from four Python threads at once must all finish with the serial
    result: a pool job that waited for its batch's next block held the pool thread while
    another batch's caller, which needs it, waited for the GIL (a version whose jobs waited
    hung here). Run in a child process, so that a hang fails the test instead of the suite."""
    code = [sys.executable, "-c", _CONCURRENT_BATCHES, str(tokenizer_json)]
    try:
        done = subprocess.run(
            [*code, str(CORPORA / "en-prose.txt")], capture_output=True, text=True, timeout=240
        )
    except subprocess.TimeoutExpired:
        pytest.fail("batches from four Python threads at once did not finish in 240 s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "agree"


def test_thread_counts_are_checked_and_capped(
    tokenizer_json: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: ``TOKKIT_NUM_THREADS=abc`` was ignored, ``--num-threads 5000`` started 5,000
    threads. A bad variable is an error naming it; a huge count is capped at 4 per core."""
    from tokkit import _tokkit

    tok = BpeTokenizer.from_file(tokenizer_json)
    monkeypatch.setenv("TOKKIT_NUM_THREADS", "abc")
    with pytest.raises(tokkit.ConfigError, match="TOKKIT_NUM_THREADS") as info:
        tok.encode_batch(LINES[:10])
    assert "unset it" in (info.value.hint or "")
    with pytest.raises(tokkit.ConfigError, match="TOKKIT_NUM_THREADS"):
        tokkit.train(None, tokkit.trainers.BPE(vocab_size=256), texts=["abc"])
    monkeypatch.setenv("TOKKIT_NUM_THREADS", "2")
    with pytest.warns(tokkit.exceptions.TokkitWarning, match="4 per core"):
        trained = tokkit.train(
            None, tokkit.trainers.BPE(vocab_size=256), texts=["abc"], num_threads=5000
        )
    assert trained.report["threads"] == _tokkit.MAX_THREADS
    assert tok.encode_batch(LINES[:10], num_threads=5000) == tok.encode_batch(LINES[:10])


def test_arrays_cross_without_conversion(tokenizer_json: Path) -> None:
    """uint32 arrays are read in place and results are numpy arrays of the right dtype; other
    integer sequences still work, and a bad id is a typed error."""
    vocab = ByteVocab.from_file(tokenizer_json)
    ids = vocab.encode(b"Hello world, hello again")
    assert ids.dtype == np.uint32
    assert ids.flags.writeable
    cands = np.arange(vocab.vocab_size, dtype=np.uint32)
    mask = vocab.valid_extensions(ids[:2], cands)
    assert mask.dtype == np.bool_
    assert mask.shape == cands.shape
    assert mask.tolist() == vocab.valid_extensions(ids[:2].tolist(), cands.tolist()).tolist()
    assert vocab.first_bytes().dtype == np.int16
    with pytest.raises(tokkit.ConfigError, match="not a valid id"):
        vocab.is_valid([-1])


def _work(tokenizer_json: str) -> tuple[list[list[int]], list[tuple[str, str]], list[bool]]:
    """What a forked worker does with the library: encode in parallel, train, check validity."""
    tok = BpeTokenizer.from_file(tokenizer_json)
    encoded = tok.encode_batch(LINES[:500])
    merges = tokkit.train(texts=LINES[:500], trainer=tokkit.trainers.BPE(vocab_size=300)).merges
    vocab = ByteVocab.from_file(tokenizer_json)
    mask = vocab.valid_extensions([], np.arange(300, dtype=np.uint32)).tolist()
    return encoded, merges, mask


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_the_library_works_in_forked_children(tokenizer_json: Path) -> None:
    expected = _work(str(tokenizer_json))  # the parent's pools exist from here on
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as workers:
        results = workers.map_async(_work, [str(tokenizer_json)] * 2).get(timeout=120)
    assert results == [expected, expected]
    # A bare fork, as torch's DataLoader does, with a deadline instead of a hang.
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            ok = _work(str(tokenizer_json)) == expected
        except BaseException:
            ok = False
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    import select

    ready, _, _ = select.select([read], [], [], 120)
    answer = os.read(read, 1) if ready else b""
    os.waitpid(pid, 0)
    assert answer == b"1"
