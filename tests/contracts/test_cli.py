"""The CLI contract: golden help and error texts, exit codes, no partial output after a failure
or Ctrl-C, JSON-lines progress, recipes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomllib

from tokkit import recipes

from .. import cli_snapshots
from ..conftest import ROOT, run_cli


@pytest.mark.parametrize("name", sorted(cli_snapshots.HELP_PAGES))
def test_help_matches_the_golden_text(name: str) -> None:
    page = cli_snapshots.cli(*cli_snapshots.HELP_PAGES[name]).stdout
    assert page == (cli_snapshots.SNAPSHOTS / name).read_text(), "run `make snapshots` and review"


def test_the_installed_command_and_the_module_run_as_processes(tmp_path: Path) -> None:
    """Most CLI tests call ``tokkit.cli.main`` in-process; this one runs the real entry points:
    the console script and ``python -m tokkit``, with their exit codes and streams."""
    script = Path(sys.executable).with_name("tokkit")
    env = {**os.environ, **cli_snapshots.CLI_ENV}
    result = subprocess.run(
        [str(script), "train", "--help"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0
    assert result.stdout == (cli_snapshots.SNAPSHOTS / "tokkit-train--help.txt").read_text()
    args = cli_snapshots.error_cases(tmp_path)["missing file"]
    process = cli_snapshots.cli_process(*args)
    in_process = cli_snapshots.cli(*args)
    assert process.returncode == in_process.returncode == 1
    assert (process.stdout, process.stderr) == (in_process.stdout, in_process.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["score", "--model", "m", "--max-bytes", "-5", "f"], "--max-bytes: must be 1 or more"),
        (["generate", "--model", "m", "--prompt", "x", "--seed", "-1"], "--seed: must be 0 or"),
        (["generate", "--model", "m", "--prompt", "x", "--temperature", "nan"], "not a finite"),
        (["generate", "--model", "m", "--prompt", "x", "--top-p", "0"], "must be in (0, 1]"),
        (["transplant", "--pad-to-multiple-of", "-8"], "--pad-to-multiple-of: must be 1 or"),
        (["transplant", "--mix-mean", "1.5"], "--mix-mean: must be in [0, 1]"),
        (["eval", "--renyi-alpha", "x"], "'x' is not a number"),
        (["eval", "--renyi-alpha", "-1"], "--renyi-alpha: must be 0 or more"),
    ],
)
def test_bad_numbers_are_usage_errors_naming_the_flag(args: list[str], message: str) -> None:
    result = cli_snapshots.cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_error_messages_match_the_golden_texts() -> None:
    assert cli_snapshots.render_errors() == (cli_snapshots.SNAPSHOTS / "errors.txt").read_text()


def test_failed_runs_exit_non_zero_and_leave_nothing(tmp_path: Path) -> None:
    for name, args in cli_snapshots.error_cases(tmp_path).items():
        before = sorted(p.name for p in tmp_path.iterdir())
        result = cli_snapshots.cli(*args)
        assert result.returncode == 1, name
        assert result.stderr.startswith("error: "), name
        assert result.stdout == "", name
        assert sorted(p.name for p in tmp_path.iterdir()) == before, name


def test_non_utf8_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    corpus = tmp_path / "mixed.txt"
    corpus.write_bytes(b"good line one\n\xff\xfe bad\ngood line two\n")
    result = run_cli("train", "--vocab-size", "300", "--out", str(tmp_path / "o"), str(corpus))
    assert result.returncode == 0, result.stderr
    assert "skipped 1 lines that are not valid UTF-8" in result.stderr
    meta = json.loads((tmp_path / "o" / "tokkit.json").read_text())
    assert meta["corpus"]["skipped_invalid_utf8"] == 1
    assert result.stdout.strip() == str(tmp_path / "o")


def test_jsonl_progress_goes_to_stderr(tmp_path: Path, corpus_files: list[str]) -> None:
    # A process of its own: the core writes these lines to file descriptor 2 itself.
    result = cli_snapshots.cli_process(
        "train",
        "--vocab-size",
        "2000",
        "--progress",
        "jsonl",
        "--out",
        str(tmp_path / "o"),
        *corpus_files,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {(e["stage"], e["unit"]) for e in events} == {("count", "bytes"), ("merge", "merges")}
    last_merge = [e for e in events if e["stage"] == "merge"][-1]
    assert last_merge["finished"]
    assert last_merge["current"] == last_merge["total"] == 2000 - 256


def test_rust_and_python_write_one_progress_schema(
    tmp_path: Path, corpus_files: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    """The JSON-lines progress events of the core (training) and of Python-side work (here a
    scoring-style stage) have exactly the same keys, in the same order, with the same types."""
    import tokkit
    from tokkit._progress import Progress
    from tokkit._tokkit import PROGRESS_FIELDS

    tokkit.train(corpus_files[0], tokkit.trainers.BPE(vocab_size=400), progress="jsonl")
    with Progress("scoring", 3, mode="jsonl", unit="bytes") as bar:
        bar.advance(3)
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.startswith("{")]
    stages = {e["stage"] for e in lines}
    assert stages == {"count", "merge", "scoring"}
    types = (str, int, int, str, float | int, bool)
    for event in lines:
        assert (
            list(event)
            == PROGRESS_FIELDS
            == ["stage", "current", "total", "unit", "elapsed_s", "finished"]
        )
        assert all(isinstance(v, t) for v, t in zip(event.values(), types, strict=True)), event
    assert [e["finished"] for e in lines if e["stage"] == "scoring"][-1] is True


def test_force_replaces_an_existing_output(tmp_path: Path, corpus_files: list[str]) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    result = run_cli("train", "--vocab-size", "500", "--force", "--out", str(out), corpus_files[0])
    assert result.returncode == 0, result.stderr
    assert not (out / "stale.txt").exists()
    assert (out / "tokenizer.json").exists()


@pytest.mark.parametrize("recipe", recipes.names())
def test_recipes_train(recipe: str, tmp_path: Path, corpus_files: list[str]) -> None:
    """Each shipped recipe, by name (they ship in the package, so they work outside a
    checkout too)."""
    text = recipes.text(recipe)
    assert text is not None
    declared = tomllib.loads(text.decode())
    result = run_cli(
        "train",
        "--recipe",
        recipe,
        "--vocab-size",
        "1000",
        "--min-frequency",
        "2",
        "--out",
        str(tmp_path / "o"),
        corpus_files[0],
    )
    assert result.returncode == 0, result.stderr
    meta = json.loads((tmp_path / "o" / "tokkit.json").read_text())
    assert meta["trainer"]["vocab_size"] == 1000  # the command line wins over the recipe
    assert meta["trainer"]["algorithm"] == declared["algorithm"]
    for key in ("pretokenizer", "special_tokens", "max_token_chars", "seed", "pad_tokens"):
        if key in declared:
            assert meta["trainer"][key] == declared[key], key
    # The output's tokkit.json is a recipe that repeats the run exactly.
    again = tmp_path / "again"
    cmd = ["train", "--recipe", str(tmp_path / "o" / "tokkit.json"), "--out", str(again)]
    assert run_cli(*cmd, corpus_files[0]).returncode == 0
    first = (tmp_path / "o" / "tokenizer.json").read_bytes()
    assert (again / "tokenizer.json").read_bytes() == first


def test_ctrl_c_stops_quickly_and_writes_nothing(tmp_path: Path, corpus_files: list[str]) -> None:
    # No pre-tokenization and numbered copies of every line make training take many seconds.
    big = tmp_path / "big.txt"
    with big.open("w", encoding="utf-8") as f:
        for copy in range(3):
            for path in corpus_files:
                for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(True)):
                    f.write(f"{copy}.{n} {line}")
    out = tmp_path / "o"
    args = [
        sys.executable,
        "-m",
        "tokkit",
        "train",
        "--vocab-size",
        "30000",
        "--pretokenizer",
        "none",
        "--progress",
        "jsonl",
    ]
    # A shell that starts this suite in the background (`cmd &`) makes its children ignore
    # SIGINT, and Python keeps an inherited SIG_IGN: give the child the default disposition.
    proc = subprocess.Popen(
        [*args, "--out", str(out), str(big)],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Interrupt once the merge loop runs (its first progress line), however slowly the
    # interpreter started on a loaded machine.
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith('{"stage":"merge"'):
            break
    assert proc.poll() is None, "training finished before the interrupt; use a bigger job"
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - sent < 1.0
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert list(tmp_path.iterdir()) == [big]


def test_eval_lm_refuses_two_rows_with_one_name(tmp_path: Path) -> None:
    """Issue 13: rows with the same name were silently dropped."""
    text = tmp_path / "t.txt"
    text.write_text("hello")
    result = cli_snapshots.cli(
        "eval-lm", "--model", "a/smol", "--model", "b/smol", "--text", str(text)
    )
    assert result.returncode == 1
    assert "two --model entries are named smol" in result.stderr
    assert "hint: label them: --model NAME=PATH" in result.stderr


def test_a_full_disk_or_a_closed_pipe_is_one_error_line(tmp_path: Path) -> None:
    """Issue 13: writing to /dev/full or into `| head` ended in a traceback."""
    cmd = [sys.executable, "-m", "tokkit", "inspect", "--json", "--longest", "5000", "o200k"]
    with open("/dev/full", "w") as full:
        result = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: No space left on device")
    assert "Traceback" not in result.stderr
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()  # what `head -c 10` does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "output pipe was closed" in err
    assert "Traceback" not in err


def test_log_progress_is_plain_lines_from_rust_and_python(tmp_path: Path) -> None:
    """Issue 13: runs without a terminal printed nothing for minutes. ``log`` (the default
    there) writes a plain line at each stage's start and end and every 10 s between."""
    import io

    from tokkit._progress import Progress, default_mode

    result = cli_snapshots.cli_process(
        "train",
        "--vocab-size",
        "400",
        "--progress",
        "log",
        "--out",
        str(tmp_path / "o"),
        str(ROOT / "corpora" / "en-prose.txt"),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any(
        line.startswith("count: 0/") and line.endswith("bytes (0%), 0.0 s") for line in lines
    )
    assert any(
        line.startswith("merge: 144/144 merges (100%)") and line.endswith(", done")
        for line in lines
    )
    stream = io.StringIO()
    with Progress("rows", 4, mode="log", unit="rows", stream=stream) as bar:
        bar.advance(2)
    assert stream.getvalue().splitlines()[0] == "rows: 0/4 rows (0%), 0.0 s"
    assert stream.getvalue().splitlines()[-1].startswith("rows: 4/4 rows (100%)")
    assert default_mode() in ("none", "log")  # pytest's stderr is no terminal
