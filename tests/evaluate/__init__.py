"""Compression metrics, pretrained tokenizer formats, truncation and the eval command."""
