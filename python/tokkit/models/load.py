"""Loading a causal language model, after checking that tokkit can use the directory safely."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit.exceptions import ConfigError, ModelError, ModelNotFoundError
from tokkit.models.quiet import quiet_transformers
from tokkit.models.registry import names_hint

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

# Weight files that are pickles: loading one runs arbitrary code, so tokkit never does.
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")


def _causal_lm_classes() -> set[str]:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    names: set[str] = set()
    for value in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values():
        names.update([value] if isinstance(value, str) else value)
    return names


def _check_model_dir(d: Path) -> dict[str, Any]:
    """Refuse what tokkit cannot load safely, before transformers sees it; returns config.json.

    Raises:
        ModelNotFoundError: No directory at ``d``.
        ModelError: Not a directory, no or unreadable config.json, no safetensors weights.
    """
    if not d.exists():
        raise ModelNotFoundError(
            f"no model directory {d}; give a Hugging Face model directory, a Hub id (org/name) "
            f"or a prepared model name ({names_hint()})"
        )
    if not d.is_dir():
        raise ModelError(f"{d} is a file; give the model directory (config.json, *.safetensors)")
    cfg = d / "config.json"
    if not cfg.is_file():
        raise ModelError(
            f"{d} has no config.json, so it is not a Hugging Face model directory; save one with "
            "model.save_pretrained(DIR)"
        )
    try:
        config = json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"cannot read {cfg}: {e}") from e
    if not isinstance(config, dict):
        raise ModelError(f"{cfg} is not a JSON object")
    names = [p.name for p in d.iterdir() if p.is_file()]
    if not any(n.endswith(".safetensors") for n in names):
        pickles = sorted(n for n in names if n.lower().endswith(_PICKLE_SUFFIXES))
        ggufs = sorted(n for n in names if n.lower().endswith(".gguf"))
        if pickles:
            raise ModelError(
                f"{d} has only pickled weights ({', '.join(pickles)}); tokkit loads only "
                "safetensors, because unpickling can run arbitrary code. If you trust the file, "
                "convert it once: AutoModelForCausalLM.from_pretrained(DIR, use_safetensors=False)"
                ".save_pretrained(NEW_DIR) writes model.safetensors"
            )
        if ggufs:
            raise ModelError(
                f"{d} has only GGUF weights ({', '.join(ggufs)}); convert them to safetensors "
                "first (docs/guides/models.md shows how)"
            )
        raise ModelError(f"{d} has no *.safetensors weights")
    return config


def checked_device(device: torch.device | str) -> torch.device:
    """``device`` as torch names it.

    Raises:
        ConfigError: An unknown device name, or one this machine does not have (CUDA without a
            GPU, a GPU index past the last, MPS off Apple silicon).
    """
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ConfigError(
            f"unknown device {str(device)!r} ({e})", hint="use {device=cpu}, cuda, cuda:N or mps"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {str(device)!r}: CUDA is not available on this machine",
            hint="use {device=cpu}",
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(
            f"device {str(device)!r}: this machine has {torch.cuda.device_count()} GPU(s)",
            hint="use {device=cuda:0}",
        )
    mps = getattr(torch.backends, "mps", None)
    if dev.type == "mps" and not (mps is not None and mps.is_available()):
        raise ConfigError(f"device {str(device)!r}: MPS is not available", hint="use {device=cpu}")
    return dev


def load_causal_lm(
    model_dir: str | os.PathLike[str],
    *,
    dtype: torch.dtype | str = "float32",
    device: torch.device | str = "cpu",
    revision: str | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal language model and its tokenizer, after checking that tokkit can use it.

    ``model_dir`` is a Hugging Face directory, a registry name (prepared first if needed) or a
    Hub id (``org/name``, fetched into the HF cache: see :func:`tokkit.models.path`). Only
    safetensors weights are read and custom code (``trust_remote_code``) never runs.

    Args:
        revision: Branch, tag or commit of a Hub id.
        dtype: torch dtype of the weights (``torch.float32`` by default; a name such as
            ``"bfloat16"`` also works, and ``"auto"`` keeps the dtype they are stored in).
        device: Where to put the model (``"cpu"``, ``"cuda"``, ``"cuda:1"``...).

    Returns:
        ``(model, tokenizer)``, the model in eval mode.

    Raises:
        ModelNotFoundError: No such directory (and not a registry name).
        ModelError: No config.json; only pickled or GGUF weights; not a causal LM (an encoder
            such as BERT); custom code needed; weights missing; an unusable tokenizer.
    """
    device = checked_device(device)
    d = Path(model_dir).expanduser()
    if not d.exists():
        # A registry name or a Hub id. Imported here: the package imports this module to
        # re-export load_causal_lm.
        from tokkit.models import path

        d = path(model_dir, revision=revision)
    raw_config = _check_model_dir(d)

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.models.auto import configuration_auto

    torch_dtype: Any = (
        getattr(torch, dtype.removeprefix("torch."), None) if isinstance(dtype, str) else dtype
    )
    if dtype == "auto":  # the dtype the weights are stored in
        torch_dtype = "auto"
    elif not isinstance(torch_dtype, torch.dtype):
        raise ModelError(
            f"dtype {dtype!r} is not a torch dtype (float32, bfloat16, float16) or 'auto'"
        )
    model_type = raw_config.get("model_type")
    if model_type not in configuration_auto.CONFIG_MAPPING_NAMES:  # type: ignore[attr-defined]
        custom = " with custom code (auto_map)" if "auto_map" in raw_config else ""
        raise ModelError(
            f"{d}: model_type {model_type!r} is not built into transformers{custom}; tokkit "
            "never runs a model's own code (trust_remote_code)"
        )
    archs = raw_config.get("architectures") or []
    causal = _causal_lm_classes()
    if archs and not any(a in causal or str(a).endswith("ForCausalLM") for a in archs):
        raise ModelError(
            f"{d} holds a {', '.join(map(str, archs))} ({model_type}), not a causal language "
            "model; tokkit needs a model that AutoModelForCausalLM loads (…ForCausalLM)"
        )
    with quiet_transformers():
        try:
            config = AutoConfig.from_pretrained(d, trust_remote_code=False, local_files_only=True)
        except (OSError, ValueError, KeyError) as e:
            raise ModelError(f"cannot read the config of {d}: {e}") from e
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

        if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING:
            raise ModelError(
                f"{d}: {type(config).__name__} has no causal-LM head in transformers; tokkit "
                "needs a model that AutoModelForCausalLM loads"
            )
        try:
            from tokkit.hybrid import tokenizer_at

            tokenizer = tokenizer_at(d) or AutoTokenizer.from_pretrained(
                d, trust_remote_code=False, local_files_only=True
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelError(f"cannot load the tokenizer of {d}: {e}") from e
        try:
            loaded: Any = AutoModelForCausalLM.from_pretrained(
                d,
                config=config,
                dtype=torch_dtype,
                use_safetensors=True,
                trust_remote_code=False,
                local_files_only=True,
                output_loading_info=True,
            )
        except MemoryError:
            raise
        except Exception as e:  # safetensors raises its own SafetensorError (not OSError)
            raise ModelError(
                f"cannot load the weights of {d}: {type(e).__name__}: {e}",
                hint="the safetensors file may be truncated or corrupt; copy or download it again",
            ) from e
    model, info = loaded
    missing = list(info.get("missing_keys") or [])
    if missing:
        raise ModelError(
            f"{d} lacks {len(missing)} weights of {type(model).__name__} (e.g. {missing[0]}); "
            "it is not a complete causal LM checkpoint"
        )
    model.to(device)
    model.eval()
    return model, tokenizer
