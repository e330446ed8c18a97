"""SuperBPE end to end: the CLI interface, stock HF `tokenizers` loading the result and encoding
the training text with exactly the segmentation the trainer assumed, both pinned
configurations, compression against BPE, and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import tokkit

from ..conftest import run_cli

tokenizers = pytest.importorskip("tokenizers")

TRAIN = ["corpora/en-prose.txt", "corpora/en-tech.txt", "corpora/code.txt"]


def lines_of(path: str) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return re.findall(r"[^\n]*\n|[^\n]+$", f.read())


@pytest.fixture(scope="module", params=["recommended", "paper"])
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sbpe") / request.param
    result = run_cli(
        "train", "--algo", "superbpe", "--vocab-size", "6000", "--transition-point", "0.75",
        "--superbpe-config", request.param, "--special-tokens", "<|endoftext|>", "<pad>",
        "--out", str(out), *TRAIN,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def test_hf_encodes_the_training_text_as_the_trainer_did(trained: Path) -> None:
    hf = tokenizers.Tokenizer.from_file(str(trained / "tokenizer.json"))
    lines = [line for f in TRAIN for line in lines_of(f)]
    encoded = hf.encode_batch(lines, add_special_tokens=False)
    meta = json.loads((trained / "tokkit.json").read_text())
    assert sum(len(e.ids) for e in encoded) == meta["training"]["corpus_tokens"]
    sb = meta["superbpe"]
    assert sb["stage1_merges"] == 6000 * 3 // 4
    assert sb["stage1_merges"] + sb["stage2_merges"] == meta["training"]["merges"]
    assert hf.get_vocab_size() == 6000


def test_tokkit_encoder_agrees_with_hf_on_held_out_text(trained: Path) -> None:
    hf = tokenizers.Tokenizer.from_file(str(trained / "tokenizer.json"))
    ours = tokkit.load(trained)
    lines = lines_of("corpora/tr.txt")[:300] + lines_of("corpora/unicode-edge.txt")
    assert ours.encode_batch(lines) == [
        e.ids for e in hf.encode_batch(lines, add_special_tokens=False)
    ]
    for line in lines[:50]:
        assert ours.decode(ours.encode(line)) == line


def test_stage_two_tokens_are_superwords_within_the_rules(trained: Path) -> None:
    spec = json.loads((trained / "tokenizer.json").read_text())
    merges = spec["model"]["merges"]
    stage2 = ["".join(m) for m in merges[4500:]]
    assert any(" " in t.replace("Ġ", " ").strip() for t in stage2), "no superword learned"
    for token in stage2:
        text = token.replace("Ġ", " ")
        assert ": " not in text
        assert len([w for w in text.split(" ") if w]) <= 4


def test_superbpe_compresses_better_than_bpe(trained: Path, tmp_path: Path) -> None:
    bpe = tokkit.train(TRAIN, tokkit.trainers.BPE(vocab_size=6000), out=tmp_path / "bpe")
    sbpe = json.loads((trained / "tokkit.json").read_text())["training"]["corpus_tokens"]
    assert sbpe < 0.95 * bpe.report["corpus_tokens"]


def test_paper_configuration_isolates_digits(trained: Path) -> None:
    spec = json.loads((trained / "tokenizer.json").read_text())
    kinds = [p["type"] for p in spec["pre_tokenizer"]["pretokenizers"]]
    if trained.name == "paper":
        assert kinds == ["Digits", "Split", "ByteLevel"]
    else:
        assert kinds == ["Split", "ByteLevel"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"transition_point": 5800}, "transition point"),
        ({"transition_point": None}, "transition_point"),
        ({"transition_point": 0.5, "config": "nope"}, "unknown variant `nope`"),
        ({"transition_point": 1.5}, "fraction"),
        ({"transition_point": 0.5, "max_token_chars": 3}, "superbpe takes no max_token_chars"),
    ],
)
def test_bad_superbpe_parameters(options: dict[str, object], message: str) -> None:
    with pytest.raises(tokkit.ConfigError, match=message):
        tokkit.trainers.Trainer.from_dict({"algorithm": "superbpe", "vocab_size": 6000, **options})
    # SuperBPE reads its corpus twice: an iterator that can be read once only is refused.
    with pytest.raises(tokkit.ConfigError, match="read only once"):
        tokkit.train(
            None,
            tokkit.trainers.SuperBPE(vocab_size=300, transition_point=10),
            texts=iter(["the quick brown fox jumps over the lazy dog\n"] * 50),
        )


def test_stage_one_running_out_of_pairs_is_reported(tmp_path: Path) -> None:
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("a\nb\n" * 50)
    with pytest.raises(tokkit.CorpusError, match="stage 1 learned only 0 merges"):
        tokkit.train(corpus, tokkit.trainers.SuperBPE(vocab_size=1000, transition_point=10))
    assert list(tmp_path.iterdir()) == [corpus]
