"""Exact byte-level probabilities from tokenized language models (docs/design/byteprobs.md).

Any causal LM with a BPE tokenizer becomes a model of the next *byte*: prompts may end in the
middle of a token or a character, texts are scored independently of tokenization, and models
whose tokenizers differ can be ensembled byte by byte.

>>> from tokkit.byteprobs import ByteLM, generate
>>> lm = ByteLM.from_pretrained("smollm2-135m")              # doctest: +SKIP
>>> lm.next_byte_distribution(b"The capital of Fra")[ord("n")]  # doctest: +SKIP
"""

from tokkit.byteprobs.lm import HFTokenLM, TokenLM
from tokkit.byteprobs.model import (
    ByteEnsemble,
    ByteLM,
    ByteScore,
    Generation,
    generate,
    load_vocab,
    pick_byte,
    score_bytes,
)
from tokkit.byteprobs.state import END, NUM_SLOTS, ByteState, VocabTables

__all__ = [
    "END",
    "NUM_SLOTS",
    "ByteEnsemble",
    "ByteLM",
    "ByteScore",
    "ByteState",
    "Generation",
    "HFTokenLM",
    "TokenLM",
    "VocabTables",
    "generate",
    "load_vocab",
    "pick_byte",
    "score_bytes",
]
