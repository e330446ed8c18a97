"""Bits per byte of causal LMs on texts: a tokenizer-independent score (design/transplant.md §8).

For each document ``x`` the model's canonical tokenization ``t_1..t_n`` is scored after a
context token (the BOS the tokenizer adds by default, else EOS, the separator GPT-style models
see between documents; a transplant records the id that carries its base model's context row);
the context is not scored. Over the corpus,
``BPB = Σ -ln p(t_i | ...) / (Σ |utf8(x)| · ln 2)``. Logits of rows that have no token
(padding, junk ids listed in ``tokkit.json``) are masked to -∞, since a zero row would otherwise
get logit 0 and steal probability.

Documents longer than the window are scored in overlapping windows: every token is scored
exactly once, with at least ``overlap`` tokens of context after the first window.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tokkit._progress import Progress, ProgressMode
from tokkit.exceptions import ConfigError

__all__ = ["Score", "masked_ids", "resolve_context_token", "score_model"]


@dataclass
class Score:
    """A model's score on some texts."""

    bits_per_byte: float
    bytes: int
    tokens: int
    nll_nats: float
    tokens_per_byte: float
    model: str = ""
    documents: int = 0
    per_document: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def masked_ids(model_dir: Path, tokenizer: Any, rows: int) -> list[int]:
    """Ids whose logits are masked: rows beyond the tokenizer, plus ``tokkit.json``'s list."""
    vocab_ids = set(tokenizer.get_vocab().values())
    masked = {i for i in range(rows) if i not in vocab_ids}
    meta = model_dir / "tokkit.json"
    if meta.exists():
        with contextlib.suppress(OSError, ValueError):
            masked |= {int(i) for i in json.loads(meta.read_text()).get("masked_ids", [])}
    return sorted(i for i in masked if i < rows)


def _explicit_context(tok: Any, value: int | str | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    # Looked up in the vocabulary itself: the unk token is a valid context token too (SmolLM2's
    # <|endoftext|> is both), and an unknown string must not silently become unk.
    found = tok.get_vocab().get(str(value))
    if found is None:
        raise ConfigError(f"context token {value!r} is not in the tokenizer's vocabulary")
    return int(found)


def context_token(tok: Any) -> int | None:
    """The token a document is scored after: the prefix the tokenizer adds by default (BOS, as
    Gemma's does), else EOS (the document separator GPT-style models were trained with)."""
    plain = tok("a", add_special_tokens=False)["input_ids"]
    full = tok("a")["input_ids"]
    if len(full) > len(plain) and full[: len(full) - len(plain)] and full[-len(plain) :] == plain:
        return int(full[0])
    if tok.eos_token_id is not None:
        return int(tok.eos_token_id)
    return int(tok.bos_token_id) if tok.bos_token_id is not None else None


def _recorded_context(model_dir: Path) -> int | None:
    """A transplant's ``context_token_id``: the id carrying the base model's start row."""
    meta = model_dir / "tokkit.json"
    with contextlib.suppress(OSError, ValueError):
        value = json.loads(meta.read_text()).get("context_token_id")
        return int(value) if value is not None else None
    return None


def resolve_context_token(model_dir: Path, tok: Any, value: int | str | None = None) -> int | None:
    """The id a document is read after: ``value`` (an id or token string) if given, else the
    transplant's recorded one, else :func:`context_token`'s BOS-or-EOS rule."""
    start = _explicit_context(tok, value)
    if start is None:
        start = _recorded_context(model_dir)
    return start if start is not None else context_token(tok)


def aligned_context_tokens(model_dirs: dict[str, Path]) -> dict[str, str]:
    """Context tokens that make a comparison start from the same row: for each transplant among
    ``model_dirs`` (name → directory) whose default context row is not its base model's
    (``context_base_token`` in its tokkit.json), its base model, when it is compared too, is
    read after that token as well. Returns name → token string for the models to change."""
    out: dict[str, str] = {}
    resolved = {name: d.resolve() for name, d in model_dirs.items()}
    for d in model_dirs.values():
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads((d / "tokkit.json").read_text(encoding="utf-8"))
            token, base = meta.get("context_base_token"), meta.get("base_model")
            # A prepared model's base_model is a repo id string; only a transplant's is an object.
            path = base.get("path") if isinstance(base, dict) else None
            if not isinstance(token, str) or not isinstance(path, str):
                continue
            base_dir = Path(path).resolve()
            out.update({n: token for n, r in resolved.items() if r == base_dir})
    return out


def score_model(
    model: str | os.PathLike[str],
    texts: list[str],
    *,
    device: str = "cpu",
    window: int = 1024,
    overlap: int = 256,
    progress: ProgressMode = "none",
    loaded: tuple[Any, Any] | None = None,
    context_token: int | str | None = None,
) -> Score:
    """Bits per byte of ``model`` (a directory or ``tokkit models`` name) on ``texts``.

    Args:
        window: Tokens per forward pass (capped by the model's context).
        overlap: Context tokens carried into the next window of a long document.
        loaded: An already loaded ``(model, tokenizer)`` pair to score instead of loading.
        context_token: The id (or token string) a document is scored after; default: the
            transplant's recorded one, else the tokenizer's BOS-or-EOS rule.
    """
    import torch

    from tokkit import models

    if window < 2 or not 0 <= overlap < window - 1:
        raise ConfigError("need window ≥ 2 and 0 ≤ overlap < window - 1")
    path = models.path(str(model)) if loaded is None else Path(str(model))
    lm, tok = loaded if loaded is not None else models.load_causal_lm(path, device=device)
    lm.eval()
    ctx_max = getattr(lm.config, "max_position_embeddings", None) or window
    if int(ctx_max) < window:
        # A model with a shorter context: its window, with the overlap scaled down to fit.
        window = max(int(ctx_max), 2)
        overlap = min(overlap, window // 2 - 1) if window >= 4 else 0
    rows = lm.get_output_embeddings().weight.shape[0]
    mask = torch.tensor(masked_ids(path, tok, rows), dtype=torch.long, device=device)
    start_id = resolve_context_token(path, tok, context_token)
    total_nll, total_tokens, total_bytes = 0.0, 0, 0
    per_doc: list[dict[str, Any]] = []
    encoded = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    with Progress("scoring", sum(len(e) for e in encoded), mode=progress, unit="tokens") as bar:
        for text, ids in zip(texts, encoded, strict=True):
            seq = ([start_id] if start_id is not None else []) + list(ids)
            # Position 0 (the context token, or the first token when the tokenizer has neither
            # BOS nor EOS) is never a target.
            nll = _nll(lm, seq, 1, window, overlap, mask, device, bar)
            n_bytes = len(text.encode("utf-8"))
            per_doc.append({"bytes": n_bytes, "tokens": len(ids), "nll_nats": nll})
            total_nll += nll
            total_tokens += len(ids)
            total_bytes += n_bytes
    if total_bytes == 0:
        raise ConfigError("nothing to score: the texts are empty")
    return Score(
        bits_per_byte=total_nll / (total_bytes * math.log(2)),
        bytes=total_bytes,
        tokens=total_tokens,
        nll_nats=total_nll,
        tokens_per_byte=total_tokens / total_bytes,
        model=str(model),
        documents=len(texts),
        per_document=per_doc,
    )


def _nll(
    lm: Any,
    seq: list[int],
    first: int,
    window: int,
    overlap: int,
    mask: Any,
    device: str,
    bar: Progress,
) -> float:
    """Σ -ln p(seq[i] | seq[:i]) for i ≥ first, in windows of ``window`` tokens."""
    import torch

    total = 0.0
    scored_to = first  # next position to score
    start = 0
    while scored_to < len(seq):
        end = min(start + window, len(seq))
        ids = torch.tensor([seq[start:end]], dtype=torch.long, device=device)
        # no_grad, not inference_mode: a sharded (FSDP) model gathers its weights into
        # buffers that must stay usable by the training step afterwards.
        with torch.no_grad():
            logits = lm(input_ids=ids).logits[0].float()  # (T, V)
            if mask.numel():
                logits.index_fill_(1, mask, float("-inf"))
            # Position p (absolute) is predicted by the logits at p - 1 (relative p - 1 - start).
            targets = torch.arange(scored_to, end, device=device)
            rel = targets - 1 - start
            lse = torch.logsumexp(logits[rel], dim=1)
            picked = logits[rel, ids[0, targets - start]]
            total += float((lse - picked).double().sum())
        bar.advance(end - scored_to)
        scored_to = end
        start = end - overlap - 1  # keeps `overlap` tokens of context; overlap < window - 1
    return total
