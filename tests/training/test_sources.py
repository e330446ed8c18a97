"""Tables as corpora (tokkit.sources): Parquet files and directories, Arrow files, datasets saved
with ``save_to_disk`` and ``datasets`` objects train exactly as the same rows given as texts;
tables stream and restart, cut into shards that read back to the whole, and bad tables are
typed errors that leave no output."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import tokkit
from tokkit import sources
from tokkit.trainers import BPE, CharBPE, Hybrid, SuperBPE, Supertoken, Trainer

from ..conftest import CORPORA, run_cli

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
datasets = pytest.importorskip("datasets")
datasets.disable_progress_bars()


def lines_of(path: Path) -> list[str]:
    """The lines of a file, line endings kept: the documents the core makes of it."""
    with open(path, encoding="utf-8", newline="") as f:
        return re.findall(r"[^\n]*\n|[^\n]+$", f.read())


#: About 260 KB of real prose, one document per line.
LINES = lines_of(CORPORA / "en-prose.txt")[:2000]
#: A few rows are null: each is the empty document.
ROWS: list[str | None] = [None if i % 97 == 5 else line for i, line in enumerate(LINES)]
DOCS = ["" if r is None else r for r in ROWS]

TRAINERS: list[Trainer] = [
    BPE(vocab_size=500),
    CharBPE(vocab_size=500, max_token_chars=4),
    Supertoken(vocab_size=500, seed=3),
]


def write_parquet(path: Path, rows: list[str | None], row_group_size: int = 300) -> Path:
    """A Parquet file with a text column and an id column, in several row groups."""
    table = pa.table({"id": list(range(len(rows))), "text": pa.array(rows, pa.string())})
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parquet(tmp_path_factory.mktemp("pq") / "docs.parquet", ROWS)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROWS written by ``save_to_disk`` in two Arrow files."""
    out = tmp_path_factory.mktemp("saved") / "ds"
    dataset = datasets.Dataset.from_dict({"id": list(range(len(ROWS))), "text": ROWS})
    dataset.save_to_disk(str(out), num_shards=2)
    return out


def same(a: Any, b: Any) -> None:
    """Two runs trained the same tokenizer on the same bytes, in the same order."""
    assert a.to_json() == b.to_json()
    assert a.report["corpus_sha256"] == b.report["corpus_sha256"]  # order-sensitive
    assert a.report["sequences"] == b.report["sequences"] == len(DOCS)


# --- exactness ---------------------------------------------------------------------------------


@pytest.mark.parametrize("trainer", TRAINERS, ids=lambda t: t.algorithm)
def test_parquet_trains_exactly_as_its_rows_given_as_texts(
    trainer: Trainer, parquet: Path, tmp_path: Path
) -> None:
    from_table = tokkit.train(parquet, trainer, out=tmp_path / "out")
    from_texts = tokkit.train(None, trainer, texts=DOCS)
    same(from_table, from_texts)
    written = (tmp_path / "out" / "tokenizer.json").read_text(encoding="utf-8")
    assert written == from_texts.to_json() + "\n"
    meta = json.loads((tmp_path / "out" / "tokkit.json").read_text(encoding="utf-8"))
    assert meta["corpus"]["files"] == [str(parquet)]  # provenance names the table


def test_text_files_then_tables_then_texts(parquet: Path, tmp_path: Path) -> None:
    """A corpus mixing a text file and a table reads the file, then the table, then ``texts``;
    ``tokkit.json`` names both files."""
    text = tmp_path / "head.txt"
    text.write_text("".join(LINES[:50]), encoding="utf-8")
    extra = ["one more line\n", "and another\n"]
    mixed = tokkit.train([parquet, text], BPE(vocab_size=400), texts=extra, out=tmp_path / "o")
    plain = tokkit.train(None, BPE(vocab_size=400), texts=[*LINES[:50], *DOCS, *extra])
    assert mixed.to_json() == plain.to_json()
    # Not corpus_sha256: with files given, the core hashes the files alone, not the texts.
    assert mixed.report["sequences"] == plain.report["sequences"] == 50 + len(DOCS) + 2
    assert mixed.report["corpus_bytes"] == plain.report["corpus_bytes"]
    meta = json.loads((tmp_path / "o" / "tokkit.json").read_text(encoding="utf-8"))
    assert meta["corpus"]["files"] == [str(text), str(parquet)]


def test_a_parquet_directory_is_its_files_in_sorted_order(tmp_path: Path) -> None:
    """Sorted within each directory, depth first (as the core walks text directories); hidden
    entries, ``_`` markers and links out of the directory left out."""
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    (root / ".cache").mkdir()
    chunks = [ROWS[:700], ROWS[700:1200], ROWS[1200:]]
    # a/ before a.parquet: names are compared, not path strings ("/" sorts after ".").
    write_parquet(root / "n.parquet", chunks[2])
    write_parquet(root / "a.parquet", chunks[1])
    write_parquet(root / "a" / "x.parquet", chunks[0])
    write_parquet(root / ".hidden.parquet", ["hidden"])
    write_parquet(root / ".cache" / "c.parquet", ["hidden too"])
    (root / "_SUCCESS").write_text("")
    outside = write_parquet(tmp_path / "outside.parquet", ["outside"])
    (root / "z-link.parquet").symlink_to(outside)

    paths, table = sources.split_corpus([root])
    assert paths == []
    assert table is not None
    assert table.files == [
        str(root / "a" / "x.parquet"),
        str(root / "a.parquet"),
        str(root / "n.parquet"),
    ]
    assert list(table) == DOCS
    same(
        tokkit.train(root, BPE(vocab_size=500)), tokkit.train(None, BPE(vocab_size=500), texts=DOCS)
    )
    # A glob names its files as the core's glob does: sorted, a wildcard matching a leading
    # dot, links taken as named.
    _, globbed = sources.split_corpus(str(root / "*.parquet"))
    assert globbed is not None
    names = [".hidden.parquet", "a.parquet", "n.parquet", "z-link.parquet"]
    assert globbed.files == [str(root / name) for name in names]


@pytest.mark.parametrize(
    "kind", ["saved", "arrow file", "Dataset", "loaded", "iterable", "generator"]
)
def test_datasets_train_as_the_parquet(kind: str, saved: Path, parquet: Path) -> None:
    """A ``save_to_disk`` directory, one of its Arrow files, and ``datasets`` objects in memory,
    memory-mapped and streamed give the Parquet file's tokenizer."""
    if kind == "saved":
        corpus: Any = saved
    elif kind == "arrow file":
        rows = ROWS[:1000]
        dataset = datasets.Dataset.from_dict({"text": rows})
        dataset.save_to_disk(str(saved.parent / "one"))
        corpus = saved.parent / "one" / "data-00000-of-00001.arrow"
        table = sources.TextTable.open(corpus)
        assert list(table) == DOCS[:1000]
        return
    elif kind == "Dataset":
        corpus = datasets.Dataset.from_dict({"text": ROWS})
    elif kind == "loaded":
        corpus = datasets.load_from_disk(str(saved))
    elif kind == "iterable":
        corpus = datasets.Dataset.from_dict({"text": ROWS}).to_iterable_dataset(num_shards=1)
    else:
        corpus = datasets.IterableDataset.from_generator(
            lambda: ({"text": r, "n": i} for i, r in enumerate(ROWS))
        )
    same(tokkit.train(corpus, BPE(vocab_size=500)), tokkit.train(parquet, BPE(vocab_size=500)))


def test_a_dataset_object_is_read_as_the_object_says(saved: Path) -> None:
    """A shuffled or selected dataset reads in its own order, not its files' (and so cannot be
    cut into the files' shards)."""
    loaded = datasets.load_from_disk(str(saved))
    for changed in (loaded.shuffle(seed=1), loaded.select(range(100, 300))):
        table = sources.from_dataset(changed)
        assert list(table) == ["" if r is None else r for r in changed["text"]]
        with pytest.raises(tokkit.ConfigError, match="cannot be cut into shards"):
            table.shards()
    renamed = loaded.rename_column("text", "body")
    assert list(sources.from_dataset(renamed, "body")) == DOCS


# --- streaming ---------------------------------------------------------------------------------


def test_a_table_streams_in_batches_and_restarts(parquet: Path, saved: Path) -> None:
    for path in (parquet, saved):
        _, table = sources.split_corpus(path)
        assert table is not None
        table.batch_size = 128
        batches = list(table.iter_batches())
        assert all(1 <= len(b) <= 128 for b in batches)
        assert [t for b in batches for t in b] == DOCS
        first = iter(table)
        assert [next(first) for _ in range(3)] == DOCS[:3]
        assert list(table) == DOCS  # a new iteration starts from the first row again
        assert list(first)[:2] == DOCS[3:5]  # the first one goes on where it was
        assert table.rows == len(ROWS)
        assert DOCS.count("") == ROWS.count(None) > 0


def test_arrow_record_batches_are_cut_to_the_batch_size(tmp_path: Path) -> None:
    """An Arrow file in the random-access format, written as one record batch, is still
    converted ``batch_size`` rows at a time."""
    path = tmp_path / "one-batch.arrow"
    table = pa.table({"text": pa.array(ROWS, pa.string())})
    with pa.ipc.new_file(path, table.schema) as writer:
        writer.write_table(table, max_chunksize=len(ROWS))
    text = sources.TextTable.open(path, batch_size=100)
    assert max(len(b) for b in text.iter_batches()) == 100
    assert list(text) == DOCS


def test_chained_texts_restart_both_parts(parquet: Path) -> None:
    _, table = sources.split_corpus(parquet)
    assert table is not None
    chained = sources.ChainedTexts(table, ["x", "y"])
    assert list(chained) == [*DOCS, "x", "y"]
    assert list(chained) == [*DOCS, "x", "y"]


# --- shards ------------------------------------------------------------------------------------


def test_shards_are_row_groups_and_arrow_files(tmp_path: Path, saved: Path) -> None:
    first = write_parquet(tmp_path / "a.parquet", ROWS[:1000], row_group_size=300)
    second = write_parquet(tmp_path / "b.parquet", ROWS[1000:], row_group_size=450)
    _, table = sources.split_corpus([first, second, saved])
    assert table is not None
    shards = table.shards()
    assert [(s.kind, s.row_group, s.rows) for s in shards] == [
        ("parquet", 0, 300), ("parquet", 1, 300), ("parquet", 2, 300), ("parquet", 3, 100),
        ("parquet", 0, 450), ("parquet", 1, 450), ("parquet", 2, 100),
        ("arrow", None, 1000), ("arrow", None, 1000),
    ]  # fmt: skip
    assert [s.first_row for s in shards] == [0, 300, 600, 900, 1000, 1450, 1900, 2000, 3000]
    assert [s.path for s in shards[:4]] == [str(first)] * 4
    assert all(s.bytes > 0 for s in shards)
    assert sum(s.rows for s in shards) == table.rows == 2 * len(ROWS)
    read = [t for s in shards for t in sources.read_shard(s, "text")]
    assert read == list(table) == DOCS + DOCS
    for s in shards:
        assert sources.read_shard(s, "text") == read[s.first_row : s.first_row + s.rows]


def test_shards_of_dataset_objects(saved: Path) -> None:
    loaded = sources.from_dataset(datasets.load_from_disk(str(saved)))
    assert [(s.kind, s.first_row, s.rows) for s in loaded.shards()] == [
        ("arrow", 0, 1000),
        ("arrow", 1000, 1000),
    ]
    in_memory = sources.from_dataset(datasets.Dataset.from_dict({"text": ["a"]}))
    streamed = sources.from_dataset(
        datasets.Dataset.from_dict({"text": ["a"]}).to_iterable_dataset()
    )
    for table in (in_memory, streamed):
        with pytest.raises(tokkit.ConfigError) as info:
            table.shards()
        assert "save" in str(info.value.hint)


# --- bad input ---------------------------------------------------------------------------------


def test_a_missing_field_lists_the_columns(parquet: Path, saved: Path, tmp_path: Path) -> None:
    for path, where in ((parquet, str(parquet)), (saved, "data-00000-of-00002.arrow")):
        with pytest.raises(tokkit.CorpusError) as info:
            tokkit.train(path, BPE(vocab_size=300), text_field="body", out=tmp_path / "o")
        assert where in info.value.message
        assert "has no field 'body'; its columns are: id, text" in info.value.message
        assert info.value.hint == "name the column that holds the text: text_field=NAME"
    for obj in (
        datasets.Dataset.from_dict({"id": [1], "text": ["a"]}),
        datasets.Dataset.from_dict({"id": [1], "text": ["a"]}).to_iterable_dataset(),
        datasets.IterableDataset.from_generator(lambda: iter([{"id": 1, "text": "a"}])),
    ):
        with pytest.raises(tokkit.CorpusError, match="its columns are: id, text"):
            tokkit.train(obj, BPE(vocab_size=300), text_field="body", out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_a_column_that_is_not_text(parquet: Path, tmp_path: Path) -> None:
    with pytest.raises(tokkit.CorpusError, match=r"field 'id' is int64, not a string column"):
        tokkit.train(parquet, BPE(vocab_size=300), text_field="id")
    stream = datasets.IterableDataset.from_generator(lambda: iter([{"t": "a"}, {"t": 7}]))
    with pytest.raises(tokkit.CorpusError, match="of row 1 is of type int, not a string"):
        list(sources.from_dataset(stream, "t"))


def test_an_empty_dataset(tmp_path: Path) -> None:
    empty = write_parquet(tmp_path / "empty.parquet", [])
    (tmp_path / "empty-saved").mkdir()
    datasets.Dataset.from_dict({"text": []}).save_to_disk(str(tmp_path / "empty-saved" / "ds"))
    for corpus in (
        empty,
        tmp_path / "empty-saved" / "ds",
        datasets.Dataset.from_dict({"text": []}),
        datasets.IterableDataset.from_generator(lambda: iter([])),
    ):
        with pytest.raises(tokkit.CorpusError, match=r"^the dataset is empty"):
            tokkit.train(corpus, BPE(vocab_size=300), out=tmp_path / "o")
    assert not (tmp_path / "o").exists()
    # Empty files among others are no error: only no rows at all is.
    full = write_parquet(tmp_path / "full.parquet", ["a b\n"])
    _, table = sources.split_corpus([empty, full])
    assert table is not None
    assert list(table) == ["a b\n"]


def test_a_dataset_dict_asks_for_a_split(tmp_path: Path) -> None:
    dataset = datasets.Dataset.from_dict({"text": ["a", "b"]})
    splits = datasets.DatasetDict({"train": dataset, "test": dataset})
    splits.save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(tokkit.CorpusError, match="DatasetDict with the splits train, test") as info:
        tokkit.train(tmp_path / "dd", BPE(vocab_size=300))
    assert info.value.message.endswith(
        f"training reads one split, such as {tmp_path / 'dd' / 'train'}"
    )
    with pytest.raises(
        tokkit.ConfigError, match=r"DatasetDict holds several splits \(train, test\)"
    ):
        tokkit.train(splits, BPE(vocab_size=300))


def test_tables_mixed_with_other_files(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    write_parquet(root / "a.parquet", ["a"])
    (root / "notes.txt").write_text("notes\n")
    with pytest.raises(tokkit.CorpusError, match=r"holds tables .* beside other files"):
        sources.split_corpus(root)
    with pytest.raises(tokkit.CorpusError, match=r"the glob .* holds tables"):
        sources.split_corpus(str(root / "*"))
    # Text alone stays with the core, as given.
    assert sources.split_corpus([str(root / "*.txt"), root / "notes.txt"]) == (
        [str(root / "*.txt"), str(root / "notes.txt")],
        None,
    )


def test_without_pyarrow_the_error_says_what_to_install(
    parquet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(tokkit.ConfigError, match="needs pyarrow") as info:
        tokkit.train(parquet, BPE(vocab_size=300))
    assert info.value.hint == "pip install 'tokkit[data]'"


def test_an_output_never_replaces_a_table_it_reads(tmp_path: Path, saved: Path) -> None:
    """``force`` must not delete a table read through a ``datasets`` object (its files are
    inputs) or through a path."""
    loaded = datasets.load_from_disk(str(saved))
    for corpus in (loaded, saved / "data-00000-of-00002.arrow"):
        with pytest.raises(tokkit.OutputError, match="replacing it would delete it"):
            tokkit.train(corpus, BPE(vocab_size=300), out=saved, force=True)
    assert (saved / "state.json").is_file()


def test_the_cli_trains_from_parquet_and_refuses_bad_tables(parquet: Path, tmp_path: Path) -> None:
    out = tmp_path / "ok"
    result = run_cli(
        "train", "--vocab-size", "500", "--out", str(out), str(parquet), "--text-field", "text"
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = tokkit.train(None, BPE(vocab_size=500), texts=DOCS).to_json() + "\n"
    assert (out / "tokenizer.json").read_text(encoding="utf-8") == expected
    empty = write_parquet(tmp_path / "empty.parquet", [])
    for args, error, hint in (
        (
            [str(parquet), "--text-field", "content"],
            f"error: {parquet} has no field 'content'; its columns are: id, text",
            "hint: name the column that holds the text: --text-field NAME",
        ),
        (
            [str(empty)],
            f"error: the dataset is empty: {empty} has no rows",
            "hint: give a dataset with some rows",
        ),
    ):
        bad = tmp_path / "bad"
        result = run_cli("train", "--vocab-size", "500", "--out", str(bad), *args)
        assert result.returncode == 1
        assert result.stderr.splitlines()[-2:] == [error, hint]
        assert not bad.exists()


# --- other trainers ----------------------------------------------------------------------------


def test_superbpe_on_parquet(parquet: Path, tmp_path: Path) -> None:
    """SuperBPE reads its corpus twice: the table is iterated again for the second pass."""
    text = tmp_path / "docs.txt"
    text.write_text("".join(DOCS), encoding="utf-8")  # the same documents: lines with endings
    trainer = SuperBPE(vocab_size=1000, transition_point=0.5)
    from_file = tokkit.train(text, trainer)
    assert from_file.report["superbpe"]["stage2_merges"] > 0
    from_table = tokkit.train(parquet, trainer)
    assert from_table.to_json() == from_file.to_json()
    assert from_table.report["sequences"] == len(DOCS)  # the null rows too, as empty ones


def test_hybrid_on_parquet(tmp_path: Path) -> None:
    import tokkit.hybrid

    rows = LINES[:800]
    path = write_parquet(tmp_path / "en.parquet", list(rows))
    en = tokkit.hybrid.language("en")
    suffixes = len(json.loads(en.language_json)["suffixes"])
    trainer = Hybrid(vocab_size=2 + 3 + 300 + suffixes + 256 + 200, lang="en", max_roots=300)
    from_table = tokkit.train(path, trainer, out=tmp_path / "h")
    from_texts = tokkit.train(None, trainer, texts=rows)
    assert from_table.to_json() == from_texts.to_json()
    meta = json.loads((tmp_path / "h" / "tokkit.json").read_text(encoding="utf-8"))
    assert meta["corpus"]["files"] == [str(path)]
    assert meta["corpus"]["sequences"] == len(rows)


def test_paths_do_not_import_datasets(parquet: Path) -> None:
    """Training on a Parquet path needs pyarrow only; ``datasets`` is imported for its own
    objects alone."""
    import subprocess

    code = (
        "import sys, tokkit; from tokkit.trainers import BPE; "
        "tokkit.train(sys.argv[1], BPE(vocab_size=300)); print('datasets' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run(
        [sys.executable, "-c", code, str(parquet)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert result.stdout.strip() == "False"
