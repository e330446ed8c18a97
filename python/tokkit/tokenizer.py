"""Loading tokenizers: :func:`load` reads a tokenizer directory or ``tokenizer.json`` and returns
a :class:`Tokenizer` with ``encode``/``decode``. Byte-level BPE files (everything tokkit writes)
run on tokkit's Rust encoder; other HF files run on the ``tokenizers`` library if installed."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokkit import _tokkit
from tokkit.exceptions import SerializationError


class Tokenizer:
    """A loaded tokenizer: ``encode(str) -> list[int]`` and ``decode(list[int]) -> str``."""

    def __init__(self, backend: Any, *, path: Path, engine: str) -> None:
        self._backend = backend
        self.path = path
        self.engine = engine

    def __repr__(self) -> str:
        return (
            f"Tokenizer({str(self.path)!r}, vocab_size={self.vocab_size}, engine={self.engine!r})"
        )

    @property
    def vocab_size(self) -> int:
        """Number of ids."""
        if self.engine == "tokkit":
            return int(self._backend.vocab_size)
        return int(self._backend.get_vocab_size(with_added_tokens=True))

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without added BOS/EOS."""
        if self.engine == "tokkit":
            return list(self._backend.encode(text))
        return list(self._backend.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of many texts, encoded in parallel."""
        if self.engine == "tokkit":
            return [list(ids) for ids in self._backend.encode_batch(list(texts))]
        return [
            list(e.ids) for e in self._backend.encode_batch(list(texts), add_special_tokens=False)
        ]

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        """The text ``ids`` stand for."""
        if self.engine == "tokkit":
            return str(self._backend.decode(list(ids), skip_special_tokens))
        return str(self._backend.decode(list(ids), skip_special_tokens=skip_special_tokens))


def load(path: str | os.PathLike[str]) -> Tokenizer:
    """Load a tokenizer from a directory holding ``tokenizer.json`` or from the file itself.

    Raises:
        FileNotFoundError: Nothing at ``path``.
        SerializationError: The file is not a tokenizer this installation can run.
    """
    p = Path(path)
    file = p / "tokenizer.json" if p.is_dir() else p
    if not file.is_file():
        raise FileNotFoundError(f"no tokenizer.json at {p}; pass a tokenizer directory or file")
    try:
        return Tokenizer(_tokkit.BpeTokenizer.from_file(file), path=file, engine="tokkit")
    except SerializationError as native_error:
        try:
            import tokenizers
        except ImportError:
            raise native_error from None
        try:
            backend = tokenizers.Tokenizer.from_file(str(file))
        except Exception as e:
            raise SerializationError(f"{file} is not a loadable tokenizer.json: {e}") from e
        return Tokenizer(backend, path=file, engine="tokenizers")
