//! The one error type of the core crate. Every variant says what went wrong with the value that
//! caused it; what to do about it is a separate *hint* ([`Error::with_hint`]), written with the
//! API's parameter names in braces (`give {vocab_size} of 257 or more`), so that the library
//! shows `vocab_size` and the CLI shows `--vocab-size` (see `docs/design/errors.md`). The
//! bindings map each variant to a typed Python exception and pass the hint on.

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
    /// Another error, with what to do about it.
    #[error("{error}; {}", render_hint(hint))]
    Hinted {
        /// What went wrong.
        error: Box<Error>,
        /// The hint's template: parameter names in braces, `{name}` or `{name=value}`.
        hint: String,
    },
}

impl Error {
    /// This error with a hint (a template: parameter names in braces, see the module doc).
    #[must_use]
    pub fn with_hint(self, hint: impl Into<String>) -> Self {
        Self::Hinted {
            error: Box::new(self),
            hint: hint.into(),
        }
    }

    /// The error without its hint, and the hint's template.
    #[must_use]
    pub fn split_hint(&self) -> (&Self, Option<&str>) {
        match self {
            Self::Hinted { error, hint } => (error, Some(hint)),
            other => (other, None),
        }
    }
}

/// A hint template with the API's spelling: the braces dropped (`{force=true}` → `force=true`).
#[must_use]
pub fn render_hint(template: &str) -> String {
    template.replace(['{', '}'], "")
}

/// Result alias of the core crate.
pub type Result<T> = std::result::Result<T, Error>;
