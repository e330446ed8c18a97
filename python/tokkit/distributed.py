"""Sharded training on a Ray cluster, with output identical to one machine's.

The driver cuts the corpus into shards (byte ranges of text files cut at line boundaries, whole
compressed files, Parquet row groups, Arrow files), and Ray tasks count each shard with the Rust
core into a compact count table (64-bit counts, sorted words; ``train::wire`` in the core).
The driver merges the tables exactly and runs the same merge loop as single-node training, so
``tokenizer.json`` is byte-identical (design/training.md §8). SuperBPE counts twice: stage-1
words, then, with the stage-1 model sent to every worker, its stage-2 spans, which the workers
also segment. A worker that dies is retried by Ray; a task that raises fails the run with the
shard named.

Ray is imported only here, and only when asked for (``pip install 'tokkit[ray]'``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokkit import _tokkit
from tokkit._progress import Progress, ProgressMode
from tokkit.exceptions import ClusterError, ConfigError, CorpusError, TokkitError

#: Default shard size: large enough that a task's fixed cost (about 10 ms) is noise, small
#: enough that a few dozen shards keep every worker busy on a 1 GB corpus.
DEFAULT_SHARD_MB = 64
#: Ray retries a task whose worker process died this many times (a raised error is not
#: retried: it would fail again).
MAX_RETRIES = 3
#: Tables merged by one task of the merge tree; the driver merges the last (at most this
#: many) itself, streaming them into the merge loop: a root merge on a worker would hold its
#: inputs and the whole merged table at once (measured: 6.6 GB on a worker for SuperBPE on
#: 1 GB, against 3.7 GB with the driver merging the last two).
FAN_IN = 8
#: Test hook: if this file exists, the first task to rename it kills its own worker process
#: (SIGKILL) before counting, so the tests see Ray retry a dead worker.
KILL_ONCE_ENV = "TOKKIT_TEST_KILL_WORKER_ONCE"


@dataclass(frozen=True)
class Shard:
    """One unit of counting: a file shard (``kind`` ``file``: the core's JSON) or a table shard
    (``kind`` ``table``: a Parquet row group or an Arrow file)."""

    kind: str
    spec: str
    bytes: int
    label: str
    path: str


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise ConfigError(
            "training on a Ray cluster needs ray: pip install 'tokkit[ray]'"
        ) from e
    return ray


def _reachable(address: str) -> None:
    """Fail fast on an address nothing listens on (Ray itself retries for minutes)."""
    host_port = address.removeprefix("ray://")
    host, sep, port = host_port.rpartition(":")
    if not sep or not port.isdigit():
        raise ClusterError(
            f"Ray address {address!r} is not HOST:PORT",
            hint="give the head node's address (HOST:PORT, as Ray printed it when the head "
            "started), or {ray=auto}",
        )
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise ClusterError(
            f"cannot reach a Ray cluster at {address}: {e.strerror or e}",
            hint="check that the head node runs ('ray status' on it) and that this machine "
            "reaches its port, or give {ray=auto} to use a local cluster",
        ) from e


def connect(address: str) -> Callable[[], None] | None:
    """Connect to the cluster at ``address`` (``auto``: ``RAY_ADDRESS`` if set, else the cluster
    running on this machine, else a new local one). Returns what disconnects (and stops a
    cluster this call started), or ``None`` when Ray was connected already."""
    ray = _ray()
    if ray.is_initialized():
        return None
    options: dict[str, Any] = {"logging_level": "ERROR", "log_to_driver": False}
    if address == "auto" and os.environ.get("RAY_ADDRESS"):
        # As an address given explicitly: checked first, so a dead one fails in seconds.
        address = os.environ["RAY_ADDRESS"]
    try:
        if address == "auto":
            try:
                ray.init(address="auto", **options)
            except ConnectionError:
                print("tokkit: no running Ray cluster found; starting a local one",
                      file=sys.stderr)
                return _init_local(ray, options)
        else:
            _reachable(address)
            ray.init(address=address, **options)
    except TokkitError:
        raise
    except (RuntimeError, ConnectionError, ValueError) as e:
        text = str(e)
        if "version mismatch" in text.lower():
            raise ClusterError(
                f"the Ray cluster runs another Ray or Python version than this driver: {text}",
                hint="install the cluster's Ray and Python versions here, or start the cluster "
                "with this machine's",
            ) from e
        raise ClusterError(f"cannot connect to Ray at {address}: {text}") from e
    return ray.shutdown  # type: ignore[no-any-return]


#: Where Ray keeps the token a local cluster's start writes; a `ray start` on this machine
#: that finds it later turns token authentication on, and clients without the token are then
#: refused.
RAY_TOKEN = Path.home() / ".ray" / "auth_token"


def _init_local(ray: Any, options: dict[str, Any]) -> Callable[[], None]:
    """Start a local cluster for this run; returns what stops it and puts back what starting
    it changed: Ray writes a token file and sets ``RAY_AUTH_MODE=token`` (among others) in
    this process's environment, which would carry into later clusters and subprocesses."""
    had_token = RAY_TOKEN.exists()
    environ = dict(os.environ)
    ray.init(**options)

    def stop() -> None:
        ray.shutdown()
        if not had_token:
            RAY_TOKEN.unlink(missing_ok=True)
        for key in [k for k in os.environ if k not in environ]:
            del os.environ[key]
        os.environ.update(environ)

    return stop


def _probe() -> tuple[str, str]:
    """Runs on a worker: the tokkit version it imports, and its core's."""
    import tokkit

    return tokkit.__version__, _tokkit.__version__


def check_workers(ray: Any) -> None:
    """Every worker must import the driver's tokkit: tables of another version are refused
    anyway, but failing before counting says so at once."""
    try:
        versions = ray.get(ray.remote(num_cpus=0)(_probe).remote(), timeout=120)
    except Exception as e:  # any failure here means the workers cannot run tokkit
        raise ClusterError(
            f"Ray workers cannot run tokkit: {type(e).__name__}: {str(e).splitlines()[0]}",
            hint="install the same tokkit version on every node",
        ) from e
    import tokkit

    if tuple(versions) != (tokkit.__version__, _tokkit.__version__):
        raise ClusterError(
            f"Ray workers run tokkit {versions[0]} (core {versions[1]}), the driver tokkit "
            f"{tokkit.__version__} (core {_tokkit.__version__})",
            hint="install the same tokkit version on every node",
        )


def _kill_once() -> None:
    marker = os.environ.get(KILL_ONCE_ENV)
    if not marker:
        return
    try:
        Path(marker).rename(marker + ".fired")
    except OSError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _count(config_json: str, shard: Shard, text_field: str | None, strict: bool,
           stage1: bytes | None) -> tuple[bytes, int]:
    """Runs on a worker: one shard counted into a count table, on one thread (a task holds one
    CPU). Also returns the table's size: a small second result the driver fetches to follow
    progress and see errors while the table itself goes straight to a merge task."""
    _kill_once()
    if shard.kind == "file":
        table = _tokkit.count_file_shard(config_json, shard.spec, text_field=text_field,
                                         strict_utf8=strict, stage1=stage1, num_threads=1)
        return table, len(table)
    from tokkit.sources import TableShard, read_shard

    spec = TableShard(**json.loads(shard.spec))
    texts = read_shard(spec, text_field or "text")
    table = _tokkit.count_texts(config_json, texts, spec.first_row, stage1=stage1,
                                num_threads=1)
    return table, len(table)


def _merge(config_json: str, stage: str, *tables: bytes) -> bytes:
    """Runs on a worker: adjacent shards' tables merged into one (a node of the merge tree)."""
    return _tokkit.merge_count_tables(config_json, stage, list(tables))


def plan(config_json: str, files: Sequence[str], table: Any, *, text_field: str | None,
         shard_mb: int) -> list[Shard]:
    """The shards of the corpus, in corpus order: files first, then the table's shards (as
    single-node training counts files, then texts)."""
    shards: list[Shard] = []
    if files:
        planned = json.loads(_tokkit.shard_plan(config_json, list(files), text_field=text_field,
                                                shard_bytes=shard_mb << 20))
        for s in planned:
            shards.append(Shard("file", json.dumps(s), s["end"] - s["start"],
                                f"{s['path']} bytes {s['start']}..{s['end']}", s["path"]))
    if table is not None:
        if files and json.loads(config_json)["algorithm"] == "supertoken":
            raise ConfigError(
                "supertoken chunking numbers documents across the corpus: on a cluster, give "
                "either text files or a dataset, not both"
            )
        import dataclasses

        for t in table.shards():
            shards.append(Shard("table", json.dumps(dataclasses.asdict(t)), t.bytes,
                                f"{t.path} rows {t.first_row}..{t.first_row + t.rows}", t.path))
    if not shards:
        raise CorpusError("no corpus given: pass files, directories, globs or a dataset")
    return shards


def _run_pass(ray: Any, name: str, config_json: str, shards: list[Shard], *,
              text_field: str | None, strict: bool, stage1: Any, progress: ProgressMode
              ) -> list[bytes]:
    """Counts every shard on the cluster and merges the tables there, FAN_IN at a time, in
    shard order, until at most FAN_IN are left for the driver.

    At most ``_window(ray)`` counts are submitted ahead of those finished, and nothing is
    cancelled: when a shard fails (or Ctrl-C comes) the driver stops submitting and raises,
    and the few tasks in flight finish on their own (or end with the job, when this call
    connected). ``ray.cancel`` of a task that is just finishing aborts the driver in Ray's
    task manager (a failed check, "Tried to complete task that was not pending", seen with
    Ray 2.60 in this suite)."""
    options = {"num_cpus": 1, "max_retries": MAX_RETRIES, "retry_exceptions": False}
    count = ray.remote(num_returns=2, **options)(_count)
    merge = ray.remote(**options)(_merge)
    stage = "words" if stage1 is None else "spans"
    # levels[k]: the tables of level k not merged yet, in shard order. A merge is submitted
    # as soon as FAN_IN of them exist: Ray starts it once its inputs are made.
    levels: list[list[Any]] = [[]]

    def add(table: Any, level: int = 0) -> None:
        if level == len(levels):
            levels.append([])
        levels[level].append(table)
        if len(levels[level]) == FAN_IN:
            group, levels[level] = levels[level], []
            add(merge.remote(config_json, stage, *group), level + 1)

    sizes: dict[Any, int] = {}
    submitted = 0
    window = _window(ray)
    total = sum(s.bytes for s in shards)
    with Progress(name, total, mode=progress, unit="bytes") as done_bytes, \
            Progress(f"{name} shards", len(shards),
                     mode="none" if progress == "bar" else progress,
                     unit="shards") as done_shards:
        while submitted < len(shards) or sizes:
            while submitted < len(shards) and len(sizes) < window:
                table, size = count.remote(config_json, shards[submitted], text_field, strict,
                                           stage1)
                add(table)
                sizes[size] = submitted
                submitted += 1
            ready, _ = ray.wait(list(sizes), num_returns=1)
            for ref in ready:
                shard = shards[sizes.pop(ref)]
                _get(ray, ref, shard.label)
                done_bytes.advance(shard.bytes)
                done_shards.advance(1)
    # The higher a level, the earlier its shards: what is left, in shard order.
    last = [table for level in reversed(levels) for table in level]
    while len(last) > FAN_IN:
        last = [merge.remote(config_json, stage, *last[i:i + FAN_IN])
                for i in range(0, len(last), FAN_IN)]
    return list(_get(ray, last, "the merged tables"))


def _window(ray: Any) -> int:
    """Counts in flight at once: two per CPU of the cluster, so no worker waits for the
    driver to submit its next shard."""
    return max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))


def _get(ray: Any, ref: Any, what: str) -> Any:
    """``ray.get``, with a task's failure raised as the typed error it was, naming ``what``."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        raise _task_error(e, what) from None
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as e:
        raise ClusterError(
            f"{what}: a worker died {MAX_RETRIES + 1} times ({type(e).__name__})",
            hint="check the nodes' memory and logs ('ray logs'), or give a smaller {shard_mb}",
        ) from None


def _task_error(e: Any, what: str) -> TokkitError:
    """A task's exception as the typed error it was; ``what`` (the shard) is named unless the
    message names its file already."""
    cause = getattr(e, "cause", None)
    if isinstance(cause, TokkitError):
        path = what.split(" ")[0]
        return cause if path in cause.message else cause.prefixed(f"shard {what}")
    return ClusterError(f"{what}: {type(cause or e).__name__}: {cause or e}")


def count_and_train(trainer_json: str, files: Sequence[str], table: Any, *, address: str,
                    text_field: str | None, strict: bool, shard_mb: int,
                    num_threads: int | None, progress: ProgressMode) -> tuple[Any, dict[str, Any]]:
    """Counts on the cluster and trains on this machine. Returns the core's trained tokenizer
    and the ``distributed`` record of ``tokkit.json``."""
    if shard_mb <= 0:
        raise ConfigError(f"shard_mb must be positive, got {shard_mb}")
    algorithm = json.loads(trainer_json)["algorithm"]
    shards = plan(trainer_json, files, table, text_field=text_field, shard_mb=shard_mb)
    disconnect = connect(address)
    ray = _ray()
    try:
        check_workers(ray)
        started = time.perf_counter()
        def count(name: str, stage1: Any) -> list[bytes]:
            return _run_pass(ray, name, trainer_json, shards, text_field=text_field,
                             strict=strict, stage1=stage1, progress=progress)

        tables = count("count", None)
        count_seconds = time.perf_counter() - started
        corpus_files = list(dict.fromkeys(s.path for s in shards if s.kind == "file"))
        corpus_files += list(table.files) if table is not None else []
        if algorithm == "superbpe":
            stage1 = _tokkit.superbpe_stage1(trainer_json, tables, corpus_files,
                                             num_threads=num_threads, progress=progress)
            del tables
            model = ray.put(stage1.model_bytes())
            started = time.perf_counter()
            spans = count("count spans", model)
            count_seconds += time.perf_counter() - started
            native = _tokkit.superbpe_stage2(trainer_json, stage1, spans,
                                             num_threads=num_threads, progress=progress)
        else:
            native = _tokkit.train_from_tables(trainer_json, tables, corpus_files,
                                               num_threads=num_threads, progress=progress)
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        record = {
            "engine": "ray",
            "ray_version": ray.__version__,
            "nodes": len(nodes),
            "cpus": int(sum(n.get("Resources", {}).get("CPU", 0) for n in nodes)),
            "shards": len(shards),
            "shard_mb": shard_mb,
            "count_seconds": round(count_seconds, 3),
            "corpus_sha256": "sha256 of the shards' sha256 digests (hex, one per line, in "
            "shard order): reading shards in parallel leaves no single stream to hash",
        }
        return native, record
    finally:
        if disconnect is not None:
            disconnect()
