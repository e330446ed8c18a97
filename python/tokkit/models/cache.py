"""The cache of prepared models: where it is, whether a preparation is complete, and its lock."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tokkit.exceptions import ConfigError
from tokkit.models.registry import ModelSpec

#: Bumped when the layout of a prepared directory changes: older ones are then rebuilt.
FORMAT_VERSION = 2

# Files a prepared causal LM must have; the encoder is a verbatim copy and has its own list.
_LM_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
_ENCODER_FILES = ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt")


def cache_root(cache: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: ``cache`` if given, else ``$TOKKIT_CACHE``, else ``~/.cache/tokkit``."""
    if cache is not None:
        return Path(cache).expanduser()
    env = os.environ.get("TOKKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tokkit"


def _read_meta(out: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((out / "tokkit.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def is_complete(out: Path, spec: ModelSpec) -> bool:
    """Whether ``out`` is a finished preparation of ``spec`` by this tokkit's recipe.

    Cheap on purpose (no hashing, no torch): it runs on every :func:`path` call. ``tokkit.json``
    is written last and the directory appears atomically, so its presence means the rest was
    written; the recorded sizes catch files truncated or replaced afterwards.
    """
    meta = _read_meta(out)
    if meta is None or meta.get("kind") != "model" or meta.get("name") != spec.name:
        return False
    if meta.get("format_version") != FORMAT_VERSION:
        return False
    source = meta.get("source")
    if not isinstance(source, dict) or source.get("sha256") != spec.sha256:
        return False
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for name, size in files.items():
        f = out / name
        if not f.is_file() or f.stat().st_size != size:
            return False
    return True


@contextlib.contextmanager
def model_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path``: two processes preparing the same model (two test
    sessions sharing a cache) then take turns, and the second finds the first one's result."""
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        f = open(lock_path, "a+b")  # noqa: SIM115 (closed by the with below)
    except OSError as e:
        raise ConfigError(
            f"cannot use the model cache {lock_path.parent.parent}: {e.strerror}",
            hint="point TOKKIT_CACHE at a writable directory",
        ) from e
    with f:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; concurrent preparations just race
            yield
            return
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
