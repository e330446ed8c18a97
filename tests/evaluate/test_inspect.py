"""``tokkit inspect`` and :func:`tokkit.describe.describe`: size, specials, roles,
pre-tokenizer, longest tokens and segmentation, across the formats tokkit reads."""

from __future__ import annotations

import json

import tokkit
from tokkit.describe import describe

from .._fixtures import fixture_tokenizer
from .._models import prepared
from ..conftest import run_cli

TEXT = "I've started 12345 naïve\ttabs"


def test_a_model_directory_is_described_with_its_roles() -> None:
    info = describe(tokkit.load(prepared("smollm2-135m")), text=TEXT, longest=3)
    assert info.vocab_size == 49152
    assert info.special_tokens["<|im_end|>"] == 2
    assert info.roles["eos"] == "<|im_end|>"
    assert info.pre_tokenizer == "ByteLevel"
    assert len(info.longest_tokens) == 3
    assert info.longest_tokens[0][2] >= info.longest_tokens[-1][2]
    assert "".join(info.segmentation or []) == TEXT
    assert info.segmentation[:2] == ["I", "'ve"]


def test_tiktoken_gpt2_files_and_a_cut_fixture() -> None:
    o200k = describe(tokkit.load("o200k"))
    assert o200k.special_tokens == {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
    assert o200k.engine == "tiktoken"
    assert describe(tokkit.load("gpt2")).special_tokens == {"<|endoftext|>": 50256}
    qwen = describe(tokkit.load(fixture_tokenizer("qwen2.5-coder-0.5b-8k")), text="x = 12")
    assert qwen.pre_tokenizer == "Sequence[Split(regex), ByteLevel]"
    assert qwen.segmentation == ["x", " =", " ", "1", "2"]


def test_the_command_prints_one_json_object_or_a_table() -> None:
    path = str(prepared("smollm2-135m"))
    result = run_cli("inspect", "--json", path)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["vocab_size"] == 49152
    assert obj["special_tokens"]["<|endoftext|>"] == 0
    both = run_cli("inspect", "--json", "--text", TEXT, f"smol={path}", "gpt2")
    rows = json.loads(both.stdout)
    assert [r["name"] for r in rows] == ["smol", "gpt2"]
    table = run_cli("inspect", "--text", TEXT, f"smol={path}", "gpt2").stdout
    assert "segmentation:" in table
    assert "smol " in table
    assert "I|'ve| started" in table
