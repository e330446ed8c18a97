"""Export to tiktoken: a byte-level BPE ``tokenizer.json`` as ``tokenizer.tiktoken`` (ranks) and
``tiktoken.json`` (pattern, special tokens), after the checks of :mod:`tokkit.export` that are
tiktoken's own: one regex split, GPT-2's byte alphabet, ids in merge order, a rank for every byte.

Named ``to_tiktoken``, not ``tiktoken``, so that it is never taken for the ``tiktoken`` package.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tokkit import _formats, _io, _ranks, _tokkit
from tokkit.exceptions import ExportError
from tokkit.export import (
    RANKS_FILE,
    SIDECAR_FILE,
    Built,
    added_tokens,
    check_bpe_model,
    live_merges,
    merge_order,
    merge_pairs,
)

if TYPE_CHECKING:
    import tiktoken

#: The regex of ``ByteLevel(use_regex=true)`` in ``tokenizers`` (GPT-2's), as tiktoken takes it:
#: the core's own copy, the one its pre-tokenizer runs.
GPT2_PATTERN = _tokkit.PRETOKENIZER_PATTERNS["gpt2"]

#: The split of a ``tokenizer.json`` that does not split: one piece, the whole text.
WHOLE_TEXT = r"[\s\S]+"


def encoding(
    ranks: Mapping[bytes, int], pattern: str, specials: Mapping[str, int], name: str
) -> tiktoken.Encoding:
    """The tiktoken encoding of a rank table (tiktoken imported here: it is optional)."""
    module = _ranks.import_tiktoken(name)
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


def build(data: Any, name: str, extend_bytes: bool) -> Built:
    """The rank file and sidecar of a byte-level BPE, after every check of the
    :mod:`tokkit.export` docstring but the probe.

    Raises:
        ExportError: A condition fails.
    """
    model = check_bpe_model(data, byte_level=True)
    if data.get("normalizer"):
        raise ExportError(
            f"it has a {data['normalizer'].get('type')} normalizer; tiktoken has none"
        )
    pattern = _tiktoken_pattern(data.get("pre_tokenizer"))
    added = added_tokens(data)
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
    order = merge_order.token_order(vocab, live_merges(vocab, merge_pairs(model), added), show=show)
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
        enc = encoding(ranks, pattern, specials, name)

        def encode(text: str) -> list[int]:
            """The export's ids, added tokens matched in text as tokenizers does."""
            return list(enc.encode(text, allowed_special="all"))

    files: dict[str, str | bytes] = {RANKS_FILE: lines, SIDECAR_FILE: _io.dumps(sidecar)}
    return Built(files, gaps, encode, left_out, new_byte_ids)


def _token_bytes(token: str) -> bytes:
    """The bytes a byte-level token (GPT-2's printable alphabet) stands for."""
    return bytes(_formats.BYTE_OF_CHAR[c] for c in token)
