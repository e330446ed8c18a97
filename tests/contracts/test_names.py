"""No module of the package reaches into another module's private names: what is shared is
public (inside a private module if need be). Private *modules* (``tokkit._formats``) may be
imported within the package; their underscore names may not."""

from __future__ import annotations

import ast
from pathlib import Path

import tokkit

PACKAGE = Path(tokkit.__file__).resolve().parent


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (
        (PACKAGE / rel).with_suffix(".py").exists()
        or (PACKAGE / rel / "__init__.py").exists()
        or (dotted == "tokkit._tokkit")
    )


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(module: str | None, level: int, here: Path) -> str:
    if level == 0:
        return module or ""
    parts = list(here.relative_to(PACKAGE.parent).with_suffix("").parts)
    base = parts[: len(parts) - level]
    return ".".join(base + ([module] if module else []))


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules: dict[str, str] = {}  # local name -> tokkit module it is bound to
        where = path.relative_to(PACKAGE.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _absolute(node.module, node.level, path)
                if not source.startswith("tokkit"):
                    continue
                for alias in node.names:
                    full = f"{source}.{alias.name}"
                    if _is_module(full):
                        modules[alias.asname or alias.name] = full
                    elif _private(alias.name):
                        found.append(f"{where}:{node.lineno} imports {full}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("tokkit") and alias.asname:
                        modules[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and _private(node.attr)
                and not _is_module(f"{modules[node.value.id]}.{node.attr}")
            ):
                found.append(f"{where}:{node.lineno} uses {modules[node.value.id]}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names() -> None:
    assert violations() == []


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    # The checker itself must be able to fail: run it over a copy with one planted violation.
    global PACKAGE
    saved = PACKAGE
    (tmp_path / "tokkit").mkdir()
    (tmp_path / "tokkit" / "__init__.py").write_text("")
    (tmp_path / "tokkit" / "a.py").write_text("_hidden = 1\n")
    (tmp_path / "tokkit" / "b.py").write_text(
        "from tokkit.a import _hidden\nfrom tokkit import a\nx = a._hidden\n"
    )
    PACKAGE = tmp_path / "tokkit"
    try:
        assert violations() == [
            "tokkit/b.py:1 imports tokkit.a._hidden",
            "tokkit/b.py:3 uses tokkit.a._hidden",
        ]
    finally:
        PACKAGE = saved
