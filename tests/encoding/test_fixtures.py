"""The checked-in tokenizer fixtures are what their README says: intact, and exactly the cut of
the prepared model's tokenizer that ``tests/fixtures/make_tokenizers.py`` makes."""

from __future__ import annotations

import importlib.util

import pytest
import tokenizers

import tokkit

from .._fixtures import TOKENIZERS, checksums, fixture_tokenizer
from .._models import prepared


def _maker():
    spec = importlib.util.spec_from_file_location(
        "make_tokenizers", TOKENIZERS.parent / "make_tokenizers.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _maker()


def test_every_fixture_is_listed_and_intact() -> None:
    on_disk = {p.relative_to(TOKENIZERS).as_posix() for p in TOKENIZERS.glob("*/tokenizer.json")}
    assert set(checksums()) == on_disk == {f"{n}/tokenizer.json" for n in MAKER.FIXTURES}
    for name in MAKER.FIXTURES:
        fixture_tokenizer(name)  # raises on a checksum mismatch


@pytest.mark.parametrize("name", sorted(MAKER.FIXTURES))
def test_fixture_is_the_cut_of_the_prepared_model(name: str) -> None:
    text, _ = MAKER.build(name)
    assert fixture_tokenizer(name).read_text(encoding="utf-8") == text
    model, size = MAKER.FIXTURES[name]
    cut = tokkit.load(fixture_tokenizer(name))
    assert cut.vocab_size == size
    full = tokkit.load(prepared(model))
    hf = tokenizers.Tokenizer.from_file(str(fixture_tokenizer(name)))
    sample = "Hello world, I've 12 tabs\t\there."
    assert cut.encode(sample) == hf.encode(sample).ids
    assert cut.decode(cut.encode(sample)) == full.decode(full.encode(sample)) == sample
