"""``tokkit export`` on the command line: exit codes, streams, --out default, --force."""

from __future__ import annotations

from pathlib import Path

from .. import cli_snapshots
from .._fixtures import fixture_tokenizer


def test_export_prints_the_directory_and_what_was_checked(tmp_path: Path) -> None:
    source = fixture_tokenizer("qwen2.5-coder-0.5b-8k").parent
    result = cli_snapshots.cli("export", "--format", "tiktoken", str(source), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "qwen2.5-coder-0.5b-8k-tiktoken\n"  # NAME-FORMAT by default
    assert "merges: proven to encode like the tokenizer.json" in result.stderr
    assert "probe text: same ids in tiktoken" in result.stderr
    assert "left out of the ranks: 271 ids no merge makes" in result.stderr
    out = tmp_path / "qwen2.5-coder-0.5b-8k-tiktoken"
    assert sorted(p.name for p in out.iterdir()) == ["tiktoken.json", "tokenizer.tiktoken"]

    again = cli_snapshots.cli("export", "--format", "tiktoken", str(source), cwd=tmp_path)
    assert again.returncode == 1
    assert again.stderr == (
        "error: qwen2.5-coder-0.5b-8k-tiktoken already exists\nhint: pass --force to replace it\n"
    )
    forced = cli_snapshots.cli(
        "export", "--format", "tiktoken", "--force", str(source), cwd=tmp_path
    )
    assert forced.returncode == 0


def test_a_refused_export_exits_1_with_a_hint_and_writes_nothing(tmp_path: Path) -> None:
    source = fixture_tokenizer("smollm2-135m-8k")
    out = tmp_path / "out"
    result = cli_snapshots.cli("export", "--format", "tiktoken", "--out", str(out), str(source))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: cannot export ")
    assert "hint: pass --extend-bytes to give them new ids after the last one" in result.stderr
    assert not out.exists()
    extended = cli_snapshots.cli(
        "export", "--format", "tiktoken", "--extend-bytes", "--out", str(out), str(source)
    )
    assert extended.returncode == 0, extended.stderr
    assert "new ids for bytes without a token: 21 (8192..8212)" in extended.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    source = str(fixture_tokenizer("smollm2-135m-8k"))
    assert cli_snapshots.cli("export", "--format", "gguf", source).returncode == 2
    assert cli_snapshots.cli("export", source).returncode == 2  # --format is required
