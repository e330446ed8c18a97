"""Numeric-tokenization diagnostic (design/transplant.md §9).

A model transplanted onto a tokenizer that groups digits differently (Llama-3's 1-3 digit groups
vs Qwen's single digits vs SuperBPE's right-aligned triples) sees digit sequences it never saw in
pretraining; arithmetic collapses even when every digit row is fine. We tokenize a few probes with
both tokenizers and compare the digit-group patterns.
"""

from __future__ import annotations

from collections.abc import Callable

PROBES = ("7", "12345", "3.14159", "2024-06-07", "1,000,000", "123456789")


def digit_groups(pieces: list[bytes]) -> list[int]:
    """Lengths of the digit runs inside each token, in order (``[3, 2]`` for ``123|45``)."""
    groups: list[int] = []
    for p in pieces:
        run = 0
        for ch in p:
            if 48 <= ch <= 57:
                run += 1
            elif run:
                groups.append(run)
                run = 0
        if run:
            groups.append(run)
    return groups


def compare(
    base: Callable[[str], list[bytes]], new: Callable[[str], list[bytes]]
) -> list[dict[str, object]]:
    """Probes whose digit grouping differs: ``[{probe, base, new}]`` with the group lengths."""
    diffs: list[dict[str, object]] = []
    for probe in PROBES:
        b, n = digit_groups(base(probe)), digit_groups(new(probe))
        if b != n:
            diffs.append({"probe": probe, "base": b, "new": n})
    return diffs


def warning(diffs: list[dict[str, object]]) -> str | None:
    """A one-paragraph warning with a hint, or ``None`` when the schemes agree."""
    if not diffs:
        return None
    shown = "; ".join(f"{d['probe']!r}: base {d['base']} vs new {d['new']}" for d in diffs[:3])
    return (
        "the new tokenizer groups digits differently from the model's own "
        f"({shown}); arithmetic usually suffers after such a transplant. Hint: train the new "
        "tokenizer with the base model's digit pre-tokenization, or heal with distillation."
    )
