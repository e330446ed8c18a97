"""What a transformers installation makes of model directories, as JSON on stdout: run by
``test_transformers4.py`` under transformers 5 (this environment) and 4.57 (``.venv-tf4``), so
that the two can be compared. Needs only transformers and torch (not tokkit).

    python tests/compat/probe_transformers.py DIR [DIR ...]
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

TEXTS = ["Hello world, 12345 naïve\tcafé", "def f(x):\n    return x  # ünïcödé 😀"]


def probe(directory: str) -> dict[str, Any]:
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    config = AutoConfig.from_pretrained(directory, trust_remote_code=False)
    tok = AutoTokenizer.from_pretrained(directory, trust_remote_code=False)
    # Both in float32: transformers 5 loads in the stored dtype (bfloat16 here), 4.x in float32.
    model = AutoModelForCausalLM.from_pretrained(
        directory, trust_remote_code=False, dtype=torch.float32
    )
    model.eval()
    out: dict[str, Any] = {
        "transformers": transformers.__version__,
        "vocab": len(tok),
        "ids": [tok(t)["input_ids"] for t in TEXTS],
        "special_ids": {k: getattr(tok, f"{k}_token_id") for k in ("bos", "eos", "pad", "unk")},
        "model_max_length": tok.model_max_length,
        "max_position_embeddings": getattr(config, "max_position_embeddings", None),
    }
    if tok.chat_template:
        chat = [{"role": "user", "content": "Say hello."}]
        out["chat_ids"] = list(
            tok.apply_chat_template(
                chat, add_generation_prompt=True, tokenize=True, return_dict=True
            )["input_ids"]
        )
    try:
        generation = GenerationConfig.from_pretrained(directory)
        out["generation_eos"] = generation.eos_token_id
    except OSError:
        out["generation_eos"] = None
    ids = torch.tensor([(out["ids"][0] + out["ids"][1])[:24]])
    with torch.no_grad():
        logits = model(ids).logits[0].double()
        greedy = model.generate(ids, max_new_tokens=6, do_sample=False)
    # Positions after the first: a wrong RoPE base changes them, not position 0.
    out["logits"] = logits[1:, :64].tolist()
    out["greedy"] = greedy[0, ids.shape[1] :].tolist()
    return out


def main() -> None:
    warnings.filterwarnings("ignore")
    import transformers

    transformers.logging.set_verbosity_error()
    result = {d: probe(d) for d in sys.argv[1:]}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
