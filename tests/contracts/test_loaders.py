"""Every transformers loader in the package refuses remote code: each ``from_pretrained`` /
``from_config`` call passes ``trust_remote_code=False`` explicitly (transformers would
otherwise ask on stdin, and a "y" runs the directory's Python)."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

import tokkit
from tokkit.exceptions import ModelError

from .._models import prepared

PACKAGE = Path(tokkit.__file__).resolve().parent
LOADERS = {"from_pretrained", "from_config"}


def loader_calls() -> list[tuple[str, bool]]:
    """(where, passes trust_remote_code=False) for every loader call in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LOADERS
            ):
                safe = any(
                    k.arg == "trust_remote_code"
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is False
                    for k in node.keywords
                )
                found.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", safe))
    return found


def test_every_loader_call_refuses_remote_code() -> None:
    calls = loader_calls()
    assert len(calls) >= 8  # the check sees the loaders (models, convert, transplant, aux)
    assert [where for where, safe in calls if not safe] == []


def test_an_encoder_that_asks_for_remote_code_is_refused(tmp_path: Path) -> None:
    """TokenAdapt's auxiliary encoder, given a directory whose config maps to custom code."""
    from tokkit.transplant.aux import AuxEmbedder

    minilm = prepared("minilm-l6")
    enc = tmp_path / "enc"
    enc.mkdir()
    for f in minilm.iterdir():
        if f.is_file() and f.name != "config.json":
            (enc / f.name).symlink_to(f)
    config = json.loads((minilm / "config.json").read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoModel": "evil.EvilModel", "AutoConfig": "evil.EvilConfig"}
    config["model_type"] = "evil"
    (enc / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (enc / "evil.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    with pytest.raises(ModelError, match="custom code"):
        AuxEmbedder(enc)
    assert not (tmp_path / "ran").exists()
    shutil.rmtree(enc)
