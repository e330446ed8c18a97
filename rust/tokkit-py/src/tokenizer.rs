//! `BpeTokenizer`: tokkit's own encoder and decoder over a BPE `tokenizer.json` (byte-level, or
//! SentencePiece-style with byte fallback such as Gemma and Llama-2).

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyList, PyModule};
use rayon::prelude::*;
use tokkit_core::encode::BpeEncoder;
use tokkit_core::{Error, hf_json, threads};

use crate::batch;
use crate::detach::run_detached;
use crate::errors::{TkResult, TokkitErr};
use crate::id_list::IdInts;

/// A BPE tokenizer read from `tokenizer.json` (byte-level or SentencePiece-style).
#[pyclass(name = "BpeTokenizer", module = "tokkit._tokkit", frozen)]
pub struct PyBpeTokenizer {
    encoder: BpeEncoder,
    /// The Python ints that lists of ids are made of (see `id_list.rs`).
    ints: IdInts,
}

impl PyBpeTokenizer {
    fn new(encoder: BpeEncoder) -> Self {
        let ints = IdInts::new(encoder.vocab_size());
        Self { encoder, ints }
    }

    /// `ids` as a Python list of ints.
    fn id_list<'py>(&self, py: Python<'py>, ids: &[u32]) -> PyResult<Bound<'py, PyList>> {
        self.ints.list(py, ids)
    }

    /// One list per text of a chunk (`ends`: where each text's ids end in `ids`).
    fn push_lists<'py>(
        &self,
        py: Python<'py>,
        ids: &[u32],
        ends: &[usize],
        lists: &mut Vec<Bound<'py, PyList>>,
    ) -> PyResult<()> {
        let mut start = 0;
        for &end in ends {
            lists.push(self.id_list(py, &ids[start..end])?);
            start = end;
        }
        Ok(())
    }

    /// Runs `f` on consecutive chunks of `texts` on `num_threads` workers, with the GIL
    /// released; Ctrl-C stops it. Chunks (a few hundred short texts) keep the per-call costs
    /// (scheduling, a buffer, the thread's cache) off each text.
    fn par_chunks<T: Send>(
        &self,
        py: Python<'_>,
        texts: &[PyBackedStr],
        num_threads: Option<usize>,
        f: impl Fn(&BpeEncoder, &[PyBackedStr]) -> T + Sync + Send,
    ) -> PyResult<Vec<T>> {
        let workers = threads::workers(num_threads).map_err(TokkitErr)?;
        let pool = threads::pool(num_threads).map_err(TokkitErr)?;
        let chunk = chunk_size(texts.len(), workers);
        run_detached(py, |cancel| {
            pool.install(|| {
                texts
                    .par_chunks(chunk)
                    .map(|part| {
                        cancel.check()?;
                        Ok(f(&self.encoder, part))
                    })
                    .collect()
            })
        })
    }
}

#[pymethods]
impl PyBpeTokenizer {
    /// Parses the text of a `tokenizer.json` (with the GIL released).
    #[staticmethod]
    fn from_str(py: Python<'_>, json: &str) -> TkResult<Self> {
        let encoder = py.detach(|| BpeEncoder::from_loaded(hf_json::from_json(json)?))?;
        Ok(Self::new(encoder))
    }

    /// Reads a `tokenizer.json` file (at most [`MAX_TOKENIZER_BYTES`]).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: std::path::PathBuf) -> TkResult<Self> {
        let cannot = |e: &dyn std::fmt::Display| {
            Error::Serialization(format!(
                "cannot read tokenizer file {}: {e}",
                path.display()
            ))
        };
        let size = std::fs::metadata(&path).map_err(|e| cannot(&e))?.len();
        if size > MAX_TOKENIZER_BYTES {
            return Err(cannot(&format!(
                "{size} bytes is more than the {MAX_TOKENIZER_BYTES} a tokenizer.json may have"
            ))
            .into());
        }
        let text = py
            .detach(|| std::fs::read_to_string(&path))
            .map_err(|e| cannot(&e))?;
        Self::from_str(py, &text)
    }

    /// Token ids of `text` (added tokens matched first).
    fn encode<'py>(&self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyList>> {
        let ids = py.detach(|| self.encoder.encode(text));
        self.id_list(py, &ids)
    }

    /// Token ids of `text` as a numpy `uint32` array (no Python int per token).
    fn encode_array<'py>(&self, py: Python<'py>, text: &str) -> Bound<'py, PyArray1<u32>> {
        let ids = py.detach(|| self.encoder.encode(text));
        PyArray1::from_vec(py, ids)
    }

    /// The number of ids `encode(text)` returns, without building them.
    fn count_tokens(&self, py: Python<'_>, text: &str) -> usize {
        py.detach(|| self.encoder.count_tokens(text))
    }

    /// Token ids of many texts, encoded in parallel on `num_threads` workers (default:
    /// `TOKKIT_NUM_THREADS`, else every core); Ctrl-C stops it.
    #[pyo3(signature = (texts, num_threads=None))]
    fn encode_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        num_threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let texts = batch::text_list(texts)?;
        let workers = threads::workers(num_threads).map_err(TokkitErr)?;
        let _paused = GcPaused::new(py)?;
        let mut lists = Vec::with_capacity(texts.len());
        if workers == 1 {
            let texts = batch::extract(&texts, 0..texts.len())?;
            let chunks = self.par_chunks(py, &texts, num_threads, encode_chunk)?;
            for (ids, ends) in &chunks {
                self.push_lists(py, ids, ends, &mut lists)?;
            }
        } else {
            // The calling thread is one of the workers (`batch::stream`).
            let pool = threads::pool(Some(workers - 1)).map_err(TokkitErr)?;
            let block = chunk_size(texts.len(), workers);
            batch::stream(
                py,
                &texts,
                &pool,
                workers,
                block,
                |part| encode_chunk(&self.encoder, part),
                |(ids, ends)| self.push_lists(py, &ids, &ends, &mut lists),
            )?;
        }
        PyList::new(py, lists)
    }

    /// `count_tokens` of many texts, in parallel as `encode_batch`.
    #[pyo3(signature = (texts, num_threads=None))]
    fn count_tokens_batch(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyAny>,
        num_threads: Option<usize>,
    ) -> PyResult<Vec<usize>> {
        let texts = batch::text_list(texts)?;
        let workers = threads::workers(num_threads).map_err(TokkitErr)?;
        let count = |part: &[PyBackedStr]| -> Vec<usize> {
            part.iter()
                .map(|text| self.encoder.count_tokens(text))
                .collect()
        };
        if workers == 1 {
            let texts = batch::extract(&texts, 0..texts.len())?;
            return Ok(self
                .par_chunks(py, &texts, num_threads, |_, part| count(part))?
                .concat());
        }
        let pool = threads::pool(Some(workers - 1)).map_err(TokkitErr)?;
        let mut counts = Vec::with_capacity(texts.len());
        let block = chunk_size(texts.len(), workers);
        batch::stream(py, &texts, &pool, workers, block, count, |part| {
            counts.extend(part);
            Ok(())
        })?;
        Ok(counts)
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

/// The largest `tokenizer.json` read (the largest published ones are ~35 MB).
const MAX_TOKENIZER_BYTES: u64 = 1 << 30;

/// The ids of a chunk of texts, and where each text's ids end.
type Chunk = (Vec<u32>, Vec<usize>);

fn encode_chunk(encoder: &BpeEncoder, part: &[PyBackedStr]) -> Chunk {
    let mut ids = Vec::new();
    let mut ends = Vec::with_capacity(part.len());
    encoder.encode_each(part, &mut ids, &mut ends);
    (ids, ends)
}

/// Texts per chunk: several chunks per worker, so that one slow chunk does not leave the others
/// idle, and at most 1024, so that the first lists can be made early (and each chunk's hand-over
/// between threads, a few microseconds, is paid once per ~100 µs of encoding or more).
fn chunk_size(texts: usize, workers: usize) -> usize {
    (texts / (16 * workers)).clamp(1, 1024)
}

/// Python's cyclic garbage collector, paused while many lists of ints are made. The lists are
/// not tracked once filled (`id_list.rs`), but each new one still counts towards the next
/// collection: the ~380 young collections that 265k lists would set off find nothing and
/// cost ~10 ms of a 180 ms call (measured, o200k on 10 MB of lines).
struct GcPaused<'py> {
    gc: Option<Bound<'py, PyModule>>,
}

impl<'py> GcPaused<'py> {
    fn new(py: Python<'py>) -> PyResult<Self> {
        let gc = py.import("gc")?;
        if !gc.call_method0("isenabled")?.is_truthy()? {
            return Ok(Self { gc: None });
        }
        gc.call_method0("disable")?;
        Ok(Self { gc: Some(gc) })
    }
}

impl Drop for GcPaused<'_> {
    fn drop(&mut self) {
        if let Some(gc) = &self.gc {
            // Enabling cannot fail short of the interpreter shutting down; nothing to tell then.
            let _ = gc.call_method0("enable");
        }
    }
}
