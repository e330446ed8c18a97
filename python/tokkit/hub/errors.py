"""Turning what huggingface_hub raises into a HubError that says what failed and what to do."""

from __future__ import annotations

from types import ModuleType

from tokkit.exceptions import HubError


def _http_status(exc: BaseException) -> tuple[int, str] | None:
    """(status, server message) of the first HTTP error in ``exc``'s cause chain: the LFS
    upload wraps them in RuntimeError."""
    from huggingface_hub.errors import HfHubHTTPError

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, HfHubHTTPError) and e.response is not None:
            lines = (e.server_message or "").strip().splitlines()
            message = lines[0] if lines else e.response.reason_phrase
            return e.response.status_code, message
        e = e.__cause__ or e.__context__
    return None


def _hint(status: int, repo_id: str) -> str:
    owner = repo_id.split("/")[0]
    if status == 401:
        return (
            "the token was rejected: check it with `hf auth whoami`, log in again with "
            "`hf auth login` (`huggingface-cli login` in older huggingface_hub) or set HF_TOKEN"
        )
    if status == 403:
        return (
            f"the token may not write to {owner!r}: use a token with write access to that "
            "user or organisation"
        )
    if status == 404:
        return f"check that {repo_id} and the branch exist and that the token can see them"
    if status == 429:
        return "the Hub is rate-limiting this token; wait a few minutes and push again"
    if status >= 500:
        return "the server failed; nothing was committed, push again later"
    return "check the repo id, the token and the endpoint"


def as_hub_error(exc: Exception, step: str, repo_id: str, endpoint: str) -> HubError:
    """Turn what huggingface_hub raised during ``step`` into a HubError with a hint."""
    status = _http_status(exc)
    if status is not None:
        code, message = status
        return HubError(
            f"{step} failed: HTTP {code} from {endpoint}: {message}; {_hint(code, repo_id)}"
        )
    # Transport errors of the HTTP client (httpx2 in huggingface_hub 2.x, httpx or requests
    # before): the server was not reached at all. hf_xet's builtin ConnectionError also covers
    # HTTP errors, so it takes the generic path below, which keeps its message.
    kind, module = type(exc).__name__, type(exc).__module__
    if module.startswith(("httpx", "httpcore", "requests", "urllib3")) and any(
        word in kind for word in ("Connect", "Timeout", "Network")
    ):
        return HubError(f"{step} failed: cannot reach {endpoint} ({exc}); check the network")
    message = first_line(exc)
    root: BaseException = exc
    while root.__cause__ is not None:  # the LFS upload wraps the real error in a RuntimeError
        root = root.__cause__
    if root is not exc:
        message += f" ({first_line(root)})"
    return HubError(f"{step} failed: {message}")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def require_hub(what: str) -> ModuleType:
    """The huggingface_hub module, or a HubError saying that ``what`` needs it and how to get it
    (it comes with the transplant extra, and with transformers)."""
    try:
        import huggingface_hub
    except ImportError:
        raise HubError(
            f"{what} needs huggingface_hub; pip install 'tokkit[transplant]' "
            "(or pip install huggingface_hub)"
        ) from None
    return huggingface_hub
