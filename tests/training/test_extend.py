"""Extending pretrained tokenizers (``tokkit train --extend``, ``BPE(extend=...)``) on real bases:
ids, merges and added tokens kept; HF ``tokenizers`` and ``transformers`` encode the result as
tokkit does; every text's tokens are the base's, merged further; decoding is unchanged; zero
merges give the base file byte for byte; bad bases and sizes are typed errors with nothing
written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokkit
from tokkit.exceptions import ConfigError, SerializationError, TokenizerNotFoundError
from tokkit.trainers import BPE, SuperBPE, Trainer

from ..conftest import CORPORA, ROOT, run_cli

SMOL_8K = ROOT / "tests" / "fixtures" / "tokenizers" / "smollm2-135m-8k"
QWEN_8K = ROOT / "tests" / "fixtures" / "tokenizers" / "qwen2.5-coder-0.5b-8k"
TR = str(CORPORA / "tr.txt")


@pytest.fixture(scope="module")
def smol_ext(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ext") / "smol-tr"
    tokkit.train(TR, BPE(vocab_size=9216, extend=str(SMOL_8K)), out=out)
    return out


def _vocab(path: Path) -> dict[str, int]:
    data = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
    return dict(data["model"]["vocab"])


def test_every_base_token_id_merge_and_added_token_is_kept(smol_ext: Path) -> None:
    base = json.loads((SMOL_8K / "tokenizer.json").read_text(encoding="utf-8"))
    ext = json.loads((smol_ext / "tokenizer.json").read_text(encoding="utf-8"))
    assert ext["added_tokens"] == base["added_tokens"]
    n = len(base["model"]["merges"])
    assert ext["model"]["merges"][:n] == base["model"]["merges"]
    assert len(ext["model"]["merges"]) == n + 1024
    vocab = ext["model"]["vocab"]
    assert {t: vocab[t] for t in base["model"]["vocab"]} == base["model"]["vocab"]
    assert sorted(i for i in vocab.values() if i >= 8192) == list(range(8192, 9216))
    # The rest of the file is the base's, byte for byte.
    assert (smol_ext / "tokenizer.json").read_text(encoding="utf-8")[:1000] == (
        SMOL_8K / "tokenizer.json"
    ).read_text(encoding="utf-8")[:1000]
    extends = json.loads((smol_ext / "tokkit.json").read_text(encoding="utf-8"))["extends"]
    assert (extends["base_vocab_size"], extends["new_tokens"]) == (8192, 1024)


def test_a_prepared_model_name_is_a_base_and_its_hf_files_come_along(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import AutoTokenizer

    from .._models import prepared, shared_cache

    base = prepared("smollm2-135m")
    monkeypatch.setenv("TOKKIT_CACHE", str(shared_cache()))
    out = tmp_path / "smol"
    tokkit.train(TR, BPE(vocab_size=49152 + 256, extend="smollm2-135m"), out=out)
    for name in ("tokenizer_config.json", "chat_template.jinja"):
        assert (out / name).read_bytes() == (base / name).read_bytes()
    before = AutoTokenizer.from_pretrained(base, trust_remote_code=False)
    after = AutoTokenizer.from_pretrained(out, trust_remote_code=False)
    assert len(after) == len(before) + 256
    assert after.chat_template == before.chat_template
    assert (after.bos_token, after.eos_token, after.pad_token) == (
        before.bos_token,
        before.eos_token,
        before.pad_token,
    )
    chat = [{"role": "user", "content": "Merhaba, nas\u0131ls\u0131n\u0131z?"}]
    text = before.apply_chat_template(chat, tokenize=False)
    assert after.apply_chat_template(chat, tokenize=False) == text
    assert after.decode(after(text).input_ids) == before.decode(before(text).input_ids)


def _lines(name: str, n: int) -> list[str]:
    text = (CORPORA / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line][:n]


def test_hf_tokenizers_and_transformers_encode_as_tokkit(smol_ext: Path) -> None:
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    hf = Tokenizer.from_file(str(smol_ext / "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(smol_ext, trust_remote_code=False)
    ours = tokkit.load(smol_ext)
    assert len(auto) == 9216
    texts = _lines("tr.txt", 60) + _lines("en-prose.txt", 60) + _lines("unicode-edge.txt", 200)
    for text in texts:
        ids = ours.encode(text)
        assert hf.encode(text, add_special_tokens=False).ids == ids, text
        assert auto(text, add_special_tokens=False).input_ids == ids, text


def _ends(tok: tokkit.Tokenizer, ids: list[int]) -> set[int]:
    ends, at = set(), 0
    for i in ids:
        at += len(tok.token_bytes(i))
        ends.add(at)
    return ends


@pytest.fixture(scope="module")
def pair(smol_ext: Path) -> tuple[tokkit.Tokenizer, tokkit.Tokenizer]:
    return tokkit.load(SMOL_8K), tokkit.load(smol_ext)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
    | st.sampled_from(_lines("tr.txt", 160))
)
def test_tokens_are_the_base_tokens_merged_further(
    pair: tuple[tokkit.Tokenizer, tokkit.Tokenizer], text: str
) -> None:
    base, ext = pair
    b, e = base.encode(text), ext.encode(text)
    assert ext.decode(e) == base.decode(b)
    assert len(e) <= len(b)
    assert _ends(ext, e) <= _ends(base, b)


def test_extension_compresses_turkish(pair: tuple[tokkit.Tokenizer, tokkit.Tokenizer]) -> None:
    base, ext = pair
    text = "\n".join(_lines("tr.txt", 160))
    assert len(ext.encode(text)) < 0.8 * len(base.encode(text))


def test_zero_merges_write_the_base_file_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "same"
    result = run_cli(
        "train",
        "--extend",
        str(SMOL_8K),
        "--vocab-size",
        "9000",
        "--min-frequency",
        "1000000000",
        "--progress",
        "none",
        "--out",
        str(out),
        TR,
    )
    assert result.returncode == 0, result.stderr
    assert (out / "tokenizer.json").read_bytes() == (SMOL_8K / "tokenizer.json").read_bytes()


def test_qwen_added_tokens_keep_their_ids_and_new_ids_follow_them(tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    out = tmp_path / "qwen"
    trained = tokkit.train(str(CORPORA / "code.txt"), BPE(vocab_size=9000, extend=str(QWEN_8K)))
    trained.save(out)
    base = Tokenizer.from_file(str(QWEN_8K / "tokenizer.json"))
    ext = Tokenizer.from_file(str(out / "tokenizer.json"))
    last = max(base.get_vocab().values())
    assert ext.get_vocab_size() == 9000 == last + 1 + (9000 - base.get_vocab_size())
    assert {t: i for t, i in ext.get_vocab().items() if i <= last} == base.get_vocab()
    text = "<|im_start|>user\ndef f(x):\n    return x<|im_end|>"
    assert ext.encode(text).ids == tokkit.load(out).encode(text)
    assert ext.decode(ext.encode(text).ids, skip_special_tokens=False) == text


def test_superbpe_on_top_of_a_byte_level_base(tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    out = tmp_path / "super"
    en = [str(CORPORA / "en-prose.txt"), str(CORPORA / "en-tech.txt")]
    trained = tokkit.train(en, SuperBPE(vocab_size=10240, extend=str(SMOL_8K)), out=out)
    assert trained.report["extension"]["new_tokens"] == 2048
    hf = Tokenizer.from_file(str(out / "tokenizer.json"))
    words = [t for t, i in hf.get_vocab().items() if i >= 8192 and "Ġ" in t.strip("Ġ")]
    assert words, "no superword was learned"
    text = "\n".join(_lines("en-prose.txt", 50))
    ids = tokkit.load(out).encode(text)
    assert hf.encode(text, add_special_tokens=False).ids == ids
    assert len(ids) < len(tokkit.load(SMOL_8K).encode(text))
    assert hf.decode(ids) == text


def test_the_recipe_in_tokkit_json_repeats_the_extension(smol_ext: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    result = run_cli(
        "train",
        "--recipe",
        str(smol_ext / "tokkit.json"),
        "--progress",
        "none",
        "--out",
        str(again),
        TR,
    )
    assert result.returncode == 0, result.stderr
    assert (again / "tokenizer.json").read_bytes() == (smol_ext / "tokenizer.json").read_bytes()
    trainer = Trainer.from_dict(json.loads((again / "tokkit.json").read_text())["trainer"])
    assert trainer == BPE(vocab_size=9216, extend=str(SMOL_8K))


def test_bad_input_is_a_typed_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="not above the base's 8192 ids"):
        tokkit.train(TR, BPE(vocab_size=8192, extend=str(SMOL_8K)), out=out)
    with pytest.raises(ConfigError, match="pre-tokenizer"):
        BPE(vocab_size=9000, pretokenizer="o200k", extend=str(SMOL_8K))
    with pytest.raises(ConfigError, match="transition point"):
        SuperBPE(vocab_size=9000, transition_point=0.5, extend=str(SMOL_8K))
    with pytest.raises(ConfigError, match="transition point"):
        SuperBPE(vocab_size=9000)
    with pytest.raises(TokenizerNotFoundError):
        tokkit.train(TR, BPE(vocab_size=9000, extend=str(tmp_path / "nothing")), out=out)

    from tokenizers import Tokenizer
    from tokenizers.models import WordPiece

    wordpiece = tmp_path / "wp"
    wordpiece.mkdir()
    Tokenizer(WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]")).save(
        str(wordpiece / "tokenizer.json")
    )
    with pytest.raises(SerializationError, match="byte_fallback"):
        tokkit.train(TR, BPE(vocab_size=9000, extend=str(wordpiece)), out=out)
    result = run_cli(
        "train", "--extend", str(wordpiece), "--vocab-size", "9000", "--out", str(out), TR
    )
    assert result.returncode != 0
    assert "WordPiece" in result.stderr, result.stderr
    result = run_cli(
        "train", "--extend", str(SMOL_8K), "--vocab-size", "100", "--out", str(out), TR
    )
    assert result.returncode != 0
    assert "--vocab-size above 8192" in result.stderr, result.stderr
    assert not out.exists()


def test_a_base_directory_never_leads_out_of_itself(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "tokenizer.json").symlink_to(SMOL_8K / "tokenizer.json")
    with pytest.raises(ConfigError, match="link out of"):
        tokkit.train(TR, BPE(vocab_size=9000, extend=str(base)))
    # The file itself, named directly, is fine.
    tokkit.train(TR, BPE(vocab_size=8200, extend=str(SMOL_8K / "tokenizer.json")))


def test_a_base_whose_files_disagree_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    data = json.loads((SMOL_8K / "tokenizer.json").read_text(encoding="utf-8"))
    merges = [" ".join(m) for m in data["model"]["merges"]]
    base = tmp_path / "base"
    base.mkdir()
    (base / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    (base / "vocab.json").write_text(json.dumps(data["model"]["vocab"]), encoding="utf-8")
    (base / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges[1:]), encoding="utf-8")
    with pytest.raises(SerializationError, match=r"merges\.txt and tokenizer\.json"):
        tokkit.train(TR, BPE(vocab_size=9000, extend=str(base)), out=out)
    (base / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges), encoding="utf-8")
    tokkit.train(TR, BPE(vocab_size=8200, extend=str(base)))  # agreeing files are fine
    # Inside tokenizer.json: a merge of a token the vocab lacks.
    data["model"]["merges"].append(["Ġnot", "Ġthere"])
    (base / "merges.txt").unlink()
    (base / "vocab.json").unlink()
    (base / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SerializationError, match="not in the vocab"):
        tokkit.train(TR, BPE(vocab_size=9000, extend=str(base)), out=out)
    assert not out.exists()


@pytest.mark.slow
def test_gemma_extension_encodes_as_hf(tmp_path: Path) -> None:
    """SentencePiece-style with byte fallback, 262k ids (the prepared Gemma-3-270M)."""
    from tokenizers import Tokenizer

    from .._models import prepared

    base = prepared("gemma3-270m")
    out = tmp_path / "gemma-tr"
    tokkit.train(TR, BPE(vocab_size=262144 + 2048, extend=str(base)), out=out)
    hf = Tokenizer.from_file(str(out / "tokenizer.json"))
    old = Tokenizer.from_file(str(base / "tokenizer.json"))
    ours = tokkit.load(out)
    for text in _lines("tr.txt", 100) + _lines("unicode-edge.txt", 200):
        ids = hf.encode(text, add_special_tokens=False).ids
        assert ours.encode(text) == ids
        assert hf.decode(ids) == old.decode(old.encode(text, add_special_tokens=False).ids)
    assert not [t for t in _vocab(out) if t.startswith("<0x") and len(t) > 6]
