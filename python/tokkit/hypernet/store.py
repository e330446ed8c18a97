"""A hypernetwork directory: self-describing, JSON and safetensors only (never pickles).

    hypernet.json          format, version, the architecture, the base model it belongs to
                           (rows, width, tied or not, sha256 of its embedding matrices, its
                           context token), the fallback bytes it trained, the training options
    hypernet.safetensors   the learned weights and the fitted rescalers (not the base matrices)
    tokenizer.json         the base tokenizer, whose model decomposes new tokens
    metrics.jsonl, hypernet.png   the training curves

:func:`load` checks every file before it allocates anything from it, and refuses a base model
whose embeddings differ from the recorded ones (``docs/design/hypernet.md`` §4).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tokkit.exceptions import HypernetError
from tokkit.hypernet.config import Architecture
from tokkit.hypernet.model import HyperNetwork

__all__ = ["FORMAT", "HypernetFiles", "embedding_sha256", "read_dir", "write_files"]

FORMAT = "tokkit-hypernet"
VERSION = 1
CONFIG = "hypernet.json"
WEIGHTS = "hypernet.safetensors"
TOKENIZER = "tokenizer.json"
#: hypernet.json is small; anything larger is not one of ours.
MAX_CONFIG_BYTES = 1 << 20
#: The base tokenizer copy (Gemma-3's is 33 MB).
MAX_TOKENIZER_BYTES = 256 << 20
#: Room for the safetensors header beyond the weights themselves.
HEADER_SLACK = 1 << 20


def embedding_sha256(base_E: torch.Tensor, base_U: torch.Tensor | None) -> str:
    """sha256 of the base matrices as float32 (the same model gives the same hash whatever
    its stored dtype, since bf16 and float16 widen exactly)."""
    h = hashlib.sha256()
    for m in (base_E, base_U):
        if m is not None:
            t = m.detach().float().cpu().contiguous()
            h.update(str(tuple(t.shape)).encode())
            h.update(t.numpy().tobytes())
    return h.hexdigest()


@dataclass
class HypernetFiles:
    """What :func:`read_dir` found, before any weights are loaded."""

    path: Path
    arch: Architecture
    base: dict[str, Any]
    fallback_trained: set[int]
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def tokenizer_json(self) -> Path:
        return self.path / TOKENIZER

    def build(self, base_E: torch.Tensor, base_U: torch.Tensor | None) -> HyperNetwork:
        """The hypernetwork on ``base_E``/``base_U``, its weights loaded.

        Raises:
            HypernetError: The base matrices are not the ones it was trained on, or the weights
                do not fit the architecture (a corrupt or truncated file).
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        self.check_base(base_E, base_U)
        net = HyperNetwork(self.arch, base_E, base_U)
        weights = self.path / WEIGHTS
        expected = sum(t.numel() * 4 for t in net.state_dict().values())
        size = weights.stat().st_size
        if size > expected + HEADER_SLACK:
            raise HypernetError(
                f"{weights} holds {size} bytes, more than this architecture's {expected}",
                hint="the file is not this hypernetwork's; train it again",
            )
        try:
            state = load_file(str(weights))
            net.load_state_dict(state, strict=True)
        except (SafetensorError, RuntimeError, OSError) as e:
            raise HypernetError(
                f"{weights} does not load: {e}".split("\n")[0],
                hint="the file is corrupt or truncated; copy it again or train anew",
            ) from e
        net.eval()
        return net

    def check_base(self, base_E: torch.Tensor, base_U: torch.Tensor | None) -> None:
        """Refuse base matrices other than the recorded ones."""
        rows, width = base_E.shape
        untied = base_U is not None
        recorded = (self.base["rows"], self.base["width"], self.base["untied"])
        if (rows, width, untied) != recorded or embedding_sha256(
            base_E, base_U
        ) != self.base["embedding_sha256"]:
            raise HypernetError(
                f"the hypernetwork in {self.path} belongs to base model "
                f"{self.base.get('model', '?')} ({recorded[0]} rows x {recorded[1]}, "
                f"{'untied' if recorded[2] else 'tied'}); this model's embeddings differ "
                f"({rows} x {width}, {'untied' if untied else 'tied'})",
                hint="apply it to the model it was trained on, or train a hypernetwork for "
                "this one with `tokkit hypernet train`",
            )


def read_dir(path: str | os.PathLike[str]) -> HypernetFiles:
    """Read and check ``path``'s description (no weights yet).

    Raises:
        HypernetError: Not a hypernetwork directory, a file missing, too large or linking out
            of the directory, an unknown format version.
    """
    root = Path(path)
    if not root.is_dir():
        raise HypernetError(
            f"{root} is not a directory",
            hint="give {hypernet} the output directory of `tokkit hypernet train`",
        )
    limits = {CONFIG: MAX_CONFIG_BYTES, TOKENIZER: MAX_TOKENIZER_BYTES, WEIGHTS: None}
    for name, limit in limits.items():
        f = root / name
        if not f.is_file():
            raise HypernetError(
                f"{root} has no {name}; it is not a complete hypernetwork directory",
                hint="give {hypernet} the output directory of `tokkit hypernet train`",
            )
        if not f.resolve().is_relative_to(root.resolve()):
            raise HypernetError(f"{f} links out of {root}", hint="copy the file into it")
        if limit is not None and f.stat().st_size > limit:
            raise HypernetError(f"{f} is larger than {limit} bytes; it is not a hypernetwork's")
    try:
        meta = json.loads((root / CONFIG).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"format is {meta.get('format')!r}, not {FORMAT!r}")
        if meta.get("version") != VERSION:
            raise ValueError(f"version {meta.get('version')} is not {VERSION}")
        arch = Architecture(**meta["arch"])
        base = dict(meta["base"])
        for key in ("rows", "width", "untied", "embedding_sha256"):
            base[key]
        fallback = {int(b) for b in meta.get("fallback_trained", [])}
    except (ValueError, KeyError, TypeError) as e:
        raise HypernetError(
            f"{root / CONFIG} is not a tokkit hypernetwork description: {e}",
            hint="the directory is corrupt; copy it again or train anew",
        ) from e
    if arch.hidden is None or arch.heads is None:
        raise HypernetError(f"{root / CONFIG}: the architecture is incomplete")
    return HypernetFiles(root, arch, base, fallback, dict(meta.get("training", {})))


def write_files(
    tmp: Path,
    net: HyperNetwork,
    *,
    base: dict[str, Any],
    base_tokenizer: Path,
    fallback_trained: set[int],
    training: dict[str, Any],
) -> None:
    """Write the description, weights and base tokenizer into ``tmp`` (an atomic output's
    temporary directory)."""
    import shutil

    from safetensors.torch import save_file

    from tokkit._io import dumps

    arch = net.arch
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "arch": {
            "layers": arch.layers,
            "hidden": arch.hidden,
            "heads": arch.heads,
            "surface_maxlen": arch.surface_maxlen,
        },
        "base": base,
        "fallback_trained": sorted(fallback_trained),
        "training": training,
    }
    state = {k: v.detach().float().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(tmp / WEIGHTS))
    shutil.copyfile(base_tokenizer, tmp / TOKENIZER)
    (tmp / CONFIG).write_text(dumps(meta), encoding="utf-8")
