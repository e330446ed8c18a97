"""The push itself: checking the repo id and options, planning the commit's files, finding the
token, then create_repo + create_commit through huggingface_hub."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from tokkit.exceptions import ConfigError, HubError
from tokkit.hub.card import card_text
from tokkit.hub.directory import UploadDir, check_no_pickles, describe_dir
from tokkit.hub.errors import as_hub_error, require_hub
from tokkit.hub.front_matter import read_front_matter

logger = logging.getLogger("tokkit.hub")

DEFAULT_ENDPOINT = "https://huggingface.co"


@dataclass(frozen=True)
class UploadFile:
    """One file of a push.

    Attributes:
        path_in_repo: Its path in the repo (POSIX separators).
        size: Its size in bytes.
        source: The local file, or None for content tokkit generated (the model card).
        data: The generated content, when ``source`` is None.
        note: Why it is there, when that is not obvious (``"generated model card"``).
    """

    path_in_repo: str
    size: int
    source: Path | None = None
    data: bytes | None = field(default=None, repr=False)
    note: str = ""


@dataclass(frozen=True)
class PushResult:
    """What :func:`push` did (or, with ``dry_run``, would do).

    Attributes:
        repo_id: ``OWNER/NAME``.
        url: The repo page (with ``/tree/BRANCH`` for a branch other than main). Under
            ``dry_run`` it is the URL the repo would have.
        revision: The branch committed to.
        private: Whether a new repo is created private.
        dry_run: True when nothing was sent.
        files: Every file of the commit, the generated card included, sorted by path.
        card: The generated card, or None when the directory's own README.md is kept or
            ``card=False``.
        commit_url: The commit's page (None under ``dry_run``).
        commit_oid: The commit id (None under ``dry_run``).
        token_source: Where the token came from (``"--token"``, ``"HF_TOKEN"``, ``"stored
            token"``), or None when there is none (possible only under ``dry_run``).
        warnings: Things the user should know: a license that could not be found, a kept
            README that does not describe a transplant, ...
    """

    repo_id: str
    url: str
    revision: str
    private: bool
    dry_run: bool
    files: tuple[UploadFile, ...]
    card: str | None
    commit_url: str | None = None
    commit_oid: str | None = None
    token_source: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        """The size of the upload."""
        return sum(f.size for f in self.files)


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` if it is a valid ``OWNER/NAME`` Hub model id.

    ``huggingface_hub.utils.validate_repo_id`` decides what the Hub accepts (letters, digits,
    ``-``, ``_`` and ``.``; no ``--`` or ``..``; at most 96 characters); tokkit also requires the
    owner (a bare ``NAME`` would land in whoever's account the token is) and no ``.git`` suffix.

    Raises:
        ConfigError: It is not.
    """
    from huggingface_hub import utils as hub_utils
    from huggingface_hub.errors import HFValidationError

    def invalid(why: str) -> ConfigError:
        return ConfigError(
            f"invalid repo id {repo_id!r}: {why}",
            hint="use OWNER/NAME: your user or organisation, then the model name",
        )

    parts = repo_id.split("/")
    if len(parts) != 2 or not all(parts):
        raise invalid("it needs exactly one '/' between the owner and the name")
    if repo_id.endswith(".git"):
        raise invalid("a model name cannot end in .git")
    try:
        hub_utils.validate_repo_id(repo_id)  # type: ignore[attr-defined]  # re-exported
    except HFValidationError as e:
        raise invalid(str(e).splitlines()[0]) from None
    return repo_id


def _plan(
    d: UploadDir,
    repo_id: str,
    *,
    card: bool,
    regenerate_card: bool,
    license: str | None,
    warnings: list[str],
) -> tuple[list[UploadFile], str | None]:
    """The files of the commit and the generated card (None when none is added)."""
    files = [UploadFile(name, path.stat().st_size, source=path) for name, path in d.files]
    has_readme = any(f.path_in_repo == "README.md" for f in files)
    if not card or (has_readme and not regenerate_card):
        if has_readme and card and d.kind == "transplant":
            tags = read_front_matter(
                (d.path / "README.md").read_text(encoding="utf-8", errors="replace")
            ).get("tags")
            if not (isinstance(tags, list) and "tokenizer-transplant" in tags):
                warnings.append(
                    "README.md in the directory is kept, but it does not describe a transplant "
                    "(it may be the base model's card); regenerate_card=True replaces it"
                )
        return files, None
    text = card_text(d, repo_id, license, warnings)
    data = text.encode("utf-8")
    note = "generated model card, replaces the directory's README.md" if has_readme else ""
    files = [f for f in files if f.path_in_repo != "README.md"]
    files.append(UploadFile("README.md", len(data), data=data, note=note or "generated card"))
    return sorted(files, key=lambda f: f.path_in_repo), text


def _token(token: str | None, *, network: bool) -> tuple[str | None, str | None]:
    """(token, where it came from): ``token``, else HF_TOKEN, else huggingface_hub's stored
    login. Without ``network`` (a dry run) the stored token is only looked for on disk, because
    ``huggingface_hub.get_token`` may exchange an OIDC token or refresh an OAuth one."""
    if token:
        return token, "--token"
    env = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if env and env.strip():
        return env.strip(), "HF_TOKEN"
    try:
        from huggingface_hub import constants
    except ImportError:
        return None, None
    if not network:
        path = Path(constants.HF_TOKEN_PATH)
        return (None, "stored token") if path.is_file() else (None, None)
    from huggingface_hub import get_token

    try:
        stored = get_token()
    except Exception as e:  # HF_OIDC_RESOURCE set and the OIDC exchange failed
        raise HubError(
            f"cannot get a Hugging Face token: {e}", hint="pass {token} or set HF_TOKEN"
        ) from e
    return (stored, "stored token") if stored else (None, None)


def push(
    path: str | os.PathLike[str],
    repo_id: str,
    *,
    private: bool = False,
    dry_run: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    card: bool = True,
    regenerate_card: bool = False,
    license: str | None = None,
) -> PushResult:
    """Upload the directory ``path`` to the Hub model repo ``repo_id`` in one commit.

    The repo is created if needed (``private`` applies only to a new repo). Every file of the
    directory is uploaded except hidden ones; with ``card``, a generated ``README.md`` (see
    :func:`model_card`) is added, unless the directory has its own README.md, which is kept
    unless ``regenerate_card``. The directory is not modified.

    Args:
        path: A model or tokenizer directory.
        repo_id: ``OWNER/NAME``.
        private: Create the repo private (an existing repo keeps its visibility).
        dry_run: Check everything and build the card, but send nothing; no token is needed.
        token: A Hub token with write access; default: ``HF_TOKEN``, else the token stored by
            ``hf auth login``.
        endpoint: The Hub URL (default: ``HF_ENDPOINT``, else https://huggingface.co).
        revision: The branch to commit to, created from main if it does not exist
            (default: main).
        commit_message: Default: ``"Upload <dir> with tokkit push"``.
        card: Add a generated model card when the directory has no README.md.
        regenerate_card: Replace the directory's README.md with a generated card.
        license: A Hub license id for the card, overriding the one carried from the base model.

    Returns:
        What was (or would be) uploaded, and where.

    Raises:
        ModelNotFoundError: ``path`` is not a directory.
        ModelError: It has no files, or holds pickle files (``*.bin``, ``*.pt``, ``*.pkl``...).
        ConfigError: An invalid repo id, endpoint or option.
        HubError: No token, huggingface_hub missing or offline, or the Hub refused the upload.
    """
    d = describe_dir(path)
    check_no_pickles(d)
    check_repo_id(repo_id)
    if endpoint is not None and not re.match(r"^https?://[^/\s]+", endpoint):
        raise ConfigError(f"invalid endpoint {endpoint!r}: give a URL such as {DEFAULT_ENDPOINT}")
    if regenerate_card and not card:
        raise ConfigError(
            "regenerate_card=True needs card=True",
            hint="drop {card=False} or {regenerate_card=True}",
        )
    branch = revision or "main"
    warnings = list(d.warnings)
    files, card_text = _plan(
        d, repo_id, card=card, regenerate_card=regenerate_card, license=license, warnings=warnings
    )
    for w in warnings:
        logger.warning("warning: %s", w)
    base_url = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    tree = f"/tree/{branch}" if branch != "main" else ""
    message = commit_message or f"Upload {d.path.resolve().name} with tokkit push"
    result = PushResult(
        repo_id=repo_id,
        url=f"{base_url}/{repo_id}{tree}",
        revision=branch,
        private=private,
        dry_run=dry_run,
        files=tuple(files),
        card=card_text,
        warnings=tuple(warnings),
    )
    if dry_run:
        return dataclasses.replace(result, token_source=_token(token, network=False)[1])

    require_hub("pushing")
    from huggingface_hub import CommitOperationAdd, HfApi, constants

    if constants.is_offline_mode():
        raise HubError(
            "huggingface_hub is in offline mode (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set); "
            "unset it to push"
        )
    hub_token, source = _token(token, network=True)
    if not hub_token:
        raise HubError(
            "no Hugging Face token",
            hint="log in with `hf auth login` (`huggingface-cli login` in older huggingface_hub), "
            "set HF_TOKEN, or pass {token}",
        )
    api = HfApi(endpoint=endpoint.rstrip("/") if endpoint else None, token=hub_token)
    hub = api.endpoint
    step = f"creating {repo_id}"
    try:
        logger.info("creating %s (if needed) on %s", repo_id, hub)
        # private=None (not False) lets an organisation's default visibility apply.
        repo_url = api.create_repo(
            repo_id, private=True if private else None, exist_ok=True, repo_type="model"
        )
        if branch != "main":
            step = f"creating branch {branch!r} of {repo_id}"
            api.create_branch(repo_id, branch=branch, exist_ok=True, repo_type="model")
        operations = [
            CommitOperationAdd(
                path_in_repo=f.path_in_repo,
                path_or_fileobj=str(f.source) if f.source is not None else (f.data or b""),
            )
            for f in files
        ]
        step = f"uploading to {repo_id}"
        logger.info(
            "uploading %d files (%s) to %s, branch %s",
            len(files),
            human_size(result.total_bytes),
            repo_id,
            branch,
        )
        commit = api.create_commit(
            repo_id,
            operations,
            commit_message=message,
            revision=branch,
            repo_type="model",
        )
    except Exception as e:  # huggingface_hub raises HTTP, transport, ValueError and RuntimeError
        raise as_hub_error(e, step, repo_id, hub) from e
    url = f"{str(repo_url).rstrip('/')}{tree}"
    logger.info("commit: %s", commit.commit_url)
    return dataclasses.replace(
        result,
        url=url,
        commit_url=commit.commit_url,
        commit_oid=commit.oid,
        token_source=source,
    )


def human_size(n: int) -> str:
    """``1234567`` → ``"1.2 MB"`` (decimal units, as the Hub shows sizes)."""
    if n < 1000:
        return f"{n} B"
    size, unit = n / 1000, "KB"
    for bigger in ("MB", "GB", "TB"):
        if size < 1000:
            break
        size, unit = size / 1000, bigger
    return f"{size:.1f} {unit}"
