"""Golden CLI texts: ``--help`` pages and the first error line of each bad-input case.

``python tests/cli_snapshots.py --update`` rewrites ``cli/snapshots/``; ``test_cli.py`` checks
that the files match what the CLI prints now.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "cli" / "snapshots"
HELP_PAGES = {
    "tokkit--help.txt": ["--help"],
    "tokkit-train--help.txt": ["train", "--help"],
    "tokkit-eval--help.txt": ["eval", "--help"],
    "tokkit-inspect--help.txt": ["inspect", "--help"],
    "tokkit-export--help.txt": ["export", "--help"],
    "tokkit-models--help.txt": ["models", "--help"],
    "tokkit-transplant--help.txt": ["transplant", "--help"],
    "tokkit-distill--help.txt": ["distill", "--help"],
    "tokkit-hypernet-train--help.txt": ["hypernet", "train", "--help"],
    "tokkit-score--help.txt": ["score", "--help"],
    "tokkit-generate--help.txt": ["generate", "--help"],
    "tokkit-eval-lm--help.txt": ["eval-lm", "--help"],
    "tokkit-push--help.txt": ["push", "--help"],
}


#: What the CLI sees in tests: a fixed width for --help and no progress output.
CLI_ENV = {"COLUMNS": "100", "TOKKIT_NO_PROGRESS": "1"}


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``tokkit ARGS`` in this process (fast: no interpreter start, no re-import of torch)
    and capture what it prints, as :func:`cli_process` would return it."""
    from tokkit.cli import main

    out, err = _capture(), _capture()
    saved_env = {k: os.environ.get(k) for k in CLI_ENV}
    saved_cwd = Path.cwd()
    os.environ.update(CLI_ENV)
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:  # argparse: --help, usage errors
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
    finally:
        os.chdir(saved_cwd)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess(["tokkit", *args], code, _text(out), _text(err))


def cli_process(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``python -m tokkit ARGS`` as its own process: for what only a process shows (the
    entry point, exit codes, signals, output written by Rust)."""
    env = {**os.environ, **CLI_ENV}
    return subprocess.run(
        [sys.executable, "-m", "tokkit", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )


def _capture() -> io.TextIOWrapper:
    # A text stream with a .buffer, as sys.stdout has (generate writes bytes to it).
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    raw = stream.buffer
    assert isinstance(raw, io.BytesIO)
    return raw.getvalue().decode("utf-8", errors="replace")


def error_cases(tmp: Path) -> dict[str, list[str]]:
    """Each bad input of the foundation issue and of ``tokkit eval``, as CLI arguments (paths
    under ``tmp``)."""
    (tmp / "empty.txt").write_text("")
    (tmp / "latin1.txt").write_bytes(b"caf\xe9 au lait\nplain line\n")
    (tmp / "existing").mkdir()
    (tmp / "datadir").mkdir()
    (tmp / "datadir" / "corpus.txt").write_text("a corpus that --force must not delete\n")
    (tmp / "a-file").write_text("x")
    (tmp / "ranks.tiktoken").write_bytes(b"IQ== 0\nIg== 1\n")
    (tmp / "pickled").mkdir()
    (tmp / "pickled" / "pytorch_model.bin").write_bytes(b"not really a pickle")
    (tmp / "byte-level").mkdir()
    fixture = ROOT / "tests" / "fixtures" / "tokenizers" / "smollm2-135m-8k" / "tokenizer.json"
    (tmp / "byte-level" / "tokenizer.json").write_bytes(fixture.read_bytes())
    corpus = str(ROOT / "corpora" / "en-prose.txt")
    return {
        "missing file": ["train", "--vocab-size", "1000", "--out", f"{tmp}/o1", f"{tmp}/nope.txt"],
        "empty corpus": ["train", "--vocab-size", "1000", "--out", f"{tmp}/o2", f"{tmp}/empty.txt"],
        "vocab too small": [
            "train",
            "--vocab-size",
            "100",
            "--special-tokens",
            "<s>",
            "--out",
            f"{tmp}/o3",
            corpus,
        ],
        "invalid regex": [
            "train",
            "--vocab-size",
            "1000",
            "--pretokenizer",
            "(?<x",
            "--out",
            f"{tmp}/o4",
            corpus,
        ],
        "invalid UTF-8 under --strict": [
            "train",
            "--vocab-size",
            "300",
            "--strict",
            "--out",
            f"{tmp}/o5",
            f"{tmp}/latin1.txt",
        ],
        "existing output without --force": [
            "train",
            "--vocab-size",
            "1000",
            "--out",
            f"{tmp}/existing",
            corpus,
        ],
        "unwritable output": [
            "train",
            "--vocab-size",
            "1000",
            "--out",
            f"{tmp}/a-file/sub/out",
            corpus,
        ],
        "missing recipe": ["train", "--recipe", f"{tmp}/nope.toml", "--out", f"{tmp}/o6", corpus],
        "--special-tokens took the corpus": [
            "train",
            "--vocab-size",
            "300",
            "--out",
            f"{tmp}/o7",
            "--special-tokens",
            "<s>",
            f"{tmp}/a-file",
        ],
        "--force over the corpus directory": [
            "train",
            "--vocab-size",
            "300",
            "--force",
            "--out",
            f"{tmp}/datadir",
            f"{tmp}/datadir",
        ],
        "hybrid: unknown language": [
            "train",
            "--algo",
            "hybrid",
            "--lang",
            "xx",
            "--out",
            f"{tmp}/h1",
            corpus,
        ],
        "hybrid: vocabulary smaller than the dictionaries": [
            "train",
            "--algo",
            "hybrid",
            "--lang",
            "tr",
            "--vocab-size",
            "1000",
            "--out",
            f"{tmp}/h2",
            corpus,
        ],
        "export: byte-level BPE to sentencepiece": [
            "export",
            "--format",
            "sentencepiece",
            "--out",
            f"{tmp}/e1",
            f"{tmp}/byte-level",
        ],
        "eval: missing tokenizer": ["eval", "--text", corpus, f"{tmp}/nope"],
        "eval: not a tokenizer": ["eval", "--text", corpus, f"{tmp}/a-file"],
        "eval: empty text": ["eval", "--text", f"{tmp}/empty.txt", f"{tmp}/ranks.tiktoken"],
        "eval: tiktoken file of an unknown encoding": [
            "eval",
            "--text",
            corpus,
            f"{tmp}/ranks.tiktoken",
        ],
        "models: unknown name": ["models", "path", "no-such-model"],
        "transplant: missing model": [
            "transplant",
            "--model",
            f"{tmp}/nope",
            "--tokenizer",
            f"{tmp}/nope",
            "--method",
            "mean",
            "--out",
            f"{tmp}/t1",
        ],
        "transplant: existing output without --force": [
            "transplant",
            "--model",
            f"{tmp}/nope",
            "--tokenizer",
            f"{tmp}/nope",
            "--out",
            f"{tmp}/existing",
        ],
        "distill: existing output without --force": [
            "distill",
            "--teacher",
            f"{tmp}/nope",
            "--student",
            f"{tmp}/nope",
            "--data",
            corpus,
            "--out",
            f"{tmp}/existing",
        ],
        "distill: resume from a directory that is no checkpoint": [
            "distill",
            "--teacher",
            f"{tmp}/nope",
            "--student",
            f"{tmp}/nope",
            "--data",
            corpus,
            "--out",
            f"{tmp}/d1",
            "--resume",
            f"{tmp}",
        ],
        "hypernet: existing output without --force": [
            "hypernet",
            "train",
            "--model",
            f"{tmp}/nope",
            "--data",
            corpus,
            "--out",
            f"{tmp}/existing",
        ],
        "transplant: zett with a directory that is no hypernetwork": [
            "transplant",
            "--model",
            f"{tmp}/nope",
            "--tokenizer",
            f"{tmp}/nope",
            "--method",
            "zett",
            "--hypernet",
            f"{tmp}",
            "--out",
            f"{tmp}/z1",
        ],
        "score: missing text": ["score", "--model", f"{tmp}/nope", f"{tmp}/nope.txt"],
        "push: pickled weights": ["push", f"{tmp}/pickled", "--repo-id", "me/x", "--dry-run"],
        "generate: missing model": ["generate", "--model", f"{tmp}/nope", "--prompt", "Hi"],
        "generate: one weight for two models": [
            "generate",
            "--model",
            f"{tmp}/a",
            "--model",
            f"{tmp}/b",
            "--weights",
            "1",
            "--prompt",
            "Hi",
        ],
        "score: --fast without --byte-exact": [
            "score",
            "--model",
            f"{tmp}/nope",
            "--fast",
            corpus,
        ],
    }


def render_errors() -> str:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        lines = []
        for name, args in error_cases(tmp).items():
            result = cli(*args)
            # The error line and its hint line (the last lines: earlier ones are warnings).
            tail = [x for x in result.stderr.strip().splitlines() if x][-2:]
            tail = tail[-1:] if not tail or not tail[-1].startswith("hint: ") else tail
            shown = "\n".join(tail).replace(str(tmp), "<TMP>")
            lines.append(f"## {name}\nexit {result.returncode}: {shown}\n")
        return "\n".join(lines)


def render() -> dict[str, str]:
    pages = {name: cli(*args).stdout for name, args in HELP_PAGES.items()}
    pages["errors.txt"] = render_errors()
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite cli/snapshots")
    args = parser.parse_args()
    pages = render()
    stale = [
        n
        for n, text in pages.items()
        if not (SNAPSHOTS / n).exists() or (SNAPSHOTS / n).read_text() != text
    ]
    if args.update:
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        for name, text in pages.items():
            (SNAPSHOTS / name).write_text(text)
        print(f"wrote {len(pages)} snapshots to {SNAPSHOTS}", file=sys.stderr)
        return 0
    print("stale: " + ", ".join(stale) if stale else "snapshots are up to date", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
