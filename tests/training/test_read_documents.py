"""``tokkit.corpus.read_documents``: the documents training counts, read into Python."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest

import tokkit
from tokkit.corpus import Documents, read_documents
from tokkit.exceptions import ConfigError, CorpusError, CorpusNotFoundError
from tokkit.trainers import BPE

CORPORA = Path(__file__).resolve().parents[2] / "corpora"


def test_plain_file_documents_are_its_lines() -> None:
    path = CORPORA / "en-prose.txt"
    data = path.read_bytes()
    docs = read_documents(path)
    assert docs.texts == data.decode().splitlines(keepends=True)
    assert (docs.skipped, docs.bytes) == (0, len(data))
    assert docs.sha256 == hashlib.sha256(data).hexdigest()


def test_only_newline_ends_a_document() -> None:
    # Unlike str.splitlines, a document ends only at "\n": "\r", "\x0b", "\u2028"... stay inside.
    path = CORPORA / "unicode-edge.txt"
    text = path.read_bytes().decode()
    docs = read_documents(path)
    assert docs.texts == re.findall(r"[^\n]*\n|[^\n]+$", text)
    assert "".join(docs.texts) == text


def test_line_endings_are_kept(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"one\r\ntwo\n\nlast")
    assert read_documents(tmp_path / "a.txt").texts == ["one\r\n", "two\n", "\n", "last"]


def test_size_and_hash_match_training(tmp_path: Path) -> None:
    path = CORPORA / "en-prose.txt"
    docs = read_documents([str(path)])
    trained = tokkit.train(path, BPE(vocab_size=300))
    assert docs.bytes == trained.report["corpus_bytes"]
    assert docs.sha256 == trained.report["corpus_sha256"]
    assert len(docs.texts) == trained.report["sequences"]


def test_jsonl_reads_the_text_field(tmp_path: Path) -> None:
    records = [{"body": "héllo\n", "id": 1}, {"body": "world", "id": 2}]
    lines = [json.dumps(r) for r in records]
    (tmp_path / "a.jsonl").write_text(lines[0] + "\n\n  \n" + lines[1] + "\n", encoding="utf-8")
    docs = read_documents(tmp_path / "a.jsonl", text_field="body")
    assert docs == Documents(
        texts=["héllo\n", "world"],
        skipped=0,
        bytes=len("héllo\nworld".encode()),
        sha256=hashlib.sha256((tmp_path / "a.jsonl").read_bytes()).hexdigest(),
    )


def test_jsonl_without_the_field_is_an_error_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"body": "x"}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r'a\.jsonl:1: no string field "text"') as raised:
        read_documents(tmp_path / "a.jsonl")
    assert raised.value.hint is not None
    assert "text_field" in raised.value.hint


def test_gzip_is_decompressed(tmp_path: Path) -> None:
    text = "alpha\nbeta\n"
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(b'{"text": "gamma"}\n'))
    docs = read_documents([tmp_path / "a.txt.gz", tmp_path / "b.jsonl.gz"])
    assert docs.texts == ["alpha\n", "beta\n", "gamma"]
    assert docs.sha256 == hashlib.sha256(text.encode() + b'{"text": "gamma"}\n').hexdigest()


def test_directory_is_walked_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").write_text("b\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("a\n", encoding="utf-8")
    (tmp_path / "sub" / "c.txt").write_text("c\n", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("hidden\n", encoding="utf-8")
    assert read_documents(tmp_path).texts == ["a\n", "b\n", "c\n"]
    # Inputs keep their order; a glob is expanded sorted.
    assert read_documents([tmp_path / "b.txt", str(tmp_path / "?.txt")]).texts == [
        "b\n",
        "a\n",
        "b\n",
    ]


def test_corpus_is_one_path_or_several(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.txt").write_text("a\n", encoding="utf-8")
    assert read_documents("a.txt").texts == ["a\n"]
    assert read_documents(Path("a.txt")).texts == ["a\n"]
    assert read_documents(("a.txt", Path("a.txt"))).texts == ["a\n", "a\n"]


def test_missing_file_is_corpus_not_found(tmp_path: Path) -> None:
    with pytest.raises(CorpusNotFoundError, match="corpus input not found"):
        read_documents(tmp_path / "nope.txt")
    with pytest.raises(CorpusError, match="no corpus given"):
        read_documents([])


def test_bad_json_is_a_corpus_error_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"a\.jsonl:2: not a JSON object \(.*one object per line"):
        read_documents(tmp_path / "a.jsonl")


def test_invalid_utf8_is_skipped_and_counted(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"good\nbad \xff\nalso good\n")
    docs = read_documents(tmp_path / "a.txt")
    assert docs.texts == ["good\n", "also good\n"]
    assert docs.skipped == 1
    assert docs.bytes == len("good\nalso good\n")


def test_invalid_utf8_with_strict_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"good\nbad \xff\n")
    with pytest.raises(CorpusError, match=r"a\.txt:2: invalid UTF-8") as raised:
        read_documents(tmp_path / "a.txt", strict=True)
    assert raised.value.hint is not None
    assert "strict" in raised.value.hint


def test_max_bytes_stops_after_the_document_that_crosses_it(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("aaaa\nbbbb\ncccc\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("dddd\n", encoding="utf-8")
    cut = read_documents(tmp_path, max_bytes=7)
    assert cut.texts == ["aaaa\n", "bbbb\n"]
    assert cut.bytes == 10 > 7
    whole = read_documents(tmp_path, max_bytes=20)
    assert whole.texts == ["aaaa\n", "bbbb\n", "cccc\n", "dddd\n"]
    assert whole.bytes == 20
    assert whole == read_documents(tmp_path)


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_max_bytes_must_be_a_non_negative_integer(tmp_path: Path, bad: object) -> None:
    (tmp_path / "a.txt").write_text("a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_bytes"):
        read_documents(tmp_path, max_bytes=bad)  # type: ignore[arg-type]
