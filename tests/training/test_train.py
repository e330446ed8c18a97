"""Training through the Python API: outputs, provenance, input formats, determinism, and round
trips through HF ``tokenizers`` and ``transformers``."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokkit

from ..conftest import CORPORA as CORPORA_DIR
from ..conftest import run_cli

SPECIALS = ["<|endoftext|>", "<pad>"]


def lines_of(path: str | Path) -> list[str]:
    """The sequences HF reads from a file: split on "\\n" only, line endings kept."""
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory: pytest.TempPathFactory, corpus_files: list[str]) -> Path:
    out = tmp_path_factory.mktemp("tok") / "bpe"
    tokkit.train(
        corpus_files, tokkit.trainers.BPE(vocab_size=4000, special_tokens=SPECIALS), out=out
    )
    return out


def test_writes_hf_files_and_sidecar(trained_dir: Path, corpus_files: list[str]) -> None:
    names = sorted(p.name for p in trained_dir.iterdir())
    assert names == [
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "tokkit.json",
    ]
    meta = json.loads((trained_dir / "tokkit.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(b"".join(Path(f).read_bytes() for f in corpus_files)).hexdigest()
    assert meta["corpus"]["sha256"] == digest
    assert meta["corpus"]["bytes"] == sum(Path(f).stat().st_size for f in corpus_files)
    assert meta["algorithm"] == "bpe"
    assert meta["trainer"] == {
        "algorithm": "bpe",
        "vocab_size": 4000,
        "pretokenizer": "gpt2",
        "min_frequency": 0,
        "special_tokens": SPECIALS,
        "max_token_length": None,
        "max_token_chars": None,
        "full_alphabet": True,
    }
    assert meta["tokkit_version"] == tokkit.__version__
    assert meta["training"]["stop_reason"] == "vocab_size_reached"
    assert meta["wall_seconds"] > 0
    assert "seed" in meta
    config = json.loads((trained_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["eos_token"] == "<|endoftext|>"
    assert config["pad_token"] == "<pad>"


def sample_lines(corpus_files: list[str], per_file: int = 400) -> list[str]:
    lines: list[str] = []
    for f in corpus_files:
        lines += lines_of(f)[:per_file]
    return lines


def test_hf_tokenizers_encodes_exactly_like_tokkit(
    trained_dir: Path, corpus_files: list[str]
) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    hf = tokenizers.Tokenizer.from_file(str(trained_dir / "tokenizer.json"))
    ours = tokkit.load(trained_dir)
    assert ours.engine == "tokkit"
    assert hf.get_vocab_size() == ours.vocab_size == 4000
    lines = [*sample_lines(corpus_files), "a<|endoftext|>b<pad>", "x <|endoftext|> y"]
    theirs = [e.ids for e in hf.encode_batch(lines, add_special_tokens=False)]
    assert ours.encode_batch(lines) == theirs
    for line, ids in zip(lines, theirs, strict=True):
        assert ours.decode(ids) == hf.decode(ids, skip_special_tokens=False) == line


def test_reported_corpus_tokens_equal_hf_encoding(
    trained_dir: Path, corpus_files: list[str]
) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    hf = tokenizers.Tokenizer.from_file(str(trained_dir / "tokenizer.json"))
    lines = [line for f in corpus_files for line in lines_of(f)]
    encoded = hf.encode_batch(lines, add_special_tokens=False)
    meta = json.loads((trained_dir / "tokkit.json").read_text(encoding="utf-8"))
    assert meta["training"]["corpus_tokens"] == sum(len(e.ids) for e in encoded)


def test_transformers_loads_the_directory(trained_dir: Path) -> None:
    transformers = pytest.importorskip("transformers")
    fast = transformers.AutoTokenizer.from_pretrained(str(trained_dir))
    assert isinstance(fast, transformers.PreTrainedTokenizerFast)
    assert fast.eos_token == "<|endoftext|>"
    assert fast.eos_token_id == 0
    assert fast.pad_token_id == 1
    text = "Hello world, it's 2026!\nİstanbul'a gidiyorum 😀"
    ids = fast(text, add_special_tokens=False)["input_ids"]
    assert ids == tokkit.load(trained_dir).encode(text)
    assert fast.decode(ids) == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_decode_inverts_encode(trained_dir_cached: tokkit.Tokenizer, text: str) -> None:
    assert trained_dir_cached.decode(trained_dir_cached.encode(text)) == text


@pytest.fixture(scope="module")
def trained_dir_cached(trained_dir: Path) -> tokkit.Tokenizer:
    return tokkit.load(trained_dir)


def test_iterable_training_equals_file_training(corpus_files: list[str]) -> None:
    files = corpus_files
    lines = [line for f in files for line in lines_of(f)]
    from_files = tokkit.train(files, tokkit.trainers.BPE(vocab_size=2000))
    from_texts = tokkit.train(None, tokkit.trainers.BPE(vocab_size=2000), texts=iter(lines))
    assert from_texts.merges == from_files.merges
    assert from_texts.report["corpus_sha256"] == from_files.report["corpus_sha256"]


def test_gz_jsonl_directories_and_globs_read_the_same_text(
    tmp_path: Path, corpus_files: list[str]
) -> None:
    src = Path(corpus_files[0])
    text = src.read_text(encoding="utf-8")
    (tmp_path / "d" / "sub").mkdir(parents=True)
    gz = tmp_path / "d" / "sub" / "part.txt.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    jsonl = tmp_path / "part.jsonl"
    jsonl.write_text(
        "".join(json.dumps({"id": i, "body": line}) + "\n" for i, line in enumerate(lines_of(src))),
        encoding="utf-8",
    )
    plain = tokkit.train(src, tokkit.trainers.BPE(vocab_size=1500)).merges
    assert tokkit.train(gz, tokkit.trainers.BPE(vocab_size=1500)).merges == plain
    assert tokkit.train(tmp_path / "d", tokkit.trainers.BPE(vocab_size=1500)).merges == plain
    assert (
        tokkit.train(
            str(tmp_path / "d" / "*" / "*.gz"), tokkit.trainers.BPE(vocab_size=1500)
        ).merges
        == plain
    )
    assert (
        tokkit.train(jsonl, tokkit.trainers.BPE(vocab_size=1500), text_field="body").merges == plain
    )
    with pytest.raises(tokkit.CorpusError, match="text_field"):
        tokkit.train(jsonl, tokkit.trainers.BPE(vocab_size=1500))


def test_result_does_not_depend_on_thread_count(corpus_files: list[str]) -> None:
    one = tokkit.train(corpus_files, tokkit.trainers.BPE(vocab_size=3000), num_threads=1).to_json()
    assert (
        tokkit.train(corpus_files, tokkit.trainers.BPE(vocab_size=3000), num_threads=2).to_json()
        == one
    )
    assert (
        tokkit.train(corpus_files, tokkit.trainers.BPE(vocab_size=3000), num_threads=5).to_json()
        == one
    )


def test_token_length_caps(corpus_files: list[str]) -> None:
    def longest(tok: tokkit.TrainedTokenizer) -> int:
        vocab = json.loads(tok.to_json())["model"]["vocab"]
        return max(len(t) for t in vocab)

    files = corpus_files[:1]
    assert (
        longest(tokkit.train(files, tokkit.trainers.BPE(vocab_size=3000, max_token_chars=4))) == 4
    )
    assert (
        longest(tokkit.train(files, tokkit.trainers.BPE(vocab_size=3000, max_token_length=5))) == 4
    )
    with pytest.raises(tokkit.ConfigError, match="either"):
        tokkit.train(
            files, tokkit.trainers.BPE(vocab_size=3000, max_token_chars=4, max_token_length=5)
        )


def test_min_frequency_can_stop_early(corpus_files: list[str]) -> None:
    tok = tokkit.train(corpus_files[:1], tokkit.trainers.BPE(vocab_size=60000, min_frequency=50))
    assert tok.report["stop_reason"] == "min_frequency"
    assert tok.vocab_size < 60000


def test_save_refuses_to_overwrite_without_force(tmp_path: Path, corpus_files: list[str]) -> None:
    tok = tokkit.train(corpus_files[:1], tokkit.trainers.BPE(vocab_size=500))
    tok.save(tmp_path / "out")
    with pytest.raises(tokkit.OutputExistsError, match="force=True"):
        tok.save(tmp_path / "out")
    tok.save(tmp_path / "out", force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_stopping_below_the_vocab_size_is_said(tmp_path: Path) -> None:
    """Issue 13: a run that ran out of pairs below ``vocab_size`` said nothing. The library warns
    (stopping at ``min_frequency`` is what the caller asked for, and does not); the CLI prints
    the warning as one line."""
    import warnings

    (tmp_path / "tiny.txt").write_text("hello world\nhello there\n")
    with pytest.warns(tokkit.exceptions.TokkitWarning, match="stopped at 269 ids, below"):
        tokkit.train(tmp_path / "tiny.txt", tokkit.trainers.BPE(vocab_size=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tokkit.train(tmp_path / "tiny.txt", tokkit.trainers.BPE(vocab_size=1000, min_frequency=2))
    result = run_cli(
        "train", "--vocab-size", "1000", "--out", str(tmp_path / "o"), str(tmp_path / "tiny.txt")
    )
    assert result.returncode == 0
    assert "warning: training stopped at 269 ids" in result.stderr


def test_text_that_is_not_unicode_is_skipped_alike_in_lines_and_json(tmp_path: Path) -> None:
    """Issue 13: a lone ``\\ud800`` escape in JSON lines aborted the run while invalid UTF-8
    lines were skipped; and skipped lines counted in the bytes of the compression figure."""
    good = "a line of ordinary text\n" * 20
    (tmp_path / "t.jsonl").write_text(
        "".join(json.dumps({"text": line}) + "\n" for line in good.splitlines(True))
        + '{"text": "bad \\ud800 escape"}\n'
    )
    (tmp_path / "t.txt").write_bytes(good.encode() + b"\xff\xfe" * 5000 + b"\n")
    for name in ("t.jsonl", "t.txt"):
        trained = tokkit.train(tmp_path / name, tokkit.trainers.BPE(vocab_size=270))
        assert trained.report["skipped_invalid_utf8"] == 1, name
        assert trained.report["corpus_bytes"] == len(good.encode()), name
        with pytest.raises(tokkit.CorpusError, match="invalid UTF-8"):
            tokkit.train(tmp_path / name, tokkit.trainers.BPE(vocab_size=270), strict=True)


def test_roles_chat_template_and_max_length_reach_transformers(tmp_path: Path) -> None:
    """Issue 13: ``tokkit train`` could not set special-token roles, a chat template or
    model_max_length; they are written where transformers reads them."""
    from transformers import AutoTokenizer

    template = "{% for m in messages %}<|im_start|>{{ m['content'] }}<|im_end|>{% endfor %}"
    (tmp_path / "chat.jinja").write_text(template)
    corpus = str(CORPORA_DIR / "en-prose.txt")
    result = run_cli(
        "train",
        "--vocab-size",
        "600",
        "--special-tokens",
        "<|endoftext|>",
        "<|im_start|>",
        "<|im_end|>",
        "<pad>",
        "--eos",
        "<|im_end|>",
        "--bos",
        "<|im_start|>",
        "--pad",
        "<pad>",
        "--chat-template",
        str(tmp_path / "chat.jinja"),
        "--model-max-length",
        "2048",
        "--out",
        str(tmp_path / "o"),
        corpus,
    )
    assert result.returncode == 0, result.stderr
    tok = AutoTokenizer.from_pretrained(tmp_path / "o", trust_remote_code=False)
    assert (tok.eos_token, tok.bos_token, tok.pad_token) == ("<|im_end|>", "<|im_start|>", "<pad>")
    assert tok.model_max_length == 2048
    chat = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert chat == "<|im_start|>hi<|im_end|>"
    with pytest.raises(tokkit.ConfigError, match="not one of the special tokens"):
        tokkit.train(
            corpus,
            tokkit.trainers.BPE(vocab_size=600),
            out=tmp_path / "p",
            conventions=tokkit.HFConventions(roles={"eos": "</s>"}),
        )
    assert not (tmp_path / "p").exists()  # refused before training
    with pytest.raises(tokkit.ConfigError, match="unknown role"):
        tokkit.HFConventions(roles={"end": "</s>"})
