//! `TokenizerJson`: the core's typed `tokenizer.json`, so Python builds and cuts these files
//! through the one Rust writer instead of rebuilding the JSON itself.

use pyo3::prelude::*;
use tokkit_core::hf_json::TokenizerJson;

use crate::errors::TkResult;

/// A parsed Hugging Face `tokenizer.json`.
#[pyclass(name = "TokenizerJson", module = "tokkit._tokkit", frozen)]
pub struct PyTokenizerJson {
    inner: TokenizerJson,
}

#[pymethods]
impl PyTokenizerJson {
    /// Parses the text of a `tokenizer.json`.
    #[new]
    fn new(py: Python<'_>, text: &str) -> TkResult<Self> {
        let inner = py.detach(|| TokenizerJson::parse(text))?;
        Ok(Self { inner })
    }

    /// The byte-level BPE equivalent of GPT-2's `encoder.json` and `vocab.bpe` texts.
    #[staticmethod]
    fn from_data_gym(encoder_json: &str, merges: &str) -> TkResult<Self> {
        Ok(Self {
            inner: TokenizerJson::from_data_gym(encoder_json, merges)?,
        })
    }

    /// The fewest ids a cut keeps: the base alphabet and the added tokens.
    fn smallest_truncation(&self) -> TkResult<usize> {
        Ok(self.inner.smallest_truncation()?)
    }

    /// The tokenizer cut to `size` ids (base alphabet, added tokens, first merges).
    fn truncated(&self, py: Python<'_>, size: usize) -> TkResult<Self> {
        let inner = py.detach(|| self.inner.truncated(size))?;
        Ok(Self { inner })
    }

    /// The file's text, pretty-printed as `tokenizers` writes it.
    fn to_text(&self, py: Python<'_>) -> String {
        py.detach(|| self.inner.to_text())
    }
}
