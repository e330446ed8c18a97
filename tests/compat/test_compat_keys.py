"""The keys :mod:`tokkit.models.compat` adds for transformers 4.x, on the shapes of
``rope_parameters`` transformers 5 writes (no second environment needed)."""

from __future__ import annotations

import json
from pathlib import Path

from tokkit.models.compat import legacy_config, legacy_tokenizer_config, make_loadable_in_4x


def test_plain_and_scaled_rope_get_rope_theta_and_rope_scaling() -> None:
    plain = {"model_type": "llama", "rope_parameters": {"rope_theta": 1e5, "rope_type": "default"}}
    assert legacy_config(plain) == ({**plain, "rope_theta": 1e5}, [])
    yarn = {"rope_theta": 1e6, "rope_type": "yarn", "factor": 4.0}
    scaled = {"model_type": "qwen2", "rope_parameters": yarn}
    new, problems = legacy_config(scaled)
    assert new["rope_theta"] == 1e6
    assert new["rope_scaling"] == {"rope_type": "yarn", "factor": 4.0}
    assert problems == []


def test_gemma3_layer_types_map_to_its_local_base_frequency() -> None:
    params = {
        "full_attention": {"rope_theta": 1e6, "rope_type": "linear", "factor": 8.0},
        "sliding_attention": {"rope_theta": 1e4, "rope_type": "default"},
    }
    new, problems = legacy_config({"model_type": "gemma3_text", "rope_parameters": params})
    assert (new["rope_theta"], new["rope_local_base_freq"]) == (1e6, 1e4)
    assert new["rope_scaling"] == {"rope_type": "linear", "factor": 8.0}
    assert problems == []
    _, problems = legacy_config({"model_type": "other", "rope_parameters": params})
    assert problems == ["other: per-layer-type RoPE has no transformers 4.x key"]


def test_keys_already_there_are_kept_and_other_configs_untouched() -> None:
    both = {"rope_theta": 5.0, "rope_parameters": {"rope_theta": 1e5, "rope_type": "default"}}
    assert legacy_config(both)[0]["rope_theta"] == 5.0
    assert legacy_config({"model_type": "bert"}) == ({"model_type": "bert"}, [])
    assert legacy_tokenizer_config({"tokenizer_class": "TokenizersBackend"}) == {
        "tokenizer_class": "PreTrainedTokenizerFast"
    }
    assert legacy_tokenizer_config({"tokenizer_class": "Qwen2Tokenizer"}) == {
        "tokenizer_class": "Qwen2Tokenizer"
    }


def test_a_directory_is_rewritten_and_the_changes_are_listed(tmp_path: Path) -> None:
    rope = {"rope_theta": 1e5, "rope_type": "default"}
    (tmp_path / "config.json").write_text(json.dumps({"rope_parameters": rope}))
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "TokenizersBackend", "eos_token": "</s>"})
    )
    changes = make_loadable_in_4x(tmp_path)
    assert changes[0] == "config.json: added rope_theta for transformers 4.x"
    assert "written as PreTrainedTokenizerFast" in changes[1]
    assert json.loads((tmp_path / "config.json").read_text())["rope_theta"] == 1e5
    assert make_loadable_in_4x(tmp_path) == []  # nothing left to change
