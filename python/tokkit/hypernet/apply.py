"""Applying a trained hypernetwork: embeddings for any tokenizer's tokens, in batches
(``docs/design/hypernet.md`` §4). ``tokkit transplant --method zett`` calls :func:`predict`
through the method registry; the rest of the transplant (shared rows copied, specials matched,
saving) is the pipeline's, as for every method.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from tokkit._progress import Progress, ProgressMode
from tokkit.exceptions import HypernetError
from tokkit.hypernet.store import HypernetFiles, read_dir
from tokkit.hypernet.surface import Decomposer

__all__ = ["predict"]

#: New tokens per hypernetwork forward pass (the paper's 16,384; memory grows with it).
BATCH = 16_384


def predict(
    hypernet: str | os.PathLike[str] | HypernetFiles,
    base_E: torch.Tensor,
    base_U: torch.Tensor | None,
    pieces: Sequence[bytes],
    *,
    device: str = "cpu",
    batch: int = BATCH,
    progress: ProgressMode = "none",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Input (and, for an untied base, output) rows for ``pieces``, the raw bytes of new tokens,
    float32 on ``device``. An empty piece (a special token with no text) gets the mean row.

    Raises:
        HypernetError: The hypernetwork belongs to another base model, its files are corrupt,
            or a piece has a byte that neither the base vocabulary nor the trained fallback
            rows cover.
    """
    files = hypernet if isinstance(hypernet, HypernetFiles) else read_dir(hypernet)
    E = base_E.to(device=device, dtype=torch.float32)
    U = None if base_U is None else base_U.to(device=device, dtype=torch.float32)
    net = files.build(E, U).to(device)
    dec = Decomposer(files.tokenizer_json, E.shape[0], files.arch.surface_maxlen)
    missing = dec.fallback_bytes(pieces) - files.fallback_trained
    if missing:
        shown = ", ".join(f"0x{b:02X}" for b in sorted(missing)[:8])
        raise HypernetError(
            f"the target tokenizer has bytes ({shown}{'…' if len(missing) > 8 else ''}) that "
            "the base vocabulary lacks and the hypernetwork never learned a row for",
            hint="train the hypernetwork on sampled tokenizers (they cover every byte), or "
            "use another method for this tokenizer",
        )
    out_E = E.mean(0).repeat(len(pieces), 1)
    out_U = None if U is None else U.mean(0).repeat(len(pieces), 1)
    todo = [i for i, p in enumerate(pieces) if p]
    with torch.no_grad(), Progress("hypernetwork", len(todo), mode=progress,
                                   unit="tokens") as bar:
        for start in range(0, len(todo), batch):
            idx = todo[start : start + batch]
            e, u = net(dec.surface([pieces[i] for i in idx], device))
            where = torch.tensor(idx, device=device)
            out_E[where] = e
            if out_U is not None and u is not None:
                out_U[where] = u
            bar.advance(len(idx))
    return out_E, out_U
