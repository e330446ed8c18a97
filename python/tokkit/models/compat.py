"""Model directories that load the same in transformers 4.57 as in transformers 5.

tokkit writes model directories with transformers 5 (``tokkit models prepare``, ``tokkit
transplant``), whose files transformers 4.x misreads in two ways:

- RoPE settings: 5.x writes only ``rope_parameters`` (``{"rope_theta": ..., "rope_type": ...}``,
  or one such dict per layer type); 4.x ignores that key and silently falls back to its
  default ``rope_theta`` (10,000 for Llama and Qwen2, where SmolLM2 needs 100,000 and Qwen2.5
  1,000,000), so the model loads without an error and computes something else.
  :func:`legacy_config` adds the keys 4.x reads (``rope_theta``, ``rope_scaling``, and Gemma-3's
  ``rope_local_base_freq``) with the same values; 5.x reads ``rope_parameters`` first and
  ignores them.
- ``tokenizer_class: "TokenizersBackend"``: a 5.x class that 4.x does not have, so
  ``AutoTokenizer`` fails. ``PreTrainedTokenizerFast`` exists in both and loads the same
  ``tokenizer.json`` the same way (:func:`legacy_tokenizer_config`).

:func:`make_loadable_in_4x` applies both to a directory. ``tests/compat`` loads prepared and
transplanted directories in both versions (a second, small environment: ``make test-compat``) and
compares configs, token ids and logits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokkit._io import dumps

#: The oldest transformers the written directories are tested with (the last 4.x).
OLDEST_TRANSFORMERS = "4.57"


def _scaling(params: dict[str, Any]) -> dict[str, Any] | None:
    """4.x ``rope_scaling`` for one ``rope_parameters`` dict (None for plain RoPE)."""
    if params.get("rope_type", "default") == "default":
        return None
    return {k: v for k, v in params.items() if k != "rope_theta"}


def legacy_config(config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``config`` (a ``config.json`` object) with the RoPE keys transformers 4.x reads added
    where they are missing, and what could not be expressed for 4.x (messages)."""
    params = config.get("rope_parameters")
    if not isinstance(params, dict):
        return config, []
    out, problems = dict(config), []
    per_type = "rope_type" not in params and all(isinstance(v, dict) for v in params.values())
    main = params.get("full_attention") if per_type else params
    if isinstance(main, dict) and "rope_theta" in main:
        out.setdefault("rope_theta", main["rope_theta"])
        scaling = _scaling(main)
        if scaling is not None:
            out.setdefault("rope_scaling", scaling)
    local = params.get("sliding_attention") if per_type else None
    if isinstance(local, dict) and "rope_theta" in local:
        if str(config.get("model_type", "")).startswith("gemma3"):
            out.setdefault("rope_local_base_freq", local["rope_theta"])
        else:
            problems.append(
                f"{config.get('model_type')}: per-layer-type RoPE has no transformers 4.x key"
            )
        if _scaling(local) is not None:
            problems.append("scaled RoPE on sliding-attention layers has no transformers 4.x key")
    return out, problems


def legacy_tokenizer_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (a ``tokenizer_config.json`` object) with a tokenizer class 4.x also has."""
    if config.get("tokenizer_class") == "TokenizersBackend":
        return {**config, "tokenizer_class": "PreTrainedTokenizerFast"}
    return config


def make_loadable_in_4x(directory: Path) -> list[str]:
    """Rewrite ``config.json`` and ``tokenizer_config.json`` of ``directory`` (one being
    written: no atomicity of its own) so that transformers 4.57 loads them as 5.x does.
    Returns what was changed, and what could not be (prefixed ``cannot:``)."""
    changes: list[str] = []
    cfg = directory / "config.json"
    if cfg.is_file():
        config = json.loads(cfg.read_text(encoding="utf-8"))
        if isinstance(config, dict):
            new, problems = legacy_config(config)
            if new != config:
                cfg.write_text(dumps(new), encoding="utf-8")
                added = sorted(set(new) - set(config))
                changes.append(f"config.json: added {', '.join(added)} for transformers 4.x")
            changes += [f"cannot: {p}" for p in problems]
    tok = directory / "tokenizer_config.json"
    if tok.is_file():
        config = json.loads(tok.read_text(encoding="utf-8"))
        if isinstance(config, dict):
            new = legacy_tokenizer_config(config)
            if new != config:
                tok.write_text(dumps(new), encoding="utf-8")
                changes.append(
                    "tokenizer_config.json: tokenizer_class TokenizersBackend (transformers 5 "
                    "only) written as PreTrainedTokenizerFast"
                )
    return changes
