"""Tokenizer training: BPE parity with HF tokenizers, SuperBPE, supertokens, character-level BPE,
corpora and the train API.
"""
