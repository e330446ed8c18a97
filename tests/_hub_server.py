"""A loopback stand-in for the Hugging Face Hub, for the ``tokkit push`` tests.

The real Hub cannot be reached from CI, so the tests point ``huggingface_hub`` at this server
instead (``endpoint=`` or ``HF_ENDPOINT``). It implements exactly the HTTP endpoints that
``huggingface_hub`` 2.4 calls for ``HfApi.create_repo`` + ``HfApi.create_branch`` +
``HfApi.create_commit`` on a model repo, as read from its source (``hf_api.py``,
``_commit_api.py``, ``lfs.py``):

=======================================================  ===========================================
``POST /api/repos/create``                               create_repo (409 when it exists)
``GET  /api/models/{repo}[/revision/{rev}]``              repo_info (create_repo calls it after a
                                                         401/403, an empty commit after the no-ops)
``POST /api/models/{repo}/branch/{branch}``               create_branch (``--revision``)
``POST /api/validate-yaml``                               the README.md front-matter check
``GET  /api/agent-harnesses``                             the User-Agent's agent registry (public,
                                                         fetched once a day unless telemetry is off)
``POST /api/models/{repo}/preupload/{rev}``               regular or LFS, per file (+ remote oid)
``POST /{repo}.git/info/lfs/objects/batch``               LFS batch API, ``basic`` transfer
``PUT  /lfs-upload/{oid}?sig=...``                        the pre-signed upload URL (no auth, as S3)
``POST /{repo}.git/info/lfs/objects/verify``              LFS verify
``POST /api/models/{repo}/commit/{rev}``                  the NDJSON commit
``GET  /api/models/{repo}/tree/{rev}``                    list_repo_tree (snapshot_download)
``HEAD|GET /{repo}/resolve/{rev}/{file}``                 hf_hub_download: metadata, then the bytes
=======================================================  ===========================================

The last two serve downloads, for the tests of Hub ids given as models or tokenizers
(``snapshot_download``, ``HF_ENDPOINT`` pointed here); :meth:`HubServer.add_repo` puts files in
a repo. A revision is a branch or a commit id. Public repos are read without a token.

With ``hf_xet`` installed, huggingface_hub 2.4 sends every file the preupload call puts in LFS
mode through xet instead; that protocol (a CAS server fed by the Rust ``hf_xet`` client) is not
reimplemented here. The tests set ``HF_HUB_DISABLE_XET=1``,
which makes ``huggingface_hub`` use the LFS batch API above; the xet token endpoint answers 501
with that hint, so a test that forgets it fails loudly instead of hanging.

Every other API call, and a read of a private repo, must carry ``Authorization: Bearer
<token>``; anything else gets a 401, as on the Hub. ``fail`` injects an HTTP status per
endpoint name. Requests are recorded (method, path, headers, body size) and unknown routes are
listed in ``unexpected``. The server binds 127.0.0.1 on a random port, caps request bodies,
times out idle connections and stops with :meth:`HubServer.stop` (or on leaving the ``with``
block); ``lifetime_s`` is a backstop that stops it even if a test never does.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

#: Paths the Hub stores with LFS whatever their size (a subset of its default .gitattributes).
LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".h5", ".onnx", ".npz")
#: Bigger files go to LFS too (the Hub's threshold is 10 MB).
LFS_THRESHOLD = 10 * 1024 * 1024

_REPO = r"(?P<repo>[^/]+/[^/]+?)"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/api/repos/create$"), "create"),
    ("POST", re.compile(r"^/api/validate-yaml$"), "validate_yaml"),
    ("GET", re.compile(r"^/api/agent-harnesses$"), "agent_harnesses"),
    ("POST", re.compile(rf"^/api/models/{_REPO}/preupload/(?P<rev>[^/]+)$"), "preupload"),
    ("POST", re.compile(rf"^/api/models/{_REPO}/commit/(?P<rev>[^/]+)$"), "commit"),
    ("POST", re.compile(rf"^/api/models/{_REPO}/branch/(?P<rev>[^/]+)$"), "branch"),
    ("GET", re.compile(rf"^/api/models/{_REPO}/xet-write-token/(?P<rev>[^/]+)$"), "xet"),
    ("POST", re.compile(rf"^/api/models/{_REPO}/xet-write-token/(?P<rev>[^/]+)$"), "xet"),
    ("GET", re.compile(rf"^/api/models/{_REPO}/revision/(?P<rev>[^/]+)$"), "repo_info"),
    ("GET", re.compile(rf"^/api/models/{_REPO}$"), "repo_info"),
    ("GET", re.compile(rf"^/api/models/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?$"), "tree"),
    ("GET", re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<file>.+)$"), "resolve"),
    ("HEAD", re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<file>.+)$"), "resolve"),
    ("POST", re.compile(rf"^/{_REPO}\.git/info/lfs/objects/batch$"), "lfs_batch"),
    ("POST", re.compile(rf"^/{_REPO}\.git/info/lfs/objects/verify$"), "lfs_verify"),
    ("PUT", re.compile(r"^/lfs-upload/(?P<oid>[0-9a-f]{64})$"), "lfs_upload"),
]


@dataclass
class Recorded:
    """One request the server answered."""

    method: str
    path: str
    endpoint: str
    headers: dict[str, str]
    body_size: int
    status: int = 0
    json: Any = None


@dataclass
class Repo:
    """A model repo: its visibility and, per branch, the list of commits (each a file map)."""

    repo_id: str
    private: bool
    branches: dict[str, list[tuple[str, dict[str, bytes]]]] = field(default_factory=dict)
    commit_messages: list[str] = field(default_factory=list)

    def head(self, branch: str) -> tuple[str, dict[str, bytes]]:
        return self.branches[branch][-1]


@dataclass
class RawAnswer:
    """A file's bytes rather than JSON, with the headers that describe it."""

    data: bytes
    headers: dict[str, str]


class HttpError(Exception):
    """An error answer: status, message and optional X-Error-Code."""

    def __init__(self, status: int, message: str, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra


def _route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """The endpoint name and path parameters of a request, or None for an unknown route."""
    for route_method, pattern, name in ROUTES:
        m = pattern.match(path)
        if m and route_method == method:
            return name, m.groupdict()
    return None


def _error(e: HttpError) -> tuple[int, Any, dict[str, str]]:
    """The Hub's error shape: a JSON ``error`` and the X-Error-* headers huggingface_hub reads."""
    headers = {"X-Error-Message": e.message}
    if e.code:
        headers["X-Error-Code"] = e.code
    return e.status, {"error": e.message, **e.extra}, headers


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob, as the Hub reports for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class HubServer:
    """The loopback Hub. Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Attributes:
        url: ``http://127.0.0.1:PORT``, to pass as the endpoint.
        token: the only token accepted.
        fail: endpoint name → HTTP status to answer instead of serving it.
        requests: every request, in arrival order.
        unexpected: requests to routes this server does not implement.
        repos: repo id → :class:`Repo`.
        validated_yaml: README contents sent to ``/api/validate-yaml``.
    """

    def __init__(
        self,
        token: str = "hf_loopback_test_token",
        *,
        user: str = "loopback-user",
        max_body: int = 64 * 1024 * 1024,
        lifetime_s: float = 300.0,
    ) -> None:
        self.token = token
        self.user = user
        self.max_body = max_body
        self.lifetime_s = lifetime_s
        self.fail: dict[str, int] = {}
        self.requests: list[Recorded] = []
        self.unexpected: list[str] = []
        self.repos: dict[str, Repo] = {}
        self.validated_yaml: list[str] = []
        self._lfs: dict[str, bytes] = {}
        self._sig = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self.url = ""

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> HubServer:
        server = self

        class Handler(_Handler):
            hub = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.lifetime_s, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if self._timer is not None:
            self._timer.cancel()
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        # Keep-alive connections would keep their handler threads waiting for the next request
        # until the socket timeout; closing them ends those threads now.
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the tests look at ------------------------------------------------------------------

    def add_repo(
        self, repo_id: str, files: dict[str, bytes], *, private: bool = False, branch: str = "main"
    ) -> str:
        """Put ``files`` at the head of ``branch`` of ``repo_id`` (created if needed), as one
        commit; returns the commit id."""
        oid = secrets.token_hex(20)
        with self._lock:
            repo = self.repos.setdefault(repo_id, Repo(repo_id, private=private))
            repo.branches.setdefault(branch, []).append((oid, dict(files)))
        return oid

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The files at the head of ``revision``."""
        return dict(self.repos[repo_id].head(revision)[1])

    def endpoints(self) -> list[str]:
        """The endpoint name of each request, in order, leaving out the agent-registry fetch
        (telemetry that depends on huggingface_hub's daily cache, not on the upload)."""
        return [r.endpoint for r in self.requests if r.endpoint != "agent_harnesses"]

    # -- the endpoints ---------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, Any, dict[str, str]]:
        """Answer one request: (status, JSON answer or None, extra headers)."""
        route = _route(method, path)
        if route is None:
            self.unexpected.append(f"{method} {path}")
            return _error(HttpError(404, f"the loopback Hub does not implement {method} {path}"))
        name, groups = route
        record = Recorded(method, path, name, headers, len(body))
        with self._lock:
            self.requests.append(record)
        try:
            status, answer = self._dispatch(name, groups, query, headers, body, record)
        except HttpError as e:
            record.status = e.status
            return _error(e)
        except Exception as e:  # a bug here: answer 500 at once rather than drop the connection
            self.unexpected.append(f"{method} {path}: {type(e).__name__}: {e}")
            record.status = 500
            return _error(HttpError(500, f"loopback Hub bug: {type(e).__name__}: {e}"))
        record.status = status
        if isinstance(answer, RawAnswer):
            return status, answer, answer.headers
        return status, answer, {}

    def _dispatch(
        self,
        name: str,
        groups: dict[str, str],
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        record: Recorded,
    ) -> tuple[int, Any]:
        # The pre-signed upload URL is authorised by its signature, as on S3; the agent registry
        # is public (huggingface_hub fetches it without a token).
        if name in ("repo_info", "tree", "resolve") and "authorization" not in headers:
            repo = self.repos.get(unquote(groups["repo"]))
            if repo is None or repo.private:
                # As the Hub: a private repo is indistinguishable from a missing one.
                raise HttpError(401, "Repository not found", "RepoNotFound")
        elif name not in ("lfs_upload", "agent_harnesses"):
            self._check_auth(headers)
        if name in self.fail:
            status = self.fail[name]
            raise HttpError(status, f"injected failure: {name} answers {status}")
        payload: Any = None
        if body and name not in ("lfs_upload", "commit"):
            payload = json.loads(body)
            record.json = payload
        params = {k: unquote(v) for k, v in groups.items() if v is not None}
        handler = getattr(self, f"_{name}")
        result: tuple[int, Any] = handler(params=params, query=query, payload=payload, body=body)
        return result

    def _check_auth(self, headers: dict[str, str]) -> None:
        if headers.get("authorization") != f"Bearer {self.token}":
            raise HttpError(401, "Invalid credentials in Authorization header")

    def _repo(self, repo_id: str, rev: str | None = None) -> Repo:
        repo = self.repos.get(repo_id)
        if repo is None:
            raise HttpError(404, f"Repository {repo_id} not found", "RepoNotFound")
        if rev is not None and rev not in repo.branches:
            raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return repo

    def _at(self, repo_id: str, rev: str) -> tuple[str, dict[str, bytes]]:
        """(commit id, files) at ``rev``: the head of a branch, or a commit of any branch."""
        repo = self._repo(repo_id)
        if rev in repo.branches:
            return repo.head(rev)
        for commits in repo.branches.values():
            for oid, files in commits:
                if oid == rev:
                    return oid, files
        raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")

    def _tree(self, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        _, files = self._at(params["repo"], params["rev"])
        sub = (params.get("sub") or "").strip("/")
        entries: list[dict[str, Any]] = []
        for path, data in sorted(files.items()):
            if sub and not path.startswith(sub + "/"):
                continue
            entry: dict[str, Any] = {
                "type": "file",
                "path": path,
                "size": len(data),
                "oid": git_blob_sha1(data),
            }
            if path.endswith(LFS_SUFFIXES) or len(data) >= LFS_THRESHOLD:
                sha = hashlib.sha256(data).hexdigest()
                entry["lfs"] = {"oid": sha, "size": len(data), "pointerSize": 134}
            entries.append(entry)
        return 200, entries

    def _resolve(self, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        oid, files = self._at(params["repo"], params["rev"])
        data = files.get(params["file"])
        if data is None:
            raise HttpError(404, f"{params['file']} is not in {params['repo']}", "EntryNotFound")
        lfs = params["file"].endswith(LFS_SUFFIXES) or len(data) >= LFS_THRESHOLD
        etag = hashlib.sha256(data).hexdigest() if lfs else git_blob_sha1(data)
        headers = {"X-Repo-Commit": oid, "ETag": f'"{etag}"'}
        return 200, RawAnswer(data, headers)

    def _create(self, payload: dict[str, Any], **_: Any) -> tuple[int, Any]:
        if payload.get("type", "model") != "model":
            raise HttpError(400, "the loopback Hub only hosts model repos")
        repo_id = f"{payload.get('organization') or self.user}/{payload['name']}"
        url = f"{self.url}/{repo_id}"
        with self._lock:
            if repo_id in self.repos:
                # The Hub's 409 carries the URL too; create_repo(exist_ok=True) reads it.
                raise HttpError(409, "You already created this model repo", url=url)
            repo = Repo(repo_id, private=payload.get("visibility") == "private")
            repo.branches["main"] = [(secrets.token_hex(20), {})]
            self.repos[repo_id] = repo
        return 200, {"url": url, "name": repo_id, "id": secrets.token_hex(12)}

    def _repo_info(self, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        repo = self._repo(params["repo"])
        oid, files = self._at(params["repo"], params.get("rev") or "main")
        siblings = [{"rfilename": name} for name in sorted(files)]
        return 200, {"id": repo.repo_id, "sha": oid, "private": repo.private, "siblings": siblings}

    def _branch(
        self, params: dict[str, str], payload: dict[str, Any] | None, **_: Any
    ) -> tuple[int, Any]:
        repo = self._repo(params["repo"])
        branch = params["rev"]
        if branch in repo.branches:
            raise HttpError(409, f"Reference already exists: refs/heads/{branch}")
        start = (payload or {}).get("startingPoint") or "main"
        self._repo(params["repo"], start)  # RevisionNotFound for an unknown starting point
        repo.branches[branch] = [repo.head(start)]
        return 200, {}

    def _agent_harnesses(self, **_: Any) -> tuple[int, Any]:
        # Fetched once a day for the User-Agent (telemetry); an empty registry detects nothing.
        return 200, {"standardEnvVars": [], "harnesses": {}}

    def _validate_yaml(self, payload: dict[str, Any], **_: Any) -> tuple[int, Any]:
        self.validated_yaml.append(payload["content"])
        return 200, {"errors": [], "warnings": []}

    def _preupload(
        self, params: dict[str, str], payload: dict[str, Any], **_: Any
    ) -> tuple[int, Any]:
        repo = self._repo(params["repo"], params["rev"])
        current = repo.head(params["rev"])[1]
        answers = []
        for f in payload["files"]:
            lfs = f["path"].endswith(LFS_SUFFIXES) or f["size"] >= LFS_THRESHOLD
            answer: dict[str, Any] = {
                "path": f["path"],
                "uploadMode": "lfs" if lfs else "regular",
                "shouldIgnore": False,
            }
            if f["path"] in current:
                data = current[f["path"]]
                answer["oid"] = hashlib.sha256(data).hexdigest() if lfs else git_blob_sha1(data)
            answers.append(answer)
        return 200, {"files": answers, "commitOid": repo.head(params["rev"])[0]}

    def _lfs_batch(
        self, params: dict[str, str], payload: dict[str, Any], **_: Any
    ) -> tuple[int, Any]:
        self._repo(params["repo"])
        if payload.get("operation") != "upload" or "basic" not in payload.get("transfers", []):
            raise HttpError(400, "the loopback Hub serves LFS uploads over the basic transfer only")
        objects = []
        for obj in payload["objects"]:
            oid, size = obj["oid"], obj["size"]
            entry: dict[str, Any] = {"oid": oid, "size": size}
            if oid not in self._lfs:
                entry["actions"] = {
                    "upload": {"href": f"{self.url}/lfs-upload/{oid}?sig={self._sig}"},
                    "verify": {"href": f"{self.url}/{params['repo']}.git/info/lfs/objects/verify"},
                }
            objects.append(entry)
        return 200, {"transfer": "basic", "objects": objects}

    def _lfs_upload(
        self, params: dict[str, str], query: dict[str, list[str]], body: bytes, **_: Any
    ) -> tuple[int, Any]:
        if query.get("sig") != [self._sig]:
            raise HttpError(403, "bad signature on the upload URL")
        if hashlib.sha256(body).hexdigest() != params["oid"]:
            raise HttpError(400, "uploaded content does not match its sha256")
        with self._lock:
            self._lfs[params["oid"]] = body
        return 200, None

    def _lfs_verify(self, payload: dict[str, Any], **_: Any) -> tuple[int, Any]:
        data = self._lfs.get(payload["oid"])
        if data is None or len(data) != payload["size"]:
            raise HttpError(404, f"LFS object {payload['oid']} was not uploaded")
        return 200, {}

    def _xet(self, **_: Any) -> tuple[int, Any]:
        raise HttpError(501, "the loopback Hub does not speak xet; set HF_HUB_DISABLE_XET=1")

    def _commit(
        self, params: dict[str, str], query: dict[str, list[str]], body: bytes, **_: Any
    ) -> tuple[int, Any]:
        if query.get("create_pr"):
            raise HttpError(400, "the loopback Hub does not open pull requests")
        repo = self._repo(params["repo"], params["rev"])
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HttpError(400, "the commit payload must start with a header line")
        files = dict(repo.head(params["rev"])[1])
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HttpError(400, f"unknown encoding {value.get('encoding')!r}")
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "lfsFile":
                data = self._lfs.get(value["oid"])
                if data is None or value.get("algo") != "sha256":
                    raise HttpError(422, f"LFS object {value['oid']} of {value['path']} is missing")
                files[value["path"]] = data
            elif key == "deletedFile":
                files.pop(value["path"], None)
            else:
                raise HttpError(400, f"the loopback Hub does not implement commit key {key!r}")
        oid = secrets.token_hex(20)
        with self._lock:
            repo.branches[params["rev"]].append((oid, files))
            repo.commit_messages.append(lines[0]["value"]["summary"])
        return 200, {
            "success": True,
            "commitOid": oid,
            "commitUrl": f"{self.url}/{repo.repo_id}/commit/{oid}",
            "pullRequestUrl": None,
        }


class _Handler(BaseHTTPRequestHandler):
    """Reads one request (Content-Length or chunked), asks the hub, writes a JSON answer."""

    hub: HubServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is dropped rather than holding a thread

    def setup(self) -> None:
        super().setup()
        with self.hub._lock:
            self.hub._conns.add(self.connection)

    def finish(self) -> None:
        with self.hub._lock:
            self.hub._conns.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the tests read ``HubServer.requests`` instead."""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                total += size
                if total > self.hub.max_body:
                    raise HttpError(413, "request body too large for the loopback Hub")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.hub.max_body:
            raise HttpError(413, "request body too large for the loopback Hub")
        return self.rfile.read(length)

    def _serve(self) -> None:
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        extra: dict[str, str] = {}
        try:
            body = self._read_body()
            status, answer, extra = self.hub.handle(
                self.command, url.path, parse_qs(url.query), headers, body
            )
        except HttpError as e:  # only from reading the body: too large
            status, answer, extra = _error(e)
            self.close_connection = True
        if isinstance(answer, RawAnswer):
            data, kind = answer.data, "application/octet-stream"
        else:
            data = b"" if answer is None else json.dumps(answer).encode()
            kind = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_HEAD = _serve
