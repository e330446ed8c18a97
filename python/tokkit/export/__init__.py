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
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tokkit import _formats, _io
from tokkit.exceptions import ConfigError, ExportError, SerializationError, TokenizerNotFoundError
from tokkit.export import merge_order, spm_proto

if TYPE_CHECKING:
    import tiktoken

__all__ = ["FORMATS", "Exported", "export", "load_tiktoken"]

Format = Literal["tiktoken", "sentencepiece"]
#: The formats :func:`export` writes.
FORMATS: tuple[Format, ...] = ("tiktoken", "sentencepiece")
#: File names inside the output directory.
RANKS_FILE = "tokenizer.tiktoken"
SIDECAR_FILE = _formats.TIKTOKEN_SIDECAR
MODEL_FILE = "tokenizer.model"

#: The regex of ``ByteLevel(use_regex=true)`` in ``tokenizers`` (GPT-2's), as tiktoken takes it.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

#: The split of a ``tokenizer.json`` that does not split: one piece, the whole text.
WHOLE_TEXT = r"[\s\S]+"

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

_SPACE = "\u2581"  # SentencePiece's visible space
_BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")
_NAMES = {
    "bos": ("<bos>", "<s>", "<|begin_of_text|>"),
    "eos": ("<eos>", "</s>", "<|end_of_text|>", "<|endoftext|>"),
    "pad": ("<pad>", "<|pad|>"),
}


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
    try:
        if format == "tiktoken":
            built = _tiktoken_files(data, loaded.name, extend_bytes)
        else:
            built = _sentencepiece_files(data)
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
    meta = _formats.read_tiktoken_sidecar(sidecar)
    ranks_file = sidecar.with_name(meta.ranks_file)
    ranks = _formats.parse_ranks(ranks_file.read_bytes(), str(ranks_file))
    return _encoding(ranks, meta.pattern, meta.special_tokens, meta.name)


# --- tiktoken -----------------------------------------------------------------------------------


def _encoding(
    ranks: Mapping[bytes, int], pattern: str, specials: Mapping[str, int], name: str
) -> tiktoken.Encoding:
    """The tiktoken encoding of a rank table (tiktoken imported here: it is optional)."""
    module = _formats.import_tiktoken(name)
    enc: tiktoken.Encoding = module.Encoding(
        name=name, pat_str=pattern, mergeable_ranks=dict(ranks), special_tokens=dict(specials)
    )
    return enc


def _tiktoken_pattern(pre: Any) -> str:
    """The split regex of a byte-level pre-tokenizer tiktoken can run the same way."""
    steps = pre.get("pretokenizers", []) if pre and pre.get("type") == "Sequence" else [pre]
    kinds = [s.get("type") if s else None for s in steps]
    if kinds == ["ByteLevel"]:
        # No regex split (``tokkit train --pretokenizer none``): the whole text is one piece.
        use_regex = steps[0].get("use_regex", True)
        byte_level, pattern = steps[0], GPT2_PATTERN if use_regex else WHOLE_TEXT
    elif kinds == ["Split", "ByteLevel"] and not steps[1].get("use_regex", True):
        split, byte_level = steps
        regex = split.get("pattern", {}).get("Regex")
        if regex is None or split.get("behavior") != "Isolated" or split.get("invert"):
            raise ExportError(
                "its Split pre-tokenizer is not an isolated regex split (behavior "
                f"{split.get('behavior')}, pattern {split.get('pattern')}); tiktoken keeps the "
                "matches of one regex"
            )
        pattern = regex
    else:
        raise ExportError(
            f"its pre-tokenizer is {' + '.join(map(str, kinds))}; tiktoken can run a byte-level "
            "step after one regex split only"
        )
    if byte_level.get("add_prefix_space"):
        raise ExportError(
            "its ByteLevel step adds a space before the text (add_prefix_space); tiktoken cannot"
        )
    return str(pattern)


def _check_bpe_model(data: Any, *, byte_level: bool) -> dict[str, Any]:
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


def _merges(model: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The merge list as pairs, from either spelling (``["a", "b"]`` or the older ``"a b"``)."""
    out = []
    for m in model.get("merges", []):
        left, right = m if isinstance(m, list) else m.split(" ", 1)
        out.append((left, right))
    return out


def _added(data: Any) -> dict[str, tuple[int, bool]]:
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


def _live(
    vocab: Mapping[str, int], merges: Sequence[tuple[str, str]], added: Mapping[str, object]
) -> list[tuple[str, str]]:
    """The merges that can fire: none that makes or uses an added token."""
    # Added tokens are cut out of the text before the model runs, so a merge that makes or uses
    # one never fires; it has no say in the ranking.
    return [(a, b) for a, b in merges if a not in added and b not in added and a + b not in added]


@dataclass(frozen=True)
class _Built:
    """The files of an export, before they are written, and what to check them with."""

    files: dict[str, str | bytes]
    gaps: list[str]
    encode: Callable[[str], list[int]] | None
    left_out: list[int] = field(default_factory=list)
    new_byte_ids: dict[int, int] = field(default_factory=dict)


def _tiktoken_files(data: Any, name: str, extend_bytes: bool) -> _Built:
    """The rank file and sidecar of a byte-level BPE, after every check of the module
    docstring but the probe.

    Raises:
        ExportError: A condition fails.
    """
    model = _check_bpe_model(data, byte_level=True)
    if data.get("normalizer"):
        raise ExportError(
            f"it has a {data['normalizer'].get('type')} normalizer; tiktoken has none"
        )
    pattern = _tiktoken_pattern(data.get("pre_tokenizer"))
    added = _added(data)
    # A token that starts another is next to one that it starts, in sorted order.
    texts = sorted(added)
    for shorter, longer in itertools.pairwise(texts):
        if longer.startswith(shorter):
            raise ExportError(
                f"added tokens {shorter!r} and {longer!r} start alike; tokenizers matches the "
                "longest, tiktoken's special-token regex tries them in no fixed order"
            )
    vocab = {t: int(i) for t, i in model["vocab"].items() if t not in added}

    def show(token: str) -> str:
        """A token as the bytes it stands for, in messages."""
        return repr(_token_bytes(token))

    for token in vocab:
        if any(c not in _formats.BYTE_OF_CHAR for c in token):
            raise ExportError(f"token {token!r} is not byte-level (GPT-2's byte alphabet)")
    order = merge_order.token_order(vocab, _live(vocab, _merges(model), added), show=show)
    ignore_merges = bool(model.get("ignore_merges"))
    singles = [t for t in vocab if len(t) == 1]
    missing = sorted(set(range(256)) - {_formats.BYTE_OF_CHAR[t] for t in singles})
    if missing and not extend_bytes:
        raise ExportError(
            f"{len(missing)} of the 256 bytes have no token (first: {missing[0]:#04x}); "
            "tiktoken needs a rank for every byte, where tokenizers drops such a byte",
            hint="pass {extend_bytes=True} to give them new ids after the last one",
        )
    # With ignore_merges, tokenizers returns any pre-token found whole in the vocabulary, as
    # tiktoken does with its ranks: the orphans must then be ranked too.
    ranked = singles + order.merged + (order.orphans if ignore_merges else [])
    for before, after in itertools.pairwise(order.merged):
        if vocab[after] < vocab[before]:
            raise ExportError(
                f"ids do not follow the merge order: {show(before)} (id {vocab[before]}) is "
                f"merged before {show(after)} (id {vocab[after]}); tiktoken's rank is the id"
            )
    gaps = merge_order.check(
        {t: vocab[t] for t in ranked},
        order,
        engine="tiktoken",
        whole_pieces=not ignore_merges,
        show=show,
    )
    ranks = {_token_bytes(t): vocab[t] for t in ranked}
    specials = {text: i for text, (i, _) in sorted(added.items(), key=lambda kv: kv[1][0])}
    left_out = [vocab[t] for t in order.orphans] if not ignore_merges else []
    shared_ids = set(specials.values()) & set(ranks.values())
    if shared_ids:
        raise ExportError(
            f"id {min(shared_ids)} is both an added token and a vocabulary token; tiktoken keeps "
            "special tokens and ranks apart"
        )
    first_free = max([*ranks.values(), *specials.values()]) + 1
    new_byte_ids = {b: first_free + k for k, b in enumerate(missing)}
    ranks.update({bytes([b]): i for b, i in new_byte_ids.items()})
    n_vocab = first_free + len(missing)
    lines = b"".join(
        base64.b64encode(t) + b" %d\n" % r for t, r in sorted(ranks.items(), key=lambda kv: kv[1])
    )
    sidecar = {
        "format": "tiktoken",
        "name": name,
        "ranks_file": RANKS_FILE,
        "ranks_sha256": hashlib.sha256(lines).hexdigest(),
        "pat_str": pattern,
        "special_tokens": specials,
        "special": sorted(text for text, (_, special) in added.items() if special),
        "n_vocab": n_vocab,
        "left_out": sorted(left_out),
        "new_byte_ids": {f"{b:#04x}": i for b, i in new_byte_ids.items()},
        "usage": "tokkit.export.load_tiktoken(DIR), or tiktoken.Encoding(name, pat_str=pat_str, "
        "mergeable_ranks=<ranks_file: base64 token, rank>, special_tokens=special_tokens); "
        'encode with allowed_special="all" to match added tokens as tokenizers does',
    }
    encode = None
    if _formats.has_module("tiktoken"):
        enc = _encoding(ranks, pattern, specials, name)

        def encode(text: str) -> list[int]:
            """The export's ids, added tokens matched in text as tokenizers does."""
            return list(enc.encode(text, allowed_special="all"))

    files: dict[str, str | bytes] = {RANKS_FILE: lines, SIDECAR_FILE: _io.dumps(sidecar)}
    return _Built(files, gaps, encode, left_out, new_byte_ids)


def _token_bytes(token: str) -> bytes:
    """The bytes a byte-level token (GPT-2's printable alphabet) stands for."""
    return bytes(_formats.BYTE_OF_CHAR[c] for c in token)


# --- SentencePiece ------------------------------------------------------------------------------


def _sentencepiece_normalizer(data: Any) -> bool:
    """Whether spaces become ``▁`` (the only normalization the export writes)."""
    norm = data.get("normalizer")
    steps = norm.get("normalizers", []) if norm and norm.get("type") == "Sequence" else [norm]
    steps = [s for s in steps if s]
    replace = {"type": "Replace", "pattern": {"String": " "}, "content": _SPACE}
    if any(s.get("type") == "Prepend" for s in steps):
        raise ExportError(
            "its normalizer prepends ▁ (add_dummy_prefix); tokenizers does that to each piece "
            "between added tokens, SentencePiece once per text"
        )
    if steps not in ([], [replace]):
        kinds = " + ".join(str(s.get("type")) for s in steps)
        raise ExportError(
            f"its normalizer is {kinds}; the export can only turn spaces into ▁ (Replace ' ' → '▁')"
        )
    escape = bool(steps)
    pre = data.get("pre_tokenizer")
    # After spaces became ▁ a split on " " finds nothing: Gemma's pre-tokenizer does nothing.
    harmless = pre is None or (
        escape
        and pre.get("type") == "Split"
        and pre.get("pattern") == {"String": " "}
        and not pre.get("invert")
    )
    if not harmless:
        raise ExportError(
            f"its pre-tokenizer is {pre.get('type')}; SentencePiece BPE does not split the text "
            "before merging"
        )
    return escape


def _is_byte_level(data: Any) -> bool:
    """Whether a ByteLevel step pre-tokenizes or decodes (GPT-2-style byte-level BPE)."""
    text = json.dumps([data.get("pre_tokenizer"), data.get("decoder")])
    return '"ByteLevel"' in text


def _sentencepiece_files(data: Any) -> _Built:
    """The ``tokenizer.model`` of a SentencePiece-style BPE, after every check of the module
    docstring but the probe.

    Raises:
        ExportError: A condition fails.
    """
    if _is_byte_level(data):
        raise ExportError(
            "it is byte-level BPE (GPT-2 style); SentencePiece merges characters, not bytes, so "
            "it cannot hold these tokens",
            hint="export it with format tiktoken instead",
        )
    model = _check_bpe_model(data, byte_level=False)
    if model.get("ignore_merges"):
        raise ExportError("its BPE has ignore_merges=true; SentencePiece always merges")
    escape = _sentencepiece_normalizer(data)
    added = _added(data)
    byte_fallback = bool(model.get("byte_fallback"))
    unk = model.get("unk_token")
    if unk is None or unk not in model["vocab"]:
        raise ExportError("it has no unk token; a SentencePiece model needs one")
    if not byte_fallback and not model.get("fuse_unk"):
        # SentencePiece joins a run of unknown characters into one unknown piece.
        raise ExportError(
            "it gives each unknown character its own unk token (fuse_unk=false, no byte "
            "fallback); SentencePiece gives a run of them one"
        )
    for text, (_, special) in added.items():
        if not special and (" " in text or _SPACE in text):
            raise ExportError(
                f"added token {text!r} holds a space; tokenizers matches it before spaces "
                "become ▁, SentencePiece after"
            )
    vocab = {t: int(i) for t, i in model["vocab"].items()}
    bytes_ = {t for t in vocab if _BYTE_PIECE.fullmatch(t)} if byte_fallback else set()
    if byte_fallback and len(bytes_) < 256:
        raise ExportError(f"only {len(bytes_)} of the 256 <0xNN> byte tokens are in it")
    normal = {t: i for t, i in vocab.items() if t not in added and t not in bytes_ and t != unk}
    merges = _live(normal, _merges(model), added)
    order = merge_order.token_order(normal, merges)
    for token in normal:
        for c in token:
            if c not in normal and c not in added:
                raise ExportError(
                    f"{c!r} is in token {token!r} but is no token itself; SentencePiece would "
                    "merge it where tokenizers falls back to bytes"
                )
    # SentencePiece joins the piece with the highest score: the merged tokens in merge order,
    # then the tokens no merge makes (by id), as _pieces scores them.
    token_rank = {t: len(order.merged) + i for t, i in normal.items()}
    token_rank.update({t: i for i, t in enumerate(order.merged)})
    gaps = merge_order.check(token_rank, order, engine="SentencePiece", whole_pieces=False)
    pieces = _pieces(vocab, normal, order, added, bytes_, unk)
    ids = {
        role: next((added[n][0] for n in names if n in added), -1) for role, names in _NAMES.items()
    }
    spec = spm_proto.Spec(
        unk_id=vocab[unk],
        bos_id=ids["bos"],
        eos_id=ids["eos"],
        pad_id=ids["pad"],
        byte_fallback=byte_fallback,
        escape_whitespaces=escape,
    )
    proto = spm_proto.model_proto(pieces, spec)
    encode = None
    if _formats.has_module("sentencepiece"):
        import sentencepiece

        sp = sentencepiece.SentencePieceProcessor(model_proto=proto)

        def encode(text: str) -> list[int]:
            """The export's ids, without BOS/EOS."""
            return list(sp.encode(text, out_type=int))

    return _Built({MODEL_FILE: proto}, gaps, encode)


def _pieces(
    vocab: Mapping[str, int],
    normal: Mapping[str, int],
    order: merge_order.TokenOrder,
    added: Mapping[str, tuple[int, bool]],
    bytes_: set[str],
    unk: str,
) -> list[spm_proto.Piece]:
    """Every id's piece. A merged token scores minus its merge position (SentencePiece joins the
    pair whose piece scores highest); single characters and tokens no merge makes score below
    them all (they are never the result of a join). float32 holds these integers exactly."""
    score = {t: -float(i) for i, t in enumerate(order.merged)}
    floor = -float(len(order.merged))
    by_id: dict[int, spm_proto.Piece] = {}
    for text, i in vocab.items():
        if text in added:
            kind = spm_proto.CONTROL if added[text][1] else spm_proto.USER_DEFINED
            piece = spm_proto.Piece(text, 0.0, spm_proto.UNKNOWN if text == unk else kind)
        elif text == unk:
            piece = spm_proto.Piece(text, 0.0, spm_proto.UNKNOWN)
        elif text in bytes_:
            piece = spm_proto.Piece(text, 0.0, spm_proto.BYTE)
        else:
            piece = spm_proto.Piece(text, score.get(text, floor - normal[text]), spm_proto.NORMAL)
        by_id[i] = piece
    for text, (i, special) in added.items():
        if i not in by_id:
            kind = spm_proto.CONTROL if special else spm_proto.USER_DEFINED
            by_id[i] = spm_proto.Piece(text, 0.0, kind)
    missing = sorted(set(range(max(by_id) + 1)) - set(by_id))
    if missing:
        raise ExportError(
            f"{len(missing)} ids have no token (first: {missing[0]}); SentencePiece ids are "
            "positions in a list without holes"
        )
    return [by_id[i] for i in range(len(by_id))]


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
