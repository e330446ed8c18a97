//! `BpeTokenizer`: tokkit's own encoder and decoder over a BPE `tokenizer.json` (byte-level, or
//! SentencePiece-style with byte fallback such as Gemma and Llama-2).

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rayon::prelude::*;
use tokkit_core::encode::{BpeEncoder, PieceCache};
use tokkit_core::{Error, hf_json, threads};

use crate::detach::run_detached;
use crate::errors::{TkResult, TokkitErr};

/// A BPE tokenizer read from `tokenizer.json` (byte-level or SentencePiece-style).
#[pyclass(name = "BpeTokenizer", module = "tokkit._tokkit", frozen)]
pub struct PyBpeTokenizer {
    encoder: BpeEncoder,
}

#[pymethods]
impl PyBpeTokenizer {
    /// Parses the text of a `tokenizer.json`.
    #[staticmethod]
    fn from_str(json: &str) -> TkResult<Self> {
        Ok(Self {
            encoder: BpeEncoder::from_loaded(hf_json::from_json(json)?)?,
        })
    }

    /// Reads a `tokenizer.json` file.
    #[staticmethod]
    fn from_file(path: std::path::PathBuf) -> TkResult<Self> {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::Serialization(format!(
                "cannot read tokenizer file {}: {e}",
                path.display()
            ))
        })?;
        Self::from_str(&text)
    }

    /// Token ids of `text` (added tokens matched first).
    fn encode(&self, py: Python<'_>, text: &str) -> Vec<u32> {
        py.detach(|| self.encoder.encode(text))
    }

    /// Token ids of many texts, encoded in parallel on `num_threads` workers (default:
    /// `TOKKIT_NUM_THREADS`, else every core); Ctrl-C stops it.
    #[pyo3(signature = (texts, num_threads=None))]
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn encode_batch(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        num_threads: Option<usize>,
    ) -> PyResult<Vec<Vec<u32>>> {
        let pool = threads::pool(num_threads).map_err(TokkitErr)?;
        run_detached(py, |cancel| {
            pool.install(|| {
                texts
                    .par_iter()
                    .map_init(PieceCache::default, |cache, t| {
                        cancel.check()?;
                        Ok(self.encoder.encode_cached(t, Some(cache)))
                    })
                    .collect()
            })
        })
    }

    /// Token ids of each byte string encoded by the model alone (no added tokens, no
    /// pre-tokenizer): ZeTT's decomposition of a new token into the base tokenizer's tokens.
    /// SentencePiece-style models normalize each piece as inside a text (spaces become `▁`).
    /// A byte the model has no token for is dropped, as `encode` drops it (a vocabulary cut to a
    /// few thousand tokens may lack bytes such as `0xFF`).
    /// Runs in parallel on `num_threads` workers with the GIL released; Ctrl-C stops it.
    #[pyo3(signature = (pieces, num_threads=None))]
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn encode_pieces(
        &self,
        py: Python<'_>,
        pieces: Vec<Bound<'_, PyBytes>>,
        num_threads: Option<usize>,
    ) -> PyResult<Vec<Vec<u32>>> {
        let pieces: Vec<&[u8]> = pieces.iter().map(|p| p.as_bytes()).collect();
        let pool = threads::pool(num_threads).map_err(TokkitErr)?;
        run_detached(py, |cancel| {
            pool.install(|| {
                pieces
                    .par_iter()
                    .map(|piece| {
                        cancel.check()?;
                        let mut ids = Vec::new();
                        self.encoder.encode_text_piece(piece, &mut ids);
                        Ok(ids)
                    })
                    .collect()
            })
        })
    }

    /// The text `ids` stand for (invalid UTF-8 replaced by U+FFFD, as HF's ByteLevel decoder does).
    #[pyo3(signature = (ids, skip_special_tokens=false))]
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn decode(&self, ids: Vec<u32>, skip_special_tokens: bool) -> TkResult<String> {
        let bytes = self.encoder.decode_bytes(&ids, skip_special_tokens)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The raw bytes `ids` stand for.
    #[pyo3(signature = (ids, skip_special_tokens=false))]
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn decode_bytes<'py>(
        &self,
        py: Python<'py>,
        ids: Vec<u32>,
        skip_special_tokens: bool,
    ) -> TkResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(
            py,
            &self.encoder.decode_bytes(&ids, skip_special_tokens)?,
        ))
    }

    /// The bytes of one token.
    fn token_bytes<'py>(&self, py: Python<'py>, id: u32) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.encoder.token_bytes(id).ok_or_else(|| {
            PyErr::from(TokkitErr(Error::Config(format!(
                "token id {id} is outside the vocabulary"
            ))))
        })?;
        Ok(PyBytes::new(py, bytes))
    }

    /// Byte offsets in `text` where independently encoded pieces start (BPE never merges across
    /// them): added tokens, the text after them, pre-tokens, and for SentencePiece-style models
    /// the spaces that provably start a word.
    fn piece_starts(&self, py: Python<'_>, text: &str) -> Vec<usize> {
        py.detach(|| self.encoder.piece_starts(text))
    }

    /// Number of ids.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.encoder.vocab_size()
    }

    /// The added tokens as `(text, id, special)`.
    fn added_tokens(&self) -> Vec<(String, u32, bool)> {
        self.encoder.added_tokens().to_vec()
    }

    /// Name of the pre-tokenizer (`gpt2`, `llama3`, `o200k`, `none` or `custom`).
    #[getter]
    fn pretokenizer(&self) -> String {
        self.encoder.pretokenizer().name().to_owned()
    }
}
