"""Sharded counting on a real local Ray cluster (started here on the loopback address with two
worker CPUs, stopped at the end): every algorithm gives the same tokenizer.json as one machine,
from text files cut into byte ranges and from Parquet row groups; a worker killed mid-run is
retried; bad addresses and unreadable shards are typed errors that write nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tokkit
from tokkit.distributed import KILL_ONCE_ENV
from tokkit.exceptions import ClusterError, ConfigError, CorpusError
from tokkit.trainers import BPE, CharBPE, Hybrid, SuperBPE, Supertoken

from ..conftest import CORPORA, run_cli

pytest.importorskip("ray")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

RAY = str(Path(sys.executable).parent / "ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_auto_starts_a_local_cluster_and_leaves_no_token(tmp_path: Path) -> None:
    """Before the module's cluster starts: "auto" finds no cluster, starts a local one for the
    run, stops it, and leaves no ~/.ray/auth_token and no environment change behind."""
    from tokkit.distributed import RAY_TOKEN

    had_token = RAY_TOKEN.exists()
    environ = dict(os.environ)
    text = tmp_path / "t.txt"
    text.write_bytes((CORPORA / "en-prose.txt").read_bytes()[:100_000])
    one = tokkit.train(text, BPE(vocab_size=600))
    many = tokkit.train(text, BPE(vocab_size=600), ray="auto")
    assert many.to_json() == one.to_json()
    assert RAY_TOKEN.exists() == had_token
    # Ray's start sets RAY_AUTH_MODE=token and more in this process; all of it is put back.
    assert dict(os.environ) == environ


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, Path]]:
    """A Ray head on 127.0.0.1 with 2 CPUs (two task workers); its workers kill themselves once
    when the returned marker file exists (the fault test arms it)."""
    # Ray's socket paths must stay short: a temp dir of its own directly under /tmp.
    temp = Path(tempfile.mkdtemp(prefix="tkray", dir="/tmp"))
    marker = temp / "kill-once"
    port = _free_port()
    # HOME of its own: a `ray start` that finds ~/.ray/auth_token (which a local cluster's
    # start leaves) turns token authentication on, and tokkit connects without a token.
    env = {**os.environ, KILL_ONCE_ENV: str(marker), "RAY_USAGE_STATS_ENABLED": "0",
           "HOME": str(temp)}
    subprocess.run(
        [RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
         "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
         f"--temp-dir={temp}"],
        env=env, check=True, capture_output=True, timeout=120,
    )
    try:
        yield f"127.0.0.1:{port}", marker
    finally:
        # Stops the Ray processes of this machine: the suite runs no other cluster.
        subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """2.7 MB in two files: at 1 MiB per shard, the first is cut into three byte ranges."""
    out = tmp_path_factory.mktemp("big")
    a = out / "mixed.txt"
    a.write_bytes(b"".join((CORPORA / n).read_bytes()
                           for n in ("en-prose.txt", "en-tech.txt", "code.txt", "tr.txt")))
    return [str(a), str(CORPORA / "unicode-edge.txt")]


@pytest.mark.parametrize(
    "trainer",
    [
        SuperBPE(vocab_size=3000, transition_point=2200),
        CharBPE(vocab_size=800, max_token_chars=3, pad_tokens=5),
        Supertoken(vocab_size=1200, seed=11),
    ],
    ids=lambda t: t.algorithm,
)
def test_every_algorithm_on_ray_equals_one_machine(
    cluster: tuple[str, Path], big: list[str], trainer: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two tables per merge task: the 4 shards' tables go through a merge tree of two levels.
    monkeypatch.setattr("tokkit.distributed.FAN_IN", 2)
    one = tokkit.train(big, trainer)
    many = tokkit.train(big, trainer, ray=cluster[0], shard_mb=1)
    assert many.report["distributed"]["shards"] == 4
    assert many.to_json() == one.to_json()
    for key in ("sequences", "pieces", "corpus_bytes", "distinct_words", "corpus_tokens"):
        assert many.report[key] == one.report[key], key


@pytest.mark.parametrize(
    "args",
    [
        ["--vocab-size", "3000"],
        ["--algo", "superbpe", "--vocab-size", "3000", "--transition-point", "2200"],
    ],
    ids=["bpe", "superbpe"],
)
def test_the_cli_writes_the_same_tokenizer_json(
    cluster: tuple[str, Path], big: list[str], tmp_path: Path, args: list[str]
) -> None:
    alone = run_cli("train", *args, "--out", str(tmp_path / "one"), *big)
    assert alone.returncode == 0, alone.stderr
    ray = run_cli("train", *args, "--ray", cluster[0], "--shard-mb", "1", "--progress", "jsonl",
                  "--out", str(tmp_path / "ray"), *big)
    assert ray.returncode == 0, ray.stderr
    assert (tmp_path / "ray" / "tokenizer.json").read_bytes() == (
        tmp_path / "one" / "tokenizer.json").read_bytes()
    meta = json.loads((tmp_path / "ray" / "tokkit.json").read_text(encoding="utf-8"))
    assert meta["distributed"]["engine"] == "ray"
    assert meta["distributed"]["cpus"] == 2
    assert meta["corpus"]["files"] == big
    # Progress: bytes counted and shards done across the cluster, both to the end.
    events = [json.loads(x) for x in ray.stderr.splitlines() if x.startswith("{")]
    shards = [e for e in events if e["unit"] == "shards"]
    assert shards[-1]["current"] == shards[-1]["total"] == 4
    counted = [e for e in events if e["stage"] == "count"]
    assert counted[-1]["finished"]
    assert counted[-1]["current"] == sum(Path(f).stat().st_size for f in big)


def test_parquet_row_groups_on_ray(cluster: tuple[str, Path], tmp_path: Path) -> None:
    lines = (CORPORA / "en-prose.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"body": lines}), path, row_group_size=1000)
    for trainer in (BPE(vocab_size=900), Supertoken(vocab_size=900, seed=2)):
        one = tokkit.train(path, trainer, text_field="body")
        many = tokkit.train(path, trainer, text_field="body", ray=cluster[0])
        assert many.report["distributed"]["shards"] == pq.ParquetFile(path).num_row_groups > 3
        assert many.to_json() == one.to_json()


def test_a_killed_worker_is_retried_and_the_output_is_unchanged(
    cluster: tuple[str, Path], big: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    address, marker = cluster
    trainer = BPE(vocab_size=1500)
    one = tokkit.train(big, trainer)
    marker.write_text("armed")
    # "auto" finds the cluster through RAY_ADDRESS (only its workers know the marker).
    monkeypatch.setenv("RAY_ADDRESS", address)
    many = tokkit.train(big, trainer, ray="auto", shard_mb=1)
    assert Path(f"{marker}.fired").exists(), "no worker was killed"
    assert not marker.exists()
    assert many.to_json() == one.to_json()


def test_bad_addresses_fail_fast_and_write_nothing(tmp_path: Path, big: list[str]) -> None:
    started = time.monotonic()
    with pytest.raises(ClusterError, match=r"cannot reach a Ray cluster at 127\.0\.0\.1:"):
        tokkit.train(big, BPE(vocab_size=300), ray=f"127.0.0.1:{_free_port()}",
                     out=tmp_path / "o")
    assert time.monotonic() - started < 30
    with pytest.raises(ClusterError, match="not HOST:PORT"):
        tokkit.train(big, BPE(vocab_size=300), ray="head-node", out=tmp_path / "o")
    result = run_cli("train", "--vocab-size", "300", "--ray", "127.0.0.1:1", "--out",
                     str(tmp_path / "o"), *big)
    assert result.returncode == 1
    assert "hint:" in result.stderr
    assert "--ray auto" in result.stderr
    assert not (tmp_path / "o").exists()


def test_an_unreadable_shard_names_its_file_and_byte_range(
    cluster: tuple[str, Path], big: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.txt"
    data = Path(big[0]).read_bytes()
    bad.write_bytes(data + b"\xff\xfe not UTF-8\n")
    end = bad.stat().st_size
    with pytest.raises(CorpusError, match=rf"{bad} bytes 2\d+\.\.{end}\b.*invalid UTF-8"):
        tokkit.train([str(bad)], BPE(vocab_size=300), ray=cluster[0], shard_mb=1, strict=True,
                     out=tmp_path / "o")
    assert not (tmp_path / "o").exists()
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text('{"body": "a"}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=rf"{jsonl}.*no string field \"text\""):
        tokkit.train([str(jsonl)], BPE(vocab_size=300), ray=cluster[0])


def test_what_runs_on_one_machine_only_is_refused(big: list[str]) -> None:
    with pytest.raises(ConfigError, match="hybrid trains on one machine"):
        tokkit.train(big, Hybrid(vocab_size=4000, lang="tr"), ray="auto")
    with pytest.raises(ConfigError, match="texts="):
        tokkit.train(None, BPE(vocab_size=300), texts=["a b"], ray="auto")
    with pytest.raises(ConfigError, match="extension"):
        tokkit.train(big, SuperBPE(vocab_size=70000, extend="gpt2"), ray="auto")


def test_workers_of_another_tokkit_are_refused(
    cluster: tuple[str, Path], big: list[str], tmp_path: Path
) -> None:
    """Workers that import another tokkit (here a package of another version put first on
    their path) are refused before any counting, with the fix in the hint."""
    import ray

    other = tmp_path / "other" / "tokkit"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text('__version__ = "0.0.0-other"\n', encoding="utf-8")
    ray.init(address=cluster[0], logging_level="ERROR", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(other.parent)}})
    try:
        with pytest.raises(ClusterError, match="install the same tokkit version on every node"):
            tokkit.train(big, BPE(vocab_size=300), ray=cluster[0], out=tmp_path / "o")
    finally:
        ray.shutdown()
    assert not (tmp_path / "o").exists()
