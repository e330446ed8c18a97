"""The hybrid tokenizer as a ``transformers`` tokenizer (design/hybrid.md §7):
:class:`HybridTokenizer` is a ``PreTrainedTokenizer`` whose encoding and decoding are the Rust
encoder's, so its ids are those of ``tokkit.load(DIR).encode(text)``. It loads without
``trust_remote_code``: import it from tokkit, then ``HybridTokenizer.from_pretrained(DIR)``.

This module imports ``transformers``; :mod:`tokkit.hybrid` imports it on first use only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizer

from tokkit import _tokkit
from tokkit._formats import HYBRID_FILE, hybrid_from_file
from tokkit._io import dumps
from tokkit._special import roles
from tokkit.exceptions import ConfigError, NotSupportedError, TokenizerNotFoundError

#: ``tokenizer_class`` in ``tokenizer_config.json`` (as the trainer writes it): no class of
#: ``transformers`` has this name, so ``AutoTokenizer`` refuses the directory instead of loading
#: something else.
TOKENIZER_CLASS = "TokkitHybridTokenizer"


class HybridTokenizer(PreTrainedTokenizer):
    """A ``transformers`` tokenizer backed by tokkit's hybrid encoder.

    >>> tok = HybridTokenizer.from_pretrained("tr-hybrid")  # doctest: +SKIP
    >>> tok(["Kitaplar", "Evlerimizden"], padding=True, return_tensors="pt")  # doctest: +SKIP

    Token names (``tokenize``, ``convert_ids_to_tokens``, ``get_vocab``) are the hybrid's
    (design/hybrid.md §2): a root by its canonical form, a suffix as ``+lAr``, the markers
    ``<uppercase>`` and ``<allcaps>``, pieces by their text or ``<0xC4>``. A name is not the text
    an id stands for (that depends on the tokens around it): decode ids to get text.

    No BOS/EOS are added by default (``add_special_tokens`` changes nothing), so ids equal
    ``tokkit.load(DIR).encode(text)``; pass ``special_tokens_pattern="bos"`` (or ``"eos"``,
    ``"bos_eos"``) to add them. Special tokens written in the text are not matched: the text is
    encoded as the Rust encoder encodes it. Offsets are not available (a shared id has no fixed
    span), and the vocabulary is fixed at training.

    Args:
        vocab_file: The ``hybrid.json`` to load.
        segmentation: Encode with this segmentation instead of the file's (``best_path``,
            ``pure_path``, ``longest_match``).
        kwargs: As for ``PreTrainedTokenizer`` (``bos_token``, ``eos_token``, ``pad_token``
            default to the special tokens their spelling suggests).
    """

    vocab_files_names = {"vocab_file": HYBRID_FILE}  # noqa: RUF012 (as transformers declares it)
    model_input_names = ["input_ids", "attention_mask"]  # noqa: RUF012

    def __init__(
        self, vocab_file: str | os.PathLike[str], segmentation: str | None = None, **kwargs: Any
    ) -> None:
        if vocab_file is None:  # from_pretrained found none
            raise TokenizerNotFoundError(
                f"no {HYBRID_FILE} to load",
                hint="give a directory holding hybrid.json (a hybrid tokenizer's output)",
            )
        native = hybrid_from_file(Path(vocab_file))
        if segmentation is not None:
            native = native.with_segmentation(segmentation)
            kwargs["segmentation"] = segmentation  # saved in tokenizer_config.json
        self._native = native
        self._names: list[str] = list(native.token_names())
        self._ids = {name: i for i, name in enumerate(self._names)}
        specials = sorted(native.special_tokens.items(), key=lambda kv: kv[1])
        named = [t for t, i in specials if native.token_kind(i) == "special"]  # not the markers
        for role, token in roles(named).items():
            kwargs.setdefault(role, token)
        kwargs.setdefault("clean_up_tokenization_spaces", False)
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike[str], *args: Any, **kwargs: Any
    ) -> Any:
        """Load a directory written by tokkit's hybrid trainer or :meth:`save_pretrained` (or
        its ``hybrid.json``).

        Raises:
            TokenizerNotFoundError: A directory without ``hybrid.json``.
            SerializationError: A malformed ``hybrid.json``.
        """
        path = Path(pretrained_model_name_or_path)
        # Said here: transformers turns a missing file into a bare OSError about "vocabulary".
        if path.is_dir() and not (path / HYBRID_FILE).is_file():
            raise TokenizerNotFoundError(
                f"no {HYBRID_FILE} in {path}",
                hint="give a directory holding hybrid.json (a hybrid tokenizer's output)",
            )
        kwargs.pop("trust_remote_code", None)  # this class is the code; nothing remote runs
        return super().from_pretrained(
            pretrained_model_name_or_path, *args, trust_remote_code=False, **kwargs
        )

    # --- the vocabulary -------------------------------------------------------------------------

    def tokkit_vocab(self) -> Any:
        """The canonical keys transplants and distillation match tokens by
        (:class:`tokkit.vocab.Vocab`): markers and specials by name, every other id by the bytes
        of its canonical form (design/hybrid.md §7), so a shared id gets the row of its first
        form (``lar`` for ``+lAr``)."""
        from tokkit.vocab import Vocab, roles_of

        native = self._native
        keys: dict[int, tuple[bool, str, bytes]] = {}
        special_ids: set[int] = set()
        for i, name in enumerate(self._names):
            if native.token_kind(i) in ("marker", "special"):
                keys[i] = (True, name, b"")
                special_ids.add(i)
            else:
                keys[i] = (False, "", native.token_bytes(i))
        return Vocab(
            keys=keys,
            scheme="raw",
            roles=roles_of(self),
            special_ids=special_ids,
            strings=dict(enumerate(self._names)),
        )

    @property
    def vocab_size(self) -> int:
        """Number of ids."""
        return int(self._native.vocab_size)

    def get_vocab(self) -> dict[str, int]:
        """Token name → id, for every id."""
        return dict(self._ids)

    def _convert_token_to_id(self, token: str) -> int:
        try:
            return self._ids[token]
        except KeyError:
            raise ConfigError(
                f"no token is named {token!r}",
                hint="names come from tokenize() or get_vocab()",
            ) from None

    def _convert_id_to_token(self, index: int) -> str:
        if not 0 <= index < len(self._names):
            raise ConfigError(f"no token has id {index}; ids go from 0 to {len(self._names) - 1}")
        return self._names[index]

    def _add_tokens(self, new_tokens: Any, special_tokens: bool = False) -> int:
        missing = [str(t) for t in new_tokens or () if str(t) and str(t) not in self._ids]
        if missing:
            raise NotSupportedError(
                f"cannot add {', '.join(map(repr, missing))}: a hybrid tokenizer's vocabulary is "
                "fixed when it is trained",
                hint="train again with the token in {special_tokens}",
            )
        return int(super()._add_tokens(new_tokens, special_tokens=special_tokens))

    # --- encoding and decoding: the Rust encoder's -----------------------------------------------

    def tokenize(self, text: str, **kwargs: Any) -> list[str]:  # type: ignore[override]
        """The names of the tokens of ``text``."""
        return [self._names[i] for i in self._native.encode(text)]

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        return self.tokenize(text)

    def _encode_plus(self, text: Any, text_pair: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.pop("return_offsets_mapping", False):
            raise NotSupportedError(
                "a hybrid tokenizer gives no offsets: a root or suffix id stands for a surface "
                "that depends on its neighbours, and a case marker covers no text",
                hint="decode the ids of a prefix to find where a token ends",
            )
        if not kwargs.get("is_split_into_words", False):
            # Strings become the Rust encoder's ids here (a batch in parallel), so that
            # transformers' own handling of id lists does the rest: specials, padding, tensors.
            text = self._as_ids(text)
            if text_pair is not None:
                text_pair = self._as_ids(text_pair)
        return super()._encode_plus(text, text_pair, **kwargs)

    def _as_ids(self, value: Any) -> Any:
        """A string as its ids, a batch of strings as a batch of ids; anything else as it is.
        An empty text stays a string (transformers takes an empty id list for no input)."""
        if isinstance(value, str):
            return self._native.encode(value) or value
        if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
            encoded = self._native.encode_batch(list(value))
            return [ids or text for ids, text in zip(encoded, value, strict=True)]
        return value

    def _decode(
        self,
        token_ids: int | Sequence[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs: Any,
    ) -> str:
        ids = [int(token_ids)] if isinstance(token_ids, int) else [int(i) for i in token_ids]
        return str(self._native.decode(ids, skip_special_tokens))

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """The text of a sequence of token names (decoded as their ids are)."""
        return str(self._native.decode([self._convert_token_to_id(t) for t in tokens], False))

    # --- pickling (datasets.map, DataLoader workers, deepcopy) ---------------------------------

    def __getstate__(self) -> dict[str, Any]:
        # The Rust object does not pickle; its hybrid.json text is the whole of it.
        state = self.__dict__.copy()
        state["_native"] = self._native.to_json()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state["_native"] = _tokkit.HybridTokenizer.from_json(state["_native"])
        self.__dict__.update(state)

    # --- saving --------------------------------------------------------------------------------

    def save_vocabulary(
        self, save_directory: str, filename_prefix: str | None = None
    ) -> tuple[str, ...]:
        """Write ``hybrid.json`` (the whole tokenizer, its language included)."""
        name = (f"{filename_prefix}-" if filename_prefix else "") + HYBRID_FILE
        path = Path(save_directory) / name
        text = str(self._native.to_json())
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        return (str(path),)

    def save_pretrained(
        self,
        save_directory: str | os.PathLike[str],
        legacy_format: bool | None = None,
        filename_prefix: str | None = None,
        push_to_hub: bool = False,
        **kwargs: Any,
    ) -> tuple[str, ...]:
        """Write ``hybrid.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` (and
        a chat template if there is one) into ``save_directory``."""
        if push_to_hub:
            raise NotSupportedError(
                "a hybrid tokenizer is not pushed by save_pretrained",
                hint="save it, then upload the directory with tokkit's push",
            )
        files = tuple(
            super().save_pretrained(
                save_directory,
                legacy_format=legacy_format,
                filename_prefix=filename_prefix,
                **kwargs,
            )
        )
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        config_file = Path(save_directory) / f"{prefix}tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8"))
        config["tokenizer_class"] = TOKENIZER_CLASS
        config_file.write_text(dumps(config), encoding="utf-8")
        map_file = Path(save_directory) / f"{prefix}special_tokens_map.json"
        special_map: dict[str, Any] = {
            k: str(v) for k, v in self.special_tokens_map.items() if isinstance(v, str)
        }
        map_file.write_text(dumps(special_map), encoding="utf-8")
        return (*files, str(map_file))
