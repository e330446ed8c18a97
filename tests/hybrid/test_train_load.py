"""The hybrid through tokkit's own interfaces (design/hybrid.md §5, §7): trained by the API and
the CLI, written atomically with its provenance, loaded by ``tokkit.load``, lossless on every
line of the shipped corpora, and typed errors for bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

import tokkit
from tokkit.describe import describe
from tokkit.hybrid import LANGS, language
from tokkit.trainers import Hybrid, Trainer

from ..conftest import CORPORA, run_cli
from .conftest import LANG, LANG_DIR, MAX_ROOTS, MINI, lines_of


def test_writes_the_hybrid_and_its_side_files(
    hybrid_dir: Path, tr_slice: Path, trainer: Hybrid
) -> None:
    assert sorted(p.name for p in hybrid_dir.iterdir()) == [
        "hybrid.json",
        "special_tokens_map.json",
        "tokenizer_config.json",
        "tokkit.json",
    ]
    sidecar = json.loads((hybrid_dir / "tokkit.json").read_text())
    assert sidecar["algorithm"] == "hybrid"
    assert Trainer.from_dict(sidecar["trainer"]) == trainer  # a recipe that repeats the run
    assert sidecar["corpus"]["sha256"] == hashlib.sha256(tr_slice.read_bytes()).hexdigest()
    assert sidecar["corpus"]["bytes"] == tr_slice.stat().st_size
    assert sidecar["training"]["vocab_size"] == trainer.vocab_size
    lang = language(LANG)
    assert sidecar["language"]["name"] == lang.name
    for name in ("language.json", "roots.tsv"):
        digest = hashlib.sha256((LANG_DIR / name).read_bytes()).hexdigest()
        assert sidecar["language"]["sha256"][name] == digest
    config = json.loads((hybrid_dir / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "TokkitHybridTokenizer"
    assert (config["bos_token"], config["eos_token"], config["pad_token"]) == (
        "<bos>",
        "<eos>",
        "<pad>",
    )
    # The specials come after the two case markers (design/hybrid.md §2).
    assert {k: v["content"] for k, v in config["added_tokens_decoder"].items()} == {
        "2": "<pad>",
        "3": "<bos>",
        "4": "<eos>",
    }
    special_map = json.loads((hybrid_dir / "special_tokens_map.json").read_text())
    assert special_map == {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>"}


def test_load_runs_it_on_the_rust_encoder(hybrid_dir: Path, trainer: Hybrid) -> None:
    tok = tokkit.load(hybrid_dir)
    assert (tok.format, tok.engine, tok.name) == ("hybrid", "tokkit", hybrid_dir.name)
    assert tok.vocab_size == trainer.vocab_size
    # The case markers are control tokens (no bytes of their own), listed with the specials.
    assert tok.special_tokens == {
        "<uppercase>": 0,
        "<allcaps>": 1,
        "<pad>": 2,
        "<bos>": 3,
        "<eos>": 4,
    }
    same = tokkit.load(hybrid_dir / "hybrid.json")  # the file alone works too
    text = "Kitaplarımızdan birini İstanbul'da OKUDUK, 2024'te.\n"  # noqa: RUF001
    assert same.encode(text) == tok.encode(text)
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode([3, *tok.encode(text), 4], skip_special_tokens=True) == text
    assert tok.decode([3, *tok.encode("ev")]) == "<bos>ev"
    # A token's bytes are its canonical form: no id is empty but the markers.
    assert all(tok.token_bytes(i) for i in range(5, tok.vocab_size))
    info = describe(tok)  # what tokkit inspect shows
    assert info.roles == {"bos": "<bos>", "eos": "<eos>", "pad": "<pad>"}
    assert info.pre_tokenizer == "hybrid segments"
    assert not tok.can_truncate
    with pytest.raises(tokkit.ConfigError, match="no merge list"):
        tok.truncated(1000)


@pytest.mark.parametrize("name", ["tr.txt", "unicode-edge.txt"])
def test_every_line_of_the_corpora_round_trips(hybrid_dir: Path, name: str) -> None:
    tok = tokkit.load(hybrid_dir)
    lines = lines_of(CORPORA / name)
    batch = tok.encode_batch(lines)
    assert batch == [tok.encode(line) for line in lines]
    bad = [line for line, ids in zip(lines, batch, strict=True) if tok.decode(ids) != line]
    assert not bad, bad[:3]
    # The tokenizer is a real one: it compresses the text it was trained on.
    text = "".join(lines[:40])
    if name == "tr.txt":
        assert len(text.encode()) / len(tok.encode(text)) > 2.0  # bytes alone would give 1


def test_the_cli_trains_the_same_tokenizer(
    hybrid_dir: Path, tr_slice: Path, trainer: Hybrid, tmp_path: Path
) -> None:
    out = tmp_path / "cli"
    args = ["train", "--algo", "hybrid", "--lang", LANG, "--vocab-size", str(trainer.vocab_size)]
    result = run_cli(*args, "--max-roots", str(MAX_ROOTS), "--out", str(out), str(tr_slice))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert "trained hybrid with" in result.stderr
    assert (out / "hybrid.json").read_bytes() == (hybrid_dir / "hybrid.json").read_bytes()
    again = run_cli(*args, "--max-roots", str(MAX_ROOTS), "--out", str(out), str(tr_slice))
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert "--force" in again.stderr
    # A recipe repeats the run (tokkit.json's trainer).
    recipe = run_cli(
        "train", "--recipe", str(out / "tokkit.json"), "--out", str(tmp_path / "r"), str(tr_slice)
    )
    assert recipe.returncode == 0, recipe.stderr
    assert (tmp_path / "r" / "hybrid.json").read_bytes() == (out / "hybrid.json").read_bytes()


def test_a_users_language_directory_trains(tmp_path: Path) -> None:
    lang = tmp_path / "my-lang"
    shutil.copytree(MINI, lang)
    trainer = Hybrid(vocab_size=600, lang=str(lang), segmentation="longest_match")
    texts = lines_of(CORPORA / "tr.txt")[:30]
    conventions = tokkit.HFConventions(roles={"pad": "<eos>"}, chat_template="{{ messages }}")
    trained = tokkit.train(
        None, trainer, texts=texts, out=tmp_path / "out", conventions=conventions
    )
    config = json.loads((tmp_path / "out" / "tokenizer_config.json").read_text())
    assert config["pad_token"] == "<eos>"
    assert (tmp_path / "out" / "chat_template.jinja").read_text() == "{{ messages }}"
    tok = tokkit.load(tmp_path / "out")
    assert tok.vocab_size == trained.vocab_size == 600
    # Its roots and suffixes have the ids design/hybrid.md §2 gives them, and lar/ler share one.
    roots = [
        line.split("\t")[0]
        for line in (lang / "roots.tsv").read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    suffixes = json.loads((lang / "language.json").read_text("utf-8"))["suffixes"]
    lar = 5 + len(roots) + suffixes.index("lAr")
    assert tok.encode("kitaplar") == [5 + roots.index("kitap"), lar]
    assert tok.encode("evler") == [5 + roots.index("ev"), lar]
    for text in texts:
        assert tok.decode(tok.encode(text)) == text
    names = json.loads((tmp_path / "out" / "tokkit.json").read_text())["language"]
    assert names["name"] == "mini-tr"


def test_bad_inputs_are_typed_errors(hybrid_dir: Path, tr_slice: Path, tmp_path: Path) -> None:
    with pytest.raises(tokkit.ConfigError, match="unknown language 'xx'") as info:
        Hybrid(lang="xx")
    assert "lang" in str(info.value.hint)
    with pytest.raises(tokkit.ConfigError, match="segmentation"):
        Hybrid(lang=LANG, segmentation="shortest")  # type: ignore[arg-type]
    with pytest.raises(tokkit.ConfigError):
        tokkit.train(tr_slice, Hybrid(vocab_size=300, lang=LANG))  # the dictionaries alone are more
    with pytest.raises(tokkit.OutputExistsError):
        tokkit.train(tr_slice, Hybrid(vocab_size=100_000, lang=LANG), out=hybrid_dir)
    # A language directory with a missing, a malformed or an escaping file.
    lang = tmp_path / "lang"
    shutil.copytree(MINI, lang)
    (lang / "roots.tsv").unlink()
    with pytest.raises(tokkit.SerializationError, match=r"roots\.tsv is missing"):
        language(lang)
    (tmp_path / "outside.tsv").write_text("ev\n")
    (lang / "roots.tsv").symlink_to(tmp_path / "outside.tsv")
    with pytest.raises(tokkit.SerializationError, match="outside the language directory"):
        language(lang)
    (lang / "roots.tsv").unlink()
    (lang / "roots.tsv").write_text("ev\n")
    (lang / "language.json").write_text('{"format": "tokkit-hybrid-language", ')
    with pytest.raises(tokkit.SerializationError, match=r"language\.json is not valid JSON"):
        language(lang)
    (lang / "language.json").write_text(
        (MINI / "language.json").read_text().replace('"by": "last_vowel"', '"by": "nearby"', 1)
    )
    with pytest.raises(tokkit.SerializationError, match="nearby") as info:
        tokkit.train(None, Hybrid(vocab_size=600, lang=str(lang)), texts=["ev\n"])
    assert str(lang / "language.json") in str(info.value)
    (lang / "language.json").write_text((MINI / "language.json").read_text())
    (lang / "roots.tsv").write_text("ev\nkitap\tkitab:Q\n")
    with pytest.raises(tokkit.SerializationError, match="line 2") as info:
        tokkit.train(None, Hybrid(vocab_size=600, lang=str(lang)), texts=["ev\n"])
    assert str(lang / "roots.tsv") in str(info.value)
    # A malformed hybrid.json.
    broken = tmp_path / "broken"
    broken.mkdir()
    text = (hybrid_dir / "hybrid.json").read_text()
    (broken / "hybrid.json").write_text(text[: len(text) // 2])
    with pytest.raises(tokkit.SerializationError, match=r"hybrid\.json"):
        tokkit.load(broken)
    (broken / "hybrid.json").write_text(text.replace('"tokkit-hybrid"', '"tokkit-hybrid-2"', 1))
    with pytest.raises(tokkit.SerializationError, match=r"hybrid\.json"):
        tokkit.load(broken / "hybrid.json")


def test_the_cli_says_what_an_unknown_language_is(tmp_path: Path, tr_slice: Path) -> None:
    result = run_cli(
        "train", "--algo", "hybrid", "--lang", "xx", "--out", str(tmp_path / "o"), str(tr_slice)
    )
    assert result.returncode == 1
    assert "error: unknown language 'xx'" in result.stderr
    assert "hint: give --lang as a shipped language" in result.stderr
    assert not (tmp_path / "o").exists()
    assert "tr" not in LANGS or "tr" in result.stderr
    wrong = run_cli(
        "train", "--lang", "tr", "--vocab-size", "300", "--out", str(tmp_path / "o"), str(tr_slice)
    )
    assert wrong.returncode == 1
    assert "--lang does not apply to --algo bpe" in wrong.stderr


def test_whole_words_through_the_api_and_the_cli(
    hybrid_dir: Path, tr_slice: Path, trainer: Hybrid, tmp_path: Path
) -> None:
    """design/hybrid.md §5.4: the knob round-trips through the recipe and the CLI, keeps the size,
    and its pieces are space-led lower-case words the plain tokenizer spelled with 2+ tokens."""
    ww = Hybrid(vocab_size=trainer.vocab_size, lang=LANG, max_roots=MAX_ROOTS, whole_words=20)
    assert Trainer.from_dict(ww.to_dict()) == ww
    assert ww.to_dict()["whole_words"] == 20
    out = tmp_path / "ww"
    args = ["train", "--algo", "hybrid", "--lang", LANG, "--vocab-size", str(trainer.vocab_size)]
    result = run_cli(
        *args,
        "--max-roots",
        str(MAX_ROOTS),
        "--whole-words",
        "20",
        "--out",
        str(out),
        str(tr_slice),
    )
    assert result.returncode == 0, result.stderr
    sidecar = json.loads((out / "tokkit.json").read_text())
    assert Trainer.from_dict(sidecar["trainer"]) == ww
    plain_pieces = json.loads((hybrid_dir / "hybrid.json").read_text())["pieces"]
    pieces = json.loads((out / "hybrid.json").read_text())["pieces"]
    assert len(pieces) == len(plain_pieces)  # the whole words took the last pieces' ids
    words = pieces[-20:]
    assert all(w.startswith(" ") and w[1:].isalpha() and w[1:] == w[1:].lower() for w in words)
    assert set(words).isdisjoint(plain_pieces[: len(pieces) - 20])  # new pieces, not kept ones
    tok = tokkit.load(out)
    for w in words:
        assert len(tok.encode(w)) == 1
        assert tok.decode(tok.encode(w)) == w
    text = tr_slice.read_text("utf-8")
    assert tok.decode(tok.encode(text)) == text
    bad = run_cli(*args, "--whole-words", "-1", "--out", str(tmp_path / "bad"), str(tr_slice))
    assert bad.returncode == 2


def test_english_trains_with_the_same_code(tmp_path: Path) -> None:
    """Nothing Turkish is wired in (design/hybrid.md §1): the shipped English language trains,
    round-trips, shares its root alternates (`make`/`mak` before `ing`) and lower-cases `I` to
    `i`, not to Turkish dotless i."""
    corpus = tmp_path / "en.txt"
    corpus.write_text("".join(lines_of(CORPORA / "en-prose.txt")[:400]), encoding="utf-8")
    en = tokkit.hybrid.language("en")
    roots = sum(1 for line in en.roots_tsv.splitlines() if line and not line.startswith("#"))
    suffixes = len(json.loads(en.language_json)["suffixes"])
    out = tmp_path / "en-hybrid"
    tokkit.train(
        corpus, Hybrid(vocab_size=2 + 3 + roots + suffixes + 256 + 500, lang="en"), out=out
    )
    tok = tokkit.load(out)
    for line in lines_of(corpus):
        assert tok.decode(tok.encode(line)) == line
    from tokkit.hybrid import HybridTokenizer

    hf = HybridTokenizer.from_pretrained(out)
    assert hf.tokenize("making") == ["make", "+ing"]  # the root's alternate `mak`, one id
    names = hf.tokenize("In India")
    assert names[0] == "<uppercase>"
    assert "\u0131" not in "".join(names)  # dotless i
    assert tok.decode(tok.encode("In India")) == "In India"
