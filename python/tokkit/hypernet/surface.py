"""Surface forms: each new token's bytes decomposed by the base tokenizer's *model* (its merges,
no pre-tokenizer), at most ``surface_maxlen`` base ids (``docs/design/hypernet.md`` §1).

A byte the base vocabulary cannot spell gets the id ``rows + byte``, a row of the hypernetwork's
learned fallback table. Decompositions are cached by bytes: sampled tokenizers share most of
their pieces from one step to the next.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from tokkit.exceptions import HypernetError
from tokkit.hypernet.model import FALLBACK_BYTES, PAD

__all__ = ["Decomposer"]


class Decomposer:
    """Base-model decompositions of byte strings.

    Args:
        tokenizer_json: The base model's ``tokenizer.json``.
        rows: The base model's embedding rows (fallback ids start there).
        maxlen: Ids kept per string (longer decompositions are cut).
    """

    def __init__(self, tokenizer_json: str | os.PathLike[str], rows: int, maxlen: int) -> None:
        from tokkit._tokkit import BpeTokenizer

        self.tokenizer = BpeTokenizer.from_file(Path(tokenizer_json))
        self.rows, self.maxlen = rows, maxlen
        size = min(self.tokenizer.vocab_size, rows)
        self._bytes = [self.tokenizer.token_bytes(i) for i in range(size)]
        singles = {b: i for i, b in enumerate(self._bytes) if len(b) == 1}
        #: The base id of each byte alone, or its fallback id.
        self.byte_ids = [singles.get(bytes([b]), rows + b) for b in range(FALLBACK_BYTES)]
        self._cache: dict[bytes, list[int]] = {}

    def ids(self, pieces: Sequence[bytes]) -> list[list[int]]:
        """The (uncut) decomposition of each piece; an empty piece has none."""
        todo = list(dict.fromkeys(p for p in pieces if p and p not in self._cache))
        if todo:
            for piece, ids in zip(todo, self.tokenizer.encode_pieces(todo), strict=True):
                self._cache[piece] = ids if self._spells(piece, ids) else self._by_byte(piece)
        return [self._cache[p] if p else [] for p in pieces]

    def _spells(self, piece: bytes, ids: list[int]) -> bool:
        return all(i < len(self._bytes) for i in ids) and b"".join(
            self._bytes[i] for i in ids
        ) == piece

    @functools.cached_property
    def _index(self) -> dict[bytes, int]:
        """Base ids by their bytes, for the rare pieces the merges do not spell."""
        return {b: i for i, b in enumerate(self._bytes) if b}

    def _by_byte(self, piece: bytes) -> list[int]:
        """Greedy longest match over the base vocabulary, fallback ids for bytes it lacks
        (partial UTF-8 on a SentencePiece-style base, or bytes it never had)."""
        longest = max((len(b) for b in self._index), default=1)
        out, pos = [], 0
        while pos < len(piece):
            for n in range(min(longest, len(piece) - pos), 1, -1):
                j = self._index.get(piece[pos : pos + n])
                if j is not None:
                    out.append(j)
                    pos += n
                    break
            else:
                out.append(self.byte_ids[piece[pos]])
                pos += 1
        return out

    def fallback_bytes(self, pieces: Iterable[bytes]) -> set[int]:
        """The bytes of ``pieces`` that need fallback rows."""
        return self.fallback_of(self.ids(list(pieces)))

    def fallback_of(self, decompositions: Iterable[list[int]]) -> set[int]:
        """The bytes that need fallback rows in already decomposed pieces."""
        return {i - self.rows for ids in decompositions for i in ids if i >= self.rows}

    def surface(self, pieces: Sequence[bytes], device: str = "cpu") -> torch.Tensor:
        """The surface-form matrix [len(pieces), L] (``PAD``-padded; L ≤ ``maxlen``, as long as
        the longest decomposition needs). Every piece must be non-empty."""
        return self.surface_of(self.ids(pieces), device)

    def surface_of(self, rows: Sequence[list[int]], device: str = "cpu") -> torch.Tensor:
        """:meth:`surface` of already decomposed pieces."""
        if any(not r for r in rows):
            raise HypernetError("an empty token has no surface form")
        width = min(self.maxlen, max((len(r) for r in rows), default=1))
        out = torch.full((len(rows), width), PAD, dtype=torch.long)
        for i, r in enumerate(rows):
            cut = r[:width]
            out[i, : len(cut)] = torch.tensor(cut, dtype=torch.long)
        return out.to(device)
