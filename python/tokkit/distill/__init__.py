"""Cross-tokenizer distillation (ALM)."""
