//! `ByteVocab`: the byte-level view of a tokenizer (covers, validity, first bytes) over
//! `tokkit_core::byteprobs`. Arrays cross the boundary as numpy arrays without copies: results
//! hand their buffer to numpy, and uint32 inputs are read in place (other integer inputs are
//! converted once). Every call that can take long releases the GIL and runs in tokkit's pool.

use numpy::{PyArray1, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use tokkit_core::byteprobs::ByteVocab;
use tokkit_core::{Error, threads};

use crate::errors::{TkResult, TokkitErr};

/// Token ids from a uint32 array (read in place) or any integer sequence (converted);
/// out-of-range values raise `ConfigError`.
enum Ids<'py> {
    Array(PyReadonlyArray1<'py, u32>),
    Owned(Vec<u32>),
}

impl Ids<'_> {
    fn as_slice(&self) -> PyResult<&[u32]> {
        match self {
            Self::Array(a) => Ok(a.as_slice()?),
            Self::Owned(v) => Ok(v),
        }
    }
}

impl<'py> FromPyObject<'_, 'py> for Ids<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(array) = obj.extract::<PyReadonlyArray1<'py, u32>>() {
            if array.is_contiguous() {
                return Ok(Self::Array(array));
            }
        }
        let values: Vec<i64> = obj.extract()?;
        values
            .into_iter()
            .map(|v| {
                u32::try_from(v).map_err(|_| {
                    PyErr::from(TokkitErr(Error::Config(format!(
                        "token id {v} is not a valid id"
                    ))))
                })
            })
            .collect::<PyResult<Vec<u32>>>()
            .map(Self::Owned)
    }
}

/// A uint32 numpy array that takes over `ids`' buffer.
fn ids_array(py: Python<'_>, ids: Vec<u32>) -> Bound<'_, PyArray1<u32>> {
    PyArray1::from_vec(py, ids)
}

/// The byte-level view of a byte-level BPE tokenizer.
#[pyclass(name = "ByteVocab", module = "tokkit._tokkit", frozen)]
pub struct PyByteVocab {
    vocab: ByteVocab,
}

#[pymethods]
impl PyByteVocab {
    /// Parses the text of a `tokenizer.json`.
    #[staticmethod]
    fn from_str(py: Python<'_>, json: &str) -> TkResult<Self> {
        let pool = threads::pool(None)?;
        let vocab = py.detach(|| pool.install(|| ByteVocab::from_json(json)))?;
        Ok(Self { vocab })
    }

    /// Reads a `tokenizer.json` file.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: std::path::PathBuf) -> TkResult<Self> {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::Serialization(format!(
                "cannot read tokenizer file {}: {e}",
                path.display()
            ))
        })?;
        Self::from_str(py, &text)
    }

    /// Number of ids.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.vocab.vocab_size()
    }

    /// True when checks re-encode whole texts because the piece-wise machinery cannot model
    /// this tokenizer (exact as the probes allow, but slow; no stable boundary).
    #[getter]
    fn reference_mode(&self) -> bool {
        self.vocab.is_reference_mode()
    }

    /// The bytes of one token.
    fn token_bytes<'py>(&self, py: Python<'py>, id: u32) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.vocab.token_bytes(id).ok_or_else(|| {
            PyErr::from(TokkitErr(Error::Config(format!(
                "token id {id} is outside the vocabulary"
            ))))
        })?;
        Ok(PyBytes::new(py, bytes))
    }

    /// int16 first byte of every ordinary token; -1 for special and empty tokens.
    fn first_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i16>> {
        PyArray1::from_vec(py, self.vocab.first_bytes())
    }

    /// uint32 ids of the special added tokens.
    fn special_ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        ids_array(py, self.vocab.special_ids())
    }

    /// uint32 canonical encoding of a plain text (special tokens are not matched).
    fn encode<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let text = std::str::from_utf8(data).map_err(|e| {
            PyErr::from(TokkitErr(Error::Config(format!(
                "data is not valid UTF-8: {e}"
            ))))
        })?;
        let ids = py.detach(|| self.vocab.encode(text));
        Ok(ids_array(py, ids))
    }

    /// uint32 ids of the ordinary tokens whose bytes start with `prefix`, ascending.
    fn tokens_with_prefix<'py>(&self, py: Python<'py>, prefix: &[u8]) -> Bound<'py, PyArray1<u32>> {
        let ids = py.detach(|| self.vocab.tokens_with_prefix(prefix));
        ids_array(py, ids)
    }

    /// uint32 ids of the ordinary tokens whose bytes are a non-empty prefix of `data`.
    fn tokens_prefix_of<'py>(&self, py: Python<'py>, data: &[u8]) -> Bound<'py, PyArray1<u32>> {
        ids_array(py, self.vocab.tokens_prefix_of(data))
    }

    /// Whether `ids` is a prefix of the encoding of some text.
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn is_valid(&self, py: Python<'_>, ids: Ids<'_>) -> PyResult<bool> {
        let ids = ids.as_slice()?;
        Ok(py.detach(|| self.vocab.is_valid(ids)).map_err(TokkitErr)?)
    }

    /// bool per candidate: is `context ⊕ [v]` valid.
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn valid_extensions<'py>(
        &self,
        py: Python<'py>,
        context: Ids<'py>,
        candidates: Ids<'py>,
    ) -> PyResult<Bound<'py, PyArray1<bool>>> {
        let (context, candidates) = (context.as_slice()?, candidates.as_slice()?);
        let pool = threads::pool(None).map_err(TokkitErr)?;
        let mask = py
            .detach(|| pool.install(|| self.vocab.valid_extensions(context, candidates)))
            .map_err(TokkitErr)?;
        Ok(PyArray1::from_vec(py, mask))
    }

    /// `valid_extensions` by the plain per-candidate oracle, without memo (tests and benches).
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn _valid_extensions_reference<'py>(
        &self,
        py: Python<'py>,
        context: Ids<'py>,
        candidates: Ids<'py>,
    ) -> PyResult<Bound<'py, PyArray1<bool>>> {
        let (context, candidates) = (context.as_slice()?, candidates.as_slice()?);
        let pool = threads::pool(None).map_err(TokkitErr)?;
        let mask = py
            .detach(|| pool.install(|| self.vocab.valid_extensions_reference(context, candidates)))
            .map_err(TokkitErr)?;
        Ok(PyArray1::from_vec(py, mask))
    }

    /// Forgets the contexts `valid_extensions` remembers (benches).
    fn _clear_memo(&self) {
        self.vocab.clear_memo();
    }

    /// The largest byte offset after which no continuation changes the encoding.
    fn stable_boundary(&self, py: Python<'_>, data: &[u8]) -> usize {
        py.detach(|| self.vocab.stable_boundary(data))
    }

    /// Every valid cover of `data`: `(ids, remainder bytes)`.
    fn covers<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
        let pool = threads::pool(None).map_err(TokkitErr)?;
        let covers = py.detach(|| pool.install(|| self.vocab.covers(data)));
        let items = covers
            .into_iter()
            .map(|(ids, rem)| {
                PyTuple::new(
                    py,
                    [
                        ids_array(py, ids).into_any(),
                        rem.into_pyobject(py)?.into_any(),
                    ],
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn __repr__(&self) -> String {
        format!("ByteVocab(vocab_size={})", self.vocab.vocab_size())
    }
}
