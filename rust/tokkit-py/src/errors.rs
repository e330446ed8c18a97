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
        let (error, hint) = err.0.split_hint();
        let class = match error {
            Error::Cancelled => return PyKeyboardInterrupt::new_err("training cancelled"),
            Error::Config(_) | Error::InvalidRegex { .. } => "ConfigError",
            Error::NotFound { .. } => "CorpusNotFoundError",
            Error::Io { .. } | Error::Corpus(_) | Error::Hinted { .. } => "CorpusError",
            Error::Serialization(_) => "SerializationError",
        };
        let message = error.to_string();
        Python::attach(|py| {
            let raised = py
                .import("tokkit.exceptions")
                .and_then(|m| m.getattr(class))
                .and_then(|cls| {
                    let kwargs = pyo3::types::PyDict::new(py);
                    kwargs.set_item("hint", hint)?;
                    cls.call((message.as_str(),), Some(&kwargs))
                });
            match raised {
                Ok(exc) => PyErr::from_value(exc),
                Err(_) => PyRuntimeError::new_err(message),
            }
        })
    }
}

/// Result alias for binding functions.
pub type TkResult<T> = Result<T, TokkitErr>;
