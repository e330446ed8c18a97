"""Hugging Face Hub ids (``org/name``, optionally ``org/name@revision``) wherever tokkit takes a
model or tokenizer: resolved through ``huggingface_hub.snapshot_download`` into the HF cache,
as transformers resolves them, so ``HF_HOME``, ``HF_ENDPOINT``, ``HF_TOKEN`` and
``HF_HUB_OFFLINE`` mean what they mean there.

Only files tokkit can use safely are fetched: JSON, safetensors, tokenizer files, the chat
template and the license. Pickled weights (``*.bin``, ``*.pt``) never are: tokkit never loads
them, so a repo that has only those is reported as such by the model checks, as for a local
directory.

A local path always wins: ``org/name`` is a Hub id only when no such file or directory exists.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tokkit.exceptions import ConfigError, HubError, ModelNotFoundError, TokenizerNotFoundError
from tokkit.hub.errors import first_line, require_hub

#: Files of a model repo that tokkit reads (weights, config, tokenizer, card, license).
MODEL_FILES = [
    "*.json",
    "*.safetensors",
    "*.model",
    "*.tiktoken",
    "merges.txt",
    "vocab.txt",
    "*.jinja",
    "README.md",
    "LICENSE*",
    "NOTICE*",
    "USE_POLICY.md",
]
#: Files of a repo that make its tokenizer (a model repo's weights are not fetched for these).
TOKENIZER_FILES = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "config.json",
    "generation_config.json",
    "vocab.json",
    "merges.txt",
    "vocab.txt",
    "*.model",
    "*.tiktoken",
    "chat_template.jinja",
    "README.md",
    "LICENSE*",
]

# The shape of an id (the Hub's own validation then decides); one slash, no leading dot or `~`.
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+(@[^\s@]+)?$")
# A snapshot in the HF cache: .../models--ORG--NAME/snapshots/COMMIT
_CACHED = re.compile(r"models--(?P<org>[^/]+?)--(?P<name>[^/]+)/snapshots/(?P<sha>[0-9a-f]{40})$")


def split_revision(ref: str) -> tuple[str, str | None]:
    """``org/name@rev`` → (``org/name``, ``rev``); without ``@``, the revision is None."""
    repo_id, sep, rev = ref.partition("@")
    return repo_id, (rev if sep else None)


def is_hub_id(ref: str | os.PathLike[str]) -> bool:
    """Whether ``ref`` names a Hub repo rather than a local path: ``org/name`` or
    ``org/name@revision``, and nothing exists at that path."""
    text = os.fspath(ref)
    if not _REPO_ID.match(text) or Path(text).expanduser().exists():
        return False
    from tokkit.hub.upload import check_repo_id

    try:
        check_repo_id(split_revision(text)[0])
    except ConfigError:
        return False
    except ImportError:
        return True  # download() then says what to install
    return True


def with_revision(ref: str, revision: str | None) -> str:
    """``ref`` with ``@revision`` added when it is a Hub id without one (``--revision``)."""
    if revision and is_hub_id(ref) and "@" not in ref:
        return f"{ref}@{revision}"
    return ref


def origin(path: str | os.PathLike[str]) -> tuple[str, str] | None:
    """(repo id, commit) when ``path`` is a snapshot directory of the HF cache, else None."""
    m = _CACHED.search(Path(path).as_posix().rstrip("/"))
    return (f"{m['org']}/{m['name']}", m["sha"]) if m else None


def download(ref: str, *, revision: str | None = None, tokenizer_only: bool = False) -> Path:
    """The local snapshot of the Hub repo ``ref`` (``org/name`` or ``org/name@rev``), fetched
    into the HF cache if needed (a cached snapshot is used as is when offline).

    Args:
        revision: Branch, tag or commit; ``@rev`` in ``ref`` takes precedence. Default: main.
        tokenizer_only: Fetch the tokenizer's files only (not the weights).

    Raises:
        ModelNotFoundError: No such repo or revision, or it is gated or private and the token
            cannot see it (TokenizerNotFoundError with ``tokenizer_only``).
        HubError: huggingface_hub is missing, or the Hub cannot be reached and nothing is
            cached.
    """
    not_found = TokenizerNotFoundError if tokenizer_only else ModelNotFoundError
    repo_id, rev = split_revision(ref)
    rev = rev or revision
    require_hub(f"{ref} looks like a Hub id; fetching it")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{repo_id}" + (f" at revision {rev!r}" if rev else "")
    try:
        # huggingface_hub's own bars show the download on stderr, as in transformers.
        local = snapshot_download(
            repo_id,
            revision=rev,
            allow_patterns=TOKENIZER_FILES if tokenizer_only else MODEL_FILES,
        )
    except GatedRepoError as e:
        raise not_found(
            f"{repo_id} is gated: {first_line(e)}",
            hint="accept its terms on the Hub, then log in (`hf auth login`) or set HF_TOKEN",
        ) from None
    except RevisionNotFoundError:
        raise not_found(
            f"{repo_id} has no revision {rev!r}", hint="give a branch, tag or commit it has"
        ) from None
    except RepositoryNotFoundError:
        raise not_found(
            f"no Hub repo {repo_id} (or it is private and the token cannot see it), and no "
            f"local path {ref}",
            hint="check the id; for a private repo log in (`hf auth login`) or set HF_TOKEN",
        ) from None
    except LocalEntryNotFoundError:
        raise HubError(
            f"cannot fetch {where}: the Hub cannot be reached (or HF_HUB_OFFLINE is set) and "
            "it is not in the HF cache",
            hint="connect, or download it once where the Hub is reachable (`hf download "
            f"{repo_id}`) and copy the cache; offline, prepared models work: `tokkit models list`",
        ) from None
    except HFValidationError as e:
        raise ConfigError(f"{ref!r} is not a valid Hub id: {first_line(e)}") from None
    except OSError as e:  # network errors, a full or read-only cache
        raise HubError(f"cannot fetch {where}: {first_line(e)}") from e
    return Path(local)
