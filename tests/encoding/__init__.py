"""tokkit's encoder against HF tokenizers on real tokenizer files, and threads (num_threads, fork,
zero-copy arrays).
"""
