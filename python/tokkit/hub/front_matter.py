"""The YAML front matter of a model card: writing it, and reading an existing README's."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: A YAML scalar that needs no quotes (and cannot be mistaken for a bool, number or null).
_PLAIN_YAML = re.compile(r"^[A-Za-z][A-Za-z0-9._/+-]*$")
_YAML_RESERVED = {"yes", "no", "true", "false", "on", "off", "null", "y", "n"}


def _yaml_scalar(value: str) -> str:
    # JSON strings are valid YAML double-quoted scalars, so anything unusual is quoted that way.
    if _PLAIN_YAML.match(value) and value.lower() not in _YAML_RESERVED:
        return value
    return json.dumps(value, ensure_ascii=False)


def render_front_matter(fields: Mapping[str, str | Sequence[str] | None]) -> str:
    """YAML front matter from ``fields`` in their order; None values are left out."""
    lines = ["---"]
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, str):
            lines.append(f"{key}: {_yaml_scalar(value)}")
        else:
            lines.append(f"{key}:")
            lines.extend(f"- {_yaml_scalar(v)}" for v in value)
    lines.append("---")
    return "\n".join(lines) + "\n"


def read_front_matter(text: str) -> dict[str, Any]:
    """The YAML front matter of a README (``{}`` when it has none or it is not a mapping)."""
    m = re.match(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*$", text, flags=re.DOTALL | re.MULTILINE)
    if not m:
        return {}
    block = m.group(1)
    try:
        # PyYAML comes with huggingface_hub and transformers; it is not a tokkit dependency.
        data = importlib.import_module("yaml").safe_load(block)
    except ImportError:
        data = {
            k: v.strip().strip("'\"")
            for k, v in re.findall(r"^(\w+):[ \t]*(\S.*)$", block, flags=re.MULTILINE)
        }
    except Exception:  # a malformed card: treat it as one without metadata
        return {}
    return data if isinstance(data, dict) else {}
