"""A model moved onto a hybrid tokenizer (design/hybrid.md §7): ``tokkit transplant`` reads the
hybrid directory, gives every id a row from its canonical form, copies ``hybrid.json`` into the
model directory, and ``tokkit score`` / ``load_causal_lm`` load that directory back with the
hybrid encoder (no ``trust_remote_code``)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import tokkit
from tokkit.exceptions import TransplantWarning
from tokkit.hybrid import HybridTokenizer
from tokkit.models import load_causal_lm
from tokkit.score import score_model
from tokkit.transplant import TransplantOptions, transplant

from .._models import prepared
from ..conftest import CORPORA

TEXT = (CORPORA / "tr.txt").read_text(encoding="utf-8")[-3000:]


@pytest.fixture(scope="module")
def moved(hybrid_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("smol-hybrid") / "model"
    # The hybrid spells numbers digit by digit (design/hybrid.md §3.1), as SmolLM2 does, so the
    # transplant's numeric diagnostic finds nothing to warn about.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        transplant(
            prepared("smollm2-135m"), hybrid_dir, "mean", out=out, options=TransplantOptions()
        )
    digits = [
        w
        for w in caught
        if issubclass(w.category, TransplantWarning) and "digits" in str(w.message)
    ]
    assert not digits, [str(w.message) for w in digits]
    return out


def test_the_model_directory_carries_the_hybrid_and_loads_with_it(
    moved: Path, hybrid_dir: Path
) -> None:
    assert (moved / "hybrid.json").read_bytes() == (hybrid_dir / "hybrid.json").read_bytes()
    model, tok = load_causal_lm(moved)
    assert isinstance(tok, HybridTokenizer)
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    assert ids == tokkit.load(hybrid_dir).encode(TEXT)
    assert model.get_input_embeddings().weight.shape[0] >= tok.vocab_size
    assert model.config.eos_token_id == tok.eos_token_id is not None


def test_shared_ids_get_the_row_of_their_canonical_form(moved: Path, hybrid_dir: Path) -> None:
    """``+lAr`` is matched by its first form ``lar``; the markers are specials (rows from the
    mean), and SmolLM2's own tokens are copied bit for bit where a key is shared."""
    report = json.loads((moved / "tokkit.json").read_text(encoding="utf-8"))
    assert report["rows"] == tokkit.load(hybrid_dir).vocab_size
    tok = HybridTokenizer.from_pretrained(hybrid_dir)
    lar = tok.convert_tokens_to_ids("+lAr")
    assert tok.tokkit_vocab().raw_bytes(lar) == b"lar"
    base = load_file(str(prepared("smollm2-135m") / "model.safetensors"))
    new = load_file(str(moved / "model.safetensors"))
    name = next(k for k in new if k.endswith("embed_tokens.weight"))
    base_tok = tokkit.load(prepared("smollm2-135m"))
    (lar_base,) = base_tok.encode("lar")
    assert torch.equal(new[name][lar].float(), base[name][lar_base].float())


def test_score_reads_text_through_the_hybrid(moved: Path) -> None:
    result = score_model(str(moved), [TEXT[:800]])
    assert result.bytes == len(TEXT[:800].encode("utf-8"))
    assert 0.5 < result.bits_per_byte < 12
