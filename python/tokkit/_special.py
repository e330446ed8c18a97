"""Special-token roles for the files ``transformers`` reads (``tokenizer_config.json`` and
``special_tokens_map.json``): each special token gets the role its spelling suggests."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tokkit.exceptions import ConfigError

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


@dataclass(frozen=True)
class HFConventions:
    """What ``transformers`` reads besides ``tokenizer.json``, when the defaults do not fit.

    Args:
        roles: role → special token, overriding what the spelling suggests, e.g.
            ``{"eos": "<|im_end|>", "pad": "<pad>"}`` (roles: bos, eos, pad, unk).
        chat_template: A Jinja chat template, written as ``chat_template.jinja``.
        model_max_length: The longest input the model takes (``tokenizer_config.json``).
    """

    roles: Mapping[str, str] = field(default_factory=dict)
    chat_template: str | None = None
    model_max_length: int | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.roles) - {"bos", "eos", "pad", "unk"})
        if unknown:
            raise ConfigError(f"unknown role {', '.join(unknown)}; roles are bos, eos, pad, unk")
        if self.model_max_length is not None and self.model_max_length < 1:
            raise ConfigError(f"model_max_length must be 1 or more, got {self.model_max_length}")

    def resolve(self, special_tokens: list[str]) -> dict[str, str]:
        """``{role}_token`` → token: the spelling's guesses, then these roles over them.

        Raises:
            ConfigError: A role names a token that is not one of the special tokens.
        """
        named = roles(special_tokens)
        for role, token in self.roles.items():
            if token not in special_tokens:
                raise ConfigError(
                    f"the {role} token {token!r} is not one of the special tokens",
                    hint="add it to {special_tokens}",
                )
            named[f"{role}_token"] = token
        return named


def hf_side_files(
    special_tokens: list[str],
    conventions: HFConventions | None = None,
    *,
    ids: Sequence[int] | None = None,
    tokenizer_class: str = "PreTrainedTokenizerFast",
) -> dict[str, str]:
    """``tokenizer_config.json`` and ``special_tokens_map.json`` as ``save_pretrained`` writes
    them for a ``PreTrainedTokenizerFast`` (and ``chat_template.jinja`` when there is one).

    Args:
        ids: The special tokens' ids (default ``0..k-1``).
        tokenizer_class: The class ``transformers`` is told to load it with.
    """
    from tokkit._io import dumps

    conventions = conventions or HFConventions()
    ids = list(range(len(special_tokens))) if ids is None else list(ids)
    named = conventions.resolve(special_tokens)
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
            for i, t in zip(ids, special_tokens, strict=True)
        },
        "clean_up_tokenization_spaces": False,
        "model_max_length": conventions.model_max_length
        or 1_000_000_000_000_000_019_884_624_838_656,
        "tokenizer_class": tokenizer_class,
        **named,
    }
    if additional:
        config["additional_special_tokens"] = additional
    special_map: dict[str, object] = dict(named)
    if additional:
        special_map["additional_special_tokens"] = additional
    files = {
        "tokenizer_config.json": dumps(config),
        "special_tokens_map.json": dumps(special_map),
    }
    if conventions.chat_template:
        files["chat_template.jinja"] = conventions.chat_template
    return files
