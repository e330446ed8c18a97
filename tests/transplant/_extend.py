"""Extended tokenizers for the transplant tests, made by the real trainer
(``tokkit.train(..., BPE(extend=BASE))``, as ``tokkit train --extend`` does): the base
``tokenizer.json`` with every token, id, merge and added token kept, and new tokens learned on
the given texts appended with ids after the base's largest id, so the extended tokenizer really
produces them on those texts.
"""

from __future__ import annotations

import json
from pathlib import Path


def extend(
    base_dir: Path, out: Path, texts: list[str], new_tokens: int, *, side_files: bool = True
) -> list[str]:
    """Extend ``base_dir``'s tokenizer by ``new_tokens`` learned on ``texts`` with
    ``tokkit.train(..., BPE(extend=...))`` into ``out`` and return the new tokens in id order.
    ``side_files=False`` writes ``tokenizer.json`` alone, with a ``tokenizer_config.json`` that
    names no role and no chat template."""
    import tokkit
    from tokkit.trainers import BPE

    base = json.loads((base_dir / "tokenizer.json").read_text(encoding="utf-8"))
    size = 1 + max([*base["model"]["vocab"].values(), *(t["id"] for t in base["added_tokens"])])
    trained = tokkit.train(
        texts=texts, trainer=BPE(vocab_size=size + new_tokens, extend=str(base_dir))
    )
    assert trained.vocab_size == size + new_tokens, "the texts ran out of pairs"
    if side_files:
        trained.save(out)
    else:
        out.mkdir(parents=True, exist_ok=True)
        (out / "tokenizer.json").write_text(trained.to_json(), encoding="utf-8")
        config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 8192}
        (out / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    vocab = json.loads(trained.to_json())["model"]["vocab"]
    return [t for t, i in sorted(vocab.items(), key=lambda kv: kv[1]) if i >= size]
