//! `HybridTokenizer`, `train_hybrid`, `hybrid_check_config`: the morphological hybrid tokenizer
//! of `tokkit_core::hybrid` (design/hybrid.md), its trainer and its configuration check.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rayon::prelude::*;
use tokkit_core::hybrid::{
    HybridModel, HybridTrainer, Language, Segmentation, TrainedHybrid, train_hybrid as train,
};
use tokkit_core::{Error, threads};

use crate::detach::run_detached;
use crate::errors::{TkResult, TokkitErr};
use crate::trainers::CorpusOptions;

/// A hybrid tokenizer read from `hybrid.json`.
#[pyclass(name = "HybridTokenizer", module = "tokkit._tokkit", frozen)]
pub struct PyHybridTokenizer {
    model: HybridModel,
}

fn out_of_range(id: u32) -> TokkitErr {
    TokkitErr(Error::Config(format!(
        "token id {id} is outside the vocabulary"
    )))
}

#[pymethods]
impl PyHybridTokenizer {
    /// Parses the text of a `hybrid.json`.
    #[staticmethod]
    fn from_json(text: &str) -> TkResult<Self> {
        Ok(Self {
            model: HybridModel::from_json(text)?,
        })
    }

    /// The `hybrid.json` text.
    fn to_json(&self) -> String {
        self.model.to_json()
    }

    /// Number of ids.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.model.vocab_size()
    }

    /// `best_path`, `pure_path` or `longest_match`.
    #[getter]
    fn segmentation(&self) -> &'static str {
        self.model.segmentation().name()
    }

    /// The language's name.
    #[getter]
    fn language(&self) -> String {
        self.model.language().name().to_owned()
    }

    /// The same tables with another segmentation mode.
    fn with_segmentation(&self, mode: &str) -> TkResult<Self> {
        Ok(Self {
            model: self.model.with_segmentation(Segmentation::from_name(mode)?),
        })
    }

    /// Token ids of `text`.
    fn encode(&self, py: Python<'_>, text: &str) -> Vec<u32> {
        py.detach(|| self.model.encode(text))
    }

    /// Token ids of many texts, encoded in parallel on `num_threads` workers; Ctrl-C stops it.
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
                    .map(|t| {
                        cancel.check()?;
                        // Each worker's own segment cache, kept across items and calls.
                        Ok(self.model.encode(t))
                    })
                    .collect()
            })
        })
    }

    /// The text `ids` stand for (invalid UTF-8 from byte pieces replaced by U+FFFD).
    #[pyo3(signature = (ids, skip_special_tokens=false))]
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn decode(&self, py: Python<'_>, ids: Vec<u32>, skip_special_tokens: bool) -> String {
        py.detach(|| self.model.decode(&ids, skip_special_tokens))
    }

    /// The unique name of every id, in id order.
    fn token_names(&self) -> Vec<String> {
        self.model.names().to_vec()
    }

    /// The canonical surface bytes of a token (empty for markers and specials).
    fn token_bytes<'py>(&self, py: Python<'py>, id: u32) -> TkResult<Bound<'py, PyBytes>> {
        let bytes = self.model.token_bytes(id).ok_or_else(|| out_of_range(id))?;
        Ok(PyBytes::new(py, bytes))
    }

    /// `marker`, `special`, `root`, `suffix`, `piece` or `spaced_root` (a space and any form of
    /// a root group, design/hybrid.md §2).
    fn token_kind(&self, id: u32) -> TkResult<&'static str> {
        Ok(self.model.kind(id).ok_or_else(|| out_of_range(id))?.name())
    }

    /// Every surface form of a token: a root group's forms, a suffix class's forms (the
    /// canonical first), a piece's text, a spaced root's forms each after a space.
    fn token_forms(&self, id: u32) -> TkResult<Vec<String>> {
        self.model.token_forms(id).ok_or_else(|| out_of_range(id))
    }

    /// The markers and special tokens by name.
    #[getter]
    fn special_tokens(&self) -> std::collections::HashMap<String, u32> {
        let specials = 2 + self.model.specials().len();
        self.model.names()[..specials]
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect()
    }
}

/// A trained hybrid tokenizer and its training report.
#[pyclass(name = "TrainedHybrid", module = "tokkit._tokkit", frozen)]
pub struct PyTrainedHybrid(TrainedHybrid);

#[pymethods]
impl PyTrainedHybrid {
    /// The tokenizer.
    #[getter]
    fn tokenizer(&self) -> PyHybridTokenizer {
        PyHybridTokenizer {
            model: self.0.model.clone(),
        }
    }

    /// The training report as JSON text.
    fn report_json(&self) -> String {
        serde_json::to_string(&self.0.report).unwrap_or_default()
    }

    /// The trainer configuration, as JSON text.
    fn config_json(&self) -> String {
        self.0.config.to_json()
    }
}

/// Checks a hybrid trainer configuration (what does not depend on the language).
#[pyfunction]
pub fn hybrid_check_config(config_json: &str) -> TkResult<()> {
    HybridTrainer::from_json(config_json)
        .map(drop)
        .map_err(TokkitErr)
}

/// Trains a hybrid tokenizer: the configuration, the language (`language.json` and
/// `roots.tsv` texts), and a corpus of `files` and/or `texts`.
#[pyfunction]
#[pyo3(signature = (
    config_json, language_json, roots_tsv, *, files=None, texts=None, text_field=None,
    strict_utf8=false, num_threads=None, progress="none"
))]
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors the keyword arguments of the Python call"
)]
pub fn train_hybrid(
    py: Python<'_>,
    config_json: &str,
    language_json: &str,
    roots_tsv: &str,
    files: Option<Vec<String>>,
    texts: Option<Bound<'_, PyAny>>,
    text_field: Option<String>,
    strict_utf8: bool,
    num_threads: Option<usize>,
    progress: &str,
) -> PyResult<PyTrainedHybrid> {
    let config = HybridTrainer::from_json(config_json).map_err(TokkitErr)?;
    let language = Language::from_json(language_json).map_err(TokkitErr)?;
    let roots = language.parse_roots(roots_tsv).map_err(TokkitErr)?;
    config
        .piece_budget(&language, roots.len())
        .map_err(TokkitErr)?;
    let options = CorpusOptions {
        files,
        texts,
        text_field,
        strict_utf8,
        num_threads,
        progress,
    };
    options
        .run(py, |corpus, sink, cancel| {
            train(&config, language, roots, corpus, sink, cancel)
        })
        .map(PyTrainedHybrid)
}
