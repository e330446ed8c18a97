"""Special-token roles for the files ``transformers`` reads (``tokenizer_config.json`` and
``special_tokens_map.json``): each special token gets the role its spelling suggests."""

from __future__ import annotations

import re

_ROLES = (
    (
        "eos_token",
        re.compile(r"^(<\|endoftext\|>|</s>|<\|?eos\|?>|<\|end_of_text\|>|\[EOS\])$", re.I),
    ),
    ("bos_token", re.compile(r"^(<s>|<\|?bos\|?>|<\|begin_of_text\|>|\[BOS\])$", re.I)),
    ("pad_token", re.compile(r"^(<pad>|<\|?pad\|?>|\[PAD\])$", re.I)),
    ("unk_token", re.compile(r"^(<unk>|<\|?unk\|?>|\[UNK\])$", re.I)),
)


def roles(special_tokens: list[str]) -> dict[str, str]:
    """Map ``eos_token``/``bos_token``/``pad_token``/``unk_token`` to the first special token
    that looks like one; the rest go unassigned."""
    found: dict[str, str] = {}
    for token in special_tokens:
        for role, pattern in _ROLES:
            if role not in found and pattern.match(token):
                found[role] = token
                break
    return found


def hf_side_files(special_tokens: list[str], model_max_length: int | None = None) -> dict[str, str]:
    """``tokenizer_config.json`` and ``special_tokens_map.json`` as ``save_pretrained`` writes
    them for a ``PreTrainedTokenizerFast``."""
    from tokkit._io import dumps

    named = roles(special_tokens)
    additional = [t for t in special_tokens if t not in named.values()]
    config: dict[str, object] = {
        "added_tokens_decoder": {
            str(i): {
                "content": t,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for i, t in enumerate(special_tokens)
        },
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length or 1_000_000_000_000_000_019_884_624_838_656,
        "tokenizer_class": "PreTrainedTokenizerFast",
        **named,
    }
    if additional:
        config["additional_special_tokens"] = additional
    special_map: dict[str, object] = dict(named)
    if additional:
        special_map["additional_special_tokens"] = additional
    return {
        "tokenizer_config.json": dumps(config),
        "special_tokens_map.json": dumps(special_map),
    }
