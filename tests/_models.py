"""Prepared models shared by the test modules.

The real models are prepared once per checkout into a shared cache (``$TOKKIT_CACHE`` if set,
else ``<repo>/.cache/tokkit``) and reused by every later session: the first preparation of
``smollm2-135m`` takes about 30 s, later ones none. Concurrent sessions are safe, because
:func:`tokkit.models.prepare` locks per model.

Use the function directly, or the session fixture after importing it into the test module::

    from ._models import prepared, perplexity

    def test_something() -> None:
        model_dir = prepared("smollm2-135m")
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def shared_cache() -> Path:
    """The cache that real-model tests share: ``$TOKKIT_CACHE``, else ``<repo>/.cache/tokkit``."""
    env = os.environ.get("TOKKIT_CACHE")
    return Path(env).expanduser() if env else ROOT / ".cache" / "tokkit"


@functools.cache
def prepared(name: str) -> Path:
    """The directory of the registry model ``name``, prepared in :func:`shared_cache`."""
    from tokkit import models

    return models.prepare(name, cache=shared_cache())


@pytest.fixture(scope="session")
def prepared_model() -> Callable[[str], Path]:
    """``prepared_model("smollm2-135m")`` → the prepared directory (see :func:`prepared`)."""
    return prepared


def perplexity(model: Any, tokenizer: Any, text: str) -> float:
    """exp(mean next-token NLL) of ``text`` as the tokenizer encodes it by default (with BOS
    where the tokenizer adds one: Gemma's does, SmolLM2's does not)."""
    import torch

    ids = tokenizer(text, return_tensors="pt").input_ids.to(model.device)
    with torch.no_grad():
        loss = model(ids, labels=ids).loss
    return math.exp(float(loss))


def tiny_llama(vocab_size: int) -> Any:
    """A real transformers Llama: one layer of width 16, random weights (seed 0), for tests
    about files, loading and losses, not about what a model says."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(config)


def save_tiny_llama(out: Path, vocab_size: int) -> None:
    """Save :func:`tiny_llama` to ``out``."""
    tiny_llama(vocab_size).save_pretrained(out, safe_serialization=True)
