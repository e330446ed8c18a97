"""Gemma-3-270M transplants (slow: a 262k-row vocabulary and a 570 MB model on CPU).

The SmolLM2 → Gemma-3 direction (215k new rows) takes 15 minutes on two cores; it is run by
``bench/transplant_bench.py`` and reported in docs/benchmarks.md rather than here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tokkit.score import score_model
from tokkit.transplant import OMP, TransplantOptions, transplant

from .._models import prepared
from ..conftest import CORPORA

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::tokkit.exceptions.TransplantWarning"),
]

ENGLISH = (CORPORA / "en-prose.txt").read_text(encoding="utf-8")[-2500:]
CODE = (CORPORA / "code.txt").read_bytes()[-6000:].decode("utf-8", errors="ignore")


def test_gemma_identity_is_bit_exact(tmp_path: Path) -> None:
    gemma = prepared("gemma3-270m")
    out = tmp_path / "same"
    result = transplant(gemma, gemma, method="mean", out=out)
    assert result.new == 0
    assert result.rows == 262144
    a = load_file(str(gemma / "model.safetensors"))
    b = load_file(str(out / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_gemma_onto_smollm2_tokenizer(tmp_path: Path) -> None:
    """OMP with SmolLM2 as donor: shared rows copied, Gemma's BOS row carried by SmolLM2's
    <|im_start|>, the result far better than random rows, and better still on code with half of
    each new row from the subword mean (docs/benchmarks.md: 1.138 against 1.187)."""
    gemma, smol = prepared("gemma3-270m"), prepared("smollm2-135m")
    scores, code = {}, {}
    for name, method, mix in (("omp", "omp", 0.0), ("mix", "omp", 0.5), ("random", "random", 0)):
        out = tmp_path / name
        chosen = OMP(refresh=16) if method == "omp" else method
        mixed = TransplantOptions(mix_mean=mix)
        result = transplant(gemma, smol, chosen, out=out, options=mixed)
        assert result.rows == 49152
        assert 2900 < result.new < 3100
        meta = json.loads((out / "tokkit.json").read_text())
        assert meta["context_token_id"] == 1  # <|im_start|>, the bos role → Gemma's <bos> row
        scores[name] = score_model(out, [ENGLISH]).bits_per_byte
        code[name] = score_model(out, [CODE]).bits_per_byte
    assert code["mix"] < code["omp"] - 0.03 < code["random"], code
    e_base = load_file(str(gemma / "model.safetensors"))["model.embed_tokens.weight"]
    e_new = load_file(str(tmp_path / "omp" / "model.safetensors"))["model.embed_tokens.weight"]
    assert torch.equal(e_new[1], e_base[2])
    assert scores["omp"] < scores["random"] - 0.1, scores
    base = score_model(gemma, [ENGLISH]).bits_per_byte
    assert base < scores["omp"] < 2 * base + 1, (base, scores)


def test_untied_qwen_rebuilds_embeddings_and_head_separately(tmp_path: Path) -> None:
    """Qwen2.5-Coder stores an untied lm_head: both matrices are rebuilt, shared rows of each
    copied from its own base matrix, and the head is written as its own tensor."""
    qwen, smol = prepared("qwen2.5-coder-0.5b"), prepared("smollm2-135m")
    out = tmp_path / "qwen-on-smol"
    result = transplant(qwen, smol, method="mean", out=out)
    assert not result.report.tied
    base = load_file(str(qwen / "model.safetensors"))
    new = load_file(str(out / "model.safetensors"))
    assert new["lm_head.weight"].shape == new["model.embed_tokens.weight"].shape
    assert new["lm_head.weight"].shape[0] == result.rows
    from transformers import AutoTokenizer

    qtok = AutoTokenizer.from_pretrained(qwen)
    stok = AutoTokenizer.from_pretrained(smol)
    for token in ("Ġthe", "Ċ", "Ġfunction"):
        i, j = stok.convert_tokens_to_ids(token), qtok.convert_tokens_to_ids(token)
        assert torch.equal(
            new["model.embed_tokens.weight"][i], base["model.embed_tokens.weight"][j]
        )
        assert torch.equal(new["lm_head.weight"][i], base["lm_head.weight"][j])
    assert score_model(out, [ENGLISH]).bits_per_byte < 3.0


def test_mergekit_compat_copies_byte_level_newlines_from_the_wrong_token() -> None:
    """Byte identity copies SmolLM2's 'Ċ' (a newline) from Gemma's newline; mergekit's spelling
    rule copies it from Gemma's letter 'Ċ', and so for 160-odd byte-level characters."""
    from tokkit.transplant.pipeline import load_side, load_tokenizer, mergekit_matching
    from tokkit.vocab import match_vocabularies, vocab_from_hf

    gemma = load_side(prepared("gemma3-270m"), device="cpu")
    smol_tok = load_tokenizer(prepared("smollm2-135m"))
    smol_vocab = vocab_from_hf(smol_tok)
    ours = match_vocabularies(gemma.vocab, smol_vocab, base_rows=gemma.rows)
    theirs = mergekit_matching(gemma, smol_tok, smol_vocab, [])
    newline = smol_tok.convert_tokens_to_ids("Ċ")
    assert gemma.vocab.raw_bytes(ours.copy[newline]) == b"\n"
    assert gemma.vocab.strings[theirs.copy[newline]] == "Ċ"
    different = [
        i for i, j in theirs.copy.items() if smol_vocab.raw_bytes(i) != gemma.vocab.raw_bytes(j)
    ]
    assert len(different) > 100
    assert all(smol_vocab.raw_bytes(i) == gemma.vocab.raw_bytes(j) for i, j in ours.copy.items())
    assert len(theirs.copy) < len(ours.copy)


def test_gemma_onto_an_extension_copies_every_old_row_by_id(tmp_path: Path) -> None:
    """Issue 15 on Gemma-3 (byte-fallback twins such as ``<0x41>`` and ``A``, ``<unusedN>``
    tokens, 262,144 ids on 262,144 rows): every old row is copied from its own id, the 50 new
    ids get mean rows after them, and the base's template and roles stay."""
    from ._extend import extend

    gemma = prepared("gemma3-270m")
    ext = tmp_path / "ext"
    extend(gemma, ext, [(CORPORA / "tr.txt").read_text(encoding="utf-8")[:100_000]], 50)
    out = tmp_path / "out"
    result = transplant(gemma, ext, method="mean", out=out)
    assert result.report.extension == {
        "base_tokens": 262144,
        "new_tokens": 50,
        "base_rows": 262144,
        "new_on_spare_rows": 0,
        "roles_carried": [],
    }
    assert result.rows == 262144 + 50
    a = load_file(str(gemma / "model.safetensors"))["model.embed_tokens.weight"]
    b = load_file(str(out / "model.safetensors"))["model.embed_tokens.weight"]
    assert torch.equal(b[:262144], a)
    assert bool(torch.isfinite(b[262144:].float()).all())
    assert bool(b[262144:].any(1).all())
    from transformers import AutoTokenizer

    tok, base_tok = AutoTokenizer.from_pretrained(out), AutoTokenizer.from_pretrained(gemma)
    assert tok.chat_template == base_tok.chat_template
    assert (tok.bos_token_id, tok.eos_token_id) == (base_tok.bos_token_id, base_tok.eos_token_id)
