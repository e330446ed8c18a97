"""The ZeTT hypernetwork as a torch module: a new token's decomposition into base tokens in,
its input (and, for an untied base, output) embedding out (``docs/design/hypernet.md`` §1).

    surface ids [n, L] ─► frozen base rows (E, or [E ‖ U] when untied; ids ≥ rows: the learned
    byte fallback table) ─► in-rescaler ─► Dense + projector block ─► + learned positions ─►
    post-LN transformer encoder (padding masked) ─► position 0 ─► projector block + Dense
    (zero-initialised) ─► out-rescaler = Δ ─► mean of the piece rows + Δ

The residual over the piece mean, with a zero-initialised last layer, makes step 0 the identity
on tokens that are one base token and the subword-mean baseline on the rest; training learns
what the mean misses. The base matrices are buffers that are not saved: a hypernetwork file
holds only what it learned, and is checked against the base model it is applied to.
"""

from __future__ import annotations

import torch
from torch import nn

from tokkit.hypernet.config import Architecture

__all__ = ["PAD", "HyperNetwork"]

#: The padding id of surface forms.
PAD = -1
#: Bytes the fallback table has rows for (ids ``rows + b``).
FALLBACK_BYTES = 256


class ProjectorBlock(nn.Module):
    """Dense → GELU → Dense → GELU with a residual connection and LayerNorm (ZeTT)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width), nn.GELU()
        )
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.norm(x + self.mlp(x))
        return out


class HyperNetwork(nn.Module):
    """Predicts embeddings of new tokens from their base-token decompositions.

    Args:
        arch: The shape (resolved: ``hidden`` and ``heads`` set).
        base_E: The base model's input embeddings [rows, d] (float32).
        base_U: Its output embeddings when untied, else None.
    """

    base: torch.Tensor
    in_scale: torch.Tensor
    in_shift: torch.Tensor
    out_scale: torch.Tensor

    def __init__(self, arch: Architecture, base_E: torch.Tensor, base_U: torch.Tensor | None):
        super().__init__()
        if arch.hidden is None or arch.heads is None:
            raise ValueError("the architecture must be resolved for the base model first")
        self.arch = arch
        self.rows, self.width = base_E.shape
        self.untied = base_U is not None
        base = base_E if base_U is None else torch.cat([base_E, base_U], dim=1)
        base = base.float()
        self.register_buffer("base", base, persistent=False)
        in_dim = base.shape[1]
        h = arch.hidden
        # Rows for bytes the base vocabulary lacks start as the mean row (an "unknown").
        self.fallback = nn.Parameter(base.mean(0, keepdim=True).repeat(FALLBACK_BYTES, 1))
        # Fitted at init and frozen: inputs to mean 0 and std 0.02 per dimension; Δ to the
        # embeddings' own std per dimension.
        std = base.std(0).clamp(min=1e-6)
        self.register_buffer("in_scale", 0.02 / std)
        self.register_buffer("in_shift", -base.mean(0) * 0.02 / std)
        self.register_buffer("out_scale", std)
        self.input_projection = nn.Sequential(nn.Linear(in_dim, h), ProjectorBlock(h))
        self.positions = nn.Embedding(arch.surface_maxlen, h)
        nn.init.normal_(self.positions.weight, std=0.02)
        layer = nn.TransformerEncoderLayer(
            h, arch.heads, 2 * h, dropout=0.0, activation="gelu", batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, arch.layers, enable_nested_tensor=False)
        self.head = self._head(h, self.width)
        self.head_out = self._head(h, self.width) if self.untied else None

    @staticmethod
    def _head(h: int, d: int) -> nn.Sequential:
        last = nn.Linear(h, d)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        return nn.Sequential(ProjectorBlock(h), last)

    def piece_rows(self, surface: torch.Tensor) -> torch.Tensor:
        """The frozen rows (or fallback rows) of every surface id; padding gives zeros."""
        ids = surface.clamp(min=0)
        regular = self.base[ids.clamp(max=self.rows - 1)]
        fallback = self.fallback[(ids - self.rows).clamp(min=0, max=FALLBACK_BYTES - 1)]
        rows = torch.where((ids < self.rows).unsqueeze(-1), regular, fallback)
        return rows * (surface != PAD).unsqueeze(-1)

    def forward(self, surface: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Embeddings for ``surface`` [n, L] (``PAD``-padded, at least one id per row):
        inputs [n, d] and, for an untied base, outputs [n, d] (else None).

        Rows run in buckets of similar length (1, 2, 3-4, 5-8... ids), each only as wide as it
        needs: padding is masked, so this is exact, and most pieces are one or two base tokens.
        """
        lengths = (surface != PAD).sum(1)
        out_e = torch.empty((surface.shape[0], self.width), device=surface.device)
        out_u = torch.empty_like(out_e) if self.untied else None
        low = 0
        width = 1
        while low < surface.shape[1]:
            rows = ((lengths > low) & (lengths <= width)).nonzero().flatten()
            if rows.numel():
                e, u = self._encode(surface[rows, :width])
                out_e = out_e.index_put((rows,), e)
                if out_u is not None and u is not None:
                    out_u = out_u.index_put((rows,), u)
            low, width = width, width * 2
        return out_e, out_u

    def _encode(self, surface: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        mask = surface != PAD
        rows = self.piece_rows(surface)
        count = mask.sum(1, keepdim=True).clamp(min=1)
        prior = rows.sum(1) / count
        x = rows * self.in_scale + self.in_shift
        x = self.input_projection(x) + self.positions.weight[: surface.shape[1]]
        x = self.encoder(x, src_key_padding_mask=~mask)
        pooled = x[:, 0]
        d = self.width
        e = prior[:, :d] + self.head(pooled) * self.out_scale[:d]
        if self.head_out is None:
            return e, None
        u = prior[:, d:] + self.head_out(pooled) * self.out_scale[d:]
        return e, u
