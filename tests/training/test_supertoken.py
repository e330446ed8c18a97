"""Supertokens (TokenAdapt): seeded, reproducible chunk sampling across word boundaries, an
inference tokenizer that does not split (ByteLevel without regex), and HF agreement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tokkit

from ..conftest import run_cli

tokenizers = pytest.importorskip("tokenizers")

TRAIN = ["corpora/en-prose.txt", "corpora/code.txt"]


def train(out: Path, seed: int, threads: int = 2) -> Path:
    result = run_cli(
        "train", "--algo", "supertoken", "--seed", str(seed), "--vocab-size", "3000",
        "--min-frequency", "2", "--num-threads", str(threads), "--out", str(out), *TRAIN,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def test_same_seed_same_bytes_other_seed_other_tokenizer(tmp_path: Path) -> None:
    one = (train(tmp_path / "a", 5, threads=1) / "tokenizer.json").read_bytes()
    assert (train(tmp_path / "b", 5, threads=2) / "tokenizer.json").read_bytes() == one
    assert (train(tmp_path / "c", 6) / "tokenizer.json").read_bytes() != one
    meta = json.loads((tmp_path / "a" / "tokkit.json").read_text())
    assert meta["seed"] == 5


def test_tokens_cross_word_boundaries_and_hf_agrees(tmp_path: Path) -> None:
    out = train(tmp_path / "st", 1)
    spec = json.loads((out / "tokenizer.json").read_text())
    assert spec["pre_tokenizer"] == {
        "type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False,
    }  # fmt: skip
    words = [t for t in spec["model"]["vocab"] if "Ġ" in t.strip("Ġ")]
    assert words, "no token spans a space"
    hf = tokenizers.Tokenizer.from_file(str(out / "tokenizer.json"))
    ours = tokkit.load(out)
    text = Path("corpora/en-tech.txt").read_text(encoding="utf-8")[:20000]
    assert ours.encode(text) == hf.encode(text, add_special_tokens=False).ids
    assert ours.decode(ours.encode(text)) == text


@pytest.mark.parametrize(
    ("spec", "message"),
    [("4-5:0.5,6-7:0.6", "sum to"), ("0-3:1", "invalid"), ("words", "cannot read")],
)
def test_bad_chunk_distributions(spec: str, message: str) -> None:
    with pytest.raises(tokkit.ConfigError, match=message):
        tokkit.train(TRAIN[0], tokkit.trainers.Supertoken(vocab_size=1000, chunk_distribution=spec))
