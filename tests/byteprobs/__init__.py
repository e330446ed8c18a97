"""Byte-level probabilities: the Rust validity core, toy and perfect-LM oracles, real models."""
