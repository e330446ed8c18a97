"""``tokkit export``: tiktoken and SentencePiece files that encode like the tokenizer.json (round
trips on every shipped corpus), typed errors where a format cannot express a tokenizer, and the
output rules (atomic, --force).
"""
