"""GPT-2's pre-tokenization regex, shared by the benchmark and its worker.

The pattern used by HF's ByteLevel pre-tokenizer (use_regex=True) and by
tokkit's ``--pretokenizer gpt2``; train_worker.py passes it to rustbpe and
bpeasy, and train_bench.py records it in the results. Kept in a module of its
own, with no imports, so that the worker stays light.
"""

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
