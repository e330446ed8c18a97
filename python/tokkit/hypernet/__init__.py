"""ZeTT hypernetworks: trained once per base model, they predict embeddings for any tokenizer's
tokens from the base tokenizer's decomposition of each (``docs/design/hypernet.md``).

- :func:`train_hypernet` (``tokkit hypernet train``): sampled UnigramLM tokenizers (Rust) and
  optionally real ones, the frozen base LM's next-token loss plus the lexical loss, after an
  identity warm-up; checkpoints, ``--resume``, ``torchrun``.
- :func:`predict`: rows for any list of tokens (``tokkit transplant --method zett`` uses it
  through the method registry).
- :func:`read_dir`: a hypernetwork directory, checked (JSON + safetensors, no pickles).

torch is imported lazily: importing this package does not import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokkit.hypernet.apply import predict
    from tokkit.hypernet.config import Architecture, HypernetConfig
    from tokkit.hypernet.store import read_dir
    from tokkit.hypernet.trainer import HypernetResult, train_hypernet

__all__ = ["Architecture", "HypernetConfig", "HypernetResult", "predict", "read_dir",
           "train_hypernet"]

_WHERE = {
    "predict": "tokkit.hypernet.apply",
    "Architecture": "tokkit.hypernet.config",
    "HypernetConfig": "tokkit.hypernet.config",
    "read_dir": "tokkit.hypernet.store",
    "HypernetResult": "tokkit.hypernet.trainer",
    "train_hypernet": "tokkit.hypernet.trainer",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'tokkit.hypernet' has no attribute {name!r}")
