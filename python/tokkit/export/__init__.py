"""Export a BPE ``tokenizer.json`` to tiktoken or SentencePiece, exactly or not at all.

:func:`export` writes

- ``tiktoken``: ``tokenizer.tiktoken`` (one ``<base64 token bytes> <rank>`` line per token, the
  rank being the token id) and ``tiktoken.json`` (the split pattern, the special tokens with their
  ids, ``n_vocab`` and a name: what ``tiktoken.Encoding(...)`` needs; :func:`load_tiktoken`
  builds it). For byte-level BPE (GPT-2, Llama-3, Qwen, SmolLM2 and what ``tokkit train``
  writes).
- ``sentencepiece``: ``tokenizer.model`` (a BPE ``ModelProto``). For SentencePiece-style BPE:
  characters with ``▁`` for spaces, optionally with byte fallback (Gemma-3). Byte-level BPE
  cannot be written as SentencePiece, which merges characters, not bytes.

*Exactly* means: every text encodes to the same ids in the target library as in the
``tokenizer.json`` (without BOS/EOS), special tokens aside where noted below. Three things must
agree, and each is checked before anything is written:

1. The steps around the merges. tiktoken splits text with one regex and knows no normalizer, so
   the ``tokenizer.json`` may have no normalizer and at most one regex split (GPT-2's or its
   own) in front of the byte-level step, and no added token may start another (tiktoken tries
   its special tokens in no fixed order). SentencePiece's exported model only turns spaces into
   ``▁``, so that must be the only normalization, with no pre-tokenizer that splits. Anything else
   (WordPiece, Unigram, ``add_prefix_space``, a prepended ``▁``, digit splitting, ...) is an
   :class:`~tokkit.exceptions.ExportError` that names it.
2. The merges. Hugging Face merges the pair with the best *merge* rank; tiktoken and
   SentencePiece join the pair whose *concatenation* ranks best. :mod:`tokkit.export.merge_order`
   checks, per tokenizer, conditions under which the two give the same tokens on every word
   (every merge makes a token and a token's merges are consecutive; no ``A + B`` that is no
   merge ever meets, which merging each token's own symbols proves; tiktoken's whole-piece
   shortcut returns tokens the merges reach too) and refuses with a witness where one fails.
   For tiktoken the rank is the id, so ids must follow the merge order. One case is left to the
   comparisons below rather than proven: merge lists with several merges per token whose
   merges use parts made later (Gemma's, generated from SentencePiece scores);
   :attr:`Exported.proven` says which case an export is.
3. What the proof does not cover: regex engines (tiktoken's fancy-regex against Oniguruma in
   ``tokenizers``), text the split pattern does not match (tiktoken drops it), added tokens.
   After building the files, the exporter encodes a probe text (scripts, digits, whitespace
   runs, contractions, emoji, the added tokens) with both and refuses on the first difference.
   The tests also compare every shipped corpus.

Known limits, said in the docs: tiktoken matches special tokens only when asked
(``encode(text, allowed_special="all")``, which is how tokkit and :func:`load_tiktoken` users get
Hugging Face's behaviour); SentencePiece never matches control tokens (``<bos>``...) in text,
where ``tokenizers`` does. Tokens no merge makes (Qwen's ``[PAD151xxx]`` fillers) are left out of
the tiktoken ranks: the merges never produce them, and ranked they could be returned whole.

This package holds the API and what both formats share (reading the ``model`` section, the added
tokens, the probe); :mod:`~tokkit.export.to_tiktoken` and :mod:`~tokkit.export.to_sentencepiece`
check and build one format each, :mod:`~tokkit.export.merge_order` checks the merges (2) and
:mod:`~tokkit.export.spm_proto` writes the SentencePiece protobuf.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tokkit import _formats, _io, _ranks
from tokkit.exceptions import ConfigError, ExportError, SerializationError, TokenizerNotFoundError

if TYPE_CHECKING:
    import tiktoken

__all__ = ["FORMATS", "Exported", "export", "load_tiktoken"]

Format = Literal["tiktoken", "sentencepiece"]
#: The formats :func:`export` writes.
FORMATS: tuple[Format, ...] = ("tiktoken", "sentencepiece")
#: File names inside the output directory.
RANKS_FILE = "tokenizer.tiktoken"
SIDECAR_FILE = _ranks.TIKTOKEN_SIDECAR
MODEL_FILE = "tokenizer.model"

#: Text both encoders must agree on before anything is written: what regex engines and split
#: patterns disagree on (contractions, digit runs, whitespace before a word and at the end,
#: newlines, mixed scripts, combining marks, emoji sequences).
PROBE = (
    "I've said it: they'll, we're, DON'T, O'Neil's 'quoted'.\n"
    "Numbers 1 12 123 1234 12345 3.14159 1,000,000 2026-12-06 0x1F.\n"
    "  leading spaces,\ttabs\t\tand   runs   of spaces   \n\n\n"
    "def f(x):\n    return x ** 2  # comment\n\r\n"
    "naïve café résumé Ünïcödé İstanbul'da \u0131l\u0131k çok güzel.\n"
    "日本語のテキスト、中文文本。한국어 텍스트. Ελληνικά Русский العربية עברית हिन्दी\n"
    "e\u0301 a\u0308 \u200b\u200d 👩\u200d👩\u200d👧 👍🏽 🇫🇷 ™ © ½ ∑ ∞ — … “quotes”\n"
    "trailing spaces   "
)


@dataclass(frozen=True)
class Exported:
    """What :func:`export` wrote.

    Attributes:
        out: The output directory.
        files: The files in it.
        format: ``tiktoken`` or ``sentencepiece``.
        verified: Whether the probe text was compared in the target library (false only when
            that library is not installed).
        proven: Whether the merge-order proof (:mod:`tokkit.export.merge_order`) covers this
            tokenizer; if not, ``gaps`` says why and exactness rests on the comparisons.
        gaps: Why the proof does not cover it (empty when it does).
        left_out: Ids with no rank in a tiktoken export (tokens no merge makes).
        new_byte_ids: Bytes that had no token and got a new id (``extend_bytes``).
    """

    out: Path
    files: tuple[Path, ...]
    format: Format
    verified: bool
    proven: bool
    gaps: tuple[str, ...] = ()
    left_out: tuple[int, ...] = field(default=())
    new_byte_ids: dict[int, int] = field(default_factory=dict)


def export(
    tokenizer: str | os.PathLike[str],
    format: Format,
    out: str | os.PathLike[str],
    *,
    force: bool = False,
    extend_bytes: bool = False,
) -> Exported:
    """Write ``tokenizer`` as ``format`` into the directory ``out``, only if it is exact.

    Args:
        tokenizer: A tokenizer directory, ``tokenizer.json``, GPT-2 files or a pretrained name
            (what :func:`tokkit.load` reads), of a BPE tokenizer.
        format: ``tiktoken`` or ``sentencepiece``.
        out: The directory to write (made atomically: all files or none).
        force: Replace ``out`` if it exists.
        extend_bytes: tiktoken only: give bytes that have no token new ids after the last one.
            ``tokenizers`` drops such a byte from the text (it has no id and no unk token);
            tiktoken needs a rank for every byte. The export is then exact on every text
            without those bytes, and encodes the others instead of dropping them.

    Raises:
        ExportError: The tokenizer cannot be written exactly in ``format``; nothing is written.
        OutputExistsError: ``out`` exists and ``force`` is false.
        ConfigError: An unknown ``format``.
        TokenizerNotFoundError, SerializationError: ``tokenizer`` cannot be read.
    """
    if format not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}; choose {' or '.join(FORMATS)}")
    _io.check_output_dir(out, force=force, inputs=[tokenizer])
    loaded = _formats.read(tokenizer)
    if isinstance(loaded.source, _formats.JsonSource):
        text = loaded.source.text()
    elif loaded.format == "tokenizer.json":  # not BPE: read to say what it is
        text = loaded.files[0].read_text(encoding="utf-8")
    else:
        raise ExportError(
            f"{loaded.name} is a {loaded.format} file; tokkit exports tokenizer.json files"
        )
    data = json.loads(text)
    origin = str(loaded.files[0])
    # Imported here: the format modules import the shared checks below from this package.
    from tokkit.export import to_sentencepiece, to_tiktoken

    try:
        if format == "tiktoken":
            built = to_tiktoken.build(data, loaded.name, extend_bytes)
        else:
            built = to_sentencepiece.build(data)
    except ExportError as e:
        raise e.prefixed(f"cannot export {origin} to {format}") from None
    if built.encode is not None:
        _compare_on_probe(built.encode, loaded.backend.encode, data, format, origin)
    path = _io.write_dir_atomically(out, built.files, force=force, inputs=[tokenizer])
    return Exported(
        out=path,
        files=tuple(path / name for name in built.files),
        format=format,
        verified=built.encode is not None,
        proven=not built.gaps,
        gaps=tuple(built.gaps),
        left_out=tuple(sorted(built.left_out)),
        new_byte_ids=built.new_byte_ids,
    )


def load_tiktoken(path: str | os.PathLike[str]) -> tiktoken.Encoding:
    """The ``tiktoken.Encoding`` of a tiktoken export (its directory or its ``tiktoken.json``).

    Encode with ``allowed_special="all"`` to match added tokens in text as ``tokenizers`` does.

    Raises:
        TokenizerNotFoundError: No export at ``path``.
        SerializationError: tiktoken is not installed, or the files are not an export.
    """
    sidecar = Path(path)
    if sidecar.is_dir():
        sidecar = sidecar / SIDECAR_FILE
    if not sidecar.is_file():
        raise TokenizerNotFoundError(f"no {SIDECAR_FILE} at {path}; is it a tiktoken export?")
    from tokkit.export import to_tiktoken  # imported here, as in export()

    meta = _ranks.read_tiktoken_sidecar(sidecar)
    ranks_file = sidecar.with_name(meta.ranks_file)
    ranks = _ranks.parse_ranks(ranks_file.read_bytes(), str(ranks_file))
    return to_tiktoken.encoding(ranks, meta.pattern, meta.special_tokens, meta.name)


# --- shared by to_tiktoken and to_sentencepiece (not user API: __all__ is) ---------------------


def check_bpe_model(data: Any, *, byte_level: bool) -> dict[str, Any]:
    """The ``model`` section, if it is a BPE both targets can hold (no dropout, no word-piece
    markers; for tiktoken, no byte fallback)."""
    model: dict[str, Any] = data.get("model") or {}
    kind = model.get("type")
    if kind != "BPE":
        raise ExportError(f"it is a {kind} model; only BPE tokenizers can be exported")
    if byte_level and model.get("byte_fallback"):
        raise ExportError(
            "it is SentencePiece-style BPE (characters, byte fallback), not byte-level BPE; "
            "tiktoken merges bytes",
            hint="export it with format sentencepiece instead",
        )
    if model.get("dropout"):
        raise ExportError(f"its BPE has dropout {model['dropout']}: encoding is random")
    for option in ("continuing_subword_prefix", "end_of_word_suffix"):
        if model.get(option):
            raise ExportError(f"its BPE marks word pieces ({option} {model[option]!r})")
    return model


def merge_pairs(model: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The merge list as pairs, from either spelling (``["a", "b"]`` or the older ``"a b"``)."""
    out = []
    for m in model.get("merges", []):
        left, right = m if isinstance(m, list) else m.split(" ", 1)
        out.append((left, right))
    return out


def added_tokens(data: Any) -> dict[str, tuple[int, bool]]:
    """Added token text → (id, special); stripping options no target can express refused."""
    out: dict[str, tuple[int, bool]] = {}
    for token in data.get("added_tokens", []):
        for option in ("lstrip", "rstrip", "single_word"):
            if token.get(option):
                raise ExportError(
                    f"added token {token['content']!r} has {option}=true; neither tiktoken nor "
                    "SentencePiece can strip spaces around a token or match whole words only"
                )
        out[token["content"]] = (int(token["id"]), bool(token.get("special")))
    return out


def live_merges(
    vocab: Mapping[str, int], merges: Sequence[tuple[str, str]], added: Mapping[str, object]
) -> list[tuple[str, str]]:
    """The merges that can fire: none that makes or uses an added token."""
    # Added tokens are cut out of the text before the model runs, so a merge that makes or uses
    # one never fires; it has no say in the ranking.
    return [(a, b) for a, b in merges if a not in added and b not in added and a + b not in added]


@dataclass(frozen=True)
class Built:
    """The files of an export, before they are written, and what to check them with."""

    files: dict[str, str | bytes]
    gaps: list[str]
    encode: Callable[[str], list[int]] | None
    left_out: list[int] = field(default_factory=list)
    new_byte_ids: dict[int, int] = field(default_factory=dict)


# --- the probe ----------------------------------------------------------------------------------


def _compare_on_probe(
    exported: Callable[[str], list[int]],
    original: Callable[[str], list[int]],
    data: Any,
    format: Format,
    origin: str,
) -> None:
    """Refuse unless both encoders give the same ids on :data:`PROBE` and the added tokens
    (control tokens left out for SentencePiece, which never matches them in text)."""
    added = [
        t["content"]
        for t in data.get("added_tokens", [])
        if format == "tiktoken" or not t.get("special")
    ]
    texts = [*PROBE.splitlines(keepends=True), PROBE, " ".join(added[:2000])]
    for text in texts:
        try:
            want = original(text)
        except SerializationError:
            continue  # a tokenizer that cannot encode the text at all has nothing to compare
        got = exported(text)
        if got != want:
            at = next(
                (k for k, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
                min(len(got), len(want)),
            )
            raise ExportError(
                f"cannot export {origin} to {format}: on the probe text {text[:60]!r} the "
                f"{format} encoding differs from the tokenizer's at token {at} "
                f"({got[at : at + 4]} against {want[at : at + 4]}); most likely the split "
                "pattern matches differently in the target's regex engine, or leaves text "
                "unmatched"
            )
