"""Reading a corpus as documents: the files, directories and globs that ``tokkit train`` takes
(``.gz`` decompressed, ``.jsonl``/``.ndjson`` read as JSON lines), cut into the same documents
that training counts, so that a corpus argument means the same thing everywhere.

A plain-text document is one line with its line ending; a JSON-lines document is the text field
of one record (blank lines skipped). Lines that are not valid UTF-8 are skipped and counted, or
are an error with ``strict``. The reading itself is the Rust core's, run without the GIL.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from tokkit import _tokkit
from tokkit.exceptions import ConfigError

#: What a corpus argument may be: one path, directory or glob, or several.
CorpusArg: TypeAlias = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


@dataclass(frozen=True)
class Documents:
    """A corpus read into memory.

    Attributes:
        texts: Every document, in input order.
        skipped: Lines skipped because they were not valid UTF-8.
        bytes: UTF-8 bytes of ``texts`` in all (training reports the same as ``corpus_bytes``).
        sha256: Hex sha256 of the bytes read (decompressed), in order; for a corpus read whole,
            the ``corpus_sha256`` training reports (and ``tokkit.json`` records).
    """

    texts: list[str]
    skipped: int
    bytes: int
    sha256: str


def as_files(corpus: CorpusArg) -> list[str]:
    """The corpus argument as a list of path strings (one path, or each of several)."""
    if isinstance(corpus, str | os.PathLike):
        return [os.fspath(corpus)]
    return [os.fspath(c) for c in corpus]


def read_documents(
    corpus: CorpusArg,
    *,
    text_field: str | None = None,
    strict: bool = False,
    max_bytes: int | None = None,
) -> Documents:
    """Read every document of ``corpus`` into memory, as :func:`tokkit.train` reads it.

    >>> docs = read_documents("corpora/en-prose.txt")  # doctest: +SKIP
    >>> docs.texts[0]  # doctest: +SKIP
    'The first line.\\n'

    Args:
        corpus: Files, directories (walked recursively, sorted, hidden entries left out) or
            globs, in order.
        text_field: JSON-lines field holding the text (default ``text``).
        strict: Fail on invalid UTF-8 instead of skipping (and counting) such lines.
        max_bytes: A bound on memory: reading stops after the document that takes ``bytes``
            past it. ``result.bytes > max_bytes`` then says the corpus was larger; its
            ``texts`` are only the first documents and its ``sha256`` covers only what was
            read.

    Returns:
        The documents, the count of skipped lines, their size and the corpus hash.

    Raises:
        CorpusNotFoundError: A path does not exist or a glob matches nothing.
        CorpusError: No corpus given, a JSON line that is not an object or lacks the field,
            invalid UTF-8 with ``strict``, or a file that cannot be read.
        ConfigError: ``max_bytes`` is not a non-negative integer.
        KeyboardInterrupt: Ctrl-C; reading stops within a block.
    """
    if max_bytes is not None and (
        not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 0
    ):
        raise ConfigError(f"max_bytes must be a non-negative integer, got {max_bytes!r}")
    texts, skipped, size, sha256 = _tokkit.read_documents(
        as_files(corpus), text_field=text_field, strict=strict, max_bytes=max_bytes
    )
    return Documents(texts=texts, skipped=skipped, bytes=size, sha256=sha256)
