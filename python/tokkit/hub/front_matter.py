"""The metadata of a model card, through huggingface_hub's own ``ModelCardData`` and
``ModelCard``: writing the YAML front matter (with a ``model-index`` for recorded metrics, which
the Hub shows as evaluation results) and reading an existing README's."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tokkit.hub.errors import require_hub

#: One recorded score for the card's ``model-index``: (text name, metric id, metric name, value).
Score = tuple[str, str, str, float]


def render_front_matter(
    fields: Mapping[str, str | Sequence[str] | None],
    *,
    model_name: str | None = None,
    scores: Sequence[Score] = (),
) -> str:
    """YAML front matter (``---`` lines included) for ``fields``, the ``ModelCardData``
    arguments (None values are left out), and ``scores`` as ``model-index`` entries of the
    text-generation task named ``model_name``."""
    hub = require_hub("model cards")
    kwargs = {k: v for k, v in fields.items() if v is not None}
    if scores:
        kwargs["model_name"] = model_name or "model"
        kwargs["eval_results"] = [
            hub.EvalResult(
                task_type="text-generation",
                dataset_type="text",
                dataset_name=text,
                metric_type=metric,
                metric_name=metric_name,
                metric_value=value,
            )
            for text, metric, metric_name, value in scores
        ]
    return f"---\n{hub.ModelCardData(**kwargs).to_yaml()}\n---\n"


def read_front_matter(text: str) -> dict[str, Any]:
    """The metadata of a README (``{}`` when it has none, or it is not valid card metadata)."""
    if not re.match(r"\A---[ \t]*\r?\n", text):
        return {}  # huggingface_hub would log that the block is missing
    hub = require_hub("model cards")
    import yaml  # type: ignore[import-untyped]  # a dependency of huggingface_hub

    try:
        data = hub.ModelCard(text, ignore_metadata_errors=True).data.to_dict()
    except (ValueError, yaml.YAMLError):  # a malformed card: treat it as one without metadata
        return {}
    return data if isinstance(data, dict) else {}
