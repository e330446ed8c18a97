//! Fuzz targets of tokkit-core, written once and run two ways.
//!
//! Each target is a function of one byte string that must return normally for every input: a
//! panic, an abort (an allocation that failed) or a hang is a finding. Under `cargo afl` the
//! binaries in `src/bin/` feed them coverage-guided inputs (see `make fuzz`); under `cargo test`
//! `tests/seeds.rs` runs them over the checked-in seed corpus in `corpus/<target>/` and over every
//! input a fuzzer once found in `regressions/<target>/`, so CI keeps both green on plain stable.
//!
//! The targets:
//! - [`tokenizer_json`]: a `tokenizer.json` read, built into an encoder and used;
//! - [`roundtrip`]: text encoded and decoded by real tokenizers (the test fixtures);
//! - [`corpus_reader`]: a corpus file (plain, `.gz`, JSON lines) read and counted.

pub mod corpus_reader;
pub mod roundtrip;
pub mod seeds;
pub mod tokenizer_json;
