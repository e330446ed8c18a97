//! `TokenizerSampler` and `SampledTokenizer`: the ZeTT tokenizer sampler of
//! `tokkit_core::sampler`, for the hypernetwork's training loop. Counting, sampling and batch
//! encoding run with the GIL released (they take tens of milliseconds, while the training step
//! runs on other threads).

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tokkit_core::sampler::{SampledTokenizer, SamplerConfig, TokenizerSampler};

use crate::errors::{TkResult, TokkitErr};

/// Counts substrings of recent batches and samples a tokenizer per training step.
#[pyclass(name = "TokenizerSampler", module = "tokkit._tokkit")]
pub struct PyTokenizerSampler {
    inner: TokenizerSampler,
}

#[pymethods]
impl PyTokenizerSampler {
    #[new]
    #[pyo3(signature = (
        vocab_size=32768,
        max_piece_bytes=16,
        crop_bytes=2048,
        queue_texts=2048,
        noise_mu=1e-5f64.ln(),
        noise_sigma=4.0,
        seed=0,
        num_threads=None,
    ))]
    #[expect(
        clippy::too_many_arguments,
        reason = "the Python constructor's keywords"
    )]
    fn new(
        vocab_size: usize,
        max_piece_bytes: usize,
        crop_bytes: usize,
        queue_texts: usize,
        noise_mu: f64,
        noise_sigma: f64,
        seed: u64,
        num_threads: Option<usize>,
    ) -> TkResult<Self> {
        Ok(Self {
            inner: TokenizerSampler::new(SamplerConfig {
                vocab_size,
                max_piece_bytes,
                crop_bytes,
                queue_texts,
                noise_mu,
                noise_sigma,
                seed,
                threads: num_threads,
            })?,
        })
    }

    /// Counts one batch of texts and queues it (the oldest batches drop out).
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn observe(&mut self, py: Python<'_>, texts: Vec<String>) -> TkResult<()> {
        let inner = &mut self.inner;
        py.detach(|| inner.observe(&texts))?;
        Ok(())
    }

    /// The tokenizer of training step `step` (the same for the same observed texts, seed and
    /// step).
    fn sample(&self, py: Python<'_>, step: u64) -> PySampledTokenizer {
        PySampledTokenizer {
            inner: py.detach(|| self.inner.sample(step)),
        }
    }

    /// Texts in the queue.
    #[getter]
    fn queued_texts(&self) -> usize {
        self.inner.queued_texts()
    }

    /// Distinct substrings counted over the queue.
    #[getter]
    fn distinct_pieces(&self) -> usize {
        self.inner.distinct_pieces()
    }

    /// How often a byte string occurs over the queue.
    fn count(&self, piece: &[u8]) -> u32 {
        self.inner.count(piece)
    }
}

/// A sampled Unigram tokenizer: ids 0..=255 are the bytes, then multi-byte pieces.
#[pyclass(name = "SampledTokenizer", module = "tokkit._tokkit", frozen)]
pub struct PySampledTokenizer {
    inner: SampledTokenizer,
}

#[pymethods]
impl PySampledTokenizer {
    /// The pieces as bytes, by id.
    fn pieces<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
        self.inner
            .pieces()
            .iter()
            .map(|p| PyBytes::new(py, p))
            .collect()
    }

    /// The log-prob of each piece, by id (float32).
    fn log_probs<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, self.inner.log_probs())
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The standard deviation of the noise this tokenizer was sampled with.
    #[getter]
    fn noise_std(&self) -> f64 {
        self.inner.noise_std()
    }

    /// Token ids of `text`.
    fn encode(&self, py: Python<'_>, text: &str) -> Vec<u32> {
        py.detach(|| self.inner.encode(text))
    }

    /// Token ids of many texts, in parallel on `num_threads` workers (default:
    /// `TOKKIT_NUM_THREADS`, else every core).
    #[pyo3(signature = (texts, num_threads=None))]
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn encode_batch(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        num_threads: Option<usize>,
    ) -> TkResult<Vec<Vec<u32>>> {
        py.detach(|| self.inner.encode_batch(&texts, num_threads))
            .map_err(TokkitErr)
    }

    /// The bytes `ids` stand for.
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn decode_bytes<'py>(&self, py: Python<'py>, ids: Vec<u32>) -> TkResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.inner.decode_bytes(&ids)?))
    }

    /// The id of a piece, or None.
    fn id_of(&self, piece: &[u8]) -> Option<u32> {
        self.inner.id_of(piece)
    }
}
