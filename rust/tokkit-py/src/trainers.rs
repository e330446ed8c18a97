//! `train_bpe`: counts files and/or a Python iterable of strings, then trains, with the GIL
//! released throughout except while pulling the next batch of strings from the iterable.

use pyo3::prelude::*;
use pyo3::types::PyIterator;
use rayon::prelude::*;
use tokkit_core::pretokenize::Pretokenizer;
use tokkit_core::pretokenize::chunks::{ChunkDistribution, Chunker};
use tokkit_core::progress;
use tokkit_core::train::superbpe::{self, Preset, SuperBpeConfig, SuperBpeReport};
use tokkit_core::train::{self, BpeConfig, BpeModel, LengthCap, TrainReport};
use tokkit_core::word_counts::{self, Counter};
use tokkit_core::{Error, corpus, hf_json};

use crate::detach::run_detached;
use crate::errors::TkResult;

/// Strings pulled from a Python iterable per batch, as `tokenizers` does.
const BATCH: usize = 4096;

/// A trained byte-level BPE tokenizer, not yet written anywhere.
#[pyclass(name = "TrainedBpe", module = "tokkit._tokkit", frozen)]
pub struct PyTrainedBpe {
    model: BpeModel,
    pretokenizer: Pretokenizer,
    report: TrainReport,
    superbpe: Option<SuperBpeReport>,
}

#[pymethods]
impl PyTrainedBpe {
    /// The standard HF `tokenizer.json` text.
    fn to_json(&self) -> TkResult<String> {
        serde_json::to_string_pretty(&hf_json::to_json(&self.model, &self.pretokenizer))
            .map_err(|e| Error::Serialization(e.to_string()).into())
    }

    /// The training report (corpus hash and size, counts, timings, stop reason) as JSON text.
    fn report_json(&self) -> String {
        let mut value = serde_json::to_value(&self.report).unwrap_or_default();
        if let (Some(extra), Some(map)) = (&self.superbpe, value.as_object_mut()) {
            map.insert(
                "superbpe".into(),
                serde_json::to_value(extra).unwrap_or_default(),
            );
        }
        value.to_string()
    }

    /// Merges as `(left, right)` byte-level strings, in rank order.
    fn merges(&self) -> Vec<(String, String)> {
        self.model
            .merges
            .iter()
            .map(|&(a, b)| (self.model.token_string(a), self.model.token_string(b)))
            .collect()
    }

    /// Number of ids, special tokens included.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.model.tokens.len()
    }

    /// The special tokens, in id order.
    #[getter]
    fn special_tokens(&self) -> Vec<String> {
        self.model.special_tokens()
    }

    /// The pre-tokenizer's name and pattern.
    #[getter]
    fn pretokenizer(&self) -> (String, Option<String>) {
        (
            self.pretokenizer.name().to_owned(),
            self.pretokenizer.pattern().map(str::to_owned),
        )
    }
}

fn length_cap(
    max_token_length: Option<usize>,
    max_token_chars: Option<usize>,
) -> TkResult<LengthCap> {
    match (max_token_length, max_token_chars) {
        (Some(_), Some(_)) => Err(Error::Config(
            "give either max_token_length (HF semantics) or max_token_chars (inclusive cap), not both".into(),
        )
        .into()),
        (Some(n), None) => Ok(LengthCap::Hf(n)),
        (None, Some(n)) => Ok(LengthCap::Inclusive(n)),
        (None, None) => Ok(LengthCap::None),
    }
}

/// Trains byte-level BPE on `files` (paths, directories, globs) and/or `texts` (an iterable of
/// strings, one sequence each).
#[pyfunction]
#[pyo3(signature = (
    files=None, texts=None, *, vocab_size, pretokenizer="gpt2", min_frequency=0, special_tokens=Vec::new(),
    max_token_length=None, max_token_chars=None, full_alphabet=true, text_field=None, strict_utf8=false,
    num_threads=None, progress="none", pad_to=None, chunk_seed=None, chunk_distribution=None
))]
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors the keyword arguments of tokkit.train"
)]
#[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
pub fn train_bpe(
    py: Python<'_>,
    files: Option<Vec<String>>,
    texts: Option<Bound<'_, PyAny>>,
    vocab_size: usize,
    pretokenizer: &str,
    min_frequency: u64,
    special_tokens: Vec<String>,
    max_token_length: Option<usize>,
    max_token_chars: Option<usize>,
    full_alphabet: bool,
    text_field: Option<String>,
    strict_utf8: bool,
    num_threads: Option<usize>,
    progress: &str,
    pad_to: Option<usize>,
    chunk_seed: Option<u64>,
    chunk_distribution: Option<String>,
) -> PyResult<PyTrainedBpe> {
    let config = BpeConfig {
        vocab_size,
        min_frequency,
        special_tokens,
        length_cap: length_cap(max_token_length, max_token_chars)?,
        full_alphabet,
    };
    config.validate().map_err(crate::errors::TokkitErr)?;
    // Supertokens: random chunks for counting, no split at inference (the whole text is one word).
    let (pre, out_pre) = match chunk_seed {
        Some(seed) => {
            let distribution = match chunk_distribution.as_deref() {
                Some(spec) => ChunkDistribution::parse(spec).map_err(crate::errors::TokkitErr)?,
                None => ChunkDistribution::default(),
            };
            let none = Pretokenizer::from_spec("none").map_err(crate::errors::TokkitErr)?;
            (
                Pretokenizer::random_chunks(Chunker { distribution, seed }),
                none,
            )
        }
        None => (
            Pretokenizer::from_spec(pretokenizer).map_err(crate::errors::TokkitErr)?,
            Pretokenizer::from_spec(pretokenizer).map_err(crate::errors::TokkitErr)?,
        ),
    };
    let sink = progress::from_name(progress).map_err(crate::errors::TokkitErr)?;
    let pool = train::thread_pool(num_threads).map_err(crate::errors::TokkitErr)?;
    let files = files.unwrap_or_default();
    if files.is_empty() && texts.is_none() {
        return Err(crate::errors::TokkitErr(Error::Corpus(
            "no corpus given: pass files (paths, directories, globs) or texts (an iterable of strings)".into(),
        ))
        .into());
    }
    let started = std::time::Instant::now();
    let mut report = TrainReport::default();
    let mut counter = Counter::default();
    if !files.is_empty() {
        let resolved =
            corpus::resolve(&files, text_field.as_deref()).map_err(crate::errors::TokkitErr)?;
        report.corpus_files = resolved
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        let (c, sha) = run_detached(py, |cancel| {
            pool.install(|| {
                word_counts::count_files(resolved, &pre, strict_utf8, sink.as_ref(), cancel)
            })
        })?;
        counter = c;
        report.corpus_sha256 = sha;
    }
    if let Some(texts) = texts {
        let mut iter = PyIterator::from_object(&texts)?;
        let mut hasher = tokkit_core::corpus::StreamHasher::default();
        let mut seen = 0u64;
        loop {
            let mut batch: Vec<String> = Vec::with_capacity(BATCH);
            for item in iter.by_ref().take(BATCH) {
                batch.push(item?.extract::<String>().map_err(|_| {
                    crate::errors::TokkitErr(Error::Corpus("texts must yield str items".into()))
                })?);
            }
            if batch.is_empty() {
                break;
            }
            for t in &batch {
                hasher.update(t.as_bytes());
            }
            let batch_counter = run_detached(py, |_| {
                Ok(pool.install(|| {
                    batch
                        .par_iter()
                        .enumerate()
                        .fold(Counter::default, |mut c, (i, t)| {
                            c.add_document(&pre, t, seen + i as u64);
                            c
                        })
                        .reduce(Counter::default, Counter::merge)
                }))
            })?;
            seen += batch.len() as u64;
            counter = counter.merge(batch_counter);
        }
        if report.corpus_sha256.is_empty() {
            report.corpus_sha256 = hasher.hex();
        }
    }
    report.count_seconds = started.elapsed().as_secs_f64();
    report.corpus_bytes = counter.bytes;
    let mut model = run_detached(py, |cancel| {
        pool.install(|| {
            train::train_bpe_from_counter(counter, &config, sink.as_ref(), cancel, &mut report)
        })
    })?;
    if let Some(target) = pad_to {
        train::charbpe::pad_to(&mut model, target).map_err(crate::errors::TokkitErr)?;
        report.vocab_size = model.tokens.len();
    }
    Ok(PyTrainedBpe {
        model,
        pretokenizer: out_pre,
        report,
        superbpe: None,
    })
}

/// Trains SuperBPE on `files`: classic BPE for `transition_merges` merges, then superword
/// merges across whitespace up to `vocab_size`.
#[pyfunction]
#[pyo3(signature = (
    files, *, vocab_size, transition_merges, config="paper", min_frequency=0,
    special_tokens=Vec::new(), full_alphabet=true, max_words=4, forbid_colon_space=true,
    text_field=None, strict_utf8=false, num_threads=None, progress="none"
))]
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors the keyword arguments of tokkit.train"
)]
#[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
pub fn train_superbpe(
    py: Python<'_>,
    files: Vec<String>,
    vocab_size: usize,
    transition_merges: usize,
    config: &str,
    min_frequency: u64,
    special_tokens: Vec<String>,
    full_alphabet: bool,
    max_words: usize,
    forbid_colon_space: bool,
    text_field: Option<String>,
    strict_utf8: bool,
    num_threads: Option<usize>,
    progress: &str,
) -> PyResult<PyTrainedBpe> {
    let config = SuperBpeConfig {
        bpe: BpeConfig {
            vocab_size,
            min_frequency,
            special_tokens,
            length_cap: LengthCap::None,
            full_alphabet,
        },
        transition_merges,
        preset: Preset::from_name(config).map_err(crate::errors::TokkitErr)?,
        max_words,
        forbid_colon_space,
    };
    config.validate().map_err(crate::errors::TokkitErr)?;
    let sink = progress::from_name(progress).map_err(crate::errors::TokkitErr)?;
    let pool = train::thread_pool(num_threads).map_err(crate::errors::TokkitErr)?;
    let (model, pretokenizer, report, extra) = run_detached(py, |cancel| {
        pool.install(|| {
            superbpe::train_from_files(
                &files,
                text_field.as_deref(),
                strict_utf8,
                &config,
                sink.as_ref(),
                cancel,
            )
        })
    })?;
    Ok(PyTrainedBpe {
        model,
        pretokenizer,
        report,
        superbpe: Some(extra),
    })
}
