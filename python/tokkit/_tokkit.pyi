"""Type stubs of the native module ``tokkit._tokkit`` (checked by ``mypy.stubtest``)."""

from collections.abc import Iterable, Sequence
from os import PathLike
from typing import final

import numpy as np
import numpy.typing as npt

__all__ = [
    "PRETOKENIZER_PATTERNS",
    "BpeTokenizer",
    "ByteVocab",
    "TrainedBpe",
    "__version__",
    "train_bpe",
    "train_superbpe",
]

__version__: str
PRETOKENIZER_PATTERNS: dict[str, str]

@final
class TrainedBpe:
    def to_json(self) -> str: ...
    def report_json(self) -> str: ...
    def merges(self) -> list[tuple[str, str]]: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def special_tokens(self) -> list[str]: ...
    @property
    def pretokenizer(self) -> tuple[str, str | None]: ...

@final
class BpeTokenizer:
    @staticmethod
    def from_str(json: str) -> BpeTokenizer: ...
    @staticmethod
    def from_file(path: str | bytes | object) -> BpeTokenizer: ...
    def encode(self, text: str) -> list[int]: ...
    def encode_batch(self, texts: list[str]) -> list[list[int]]: ...
    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str: ...
    def decode_bytes(self, ids: list[int], skip_special_tokens: bool = False) -> bytes: ...
    def token_bytes(self, id: int) -> bytes: ...
    def piece_starts(self, text: str) -> list[int]: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def pretokenizer(self) -> str: ...

_Ids = Sequence[int] | npt.NDArray[np.integer]

@final
class ByteVocab:
    @staticmethod
    def from_file(path: str | PathLike[str]) -> ByteVocab: ...
    @staticmethod
    def from_str(json: str) -> ByteVocab: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def reference_mode(self) -> bool: ...
    def token_bytes(self, id: int) -> bytes: ...
    def first_bytes(self) -> npt.NDArray[np.int16]: ...
    def special_ids(self) -> npt.NDArray[np.uint32]: ...
    def encode(self, data: bytes) -> npt.NDArray[np.uint32]: ...
    def tokens_with_prefix(self, prefix: bytes) -> npt.NDArray[np.uint32]: ...
    def tokens_prefix_of(self, data: bytes) -> npt.NDArray[np.uint32]: ...
    def is_valid(self, ids: _Ids) -> bool: ...
    def valid_extensions(self, context: _Ids, candidates: _Ids) -> npt.NDArray[np.bool_]: ...
    def stable_boundary(self, data: bytes) -> int: ...
    def covers(self, data: bytes) -> list[tuple[npt.NDArray[np.uint32], int]]: ...

def train_bpe(
    files: list[str] | None = None,
    texts: Iterable[str] | None = None,
    *,
    vocab_size: int,
    pretokenizer: str = "gpt2",
    min_frequency: int = 0,
    special_tokens: list[str] = ...,
    max_token_length: int | None = None,
    max_token_chars: int | None = None,
    full_alphabet: bool = True,
    text_field: str | None = None,
    strict_utf8: bool = False,
    num_threads: int | None = None,
    progress: str = "none",
    pad_to: int | None = None,
    chunk_seed: int | None = None,
    chunk_distribution: str | None = None,
) -> TrainedBpe: ...
def train_superbpe(
    files: list[str],
    *,
    vocab_size: int,
    transition_merges: int,
    config: str = "paper",
    min_frequency: int = 0,
    special_tokens: list[str] = ...,
    full_alphabet: bool = True,
    max_words: int = 4,
    forbid_colon_space: bool = True,
    text_field: str | None = None,
    strict_utf8: bool = False,
    num_threads: int | None = None,
    progress: str = "none",
) -> TrainedBpe: ...
