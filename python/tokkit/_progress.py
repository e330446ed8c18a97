"""Progress for long Python-side work (model preparation, transplant batches, scoring).

Four modes, as for ``tokkit train``: ``bar`` (a one-line bar on stderr; a ``tqdm.auto`` bar in
a notebook), ``jsonl`` (one JSON object per update on stderr, for programs), ``log`` (a plain
line every 10 s, for logs of runs without a terminal) and ``none``. The Rust core reports
through its own sink; both write the same JSON-lines events, whose keys the core defines once
(``PROGRESS_FIELDS``: stage, current, total, unit, elapsed_s, finished), and the same log
lines.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Literal, TextIO

from tokkit._tokkit import PROGRESS_FIELDS

ProgressMode = Literal["bar", "jsonl", "log", "none"]
PROGRESS_MODES = ("bar", "jsonl", "log", "none")
#: Seconds between two ``log`` lines of one stage.
LOG_INTERVAL = 10.0


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (where stderr is no terminal but bars show)."""
    return "ipykernel" in sys.modules


def default_mode() -> ProgressMode:
    """A bar on a terminal or in a notebook, log lines when stderr is a file or a pipe, nothing
    when ``TOKKIT_NO_PROGRESS`` is set."""
    if os.environ.get("TOKKIT_NO_PROGRESS"):
        return "none"
    return "bar" if sys.stderr.isatty() or in_notebook() else "log"


class Progress:
    """Report ``done`` out of ``total`` units of one named stage.

    Use as a context manager; :meth:`advance` adds units. Bars redraw at most ten times a second;
    JSON lines are written at most once a second, plus the final one.
    """

    def __init__(
        self,
        stage: str,
        total: int,
        *,
        mode: ProgressMode = "none",
        unit: str = "",
        stream: TextIO | None = None,
    ) -> None:
        if mode not in PROGRESS_MODES:
            raise ValueError(f"progress mode must be one of {PROGRESS_MODES}, not {mode!r}")
        self.stage, self.total, self.mode, self.unit = stage, max(int(total), 0), mode, unit
        self.done = 0
        self._stream = stream or sys.stderr
        self._start = time.monotonic()
        self._last = 0.0
        self._tqdm: Any = None
        if mode == "bar" and stream is None and in_notebook():
            try:
                from tqdm.auto import tqdm  # type: ignore[import-untyped]
            except ImportError:
                pass
            else:
                self._tqdm = tqdm(total=self.total or None, desc=stage, unit=unit or "it")

    def __enter__(self) -> Progress:
        self._emit(force=True)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            if self._tqdm is not None:
                self._tqdm.update(self.total - self.done)
            self.done = self.total
            self._emit(force=True, final=True)
        if self._tqdm is not None:
            self._tqdm.close()
        elif self.mode == "bar":
            self._stream.write("\n")
            self._stream.flush()

    def advance(self, n: int = 1) -> None:
        """Add ``n`` finished units."""
        before = self.done
        self.done = min(self.done + n, self.total) if self.total else self.done + n
        if self._tqdm is not None:
            self._tqdm.update(self.done - before)
            return
        self._emit(force=False)

    def _emit(self, *, force: bool, final: bool = False) -> None:
        now = time.monotonic()
        elapsed = now - self._start
        if self.mode == "none" or self._tqdm is not None:
            return
        if self.mode == "log":
            if force or now - self._last >= LOG_INTERVAL:
                pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
                done = ", done" if final else ""
                self._stream.write(
                    f"{self.stage}: {self.done}/{self.total} {self.unit}{pct}, "
                    f"{elapsed:.1f} s{done}\n"
                )
                self._stream.flush()
                self._last = now
            return
        if self.mode == "jsonl":
            if force or now - self._last >= 1.0:
                values = (self.stage, self.done, self.total, self.unit, round(elapsed, 3), final)
                record = dict(zip(PROGRESS_FIELDS, values, strict=True))
                self._stream.write(json.dumps(record) + "\n")
                self._stream.flush()
                self._last = now
            return
        if force or now - self._last >= 0.1:
            frac = self.done / self.total if self.total else 0.0
            width = 30
            bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
            unit = f" {self.unit}" if self.unit else ""
            self._stream.write(
                f"\r{self.stage:<18} [{bar}] {self.done}/{self.total}{unit} {elapsed:6.1f}s"
            )
            self._stream.flush()
            self._last = now
