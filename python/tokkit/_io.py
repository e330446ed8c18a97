"""Atomic output: a directory is written next to its destination under a temporary name, then
renamed into place, so readers never see half of it and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tokkit.exceptions import OutputError, OutputExistsError, SerializationError


def check_output_dir(
    out: str | os.PathLike[str],
    *,
    force: bool,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Fail early (before any long work) if ``out`` cannot be written.

    ``inputs`` are what the run reads (files, directories, globs): replacing ``out`` must never
    delete one of them, a directory holding one, or the current directory. What a killed run
    left beside ``out`` is repaired first (:func:`recover`).

    Raises:
        OutputExistsError: ``out`` exists and ``force`` is false.
        OutputError: ``out`` is a file or a symbolic link, its parent cannot be created or
            written, or replacing it would delete an input or the current directory.
    """
    path = Path(out)
    recover(path)
    if path.is_symlink():
        raise OutputError(
            f"{path} is a symbolic link; tokkit writes a real directory in its place only when "
            "it is one",
            hint="give the directory the link points to, or another {out}",
        )
    if path.exists() and not path.is_dir():
        # Said first: --force would not help (tokkit replaces directories, never files).
        raise OutputError(f"{path} is a file, not a directory", hint="choose another {out}")
    if path.exists() and not force:
        raise OutputExistsError(f"{path} already exists", hint="pass {force=True} to replace it")
    if path.exists():
        _refuse_deleting_inputs(path, inputs)
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


def _refuse_deleting_inputs(path: Path, inputs: Iterable[str | os.PathLike[str]]) -> None:
    target = path.resolve()
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise OutputError(
            f"{path} is the current directory or holds it; replacing it would delete it",
            hint="choose another {out}",
        )
    for item in inputs:
        source = _fixed_part(Path(item))
        if not source.exists():
            continue
        resolved = source.resolve()
        if resolved == target or target in resolved.parents:
            raise OutputError(
                f"{path} holds the input {os.fspath(item)}; replacing it would delete it",
                hint="choose another {out}",
            )


def _fixed_part(path: Path) -> Path:
    """A glob's leading directories before the first wildcard (the path itself otherwise)."""
    parts = path.parts
    for i, part in enumerate(parts):
        if any(c in part for c in "*?["):
            return Path(*parts[:i]) if i else Path()
    return path


def _publish_modes(root: Path) -> None:
    """Give what was written the modes the user's umask asks for: temporary files and
    directories are created private (0600/0700), a finished output is not."""
    umask = os.umask(0)
    os.umask(umask)
    root.chmod(0o777 & ~umask)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            Path(dirpath, name).chmod(0o777 & ~umask)
        for name in filenames:
            Path(dirpath, name).chmod(0o666 & ~umask)


@contextlib.contextmanager
def atomic_dir(
    out: str | os.PathLike[str],
    *,
    force: bool,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``out``; when the block ends normally it
    replaces ``out``. On any exception (Ctrl-C included) it is removed and ``out`` is untouched.

    An existing ``out`` is replaced only with ``force`` (and never when that would delete one of
    ``inputs``, see :func:`check_output_dir`); it is kept until the new one is complete.
    """
    path = check_output_dir(out, force=force, inputs=inputs)
    parent = path.absolute().parent
    pid = os.getpid()
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-{pid}-", dir=parent))
    old: Path | None = None
    try:
        yield tmp
        _publish_modes(tmp)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-{pid}-", dir=parent))
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


def recover(out: Path) -> None:
    """Undo what a killed run (SIGKILL, power loss) left beside ``out``: its half-written
    temporary directory is removed, and an old copy it had moved aside but not yet replaced is
    put back as ``out``. Only entries of processes that no longer run are touched."""
    parent = out.absolute().parent
    if not parent.is_dir():
        return
    prefix = f".{out.name}."
    for entry in sorted(parent.glob(f"{glob.escape(prefix)}*-*")):
        kind, _, rest = entry.name.removeprefix(prefix).partition("-")
        owner = rest.partition("-")[0]
        if kind not in ("tmp", "old") or not owner.isdigit():
            continue
        if _alive(int(owner)):
            continue
        if kind == "old" and not out.exists() and not out.is_symlink():
            entry.rename(out)
        else:
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_dir_atomically(
    out: str | os.PathLike[str],
    files: Mapping[str, str | bytes],
    *,
    force: bool,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write ``files`` (name → content) as the directory ``out``, all or nothing."""
    with atomic_dir(out, force=force, inputs=inputs) as tmp:
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


def read_text_bounded(path: Path, limit: int, what: str) -> str:
    """The UTF-8 text of ``path``, its size checked before it is read (and again after, in case
    it grew meanwhile).

    Args:
        limit: The most bytes ``what`` (a noun phrase: "a hybrid.json") may have.

    Raises:
        SerializationError: Larger than ``limit``, unreadable, or not UTF-8.
    """
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise SerializationError(
                    f"{path} has {size} bytes, more than the {limit >> 20} MiB {what} may have",
                    hint="check that it is the file you meant",
                )
            raw = f.read(limit + 1)
    except OSError as e:
        raise SerializationError(f"cannot read {path}: {e.strerror or e}") from None
    if len(raw) > limit:
        raise SerializationError(f"{path} has more than {limit >> 20} MiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SerializationError(f"{path} is not UTF-8 text ({e})") from None
