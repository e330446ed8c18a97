"""The files that describe a prepared model: README.md with Hub front matter, and tokkit.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokkit.models.cache import FORMAT_VERSION
from tokkit.models.registry import ModelSpec

GEMMA_NOTICE = (
    "Gemma is provided under and subject to the Gemma Terms of Use found at "
    "ai.google.dev/gemma/terms\n"
)

# safetensors dtype codes → torch names, for tokkit.json.
_ST_DTYPES = {"F32": "float32", "BF16": "bfloat16", "F16": "float16", "F64": "float64"}


def model_readme(spec: ModelSpec, info: dict[str, Any], license_files: Sequence[str]) -> str:
    tags = ["tokkit"]
    front = [
        "---",
        f"license: {spec.license}",
        f"base_model: {spec.base_model}",
        "library_name: transformers",
        f"pipeline_tag: {'text-generation' if spec.is_gguf else 'feature-extraction'}",
        "tags:",
        *(f"- {t}" for t in tags),
        "---",
        "",
    ]
    body = [f"# {spec.title}", ""]
    if spec.is_gguf:
        body += [
            f"[{spec.base_model}](https://huggingface.co/{spec.base_model}) as prepared offline by "
            f"`tokkit models prepare {spec.name}`: the quantized GGUF from "
            f"{', '.join(p.requirement for p in spec.packages)} dequantized and saved as bf16 "
            "safetensors. The weights are those of the quantized file, so they differ slightly "
            "from the original release.",
            "",
        ]
    else:
        body += [
            f"[{spec.base_model}](https://huggingface.co/{spec.base_model}), copied as is from "
            f"{spec.packages[0].requirement} by `tokkit models prepare {spec.name}`. The upstream "
            "model card is README.upstream.md.",
            "",
        ]
    body += [f"- Provenance: {spec.provenance}.", f"- Licence: `{spec.license}`"]
    if license_files:
        body[-1] += f" (see {', '.join(license_files)})"
    body[-1] += "."
    if spec.weak_provenance:
        body.append("- **Weak provenance**: use it for experiments only.")
    if "params" in info:
        body.append(f"- Parameters: {info['params']:,}; vocabulary: {info['vocab_size']:,}.")
    body.append("- `tokkit.json` records the packages and the sha256 of the source weights.")
    return "\n".join(front + body) + "\n"


def model_sidecar(
    spec: ModelSpec, info: dict[str, Any], license_files: Sequence[str], out: Path, seconds: float
) -> dict[str, Any]:
    from tokkit import __version__

    files = {
        p.relative_to(out).as_posix(): p.stat().st_size
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "tokkit.json"
    }
    return {
        "kind": "model",
        "name": spec.name,
        "title": spec.title,
        "base_model": spec.base_model,
        "task": spec.task,
        "source": {
            "packages": [p.requirement for p in spec.packages],
            "files": list(spec.files),
            "sha256": spec.sha256,
            "gguf_sha256": spec.sha256 if spec.is_gguf else None,
            "bytes": spec.size,
        },
        "license": spec.license,
        "license_file": license_files[0] if license_files else None,
        "provenance": spec.provenance,
        "weak_provenance": spec.weak_provenance,
        "dtype": _safetensors_dtype(out / "model.safetensors"),
        **info,
        "files": files,
        "prepare_seconds": round(seconds, 1),
        "format_version": FORMAT_VERSION,
        "tokkit_version": __version__,
    }


def _safetensors_dtype(p: Path) -> str:
    """The dtype most tensors of a safetensors file have (read from its JSON header)."""
    with open(p, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    counts: dict[str, int] = {}
    for key, value in header.items():
        if key != "__metadata__" and isinstance(value, dict):
            counts[value["dtype"]] = counts.get(value["dtype"], 0) + 1
    code = max(counts, key=lambda k: counts[k]) if counts else "?"
    return _ST_DTYPES.get(code, code.lower())
