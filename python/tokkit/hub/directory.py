"""Reading the directory to push: its files, its tokkit.json and config.json, what kind it is,
and the refusal of pickled files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokkit.exceptions import ModelError, ModelNotFoundError

#: Pickle-based formats: loading one runs arbitrary code, so tokkit never uploads them.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


@dataclass
class UploadDir:
    """A directory to push, as far as the card needs to know it."""

    path: Path
    kind: str  # "transplant", "model", "tokenizer", "plain-model", "plain-tokenizer", "files"
    meta: dict[str, Any]  # tokkit.json ({} when absent or unreadable)
    config: dict[str, Any]  # config.json ({} when absent)
    files: list[tuple[str, Path]]  # (path in repo, local path), sorted
    warnings: list[str]


def _read_json(path: Path, warnings: list[str]) -> dict[str, Any]:
    """A JSON object from ``path``; {} with a warning when it is not one (a broken sidecar
    should not block a push, it only makes the card poorer)."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        warnings.append(f"cannot read {path.name} ({e}); the card leaves out what it would say")
        return {}
    if not isinstance(obj, dict):
        warnings.append(f"{path.name} is not a JSON object; the card leaves out what it would say")
        return {}
    return obj


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under ``root`` as (POSIX path relative to root, path).

    Hidden files and directories (``.git``, ``.cache``, editor files, tokkit's own atomic-write
    temporaries) are skipped, as ``huggingface_hub.upload_folder`` does. Symlinked directories
    are not followed (a link loop cannot make the walk endless). Symlinks to files are followed
    only to a target inside ``root``, or into the ``blobs/`` of the Hugging Face cache repo
    when ``root`` is one of its snapshots (which are made of such links).

    Raises:
        ModelError: A file links outside ``root``: uploading it could publish any file.
    """
    inside = [root.resolve()]
    if root.resolve().parent.name == "snapshots":
        inside.append(root.resolve().parent.parent / "blobs")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or not path.is_file():
                continue
            target = path.resolve()
            if path.is_symlink() and not any(target.is_relative_to(d) for d in inside):
                raise ModelError(
                    f"{path} links to {target}, outside {root}; tokkit uploads only what the "
                    "directory holds",
                    hint="copy the file into the directory, or remove the link",
                )
            yield path.relative_to(root).as_posix(), path


def describe_dir(path: str | os.PathLike[str]) -> UploadDir:
    """Read ``path`` and classify it.

    Raises:
        ModelNotFoundError: ``path`` does not exist or is not a directory.
        ModelError: It has no file to upload.
    """
    root = Path(path)
    if not root.exists():
        raise ModelNotFoundError(f"no directory at {root}; pass the model or tokenizer directory")
    if not root.is_dir():
        raise ModelNotFoundError(
            f"{root} is a file, not a directory; pass the directory that holds it"
        )
    files = sorted(_walk(root))
    if not files:
        raise ModelError(f"{root} has no files to upload (hidden files are skipped)")
    warnings: list[str] = []
    names = {name for name, _ in files}
    meta = _read_json(root / "tokkit.json", warnings) if "tokkit.json" in names else {}
    config = _read_json(root / "config.json", warnings) if "config.json" in names else {}
    if meta.get("kind") == "transplant":
        kind = "transplant"
    elif meta.get("kind") == "model":
        kind = "model"
    elif "algorithm" in meta or "algo" in meta:
        kind = "tokenizer"
    elif config:
        kind = "plain-model"
    elif names & {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json"}:
        kind = "plain-tokenizer"
    else:
        kind = "files"
    return UploadDir(root, kind, meta, config, files, warnings)


def check_no_pickles(d: UploadDir) -> None:
    """Refuse pickled files: loading one runs arbitrary code, and the Hub flags such repos.

    Raises:
        ModelError: At least one file has a pickle suffix.
    """
    pickles = [name for name, _ in d.files if name.lower().endswith(PICKLE_SUFFIXES)]
    if pickles:
        shown = ", ".join(pickles[:5]) + (
            f" and {len(pickles) - 5} more" if len(pickles) > 5 else ""
        )
        raise ModelError(
            f"{d.path} holds pickle files ({shown}); tokkit uploads safetensors only: convert "
            "them (model.save_pretrained(dir, safe_serialization=True)) or move them out of "
            "the directory"
        )
