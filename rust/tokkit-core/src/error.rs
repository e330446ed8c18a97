//! The one error type of the core crate. Every variant says what went wrong with the value that
//! caused it and, where there is one, what to do about it; the bindings map each variant to a
//! typed Python exception.

use std::path::PathBuf;

/// Errors raised by `tokkit-core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is out of range or inconsistent with another one.
    #[error("{0}")]
    Config(String),
    /// A pre-tokenizer pattern does not compile.
    #[error(
        "invalid pre-tokenizer regex {pattern:?}: {message}. Check the pattern, or use a built-in name: gpt2, llama3, o200k, none"
    )]
    InvalidRegex {
        /// The pattern as given.
        pattern: String,
        /// The regex engine's message.
        message: String,
    },
    /// An input path does not exist or a glob matched nothing.
    #[error("corpus input not found: {}: check the path, or quote a glob so the shell does not expand it", path.display())]
    NotFound {
        /// The path or pattern as given.
        path: PathBuf,
    },
    /// Reading an input failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The corpus content is unusable (empty, invalid UTF-8 in strict mode, bad JSON lines).
    #[error("{0}")]
    Corpus(String),
    /// A tokenizer file could not be read or written.
    #[error("{0}")]
    Serialization(String),
    /// The caller cancelled the work (Ctrl-C).
    #[error("cancelled")]
    Cancelled,
}

/// Result alias of the core crate.
pub type Result<T> = std::result::Result<T, Error>;
