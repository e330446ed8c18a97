"""Converting a GGUF file to a bf16 safetensors Hugging Face directory."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit._progress import Progress, ProgressMode
from tokkit.exceptions import ModelError
from tokkit.models.compat import make_loadable_in_4x
from tokkit.models.quiet import quiet_transformers

if TYPE_CHECKING:
    import torch

# Keys transformers copies from its from_pretrained() call into tokenizer_config.json; they
# describe how this process loaded the GGUF, not the tokenizer.
_LOAD_ONLY_TOKENIZER_KEYS = ("is_local", "local_files_only")


def check_convert_deps() -> None:
    """Fail before any download when the conversion cannot run."""
    missing = [m for m in ("torch", "transformers", "gguf", "accelerate") if not _has(m)]
    if missing:
        raise ModelError(
            f"preparing a GGUF model needs {', '.join(missing)}; pip install 'tokkit[transplant]'"
        )


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _non_persistent_buffers(model: torch.nn.Module) -> set[str]:
    names: set[str] = set()
    for prefix, module in model.named_modules():
        for buf in getattr(module, "_non_persistent_buffers_set", ()):
            names.add(f"{prefix}.{buf}" if prefix else buf)
    return names


def convert_gguf(gguf: Path, out: Path, *, mode: ProgressMode) -> dict[str, Any]:
    """Write ``gguf`` as a bf16 safetensors Hugging Face directory into ``out``.

    ``save_pretrained`` refuses a model loaded from GGUF (it carries a GGUF quantizer), so the
    dequantized weights are moved into a model built from the config alone, then saved.

    Returns:
        ``architecture``, ``params`` (unique parameters) and ``vocab_size`` of the result.

    Raises:
        ModelError: The weights do not fit the architecture transformers builds from the file.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src, name = str(gguf.parent), gguf.name
    with quiet_transformers(gguf=True), Progress("convert", 4, mode=mode, unit="steps") as bar:
        tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=name, trust_remote_code=False)
        bar.advance()
        kwargs: dict[str, Any] = {}
        try:
            # Ask for plain dense weights explicitly: with the `kernels` package installed,
            # transformers would otherwise keep supported architectures packed in GGUF blocks.
            from transformers import GgufConfig

            kwargs["quantization_config"] = GgufConfig(dequantize=True)
        except ImportError:  # older transformers: always dequantizes
            pass
        loaded = AutoModelForCausalLM.from_pretrained(
            src, gguf_file=name, dtype=torch.bfloat16, trust_remote_code=False, **kwargs
        )
        bar.advance()
        config = copy.deepcopy(loaded.config)
        # A leftover GGUF quantization_config would make the saved directory look quantized.
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        auto: Any = AutoModelForCausalLM  # from_config is untyped
        model = auto.from_config(config, dtype=torch.bfloat16, trust_remote_code=False)
        result = model.load_state_dict(loaded.state_dict(), strict=False)
        model.generation_config = copy.deepcopy(loaded.generation_config)
        del loaded
        buffers = _non_persistent_buffers(model)
        missing = [k for k in result.missing_keys if k not in buffers]
        unexpected = [k for k in result.unexpected_keys if k not in buffers]
        if missing or unexpected:
            raise ModelError(
                f"the GGUF weights do not fit {type(model).__name__}: missing {missing[:5]}, "
                f"unexpected {unexpected[:5]}; this transformers version converts this file "
                "differently (tested with transformers 5.24)"
            )
        bar.advance()
        model.save_pretrained(out)
        # The GGUF carries no maximum length; the model's context is the useful one.
        tokenizer.model_max_length = int(getattr(config, "max_position_embeddings", 0) or 0) or (
            tokenizer.model_max_length
        )
        tokenizer.save_pretrained(out)
        _clean_tokenizer_config(out / "tokenizer_config.json")
        make_loadable_in_4x(out)
        bar.advance()
        params = sum(p.numel() for p in model.parameters())
        architecture = type(model).__name__
        vocab_size = int(config.vocab_size)
    return {"architecture": architecture, "params": params, "vocab_size": vocab_size}


def _clean_tokenizer_config(p: Path) -> None:
    data = json.loads(p.read_text(encoding="utf-8"))
    for key in _LOAD_ONLY_TOKENIZER_KEYS:
        data.pop(key, None)
    p.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
