"""Transplanting onto an *extension* of the base tokenizer (design/transplant.md §10).

An extension (``tokkit train --extend``, or any tokenizer built the same way) is the base
model's ``tokenizer.json`` with every token, id, merge and added token kept and new tokens
appended after the base's whole vocabulary. Its old ids need no matching at all: id ``i`` is the
base's id ``i``. Matching them by bytes instead would not always give the identity, because
several base ids can share a key (Gemma's ``<0x41>`` and ``A``) or a string (an added token
spelled like a vocabulary entry), and an old row copied from the wrong id silently changes the
model. So an extension is detected by its strings and matched by identity:

- every old id below the base model's rows copies its own row (input and output, bit-exact);
- every other id is new and gets a computed row, including new ids that land on *spare* rows
  (rows the base model has but its tokenizer never used: Qwen2's 151,936 rows for 151,665 ids);
  those rows were never trained as tokens, so copying them would pass noise off as a token;
- the matrix keeps at least the base model's rows, so an extension never shrinks the model;
  rows beyond the new vocabulary hold zeros and are listed as masked, as in every transplant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from tokkit.vocab import ROLES, Matching, Vocab

__all__ = ["Extension", "carry_roles", "detect", "identity_matching"]


@dataclass(frozen=True)
class Extension:
    """How a new tokenizer extends the base's.

    Attributes:
        base_tokens: Ids the base tokenizer defines (its largest id + 1).
        new_tokens: Ids the extension adds after them.
        base_rows: Embedding rows of the base model.
        new_on_spare_rows: New ids below ``base_rows``, i.e. on rows the base model had but no
            token used (computed like every new row, never copied).
    """

    base_tokens: int
    new_tokens: int
    base_rows: int
    new_on_spare_rows: int

    def to_dict(self) -> dict[str, Any]:
        """The ``extension`` record of ``tokkit.json``."""
        return asdict(self)


def detect(base: Vocab, new: Vocab, base_rows: int) -> Extension | None:
    """The extension ``new`` makes of ``base``, or ``None`` when it is not one.

    ``new`` extends ``base`` when every base id has the same string in ``new`` and every other
    id of ``new`` comes after the base's largest id. The strings cover the model vocabulary and
    the added tokens alike; with the same scheme (how pieces spell bytes) a regular token's
    string fixes its bytes. Special flags and roles are not compared: a role the extension's
    files lack is carried over (:func:`carry_roles`), and a row belongs to the token, not to
    its flag.
    """
    if base.scheme != new.scheme or len(new.strings) < len(base.strings):
        return None
    for i, s in base.strings.items():
        if new.strings.get(i) != s:
            return None
    n = base.size
    added = [i for i in new.keys if i not in base.keys]
    if any(i < n for i in added):  # a hole of the base filled: not appended after it
        return None
    return Extension(
        base_tokens=n,
        new_tokens=len(added),
        base_rows=base_rows,
        new_on_spare_rows=sum(1 for i in added if i < base_rows),
    )


def identity_matching(
    base: Vocab, new: Vocab, *, base_rows: int, skip: Iterable[int] = ()
) -> Matching:
    """Old ids copy their own row; every other id (appended, or an old id without a base row)
    is new. Ids in ``skip`` (the caller's junk) are in neither."""
    skip_set = set(skip)
    copy = {i: i for i in base.keys if i < base_rows and i not in skip_set}
    needs = sorted(i for i in new.keys if i not in copy and i not in skip_set)
    return Matching(copy=dict(sorted(copy.items())), new=needs, junk=sorted(skip_set))


def carry_roles(base_tok: Any, new_tok: Any) -> list[str]:
    """Give the new tokenizer each special-token role (bos, eos, pad...) the base has and it
    lacks; an extension holds every base token, so the role's token is there. Returns the
    roles set, for ``tokenizer_config.json``."""
    vocab = new_tok.get_vocab()
    carried = []
    for role in ROLES:
        value = getattr(base_tok, f"{role}_token", None)
        if isinstance(value, str) and value in vocab and not getattr(new_tok, f"{role}_token"):
            setattr(new_tok, f"{role}_token", value)
            carried.append(role)
    return carried
