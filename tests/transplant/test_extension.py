"""Transplants of SmolLM2-135M onto an extension of its own tokenizer (issue 15,
design/transplant.md §10): every old row is the base's, bit for bit, under the same id; only the
appended tokens get computed rows; roles, chat template and generation config carry over; a
sequence of old ids gets the base model's logits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tokkit.transplant import OMP, TransplantOptions, extension, transplant
from tokkit.transplant.pipeline import load_side, load_tokenizer
from tokkit.vocab import match_vocabularies, vocab_from_hf

from .._models import prepared
from ..conftest import CORPORA
from ._extend import extend

pytestmark = pytest.mark.filterwarnings("ignore::tokkit.exceptions.TransplantWarning")

BASE_IDS = 49152  # SmolLM2's ids and rows: no spare rows
NEW = 200
TEXTS = [(CORPORA / f).read_text(encoding="utf-8")[:200_000] for f in ("tr.txt", "code.txt")]
ENGLISH = (CORPORA / "en-prose.txt").read_text(encoding="utf-8")[:1500]


@pytest.fixture(scope="module")
def smol() -> Path:
    return prepared("smollm2-135m")


@pytest.fixture(scope="module")
def extended(smol: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ext") / "smol-ext"
    extend(smol, out, TEXTS, NEW)
    return out


@pytest.fixture(scope="module")
def transplants(smol: Path, extended: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """mean, tokenadapt and OMP (its donor: the mean transplant, a model that speaks the
    extension, as a smaller sibling model would in practice), and mean padded to 64."""
    root = tmp_path_factory.mktemp("transplants")
    done = {}
    for name, method, options, donor in (
        ("mean", "mean", TransplantOptions(), None),
        ("tokenadapt", "tokenadapt", TransplantOptions(), None),
        ("omp", OMP(k=16), TransplantOptions(), root / "mean"),
        ("mean-pad64", "mean", TransplantOptions(pad_to_multiple_of=64), None),
    ):
        result = transplant(smol, extended, method, donor=donor, options=options, out=root / name)
        done[name] = (root / name, result)
    return done


def embeddings(path: Path) -> tuple[torch.Tensor, torch.Tensor, object]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, trust_remote_code=False)
    e = model.get_input_embeddings().weight.detach()
    return e, model.get_output_embeddings().weight.detach(), model


def test_an_extension_is_detected_and_matched_by_id(smol: Path, extended: Path) -> None:
    base = load_side(smol, device="cpu")
    new_vocab = vocab_from_hf(load_tokenizer(extended))
    ext = extension.detect(base.vocab, new_vocab, base.rows)
    assert ext == extension.Extension(
        base_tokens=BASE_IDS, new_tokens=NEW, base_rows=BASE_IDS, new_on_spare_rows=0
    )
    matching = extension.identity_matching(base.vocab, new_vocab, base_rows=base.rows)
    assert matching.copy == {i: i for i in range(BASE_IDS)}
    assert matching.new == list(range(BASE_IDS, BASE_IDS + NEW))
    # On SmolLM2 (no byte-fallback twins) matching by bytes gives the same.
    assert match_vocabularies(base.vocab, new_vocab, base_rows=base.rows).copy == matching.copy
    # Not extensions: a base token respelled, or a new token inside the base's ids.
    moved = vocab_from_hf(load_tokenizer(extended))
    moved.strings[5] = "respelled"
    assert extension.detect(base.vocab, moved, base.rows) is None
    del base.vocab.keys[100], base.vocab.strings[100]  # a hole in the base, filled by "new"
    assert extension.detect(base.vocab, new_vocab, base.rows) is None


@pytest.mark.parametrize("name", ["mean", "tokenadapt", "omp"])
def test_old_rows_are_the_base_rows_and_new_rows_are_computed(
    name: str, smol: Path, transplants: dict
) -> None:
    out, result = transplants[name]
    assert result.rows == BASE_IDS + NEW
    assert (result.shared, result.new) == (BASE_IDS, NEW)
    assert result.masked_ids == []
    e_base, u_base, _ = embeddings(smol)
    e, u, model = embeddings(out)
    assert e.shape[0] == u.shape[0] == model.config.vocab_size == BASE_IDS + NEW
    assert torch.equal(e[:BASE_IDS], e_base)
    assert torch.equal(u[:BASE_IDS], u_base)
    fresh = e[BASE_IDS:].float()
    assert bool(torch.isfinite(fresh).all())
    assert bool((fresh.abs().sum(1) > 0).all())
    meta = json.loads((out / "tokkit.json").read_text(encoding="utf-8"))
    assert meta["extension"] == {
        "base_tokens": BASE_IDS,
        "new_tokens": NEW,
        "base_rows": BASE_IDS,
        "new_on_spare_rows": 0,
        "roles_carried": [],
    }


def test_omp_with_a_donor_in_the_base_space_transfers_its_rows(transplants: dict) -> None:
    """The donor (the mean transplant) shares the base's rows for every anchor, so OMP's sparse
    codes carry its new rows over almost exactly (up to the bf16 rounding of the donor rows)."""
    e_mean, _, _ = embeddings(transplants["mean"][0])
    e_omp, _, _ = embeddings(transplants["omp"][0])
    a, b = e_omp[BASE_IDS:].float(), e_mean[BASE_IDS:].float()
    assert float((a - b).norm() / b.norm()) < 0.02


def test_padding_rows_are_zero_and_masked(transplants: dict) -> None:
    out, result = transplants["mean-pad64"]
    rows = -(-(BASE_IDS + NEW) // 64) * 64
    assert result.rows == rows == 49408
    assert result.masked_ids == list(range(BASE_IDS + NEW, rows))
    e, _, model = embeddings(out)
    assert e.shape[0] == model.config.vocab_size == rows
    assert not bool(e[BASE_IDS + NEW :].any())
    e_mean, _, _ = embeddings(transplants["mean"][0])
    assert torch.equal(e[: BASE_IDS + NEW], e_mean)


def test_roles_chat_template_and_generation_config_carry_over(
    smol: Path, extended: Path, transplants: dict
) -> None:
    from transformers import AutoTokenizer

    out, _ = transplants["mean"]
    base_tok = AutoTokenizer.from_pretrained(smol, trust_remote_code=False)
    tok = AutoTokenizer.from_pretrained(out, trust_remote_code=False)
    assert len(tok) == BASE_IDS + NEW
    for role in ("bos", "eos", "pad", "unk"):
        assert getattr(tok, f"{role}_token_id") == getattr(base_tok, f"{role}_token_id"), role
    assert tok.chat_template == base_tok.chat_template
    assert (out / "tokenizer.json").read_bytes() == (extended / "tokenizer.json").read_bytes()
    gen = json.loads((out / "generation_config.json").read_text(encoding="utf-8"))
    want = json.loads((smol / "generation_config.json").read_text(encoding="utf-8"))
    assert gen == want
    base_cfg = json.loads((smol / "config.json").read_text(encoding="utf-8"))
    cfg = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert {k: cfg[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id")} == {
        k: base_cfg[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id")
    }
    assert cfg["vocab_size"] == BASE_IDS + NEW != base_cfg["vocab_size"]


def test_old_ids_get_the_base_models_logits(smol: Path, transplants: dict) -> None:
    """The real guarantee: a sequence of old ids runs through identical rows and weights, so
    its logits over the old ids are the base model's (the head is tied here; untied heads copy
    their old rows the same way)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(smol, trust_remote_code=False)
    new = AutoModelForCausalLM.from_pretrained(transplants["tokenadapt"][0])
    ids = AutoTokenizer.from_pretrained(smol)(ENGLISH[:600], return_tensors="pt").input_ids
    with torch.no_grad():
        a = base(ids, output_hidden_states=True)
        b = new(ids, output_hidden_states=True)
    assert torch.equal(a.hidden_states[-1], b.hidden_states[-1])
    assert torch.allclose(a.logits, b.logits[..., :BASE_IDS], rtol=0, atol=1e-5)
    assert torch.equal(a.logits.argmax(-1), b.logits[..., :BASE_IDS].argmax(-1))


def test_roles_and_template_missing_from_the_extension_come_from_the_base(
    smol: Path, tmp_path: Path
) -> None:
    """An extension written as a bare tokenizer.json with a config naming no role: the base's
    roles and chat template are carried over and written to tokenizer_config.json."""
    from transformers import AutoTokenizer

    bare = tmp_path / "bare"
    extend(smol, bare, TEXTS, 20, side_files=False)
    out = tmp_path / "out"
    result = transplant(smol, bare, "mean", out=out)
    assert result.report.extension is not None
    assert sorted(result.report.extension["roles_carried"]) == ["bos", "eos", "pad", "unk"]
    assert result.report.chat_template_copied
    base_tok = AutoTokenizer.from_pretrained(smol)
    tok = AutoTokenizer.from_pretrained(out, trust_remote_code=False)
    for role in ("bos", "eos", "pad", "unk"):
        assert getattr(tok, f"{role}_token") == getattr(base_tok, f"{role}_token"), role
    assert tok.chat_template == base_tok.chat_template


def test_new_ids_on_spare_rows_are_computed_and_the_matrix_never_shrinks(
    smol: Path, tmp_path: Path
) -> None:
    """A base with spare rows (as Qwen2's 151,936 rows for 151,665 ids): SmolLM2 padded to
    50,000 rows, its 848 spare rows filled with a constant as if they held something. The
    extension's ids land on spare rows and are computed, not copied; the matrix keeps the
    base's 50,000 rows; the rows past the new vocabulary are zero and masked."""
    padded = tmp_path / "padded"
    transplant(smol, smol, "mean", options=TransplantOptions(pad_to_multiple_of=50_000), out=padded)
    weights = load_file(str(padded / "model.safetensors"))
    weights["model.embed_tokens.weight"][BASE_IDS:] = 7.0
    save_file(weights, str(padded / "model.safetensors"), metadata={"format": "pt"})
    (padded / "tokkit.json").unlink()  # as a downloaded model: no masked-row record
    ext = tmp_path / "ext"
    extend(smol, ext, TEXTS, NEW)
    out = tmp_path / "out"
    result = transplant(padded, ext, "mean", out=out)
    assert result.rows == 50_000
    assert result.report.extension["new_on_spare_rows"] == NEW
    assert result.masked_ids == list(range(BASE_IDS + NEW, 50_000))
    e = load_file(str(out / "model.safetensors"))["model.embed_tokens.weight"]
    assert torch.equal(e[:BASE_IDS], weights["model.embed_tokens.weight"][:BASE_IDS])
    assert not bool((e[BASE_IDS : BASE_IDS + NEW] == 7.0).all(1).any())
    assert not bool(e[BASE_IDS + NEW :].any())
