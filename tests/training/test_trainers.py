"""The trainer objects (``tokkit.trainers``) mirror the core's ``TrainerConfig``: same fields and
defaults, frozen, checked by the core when made, and a JSON form that round-trips."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import tokkit
from tokkit import _tokkit
from tokkit.trainers import BPE, TRAINERS, CharBPE, Hybrid, SuperBPE, Supertoken, Trainer

#: The hybrid tests' own tiny language (a directory is a language: design/hybrid.md §1).
MINI = str(Path(__file__).resolve().parents[1] / "hybrid" / "data" / "mini-tr")

EXAMPLES: list[Trainer] = [
    BPE(vocab_size=1000, pretokenizer="llama3", special_tokens=["<s>"]),
    SuperBPE(vocab_size=32000, transition_point=0.75),
    CharBPE(vocab_size=4096, max_token_chars=3),
    Supertoken(vocab_size=16000, seed=3),
    Hybrid(vocab_size=2000, lang=MINI, segmentation="pure_path", max_roots=10),
]
#: The trainers the core's TrainerConfig checks (the hybrid has its own check).
BPE_FAMILY = [t for t in EXAMPLES if t.algorithm != "hybrid"]


def test_every_core_algorithm_has_one_trainer_class() -> None:
    assert sorted(TRAINERS) == sorted(t.algorithm for t in EXAMPLES)


@pytest.mark.parametrize("trainer", BPE_FAMILY, ids=lambda t: t.algorithm)
def test_fields_and_defaults_are_the_cores(trainer: Trainer) -> None:
    # The core fills in every default: the Python object must name the same fields, with the
    # same values, so that neither side can grow an option the other does not know.
    core = json.loads(_tokkit.trainer_config(trainer.to_json()))
    assert core == trainer.to_dict()
    required = {"superbpe": ["transition_point"], "charbpe": ["max_token_chars"]}
    minimal = {"algorithm": trainer.algorithm, "vocab_size": trainer.vocab_size}
    minimal.update({k: getattr(trainer, k) for k in required.get(trainer.algorithm, [])})
    core_defaults = json.loads(_tokkit.trainer_config(json.dumps(minimal)))
    assert core_defaults == Trainer.from_dict(minimal).to_dict()


@pytest.mark.parametrize("trainer", EXAMPLES, ids=lambda t: t.algorithm)
def test_json_form_round_trips_and_objects_are_frozen(trainer: Trainer) -> None:
    assert Trainer.from_dict(json.loads(trainer.to_json())) == trainer
    assert hash(trainer) == hash(Trainer.from_dict(trainer.to_dict()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        trainer.vocab_size = 5  # type: ignore[misc]
    assert trainer.replace(vocab_size=trainer.vocab_size + 1).vocab_size == trainer.vocab_size + 1


def test_bad_values_and_keys_fail_when_the_object_is_made() -> None:
    with pytest.raises(tokkit.ConfigError, match="vocab_size"):
        BPE(vocab_size=10)
    with pytest.raises(tokkit.ConfigError, match="takes no transition_point"):
        Trainer.from_dict({"algorithm": "bpe", "vocab_size": 1000, "transition_point": 3})
    with pytest.raises(tokkit.ConfigError, match="unknown algorithm"):
        Trainer.from_dict({"algorithm": "wordpiece", "vocab_size": 1000})


def test_the_hybrid_is_checked_by_the_core_when_made() -> None:
    # The core's configuration takes exactly the Python fields: one more key is refused.
    trainer = Hybrid(lang=MINI)
    assert Trainer.from_dict({"algorithm": "hybrid", "lang": MINI}) == trainer
    assert trainer.vocab_size == 32768
    assert trainer.special_tokens == ("<pad>", "<bos>", "<eos>")
    _tokkit.hybrid_check_config(trainer.to_json())
    with pytest.raises(tokkit.ConfigError, match="unknown field"):
        _tokkit.hybrid_check_config(json.dumps({**trainer.to_dict(), "seed": 1}))
    with pytest.raises(tokkit.ConfigError, match="vocab size 200 is smaller"):
        Hybrid(vocab_size=200, lang=MINI)
    with pytest.raises(tokkit.ConfigError, match="case marker"):
        Hybrid(lang=MINI, special_tokens=["<uppercase>"])
    with pytest.raises(tokkit.ConfigError, match="unknown language"):
        Hybrid(lang="no-such-language")
