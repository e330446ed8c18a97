"""Checked number types for argparse: a bad value is a usage error naming the flag (exit 2),
never a traceback later or a silently strange run (``--max-bytes -5`` scored all but 5 bytes)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _real(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """A whole number of at least 0."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def finite_float(text: str) -> float:
    """Any finite number (no nan, no inf)."""
    return _real(text)


def float_between(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """A finite number in [low, high] (or (low, high] with ``low_open``)."""

    def check(text: str) -> float:
        value = _real(text)
        if value < low or value > high or (low_open and value == low):
            left = "(" if low_open else "["
            raise argparse.ArgumentTypeError(f"must be in {left}{low:g}, {high:g}], got {value:g}")
        return value

    return check


def positive_float(text: str) -> float:
    """A finite number above 0."""
    value = _real(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value:g}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number of at least 0."""
    value = _real(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value:g}")
    return value
