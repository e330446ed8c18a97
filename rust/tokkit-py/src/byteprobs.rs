//! `ByteVocab`: the byte-level view of a tokenizer (covers, validity, first bytes) over
//! `tokkit_core::byteprobs`. Arrays cross the boundary as numpy arrays, built with
//! `numpy.frombuffer` (the crate does not depend on rust-numpy); every call that can take long
//! releases the GIL.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use tokkit_core::Error;
use tokkit_core::byteprobs::ByteVocab;

use crate::errors::{TkResult, TokkitErr};

/// A numpy array of `dtype` holding `data` (native byte order), writable.
fn to_numpy<'py, T: Copy, const W: usize>(
    py: Python<'py>,
    data: &[T],
    dtype: &str,
    to_bytes: impl Fn(T) -> [u8; W],
) -> PyResult<Bound<'py, PyAny>> {
    let mut raw: Vec<u8> = Vec::with_capacity(data.len() * W);
    for &x in data {
        raw.extend_from_slice(&to_bytes(x));
    }
    let np = py.import("numpy")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", dtype)?;
    np.call_method("frombuffer", (PyBytes::new(py, &raw),), Some(&kwargs))?
        .call_method0("copy")
}

fn ids_array<'py>(py: Python<'py>, ids: &[u32]) -> PyResult<Bound<'py, PyAny>> {
    to_numpy(py, ids, "uint32", u32::to_ne_bytes)
}

/// Token ids from any integer sequence or array; out-of-range values raise `ConfigError`.
fn ids_from(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    let py = obj.py();
    let np = py.import("numpy")?;
    // uint32 arrays (what the byte-level layer passes) are read as they are.
    if let Ok(dtype) = obj.getattr("dtype") {
        if dtype.getattr("name")?.extract::<String>()? == "uint32" {
            let raw: Vec<u8> = obj
                .call_method0("ravel")?
                .call_method0("tobytes")?
                .extract()?;
            return Ok(raw
                .chunks_exact(4)
                .map(|c| u32::from_ne_bytes(c.try_into().expect("chunks of 4")))
                .collect());
        }
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", "int64")?;
    let arr = np.call_method("asarray", (obj,), Some(&kwargs))?;
    let raw: Vec<u8> = arr
        .call_method0("ravel")?
        .call_method0("tobytes")?
        .extract()?;
    raw.chunks_exact(8)
        .map(|c| {
            let v = i64::from_ne_bytes(c.try_into().expect("chunks of 8"));
            u32::try_from(v).map_err(|_| {
                PyErr::from(TokkitErr(Error::Config(format!(
                    "token id {v} is not a valid id"
                ))))
            })
        })
        .collect()
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
        let vocab = py.detach(|| ByteVocab::from_json(json))?;
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
    fn first_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_numpy(py, &self.vocab.first_bytes(), "int16", i16::to_ne_bytes)
    }

    /// uint32 ids of the special added tokens.
    fn special_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        ids_array(py, &self.vocab.special_ids())
    }

    /// uint32 canonical encoding of a plain text (special tokens are not matched).
    fn encode<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let text = std::str::from_utf8(data).map_err(|e| {
            PyErr::from(TokkitErr(Error::Config(format!(
                "data is not valid UTF-8: {e}"
            ))))
        })?;
        let ids = py.detach(|| self.vocab.encode(text));
        ids_array(py, &ids)
    }

    /// uint32 ids of the ordinary tokens whose bytes start with `prefix`, ascending.
    fn tokens_with_prefix<'py>(
        &self,
        py: Python<'py>,
        prefix: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        let ids = py.detach(|| self.vocab.tokens_with_prefix(prefix));
        ids_array(py, &ids)
    }

    /// uint32 ids of the ordinary tokens whose bytes are a non-empty prefix of `data`.
    fn tokens_prefix_of<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        ids_array(py, &self.vocab.tokens_prefix_of(data))
    }

    /// Whether `ids` is a prefix of the encoding of some text.
    fn is_valid(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<bool> {
        let ids = ids_from(ids)?;
        Ok(py.detach(|| self.vocab.is_valid(&ids)).map_err(TokkitErr)?)
    }

    /// bool per candidate: is `context ⊕ [v]` valid.
    fn valid_extensions<'py>(
        &self,
        py: Python<'py>,
        context: &Bound<'py, PyAny>,
        candidates: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let context = ids_from(context)?;
        let candidates = ids_from(candidates)?;
        let mask = py
            .detach(|| self.vocab.valid_extensions(&context, &candidates))
            .map_err(TokkitErr)?;
        to_numpy(py, &mask, "bool", |x| [u8::from(x)])
    }

    /// `valid_extensions` by the plain per-candidate oracle, without memo (tests and benches).
    fn _valid_extensions_reference<'py>(
        &self,
        py: Python<'py>,
        context: &Bound<'py, PyAny>,
        candidates: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let context = ids_from(context)?;
        let candidates = ids_from(candidates)?;
        let mask = py
            .detach(|| self.vocab.valid_extensions_reference(&context, &candidates))
            .map_err(TokkitErr)?;
        to_numpy(py, &mask, "bool", |x| [u8::from(x)])
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
        let covers = py.detach(|| self.vocab.covers(data));
        let items = covers
            .iter()
            .map(|(ids, rem)| {
                PyTuple::new(py, [ids_array(py, ids)?, rem.into_pyobject(py)?.into_any()])
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn __repr__(&self) -> String {
        format!("ByteVocab(vocab_size={})", self.vocab.vocab_size())
    }
}
