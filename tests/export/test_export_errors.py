"""What cannot be exported exactly is refused with an ExportError that names the reason, and
nothing is written; the output rules of every tokkit command (no overwrite without force,
all or nothing) hold."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tokkit
from tokkit import export as ex

from .._fixtures import fixture_tokenizer
from ..conftest import CORPORA


def qwen() -> dict[str, Any]:
    """The Qwen2.5 fixture's tokenizer.json as data, to break one thing at a time."""
    data: dict[str, Any] = json.loads(
        fixture_tokenizer("qwen2.5-coder-0.5b-8k").read_text(encoding="utf-8")
    )
    return data


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "tok" / "tokenizer.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def byte_level(merges: list[tuple[str, str]]) -> dict[str, Any]:
    """A byte-level BPE with all 256 bytes and these merges (ids in merge order)."""
    from tokkit._tokkit import BYTE_CHARS

    vocab = {c: i for i, c in enumerate(BYTE_CHARS)}
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    return {
        "version": "1.0",
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "vocab": vocab, "merges": [list(m) for m in merges]},
    }


def _normalizer(d: dict[str, Any]) -> None:
    d["normalizer"] = {"type": "NFC"}


def _prefix_space(d: dict[str, Any]) -> None:
    d["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = True


def _digits(d: dict[str, Any]) -> None:
    d["pre_tokenizer"]["pretokenizers"].insert(0, {"type": "Digits", "individual_digits": True})


def _ids_out_of_order(d: dict[str, Any]) -> None:
    vocab = d["model"]["vocab"]
    # The tokens of the first two merges swap ids.
    first, second = ("".join(m) for m in d["model"]["merges"][:2])
    vocab[first], vocab[second] = vocab[second], vocab[first]


def _lstrip(d: dict[str, Any]) -> None:
    d["added_tokens"][0]["lstrip"] = True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_normalizer, "it has a NFC normalizer; tiktoken has none"),
        (_prefix_space, "adds a space before the text"),
        (_digits, "its pre-tokenizer is Digits \\+ Split \\+ ByteLevel"),
        (_ids_out_of_order, "ids do not follow the merge order"),
        (_lstrip, "has lstrip=true"),
    ],
)
def test_what_tiktoken_cannot_run_is_refused(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = qwen()
    change(data)
    with pytest.raises(tokkit.ExportError, match=message) as info:
        ex.export(write(tmp_path, data), "tiktoken", tmp_path / "out")
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("cannot export ")
    assert not (tmp_path / "out").exists()


def test_added_tokens_that_start_alike_are_refused_for_tiktoken(tmp_path: Path) -> None:
    """Character-level BPE pads with whitespace runs ("\n\n", "\n\n\n", ...) as added tokens:
    tokenizers matches the longest, tiktoken tries its special tokens in hash order."""
    from tokkit.trainers import CharBPE

    trainer = CharBPE(vocab_size=1000, max_token_chars=3, pad_tokens=13)
    tokkit.train(str(CORPORA / "en-prose.txt"), trainer, out=tmp_path / "char", progress="none")
    with pytest.raises(tokkit.ExportError, match=r"added tokens '\\n\\n' and '\\n\\n\\n' start"):
        ex.export(tmp_path / "char", "tiktoken", tmp_path / "out")


def test_a_phantom_pair_that_meets_is_refused_with_the_text(tmp_path: Path) -> None:
    # "bc" is merged before "ab", so "abc" alone becomes "a" + "bc": no merge joins those, but
    # tiktoken joins any pair whose concatenation is a token ("abc", made by ab + c).
    data = byte_level([("b", "c"), ("a", "b"), ("ab", "c")])
    with pytest.raises(tokkit.ExportError, match=r"turn b'abc' into b'a' \+ b'bc'"):
        ex.export(write(tmp_path, data), "tiktoken", tmp_path / "out")


def test_a_token_its_own_bytes_do_not_reach_is_refused(tmp_path: Path) -> None:
    # "xyz" is made by xy + z, but "yz" comes first: "xyz" alone ends as x + yz, and tiktoken
    # returns a pre-token found whole in its ranks as that token.
    data = byte_level([("y", "z"), ("x", "y"), ("xy", "z"), ("x", "yz")])
    data["model"]["merges"] = [["y", "z"], ["x", "y"], ["xy", "z"]]
    with pytest.raises(tokkit.ExportError, match="turn b'xyz' into"):
        ex.export(write(tmp_path, data), "tiktoken", tmp_path / "out")


def test_a_proper_toy_bpe_exports(tmp_path: Path) -> None:
    data = byte_level([("a", "b"), ("b", "c"), ("ab", "c")])
    result = ex.export(write(tmp_path, data), "tiktoken", tmp_path / "out")
    assert result.proven
    assert ex.load_tiktoken(result.out).encode("abc abcbc") == tokkit.load(tmp_path / "tok").encode(
        "abc abcbc"
    )


def test_byte_level_bpe_is_no_sentencepiece_model(tmp_path: Path) -> None:
    with pytest.raises(tokkit.ExportError, match="byte-level BPE \\(GPT-2 style\\)") as info:
        ex.export(fixture_tokenizer("smollm2-135m-8k"), "sentencepiece", tmp_path / "out")
    assert info.value.hint == "export it with format tiktoken instead"


def _spm_style() -> dict[str, Any]:
    vocab = {"<unk>": 0, "a": 1, "b": 2, "\u2581": 3, "ab": 4, "\u2581ab": 5}
    return {
        "added_tokens": [
            {
                "id": 0,
                "content": "<unk>",
                "special": True,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
            }
        ],
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
        "pre_tokenizer": None,
        "decoder": None,
        "model": {
            "type": "BPE",
            "unk_token": "<unk>",
            "fuse_unk": True,
            "vocab": vocab,
            "merges": [["a", "b"], ["\u2581", "ab"]],
        },
    }


def test_a_sentencepiece_style_toy_exports(tmp_path: Path) -> None:
    result = ex.export(write(tmp_path, _spm_style()), "sentencepiece", tmp_path / "out")
    assert result.proven
    assert result.verified


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.update(
                normalizer={
                    "type": "Sequence",
                    "normalizers": [
                        {"type": "Prepend", "prepend": "\u2581"},
                        d["normalizer"],
                    ],
                }
            ),
            "prepends ▁",
        ),
        (lambda d: d.update(normalizer={"type": "NFKC"}), "its normalizer is NFKC"),
        (lambda d: d.update(pre_tokenizer={"type": "Whitespace"}), "pre-tokenizer is Whitespace"),
        (lambda d: d["model"].update(fuse_unk=False), "fuse_unk=false"),
        (lambda d: d["model"].update(unk_token=None), "no unk token"),
        (lambda d: d["model"].update(byte_fallback=True), "of the 256 <0xNN> byte tokens"),
    ],
)
def test_what_sentencepiece_cannot_run_is_refused(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = _spm_style()
    change(data)
    with pytest.raises(tokkit.ExportError, match=message):
        ex.export(write(tmp_path, data), "sentencepiece", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_sentencepiece_style_bpe_is_no_tiktoken_file(tmp_path: Path) -> None:
    data = _spm_style()
    data["model"]["byte_fallback"] = True
    with pytest.raises(tokkit.ExportError, match="SentencePiece-style") as info:
        ex.export(write(tmp_path, data), "tiktoken", tmp_path / "out")
    assert info.value.hint == "export it with format sentencepiece instead"


@pytest.mark.parametrize("kind", ["WordPiece", "Unigram"])
def test_other_models_are_refused(tmp_path: Path, kind: str) -> None:
    from tokenizers import Tokenizer, models

    if kind == "WordPiece":
        model = models.WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]")
    else:
        model = models.Unigram([("<unk>", 0.0), ("a", -1.0)], 0)
    data = json.loads(Tokenizer(model).to_str())
    for fmt in ex.FORMATS:
        with pytest.raises(tokkit.ExportError, match=f"it is a {kind} model"):
            ex.export(write(tmp_path / fmt, data), fmt, tmp_path / fmt / "out")


def test_an_existing_output_is_kept_without_force_and_replaced_with_it(tmp_path: Path) -> None:
    source = fixture_tokenizer("qwen2.5-coder-0.5b-8k")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(tokkit.OutputExistsError, match="already exists"):
        ex.export(source, "tiktoken", out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    ex.export(source, "tiktoken", out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["tiktoken.json", "tokenizer.tiktoken"]
    # A refused export leaves the old output as it was.
    with pytest.raises(tokkit.ExportError):
        ex.export(source, "sentencepiece", out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["tiktoken.json", "tokenizer.tiktoken"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporaries left


def test_force_never_replaces_the_input(tmp_path: Path) -> None:
    source = write(tmp_path, qwen())
    with pytest.raises(tokkit.OutputError, match="holds the input"):
        ex.export(source, "tiktoken", source.parent, force=True)
    assert source.is_file()


def test_unknown_format_and_missing_export(tmp_path: Path) -> None:
    with pytest.raises(tokkit.ConfigError, match="unknown export format 'gguf'"):
        ex.export(fixture_tokenizer("smollm2-135m-8k"), "gguf", tmp_path / "o")  # type: ignore[arg-type]
    with pytest.raises(tokkit.TokenizerNotFoundError, match=r"no tiktoken\.json"):
        ex.load_tiktoken(tmp_path)
