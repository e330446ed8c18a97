//! Maps core errors to the typed exceptions of `tokkit.exceptions` (defined in Python so that
//! they can inherit from both `TokkitError` and the matching builtin, e.g. `ValueError`).

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use tokkit_core::Error;

/// Wraps a core error on its way to Python.
pub struct TokkitErr(pub Error);

impl From<Error> for TokkitErr {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl From<TokkitErr> for PyErr {
    fn from(err: TokkitErr) -> Self {
        let class = match &err.0 {
            Error::Cancelled => return PyKeyboardInterrupt::new_err("training cancelled"),
            Error::Config(_) | Error::InvalidRegex { .. } => "ConfigError",
            Error::NotFound { .. } => "CorpusNotFoundError",
            Error::Io { .. } | Error::Corpus(_) => "CorpusError",
            Error::Serialization(_) => "SerializationError",
        };
        let message = err.0.to_string();
        Python::attach(|py| {
            match py
                .import("tokkit.exceptions")
                .and_then(|m| m.getattr(class))
            {
                Ok(cls) => PyErr::from_type(
                    cls.cast_into().expect("exception classes are types"),
                    message,
                ),
                Err(_) => PyRuntimeError::new_err(message),
            }
        })
    }
}

/// Result alias for binding functions.
pub type TkResult<T> = Result<T, TokkitErr>;
