"""Atomic output: a directory is written next to its destination under a temporary name, then
renamed into place, so readers never see half of it and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tokkit.exceptions import OutputError, OutputExistsError


def check_output_dir(out: str | os.PathLike[str], *, force: bool) -> Path:
    """Fail early (before any long work) if ``out`` cannot be written.

    Raises:
        OutputExistsError: ``out`` exists and ``force`` is false.
        OutputError: ``out`` is a file, or its parent cannot be created or written.
    """
    path = Path(out)
    if path.exists() and not force:
        raise OutputExistsError(f"{path} already exists", hint="pass {force=True} to replace it")
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} is a file, not a directory", hint="choose another {out}")
    parent = path.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(
            f"cannot create {parent}: {e.strerror}", hint="choose another {out}"
        ) from e
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{parent} is not writable", hint="choose another {out}")
    return path


@contextlib.contextmanager
def atomic_dir(out: str | os.PathLike[str], *, force: bool) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``out``; when the block ends normally it
    replaces ``out``. On any exception (Ctrl-C included) it is removed and ``out`` is untouched.

    An existing ``out`` is replaced only with ``force``; it is kept until the new one is complete.
    """
    path = check_output_dir(out, force=force)
    parent = path.absolute().parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=parent))
    old: Path | None = None
    try:
        yield tmp
        tmp.chmod(0o755)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=parent))
            old.rmdir()
            path.rename(old)
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists() and not path.exists():
            old.rename(path)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_dir_atomically(
    out: str | os.PathLike[str], files: Mapping[str, str | bytes], *, force: bool
) -> Path:
    """Write ``files`` (name → content) as the directory ``out``, all or nothing."""
    with atomic_dir(out, force=force) as tmp:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
    return Path(out)


def dumps(obj: Any) -> str:
    """JSON as tokkit writes it: indented, UTF-8, trailing newline."""
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
