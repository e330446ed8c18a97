"""Bad input through the Python API: each case raises a typed tokkit exception (which is also the
matching builtin where one fits) with a message that says what to do, and writes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tokkit


def test_missing_file_is_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(tokkit.CorpusNotFoundError, match="check the path") as info:
        tokkit.train(tmp_path / "nope.txt", tokkit.trainers.BPE(vocab_size=300))
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(tokkit.CorpusNotFoundError):
        tokkit.train(str(tmp_path / "*.txt"), tokkit.trainers.BPE(vocab_size=300))


def test_empty_corpus(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(tokkit.CorpusError, match="empty"):
        tokkit.train(tmp_path / "empty.txt", tokkit.trainers.BPE(vocab_size=300))
    with pytest.raises(tokkit.CorpusError, match="empty"):
        tokkit.train(None, tokkit.trainers.BPE(vocab_size=300), texts=[])


def test_only_invalid_utf8_says_so(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\n\xc3\x28\n")
    with pytest.raises(tokkit.CorpusError, match="invalid UTF-8"):
        tokkit.train(tmp_path / "bad.txt", tokkit.trainers.BPE(vocab_size=300))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"vocab_size": 200}, "256 or more"),
        ({"vocab_size": 256, "special_tokens": ["<s>"]}, "257 or more"),
        ({"vocab_size": 300, "pretokenizer": "(?<bad"}, "invalid pre-tokenizer regex"),
        ({"vocab_size": 300, "max_token_chars": 0}, "at least 1"),
        ({"vocab_size": 300, "special_tokens": [""]}, "empty"),
        ({"vocab_size": -1}, "invalid value: integer `-1`"),
        ({"vocab_size": "300"}, "invalid type: string"),
        ({"vocab_size": 300, "algorithm": "wordpiece"}, "choose one of"),
        ({"vocab_size": 300, "vocab": 9}, "bpe takes no vocab"),
    ],
)
def test_invalid_parameters_are_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(tokkit.ConfigError, match=message) as info:
        tokkit.trainers.Trainer.from_dict({"algorithm": "bpe", **options})
    assert isinstance(info.value, ValueError)


def test_invalid_run_options_are_config_errors(corpus_files: list[str]) -> None:
    trainer = tokkit.trainers.BPE(vocab_size=300)
    with pytest.raises(tokkit.ConfigError, match="bar, jsonl, log or none"):
        tokkit.train(corpus_files[0], trainer, progress="fancy")  # type: ignore[arg-type]
    with pytest.raises(tokkit.ConfigError, match="give a trainer"):
        tokkit.train(corpus_files[0], {"vocab_size": 300})  # type: ignore[arg-type]
    with pytest.raises(tokkit.ConfigError, match="num_threads"):
        tokkit.train(corpus_files[0], trainer, num_threads=-2)
    with pytest.raises(TypeError, match="max_token_chars"):
        tokkit.trainers.CharBPE(vocab_size=300)  # type: ignore[call-arg]


def test_texts_must_be_strings() -> None:
    with pytest.raises(tokkit.ConfigError, match="iterable of strings"):
        tokkit.train(None, tokkit.trainers.BPE(vocab_size=300), texts="just one string")
    with pytest.raises(tokkit.CorpusError, match="str items"):
        tokkit.train(None, tokkit.trainers.BPE(vocab_size=300), texts=[b"bytes"])  # type: ignore[list-item]


def test_existing_output_is_checked_before_training(
    tmp_path: Path, corpus_files: list[str]
) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(tokkit.OutputExistsError, match="force=True") as info:
        tokkit.train(
            None,
            tokkit.trainers.BPE(vocab_size=300),
            texts=iter(["never read"]),
            out=tmp_path / "out",
        )
    assert isinstance(info.value, FileExistsError)


def test_force_never_deletes_an_input_or_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: ``tokkit train --force --out datadir datadir`` deleted the corpus."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("some text to train on\n" * 50)
    bpe = tokkit.trainers.BPE(vocab_size=260)
    for out, corpus in [
        (data, data),  # the corpus directory itself
        (tmp_path, data / "a.txt"),  # a directory holding the corpus file
        (tmp_path, str(tmp_path / "d*" / "*.txt")),  # a glob under it
    ]:
        with pytest.raises(tokkit.OutputError, match="holds the input"):
            tokkit.train(corpus, bpe, out=out, force=True)
        assert (data / "a.txt").exists()
    trained = tokkit.train(data, bpe)
    with pytest.raises(tokkit.OutputError, match="holds the input"):
        trained.save(data, force=True)  # the report knows which files were read
    monkeypatch.chdir(data)
    with pytest.raises(tokkit.OutputError, match="current directory"):
        trained.save(".", force=True)
    with pytest.raises(tokkit.OutputError, match="current directory"):
        trained.save(tmp_path, force=True)
    assert (data / "a.txt").exists()


def test_an_output_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    (tmp_path / "link").symlink_to(target)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    trained = tokkit.train(None, tokkit.trainers.BPE(vocab_size=256), texts=["abc"])
    for link in ("link", "dangling"):
        with pytest.raises(tokkit.OutputError, match="symbolic link"):
            trained.save(tmp_path / link, force=True)
    assert (target / "keep.txt").read_text() == "x"


def test_outputs_get_the_modes_the_umask_asks_for(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        tokkit.train(None, tokkit.trainers.BPE(vocab_size=256), texts=["abc"], out=tmp_path / "o")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "o").stat().st_mode) == 0o755
    for f in (tmp_path / "o").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f.name


def test_load_rejects_what_it_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        tokkit.load(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(tokkit.SerializationError):
        tokkit.load(tmp_path)


def test_hints_name_parameters_in_the_library_and_flags_in_the_cli(tmp_path: Path) -> None:
    """An error's hint is separate: the library shows the API's parameter names, the CLI its
    flags, on a line of its own; no library message names a CLI flag."""
    from tokkit.cli import FLAGS, main

    (tmp_path / "out").mkdir()
    with pytest.raises(tokkit.OutputExistsError) as info:
        tokkit.train(
            texts=["a b"], trainer=tokkit.trainers.BPE(vocab_size=300), out=tmp_path / "out"
        )
    err = info.value
    assert err.message == f"{tmp_path / 'out'} already exists"
    assert err.hint == "pass force=True to replace it"
    assert str(err) == f"{err.message}; {err.hint}"
    assert err.render_hint(FLAGS) == "pass --force to replace it"
    with pytest.raises(tokkit.ConfigError) as info:
        tokkit.trainers.BPE(vocab_size=100)  # raised by the Rust core, hint passed on
    assert info.value.hint == "give vocab_size 256 or more"
    assert "--" not in info.value.message
    assert info.value.render_hint(FLAGS) == "give --vocab-size 256 or more"
    prefixed = info.value.prefixed("file.txt")
    assert type(prefixed) is tokkit.ConfigError
    assert prefixed.message.startswith("file.txt: vocab size 100")
    assert prefixed.hint == info.value.hint

    import contextlib
    import io

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(["train", "--vocab-size", "100", "--out", str(tmp_path / "o"), __file__])
    assert code == 1
    assert stderr.getvalue().splitlines()[-2:] == [
        "error: vocab size 100 is smaller than the byte alphabet (256) plus 0 special token(s)",
        "hint: give --vocab-size 256 or more",
    ]


def test_no_library_message_names_a_cli_flag() -> None:
    """Errors raised and warnings given outside the CLI name parameters, not flags (the CLI's
    hints do): every string in a `raise` or a warning outside `tokkit/cli/`."""
    import ast
    import re

    root = Path(tokkit.__file__).parent
    flag = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
    found = []
    for f in root.rglob("*.py"):
        if "cli" in f.relative_to(root).parts:
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            warned = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("append", "warn")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("warns", "warnings")
            )
            if not (isinstance(node, ast.Raise) or warned):
                continue
            for part in ast.walk(node):
                text = part.value if isinstance(part, ast.Constant) else None
                if isinstance(text, str) and flag.search(text):
                    found.append(f"{f.relative_to(root)}:{part.lineno}: {text!r}")
    assert not found, found


def test_oversized_numbers_are_config_errors_not_overflow(tmp_path: Path) -> None:
    """Issue 13: numbers past what Rust's integers hold raised OverflowError."""
    with pytest.raises(tokkit.ConfigError, match="vocab_size"):
        tokkit.trainers.BPE(vocab_size=10**20)
    with pytest.raises(tokkit.ConfigError, match="2\\^32"):
        tokkit.load("gpt2").truncated(10**20)
    with pytest.warns(tokkit.exceptions.TokkitWarning, match="4 per core"):
        trained = tokkit.train(
            None, tokkit.trainers.BPE(vocab_size=256), texts=["ab"], num_threads=10**20
        )
    assert trained.vocab_size == 256


def test_messages_say_what_is_wrong(tmp_path: Path) -> None:
    """Issue 13: ``--out FILE`` said "pass --force", ``/dev/null`` as a corpus was "not found",
    and ensemble weights printed as ``np.float64(1.0)``."""
    import numpy as np

    from tokkit.byteprobs.model import ByteEnsemble

    (tmp_path / "a-file").write_text("x")
    trained = tokkit.train(None, tokkit.trainers.BPE(vocab_size=256), texts=["abc"])
    with pytest.raises(tokkit.OutputError, match="is a file, not a directory"):
        trained.save(tmp_path / "a-file")
    with pytest.raises(tokkit.CorpusError, match="neither a file nor a directory"):
        tokkit.train("/dev/null", tokkit.trainers.BPE(vocab_size=256))
    with pytest.raises(tokkit.ConfigError, match=r"got \[1, nan\]"):
        ByteEnsemble([object(), object()], [np.float64(1.0), np.float64("nan")])  # type: ignore[list-item]


def test_what_a_killed_run_left_is_cleaned_and_the_old_output_put_back(tmp_path: Path) -> None:
    """Issue 13: a SIGKILL between the two renames of the swap left OUT missing with the old
    copy hidden, and killed runs left ``.OUT.tmp-*`` directories. The next run repairs both."""
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = int(dead.stdout)
    hidden = tmp_path / f".o.old-{pid}-abc"
    hidden.mkdir()
    (hidden / "tokenizer.json").write_text("the previous output")
    half = tmp_path / f".o.tmp-{pid}-def"
    half.mkdir()
    (half / "partial").write_text("x")
    mine = tmp_path / f".o.tmp-{os.getpid()}-live"  # a running process's: left alone
    mine.mkdir()
    trained = tokkit.train(None, tokkit.trainers.BPE(vocab_size=256), texts=["abc"])
    with pytest.raises(tokkit.OutputExistsError):
        trained.save(tmp_path / "o")  # the old output is back, so it is not overwritten
    assert (tmp_path / "o" / "tokenizer.json").read_text() == "the previous output"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["o", mine.name])


def test_a_device_this_machine_lacks_is_a_config_error(tmp_path: Path) -> None:
    """Issue 13: ``--device quantum`` and ``--device cuda`` without a GPU were tracebacks."""
    import torch

    from tokkit.models import checked_device

    from ..conftest import run_cli

    assert checked_device("cpu") == torch.device("cpu")
    with pytest.raises(tokkit.ConfigError, match="unknown device 'quantum'"):
        checked_device("quantum")
    if not torch.cuda.is_available():
        with pytest.raises(tokkit.ConfigError, match="CUDA is not available") as info:
            checked_device("cuda")
        assert info.value.hint == "use device=cpu"
    (tmp_path / "t.txt").write_text("hello")
    args = ["score", "--model", "smollm2-135m", "--device", "quantum", str(tmp_path / "t.txt")]
    result = run_cli(*args)
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown device 'quantum'")
    assert result.stderr.splitlines()[-1] == "hint: use --device cpu, cuda, cuda:N or mps"
