"""The PNG plots say what they show: axes from 0 (a 7% gap looks like 7%), titles, values and
ratios on the bars, and captions only about what is drawn."""

from __future__ import annotations

import tokkit
from tokkit.cli.score import bar_figure
from tokkit.evaluate import Text, evaluate, figure

from ..conftest import CORPORA


def test_the_eval_plot_starts_at_zero_and_captions_only_what_is_drawn() -> None:
    data = (CORPORA / "en-tech.txt").read_bytes()[:20_000]
    text = Text.from_bytes(data, "en-tech.txt")
    points = [evaluate(tokkit.load(name), [text]) for name in ("gpt2", "o200k")]
    ax = figure(points).axes[0]
    assert ax.get_ylim()[0] == 0
    assert "lines" not in ax.get_xlabel()  # --curve-sizes none: no curve is drawn
    assert "Encoding efficiency on en-tech.txt" in ax.get_title()


def test_eval_lm_bars_carry_values_ratios_and_a_title() -> None:
    results = [
        {"model": "base", "text": "en", "bits_per_byte": 1.0, "tokens_per_byte": 0.3},
        {
            "model": "omp",
            "text": "en",
            "bits_per_byte": 1.07,
            "tokens_per_byte": 0.3,
            "ratio_to_baseline": 1.07,
        },
    ]
    results[0]["ratio_to_baseline"] = 1.0
    ax = bar_figure(results, ["en"], "base").axes[0]
    assert ax.get_ylim()[0] == 0
    assert "ratio to base" in ax.get_title()
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["1.000", "1.070\nx1.070"]
