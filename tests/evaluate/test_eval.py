"""``tokkit eval`` and the loaders behind it: hand-computed metrics, every pretrained format from
the PyPI asset packages (checked against tiktoken and HF), merge-list truncation, chunked
encoding, the ``--json``/``--plot`` interface and typed errors on bad input."""

from __future__ import annotations

import gzip
import io
import json
import math
import shutil
import sys
from pathlib import Path

import pytest

import tokkit
from tokkit import _formats, _ranks
from tokkit.cli import main
from tokkit.evaluate import (
    Text,
    bpt_curve,
    bytes_per_token,
    evaluate,
    fertility,
    length_buckets,
    read_text,
    renyi_efficiency,
    renyi_entropy,
    split_chunks,
    tokens_per_char,
)

from .._models import prepared
from ..conftest import CORPORA, run_cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TINY = "aa bb aa é\n"


@pytest.fixture(scope="module")
def bpe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small tokkit BPE trained on the shipped English prose."""
    out = tmp_path_factory.mktemp("eval") / "bpe-1k"
    tokkit.train(
        str(CORPORA / "en-prose.txt"),
        tokkit.trainers.BPE(vocab_size=1000, special_tokens=["<|endoftext|>"]),
        out=out,
    )
    return out


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Byte-level BPE with the 256 bytes and two merges, ``a a`` then ``Ġ b``."""
    out = tmp_path_factory.mktemp("tiny") / "tiny"
    tokkit.train(None, tokkit.trainers.BPE(vocab_size=256), texts=["x"], out=out)
    data = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    data["model"]["vocab"].update({"aa": 256, "Ġb": 257})
    data["model"]["merges"] = [["a", "a"], ["Ġ", "b"]]
    (out / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    return out


def sample(name: str, chars: int = 60_000) -> str:
    return (CORPORA / name).read_text(encoding="utf-8")[:chars]


# --- metrics ------------------------------------------------------------------------------------


def test_metrics_of_a_tiny_text_by_hand(tiny_dir: Path) -> None:
    tok = tokkit.load(tiny_dir)
    # pre-tokens aa | Ġbb | Ġaa | Ġé | Ċ  →  aa | Ġb b | Ġ aa | Ġ Ã © | Ċ
    assert [tok.token_bytes(i) for i in tok.encode(TINY)] == [
        b"aa",
        b" b",
        b"b",
        b" ",
        b"aa",
        b" ",
        b"\xc3",
        b"\xa9",
        b"\n",
    ]
    ev = evaluate(tok, [Text.from_bytes(TINY.encode(), "tiny")])
    assert (ev.tokens, ev.bytes, ev.chars, ev.words) == (9, 12, 11, 4)
    assert ev.bytes_per_token == 12 / 9
    assert ev.tokens_per_char == 9 / 11
    assert ev.fertility == 9 / 4
    assert (ev.vocab_size, ev.vocab_used) == (258, 7)
    assert ev.vocab_used_share == 7 / 258
    assert ev.token_lengths == {1: 6, 2: 3}
    assert ev.length_buckets == {"1-2": 1.0, "3-6": 0.0, "7+": 0.0}
    # counts: aa 2, Ġ 2, and five tokens once; H_2.5 = log(Σ p^2.5) / (1 - 2.5)
    p = [2 / 9, 2 / 9] + [1 / 9] * 5
    h = math.log(sum(x**2.5 for x in p)) / (1 - 2.5)
    assert ev.renyi_efficiency == pytest.approx(h / math.log(258), rel=1e-12)
    assert ev.renyi_alpha == 2.5
    assert ev.vocab_length_buckets["1-2"] == 1.0  # 256 bytes and two 2-byte tokens


def test_several_texts_add_up(bpe_dir: Path) -> None:
    tok = tokkit.load(bpe_dir)
    texts = [Text.from_bytes(sample(n, 5000).encode(), n) for n in ("tr.txt", "code.txt")]
    ev = evaluate(tok, texts)
    assert [t["path"] for t in ev.texts] == ["tr.txt", "code.txt"]
    assert (
        ev.tokens
        == sum(t["tokens"] for t in ev.texts)
        == sum(len(tok.encode(t.text)) for t in texts)
    )
    assert ev.bytes == sum(t.n_bytes for t in texts)
    assert ev.texts[0]["bytes_per_token"] == ev.texts[0]["bytes"] / ev.texts[0]["tokens"]


def test_metric_functions() -> None:
    assert bytes_per_token(12, 9) == 12 / 9
    assert tokens_per_char(9, 11) == 9 / 11
    assert fertility(9, 4) == 2.25
    assert bytes_per_token(5, 0) == tokens_per_char(0, 0) == fertility(3, 0) == 0.0
    assert length_buckets({0: 9, 1: 1, 2: 1, 5: 1, 12: 1}) == {"1-2": 0.5, "3-6": 0.25, "7+": 0.25}


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 2.5, 3.0, math.inf])
def test_renyi_efficiency_is_one_for_a_uniform_full_vocabulary(alpha: float) -> None:
    assert renyi_efficiency([7] * 500, 500, alpha) == pytest.approx(1.0)
    assert renyi_efficiency([7] * 250, 500, alpha) == pytest.approx(math.log(250) / math.log(500))
    assert renyi_efficiency([42], 500, alpha) == 0.0


def test_renyi_entropy_orders() -> None:
    counts = [5, 3, 1, 1]
    p = [c / 10 for c in counts]
    assert renyi_entropy(counts, 1.0) == pytest.approx(-sum(x * math.log(x) for x in p))
    assert renyi_entropy(counts, 2.0) == pytest.approx(-math.log(sum(x * x for x in p)))
    assert renyi_entropy(counts, 0.0) == pytest.approx(math.log(4))
    # Rényi entropy decreases with the order.
    assert renyi_entropy(counts, 0.5) > renyi_entropy(counts, 2.5) > renyi_entropy(counts, 9)
    with pytest.raises(tokkit.ConfigError, match=">= 0"):
        renyi_entropy(counts, -1.0)


def test_chunks_join_back_and_encode_like_the_whole_text() -> None:
    text = sample("en-tech.txt") + sample("code.txt") + sample("tr.txt")
    one_line = text.replace("\n", " ")
    for tok in (tokkit.load("gpt2"), tokkit.load("o200k")):
        for t in (text, one_line):
            chunks = split_chunks(t, 2000)
            assert "".join(chunks) == t
            assert len(chunks) > 20
            assert sum(map(len, tok.encode_batch(chunks))) == len(tok.encode(t))


# --- loading pretrained formats -----------------------------------------------------------------


def test_gpt2_files_load_in_every_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = _formats.resolve_pretrained("gpt2")
    spellings = ["gpt2", encoder, encoder.with_name("vocab.bpe"), encoder.parent]
    for path in spellings:
        tok = tokkit.load(path)
        assert (tok.name, tok.format, tok.engine) == ("gpt2", "gpt2", "tokkit")
        assert tok.vocab_size == 50257
        assert tok.encode("Hello world") == [15496, 995]
        assert tok.encode("<|endoftext|>") == [50256]
    tiktoken_load = pytest.importorskip("tiktoken.load")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # read the local files, cache nothing
    ranks = tiktoken_load.data_gym_to_mergeable_bpe_ranks(
        vocab_bpe_file=str(encoder.with_name("vocab.bpe")), encoder_json_file=str(encoder)
    )
    reference = pytest.importorskip("tiktoken").Encoding(
        "gpt2", pat_str=_ranks.R50K_PATTERN, mergeable_ranks=ranks, special_tokens={}
    )
    text = sample("en-tech.txt") + sample("unicode-edge.txt")
    assert tok.encode(text) == reference.encode_ordinary(text)


@pytest.mark.parametrize(
    ("name", "hello", "eot", "vocab_size"),
    [("cl100k", [9906, 1917], 100257, 100277), ("o200k", [13225, 2375], 199999, 200019)],
)
def test_tiktoken_files(name: str, hello: list[int], eot: int, vocab_size: int) -> None:
    tok = tokkit.load(name)
    assert (tok.format, tok.engine, tok.vocab_size) == ("tiktoken", "tiktoken", vocab_size)
    assert tok.encode("Hello world") == hello
    assert tok.encode("<|endoftext|>") == [eot]
    text = sample("unicode-edge.txt")
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode([eot, *hello], skip_special_tokens=True) == "Hello world"


def test_tiktoken_files_are_recognised_by_hash_or_need_a_pattern(tmp_path: Path) -> None:
    o200k = _formats.resolve_pretrained("o200k")
    renamed = tmp_path / "renamed.tiktoken"
    renamed.write_bytes(gzip.decompress(o200k.read_bytes()))
    tok = tokkit.load(renamed)
    assert tok.name == "o200k_base"
    assert tok.encode("Hello world") == [13225, 2375]
    # An unknown rank file: the first 5,000 ranks of o200k.
    lines = renamed.read_bytes().splitlines()[:5000]
    mini = tmp_path / "mini.tiktoken"
    mini.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(tokkit.ConfigError, match="pattern"):
        tokkit.load(mini)
    cut = tokkit.load(mini, pattern="o200k")
    assert cut.vocab_size == 5000
    assert cut.name == "mini"
    text = sample("en-tech.txt", 5000)
    assert cut.encode(text) == tok.truncated(5002).encode(text)  # + its two special tokens
    with pytest.raises(tokkit.ConfigError, match="split pattern"):
        tokkit.load(mini, pattern="(?<x")


def test_llama3_tiktoken_model_matches_the_hf_tokenizer_json() -> None:
    model = tokkit.load("llama3")
    assert (model.name, model.engine, model.vocab_size) == ("llama3", "tiktoken", 128256)
    assert model.encode("Hello world") == [9906, 1917]
    assert model.encode("<|begin_of_text|><|eot_id|>") == [128000, 128009]
    hf_json = tokkit.load(model.path.parent)  # the directory: tokenizer.json wins
    assert hf_json.format == "tokenizer.json"
    assert hf_json.engine == "tokkit"  # ignore_merges=true runs on tokkit's encoder too
    assert hf_json.vocab_size == 128256
    text = sample("tr.txt", 30_000) + sample("code.txt", 10_000)
    assert hf_json.encode(text) == model.encode(text)


def test_sentencepiece_models(tmp_path: Path) -> None:
    spm = pytest.importorskip("sentencepiece")
    (tmp_path / "in.txt").write_text(sample("en-prose.txt", 100_000), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(tmp_path / "in.txt"),
        model_prefix=str(tmp_path / "sp"),
        vocab_size=400,
        model_type="bpe",
        byte_fallback=True,
        minloglevel=2,
    )
    reference = spm.SentencePieceProcessor(model_file=str(tmp_path / "sp.model"))
    (tmp_path / "dir").mkdir()
    shutil.copy(tmp_path / "sp.model", tmp_path / "dir" / "tokenizer.model")
    for path in (tmp_path / "sp.model", tmp_path / "dir"):
        tok = tokkit.load(path)
        assert (tok.format, tok.engine, tok.vocab_size) == ("sentencepiece", "sentencepiece", 400)
        text = sample("en-tech.txt", 3000)
        assert tok.encode(text) == reference.encode(text)
        assert tok.encode_batch([text, "Hello"]) == [
            reference.encode(text),
            reference.encode("Hello"),
        ]
        assert tok.decode(tok.encode("Hello world")) == "Hello world"
        assert not tok.can_truncate
    assert tok.token_bytes(reference.piece_to_id("▁the")) == b" the"
    assert tok.token_bytes(reference.piece_to_id("<0x0A>")) == b"\n"
    assert tok.token_bytes(reference.piece_to_id("<s>")) == b""
    with pytest.raises(tokkit.ConfigError, match="no merge list"):
        tok.truncated(300)


# --- truncation ---------------------------------------------------------------------------------


def test_truncating_a_tokkit_bpe_equals_training_a_smaller_one(
    bpe_dir: Path, tmp_path: Path
) -> None:
    small = tokkit.train(
        str(CORPORA / "en-prose.txt"),
        tokkit.trainers.BPE(vocab_size=600, special_tokens=["<|endoftext|>"]),
        out=tmp_path / "bpe-600",
    )
    assert small.vocab_size == 600
    cut = tokkit.load(bpe_dir).truncated(600)
    assert (cut.vocab_size, cut.engine) == (600, "tokkit")
    text = sample("en-tech.txt")
    assert cut.encode(text) == tokkit.load(tmp_path / "bpe-600").encode(text)
    with pytest.raises(tokkit.ConfigError, match="257 or more"):
        tokkit.load(bpe_dir).truncated(200)


def test_padding_and_truncation_stored_in_the_file_never_apply(tmp_path: Path) -> None:
    """Issue 13: MiniLM's tokenizer.json pads and truncates to 128 (for inference); loading for
    measurement counts every token, in the library and in ``tokkit eval``."""
    path = prepared("minilm-l6")
    stored = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
    assert stored["padding"]["strategy"] == {"Fixed": 128}
    assert stored["truncation"]["max_length"] == 128
    tok = tokkit.load(path)
    assert tok.decode(tok.encode("hello world")) == "hello world"
    assert len(tok.encode("hello world")) == 2
    text = sample("en-tech.txt", 8000)
    count = len(tok.encode(text))
    assert count > 1000
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    result = run_cli("eval", "--json", "--text", str(tmp_path / "t.txt"), str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["tokens"] == count


def test_a_gzip_bomb_stops_at_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: a 9 MB ``.tiktoken.gz`` was decompressed whole (4 GB). It is streamed with a
    bound (shrunk here so the test is quick)."""
    monkeypatch.setattr(_formats, "MAX_UNZIPPED_BYTES", 1 << 20)
    bomb = tmp_path / "bomb.tiktoken.gz"
    with gzip.open(bomb, "wb") as f:
        f.write(b"IQ== 0\nIg== 1\n")
        f.write(bytes(2 << 20))
    with pytest.raises(tokkit.SerializationError, match="expands to more than 1 MiB"):
        tokkit.load(bomb)


def test_truncating_keeps_added_tokens_that_merges_produce() -> None:
    """Gemma-3 lists whitespace runs such as ``\\t\\t`` both as added tokens and as merge
    results; a cut keeps them (an earlier Python cutter dropped them and failed on the ids)."""
    full = tokkit.load(prepared("gemma3-270m"))
    cut = full.truncated(30_000)
    text = "def f():\n\t\treturn 1  # tabs\n" + sample("en-tech.txt", 2000)
    assert cut.decode(cut.encode(text)) == text
    tabs = cut.encode("\t\t")
    assert len(tabs) == 1
    assert cut.token_bytes(tabs[0]) == b"\t\t"
    assert len(cut.encode(text)) > len(full.encode(text))


def test_bpt_curve_rises_with_the_vocabulary(bpe_dir: Path) -> None:
    tok = tokkit.load("gpt2")
    text = Text.from_bytes(sample("en-tech.txt", 20_000).encode(), "t")
    points = bpt_curve(tok, [text], [1000, 8000, 32000])
    assert [p.vocab_size for p in points] == [1000, 8000, 32000]
    assert points[0].bytes_per_token < points[1].bytes_per_token < points[2].bytes_per_token
    full = evaluate(tok, [text]).bytes_per_token
    assert points[2].bytes_per_token < full
    assert bpt_curve(tokkit.load(bpe_dir), [text]) == []  # the default grid starts at 1000


# --- the command --------------------------------------------------------------------------------

REQUIRED = ["name", "tokens", "bytes", "bytes_per_token", "tokens_per_char", "fertility"]


def test_cli_json_compares_ours_with_a_pretrained_tokenizer(bpe_dir: Path) -> None:
    text_file = CORPORA / "en-tech.txt"
    result = run_cli("eval", "--json", "--text", str(text_file), str(bpe_dir), "gpt2")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["bpe-1k", "gpt2"]
    text = text_file.read_text(encoding="utf-8")
    for row, tok in zip(rows, [tokkit.load(bpe_dir), tokkit.load("gpt2")], strict=True):
        assert set(REQUIRED) | {"renyi_efficiency", "encode_mb_per_s"} <= set(row)
        assert row["bytes"] == text_file.stat().st_size
        assert row["tokens"] == len(tok.encode(text))
        assert row["bytes_per_token"] == row["bytes"] / row["tokens"]
        assert row["tokens_per_char"] == row["tokens"] / len(text)
        assert row["fertility"] == row["tokens"] / len(text.split())
        assert 0 < row["renyi_efficiency"] < 1
        assert row["encode_mb_per_s"] > 0
        assert row["texts"][0]["sha256"] == Text.from_bytes(text_file.read_bytes(), "").sha256
        assert row["sha256"] == tok.sha256
    assert "MB/s" in result.stderr


def test_cli_table_plot_and_labels(
    bpe_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "text.txt"
    text.write_text(sample("tr.txt", 20_000), encoding="utf-8")
    png = tmp_path / "cmp.png"
    args = ["--text", str(text), "--plot", str(png), f"ours={bpe_dir}", "o200k"]
    assert main(["eval", "--curve-sizes", "400,700,2000", *args]) == 0
    out, err = capsys.readouterr()
    header, ours, o200k = out.splitlines()
    assert header.split()[:4] == ["tokenizer", "engine", "vocab", "tokens"]
    assert ours.startswith("ours ")
    assert o200k.startswith("o200k ")
    assert f"wrote {png}" in err
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp.png", "text.txt"]  # no temp file
    assert main(["eval", "--json", "--curve-sizes", "400,700", *args[:2], f"ours={bpe_dir}"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert [p["vocab_size"] for p in row["curve"]] == [400, 700]


def test_dash_reads_the_text_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(TINY.encode())))
    text = read_text("-")
    assert (text.name, text.n_bytes, text.chars, text.words) == ("<stdin>", 12, 11, 4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text", "{corpus}", "{tmp}/nope"], "no tokenizer at"),
        (["--text", "{corpus}", "{corpus}"], "not a tokenizer file"),
        (["--text", "{tmp}/empty.txt", "gpt2"], "has no text"),
        (["--text", "{tmp}/missing.txt", "gpt2"], "not found"),
        (["--text", "{tmp}/latin1.txt", "gpt2"], "not valid UTF-8"),
        (["--text", "{corpus}", "gpt2", "{tmp}/gpt2"], "two tokenizers are named 'gpt2'"),
        (["--text", "{corpus}", "--plot", "{tmp}/p.svg", "gpt2"], "ending in .png"),
        (["--text", "{corpus}", "--plot", "{tmp}/no/p.png", "gpt2"], "not a writable"),
        (["--text", "{corpus}", "--curve-sizes", "1k", "gpt2"], "--curve-sizes"),
        (["--text", "{corpus}", "{tmp}/x.tiktoken"], "hint: pass its split regex as --pattern"),
        (["--text", "{corpus}", "--curve-sizes", "100", "gpt2"], "257 or more"),
    ],
)
def test_bad_input_is_a_typed_error_with_exit_1(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.txt").write_text(" \n")
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9\n")
    (tmp_path / "gpt2").mkdir()
    shutil.copy(_formats.resolve_pretrained("gpt2"), tmp_path / "gpt2")
    shutil.copy(_formats.resolve_pretrained("gpt2").with_name("vocab.bpe"), tmp_path / "gpt2")
    (tmp_path / "x.tiktoken").write_bytes(b"IQ== 0\nIg== 1\n")
    corpus = str(CORPORA / "unicode-edge.txt")
    argv = [a.format(corpus=corpus, tmp=tmp_path) for a in args]
    assert main(["eval", *argv]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    last = lines[-2] if lines[-1].startswith("hint: ") else lines[-1]
    assert last.startswith("error: "), err
    assert message in (err if message.startswith("hint: ") else last)


def test_errors_are_typed(tmp_path: Path) -> None:
    with pytest.raises(tokkit.TokenizerNotFoundError) as missing:
        tokkit.load(tmp_path / "nope")
    assert isinstance(missing.value, FileNotFoundError)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(tokkit.SerializationError, match="not a tokenizer file"):
        tokkit.load(tmp_path / "notes.txt")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(b"IQ== 0\n")[:12])
    with pytest.raises(tokkit.SerializationError, match="cannot read"):
        tokkit.load(tmp_path / "cut.gz")
    (tmp_path / "bad.tiktoken").write_text("not base64!! 1\n")
    with pytest.raises(tokkit.SerializationError, match="tiktoken rank line"):
        tokkit.load(tmp_path / "bad.tiktoken")
    with pytest.raises(tokkit.CorpusNotFoundError):
        read_text(tmp_path / "missing.txt")
    with pytest.raises(tokkit.CorpusError, match="directory"):
        read_text(tmp_path)


def test_a_rank_beyond_what_the_file_justifies_is_refused(tmp_path: Path) -> None:
    """Issue 13: a rank of 4e9 or 2^63 in a rank file reached an allocation."""
    for rank in (4_000_000_000, 2**63):
        bad = tmp_path / f"r{rank}.tiktoken"
        bad.write_bytes(b"IQ== 0\nIg== " + str(rank).encode() + b"\n")
        with pytest.raises(tokkit.SerializationError, match="ranks reach"):
            tokkit.load(bad, pattern="gpt2")


def test_a_unigram_without_unk_fails_with_a_typed_error(tmp_path: Path) -> None:
    """Issue 13: a Unigram file without an unk token ended eval in a traceback."""
    data = {
        "version": "1.0",
        "added_tokens": [],
        "model": {"type": "Unigram", "unk_id": None, "vocab": [["a", -1.0], ["b", -2.0]]},
    }
    (tmp_path / "tokenizer.json").write_text(json.dumps(data))
    tok = tokkit.load(tmp_path)
    assert tok.encode("ab") == [0, 1]
    with pytest.raises(tokkit.SerializationError, match="cannot encode this text") as info:
        tok.encode("abc")
    assert "unk token" in (info.value.hint or "")
    with pytest.raises(tokkit.SerializationError):
        tok.encode_batch(["abc"])
