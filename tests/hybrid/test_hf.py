"""``tokkit.hybrid.HybridTokenizer``, the hybrid as a ``transformers`` tokenizer
(design/hybrid.md §7): its ids are the Rust encoder's, it saves and loads, pads batches into
tensors, and refuses what it cannot do with typed errors."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest

import tokkit
from tokkit.exceptions import NotSupportedError

from ..conftest import CORPORA
from .conftest import lines_of

TEXTS = [
    "Kitaplarımızdan birini okuduk.",  # noqa: RUF001
    "İSTANBUL'DA YAŞIYORUZ",
    "",
    "YouTube'da 3 video, 2\ttab  ve\nsatır 🙂",  # noqa: RUF001
]


@pytest.fixture(scope="module")
def hf(hybrid_dir: Path) -> Any:
    from tokkit.hybrid import HybridTokenizer

    return HybridTokenizer.from_pretrained(hybrid_dir)


def test_importing_tokkit_does_not_import_transformers() -> None:
    code = (
        "import sys, tokkit, tokkit.hybrid, tokkit.trainers, tokkit.cli;"
        "assert 'transformers' not in sys.modules, 'transformers was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ids_are_the_rust_encoders(hf: Any, hybrid_dir: Path) -> None:
    tok = tokkit.load(hybrid_dir)
    lines = [
        *TEXTS,
        *lines_of(CORPORA / "tr.txt")[100:120],
        *lines_of(CORPORA / "unicode-edge.txt"),
    ]
    for text in lines:
        ids = tok.encode(text)
        assert hf(text)["input_ids"] == ids
        assert hf.encode(text) == ids
        assert hf.decode(ids) == text
        assert hf.tokenize(text) == hf.convert_ids_to_tokens(ids)
        assert hf.convert_tokens_to_ids(hf.tokenize(text)) == ids
    batch = hf(lines)["input_ids"]
    assert batch == tok.encode_batch(lines)
    assert hf.batch_decode(batch) == lines


def test_vocabulary_and_special_tokens(hf: Any, hybrid_dir: Path) -> None:
    tok = tokkit.load(hybrid_dir)
    vocab = hf.get_vocab()
    assert len(vocab) == len(hf) == hf.vocab_size == tok.vocab_size
    assert sorted(vocab.values()) == list(range(tok.vocab_size))
    assert hf.convert_ids_to_tokens([0, 1, 2, 3, 4]) == [
        "<uppercase>",
        "<allcaps>",
        "<pad>",
        "<bos>",
        "<eos>",
    ]
    assert (hf.pad_token_id, hf.bos_token_id, hf.eos_token_id) == (2, 3, 4)
    assert hf.unk_token is None
    ids = tok.encode("Evlerimiz")
    assert hf.decode([3, *ids, 4]) == "<bos>Evlerimiz<eos>"
    assert hf.decode([3, *ids, 4], skip_special_tokens=True) == "Evlerimiz"
    with_bos = type(hf).from_pretrained(hybrid_dir, special_tokens_pattern="bos_eos")
    assert with_bos("Evlerimiz")["input_ids"] == [3, *ids, 4]


def test_padding_truncation_and_tensors(hf: Any, hybrid_dir: Path) -> None:
    import torch

    tok = tokkit.load(hybrid_dir)
    batch = ["Evlerimiz", "Kitaplarımızdan birini okuduk ve YouTube'a koyduk.", ""]  # noqa: RUF001
    lengths = [len(tok.encode(t)) for t in batch]
    out = hf(batch, padding=True, return_tensors="pt")
    assert out["input_ids"].shape == (3, max(lengths))
    assert out["input_ids"].dtype == torch.long
    assert out["attention_mask"].sum(dim=1).tolist() == lengths
    for row, n, text in zip(out["input_ids"].tolist(), lengths, batch, strict=True):
        assert row[:n] == tok.encode(text)
        assert row[n:] == [hf.pad_token_id] * (max(lengths) - n)  # padded on the right
    cut = hf(batch, truncation=True, max_length=4, padding="max_length")
    assert [len(ids) for ids in cut["input_ids"]] == [4, 4, 4]
    assert cut["input_ids"][1] == tok.encode(batch[1])[:4]


def test_save_and_load_round_trip(hf: Any, hybrid_dir: Path, tmp_path: Path) -> None:
    from tokkit.hybrid import HybridTokenizer

    saved = tmp_path / "saved"
    hf.save_pretrained(saved)
    names = {p.name for p in saved.iterdir()}
    assert {"hybrid.json", "tokenizer_config.json", "special_tokens_map.json"} <= names
    config = json.loads((saved / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "TokkitHybridTokenizer"
    assert json.loads((saved / "special_tokens_map.json").read_text())["pad_token"] == "<pad>"
    again = HybridTokenizer.from_pretrained(saved)
    tok = tokkit.load(saved)  # what save_pretrained wrote loads in tokkit too
    for text in TEXTS:
        assert again(text)["input_ids"] == tok.encode(text) == hf(text)["input_ids"]
    assert again.special_tokens_map == hf.special_tokens_map
    # It pickles (datasets.map and DataLoader workers need that) and deep-copies.
    for copy in (pickle.loads(pickle.dumps(hf)), deepcopy(hf)):
        assert copy(TEXTS)["input_ids"] == hf(TEXTS)["input_ids"]
        assert copy.pad_token_id == hf.pad_token_id
    single = HybridTokenizer.from_pretrained(hybrid_dir / "hybrid.json")  # the file alone
    assert single.encode(TEXTS[0]) == hf.encode(TEXTS[0])
    assert single.bos_token == "<bos>"  # roles from the specials' spelling


def test_what_it_cannot_do_is_refused(hf: Any, tmp_path: Path) -> None:
    from tokkit.hybrid import HybridTokenizer

    with pytest.raises(NotSupportedError, match="offsets"):
        hf("Evlerimiz", return_offsets_mapping=True)
    with pytest.raises(NotImplementedError):  # also a NotImplementedError
        hf(["a", "b"], return_offsets_mapping=True)
    with pytest.raises(NotSupportedError, match="fixed"):
        hf.add_tokens(["<new-token-never-seen>"])
    with pytest.raises(tokkit.ConfigError, match="no token is named"):
        hf.convert_tokens_to_ids(["<new-token-never-seen>"])
    with pytest.raises(tokkit.TokenizerNotFoundError, match=r"no hybrid\.json"):
        HybridTokenizer.from_pretrained(tmp_path)
    (tmp_path / "hybrid.json").write_text('{"format": "tokkit-hybrid", "version": 1}')
    with pytest.raises(tokkit.SerializationError, match=r"hybrid\.json"):
        HybridTokenizer.from_pretrained(tmp_path)
