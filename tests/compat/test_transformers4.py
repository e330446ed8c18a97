"""The model directories tokkit writes (prepared models, transplants) load the same in the oldest
transformers tokkit claims (4.57, the last 4.x) as in transformers 5: the same token ids, special
tokens, chat template, generation stop tokens, logits and greedy continuation.

transformers 4.57 lives in a second, small environment: ``make test-compat`` builds
``.venv-tf4`` (this environment's packages plus transformers 4.57 and the tokenizers and
huggingface_hub it needs) and runs these tests, which are marked ``compat`` and so left out of
a plain ``pytest``. Run without that environment they fail.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .._models import prepared

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("probe_transformers.py")
TF4 = Path(os.environ.get("TOKKIT_TF4_PYTHON") or ROOT / ".venv-tf4" / "bin" / "python")

#: Deselected by default (`-m 'not compat'` in pyproject): `make test-compat` runs them.
pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def tf4() -> Path:
    """The Python of the transformers 4.57 environment; a failure, not a skip, without it."""
    if not TF4.exists():
        pytest.fail(f"no transformers 4.x environment at {TF4}: run `make test-compat`")
    return TF4


torch = pytest.importorskip("torch")


def probe(python: Path | str, dirs: list[Path]) -> dict[str, Any]:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run(
        [str(python), str(PROBE), *map(str, dirs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def transplanted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2-135M-Instruct on Qwen2.5's tokenizer, its chat template carried."""
    from tokkit.transplant import TransplantOptions, transplant

    out = tmp_path_factory.mktemp("compat") / "smollm2-on-qwen"
    transplant(
        prepared("smollm2-135m"),
        prepared("qwen2.5-coder-0.5b"),
        method="mean",
        options=TransplantOptions(copy_chat_template=True),
        out=out,
    )
    return out


def test_written_directories_load_the_same_in_transformers_4_and_5(
    transplanted: Path, tf4: Path
) -> None:
    dirs = [prepared(n) for n in ("smollm2-135m", "qwen2.5-coder-0.5b", "gemma3-270m")]
    dirs.append(transplanted)
    new, old = probe(sys.executable, dirs), probe(tf4, dirs)
    for d in map(str, dirs):
        a, b = new[d], old[d]
        assert a["transformers"].startswith("5."), a["transformers"]
        assert b["transformers"].startswith("4.57"), b["transformers"]
        name = Path(d).name
        for key in ("vocab", "ids", "special_ids", "chat_ids", "generation_eos", "greedy"):
            assert a.get(key) == b.get(key), (name, key, a.get(key), b.get(key))
        assert a["model_max_length"] == b["model_max_length"], name
        worst = max(
            abs(x - y)
            for row_a, row_b in zip(a["logits"], b["logits"], strict=True)
            for x, y in zip(row_a, row_b, strict=True)
        )
        # A wrong RoPE base (transformers 4.x ignoring rope_parameters) moves them by whole units.
        assert worst < 1e-3, (name, worst)
        assert not math.isnan(worst)


def test_the_transplant_says_what_it_changed_for_transformers_4(transplanted: Path) -> None:
    meta = json.loads((transplanted / "tokkit.json").read_text(encoding="utf-8"))
    changed = meta.get("changed_for_transformers_4", [])
    assert any("config.json: added" in c and "rope_theta" in c for c in changed), changed
    config = json.loads((transplanted / "config.json").read_text(encoding="utf-8"))
    assert config["rope_theta"] == config["rope_parameters"]["rope_theta"] == 100000.0
