"""Auxiliary text embeddings φ(s) for TokenAdapt and FOCUS-style initialisation.

φ is the masked mean of an encoder's last hidden state over the string's tokens (the encoder's
special tokens included, as TokenAdapt does), not normalised. The default encoder is
all-MiniLM-L6-v2, prepared offline by ``tokkit models`` (``minilm-l6``); any HF encoder directory
with safetensors weights works. Embeddings are cached on disk per encoder and string set, since
embedding a 262k vocabulary takes minutes on a CPU.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit._progress import Progress, ProgressMode
from tokkit.exceptions import ModelError

if TYPE_CHECKING:
    import torch

DEFAULT_ENCODER = "minilm-l6"


class AuxEmbedder:
    """Embeds strings with an encoder model; ``embed(strings)`` returns an (n, h) float32 tensor."""

    def __init__(self, encoder: str | os.PathLike[str] = DEFAULT_ENCODER, *, device: str = "cpu"):
        import torch
        from transformers import AutoModel, AutoTokenizer

        from tokkit import models

        device = str(models.checked_device(device))
        self.path = models.path(str(encoder))
        if not any(self.path.glob("*.safetensors")):
            raise ModelError(f"{self.path}: no safetensors weights; tokkit loads only safetensors")
        # Never run code shipped in the directory (transformers would otherwise ask on stdin).
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                self.path, trust_remote_code=False, local_files_only=True
            )
            self.model = AutoModel.from_pretrained(
                self.path,
                dtype=torch.float32,
                use_safetensors=True,
                trust_remote_code=False,
                local_files_only=True,
            ).to(device)
        except (OSError, ValueError, KeyError) as e:
            raise ModelError(
                f"cannot load the auxiliary encoder {self.path}: {e}",
                hint="give an encoder directory that transformers loads without custom code",
            ) from e
        self.model.eval()
        self.device = device
        self.name = self.path.name

    def embed(
        self, strings: Sequence[str], *, batch_size: int = 256, progress: ProgressMode = "none"
    ) -> torch.Tensor:
        """φ of every string (duplicates embedded once), with an on-disk cache."""
        import torch

        unique = sorted(set(strings))
        cache = _cache_file(self.name, unique)
        if cache is not None and cache.exists():
            from safetensors.torch import load_file

            table = load_file(str(cache))["phi"]
        else:
            table = self._embed_unique(unique, batch_size, progress)
            if cache is not None:
                _save_cache(cache, table)
        pos = {s: i for i, s in enumerate(unique)}
        return table[torch.tensor([pos[s] for s in strings], dtype=torch.long)]

    def _embed_unique(
        self, unique: list[str], batch_size: int, progress: ProgressMode
    ) -> torch.Tensor:
        import torch

        # Sorting by length keeps padding (wasted work) small within a batch.
        order = sorted(range(len(unique)), key=lambda i: len(unique[i]))
        out = torch.zeros((len(unique), self.model.config.hidden_size), dtype=torch.float32)
        with Progress("aux embeddings", len(unique), mode=progress, unit="strings") as bar:
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = self.tokenizer(
                    [unique[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=64,
                    return_tensors="pt",
                ).to(self.device)
                with torch.inference_mode():
                    hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(2).to(hidden.dtype)
                phi = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)
                out[torch.tensor(idx)] = phi.float().cpu()
                bar.advance(len(idx))
        return out


def _cache_root() -> Path:
    return Path(os.environ.get("TOKKIT_CACHE") or Path.home() / ".cache" / "tokkit") / "aux"


def _cache_file(encoder: str, unique: list[str]) -> Path | None:
    if os.environ.get("TOKKIT_NO_AUX_CACHE"):
        return None
    h = hashlib.sha256()
    for s in unique:
        h.update(s.encode("utf-8", "surrogatepass") + b"\0")
    return _cache_root() / encoder / f"{h.hexdigest()[:24]}.safetensors"


def _save_cache(path: Path, table: Any) -> None:
    """Write atomically; a cache that cannot be written is only slower next time."""
    from safetensors.torch import save_file

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        save_file({"phi": table.contiguous()}, str(tmp))
        tmp.replace(path)
    except OSError:
        pass
