//! SuperBPE (Liu et al., "SuperBPE: Space Travel for Language Models", 2025): byte-level BPE in
//! two stages that share one merge list.
//!
//! Stage 1 is the classic trainer with a whitespace-aware pre-tokenizer, run until it has
//! learned `transition_merges` merges (all of them are kept: no header off-by-one, no skipped
//! replays). Stage 2 re-reads the corpus with a pre-tokenizer that does not split on whitespace,
//! deduplicates the resulting spans, segments each distinct span with the stage-1 merges (rank
//! order over the whole span, exactly as a BPE encoder applies them at inference), and continues
//! merging from there. New tokens are filtered as in the paper: none may contain a colon followed
//! by a space, and none may hold more than `max_words` space-separated words; a rejected pair is
//! dropped for good.
//!
//! Two pinned configurations exist (design/training.md §3): the 2025 paper's
//! (`paper`: digits isolated, digit groups of three from the right) and the later recommended
//! one (`recommended`: o200k-style stage 1, a stage-2 pattern that still isolates digit groups,
//! punctuation runs and runs of spaces). tokkit's default is `paper`: it reproduces the
//! published models and compressed best on our English benchmark (`docs/benchmarks.md`).

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bpe::{self, Hooks, SegmentedWords};
use super::wire::Totals;
use super::{BpeConfig, BpeModel, StopReason, TokenId, TrainReport, dedup};
use crate::cancel::CancelToken;
use crate::encode::BpeEncoder;
use crate::error::{Error, Result};
use crate::pretokenize::Pretokenizer;
use crate::progress::Progress;

/// Stage-1 pattern of the paper configuration (after `Digits`).
pub const PAPER_STAGE1: &str = r"(?=(\d{3})+(?!\d))| ?\p{L}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// Stage-2 pattern of the paper configuration (after `Digits`).
pub const PAPER_STAGE2: &str = r"(?=(\d{3})+(?!\d))";
/// Stage-1 pattern of the recommended configuration (o200k without contractions).
pub const RECOMMENDED_STAGE1: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+",
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*",
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
);
/// Stage-2 pattern of the recommended configuration.
pub const RECOMMENDED_STAGE2: &str = r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]{2,}[\r\n/]*| +(?!\S)";

/// A pinned SuperBPE configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// The 2025 paper (released 8B/11B models): `Digits` then the stage patterns.
    Paper,
    /// The later recommended configuration (`superbpe-tokenizer-128k`).
    Recommended,
}

impl Preset {
    /// `paper` or `recommended`.
    ///
    /// # Errors
    /// [`Error::Config`] for any other name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "paper" => Ok(Self::Paper),
            "recommended" => Ok(Self::Recommended),
            other => Err(Error::Config(format!(
                "unknown SuperBPE configuration {other:?}: use paper (the default, the 2025 paper's) or recommended"
            ))),
        }
    }

    /// The stage-1 and stage-2 pre-tokenizers.
    ///
    /// # Errors
    /// Never for the built-in patterns; typed for safety.
    pub fn pretokenizers(self) -> Result<(Pretokenizer, Pretokenizer)> {
        Ok(match self {
            Self::Paper => (
                Pretokenizer::regex_named("superbpe-paper-stage1", PAPER_STAGE1)?
                    .with_isolated_digits(),
                Pretokenizer::regex_named("superbpe-paper-stage2", PAPER_STAGE2)?
                    .with_isolated_digits(),
            ),
            Self::Recommended => (
                Pretokenizer::regex_named("superbpe-recommended-stage1", RECOMMENDED_STAGE1)?,
                Pretokenizer::regex_named("superbpe-recommended-stage2", RECOMMENDED_STAGE2)?,
            ),
        })
    }
}

/// Parameters of SuperBPE training.
#[derive(Clone, Debug, Serialize)]
pub struct SuperBpeConfig {
    /// Final vocabulary and shared settings (specials, alphabet, `min_frequency`, caps).
    pub bpe: BpeConfig,
    /// Merges learned in stage 1 (the transition point, counted in merges).
    pub transition_merges: usize,
    /// Which pinned pre-tokenizers to use.
    pub preset: Preset,
    /// Most space-separated words in a stage-2 token (the paper's 4).
    pub max_words: usize,
    /// Reject stage-2 tokens that contain `: ` (the paper's colon rule).
    pub forbid_colon_space: bool,
}

impl SuperBpeConfig {
    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::Config`] with a hint.
    pub fn validate(&self) -> Result<()> {
        self.bpe.validate()?;
        let base =
            dedup(&self.bpe.special_tokens).len() + if self.bpe.full_alphabet { 256 } else { 0 };
        if base + self.transition_merges >= self.bpe.vocab_size {
            return Err(Error::Config(format!(
                "transition point {} (merges) must leave room below the vocab size {}: with {base} \
                 alphabet and special ids, use a transition point below {}",
                self.transition_merges,
                self.bpe.vocab_size,
                self.bpe.vocab_size.saturating_sub(base)
            )));
        }
        self.check_filters()
    }

    /// Checks the superword filters alone (an extension has no transition point to check).
    ///
    /// # Errors
    /// [`Error::Config`] for `max_words` of 0.
    pub fn check_filters(&self) -> Result<()> {
        if self.max_words == 0 {
            return Err(Error::Config("max_words must be at least 1".into()));
        }
        Ok(())
    }

    /// Whether a stage-2 token may be created.
    #[must_use]
    pub fn allows(&self, bytes: &[u8]) -> bool {
        if self.forbid_colon_space && bytes.windows(2).any(|w| w == b": ") {
            return false;
        }
        bytes
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty())
            .count()
            <= self.max_words
    }
}

/// What SuperBPE training did, beyond the usual report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SuperBpeReport {
    /// Merges inherited from stage 1.
    pub stage1_merges: usize,
    /// Merges learned in stage 2.
    pub stage2_merges: usize,
    /// Distinct stage-2 spans.
    pub stage2_distinct_spans: usize,
    /// Bytes in the distinct stage-2 spans.
    pub stage2_span_bytes: u64,
    /// Candidate pairs the filters rejected.
    pub rejected_pairs: usize,
    /// Seconds in stage 1 (counting and merging).
    pub stage1_seconds: f64,
    /// Seconds counting stage-2 spans.
    pub stage2_count_seconds: f64,
    /// Seconds segmenting the spans with the stage-1 merges.
    pub stage2_segment_seconds: f64,
    /// Seconds in the stage-2 merge loop.
    pub stage2_merge_seconds: f64,
}

/// The encoder that segments stage-2 spans with the stage-1 merges, rank order over the whole
/// span.
///
/// # Errors
/// Never for a model the trainer made; typed for safety.
pub(crate) fn span_encoder(stage1: &BpeModel) -> Result<BpeEncoder> {
    BpeEncoder::new(
        stage1.tokens.clone(),
        Vec::new(),
        &stage1.merges,
        Pretokenizer::from_spec("none")?,
    )
}

/// Segments each distinct span with `model`'s merges, in parallel, in span order.
fn segment(
    spans: Vec<(Box<[u8]>, u64)>,
    model: &BpeModel,
    cancel: &CancelToken,
) -> Result<Vec<(Vec<TokenId>, u64)>> {
    let encoder = span_encoder(model)?;
    spans
        .into_par_iter()
        .map(|(span, count)| {
            cancel.check()?;
            let mut ids = Vec::with_capacity(span.len() / 2);
            encoder.encode_piece(&span, &mut ids);
            Ok((ids, count))
        })
        .collect()
}

/// Stage 1 on the stage-1 words (sorted by bytes): classic BPE up to the transition point.
/// Fills the corpus counts of `report`.
///
/// # Errors
/// [`Error::Corpus`] if the corpus is empty or stage 1 runs out of pairs before the transition
/// point; [`Error::Cancelled`].
pub(super) fn stage1(
    words: Vec<(Box<[u8]>, u64)>,
    totals: Totals,
    config: &SuperBpeConfig,
    progress: &dyn Progress,
    cancel: &CancelToken,
    report: &mut TrainReport,
) -> Result<BpeModel> {
    let base =
        dedup(&config.bpe.special_tokens).len() + if config.bpe.full_alphabet { 256 } else { 0 };
    let stage1_config = BpeConfig {
        vocab_size: base + config.transition_merges,
        ..config.bpe.clone()
    };
    let mut stage1_report = TrainReport::default();
    let stage1 = super::train_bpe_from_words(
        words,
        totals,
        &stage1_config,
        progress,
        cancel,
        &mut stage1_report,
    )?;
    if stage1.merges.len() < config.transition_merges {
        return Err(Error::Corpus(format!(
            "stage 1 learned only {} merges before running out of pairs, short of the transition point {}",
            stage1.merges.len(),
            config.transition_merges
        ))
        .with_hint("lower {transition_point} or give more text"));
    }
    report.sequences = stage1_report.sequences;
    report.skipped_invalid_utf8 = stage1_report.skipped_invalid_utf8;
    report.pieces = stage1_report.pieces;
    Ok(stage1)
}

/// Stage 2: the merge loop continued from `stage1` on the distinct spans (in byte order of
/// their text) segmented into stage-1 ids, under the superword filters. Fills the rest of
/// `report`; `sreport` has the stage-1 and counting parts already.
///
/// # Errors
/// [`Error::Corpus`] if stage 2 finds nothing to merge; [`Error::Cancelled`].
pub(super) fn stage2(
    stage1: BpeModel,
    words: SegmentedWords,
    config: &SuperBpeConfig,
    progress: &dyn Progress,
    cancel: &CancelToken,
    report: &mut TrainReport,
    mut sreport: SuperBpeReport,
) -> Result<BpeModel> {
    sreport.stage1_merges = stage1.merges.len();
    report.distinct_words = words.len();
    let started = Instant::now();
    let filter = |bytes: &[u8]| config.allows(bytes);
    let hooks = Hooks {
        filter: Some(&filter),
    };
    let trained = bpe::continue_from(stage1, words, &config.bpe, &hooks, progress, cancel)?;
    sreport.stage2_merge_seconds = started.elapsed().as_secs_f64();
    sreport.stage2_merges = trained.model.merges.len() - sreport.stage1_merges;
    sreport.rejected_pairs = trained.rejected;
    if sreport.stage2_merges == 0 && trained.stop != StopReason::VocabSizeReached {
        return Err(Error::Corpus(
            "stage 2 found no pair to merge: the stage-2 spans are all single tokens after stage 1"
                .into(),
        )
        .with_hint("lower {transition_point} or give more text"));
    }
    report.merge_seconds =
        sreport.stage1_seconds - report.count_seconds + sreport.stage2_merge_seconds;
    report.corpus_tokens = trained.corpus_tokens;
    report.merges = trained.model.merges.len();
    report.vocab_size = trained.model.tokens.len();
    report.stop_reason = Some(trained.stop);
    report.threads = rayon::current_num_threads();
    report.superbpe = Some(sreport);
    Ok(trained.model)
}

/// Trains SuperBPE on `corpus`, read twice (files re-read, texts iterated again), filling
/// `report` (its `superbpe` part included). Returns the model and the stage-2 pre-tokenizer
/// (the one the tokenizer must use at inference). Called by [`super::train`].
///
/// # Errors
/// Configuration, corpus and IO errors; [`Error::Config`] for texts that cannot be iterated
/// twice; [`Error::Corpus`] if stage 1 runs out of pairs before the transition point or stage 2
/// finds nothing to merge; [`Error::Cancelled`].
pub(super) fn train_corpus(
    corpus: &mut super::Corpus<'_>,
    config: &SuperBpeConfig,
    progress: &dyn Progress,
    cancel: &CancelToken,
    report: &mut TrainReport,
) -> Result<(BpeModel, Pretokenizer)> {
    config.validate()?;
    let (stage1_pre, stage2_pre) = config.preset.pretokenizers()?;
    let mut sreport = SuperBpeReport::default();

    // Stage 1: classic BPE up to the transition point.
    let started = Instant::now();
    let counter = corpus.count(&stage1_pre, progress, cancel, report)?;
    let totals = Totals::of(&counter);
    let stage1 = stage1(
        counter.into_sorted(),
        totals,
        config,
        progress,
        cancel,
        report,
    )?;
    sreport.stage1_seconds = started.elapsed().as_secs_f64();

    // Stage 2: distinct whitespace-crossing spans, segmented with the stage-1 merges.
    let started = Instant::now();
    corpus.rewind()?;
    let spans = corpus.count(&stage2_pre, progress, cancel, &mut TrainReport::default())?;
    sreport.stage2_count_seconds = started.elapsed().as_secs_f64();
    let spans = spans.into_sorted();
    sreport.stage2_distinct_spans = spans.len();
    sreport.stage2_span_bytes = spans.iter().map(|(s, _)| s.len() as u64).sum();
    let started = Instant::now();
    let words = SegmentedWords::from_words(segment(spans, &stage1, cancel)?)?;
    sreport.stage2_segment_seconds = started.elapsed().as_secs_f64();
    let model = stage2(stage1, words, config, progress, cancel, report, sreport)?;
    Ok((model, stage2_pre))
}

#[cfg(test)]
mod tests;
