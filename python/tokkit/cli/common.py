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
