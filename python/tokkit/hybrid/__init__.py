"""The morphological hybrid tokenizer (``docs/design/hybrid.md``): roots, suffixes whose
allomorphs share one id, case markers and byte-level BPE pieces, lossless by construction.

A language is data, not code (design/hybrid.md §1): a directory holding ``language.json`` (case
rules, archiphonemes, suffix templates) and ``roots.tsv`` (root groups, best first). tokkit ships
some under ``tokkit/hybrid/langs/<name>/`` (:data:`LANGS`); any directory with the two files is a
language too::

    import tokkit
    from tokkit.trainers import Hybrid
    tok = tokkit.train("corpora/tr.txt", Hybrid(vocab_size=32768, lang="tr"), out="tr-hybrid")
    ids = tokkit.load("tr-hybrid").encode("Evlerimizden geldik")

    from tokkit.hybrid import HybridTokenizer  # a transformers tokenizer over the same encoder
    hf = HybridTokenizer.from_pretrained("tr-hybrid")

:class:`HybridTokenizer` imports ``transformers`` when it is first used, not before.
:mod:`tokkit.hybrid.metrics` holds the paper's Turkish Token and Pure Token percentages
(``tokkit eval --lang tr``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit._io import read_text_bounded
from tokkit.exceptions import ConfigError, SerializationError

if TYPE_CHECKING:
    from tokkit.hybrid.hf import HybridTokenizer as HybridTokenizer

__all__ = ["LANGS", "LANGS_DIR", "HybridTokenizer", "Language", "language"]

#: Where the shipped languages live, one directory each.
LANGS_DIR = Path(__file__).resolve().parent / "langs"

#: The two files of a language and the most bytes each may have: the largest real lexicon
#: (Turkish, tens of thousands of root groups) is a few MB, so a bigger file is a mistake.
LANGUAGE_FILES = {"language.json": 4 << 20, "roots.tsv": 64 << 20}


def _shipped() -> tuple[str, ...]:
    if not LANGS_DIR.is_dir():
        return ()
    return tuple(
        sorted(
            d.name
            for d in LANGS_DIR.iterdir()
            if d.is_dir() and all((d / f).is_file() for f in LANGUAGE_FILES)
        )
    )


#: The names of the shipped languages (``tr``, ``en``, ...).
LANGS: tuple[str, ...] = _shipped()


@dataclass(frozen=True)
class Language:
    """A language configuration as read from its directory (design/hybrid.md §1).

    Attributes:
        name: Its ``name`` in ``language.json`` (the directory's name if it has none).
        directory: The directory it was read from.
        language_json: The text of ``language.json``.
        roots_tsv: The text of ``roots.tsv``.
    """

    name: str
    directory: Path
    language_json: str
    roots_tsv: str

    @cached_property
    def sha256(self) -> dict[str, str]:
        """sha256 of each file's UTF-8 bytes (what ``tokkit.json`` records)."""
        return {
            "language.json": hashlib.sha256(self.language_json.encode()).hexdigest(),
            "roots.tsv": hashlib.sha256(self.roots_tsv.encode()).hexdigest(),
        }


def language(name_or_dir: str | os.PathLike[str]) -> Language:
    """The language named ``name_or_dir`` (one of :data:`LANGS`), or the one in that directory.

    A shipped name wins over a directory of the same name in the current directory; give
    ``./tr`` for the latter.

    Raises:
        ConfigError: Neither a shipped language nor a directory.
        SerializationError: A file is missing, too large, a link out of the directory, not
            UTF-8, or ``language.json`` is not a JSON object.
    """
    spec = os.fspath(name_or_dir)
    if isinstance(name_or_dir, str) and spec in LANGS:
        directory = LANGS_DIR / spec
    elif Path(spec).is_dir():
        directory = Path(spec)
    else:
        shipped = ", ".join(LANGS) or "none"
        raise ConfigError(
            f"unknown language {spec!r}: it is no shipped language (shipped: {shipped}) and no "
            "directory",
            hint="give {lang} as a shipped language, or a directory holding language.json and "
            "roots.tsv",
        )
    texts = {name: _read_bounded(directory, name, limit) for name, limit in LANGUAGE_FILES.items()}
    try:
        data: Any = json.loads(texts["language.json"])
    except ValueError as e:
        raise SerializationError(f"{directory / 'language.json'} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise SerializationError(
            f"{directory / 'language.json'} is not a JSON object",
            hint="see docs/design/hybrid.md §1 for the format",
        )
    name = data.get("name")
    return Language(
        name=name if isinstance(name, str) and name else directory.resolve().name,
        directory=directory,
        language_json=texts["language.json"],
        roots_tsv=texts["roots.tsv"],
    )


def _read_bounded(directory: Path, name: str, limit: int) -> str:
    """The UTF-8 text of ``directory/name``: present, inside the directory (a link may not lead
    out of it), at most ``limit`` bytes, checked before reading."""
    path = directory / name
    if not path.is_file():
        raise SerializationError(
            f"{path} is missing: a language directory holds language.json and roots.tsv",
            hint="see docs/design/hybrid.md §1 for the format",
        )
    root = directory.resolve()
    real = path.resolve()
    if root not in real.parents:
        raise SerializationError(f"{path} is a link to {real}, outside the language directory")
    return read_text_bounded(real, limit, "a language file")


def tokenizer_at(path: str | os.PathLike[str]) -> Any | None:
    """A :class:`HybridTokenizer` for a directory holding ``hybrid.json`` (a hybrid tokenizer,
    or a model transplanted onto one) or for that file; ``None`` for anything else, so callers
    that load ``transformers`` tokenizers try it first."""
    p = Path(path)
    if not (p.name == "hybrid.json" and p.is_file()) and not (p / "hybrid.json").is_file():
        return None
    from tokkit.hybrid.hf import HybridTokenizer

    return HybridTokenizer.from_pretrained(p, trust_remote_code=False)


def __getattr__(name: str) -> Any:
    # HybridTokenizer subclasses transformers' class: imported on first use only, so that
    # `import tokkit` stays free of transformers.
    if name == "HybridTokenizer":
        from tokkit.hybrid.hf import HybridTokenizer

        return HybridTokenizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
