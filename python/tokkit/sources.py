"""Tabular corpora: Parquet files and directories, Arrow files, datasets saved by Hugging Face
``datasets`` (``save_to_disk``) and ``datasets`` objects, read as documents for training.

Each row's text field is one document (a null is the empty document ``""``, so the n-th document
is row n). A :class:`TextTable` streams its rows in batches and starts again from the first row
each time it is iterated: it goes to the Rust core as ``texts``, which it pulls in batches, and
SuperBPE reads the corpus twice. Nothing is loaded whole: Parquet is read a batch at a time from
one column, Arrow files through a memory map.

:func:`split_corpus` sorts the corpus arguments of :func:`tokkit.train` into the paths the core
reads itself (text, ``.gz``, JSON lines) and one table for the rest; :meth:`TextTable.shards`
cuts a table into row groups and files for sharded counting, :func:`read_shard` reads one.

pyarrow (and ``datasets``, for objects) are imported only when a table is read:
``pip install 'tokkit[data]'``.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import sys
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeAlias

from tokkit.corpus import CorpusArg, as_files
from tokkit.exceptions import ConfigError, CorpusError, CorpusNotFoundError

#: A ``datasets.Dataset`` or ``datasets.IterableDataset`` (``datasets`` has no type information).
DatasetLike: TypeAlias = Any
#: The field read when none is named (as for JSON lines).
DEFAULT_TEXT_FIELD = "text"
#: Rows converted to Python strings at a time (the core pulls texts in batches of this size).
DEFAULT_BATCH_SIZE = 4096
#: Suffixes read as tables (lower-cased file names).
TABLE_SUFFIXES = (".parquet", ".arrow")
#: What ``datasets`` replays on a memory-mapped file that leaves its columns' values as stored.
_HARMLESS_REPLAYS = frozenset({"replace_schema_metadata", "drop", "remove_column", "select"})
#: Columns named in a missing-field error before "and N more".
_SHOWN_COLUMNS = 20


@dataclass(frozen=True)
class TableShard:
    """One independently readable piece of a :class:`TextTable`: a Parquet row group or an
    Arrow file.

    Attributes:
        path: The file.
        kind: ``parquet`` or ``arrow``.
        row_group: The row group's index in a Parquet file; ``None`` for Arrow.
        first_row: Index of the shard's first row in the whole table (documents are numbered
            in table order).
        rows: Rows in the shard.
        bytes: Size on disk (compressed, for Parquet: all columns of the row group), for
            progress.
    """

    path: str
    kind: Literal["parquet", "arrow"]
    row_group: int | None
    first_row: int
    rows: int
    bytes: int


class _Part(Protocol):
    """One input of a table: a file, or a ``datasets`` object."""

    #: Rows, when the metadata says (``None`` for an iterable dataset).
    rows: int | None

    def files(self) -> list[str]: ...

    def batches(self, text_field: str, batch_size: int) -> Iterator[list[str]]: ...

    def shards(self, text_field: str, first_row: int) -> list[TableShard]: ...


class TextTable:
    """The documents of one or more tables, read again from the first row on each iteration.

    Made by :func:`split_corpus` (paths), :func:`from_dataset` (``datasets`` objects) or
    :meth:`open`. Iterating yields one string per row, in order; :meth:`iter_batches` yields
    them as lists of up to ``batch_size``.

    Attributes:
        text_field: The column read.
        batch_size: Rows read and converted at a time.

    The constructor takes the parts those functions find (and ``name``, the inputs as the
    error messages name them); it is not meant to be called directly.
    """

    def __init__(
        self,
        parts: Sequence[_Part],
        text_field: str = DEFAULT_TEXT_FIELD,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        name: str | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.text_field = text_field
        self.batch_size = batch_size
        self._parts = list(parts)
        self._name = name
        if self.rows == 0:
            raise _empty(name)

    @classmethod
    def open(
        cls,
        paths: CorpusArg,
        text_field: str | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> TextTable:
        """A table of Parquet files or directories, Arrow files, saved-dataset directories or
        globs of them, in order.

        Raises:
            CorpusError: A path that is not one of those, a missing or non-string field, no
                rows at all.
            CorpusNotFoundError: A path that does not exist.
        """
        field = text_field or DEFAULT_TEXT_FIELD
        parts: list[_Part] = []
        for path in as_files(paths):
            found = _classify(path, field)
            if found is None:
                if not Path(path).exists():
                    why = "a glob that matches no file" if _is_glob(path) else "not found"
                    raise CorpusNotFoundError(f"{path}: {why}")
                raise CorpusError(
                    f"{path} is not a table: give Parquet files or directories, Arrow files or "
                    "directories written by datasets' save_to_disk"
                )
            parts.extend(found)
        return cls(parts, field, batch_size=batch_size, name=_describe(as_files(paths)))

    @property
    def rows(self) -> int | None:
        """Rows in all, from the files' metadata; ``None`` when a part does not say (an
        iterable dataset)."""
        counts = [p.rows for p in self._parts]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)

    @property
    def files(self) -> list[str]:
        """The files read, in order (for provenance, and so that no output replaces them)."""
        return [f for p in self._parts for f in p.files()]

    def iter_batches(self) -> Iterator[list[str]]:
        """The documents in lists of up to ``batch_size``, from the first row on."""
        seen = 0
        for part in self._parts:
            for batch in part.batches(self.text_field, self.batch_size):
                seen += len(batch)
                yield batch
        if seen == 0:  # only reachable when the metadata could not say (iterable datasets)
            raise _empty(self._name)

    def __iter__(self) -> Iterator[str]:
        for batch in self.iter_batches():
            yield from batch

    def shards(self) -> list[TableShard]:
        """One shard per Parquet row group and per Arrow file, in table order.

        Raises:
            ConfigError: A part that lives only in memory or is streamed (an iterable dataset,
                a dataset object without its own Arrow files): save it to disk first.
        """
        shards: list[TableShard] = []
        first = 0
        for part in self._parts:
            got = part.shards(self.text_field, first)
            shards.extend(got)
            first += sum(s.rows for s in got)
        return shards

    def __repr__(self) -> str:
        return (
            f"TextTable({self._name or 'a dataset object'}, {len(self._parts)} part(s), "
            f"rows={self.rows}, text_field={self.text_field!r})"
        )


# --- reading ---------------------------------------------------------------------------------


def _pyarrow() -> Any:
    """The pyarrow module, or a ConfigError saying how to install it."""
    try:
        import pyarrow  # type: ignore[import-untyped]
        import pyarrow.ipc  # type: ignore[import-untyped]
        import pyarrow.parquet  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError(
            "reading Parquet and Arrow files needs pyarrow, which is not installed",
            hint="pip install 'tokkit[data]'",
        ) from None
    return pyarrow


def _is_text_type(typ: Any) -> bool:
    """Whether an Arrow type reads as strings (nulls alone read as empty documents)."""
    pa = _pyarrow()
    t = pa.types
    if t.is_dictionary(typ):
        return _is_text_type(typ.value_type)
    view = getattr(t, "is_string_view", lambda _: False)  # pyarrow 16 and later
    return bool(t.is_string(typ) or t.is_large_string(typ) or view(typ) or t.is_null(typ))


def _check_field(schema: Any, text_field: str, where: str) -> None:
    """Raise a CorpusError unless ``schema`` has ``text_field`` as a string column."""
    index = schema.get_field_index(text_field)
    if index < 0:
        raise _missing_field(list(schema.names), text_field, where)
    typ = schema.field(index).type
    if not _is_text_type(typ):
        raise CorpusError(
            f"{where}: field {text_field!r} is {typ}, not a string column",
            hint="name a string column as {text_field=NAME}, or cast this one to string first",
        )


def _missing_field(names: list[str], text_field: str, where: str) -> CorpusError:
    shown = ", ".join(names[:_SHOWN_COLUMNS]) or "(none)"
    more = f" and {len(names) - _SHOWN_COLUMNS} more" if len(names) > _SHOWN_COLUMNS else ""
    return CorpusError(
        f"{where} has no field {text_field!r}; its columns are: {shown}{more}",
        hint="name the column that holds the text: {text_field=NAME}",
    )


def _texts(column: Any) -> list[str]:
    """A column (Array or ChunkedArray) as Python strings, a null as ``""``."""
    values: list[str | None] = column.to_pylist()
    if column.null_count:
        return ["" if v is None else v for v in values]
    return values  # type: ignore[return-value]  # no nulls: all str


def _read_error(path: str, e: Exception) -> CorpusError:
    return CorpusError(f"cannot read {path}: {e}")


@dataclass
class _ParquetFile:
    """A Parquet file: its row groups from the footer."""

    path: str
    rows: int | None
    groups: list[tuple[int, int]]  # (rows, compressed bytes) per row group

    @classmethod
    def open(cls, path: str, text_field: str) -> _ParquetFile:
        pa = _pyarrow()
        try:
            with pa.parquet.ParquetFile(path) as pf:
                meta = pf.metadata
                _check_field(pf.schema_arrow, text_field, path)
                groups = []
                for i in range(meta.num_row_groups):
                    group = meta.row_group(i)
                    size = sum(
                        group.column(j).total_compressed_size for j in range(group.num_columns)
                    )
                    groups.append((group.num_rows, size))
                return cls(path, meta.num_rows, groups)
        except (pa.ArrowException, OSError) as e:
            raise CorpusError(f"{path} is not a readable Parquet file: {e}") from e

    def files(self) -> list[str]:
        return [self.path]

    def batches(self, text_field: str, batch_size: int) -> Iterator[list[str]]:
        pa = _pyarrow()
        try:
            with pa.parquet.ParquetFile(self.path) as pf:
                # Checked again: the file may have changed since the table was made.
                _check_field(pf.schema_arrow, text_field, self.path)
                for batch in pf.iter_batches(batch_size=batch_size, columns=[text_field]):
                    yield _texts(batch.column(0))
        except (pa.ArrowException, OSError) as e:
            raise _read_error(self.path, e) from e

    def shards(self, text_field: str, first_row: int) -> list[TableShard]:
        shards = []
        for i, (rows, size) in enumerate(self.groups):
            shards.append(TableShard(self.path, "parquet", i, first_row, rows, size))
            first_row += rows
        return shards


def _arrow_batches(path: str) -> Generator[Any, None, None]:
    """The record batches of an Arrow IPC file, through a memory map: the stream format that
    ``datasets`` writes, else the random-access file format."""
    pa = _pyarrow()
    with pa.memory_map(path) as source:
        try:
            reader = pa.ipc.open_stream(source)
        except pa.ArrowInvalid:
            source.seek(0)
            file_reader = pa.ipc.open_file(source)
            yield file_reader.schema
            for i in range(file_reader.num_record_batches):
                yield file_reader.get_batch(i)
            return
        yield reader.schema
        yield from reader


@dataclass
class _ArrowFile:
    """An Arrow IPC file (stream or file format), such as a ``data-*.arrow`` of a saved
    dataset."""

    path: str
    rows: int | None
    size: int

    @classmethod
    def open(cls, path: str, text_field: str) -> _ArrowFile:
        pa = _pyarrow()
        try:
            with contextlib.closing(_arrow_batches(path)) as batches:
                _check_field(next(batches), text_field, path)
                # Counting reads only the batches' headers: the memory map leaves the data on
                # disk.
                rows = sum(b.num_rows for b in batches)
            return cls(path, rows, Path(path).stat().st_size)
        except (pa.ArrowException, OSError) as e:
            raise CorpusError(f"{path} is not a readable Arrow file: {e}") from e

    def files(self) -> list[str]:
        return [self.path]

    def batches(self, text_field: str, batch_size: int) -> Iterator[list[str]]:
        pa = _pyarrow()
        try:
            with contextlib.closing(_arrow_batches(self.path)) as batches:
                schema = next(batches)
                _check_field(schema, text_field, self.path)
                index = schema.get_field_index(text_field)
                for batch in batches:
                    column = batch.column(index)
                    # Record batches may be of any size; slices are views, so only batch_size
                    # rows become Python strings at a time.
                    for start in range(0, len(column), batch_size):
                        yield _texts(column.slice(start, batch_size))
        except (pa.ArrowException, OSError) as e:
            raise _read_error(self.path, e) from e

    def shards(self, text_field: str, first_row: int) -> list[TableShard]:
        return [TableShard(self.path, "arrow", None, first_row, self.rows or 0, self.size)]


@dataclass
class _Dataset:
    """A ``datasets.Dataset`` object (memory-mapped Arrow files, or a table in memory)."""

    obj: Any
    rows: int | None

    def files(self) -> list[str]:
        return [str(f["filename"]) for f in self.obj.cache_files]

    def batches(self, text_field: str, batch_size: int) -> Iterator[list[str]]:
        # The dataset's own reader honours what the object adds to its files: an indices
        # mapping (shuffle, select), renamed or cast columns.
        table = self.obj.select_columns([text_field]).with_format("arrow")
        for batch in table.iter(batch_size=batch_size):
            yield _texts(batch.column(0))

    def shards(self, text_field: str, first_row: int) -> list[TableShard]:
        files = self._plain_files()
        if files is None:
            raise ConfigError(
                "this dataset cannot be cut into shards: it is held in memory, or it changes "
                "its Arrow files (shuffled, selected, renamed or cast columns)",
                hint="save it first (dataset.save_to_disk(DIR) or dataset.to_parquet(FILE)) "
                "and train on what was written",
            )
        shards = []
        for path, rows in files:
            size = Path(path).stat().st_size
            shards.append(TableShard(path, "arrow", None, first_row, rows, size))
            first_row += rows
        return shards

    def _plain_files(self) -> list[tuple[str, int]] | None:
        """The Arrow files the dataset reads as they are, with their rows, or ``None`` when its
        rows are not exactly those files' rows in order."""
        obj = self.obj
        if getattr(obj, "_indices", None) is not None:
            return None
        data = obj.data
        blocks = getattr(data, "blocks", None)
        if blocks is None:
            blocks = [[data]]
        files = []
        for row in blocks:
            if len(row) != 1:  # columns joined side by side
                return None
            block = row[0]
            path = getattr(block, "path", None)
            # A replay is a change made on reading: a slice, a rename or a cast means the file
            # alone is not what the dataset reads; metadata and dropped columns leave the text
            # as it is in the file.
            replays = getattr(block, "replays", None) or []
            if path is None or any(r[0] not in _HARMLESS_REPLAYS for r in replays):
                return None
            files.append((str(path), int(block.num_rows)))
        return files if sum(r for _, r in files) == len(obj) else None


@dataclass
class _IterableDataset:
    """A ``datasets.IterableDataset``: streamed, its length unknown; each iteration restarts
    it."""

    obj: Any
    rows: int | None = None

    def files(self) -> list[str]:
        return []

    def batches(self, text_field: str, batch_size: int) -> Iterator[list[str]]:
        stream = self.obj
        if stream.column_names is not None:
            stream = stream.select_columns([text_field])
        row = 0
        for batch in stream.with_format(None).iter(batch_size=batch_size):
            if text_field not in batch:
                raise _missing_field(list(batch), text_field, "the dataset")
            values = batch[text_field]
            texts = []
            for value in values:
                if value is None:
                    value = ""
                elif not isinstance(value, str):
                    raise CorpusError(
                        f"the dataset: field {text_field!r} of row {row} is of type "
                        f"{type(value).__name__}, not a string",
                        hint="name a string column as {text_field=NAME}",
                    )
                texts.append(value)
                row += 1
            yield texts

    def shards(self, text_field: str, first_row: int) -> list[TableShard]:
        raise ConfigError(
            "an iterable dataset cannot be cut into shards: it is a stream",
            hint="save it to Parquet or with save_to_disk first, and train on what was written",
        )


# --- paths -----------------------------------------------------------------------------------


def _is_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


def _is_table_file(path: Path) -> bool:
    return path.name.lower().endswith(TABLE_SUFFIXES)


def _sort_key(path: Path) -> tuple[str, ...]:
    """The order of the core's walk: entries sorted within each directory, depth first."""
    return path.parts


def _walk(root: Path) -> list[Path]:
    """The files under ``root`` in the order the core reads a directory (sorted, depth first,
    hidden entries left out). Links to directories are not followed, and a link to a file
    outside ``root`` is left out: a table directory reads only what it holds."""
    inside = root.resolve()
    found = []
    for dirpath, dirnames, filenames in os.walk(root):  # followlinks=False
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            path = Path(dirpath, name)
            if name.startswith(".") or not path.is_file():
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(inside):
                continue
            found.append(path)
    return sorted(found, key=_sort_key)


def _file_part(path: Path, text_field: str) -> _Part:
    if path.name.lower().endswith(".parquet"):
        return _ParquetFile.open(os.fspath(path), text_field)
    return _ArrowFile.open(os.fspath(path), text_field)


def _saved_dataset(path: Path, text_field: str) -> list[_Part]:
    """The Arrow files of a directory written by ``Dataset.save_to_disk``, in the order its
    ``state.json`` lists them."""
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        names = [str(f["filename"]) for f in state["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CorpusError(
            f"{path} has a state.json that does not list its data files ({e}); it is not a "
            "directory written by datasets' save_to_disk"
        ) from None
    parts: list[_Part] = []
    for name in names:
        file = path / name
        if Path(name).is_absolute() or ".." in Path(name).parts or not file.is_file():
            raise CorpusError(f"{path}: state.json lists {name}, which is not a file there")
        parts.append(_ArrowFile.open(os.fspath(file), text_field))
    return parts


def _classify_dir(path: Path, text_field: str) -> list[_Part] | None:
    """A directory as table parts, or ``None`` when it holds no table (text for the core)."""
    if (path / "dataset_dict.json").is_file():
        try:
            listed = json.loads((path / "dataset_dict.json").read_text(encoding="utf-8"))
            splits = [str(s) for s in listed["splits"]]
        except (OSError, ValueError, KeyError, TypeError):
            splits = sorted(p.name for p in path.iterdir() if (p / "state.json").is_file())
        example = path / (splits[0] if splits else "train")
        raise CorpusError(
            f"{path} holds a DatasetDict with the splits {', '.join(splits) or '(none)'}; "
            f"training reads one split, such as {example}",
            hint="give the directory of one split",
        )
    if (path / "state.json").is_file() and (path / "dataset_info.json").is_file():
        return _saved_dataset(path, text_field)
    files = _walk(path)
    tables = [f for f in files if _is_table_file(f)]
    if not tables:
        return None
    # Names starting with "_" are markers of the tools that write Parquet directories
    # (Spark's _SUCCESS, _metadata); pyarrow.dataset leaves them out too.
    others = [f for f in files if not _is_table_file(f) and not f.name.startswith("_")]
    if others:
        raise _mixed(os.fspath(path), tables[0], others[0])
    return [_file_part(f, text_field) for f in tables]


def _mixed(where: str, table: Path, other: Path) -> CorpusError:
    return CorpusError(
        f"{where} holds tables ({table}) beside other files ({other}); a corpus path is read "
        "either as tables or as text files",
        hint="give the Parquet or Arrow files and the text files as separate corpus paths "
        "(a glob such as DIR/**/*.parquet picks the tables)",
    )


def _classify(arg: str, text_field: str) -> list[_Part] | None:
    """One corpus argument as table parts, or ``None`` to leave it to the core's reader."""
    path = Path(arg)
    if path.is_dir():
        return _classify_dir(path, text_field)
    if path.is_file():
        return [_file_part(path, text_field)] if _is_table_file(path) else None
    if path.exists() or not _is_glob(arg):
        return None  # the core says what is wrong with it
    # glob.glob, not Path.glob: the pattern may be absolute. Hidden names match as they do
    # for the core's glob (a wildcard matches a leading dot).
    if sys.version_info >= (3, 11):
        names = glob.glob(arg, recursive=True, include_hidden=True)  # noqa: PTH207
    else:
        names = glob.glob(arg, recursive=True)  # noqa: PTH207
    matches = sorted((Path(m) for m in names if Path(m).is_file()), key=_sort_key)
    tables = [m for m in matches if _is_table_file(m)]
    if not tables:
        return None
    others = [m for m in matches if not _is_table_file(m)]
    if others:
        raise _mixed(f"the glob {arg}", tables[0], others[0])
    return [_file_part(m, text_field) for m in tables]


def _describe(paths: Sequence[str]) -> str:
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _empty(where: str | None) -> CorpusError:
    return CorpusError(
        "the dataset is empty" + (f": {where} has no rows" if where else ""),
        hint="give a dataset with some rows",
    )


def split_corpus(
    inputs: CorpusArg, text_field: str | None = None
) -> tuple[list[str], TextTable | None]:
    """Sort corpus arguments into paths for the core's reader and one table.

    Tables are: a ``.parquet`` or ``.arrow`` file; a directory whose files (walked recursively,
    sorted, hidden entries and ``_`` markers left out) are all ``.parquet``/``.arrow``; a
    directory written by ``datasets``' ``save_to_disk``; a glob matching such files. Everything
    else (text, ``.gz``, JSON lines, directories and globs of them, paths that do not exist) is
    returned as given, for the core. Each group keeps the order of ``inputs``.

    Args:
        inputs: The corpus paths as the user gave them.
        text_field: The column holding the text (default ``text``).

    Returns:
        The plain paths, and the table of the others (``None`` when there are none).

    Raises:
        CorpusError: A table without the field, with a non-string field, or with no rows in
            all; a ``DatasetDict`` directory; a directory or glob mixing tables and other files.
        ConfigError: pyarrow is not installed.
    """
    field = text_field or DEFAULT_TEXT_FIELD
    plain: list[str] = []
    parts: list[_Part] = []
    tables: list[str] = []
    for arg in as_files(inputs):
        found = _classify(arg, field)
        if found is None:
            plain.append(arg)
        else:
            parts.extend(found)
            tables.append(arg)
    if not tables:
        return plain, None
    return plain, TextTable(parts, field, name=_describe(tables))


def is_dataset(obj: object) -> bool:
    """Whether ``obj`` is an object of Hugging Face ``datasets`` (without importing it)."""
    module = type(obj).__module__
    return module == "datasets" or module.startswith("datasets.")


def from_dataset(
    obj: Any, text_field: str | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> TextTable:
    """A table over a ``datasets.Dataset`` or ``datasets.IterableDataset``.

    A ``Dataset`` is read through its own reader (indices and column changes honoured), in
    batches; an ``IterableDataset`` is iterated, and again from the start for each pass.

    Raises:
        ConfigError: ``obj`` is a ``DatasetDict`` (pick a split) or not a dataset.
        CorpusError: The field is missing or not a string column, or the dataset has no rows.
    """
    field = text_field or DEFAULT_TEXT_FIELD
    kind = type(obj).__name__
    if kind in ("DatasetDict", "IterableDatasetDict"):
        splits = ", ".join(map(str, obj)) or "(none)"
        raise ConfigError(
            f"a {kind} holds several splits ({splits}); training reads one",
            hint="give one split, such as dataset['train']",
        )
    if not is_dataset(obj):
        raise ConfigError(f"expected a datasets.Dataset or datasets.IterableDataset, got {kind}")
    import datasets  # type: ignore[import-untyped]  # given one of its objects, it is installed

    if isinstance(obj, datasets.Dataset):
        _check_field(obj.data.schema, field, "the dataset")
        return TextTable([_Dataset(obj, len(obj))], field, batch_size=batch_size)
    if isinstance(obj, datasets.IterableDataset):
        if obj.column_names is not None and field not in obj.column_names:
            raise _missing_field(list(obj.column_names), field, "the dataset")
        feature = (obj.features or {}).get(field)
        dtype = getattr(feature, "dtype", None)
        if feature is not None and dtype not in ("string", "large_string", "string_view", "null"):
            raise CorpusError(
                f"the dataset: field {field!r} is {feature}, not a string column",
                hint="name a string column as {text_field=NAME}, or cast this one to string first",
            )
        return TextTable([_IterableDataset(obj)], field, batch_size=batch_size)
    raise ConfigError(f"expected a datasets.Dataset or datasets.IterableDataset, got {kind}")


def read_shard(shard: TableShard, text_field: str) -> list[str]:
    """The documents of one shard (a null as ``""``), as iterating the table gives them.

    Raises:
        CorpusError: The file is missing or unreadable, or the field is missing or not a
            string column.
    """
    pa = _pyarrow()
    if shard.kind == "parquet":
        try:
            with pa.parquet.ParquetFile(shard.path) as pf:
                _check_field(pf.schema_arrow, text_field, shard.path)
                table = pf.read_row_group(shard.row_group, columns=[text_field])
                return _texts(table.column(0))
        except (pa.ArrowException, OSError) as e:
            raise _read_error(shard.path, e) from e
    texts: list[str] = []
    arrow = _ArrowFile(shard.path, shard.rows, shard.bytes)
    for batch in arrow.batches(text_field, DEFAULT_BATCH_SIZE):
        texts.extend(batch)
    return texts


class ChainedTexts:
    """Several iterables of texts one after the other, iterable again (each pass starts each
    from the beginning, as far as each can)."""

    def __init__(self, *parts: Iterable[str]) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[str]:
        for part in self.parts:
            yield from part
