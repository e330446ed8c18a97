//! Trainers and what they share: configuration, the trained model, the training report; the
//! entry point that counts a corpus and trains on it is [`trainer::train`].

pub mod bpe;
pub mod charbpe;
pub mod extend;
pub mod sharded;
pub mod superbpe;
pub mod trainer;
pub mod wire;

pub use trainer::{
    BpeTrainer, CharBpeTrainer, Corpus, SuperBpeTrainer, SupertokenTrainer, TextBatches, Trained,
    TrainerConfig, TransitionPoint, train,
};

use std::time::Instant;

use serde::Serialize;

use crate::byte_level;
use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::word_counts::Counter;

/// Token ids are dense `u32`s from 0.
pub type TokenId = u32;

/// How long a token may get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", content = "value", rename_all = "snake_case")]
pub enum LengthCap {
    /// No cap.
    #[default]
    None,
    /// HF's `max_token_length`, off-by-one included: the longest token has
    /// `max(2, value - 1)` symbols (bytes, for byte-level training).
    Hf(usize),
    /// A token of L symbols (bytes, for byte-level training) is allowed iff L <= value.
    Inclusive(usize),
}

impl LengthCap {
    /// Whether a merged symbol of `len` base symbols may be formed (checked when a pair is
    /// created by a merge; HF does not check the initial pairs).
    #[must_use]
    pub fn allows(self, len: usize) -> bool {
        match self {
            Self::None => true,
            Self::Hf(max) => len < max,
            Self::Inclusive(max) => len <= max,
        }
    }

    /// Whether the initial pairs (two base symbols) are checked too.
    #[must_use]
    pub fn checks_initial_pairs(self) -> bool {
        matches!(self, Self::Inclusive(_))
    }
}

/// Parameters of byte-level BPE training (HF `BpeTrainer` semantics).
#[derive(Clone, Debug, Serialize)]
pub struct BpeConfig {
    /// Final vocabulary size, counting special tokens, the alphabet and merges.
    pub vocab_size: usize,
    /// Pairs seen fewer times than this are never merged; training stops at the first such
    /// pair (0 and 1 mean no limit).
    pub min_frequency: u64,
    /// Special tokens, given ids `0..k` in this order (duplicates skipped).
    pub special_tokens: Vec<String>,
    /// Token length cap.
    pub length_cap: LengthCap,
    /// Start from all 256 bytes (HF's `initial_alphabet=ByteLevel.alphabet()`); otherwise only
    /// the bytes that occur in the corpus.
    pub full_alphabet: bool,
}

impl Default for BpeConfig {
    fn default() -> Self {
        Self {
            vocab_size: 32_000,
            min_frequency: 0,
            special_tokens: Vec::new(),
            length_cap: LengthCap::None,
            full_alphabet: true,
        }
    }
}

impl BpeConfig {
    /// Checks the parameters that do not depend on the corpus.
    ///
    /// # Errors
    /// [`Error::Config`] with a hint when a value is out of range.
    pub fn validate(&self) -> Result<()> {
        let specials = dedup(&self.special_tokens).len();
        let alphabet = if self.full_alphabet { 256 } else { 1 };
        if self.vocab_size < alphabet + specials {
            return Err(Error::Config(format!(
                "vocab size {} is smaller than the byte alphabet ({alphabet}) plus {specials} special token(s)",
                self.vocab_size,
            ))
            .with_hint(format!("give {{vocab_size}} {} or more", alphabet + specials)));
        }
        if let Some(t) = self.special_tokens.iter().find(|t| t.is_empty()) {
            return Err(Error::Config(format!(
                "special token {t:?} is empty; remove it"
            )));
        }
        self.check_length_cap()
    }

    /// Checks the length cap alone (an extension's size is checked against its base instead).
    ///
    /// # Errors
    /// [`Error::Config`] for a cap of 0.
    pub fn check_length_cap(&self) -> Result<()> {
        match self.length_cap {
            LengthCap::Hf(0) | LengthCap::Inclusive(0) => Err(Error::Config(
                "a token length cap must be at least 1".into(),
            )),
            _ => Ok(()),
        }
    }
}

pub(crate) fn dedup(tokens: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    tokens
        .iter()
        .filter(|t| seen.insert(t.as_str()))
        .cloned()
        .collect()
}

/// Why the merge loop stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The vocabulary reached the requested size.
    VocabSizeReached,
    /// No pair is left to merge (the corpus is too small for the requested size).
    NoPairLeft,
    /// The most frequent pair is rarer than `min_frequency`.
    MinFrequency,
}

/// A trained byte-level BPE model.
#[derive(Clone, Debug)]
pub struct BpeModel {
    /// The bytes of every token, by id. Special tokens hold their UTF-8 text.
    pub tokens: Vec<Vec<u8>>,
    /// How many of the first ids are special tokens.
    pub num_special: usize,
    /// Merges `(left, right)` in rank order. Like HF, the list may hold the same rule twice when
    /// two pairs spell one string.
    pub merges: Vec<(TokenId, TokenId)>,
    /// How many of the last ids are padding: added (not learned) tokens that fill the
    /// vocabulary to an exact size (character-level BPE).
    pub num_padding: usize,
}

impl BpeModel {
    /// Whether `id` is an added token (special or padding) rather than a learned one.
    #[must_use]
    pub fn is_added(&self, id: TokenId) -> bool {
        let id = id as usize;
        id < self.num_special || id >= self.tokens.len() - self.num_padding
    }

    /// The vocabulary string of a token: added tokens as they are, others byte-level mapped.
    #[must_use]
    pub fn token_string(&self, id: TokenId) -> String {
        let bytes = &self.tokens[id as usize];
        if self.is_added(id) {
            String::from_utf8_lossy(bytes).into_owned()
        } else {
            byte_level::bytes_to_string(bytes)
        }
    }

    /// The special tokens, in id order.
    #[must_use]
    pub fn special_tokens(&self) -> Vec<String> {
        (0..self.num_special)
            .map(|i| self.token_string(i as TokenId))
            .collect()
    }
}

/// What happened during training, for `tokkit.json` and logs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TrainReport {
    /// sha256 (hex) of all corpus bytes read, in input order (after decompression).
    pub corpus_sha256: String,
    /// Bytes of the text trained on: whole lines, or the text fields of JSON lines; lines
    /// skipped as invalid text do not count (so the compression figure is of real text).
    pub corpus_bytes: u64,
    /// Input files, in the order read.
    pub corpus_files: Vec<String>,
    /// Sequences (lines or records) seen.
    pub sequences: u64,
    /// Sequences skipped as invalid UTF-8.
    pub skipped_invalid_utf8: u64,
    /// Pre-tokens counted, with multiplicity.
    pub pieces: u64,
    /// Distinct pre-tokens.
    pub distinct_words: usize,
    /// Tokens the training corpus encodes into with the trained model.
    pub corpus_tokens: u64,
    /// Merges learned.
    pub merges: usize,
    /// Final vocabulary size.
    pub vocab_size: usize,
    /// Why training stopped.
    pub stop_reason: Option<StopReason>,
    /// Seconds spent reading, pre-tokenizing and counting.
    pub count_seconds: f64,
    /// Seconds spent in the merge loop.
    pub merge_seconds: f64,
    /// Worker threads used.
    pub threads: usize,
    /// SuperBPE's stages, for SuperBPE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superbpe: Option<superbpe::SuperBpeReport>,
    /// The base and what was added to it, for an extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<extend::ExtensionReport>,
}

pub use crate::threads::{pool as thread_pool, with_threads};

/// Trains from word counts already gathered (files, iterators or both).
///
/// # Errors
/// [`Error::Corpus`] if there is no text, plus any error of [`bpe::train`].
pub fn train_bpe_from_counter(
    counter: Counter,
    config: &BpeConfig,
    progress: &dyn Progress,
    cancel: &CancelToken,
    report: &mut TrainReport,
) -> Result<BpeModel> {
    let totals = wire::Totals::of(&counter);
    train_bpe_from_words(
        counter.into_sorted(),
        totals,
        config,
        progress,
        cancel,
        report,
    )
}

/// Trains from distinct words sorted by bytes (one machine's counter, or shards' count tables
/// merged), with the totals counting saw.
///
/// # Errors
/// [`Error::Corpus`] if there is no text, plus any error of [`bpe::train`].
pub fn train_bpe_from_words(
    words: Vec<(Box<[u8]>, u64)>,
    totals: wire::Totals,
    config: &BpeConfig,
    progress: &dyn Progress,
    cancel: &CancelToken,
    report: &mut TrainReport,
) -> Result<BpeModel> {
    report.sequences += totals.sequences;
    report.skipped_invalid_utf8 += totals.skipped_invalid_utf8;
    report.pieces += totals.pieces;
    report.distinct_words = words.len();
    if words.is_empty() {
        let hint = if totals.skipped_invalid_utf8 > 0 {
            format!(
                "all {} lines were invalid UTF-8; convert the corpus to UTF-8",
                totals.skipped_invalid_utf8
            )
        } else {
            "give a corpus with some text".to_owned()
        };
        return Err(Error::Corpus(format!("the corpus is empty: {hint}")));
    }
    let started = Instant::now();
    let bpe::Trained {
        model,
        stop,
        corpus_tokens,
        ..
    } = bpe::train(words, config, progress, cancel)?;
    report.corpus_tokens = corpus_tokens;
    report.merge_seconds = started.elapsed().as_secs_f64();
    report.merges = model.merges.len();
    report.vocab_size = model.tokens.len();
    report.stop_reason = Some(stop);
    report.threads = rayon::current_num_threads();
    Ok(model)
}
