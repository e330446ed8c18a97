"""The morphological hybrid tokenizer (design/hybrid.md); this branch ships only its metrics."""
