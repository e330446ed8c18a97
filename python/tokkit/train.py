"""Training entry point: :func:`train` runs a trainer of the Rust core and returns a
:class:`TrainedTokenizer`, which :meth:`TrainedTokenizer.save` writes as a Hugging Face
tokenizer directory plus a ``tokkit.json`` provenance sidecar."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from tokkit import _tokkit
from tokkit._io import check_output_dir, dumps, write_dir_atomically
from tokkit._special import hf_side_files
from tokkit.exceptions import ConfigError

Algo = Literal["bpe", "superbpe", "charbpe", "supertoken"]
ProgressMode = Literal["bar", "jsonl", "none"]
ALGORITHMS: tuple[str, ...] = ("bpe", "superbpe", "charbpe", "supertoken")
SUPERBPE_CONFIGS: tuple[str, ...] = ("paper", "recommended")


@dataclass(frozen=True)
class TrainedTokenizer:
    """A trained tokenizer held in memory; :meth:`save` writes it.

    Attributes:
        algorithm: The trainer that made it (``"bpe"``).
        parameters: Every training parameter, as recorded in ``tokkit.json``.
        report: What training saw and did: corpus sha256 and size, counts, timings.
        wall_seconds: Wall time of the whole training call.
    """

    algorithm: str
    parameters: dict[str, Any]
    report: dict[str, Any]
    wall_seconds: float
    _native: Any = field(repr=False)

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""
        return int(self._native.vocab_size)

    @property
    def merges(self) -> list[tuple[str, str]]:
        """Merges in rank order, as byte-level strings (``Ġ`` is a space)."""
        return list(self._native.merges())

    @property
    def special_tokens(self) -> list[str]:
        """Special tokens in id order."""
        return list(self._native.special_tokens)

    def to_json(self) -> str:
        """The HF ``tokenizer.json`` text."""
        return str(self._native.to_json())

    def sidecar(self) -> dict[str, Any]:
        """The ``tokkit.json`` provenance record."""
        name, pattern = self._native.pretokenizer
        return {
            "format_version": 1,
            "tokkit_version": _tokkit.__version__,
            "algorithm": self.algorithm,
            "parameters": self.parameters,
            "pretokenizer": {"name": name, "pattern": pattern},
            "seed": self.parameters.get("seed"),
            "seed_note": "chunk sampling: one random stream per document from (seed, file, line)"
            if "seed" in self.parameters
            else "deterministic training; no randomness is involved",
            "corpus": {
                "sha256": self.report["corpus_sha256"],
                "bytes": self.report["corpus_bytes"],
                "files": self.report["corpus_files"],
                "sequences": self.report["sequences"],
                "skipped_invalid_utf8": self.report["skipped_invalid_utf8"],
            },
            "training": {
                k: self.report[k]
                for k in (
                    "pieces",
                    "corpus_tokens",
                    "distinct_words",
                    "merges",
                    "vocab_size",
                    "stop_reason",
                    "count_seconds",
                    "merge_seconds",
                    "threads",
                )
            },
            **({"superbpe": self.report["superbpe"]} if "superbpe" in self.report else {}),
            "wall_seconds": round(self.wall_seconds, 3),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def save(self, out: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write ``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json`` and
        ``tokkit.json`` into the directory ``out``, atomically.

        Raises:
            OutputExistsError: ``out`` exists and ``force`` is false.
            OutputError: ``out`` cannot be written.
        """
        files = {"tokenizer.json": self.to_json() + "\n", "tokkit.json": dumps(self.sidecar())}
        files.update(hf_side_files(self.special_tokens))
        return write_dir_atomically(out, files, force=force)


def _transition_merges(transition_point: float | None, vocab_size: int) -> int:
    """The stage-1 merge count from a count or a fraction of the vocabulary size."""
    if transition_point is None:
        raise ConfigError("SuperBPE needs a transition point: --transition-point 24000 or 0.75")
    if isinstance(transition_point, float) and 0 < transition_point < 1:
        return round(transition_point * vocab_size)
    if float(transition_point).is_integer() and transition_point >= 0:
        return int(transition_point)
    raise ConfigError(
        f"transition point {transition_point!r} must be a merge count (24000) or a fraction "
        "of the vocab size between 0 and 1 (0.75)"
    )


def _train_superbpe(
    files: list[str] | None, texts: Iterable[str] | None, parameters: dict[str, Any], progress: str
) -> Any:
    """Run the native SuperBPE trainer (it reads the corpus twice, so it needs files)."""
    if texts is not None or not files:
        raise ConfigError("SuperBPE reads the corpus twice, so it needs files, not texts=")
    if parameters["max_token_length"] is not None or parameters["max_token_chars"] is not None:
        raise ConfigError("token length caps are not available with SuperBPE; remove them")
    if parameters["superbpe_config"] not in SUPERBPE_CONFIGS:
        raise ConfigError(
            f"unknown SuperBPE configuration {parameters['superbpe_config']!r}; "
            f"choose one of: {', '.join(SUPERBPE_CONFIGS)}"
        )
    parameters["pretokenizer"] = f"superbpe-{parameters['superbpe_config']}"
    return _tokkit.train_superbpe(
        files,
        vocab_size=parameters["vocab_size"],
        transition_merges=parameters["transition_merges"],
        config=parameters["superbpe_config"],
        min_frequency=parameters["min_frequency"],
        special_tokens=parameters["special_tokens"],
        full_alphabet=parameters["full_alphabet"],
        max_words=parameters["max_words"],
        text_field=parameters["text_field"],
        strict_utf8=parameters["strict"],
        num_threads=parameters["num_threads"],
        progress=progress,
    )


def _as_files(corpus: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    if isinstance(corpus, str | os.PathLike):
        return [os.fspath(corpus)]
    return [os.fspath(c) for c in corpus]


def train(
    corpus: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    *,
    texts: Iterable[str] | None = None,
    algo: Algo = "bpe",
    vocab_size: int,
    pretokenizer: str = "gpt2",
    min_frequency: int = 0,
    special_tokens: Sequence[str] = (),
    max_token_length: int | None = None,
    max_token_chars: int | None = None,
    full_alphabet: bool = True,
    text_field: str | None = None,
    strict: bool = False,
    num_threads: int | None = None,
    progress: ProgressMode = "none",
    transition_point: float | None = None,
    superbpe_config: str = "paper",
    max_words: int = 4,
    pad_tokens: int = 0,
    seed: int = 0,
    chunk_distribution: str | None = None,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> TrainedTokenizer:
    """Train a tokenizer on files and/or an iterable of strings.

    Args:
        corpus: Files, directories (walked recursively) or globs; ``.gz`` is decompressed,
            ``.jsonl``/``.ndjson`` are read as JSON lines. Each line is one sequence.
        texts: Strings to train on, one sequence each (like ``train_from_iterator``).
        algo: The trainer. ``"bpe"``: byte-level BPE with HF ``BpeTrainer`` semantics.
        vocab_size: Final vocabulary size, counting special tokens and the 256-byte alphabet.
        pretokenizer: ``gpt2``, ``llama3``, ``o200k``, ``none`` (no split) or a custom regex.
        min_frequency: Stop when the most frequent pair is rarer than this.
        special_tokens: Special tokens, given ids ``0..k-1``.
        max_token_length: HF's ``max_token_length``, off-by-one included: the longest token
            has ``max(2, n - 1)`` bytes.
        max_token_chars: Inclusive cap: no token longer than this many bytes (byte-level
            symbols). Give one of the two caps at most.
        full_alphabet: Start from all 256 bytes (else only the bytes seen).
        text_field: JSON-lines field holding the text (default ``text``).
        strict: Fail on invalid UTF-8 instead of skipping (and counting) such lines.
        num_threads: Worker threads (default: ``TOKKIT_NUM_THREADS`` or all cores). The result
            does not depend on it.
        progress: ``bar``, ``jsonl`` (JSON lines on stderr) or ``none``.
        transition_point: SuperBPE only: merges learned in stage 1 before superword merges
            start, as a count (``24000``) or a fraction of ``vocab_size`` (``0.75``).
        superbpe_config: SuperBPE only: ``paper`` (default; the 2025 paper's configuration,
            the most compressive on our English benchmark) or ``recommended`` (the authors'
            later configuration).
        max_words: SuperBPE only: most space-separated words in one token (paper: 4).
        pad_tokens: charbpe only: ids reserved for whitespace-run padding tokens ("  ", "\\n\\n",
            ...); training stops that many ids short and padding fills the vocabulary to exactly
            ``vocab_size`` (more padding if training stops early). KL3M reserves 13.
        seed: supertoken only: seed of the chunk sampling (same seed and corpus, same output).
        chunk_distribution: supertoken only: chunk lengths in chars with weights summing to 1,
            as ``"4-5:0.2,6-9:0.8"`` (default: TokenAdapt's table, normalised).
        out: If given, save there (see :meth:`TrainedTokenizer.save`); checked before training.
        force: Replace an existing ``out``.

    Returns:
        The trained tokenizer.

    Raises:
        ConfigError: Invalid parameters (vocab too small, bad regex, unknown algorithm...).
        CorpusError: Missing files, empty corpus, invalid UTF-8 with ``strict``.
        OutputExistsError: ``out`` exists and ``force`` is false.
        KeyboardInterrupt: Ctrl-C; training stops within a second and nothing is written.
    """
    if algo not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm {algo!r}; choose one of: {', '.join(ALGORITHMS)}")
    if isinstance(texts, str | bytes):
        raise ConfigError("texts must be an iterable of strings, not a single string")
    if out is not None:
        check_output_dir(out, force=force)
    files = _as_files(corpus) if corpus is not None else None
    parameters: dict[str, Any] = {
        "vocab_size": vocab_size,
        "pretokenizer": pretokenizer,
        "min_frequency": min_frequency,
        "special_tokens": list(special_tokens),
        "max_token_length": max_token_length,
        "max_token_chars": max_token_chars,
        "full_alphabet": full_alphabet,
        "text_field": text_field,
        "strict": strict,
        "num_threads": num_threads,
    }
    for name in (
        "vocab_size",
        "min_frequency",
        "max_token_length",
        "max_token_chars",
        "num_threads",
    ):
        value = parameters[name]
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
    if algo == "charbpe":
        if max_token_chars is None:
            raise ConfigError(
                "character-level BPE needs a length cap: --max-token-chars 3 (KL3M 4k, 8k) "
                "or 4 (16k)"
            )
        if not isinstance(pad_tokens, int) or not 0 <= pad_tokens < vocab_size:
            raise ConfigError(
                f"pad_tokens must be between 0 and the vocab size, got {pad_tokens!r}"
            )
        parameters["pad_tokens"] = pad_tokens
    if algo == "supertoken":
        if not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
        parameters.update(seed=seed, chunk_distribution=chunk_distribution, pretokenizer="none")
    if algo == "superbpe":
        parameters.update(
            transition_merges=_transition_merges(transition_point, vocab_size),
            superbpe_config=superbpe_config,
            max_words=max_words,
        )
    started = time.perf_counter()
    if algo == "superbpe":
        native = _train_superbpe(files, texts, parameters, progress)
    else:
        padded = algo == "charbpe"
        native = _tokkit.train_bpe(
            files,
            texts,
            vocab_size=vocab_size - pad_tokens if padded else vocab_size,
            pretokenizer=pretokenizer,
            min_frequency=min_frequency,
            special_tokens=list(special_tokens),
            max_token_length=max_token_length,
            max_token_chars=max_token_chars,
            full_alphabet=full_alphabet,
            text_field=text_field,
            strict_utf8=strict,
            num_threads=num_threads,
            progress=progress,
            pad_to=vocab_size if padded else None,
            chunk_seed=seed if algo == "supertoken" else None,
            chunk_distribution=chunk_distribution if algo == "supertoken" else None,
        )
    trained = TrainedTokenizer(
        algorithm=algo,
        parameters=parameters,
        report=json.loads(native.report_json()),
        wall_seconds=time.perf_counter() - started,
        _native=native,
    )
    if out is not None:
        trained.save(out, force=force)
    return trained
