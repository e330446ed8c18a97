"""Training the morphological hybrid (design/hybrid.md §5) behind :func:`tokkit.train`: the
language is read here, the core trains, and :class:`TrainedHybrid` writes ``hybrid.json`` with
its ``tokkit.json`` and the files ``transformers`` reads (design/hybrid.md §7)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tokkit import _tokkit
from tokkit._io import check_output_dir, dumps, write_dir_atomically
from tokkit._progress import ProgressMode
from tokkit._special import HFConventions, hf_side_files
from tokkit.corpus import CorpusArg
from tokkit.exceptions import ConfigError, SerializationError
from tokkit.hybrid import LANGUAGE_FILES, Language, language
from tokkit.sources import DatasetLike
from tokkit.train import TrainedTokenizer, plan_corpus, warn_if_short
from tokkit.trainers import Hybrid

#: ``tokenizer_class`` of the written ``tokenizer_config.json``: no class of ``transformers`` has
#: this name, so nothing loads the directory by guessing; ``tokkit.hybrid.HybridTokenizer`` does.
TOKENIZER_CLASS = "TokkitHybridTokenizer"


@dataclass(frozen=True)
class TrainedHybrid(TrainedTokenizer):
    """A trained hybrid tokenizer held in memory; :meth:`save` writes it.

    Attributes:
        language: The language it was trained with.
    """

    language: Language | None = field(default=None, repr=False)

    @property
    def merges(self) -> list[tuple[str, str]]:
        """Not available: the hybrid keeps its learned pieces as a table, not a merge list."""
        raise ConfigError(
            "a hybrid tokenizer has no merge list: its BPE pieces are a table (their names are in "
            "hybrid.json)"
        )

    @property
    def special_tokens(self) -> list[str]:
        """Special tokens in id order (the case markers are not among them)."""
        return list(self.special_ids)

    @property
    def special_ids(self) -> dict[str, int]:
        """Special token → id, in id order (without the case markers, which the core lists
        with them: they are tokens of the text for ``transformers``, never skipped)."""
        native = self._native
        tokens: dict[str, int] = native.special_tokens
        return {
            t: i
            for t, i in sorted(tokens.items(), key=lambda kv: kv[1])
            if native.token_kind(i) == "special"
        }

    def sidecar(self) -> dict[str, Any]:
        """The ``tokkit.json`` provenance record; its ``trainer`` is a recipe that repeats the
        run, and ``language`` the sha256 of the language's two files."""
        assert self.language is not None
        report = self.report
        return {
            "format_version": 2,
            "tokkit_version": _tokkit.__version__,
            "algorithm": self.algorithm,
            "trainer": self.trainer.to_dict(),
            "corpus_options": self.corpus_options,
            "language": {
                "name": self.language.name,
                "directory": str(self.language.directory),
                "sha256": self.language.sha256,
            },
            "seed": None,
            "seed_note": "deterministic training; no randomness is involved",
            "corpus": {
                "sha256": report.get("corpus_sha256"),
                "bytes": report.get("corpus_bytes"),
                "files": report.get("corpus_files"),
                "sequences": report.get("sequences"),
                "skipped_invalid_utf8": report.get("skipped_invalid_utf8"),
            },
            "training": report,
            "wall_seconds": round(self.wall_seconds, 3),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def side_files(self, conventions: HFConventions | None = None) -> dict[str, str]:
        """``tokenizer_config.json`` and ``special_tokens_map.json`` for
        :class:`tokkit.hybrid.HybridTokenizer`."""
        specials = self.special_ids
        return hf_side_files(
            list(specials),
            conventions,
            ids=list(specials.values()),
            tokenizer_class=TOKENIZER_CLASS,
        )

    def save(
        self,
        out: str | os.PathLike[str],
        *,
        force: bool = False,
        conventions: HFConventions | None = None,
    ) -> Path:
        """Write ``hybrid.json``, ``tokkit.json``, ``tokenizer_config.json`` and
        ``special_tokens_map.json`` into the directory ``out``, atomically.

        Raises:
            OutputExistsError: ``out`` exists and ``force`` is false.
            OutputError: ``out`` cannot be written.
            ConfigError: A role of ``conventions`` names a token that is not special.
        """
        text = self.to_json()
        files = {"hybrid.json": text if text.endswith("\n") else text + "\n"}
        files["tokkit.json"] = dumps(self.sidecar())
        files.update(self.side_files(conventions))
        return write_dir_atomically(out, files, force=force, inputs=self._inputs())

    def _inputs(self) -> list[str | os.PathLike[str]]:
        """What replacing an output must not delete: the corpus and the language's files."""
        inputs: list[str | os.PathLike[str]] = list(self.report.get("corpus_files") or [])
        if self.language is not None:
            inputs.append(self.language.directory)
        return inputs


def train(
    corpus: CorpusArg | DatasetLike | None,
    trainer: Hybrid,
    *,
    texts: Iterable[str] | None,
    text_field: str | None,
    strict: bool,
    num_threads: int | None,
    progress: ProgressMode,
    out: str | os.PathLike[str] | None,
    force: bool,
    conventions: HFConventions | None,
) -> TrainedHybrid:
    """:func:`tokkit.train` for a :class:`~tokkit.trainers.Hybrid` trainer (its arguments were
    checked there)."""
    lang = language(trainer.lang)
    if conventions is not None:
        conventions.resolve(list(trainer.special_tokens))
    plan = plan_corpus(corpus, texts, text_field)
    if out is not None:
        check_output_dir(out, force=force, inputs=[*plan.inputs, lang.directory])
    started = time.perf_counter()
    try:
        native = _tokkit.train_hybrid(
            trainer.to_json(),
            lang.language_json,
            lang.roots_tsv,
            files=plan.files,
            texts=plan.texts,
            text_field=text_field,
            strict_utf8=strict,
            num_threads=num_threads,
            progress=progress,
        )
    except SerializationError as e:
        # The core names the file ("roots.tsv line 3: ..."); say which directory it is in.
        if not e.message.startswith(tuple(LANGUAGE_FILES)):
            raise
        raise SerializationError(
            f"{lang.directory}{os.sep}{e.message}", hint=e.hint_template
        ) from None
    trained = TrainedHybrid(
        trainer=trainer,
        corpus_options={"text_field": text_field, "strict": strict},
        report=plan.record(json.loads(native.report_json())),
        wall_seconds=time.perf_counter() - started,
        _native=native.tokenizer,
        language=lang,
    )
    warn_if_short(trained, "residue tokens", stacklevel=4)
    if out is not None:
        trained.save(out, force=force, conventions=conventions)
    return trained
