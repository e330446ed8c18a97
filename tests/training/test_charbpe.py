"""Character-level BPE (KL3M style): the inclusive length cap, padding to the exact vocabulary
size with added tokens, round trips through HF, and the property it exists for: OCR-style
noise moves token boundaries only near the edit, less far than plain BPE does."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import tokkit

from ..conftest import run_cli

tokenizers = pytest.importorskip("tokenizers")

TRAIN = ["corpora/en-prose.txt", "corpora/en-tech.txt", "corpora/code.txt"]


@pytest.fixture(scope="module")
def char4k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("char") / "c4k"
    recipe = "kl3m-char-4k"
    result = run_cli("train", "--recipe", recipe, "--min-frequency", "2", "--out", str(out), *TRAIN)
    assert result.returncode == 0, result.stderr
    return out


def test_cap_and_exact_size(char4k: Path) -> None:
    spec = json.loads((char4k / "tokenizer.json").read_text())
    learned = [t for t in spec["model"]["vocab"] if not t.startswith("<")]
    assert max(len(t) for t in learned) == 3  # byte-level chars = bytes: the cap is reached
    hf = tokenizers.Tokenizer.from_file(str(char4k / "tokenizer.json"))
    assert hf.get_vocab_size() == 4096
    padding = [a for a in spec["added_tokens"] if not a["special"]]
    assert padding
    assert all(set(a["content"]) in ({" "}, {"\n"}) for a in padding)
    assert all(a["id"] >= len(spec["model"]["vocab"]) for a in padding)


def test_hf_and_tokkit_agree(char4k: Path) -> None:
    hf = tokenizers.Tokenizer.from_file(str(char4k / "tokenizer.json"))
    ours = tokkit.load(char4k)
    texts = [
        "a   b\n\n\nc",
        "Thc Vnited S tates 5enate is nesp0nslbe for the",
        "x" * 50 + "\n\n\n\n",
    ]
    texts += Path("corpora/tr.txt").read_text(encoding="utf-8").splitlines()[:200]
    assert ours.encode_batch(texts) == [
        e.ids for e in hf.encode_batch(texts, add_special_tokens=False)
    ]
    for t in texts:
        assert ours.decode(ours.encode(t)) == t


def boundaries(tok: tokkit.Tokenizer, text: str) -> list[int]:
    out, pos = [], 0
    for i in tok.encode(text):
        pos += len(tok.token_bytes(i))
        out.append(pos)
    return out


def disturbance(tok: tokkit.Tokenizer, lines: list[str], seed: int = 7) -> float:
    """Mean distance in bytes from an edit to the farthest token boundary it changed."""
    rng = random.Random(seed)
    distances = []
    for line in lines:
        at = rng.randrange(1, len(line) - 1)
        kind = rng.choice(["substitute", "insert", "delete"])
        letter = rng.choice("aeinorstl")
        noisy = {
            "substitute": line[:at] + letter + line[at + 1 :],
            "insert": line[:at] + letter + line[at:],
            "delete": line[:at] + line[at + 1 :],
        }[kind]
        edit = len(line[:at].encode())
        shift = len(noisy.encode()) - len(line.encode())
        clean = set(boundaries(tok, line))
        moved = {b - shift if b > edit else b for b in boundaries(tok, noisy)}
        changed = clean.symmetric_difference(moved)
        distances.append(max((abs(b - edit) for b in changed), default=0))
    return sum(distances) / len(distances)


def test_noise_moves_boundaries_less_than_bpe(char4k: Path, tmp_path: Path) -> None:
    bpe = tokkit.train(TRAIN, tokkit.trainers.BPE(vocab_size=4096), out=tmp_path / "bpe")
    del bpe
    lines = [
        line for line in Path("corpora/en-prose.txt").read_text().splitlines() if len(line) > 40
    ][:400]
    char_distance = disturbance(tokkit.load(char4k), lines)
    bpe_distance = disturbance(tokkit.load(tmp_path / "bpe"), lines)
    assert char_distance < bpe_distance
    assert char_distance < 6


def test_charbpe_needs_a_cap_and_valid_padding() -> None:
    with pytest.raises(TypeError, match="max_token_chars"):
        tokkit.trainers.CharBPE(vocab_size=1000)  # type: ignore[call-arg]
    with pytest.raises(tokkit.ConfigError, match="at least 1"):
        tokkit.train(TRAIN[0], tokkit.trainers.CharBPE(vocab_size=1000, max_token_chars=0))
    with pytest.raises(tokkit.ConfigError, match="pad_tokens"):
        tokkit.train(
            TRAIN[0], tokkit.trainers.CharBPE(vocab_size=1000, max_token_chars=3, pad_tokens=-1)
        )
    with pytest.raises(tokkit.ConfigError, match="padding tokens"):
        tokkit.train(
            TRAIN[0], tokkit.trainers.CharBPE(vocab_size=60000, max_token_chars=2, min_frequency=50)
        )
