//! # tokkit-core
//!
//! The pure-Rust core of tokkit: corpus reading and pre-tokenization, word counting, and
//! tokenizer trainers whose output is a standard Hugging Face `tokenizer.json`. No Python here:
//! the `tokkit-py` crate binds it.
//!
//! Data flow of training: [`corpus`] reads files, globs, `.gz` and JSON lines in blocks →
//! [`pretokenize`] cuts each sequence into pieces → [`word_counts`] counts distinct pieces in
//! parallel → [`train::bpe`] runs the merge loop on the distinct words → [`hf_json`] writes the
//! result; [`encode`] applies it to new text. [`align`] pairs two tokenizations of one text for
//! cross-tokenizer distillation. [`sampler`] draws random Unigram tokenizers from recent text
//! (ZeTT hypernetwork training).

pub mod align;
pub mod byte_level;
pub mod byteprobs;
pub mod cancel;
pub mod corpus;
pub mod encode;
pub mod error;
pub mod hf_json;
pub mod hybrid;
pub mod normalize;
pub mod pretokenize;
pub mod progress;
pub mod sampler;
mod text_index;
pub mod threads;
pub mod train;
pub mod word_counts;

pub use cancel::CancelToken;
pub use error::{Error, Result};
