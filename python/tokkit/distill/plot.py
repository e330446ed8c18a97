"""The PNG of a distillation run: training loss and held-out bits per byte against steps."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokkit.exceptions import ConfigError

__all__ = ["plot_metrics"]


def plot_metrics(
    metrics: Sequence[dict[str, Any]],
    path: str | os.PathLike[str],
    *,
    others: dict[str, Sequence[dict[str, Any]]] | None = None,
) -> Path:
    """Two panels from ``metrics.jsonl`` rows: the loss of each step (and of each part), and
    the evaluations' bits per byte. ``others`` adds runs to compare, by label (a benchmark
    draws ALM and SFT-only together)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError("a plot needs matplotlib", hint="pip install 'tokkit[eval]'") from None
    runs = (
        {"this run": list(metrics)} if others is None else {k: list(v) for k, v in others.items()}
    )
    fig = Figure(figsize=(10, 4), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    loss_ax, bpb_ax = fig.subplots(1, 2)
    for i, (label, rows) in enumerate(runs.items()):
        color = f"C{i % 10}"
        train = [r for r in rows if "loss" in r and r.get("split") != "eval"]
        evals = [r for r in rows if "bits_per_byte" in r]
        if train:
            loss_ax.plot([r["step"] for r in train], [r["loss"] for r in train], color=color,
                         label=label, linewidth=1)
        if evals:
            bpb_ax.plot([r["step"] for r in evals], [r["bits_per_byte"] for r in evals],
                        color=color, marker="o", markersize=3, label=label)
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("training loss (weighted sum of the losses)")
    bpb_ax.set_xlabel("step")
    bpb_ax.set_ylabel("held-out bits per byte (lower is better)")
    for ax in (loss_ax, bpb_ax):
        ax.grid(True, alpha=0.3)
        if len(runs) > 1:
            ax.legend(fontsize=8)
    out = Path(path)
    fig.savefig(out, format="png")
    return out
