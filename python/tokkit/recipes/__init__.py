"""Trainer presets shipped with tokkit: ``tokkit train --recipe NAME`` (or a path to any TOML
recipe or ``tokkit.json``). Each ``NAME.toml`` holds ``algorithm``, the trainer's parameters and a
``description``."""

from __future__ import annotations

from importlib import resources


def names() -> list[str]:
    """The shipped recipes' names."""
    return sorted(
        f.name.removesuffix(".toml")
        for f in resources.files(__name__).iterdir()
        if f.name.endswith(".toml")
    )


def text(name: str) -> bytes | None:
    """The TOML of the shipped recipe ``name`` (with or without ``.toml``), or None."""
    file = resources.files(__name__) / f"{name.removesuffix('.toml')}.toml"
    return file.read_bytes() if file.is_file() else None
