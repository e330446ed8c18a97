//! `read_documents`: a corpus (files, directories, globs, `.gz`, JSON lines) read into memory as
//! the documents training sees, so that Python code reads `--data` exactly as `tokkit train`
//! does. The core's `corpus::read_documents` does the reading, detached from the interpreter.

use pyo3::prelude::*;

use crate::detach::run_detached;

/// Every document of `inputs`, in order, as `(texts, skipped, bytes, sha256)`: the texts, the
/// lines skipped as invalid UTF-8, the bytes of text, and the sha256 of the bytes read. Reading
/// stops after the document that takes `bytes` past `max_bytes`.
#[pyfunction]
#[pyo3(signature = (inputs, text_field=None, strict=false, max_bytes=None))]
pub fn read_documents(
    py: Python<'_>,
    inputs: Vec<String>,
    text_field: Option<String>,
    strict: bool,
    max_bytes: Option<u64>,
) -> PyResult<(Vec<String>, u64, u64, String)> {
    let docs = run_detached(py, |cancel| {
        tokkit_core::corpus::read_documents(
            &inputs,
            text_field.as_deref(),
            strict,
            max_bytes,
            cancel,
        )
    })?;
    Ok((docs.texts, docs.skipped, docs.bytes, docs.sha256))
}
