"""Merge-for-merge parity with HF ``tokenizers``' ``BpeTrainer`` on the shipped corpora.

The reference is ``Tokenizer(BPE())`` with the ByteLevel pre-tokenizer (or a Split regex before a
non-splitting ByteLevel), ``initial_alphabet=ByteLevel.alphabet()``, ``min_frequency=0`` and no
special tokens, trained with ``train(files)`` on the same files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tokkit

from ..conftest import run_cli

tokenizers = pytest.importorskip("tokenizers")
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers  # noqa: E402


def hf_trained(
    files: list[str], vocab_size: int, pretokenizer: str, **options: object
) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    if pretokenizer == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    elif pretokenizer == "none":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    else:
        pattern = tokkit.PRETOKENIZER_PATTERNS[pretokenizer]
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(pattern), "isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        **{"min_frequency": 0, **options},
    )
    tok.train(files, trainer)
    return tok


def hf_merges(files: list[str], vocab_size: int, pretokenizer: str) -> list[tuple[str, str]]:
    tok = hf_trained(files, vocab_size, pretokenizer)
    return [tuple(m) for m in json.loads(tok.to_str())["model"]["merges"]]


def first_difference(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


@pytest.mark.parametrize("pretokenizer", ["gpt2", "llama3"])
@pytest.mark.parametrize("vocab_size", [1000, 5000, 20000])
def test_merges_equal_hf(corpus_files: list[str], pretokenizer: str, vocab_size: int) -> None:
    ours = tokkit.train(
        corpus_files, tokkit.trainers.BPE(vocab_size=vocab_size, pretokenizer=pretokenizer)
    ).merges
    theirs = hf_merges(corpus_files, vocab_size, pretokenizer)
    assert len(ours) == vocab_size - 256
    assert first_difference(ours, theirs) is None


@pytest.mark.parametrize(("pretokenizer", "vocab_size"), [("o200k", 8000), ("none", 3000)])
def test_merges_equal_hf_other_pretokenizers(pretokenizer: str, vocab_size: int) -> None:
    files = [str(Path(f)) for f in ("corpora/en-prose.txt", "corpora/unicode-edge.txt")]
    ours = tokkit.train(
        files, tokkit.trainers.BPE(vocab_size=vocab_size, pretokenizer=pretokenizer)
    ).merges
    assert first_difference(ours, hf_merges(files, vocab_size, pretokenizer)) is None


def test_cli_output_equals_hf(corpus_files: list[str], tmp_path: Path) -> None:
    """The documented interface: `tokkit train --pretokenizer gpt2` writes HF's merges."""
    out = tmp_path / "bpe"
    result = run_cli(
        "train",
        "--algo",
        "bpe",
        "--vocab-size",
        "3000",
        "--pretokenizer",
        "gpt2",
        "--out",
        str(out),
        *corpus_files,
    )
    assert result.returncode == 0, result.stderr
    written = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    merges = [tuple(m) for m in written["model"]["merges"]]
    assert first_difference(merges, hf_merges(corpus_files, 3000, "gpt2")) is None


def test_options_equal_hf(corpus_files: list[str]) -> None:
    """max_token_length (with HF's off-by-one), min_frequency and special tokens: same merges,
    same vocabulary ids, same early stop."""
    options = {
        "max_token_length": 6,
        "min_frequency": 40,
        "special_tokens": ["<|endoftext|>", "<pad>"],
    }
    theirs = json.loads(hf_trained(corpus_files, 30000, "gpt2", **options).to_str())["model"]
    trainer = tokkit.trainers.BPE(vocab_size=30000, **options)  # type: ignore[arg-type]
    ours = json.loads(tokkit.train(corpus_files, trainer).to_json())["model"]
    assert ours["vocab"] == theirs["vocab"]
    assert ours["merges"] == theirs["merges"]
    assert len(ours["vocab"]) < 30000  # stopped by min_frequency, as HF does
