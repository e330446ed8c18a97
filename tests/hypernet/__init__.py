"""The ZeTT hypernetwork: the tokenizer sampler binding and the base-model decomposition."""
