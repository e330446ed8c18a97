"""The encoder's fast paths give the ids the plain path gives: the piece cache that lives on
between calls (per thread and per encoder), ``count_tokens``, ``encode_array`` and the chunked
``encode_batch``, on byte-level and SentencePiece-style files and through :func:`tokkit.load`."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import tokkit
from tokkit._tokkit import BpeTokenizer

from .._tokenizer_files import tokenizer_file

tokenizers = pytest.importorskip("tokenizers")

CORPORA = Path(__file__).resolve().parents[2] / "corpora"
TEXTS = {
    name: (CORPORA / name).read_text(encoding="utf-8")[:150_000]
    for name in ("en-prose.txt", "code.txt", "tr.txt", "unicode-edge.txt")
}


@pytest.fixture(scope="module", params=["gpt2", "llama3", "gemma3"])
def pair(request: pytest.FixtureRequest):
    path = tokenizer_file(request.param)
    return tokenizers.Tokenizer.from_file(str(path)), path


def _hf(hf, text: str) -> list[int]:
    return hf.encode(text, add_special_tokens=False).ids


def test_the_cache_carries_over_calls_without_changing_ids(pair) -> None:
    """Each text encoded after the others (the cache holding their pieces) and by a fresh
    encoder (empty cache) gives HF's ids; a second call on the same text too."""
    hf, path = pair
    warm = BpeTokenizer.from_file(str(path))
    for text in TEXTS.values():
        expected = _hf(hf, text)
        assert warm.encode(text) == expected
        assert warm.encode(text) == expected
        assert BpeTokenizer.from_file(str(path)).encode(text) == expected


def test_caches_are_per_encoder(tmp_path: Path) -> None:
    """Two encoders with different merges, called in turn on one thread, never see each other's
    cached pieces (a shared cache would hand the second the first's ids)."""
    small, large = tmp_path / "small", tmp_path / "large"
    text = TEXTS["en-prose.txt"]
    for out, size in ((small, 300), (large, 3000)):
        tokkit.train(CORPORA / "en-prose.txt", tokkit.trainers.BPE(vocab_size=size), out=out)
    a = BpeTokenizer.from_file(str(small / "tokenizer.json"))
    b = BpeTokenizer.from_file(str(large / "tokenizer.json"))
    first_a, first_b = a.encode(text), b.encode(text)
    assert first_a != first_b
    for _ in range(2):
        assert a.encode(text) == first_a
        assert b.encode(text) == first_b


def test_count_array_and_batch_agree_with_encode(pair) -> None:
    _, path = pair
    tok = BpeTokenizer.from_file(str(path))
    lines = [line for text in TEXTS.values() for line in text.splitlines(keepends=True)][:4000]
    expected = [tok.encode(line) for line in lines]
    for threads in (1, 2):
        assert tok.encode_batch(lines, num_threads=threads) == expected
        assert tok.count_tokens_batch(lines, num_threads=threads) == [len(e) for e in expected]
    for text in TEXTS.values():
        ids = tok.encode(text)
        assert tok.count_tokens(text) == len(ids)
        array = tok.encode_array(text)
        assert array.dtype == np.uint32
        assert array.tolist() == ids
    assert tok.encode_batch([]) == []
    assert tok.count_tokens("") == 0
    assert tok.encode_array("").shape == (0,)


def test_threads_share_nothing_but_the_ids(pair) -> None:
    """Threads encoding at once each fill their own cache; every result is the same."""
    _, path = pair
    tok = BpeTokenizer.from_file(str(path))
    text = TEXTS["code.txt"]
    expected = tok.encode(text)
    results: list[list[int]] = []

    def work() -> None:
        results.append(tok.encode(text))

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == [expected] * 4


def test_load_offers_the_fast_paths_for_every_engine(tmp_path: Path) -> None:
    """``tokkit.load(...)`` has ``count_tokens``, ``encode_array`` and ``num_threads`` whatever
    runs it (tokkit's encoder, and tiktoken for a rank file)."""
    out = tmp_path / "bpe"
    tokkit.train(CORPORA / "en-prose.txt", tokkit.trainers.BPE(vocab_size=1000), out=out)
    lines = TEXTS["en-prose.txt"].splitlines()[:300]
    loaded = [tokkit.load(out), tokkit.load("cl100k")]
    assert [t.engine for t in loaded] == ["tokkit", "tiktoken"]
    for tok in loaded:
        expected = [tok.encode(line) for line in lines]
        assert tok.encode_batch(lines, num_threads=1) == expected
        assert tok.encode_batch(lines, num_threads=2) == expected
        assert tok.count_tokens_batch(lines) == [len(e) for e in expected]
        assert tok.count_tokens(lines[0]) == len(expected[0])
        assert tok.encode_array(lines[0]).tolist() == expected[0]


@pytest.mark.parametrize("threads", [1, 2])
def test_batches_take_any_sequence_of_str_and_refuse_the_rest(threads: int) -> None:
    """A tuple is a batch as a list is; one str, or an item that is no str (first, last or in a
    later block), is a TypeError, and the tokenizer works afterwards."""
    tok = BpeTokenizer.from_file(str(tokenizer_file("gpt2")))
    lines = TEXTS["en-prose.txt"].splitlines()[:5000]
    expected = [tok.encode(x) for x in lines]
    assert tok.encode_batch(tuple(lines), num_threads=threads) == expected
    assert tok.count_tokens_batch(tuple(lines), num_threads=threads) == [len(e) for e in expected]
    with pytest.raises(TypeError, match="single str"):
        tok.encode_batch("one text", num_threads=threads)  # type: ignore[arg-type]
    for at in (0, 1500, len(lines) - 1):
        bad: list[object] = [*lines[:at], 7, *lines[at + 1:]]
        with pytest.raises(TypeError):
            tok.encode_batch(bad, num_threads=threads)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            tok.count_tokens_batch(bad, num_threads=threads)  # type: ignore[arg-type]
    assert tok.encode_batch(lines, num_threads=threads) == expected


@pytest.mark.parametrize("threads", [1, 2])
def test_ctrl_c_stops_a_batch(threads: int) -> None:
    """Ctrl-C during a long ``encode_batch`` raises KeyboardInterrupt within a moment (the
    workers stop), and the tokenizer works afterwards."""
    import _thread
    import signal
    import time

    tok = BpeTokenizer.from_file(str(tokenizer_file("gpt2")))
    lines = TEXTS["en-prose.txt"].splitlines() * 400  # ~1M lines: well over 0.05 s of work
    # A suite started in the background inherits an ignored SIGINT, and then interrupt_main
    # does nothing: give the test Python's own handler.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.05, _thread.interrupt_main)
    try:
        start = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            tok.encode_batch(lines, num_threads=threads)
        assert time.monotonic() - start < 2.5
    finally:
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert tok.encode_batch(lines[:50], num_threads=threads) == [tok.encode(x) for x in lines[:50]]


def test_id_lists_hold_their_ints_by_reference_count() -> None:
    """The lists share one int per id (filled straight into the list's items): each list holds
    one reference per item, and dropping the lists gives them all back, so nothing leaks and
    nothing is freed while a list still holds it."""
    import gc
    import sys

    enc = BpeTokenizer.from_file(str(tokenizer_file("gpt2")))
    text = TEXTS["en-prose.txt"][:20_000]
    first = enc.encode(text)
    big = first[first.index(max(first))]  # above 256: not one of Python's shared small ints
    occurrences = first.count(big)
    # (counted into locals: pytest's assert rewriting holds references while it reports)
    base = sys.getrefcount(big)
    lists = [enc.encode(text) for _ in range(5)] + enc.encode_batch([text] * 5)
    held = sys.getrefcount(big)
    same = [ids == first for ids in lists]
    del lists
    gc.collect()
    after = sys.getrefcount(big)
    assert big > 256
    assert same == [True] * 10
    assert held == base + 10 * occurrences
    assert after == base
    assert first == _hf(tokenizers.Tokenizer.from_file(str(tokenizer_file("gpt2"))), text)


def test_id_lists_are_untracked_by_the_cycle_collector_and_behave_as_lists() -> None:
    """Lists of ids are not tracked by Python's cycle collector (they hold only ints; each
    collection would otherwise walk every id): they are ordinary lists all the same, and the
    outer list of a batch is tracked as usual."""
    import gc

    enc = BpeTokenizer.from_file(str(tokenizer_file("gpt2")))
    one = enc.encode("Hello world, hello")
    batch = enc.encode_batch(["Hello world", "", "hello"])
    assert not gc.is_tracked(one)
    assert [gc.is_tracked(ids) for ids in batch] == [False] * 3
    assert gc.is_tracked(batch)
    assert type(one) is list
    assert batch[1] == []
    copy = list(one)
    one.append(7)
    one.extend(batch[0])
    assert one == copy + [7] + batch[0]
    assert gc.is_tracked(one[:]), "a copy is a new, tracked list"


@pytest.mark.parametrize("full_alphabet", [True, False])
def test_byte_pairs_table_and_missing_bytes(tmp_path: Path, full_alphabet: bool) -> None:
    """A byte-level BPE with every byte in its vocabulary merges a piece's first pairs from a
    table of byte pairs; one that lacks bytes (HF's trainer without ``initial_alphabet``) drops
    them, so its pairs come from the merge map. Both give HF's ids on text full of bytes the
    small vocabulary lacks."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    alphabet = pre_tokenizers.ByteLevel.alphabet() if full_alphabet else []
    trainer = trainers.BpeTrainer(vocab_size=600, show_progress=False, initial_alphabet=alphabet)
    tok.train([str(CORPORA / "en-prose.txt")], trainer)
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    ours = BpeTokenizer.from_file(str(path))
    single = sum(1 for t in tok.get_vocab() if len(t) == 1)
    assert (single == 256) == full_alphabet
    for text in TEXTS.values():
        expected = _hf(tok, text[:30_000])
        assert ours.encode(text[:30_000]) == expected
        assert BpeTokenizer.from_file(str(path)).encode(text[:30_000]) == expected


def test_a_token_the_merges_cannot_make_is_merged_not_looked_up(tmp_path: Path) -> None:
    """Pieces that are a token skip the merges only where the merges make that token of its
    bytes (checked at load). Here ``abc`` is a token, but ``a b`` merges before ``b c``, so the
    bytes of ``abc`` become ``ab c`` (HF, no ``ignore_merges``); tokens that merge to
    themselves still give HF's ids."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    merges = [("a", "b"), ("b", "c"), ("a", "bc"), ("Ġ", "ab")]
    for left, right in merges:
        vocab[left + right] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    ours = BpeTokenizer.from_file(str(path))
    for text in ("abc", "abc abc ab bc", "bc abc", TEXTS["en-prose.txt"][:5_000]):
        assert ours.encode(text) == _hf(tok, text)
    assert ours.encode("abc") == [vocab["ab"], vocab["c"]]
    assert ours.encode(" ab") == [vocab["Ġab"]]
