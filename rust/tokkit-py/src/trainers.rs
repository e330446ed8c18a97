//! `train`: a trainer configuration (the JSON of a `tokkit.trainers` object) and a corpus (files
//! and/or a Python iterable of strings) in, a trained tokenizer out; `extend`: the same with a
//! base `tokenizer.json` to continue from. The core does all of it, detached from the
//! interpreter; the iterable is pulled in batches, taking the GIL only for that.

use pyo3::prelude::*;
use pyo3::types::PyIterator;
use tokkit_core::CancelToken;
use tokkit_core::train::extend::Extended;
use tokkit_core::train::{Corpus, TextBatches, Trained, TrainerConfig, thread_pool};
use tokkit_core::{Error, hf_json, progress};

use crate::detach::run_detached;
use crate::errors::{TkResult, TokkitErr};

/// Strings pulled from a Python iterable per batch, as `tokenizers` does.
const BATCH: usize = 4096;

/// A trained tokenizer, not yet written anywhere.
#[pyclass(name = "Trained", module = "tokkit._tokkit", frozen)]
pub struct PyTrained(pub(crate) Trained);

#[pymethods]
impl PyTrained {
    /// The standard HF `tokenizer.json` text.
    fn to_json(&self) -> TkResult<String> {
        serde_json::to_string_pretty(&hf_json::to_json(&self.0.model, &self.0.pretokenizer))
            .map_err(|e| Error::Serialization(e.to_string()).into())
    }

    /// The training report (corpus hash and size, counts, timings, stop reason) as JSON text.
    fn report_json(&self) -> String {
        serde_json::to_string(&self.0.report).unwrap_or_default()
    }

    /// The trainer configuration, as JSON text.
    fn config_json(&self) -> String {
        self.0.config.to_json()
    }

    /// Merges as `(left, right)` byte-level strings, in rank order.
    fn merges(&self) -> Vec<(String, String)> {
        let model = &self.0.model;
        model
            .merges
            .iter()
            .map(|&(a, b)| (model.token_string(a), model.token_string(b)))
            .collect()
    }

    /// Number of ids, special tokens included.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.0.model.tokens.len()
    }

    /// The special tokens, in id order.
    #[getter]
    fn special_tokens(&self) -> Vec<String> {
        self.0.model.special_tokens()
    }

    /// The pre-tokenizer's name and pattern.
    #[getter]
    fn pretokenizer(&self) -> (String, Option<String>) {
        let pre = &self.0.pretokenizer;
        (pre.name().to_owned(), pre.pattern().map(str::to_owned))
    }
}

/// A Python iterable of strings as batches; an exception it raises is kept to re-raise as is.
struct PyTexts {
    source: Py<PyAny>,
    iter: Py<PyIterator>,
    error: Option<PyErr>,
}

impl TextBatches for PyTexts {
    /// A second `iter()` of the source: a list or a dataset starts again; an iterator (which
    /// returns itself) cannot.
    fn rewind(&mut self) -> tokkit_core::Result<()> {
        Python::attach(|py| {
            let source = self.source.bind(py);
            let again = PyIterator::from_object(source).map_err(|e| {
                self.error = Some(e);
                Error::Corpus("the texts iterable raised an exception".into())
            })?;
            if again.is(source) {
                return Err(Error::Config(
                    "SuperBPE reads the corpus twice, and these texts are an iterator that can be read only once"
                        .into(),
                )
                .with_hint("give files, or texts that can be iterated twice (a list, a dataset)"));
            }
            self.iter = again.unbind();
            Ok(())
        })
    }

    fn next_batch(&mut self) -> tokkit_core::Result<Option<Vec<String>>> {
        Python::attach(|py| {
            let mut iter = self.iter.bind(py).clone();
            let mut batch = Vec::with_capacity(BATCH);
            for item in iter.by_ref().take(BATCH) {
                let text = item.and_then(|t| t.extract::<String>());
                match text {
                    Ok(t) => batch.push(t),
                    Err(e) => {
                        let message = if e.is_instance_of::<pyo3::exceptions::PyTypeError>(py) {
                            "texts must yield str items".to_owned()
                        } else {
                            self.error = Some(e);
                            "the texts iterable raised an exception".to_owned()
                        };
                        return Err(Error::Corpus(message));
                    }
                }
            }
            Ok((!batch.is_empty()).then_some(batch))
        })
    }
}

/// Trains the configuration `config_json` on `files` (paths, directories, globs) and/or
/// `texts` (an iterable of strings, one sequence each).
#[pyfunction]
#[pyo3(signature = (
    config_json, files=None, texts=None, *, text_field=None, strict_utf8=false, num_threads=None,
    progress="none"
))]
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors the keyword arguments of the Python call"
)]
pub fn train(
    py: Python<'_>,
    config_json: &str,
    files: Option<Vec<String>>,
    texts: Option<Bound<'_, PyAny>>,
    text_field: Option<String>,
    strict_utf8: bool,
    num_threads: Option<usize>,
    progress: &str,
) -> PyResult<PyTrained> {
    let config = TrainerConfig::from_json(config_json).map_err(TokkitErr)?;
    config.validate().map_err(TokkitErr)?;
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
            tokkit_core::train::train(&config, corpus, sink, cancel)
        })
        .map(PyTrained)
}

/// Extends the base tokenizer `base_json` (a `tokenizer.json` text) as `config_json` (a `bpe`
/// or `superbpe` configuration with `extend`) says, on `files` and/or `texts`.
#[pyfunction]
#[pyo3(signature = (
    config_json, base_json, files=None, texts=None, *, text_field=None, strict_utf8=false,
    num_threads=None, progress="none"
))]
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors the keyword arguments of the Python call"
)]
pub fn extend(
    py: Python<'_>,
    config_json: &str,
    base_json: String,
    files: Option<Vec<String>>,
    texts: Option<Bound<'_, PyAny>>,
    text_field: Option<String>,
    strict_utf8: bool,
    num_threads: Option<usize>,
    progress: &str,
) -> PyResult<PyExtended> {
    let config = TrainerConfig::from_json(config_json).map_err(TokkitErr)?;
    config.validate().map_err(TokkitErr)?;
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
            tokkit_core::train::extend::extend(&config, &base_json, corpus, sink, cancel)
        })
        .map(PyExtended)
}

/// The corpus and run options shared by [`train`], [`extend`] and `train_hybrid`.
pub(crate) struct CorpusOptions<'py, 'a> {
    pub(crate) files: Option<Vec<String>>,
    pub(crate) texts: Option<Bound<'py, PyAny>>,
    pub(crate) text_field: Option<String>,
    pub(crate) strict_utf8: bool,
    pub(crate) num_threads: Option<usize>,
    pub(crate) progress: &'a str,
}

impl CorpusOptions<'_, '_> {
    /// Runs `work` on the corpus, detached from the interpreter in the requested pool; an
    /// exception the texts iterable raised is re-raised as is.
    pub(crate) fn run<T: Send>(
        self,
        py: Python<'_>,
        work: impl FnOnce(Corpus<'_>, &dyn progress::Progress, &CancelToken) -> tokkit_core::Result<T>
        + Send,
    ) -> PyResult<T> {
        let sink = progress::from_name(self.progress).map_err(TokkitErr)?;
        let pool = thread_pool(self.num_threads).map_err(TokkitErr)?;
        let mut texts = match self.texts {
            Some(t) => Some(PyTexts {
                iter: PyIterator::from_object(&t)?.unbind(),
                source: t.unbind(),
                error: None,
            }),
            None => None,
        };
        let corpus = Corpus {
            files: self.files.unwrap_or_default(),
            text_field: self.text_field,
            strict_utf8: self.strict_utf8,
            texts: texts.as_mut().map(|t| t as &mut dyn TextBatches),
        };
        let result = run_detached(py, |cancel| {
            pool.install(|| work(corpus, sink.as_ref(), cancel))
        });
        match (result, texts.and_then(|t| t.error)) {
            (Err(_), Some(raised)) => Err(raised),
            (result, _) => Ok(result?),
        }
    }
}

/// An extended tokenizer, not yet written anywhere (the same interface as `Trained`).
#[pyclass(name = "Extended", module = "tokkit._tokkit", frozen)]
pub struct PyExtended(Extended);

#[pymethods]
impl PyExtended {
    /// The `tokenizer.json` text: the base's, with the new tokens and merges appended.
    fn to_json(&self) -> String {
        self.0.json.clone()
    }

    /// The training report, with its `extension` part, as JSON text.
    fn report_json(&self) -> String {
        serde_json::to_string(&self.0.report).unwrap_or_default()
    }

    /// The trainer configuration, as JSON text.
    fn config_json(&self) -> String {
        self.0.config.to_json()
    }

    /// Every merge as `(left, right)` vocab texts, in rank order, the base's first.
    fn merges(&self) -> Vec<(String, String)> {
        self.0.merges.clone()
    }

    /// Number of ids, the base's included.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.0.vocab_size
    }

    /// The base's special tokens, in id order.
    #[getter]
    fn special_tokens(&self) -> Vec<String> {
        self.0.special_tokens.clone()
    }

    /// The pre-tokenizer's name and pattern.
    #[getter]
    fn pretokenizer(&self) -> (String, Option<String>) {
        self.0.pretokenizer.clone()
    }
}

/// The trainer configuration `config_json`, checked, with every default filled in.
#[pyfunction]
pub fn trainer_config(config_json: &str) -> TkResult<String> {
    let config = TrainerConfig::from_json(config_json)?;
    config.validate()?;
    Ok(config.to_json())
}
