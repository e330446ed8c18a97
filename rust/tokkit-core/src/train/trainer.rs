//! The one way to train a tokenizer: a [`TrainerConfig`] (which algorithm, with its parameters;
//! what a recipe holds and `tokkit.json` records) and a [`Corpus`] go into [`train`], which
//! counts the corpus, runs the algorithm and returns the model, the pre-tokenizer it must be
//! used with and one [`TrainReport`].
//!
//! ```no_run
//! use tokkit_core::train::{Corpus, TrainerConfig, train};
//! use tokkit_core::{CancelToken, progress::Silent};
//!
//! let config: TrainerConfig =
//!     serde_json::from_str(r#"{"algorithm": "superbpe", "vocab_size": 8000, "transition_point": 0.75}"#)?;
//! let trained = train(&config, Corpus::files(["corpora/en-prose.txt"]), &Silent, &CancelToken::new())?;
//! println!("{} merges", trained.model.merges.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::superbpe::{self, Preset, SuperBpeConfig};
use super::wire::Totals;
use super::{BpeConfig, BpeModel, LengthCap, TrainReport, charbpe, train_bpe_from_words};
use crate::cancel::CancelToken;
use crate::corpus::{self, StreamHasher};
use crate::error::{Error, Result};
use crate::pretokenize::Pretokenizer;
use crate::pretokenize::chunks::{ChunkDistribution, Chunker};
use crate::progress::Progress;
use crate::word_counts::{self, Counter, Splitter};

/// A trainer and its parameters. Serialised with an `algorithm` tag:
/// `{"algorithm": "bpe", "vocab_size": 32000, ...}`; unknown fields are errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case")]
pub enum TrainerConfig {
    /// Byte-level BPE with HF `BpeTrainer` semantics.
    Bpe(BpeTrainer),
    /// SuperBPE: subwords, then superwords across whitespace.
    Superbpe(SuperBpeTrainer),
    /// KL3M-style character-level BPE: an inclusive length cap, padded to an exact size.
    Charbpe(CharBpeTrainer),
    /// TokenAdapt-style supertokens: BPE over seeded random chunks of each document.
    Supertoken(SupertokenTrainer),
}

fn gpt2() -> String {
    "gpt2".into()
}

fn yes() -> bool {
    true
}

fn four() -> usize {
    4
}

/// Parameters of [`TrainerConfig::Bpe`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BpeTrainer {
    /// Final vocabulary size, counting special tokens and the byte alphabet.
    pub vocab_size: usize,
    /// `gpt2`, `llama3`, `o200k`, `none` or a custom regex.
    #[serde(default = "gpt2")]
    pub pretokenizer: String,
    /// Stop at the first pair seen fewer times than this (0 and 1: no limit).
    #[serde(default)]
    pub min_frequency: u64,
    /// Special tokens, ids `0..k` in this order.
    #[serde(default)]
    pub special_tokens: Vec<String>,
    /// HF's `max_token_length` (off by one: tokens of at most `max(2, n - 1)` bytes).
    #[serde(default)]
    pub max_token_length: Option<usize>,
    /// Inclusive cap: no token longer than this many bytes.
    #[serde(default)]
    pub max_token_chars: Option<usize>,
    /// Start from all 256 bytes (else only the bytes seen).
    #[serde(default = "yes")]
    pub full_alphabet: bool,
    /// The pretrained tokenizer this one extends (see [`super::extend`]); as the user named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend: Option<String>,
}

/// Parameters of [`TrainerConfig::Superbpe`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuperBpeTrainer {
    /// Final vocabulary size.
    pub vocab_size: usize,
    /// Merges learned in stage 1: a count (`24000`) or a fraction of `vocab_size` (`0.75`).
    /// Required, except when extending: then the base is stage 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_point: Option<TransitionPoint>,
    /// `paper` (the 2025 paper's pre-tokenizers) or `recommended` (the authors' later ones).
    #[serde(default = "paper")]
    pub config: Preset,
    /// Most space-separated words in one token.
    #[serde(default = "four")]
    pub max_words: usize,
    /// Reject superword tokens that contain `: `.
    #[serde(default = "yes")]
    pub forbid_colon_space: bool,
    /// As in [`BpeTrainer`].
    #[serde(default)]
    pub min_frequency: u64,
    /// As in [`BpeTrainer`].
    #[serde(default)]
    pub special_tokens: Vec<String>,
    /// As in [`BpeTrainer`].
    #[serde(default = "yes")]
    pub full_alphabet: bool,
    /// As in [`BpeTrainer`]: the base is stage 1, superword merges are learned on top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extend: Option<String>,
}

fn paper() -> Preset {
    Preset::Paper
}

/// Where SuperBPE's stage 1 stops.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TransitionPoint {
    /// This many merges.
    Merges(usize),
    /// This fraction of the vocabulary size, in merges (`0 < f < 1`), or a whole number of
    /// merges written as a float.
    Fraction(f64),
}

impl TransitionPoint {
    /// The stage-1 merge count for a vocabulary of `vocab_size`.
    ///
    /// # Errors
    /// [`Error::Config`] for a negative, fractional (≥ 1) or non-finite value.
    pub fn merges(self, vocab_size: usize) -> Result<usize> {
        match self {
            Self::Merges(n) => Ok(n),
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss,
                reason = "checked: a fraction of a vocabulary size, or a whole count"
            )]
            Self::Fraction(f) if f > 0.0 && f < 1.0 => Ok((f * vocab_size as f64).round() as usize),
            Self::Fraction(f) if f >= 1.0 && f.fract() == 0.0 && f < 1e15 => Ok(f as usize),
            Self::Fraction(f) => Err(Error::Config(format!(
                "transition point {f} must be a merge count (24000) or a fraction of the vocab \
                 size between 0 and 1 (0.75)"
            ))),
        }
    }
}

/// Parameters of [`TrainerConfig::Charbpe`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharBpeTrainer {
    /// Exact final vocabulary size (padding fills what training leaves).
    pub vocab_size: usize,
    /// Inclusive cap on token length in bytes (KL3M: 3 for 4k and 8k, 4 for 16k).
    pub max_token_chars: usize,
    /// Ids reserved for whitespace-run padding tokens (KL3M reserves 13).
    #[serde(default)]
    pub pad_tokens: usize,
    /// As in [`BpeTrainer`].
    #[serde(default = "gpt2")]
    pub pretokenizer: String,
    /// As in [`BpeTrainer`].
    #[serde(default)]
    pub min_frequency: u64,
    /// As in [`BpeTrainer`].
    #[serde(default)]
    pub special_tokens: Vec<String>,
    /// As in [`BpeTrainer`].
    #[serde(default = "yes")]
    pub full_alphabet: bool,
}

/// Parameters of [`TrainerConfig::Supertoken`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupertokenTrainer {
    /// Final vocabulary size.
    pub vocab_size: usize,
    /// Seed of the chunk sampling (one stream per document).
    #[serde(default)]
    pub seed: u64,
    /// Chunk lengths in chars with weights, `"4-5:0.2,6-9:0.8"` (default: TokenAdapt's table).
    #[serde(default)]
    pub chunk_distribution: Option<String>,
    /// As in [`BpeTrainer`].
    #[serde(default)]
    pub min_frequency: u64,
    /// As in [`BpeTrainer`].
    #[serde(default)]
    pub special_tokens: Vec<String>,
    /// As in [`BpeTrainer`].
    #[serde(default)]
    pub max_token_length: Option<usize>,
    /// As in [`BpeTrainer`].
    #[serde(default)]
    pub max_token_chars: Option<usize>,
    /// As in [`BpeTrainer`].
    #[serde(default = "yes")]
    pub full_alphabet: bool,
}

/// The length cap of the two ways to give one (HF's off-by-one or inclusive).
pub(super) fn length_cap(
    max_token_length: Option<usize>,
    max_token_chars: Option<usize>,
) -> Result<LengthCap> {
    match (max_token_length, max_token_chars) {
        (Some(_), Some(_)) => Err(Error::Config(
            "give either max_token_length (HF semantics) or max_token_chars (inclusive cap), not both"
                .into(),
        )),
        (Some(n), None) => Ok(LengthCap::Hf(n)),
        (None, Some(n)) => Ok(LengthCap::Inclusive(n)),
        (None, None) => Ok(LengthCap::None),
    }
}

impl TrainerConfig {
    /// The algorithm's name: `bpe`, `superbpe`, `charbpe` or `supertoken`.
    #[must_use]
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::Bpe(_) => "bpe",
            Self::Superbpe(_) => "superbpe",
            Self::Charbpe(_) => "charbpe",
            Self::Supertoken(_) => "supertoken",
        }
    }

    /// Parses the JSON form (a recipe, the `trainer` of a `tokkit.json`).
    ///
    /// # Errors
    /// [`Error::Config`] naming what is wrong (unknown algorithm or field, a wrong type, and
    /// which parameter).
    pub fn from_json(text: &str) -> Result<Self> {
        let bad = |why: String| Error::Config(format!("invalid trainer configuration: {why}"));
        let mut value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let algorithm = value
            .as_object_mut()
            .and_then(|o| o.remove("algorithm"))
            .ok_or_else(|| bad("an object with an \"algorithm\" is expected".into()))?;
        // Each variant is read on its own, so that an error names the parameter.
        fn read<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T> {
            serde_path_to_error::deserialize(value).map_err(|e| {
                let path = e.path().to_string();
                Error::Config(format!(
                    "invalid trainer configuration: {}{}",
                    if path == "." {
                        String::new()
                    } else {
                        format!("{path}: ")
                    },
                    e.into_inner()
                ))
            })
        }
        match algorithm.as_str() {
            Some("bpe") => Ok(Self::Bpe(read(value)?)),
            Some("superbpe") => Ok(Self::Superbpe(read(value)?)),
            Some("charbpe") => Ok(Self::Charbpe(read(value)?)),
            Some("supertoken") => Ok(Self::Supertoken(read(value)?)),
            _ => Err(bad(format!(
                "unknown algorithm {algorithm}: choose bpe, superbpe, charbpe or supertoken"
            ))),
        }
    }

    /// The configuration as JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("trainer configurations serialise")
    }

    /// What the trainer runs: the merge-loop settings, the pre-tokenizer counting uses, the one
    /// the tokenizer is used with, and (charbpe) the exact size to pad to. Checks every
    /// parameter that does not depend on the corpus.
    pub(super) fn plan(&self) -> Result<Plan> {
        let plan = match self {
            Self::Bpe(t) => {
                let pre = Pretokenizer::from_spec(&t.pretokenizer)?;
                Plan {
                    bpe: BpeConfig {
                        vocab_size: t.vocab_size,
                        min_frequency: t.min_frequency,
                        special_tokens: t.special_tokens.clone(),
                        length_cap: length_cap(t.max_token_length, t.max_token_chars)?,
                        full_alphabet: t.full_alphabet,
                    },
                    count_with: Pretokenizer::from_spec(&t.pretokenizer)?,
                    use_with: pre,
                    pad_to: None,
                }
            }
            Self::Charbpe(t) => {
                if t.pad_tokens >= t.vocab_size {
                    return Err(Error::Config(format!(
                        "pad_tokens ({}) must be smaller than the vocab size ({})",
                        t.pad_tokens, t.vocab_size
                    )));
                }
                Plan {
                    bpe: BpeConfig {
                        vocab_size: t.vocab_size - t.pad_tokens,
                        min_frequency: t.min_frequency,
                        special_tokens: t.special_tokens.clone(),
                        length_cap: LengthCap::Inclusive(t.max_token_chars),
                        full_alphabet: t.full_alphabet,
                    },
                    count_with: Pretokenizer::from_spec(&t.pretokenizer)?,
                    use_with: Pretokenizer::from_spec(&t.pretokenizer)?,
                    pad_to: Some(t.vocab_size),
                }
            }
            Self::Supertoken(t) => {
                let distribution = match &t.chunk_distribution {
                    Some(spec) => ChunkDistribution::parse(spec)?,
                    None => ChunkDistribution::default(),
                };
                Plan {
                    bpe: BpeConfig {
                        vocab_size: t.vocab_size,
                        min_frequency: t.min_frequency,
                        special_tokens: t.special_tokens.clone(),
                        length_cap: length_cap(t.max_token_length, t.max_token_chars)?,
                        full_alphabet: t.full_alphabet,
                    },
                    // Random chunks for counting; no split at inference (a text is one word).
                    count_with: Pretokenizer::random_chunks(Chunker {
                        distribution,
                        seed: t.seed,
                    }),
                    use_with: Pretokenizer::from_spec("none")?,
                    pad_to: None,
                }
            }
            Self::Superbpe(_) => {
                return Err(Error::Config("SuperBPE runs its own two-stage plan".into()));
            }
        };
        plan.bpe.validate()?;
        Ok(plan)
    }

    pub(super) fn superbpe(t: &SuperBpeTrainer) -> Result<SuperBpeConfig> {
        let config = SuperBpeConfig {
            bpe: BpeConfig {
                vocab_size: t.vocab_size,
                min_frequency: t.min_frequency,
                special_tokens: t.special_tokens.clone(),
                length_cap: LengthCap::None,
                full_alphabet: t.full_alphabet,
            },
            transition_merges: t
                .transition_point
                .ok_or_else(|| {
                    Error::Config("SuperBPE needs a transition point".into()).with_hint(
                        "give {transition_point} (a merge count, or a fraction such as 0.75)",
                    )
                })?
                .merges(t.vocab_size)?,
            preset: t.config,
            max_words: t.max_words,
            forbid_colon_space: t.forbid_colon_space,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks every parameter that does not depend on the corpus (also done by [`train`]).
    ///
    /// # Errors
    /// [`Error::Config`] or [`Error::InvalidRegex`] naming the parameter.
    pub fn validate(&self) -> Result<()> {
        if self.extends().is_some() {
            return super::extend::settings(self).map(drop);
        }
        match self {
            Self::Superbpe(t) => Self::superbpe(t).map(drop),
            _ => self.plan().map(drop),
        }
    }

    /// The base tokenizer this configuration extends, as named by the user.
    #[must_use]
    pub fn extends(&self) -> Option<&str> {
        match self {
            Self::Bpe(t) => t.extend.as_deref(),
            Self::Superbpe(t) => t.extend.as_deref(),
            _ => None,
        }
    }
}

/// What a BPE-family trainer other than SuperBPE runs (see [`TrainerConfig::plan`]).
pub(super) struct Plan {
    bpe: BpeConfig,
    pub(super) count_with: Pretokenizer,
    use_with: Pretokenizer,
    pad_to: Option<usize>,
}

impl Plan {
    /// The merge loop on the counted words (sorted by bytes), then padding; returns the model
    /// and the pre-tokenizer it is used with.
    pub(super) fn train(
        self,
        words: Vec<(Box<[u8]>, u64)>,
        totals: Totals,
        progress: &dyn Progress,
        cancel: &CancelToken,
        report: &mut TrainReport,
    ) -> Result<(BpeModel, Pretokenizer)> {
        let mut model = train_bpe_from_words(words, totals, &self.bpe, progress, cancel, report)?;
        if let Some(target) = self.pad_to {
            charbpe::pad_to(&mut model, target)?;
            report.vocab_size = model.tokens.len();
        }
        Ok((model, self.use_with))
    }
}

/// Texts pushed to the trainer in batches (a Python iterable, a stream).
pub trait TextBatches: Send {
    /// The next batch, or `None` at the end.
    ///
    /// # Errors
    /// Whatever reading the source fails with.
    fn next_batch(&mut self) -> Result<Option<Vec<String>>>;

    /// Starts again from the first text (SuperBPE reads its corpus twice).
    ///
    /// # Errors
    /// [`Error::Config`] for a source that can be read once only (the default).
    fn rewind(&mut self) -> Result<()> {
        Err(Error::Config(
            "SuperBPE reads the corpus twice, and these texts can be read only once".into(),
        )
        .with_hint("give files, or texts that can be iterated twice (a list, a dataset)"))
    }
}

/// What to train on: files (paths, directories, globs; `.gz`, JSON lines) and/or batches of
/// texts, each line or text one sequence.
#[derive(Default)]
pub struct Corpus<'a> {
    /// Paths, directories or globs.
    pub files: Vec<String>,
    /// The JSON-lines field holding the text (default `text`).
    pub text_field: Option<String>,
    /// Fail on invalid UTF-8 instead of skipping (and counting) such lines.
    pub strict_utf8: bool,
    /// Texts pushed in batches, counted after the files.
    pub texts: Option<&'a mut dyn TextBatches>,
}

impl Corpus<'_> {
    /// Just these files.
    pub fn files<S: Into<String>>(files: impl IntoIterator<Item = S>) -> Self {
        Self {
            files: files.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Starts the texts again from the first one, for a second reading of the corpus.
    pub(super) fn rewind(&mut self) -> Result<()> {
        match self.texts.as_deref_mut() {
            Some(texts) => texts.rewind(),
            None => Ok(()),
        }
    }

    /// Counts every sequence into one counter, filling the corpus part of `report`.
    pub(crate) fn count(
        &mut self,
        pre: &(impl Splitter + Sync),
        progress: &dyn Progress,
        cancel: &CancelToken,
        report: &mut TrainReport,
    ) -> Result<Counter> {
        if self.files.is_empty() && self.texts.is_none() {
            return Err(Error::Corpus(
                "no corpus given: pass files (paths, directories, globs) or texts".into(),
            ));
        }
        let started = Instant::now();
        let mut counter = Counter::default();
        if !self.files.is_empty() {
            let files = corpus::resolve(&self.files, self.text_field.as_deref())?;
            report.corpus_files = files.iter().map(|f| f.path.display().to_string()).collect();
            let (c, sha) =
                word_counts::count_files(files, pre, self.strict_utf8, progress, cancel)?;
            counter = c;
            report.corpus_sha256 = sha;
        }
        if let Some(texts) = self.texts.as_deref_mut() {
            let mut hasher = StreamHasher::default();
            while let Some(batch) = texts.next_batch()? {
                cancel.check()?;
                batch.iter().for_each(|t| hasher.update(t.as_bytes()));
                let batch_counter = Counter::of_texts(pre, &batch, counter.sequences);
                counter = counter.merge(batch_counter);
            }
            if report.corpus_sha256.is_empty() {
                report.corpus_sha256 = hasher.hex();
            }
        }
        report.count_seconds = started.elapsed().as_secs_f64();
        report.corpus_bytes = counter.bytes;
        Ok(counter)
    }
}

/// A trained tokenizer: the model, the pre-tokenizer to use it with, and what training did.
#[derive(Debug)]
pub struct Trained {
    /// Tokens, merges, specials, padding.
    pub model: BpeModel,
    /// The pre-tokenizer the tokenizer is used with (not always the one counting used).
    pub pretokenizer: Pretokenizer,
    /// Corpus, counts, timings, stop reason (and SuperBPE's stages).
    pub report: TrainReport,
    /// The configuration it was trained with.
    pub config: TrainerConfig,
}

/// Trains `config` on `corpus` in the current rayon pool (see [`super::with_threads`]).
///
/// # Errors
/// [`Error::Config`] for bad parameters (before reading anything), corpus and IO errors,
/// [`Error::Cancelled`].
pub fn train(
    config: &TrainerConfig,
    mut corpus: Corpus<'_>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Trained> {
    if let Some(base) = config.extends() {
        return Err(Error::Config(format!(
            "this configuration extends {base:?}: train it with the base tokenizer's file (train::extend::extend)"
        )));
    }
    let mut report = TrainReport::default();
    let (model, pretokenizer) = match config {
        TrainerConfig::Superbpe(t) => {
            let config = TrainerConfig::superbpe(t)?;
            superbpe::train_corpus(&mut corpus, &config, progress, cancel, &mut report)?
        }
        _ => {
            let plan = config.plan()?;
            let counter = corpus.count(&plan.count_with, progress, cancel, &mut report)?;
            let totals = Totals::of(&counter);
            plan.train(counter.into_sorted(), totals, progress, cancel, &mut report)?
        }
    };
    Ok(Trained {
        model,
        pretokenizer,
        report,
        config: config.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_round_trip_and_reject_unknown_fields() {
        let text = r#"{"algorithm": "superbpe", "vocab_size": 8000, "transition_point": 0.75}"#;
        let config = TrainerConfig::from_json(text).unwrap();
        let TrainerConfig::Superbpe(t) = &config else {
            panic!("{config:?}")
        };
        assert_eq!(t.transition_point.unwrap().merges(8000).unwrap(), 6000);
        assert_eq!(t.config, Preset::Paper);
        assert_eq!(TrainerConfig::from_json(&config.to_json()).unwrap(), config);
        let err = TrainerConfig::from_json(r#"{"algorithm": "bpe", "vocab_size": 9, "vocab": 1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `vocab`"), "{err}");
        let err = TrainerConfig::from_json(r#"{"algorithm": "wordpiece", "vocab_size": 9}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown algorithm \"wordpiece\""), "{err}");
        let err = TrainerConfig::from_json(
            r#"{"algorithm": "charbpe", "vocab_size": 9, "max_token_chars": 3, "pad_tokens": -1}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("pad_tokens: invalid value: integer `-1`"),
            "{err}"
        );
        assert_eq!(
            TransitionPoint::Merges(24_000).merges(32_000).unwrap(),
            24_000
        );
        assert_eq!(
            TransitionPoint::Fraction(24_000.0).merges(32_000).unwrap(),
            24_000
        );
        assert!(TransitionPoint::Fraction(1.5).merges(32_000).is_err());
    }

    #[test]
    fn parameters_are_checked_before_the_corpus_is_read() {
        let bad = TrainerConfig::from_json(r#"{"algorithm": "bpe", "vocab_size": 100}"#).unwrap();
        let err = train(
            &bad,
            Corpus::files(["/nonexistent"]),
            &crate::progress::Silent,
            &CancelToken::new(),
        )
        .unwrap_err();
        assert!(
            matches!(err.split_hint(), (Error::Config(_), Some(_))),
            "{err}"
        );
    }
}
