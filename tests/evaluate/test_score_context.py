"""Bits per byte of a model whose context is shorter than the scoring window."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tokkit.score import score_model

from .._fixtures import fixture_tokenizer
from .._models import save_tiny_llama
from ..conftest import CORPORA


def test_a_short_context_model_is_scored_in_its_own_windows(tmp_path: Path) -> None:
    # A real Llama with 64 positions; the default window (1024) and overlap (256) do not fit.
    model = tmp_path / "tiny"
    save_tiny_llama(model, vocab_size=8192)
    shutil.copyfile(fixture_tokenizer("smollm2-135m-8k"), model / "tokenizer.json")
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|endoftext|>"}
    (model / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    text = (CORPORA / "en-prose.txt").read_text(encoding="utf-8")[:1500]
    default = score_model(model, [text])
    explicit = score_model(model, [text], window=64, overlap=31)
    assert default.tokens > 64  # several windows
    assert default.nll_nats == explicit.nll_nats
