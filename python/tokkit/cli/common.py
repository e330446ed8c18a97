"""Options several commands share, defined once."""

from __future__ import annotations

import argparse

from tokkit._progress import PROGRESS_MODES


def add_progress(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--progress bar|jsonl|log|none``."""
    p.add_argument(
        "--progress",
        choices=PROGRESS_MODES,
        help="progress on stderr: a bar, JSON lines, a log line every 10 s, or none (default: "
        "a bar on a terminal or in a notebook, log lines otherwise)",
    )


#: The arguments that may hold a model or tokenizer, and so a Hub id, in any command.
_MODEL_ARGS = ("model", "tokenizer", "donor", "encoder", "tokenizers")


def add_revision(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--revision REV`` for the Hub ids (``org/name``) a command is given."""
    p.add_argument(
        "--revision",
        metavar="REV",
        help="branch, tag or commit of every Hugging Face Hub id (org/name) given here without "
        "its own @REV (default: main)",
    )


def apply_revision(args: argparse.Namespace) -> None:
    """Add ``--revision`` to every Hub id among the model and tokenizer arguments that has no
    ``@REV`` of its own; ``NAME=org/name`` values keep their name."""
    from tokkit.hub.snapshot import with_revision

    revision = getattr(args, "revision", None)
    if not revision:
        return

    def one(value: str) -> str:
        name, sep, ref = value.rpartition("=")
        return name + sep + with_revision(ref, revision)

    for attr in _MODEL_ARGS:
        value = getattr(args, attr, None)
        if isinstance(value, str):
            setattr(args, attr, one(value))
        elif isinstance(value, list):
            setattr(args, attr, [one(v) if isinstance(v, str) else v for v in value])
