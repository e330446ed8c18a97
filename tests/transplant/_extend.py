"""Extended tokenizers for the tests, built in Python: a stand-in for ``tokkit train --extend``
(issue 15) that the real trainer can replace.

An extension is the base ``tokenizer.json`` with every token, id, merge and added token kept,
and new tokens appended with ids after the base's largest id (added tokens included), each with
its merge at the end of the merge list. The new tokens here merge the most frequent adjacent
pairs of base tokens *inside one pre-token* of the given texts (a merge never crosses pre-tokens),
so the extended tokenizer really produces them on those texts.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

#: The base files an extension keeps as they are (the model's roles and chat template).
SIDE_FILES = ("tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")


def frequent_pairs(tokenizer_json: Path, texts: list[str]) -> list[tuple[str, str]]:
    """Adjacent token pairs within a pre-token, most frequent first (ties by the pair)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    counts: Counter[tuple[str, str]] = Counter()
    for enc in tok.encode_batch(texts, add_special_tokens=False):
        tokens, words = enc.tokens, enc.word_ids  # each a new list per access: read once
        for r in range(len(tokens) - 1):
            if words[r] is not None and words[r] == words[r + 1]:
                counts[(tokens[r], tokens[r + 1])] += 1
    return sorted(counts, key=lambda p: (-counts[p], p))


def extend(
    base_dir: Path, out: Path, texts: list[str], new_tokens: int, *, side_files: bool = True
) -> list[str]:
    """Write an extension of ``base_dir``'s tokenizer with ``new_tokens`` appended into ``out``
    and return the new tokens in id order. ``side_files=False`` writes ``tokenizer.json``
    alone, with a ``tokenizer_config.json`` that names no role and no chat template."""
    data = json.loads((base_dir / "tokenizer.json").read_text(encoding="utf-8"))
    model = data["model"]
    vocab: dict[str, int] = model["vocab"]
    merges: list = model["merges"]
    next_id = 1 + max([*vocab.values(), *(t["id"] for t in data["added_tokens"])])
    added_strings = {t["content"] for t in data["added_tokens"]}
    made: list[str] = []
    for a, b in frequent_pairs(base_dir / "tokenizer.json", texts):
        token = a + b
        if token in vocab or token in added_strings:
            continue
        vocab[token] = next_id
        # The base's own merge format: "a b" strings (older files) or [a, b] pairs.
        merges.append(f"{a} {b}" if merges and isinstance(merges[0], str) else [a, b])
        made.append(token)
        next_id += 1
        if len(made) == new_tokens:
            break
    assert len(made) == new_tokens, f"only {len(made)} new pairs in the texts"
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    if side_files:
        for name in SIDE_FILES:
            if (base_dir / name).is_file():
                shutil.copyfile(base_dir / name, out / name)
    else:
        config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 8192}
        (out / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return made
