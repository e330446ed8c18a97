"""Training entry point: :func:`train` runs a trainer of the Rust core and returns a
:class:`TrainedTokenizer`, which :meth:`TrainedTokenizer.save` writes as a Hugging Face
tokenizer directory plus a ``tokkit.json`` provenance sidecar. Tables in the corpus (Parquet,
Arrow, ``datasets``) are read here (:mod:`tokkit.sources`) and reach the core as texts."""

from __future__ import annotations

import functools
import json
import os
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tokkit import _tokkit
from tokkit._io import check_output_dir, dumps, write_dir_atomically
from tokkit._progress import ProgressMode as ProgressMode
from tokkit._special import HFConventions as HFConventions
from tokkit._special import hf_side_files
from tokkit.corpus import CorpusArg, as_files
from tokkit.exceptions import ConfigError, TokkitWarning
from tokkit.extend import Base, read_base
from tokkit.sources import (
    ChainedTexts,
    DatasetLike,
    TextTable,
    from_dataset,
    is_dataset,
    split_corpus,
)
from tokkit.trainers import Hybrid, Trainer


@dataclass(frozen=True)
class CorpusPlan:
    """A corpus argument sorted for the core: text paths it reads itself, and texts (the
    tables' documents, then the caller's texts).

    Attributes:
        files: Paths for the core's reader (``None`` when there are none).
        texts: What the core pulls as texts: iterable again when made of tables alone.
        inputs: What the run reads, as given and as found: an output must not replace them.
        table_files: The tables' files, for ``tokkit.json``'s ``corpus.files``.
        table: The tables, for sharded counting (``None`` without tables).
    """

    files: list[str] | None
    texts: Iterable[str] | None
    inputs: list[str]
    table_files: list[str]
    table: TextTable | None = None

    def record(self, report: dict[str, Any]) -> dict[str, Any]:
        """``report`` with the tables' files after the files the core read."""
        if self.table_files:
            report["corpus_files"] = [*(report.get("corpus_files") or []), *self.table_files]
        return report


def plan_corpus(
    corpus: CorpusArg | DatasetLike | None,
    texts: Iterable[str] | None,
    text_field: str | None,
) -> CorpusPlan:
    """Sort ``corpus`` (paths, or a ``datasets`` object) into the core's files and texts.

    Raises:
        CorpusError: A table that cannot be read as asked (missing or non-string field, no
            rows, a DatasetDict directory).
        ConfigError: A ``DatasetDict`` object; pyarrow missing for a Parquet or Arrow path.
    """
    paths: list[str] = []
    given: list[str] = []
    table: TextTable | None = None
    if corpus is None:
        pass
    elif is_dataset(corpus):
        table = from_dataset(corpus, text_field)
    else:
        given = as_files(corpus)
        paths, table = split_corpus(given, text_field)
    if table is None:
        # As before tables: the paths go to the core as given (an empty list included, which
        # it refuses with its own message).
        files = paths if corpus is not None else None
        return CorpusPlan(files=files, texts=texts, inputs=given, table_files=[])
    # The tables first, then the caller's texts; each pass starts both again.
    pulled = table if texts is None else ChainedTexts(table, texts)
    table_files = table.files
    return CorpusPlan(
        files=paths or None,
        texts=pulled,
        inputs=[*given, *table_files],
        table_files=table_files,
        table=table,
    )


@dataclass(frozen=True)
class TrainedTokenizer:
    """A trained tokenizer held in memory; :meth:`save` writes it.

    Attributes:
        trainer: The configuration it was trained with (``tokkit.json`` records it).
        corpus_options: How the corpus was read (``text_field``, ``strict``).
        report: What training saw and did: corpus sha256 and size, counts, timings.
        wall_seconds: Wall time of the whole training call.
        base: The tokenizer this one extends (``extend=``), else ``None``.
    """

    trainer: Trainer
    corpus_options: dict[str, Any]
    report: dict[str, Any]
    wall_seconds: float
    _native: Any = field(repr=False)
    base: Base | None = field(default=None, repr=False)

    @property
    def algorithm(self) -> str:
        """The trainer's algorithm: ``bpe``, ``superbpe``, ``charbpe`` or ``supertoken``."""
        return self.trainer.algorithm

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""
        return int(self._native.vocab_size)

    @property
    def merges(self) -> list[tuple[str, str]]:
        """Merges in rank order, as byte-level strings (``Ġ`` is a space)."""
        return list(self._native.merges())

    @property
    def special_tokens(self) -> list[str]:
        """Special tokens in id order."""
        return list(self._native.special_tokens)

    def to_json(self) -> str:
        """The HF ``tokenizer.json`` text."""
        return str(self._native.to_json())

    def sidecar(self) -> dict[str, Any]:
        """The ``tokkit.json`` provenance record; its ``trainer`` is a recipe that repeats the
        run (``tokkit train --recipe DIR/tokkit.json CORPUS``)."""
        name, pattern = self._native.pretokenizer
        trainer = self.trainer.to_dict()
        return {
            "format_version": 2,
            "tokkit_version": _tokkit.__version__,
            "algorithm": self.algorithm,
            "trainer": trainer,
            "corpus_options": self.corpus_options,
            "pretokenizer": {"name": name, "pattern": pattern},
            "seed": trainer.get("seed"),
            "seed_note": "chunk sampling: one random stream per document from (seed, file, line)"
            if "seed" in trainer
            else "deterministic training; no randomness is involved",
            "corpus": {
                "sha256": self.report["corpus_sha256"],
                "bytes": self.report["corpus_bytes"],
                "files": self.report["corpus_files"],
                "sequences": self.report["sequences"],
                "skipped_invalid_utf8": self.report["skipped_invalid_utf8"],
            },
            "training": {
                k: self.report[k]
                for k in (
                    "pieces",
                    "corpus_tokens",
                    "distinct_words",
                    "merges",
                    "vocab_size",
                    "stop_reason",
                    "count_seconds",
                    "merge_seconds",
                    "threads",
                )
            },
            **({"superbpe": self.report["superbpe"]} if "superbpe" in self.report else {}),
            **(
                {"distributed": self.report["distributed"]}
                if "distributed" in self.report
                else {}
            ),
            **({"extends": self._extends()} if self.base is not None else {}),
            "wall_seconds": round(self.wall_seconds, 3),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def _extends(self) -> dict[str, Any]:
        """The ``extends`` record of ``tokkit.json``: the base and what was added to it."""
        assert self.base is not None
        return {
            "base": self.base.spec,
            "path": str(self.base.path),
            "sha256": self.base.sha256,
            **self.report["extension"],
        }

    def save(
        self,
        out: str | os.PathLike[str],
        *,
        force: bool = False,
        conventions: HFConventions | None = None,
    ) -> Path:
        """Write ``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json`` and
        ``tokkit.json`` into the directory ``out``, atomically (and ``chat_template.jinja`` when
        ``conventions`` give one).

        Args:
            conventions: Special-token roles, chat template and model_max_length for
                ``transformers`` (default: roles guessed from the tokens' spelling).

        Raises:
            OutputExistsError: ``out`` exists and ``force`` is false.
            OutputError: ``out`` cannot be written.
            ConfigError: A role names a token that is not special.

        An extension keeps the base's ``tokenizer.json`` bytes around what it adds and the base's
        ``tokenizer_config.json``, ``special_tokens_map.json`` and chat template (unless
        ``conventions`` other than the defaults are given).
        """
        if self.base is None:
            files = {"tokenizer.json": self.to_json() + "\n"}
        else:
            files = {"tokenizer.json": self.to_json()}
        files["tokkit.json"] = dumps(self.sidecar())
        custom = conventions is not None and conventions != HFConventions()
        if self.base is not None and not custom and self.base.side_files:
            files.update(self.base.side_files)  # type: ignore[arg-type]
        else:
            files.update(hf_side_files(self.special_tokens, conventions))
        inputs = list(self.report.get("corpus_files") or [])
        if self.base is not None:
            inputs.append(self.base.path)
        return write_dir_atomically(out, files, force=force, inputs=inputs)


def warn_if_short(trained: TrainedTokenizer, what: str, *, stacklevel: int) -> None:
    """Warn when training ran out of pairs of ``what`` before ``vocab_size``: stopping at
    ``min_frequency`` is what the caller asked for, running out of pairs is not."""
    if trained.report.get("stop_reason") == "no_pair_left":
        warnings.warn(
            f"training stopped at {trained.vocab_size} ids, below vocab_size "
            f"{trained.trainer.vocab_size}: no pair of {what} was left to merge (the corpus is "
            "too small for that size)",
            TokkitWarning,
            stacklevel=stacklevel,
        )


def train(
    corpus: CorpusArg | DatasetLike | None = None,
    trainer: Trainer | None = None,
    *,
    texts: Iterable[str] | None = None,
    text_field: str | None = None,
    strict: bool = False,
    num_threads: int | None = None,
    progress: ProgressMode = "none",
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
    conventions: HFConventions | None = None,
    ray: str | None = None,
    shard_mb: int = 64,
) -> TrainedTokenizer:
    """Train a tokenizer on files, tables and/or an iterable of strings.

    >>> from tokkit.trainers import BPE
    >>> tok = train("corpora/en-prose.txt", BPE(vocab_size=8000), out="my-bpe")  # doctest: +SKIP

    Args:
        corpus: Files, directories (walked recursively) or globs; ``.gz`` is decompressed,
            ``.jsonl``/``.ndjson`` are read as JSON lines. Each line is one sequence. Parquet
            files and directories, ``.arrow`` files and directories written by ``datasets``'
            ``save_to_disk`` are tables: each row's ``text_field`` is one sequence, read after
            the text files (:func:`tokkit.sources.split_corpus`). Or a ``datasets.Dataset`` or
            ``datasets.IterableDataset``, streamed the same way.
        trainer: The algorithm and its parameters (:mod:`tokkit.trainers`: ``BPE``,
            ``SuperBPE``, ``CharBPE``, ``Supertoken``, ``Hybrid``: the last writes
            ``hybrid.json`` instead of ``tokenizer.json``); ``BPE(extend=BASE)`` and
            ``SuperBPE(extend=BASE)`` extend a pretrained tokenizer instead.
        texts: Strings to train on, one sequence each (like ``train_from_iterator``), counted
            after the files and tables.
        text_field: JSON-lines field or table column holding the text (default ``text``).
        strict: Fail on invalid UTF-8 instead of skipping (and counting) such lines.
        num_threads: Worker threads (default: ``TOKKIT_NUM_THREADS`` or all cores). The result
            does not depend on it.
        progress: ``bar``, ``jsonl`` (JSON lines on stderr) or ``none``.
        out: If given, save there (see :meth:`TrainedTokenizer.save`); checked before training.
        force: Replace an existing ``out``.
        conventions: Roles, chat template and model_max_length written with ``out``
            (:class:`HFConventions`); checked before training.
        ray: Count on a Ray cluster: ``"auto"`` (``RAY_ADDRESS``, the cluster running on this
            machine, else a new local one) or the head node's ``HOST:PORT``. Shards of the
            corpus are counted by Ray tasks and merged exactly here; the tokenizer is
            byte-identical to training without ``ray`` (docs/guides/distributed.md).
        shard_mb: With ``ray``: the size of a shard of a text file, in MiB (compressed files
            are one shard each, Parquet files one per row group).

    Returns:
        The trained tokenizer.

    Raises:
        ConfigError: Invalid parameters (vocab too small, bad regex...).
        CorpusError: Missing files, empty corpus, invalid UTF-8 with ``strict``; a table
            without ``text_field`` (or not a string column there), or with no rows.
        OutputExistsError: ``out`` exists and ``force`` is false.
        KeyboardInterrupt: Ctrl-C; training stops within a second and nothing is written.
    """
    if not isinstance(trainer, Trainer):
        raise ConfigError(
            "give a trainer: train(corpus, tokkit.trainers.BPE(vocab_size=32000)) (or SuperBPE, "
            f"CharBPE, Supertoken, Hybrid), not {type(trainer).__name__}"
        )
    if isinstance(texts, str | bytes):
        raise ConfigError("texts must be an iterable of strings, not a single string")
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 0):
        raise ConfigError(f"num_threads must be a non-negative integer, got {num_threads!r}")
    if num_threads is not None and num_threads > _tokkit.MAX_THREADS:
        warnings.warn(
            f"num_threads={num_threads} is more than 4 per core; using {_tokkit.MAX_THREADS}",
            TokkitWarning,
            stacklevel=2,
        )
        num_threads = _tokkit.MAX_THREADS
    if isinstance(trainer, Hybrid) and ray is not None:
        raise ConfigError(
            "the morphological hybrid trains on one machine (its dictionary cover needs the "
            "whole corpus); train it without ray"
        )
    if isinstance(trainer, Hybrid):  # its own files and sidecar: design/hybrid.md §5
        from tokkit.hybrid import train as hybrid

        return hybrid.train(
            corpus,
            trainer,
            texts=texts,
            text_field=text_field,
            strict=strict,
            num_threads=num_threads,
            progress=progress,
            out=out,
            force=force,
            conventions=conventions,
        )
    if conventions is not None:
        conventions.resolve(list(trainer.to_dict().get("special_tokens") or []))
    plan = plan_corpus(corpus, texts, text_field)
    extends = trainer.to_dict().get("extend")
    if ray is not None and (extends or texts is not None):
        raise ConfigError(
            "on a cluster, tokkit trains new tokenizers from files or datasets: an extension "
            "and texts= (an iterable only this process can read) train without ray"
        )
    base = read_base(extends) if extends else None
    inputs: list[str | os.PathLike[str]] = [*plan.inputs, *([base.path] if base else [])]
    if out is not None:
        check_output_dir(out, force=force, inputs=inputs)
    started = time.perf_counter()
    distributed: dict[str, Any] | None = None
    if ray is not None:
        from tokkit import distributed as cluster

        native, distributed = cluster.count_and_train(
            trainer.to_json(),
            plan.files or [],
            plan.table,
            address=ray,
            text_field=text_field,
            strict=strict,
            shard_mb=shard_mb,
            num_threads=num_threads,
            progress=progress,
        )
        report = json.loads(native.report_json())
        report["count_seconds"] = distributed["count_seconds"]
        report["distributed"] = distributed
    else:
        run = (
            _tokkit.train
            if base is None
            else functools.partial(_tokkit.extend, base_json=base.text)
        )
        native = run(
            trainer.to_json(),
            files=plan.files,
            texts=plan.texts,
            text_field=text_field,
            strict_utf8=strict,
            num_threads=num_threads,
            progress=progress,
        )
        report = plan.record(json.loads(native.report_json()))
    trained = TrainedTokenizer(
        trainer=trainer,
        corpus_options={"text_field": text_field, "strict": strict},
        report=report,
        wall_seconds=time.perf_counter() - started,
        _native=native,
        base=base,
    )
    warn_if_short(trained, "tokens", stacklevel=3)
    if out is not None:
        trained.save(out, force=force, conventions=conventions)
    return trained
