"""Sections that several kinds of model card share: evaluation, how to use, masked ids,
provenance; and the defensive readers of tokkit.json values they use."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tokkit.hub.directory import UploadDir
from tokkit.hub.front_matter import Score
from tokkit.models.compat import OLDEST_TRANSFORMERS

#: How many masked ids the card lists inline before pointing at tokkit.json.
_MAX_INLINE_IDS = 20


def as_object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else {} (tokkit.json fields are read defensively)."""
    return value if isinstance(value, dict) else {}


def name_of(value: Any) -> str | None:
    """A Hub model name from a tokkit.json entry (``{"name": ...}``) or None."""
    if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"]:
        return str(value["name"])
    return None


def format_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def format_number(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else str(n)


def _number(value: Any) -> float | None:
    """``value`` as a float if it is a JSON number (not a bool), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _bits_per_byte(meta: Mapping[str, Any]) -> list[tuple[str, float, float]]:
    """(text, base, transplanted) for each usable bits-per-byte record of tokkit.json."""
    metrics = meta.get("metrics")
    bpb = metrics.get("bits_per_byte") if isinstance(metrics, dict) else None
    if not isinstance(bpb, dict):
        return []
    rows = []
    for text, scores in bpb.items():
        if not isinstance(scores, dict):
            continue
        base, new = _number(scores.get("base")), _number(scores.get("transplanted"))
        if base is not None and new is not None:
            rows.append((str(text), base, new))
    return rows


def metric_scores(meta: Mapping[str, Any]) -> list[Score]:
    """The recorded bits per byte of the transplanted model, as ``model-index`` scores."""
    return [(text, "bits_per_byte", "bits per byte", new) for text, _, new in _bits_per_byte(meta)]


def metrics_table(meta: Mapping[str, Any]) -> list[str]:
    """The bits-per-byte table, or [] when tokkit.json has no usable metrics."""
    rows = []
    for text, base, new in _bits_per_byte(meta):
        change = f"{100 * (new / base - 1):+.1f}%" if base else "n/a"
        rows.append(f"| {text} | {base:.4f} | {new:.4f} | {change} |")
    if not rows:
        return []
    return [
        "## Evaluation",
        "",
        "Bits per byte (lower is better) on the same texts for the base model and this one. The",
        "loss is divided by the UTF-8 bytes of the text, not by the number of tokens, so the",
        "number does not depend on the tokenizer and the two models compare fairly.",
        "",
        "| text | base | transplanted | change |",
        "|---|---:|---:|---:|",
        *rows,
        "",
    ]


def load_snippet(d: UploadDir, ref: str, loader: str) -> list[str]:
    """The 'how to use' section; ``loader`` is ``causal``, ``model`` (an encoder) or
    ``tokenizer``."""
    repo = json.dumps(ref)
    masked = d.meta.get("masked_ids") if d.kind == "transplant" else None
    lines = ["## How to use", "", "```python"]
    if loader == "causal":
        generate = "outputs = model.generate(**inputs, max_new_tokens=20"
        generate += ", suppress_tokens=MASKED_IDS)  # see below" if masked else ")"
        lines += [
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            "",
            f"tokenizer = AutoTokenizer.from_pretrained({repo})",
            f"model = AutoModelForCausalLM.from_pretrained({repo})",
            "",
            'inputs = tokenizer("The capital of France is", return_tensors="pt")',
            generate,
            "print(tokenizer.decode(outputs[0], skip_special_tokens=True))",
        ]
    elif loader == "model":
        lines += [
            "from transformers import AutoModel, AutoTokenizer",
            "",
            f"tokenizer = AutoTokenizer.from_pretrained({repo})",
            f"model = AutoModel.from_pretrained({repo})",
            'hidden = model(**tokenizer("Hello world", return_tensors="pt")).last_hidden_state',
        ]
    else:
        lines += [
            "from transformers import AutoTokenizer",
            "",
            f"tokenizer = AutoTokenizer.from_pretrained({repo})",
            'print(tokenizer("Hello world")["input_ids"])',
        ]
    lines += ["```", ""]
    if loader != "tokenizer" and "auto_map" not in d.config:
        # auto_map points at custom modeling code, which needs trust_remote_code.
        model_type = d.config.get("model_type")
        what = f"a standard `{model_type}` checkpoint" if model_type else "a standard checkpoint"
        if any(name.endswith(".safetensors") for name, _ in d.files):
            what += " in safetensors"
        text = f"It is {what}: `transformers` loads it without `trust_remote_code`."
        if d.kind in ("transplant", "model"):
            # tokkit writes these with transformers 5 plus the keys 4.x reads (models.compat).
            text += (
                f" It loads the same in transformers {OLDEST_TRANSFORMERS} as in 5.x (same "
                "tokens and logits; tokkit tests both)."
            )
        lines += [text, ""]
    return lines


def masked_section(d: UploadDir, ref: str) -> list[str]:
    masked = d.meta.get("masked_ids")
    if d.kind != "transplant" or not isinstance(masked, list) or not masked:
        return []
    shown = ", ".join(str(i) for i in masked[:_MAX_INLINE_IDS])
    if len(masked) > _MAX_INLINE_IDS:
        shown += f", ... ({len(masked):,} in all)"
    return [
        "## Masked token ids",
        "",
        f"{len(masked):,} ids have no token or no trained row ({shown}). Their rows are zero,",
        "and a zero output row gives the logit 0, not minus infinity, so these ids can still be",
        "sampled: pass them as `suppress_tokens` when you generate, and mask their logits when",
        "you score text. The full list is `masked_ids` in `tokkit.json`:",
        "",
        "```python",
        "import json",
        "from huggingface_hub import hf_hub_download",
        "",
        f'MASKED_IDS = json.load(open(hf_hub_download({json.dumps(ref)}, "tokkit.json")))'
        '["masked_ids"]',
        "```",
        "",
    ]


def provenance_section(d: UploadDir, what: str) -> list[str]:
    from tokkit import __version__

    made = d.meta.get("tokkit_version")
    lines = ["## Provenance", ""]
    if made:
        lines.append(f"- Made with tokkit {made} ({what}).")
    lines.append(f"- Uploaded with `tokkit push` (tokkit {__version__}).")
    command = d.meta.get("command")
    if isinstance(command, list) and all(isinstance(c, str) for c in command):
        command = " ".join(command)
    if isinstance(command, str) and command:
        lines += ["- Command:", "", "  ```console", f"  $ {command}", "  ```"]
    tokenizer = d.meta.get("tokenizer")
    if isinstance(tokenizer, dict) and isinstance(tokenizer.get("sha256"), str):
        lines.append(f"- Tokenizer sha256: `{tokenizer['sha256']}`.")
    if d.meta:
        lines.append(
            "- `tokkit.json` in this repo has the full provenance record (every parameter and "
            "input checksum)."
        )
    return [*lines, ""]
