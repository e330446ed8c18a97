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


def _int_at_least(low: int) -> Callable[[str], int]:
    def check(text: str) -> int:
        value = _whole(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, got {value}")
        return value

    return check


def float_between(
    low: float, high: float = math.inf, *, low_open: bool = False
) -> Callable[[str], float]:
    """A finite number in [low, high] (or (low, high] with ``low_open``)."""

    def check(text: str) -> float:
        value = _real(text)
        if value < low or value > high or (low_open and value == low):
            if high == math.inf:
                why = f"above {low:g}" if low_open else f"{low:g} or more"
                raise argparse.ArgumentTypeError(f"must be {why}, got {value:g}")
            left = "(" if low_open else "["
            raise argparse.ArgumentTypeError(f"must be in {left}{low:g}, {high:g}], got {value:g}")
        return value

    return check


#: A whole number of at least 1.
positive_int = _int_at_least(1)
#: A whole number of at least 0.
non_negative_int = _int_at_least(0)
#: Any finite number (no nan, no inf).
finite_float = _real
#: A finite number above 0.
positive_float = float_between(0, low_open=True)
#: A finite number of at least 0.
non_negative_float = float_between(0)
