"""The base of an extension (``tokkit train --extend BASE``, ``BPE(extend=BASE)``): its
``tokenizer.json`` found from what the user named, and the Hugging Face files that go with it.

The merge loop itself is the core's (``rust/tokkit-core/src/train/extend.rs``); this module
only finds and reads files. An extension keeps the base's ``tokenizer_config.json``,
``special_tokens_map.json`` and chat template, so ``transformers`` sees the same special-token
roles and template; files that describe the vocabulary another way (``vocab.json`` +
``merges.txt``, ``tokenizer.model``) are not carried over, since they would disagree with the
extended ``tokenizer.json``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from tokkit.exceptions import ConfigError, SerializationError, TokenizerNotFoundError

#: The base's files that an extension carries over unchanged.
SIDE_FILES = ("tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")

#: The largest base ``tokenizer.json`` read (Gemma-3's is 33 MB).
MAX_BASE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Base:
    """A base tokenizer, read.

    Attributes:
        spec: What the user named (a path, or a prepared model name).
        path: Its ``tokenizer.json``.
        text: The text of that file.
        side_files: The files of :data:`SIDE_FILES` beside it, name → bytes.
    """

    spec: str
    path: Path
    text: str = field(repr=False)
    side_files: dict[str, bytes] = field(repr=False)

    @property
    def sha256(self) -> str:
        """sha256 (hex) of the base ``tokenizer.json``."""
        return hashlib.sha256(self.text.encode()).hexdigest()


def read_base(spec: str | os.PathLike[str]) -> Base:
    """The base named by ``spec``: a tokenizer directory or ``tokenizer.json``, a model
    directory, or a prepared model name (``tokkit models``).

    Raises:
        TokenizerNotFoundError: Nothing there, or no ``tokenizer.json`` in it.
        ConfigError: The file is too large to be a tokenizer or not UTF-8, or a directory's
            ``tokenizer.json`` is a link out of it.
        SerializationError: ``vocab.json``/``merges.txt`` beside it disagree with it.
    """
    from tokkit.models import tokenizer_path

    where = tokenizer_path(spec)
    path = where if where.is_file() else where / "tokenizer.json"
    if not path.is_file():
        raise TokenizerNotFoundError(
            f"{where}: no tokenizer.json there; a base to extend is a tokenizer directory or "
            "tokenizer.json, a model directory that ships one, or a prepared model name",
            hint="convert other formats with tokkit.load(...) and save them as tokenizer.json",
        )
    if where.is_dir() and not path.resolve().is_relative_to(where.resolve()):
        raise ConfigError(
            f"{path} is a link out of {where}; tokkit reads a base directory's own files only",
            hint="give the file the link points to",
        )
    size = path.stat().st_size
    if size > MAX_BASE_BYTES:
        raise ConfigError(f"{path} is {size} bytes: too large for a tokenizer.json")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path} is not UTF-8 text: {e}") from None
    _check_slow_files(path, text)
    side = {}
    for name in SIDE_FILES:
        f = path.parent / name
        # A side file must be a real file in the base's directory: no link out of it.
        if f.is_file() and not f.is_symlink() and f.stat().st_size <= MAX_BASE_BYTES:
            side[name] = f.read_bytes()
    return Base(spec=str(spec), path=path, text=text, side_files=side)


def _check_slow_files(path: Path, text: str) -> None:
    """A base directory may also hold the vocabulary as ``vocab.json`` + ``merges.txt`` (GPT-2's
    files, which slow tokenizers read): they must say what ``tokenizer.json`` says, or the
    extension would be of one tokenizer while ``transformers`` might load the other.

    Raises:
        SerializationError: The two disagree.
    """
    import json

    vocab_file, merges_file = path.parent / "vocab.json", path.parent / "merges.txt"
    if not vocab_file.is_file() or vocab_file.stat().st_size > MAX_BASE_BYTES:
        return
    model = json.loads(text).get("model", {})
    try:
        vocab = json.loads(vocab_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise SerializationError(f"{vocab_file} is not valid JSON: {e}") from None
    problem = None
    if vocab != model.get("vocab"):
        problem = "vocab.json and tokenizer.json give different vocabularies"
    elif merges_file.is_file() and merges_file.stat().st_size <= MAX_BASE_BYTES:
        lines = merges_file.read_text(encoding="utf-8").splitlines()
        listed = [m for m in lines if m and not m.startswith("#version")]
        ours = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
        if listed != ours:
            problem = "merges.txt and tokenizer.json give different merges"
    if problem:
        raise SerializationError(
            f"{path.parent}: the base tokenizer's files disagree: {problem}",
            hint="remove the stale files or export the tokenizer again with save_pretrained",
        )
