//! Sharded training: the corpus cut into shards that workers count on their own (a Ray task
//! each, driven from Python), their count tables ([`super::wire`]) merged exactly on the
//! driver, and then the merge loop single-node training runs, so the output is byte-identical
//! (design/training.md §8, "Sharded training").
//!
//! - [`plan`] cuts the resolved files into [`FileShard`]s: whole files, or byte ranges of large
//!   uncompressed files cut just after a newline. Where document numbers matter (supertoken
//!   chunking seeds each document's stream from its file and line), each range also gets the
//!   line it starts at.
//! - [`count_file_shard`] and [`count_texts`] count one shard (file bytes, or texts such as a
//!   Parquet row group) into a table, for one [`Stage`].
//! - [`train_from_tables`] merges the tables and trains; SuperBPE runs [`superbpe_stage1`] on
//!   the stage-1 tables, sends [`Stage1::model_bytes`] to the workers, which count and segment
//!   their stage-2 spans, and finishes with [`superbpe_stage2`].

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::bpe::SegmentedWords;
use super::superbpe::{self, SuperBpeConfig, SuperBpeReport};
use super::wire::{self, Table, Totals};
use super::{BpeModel, TokenId, TrainReport, Trained, TrainerConfig};
use crate::cancel::CancelToken;
use crate::corpus::{self, BlockReader, InputFile, StreamHasher};
use crate::error::{Error, Result};
use crate::pretokenize::Pretokenizer;
use crate::progress::{Progress, Silent};
use crate::word_counts::{self, Counter};

/// One shard of a file corpus: the bytes `start..end` of the `file`-th resolved file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileShard {
    /// The file, as resolved.
    pub path: String,
    /// Its index among the corpus's resolved files (document numbers use it).
    pub file: u64,
    /// First byte (0 for a compressed file, which is read whole).
    pub start: u64,
    /// One past the last byte (the size on disk for a compressed file).
    pub end: u64,
    /// The file's size on disk when planned: a file that changed since is refused.
    pub size: u64,
    /// The 1-based line at `start`, where document numbers matter; else unknown.
    pub first_line: Option<u64>,
}

impl FileShard {
    /// `path bytes start..end`, for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        format!("{} bytes {}..{}", self.path, self.start, self.end)
    }
}

/// What one counting pass counts.
pub enum Stage {
    /// The trainer's own pieces (SuperBPE: its stage-1 pieces).
    Words,
    /// SuperBPE's stage-2 spans, each with its segmentation under the stage-1 model.
    Spans(BpeModel),
}

impl Stage {
    /// `words` or `spans`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Words => "words",
            Self::Spans(_) => "spans",
        }
    }
}

/// What distinguishes the tables of one pass: the configuration and the stage. A worker's
/// table for anything else is refused by the driver.
fn fingerprint(config: &TrainerConfig, stage: &str) -> String {
    format!("{}\n{stage}", config.to_json())
}

/// Whether `config`'s counting numbers documents (so shards must know their first line).
fn numbers_documents(config: &TrainerConfig) -> bool {
    matches!(config, TrainerConfig::Supertoken(_))
}

/// The pre-tokenizer a pass counts with.
fn splitter(config: &TrainerConfig, stage: &Stage) -> Result<Pretokenizer> {
    if let Some(base) = config.extends() {
        return Err(Error::Config(format!(
            "extending {base:?} runs on one machine; sharded training covers new tokenizers"
        ))
        .with_hint("train the extension without a cluster"));
    }
    match (config, stage) {
        (TrainerConfig::Superbpe(t), _) => {
            let (stage1, stage2) = TrainerConfig::superbpe(t)?.preset.pretokenizers()?;
            Ok(if matches!(stage, Stage::Words) {
                stage1
            } else {
                stage2
            })
        }
        (_, Stage::Words) => Ok(config.plan()?.count_with),
        (_, Stage::Spans(_)) => Err(Error::Config(format!(
            "{} has no stage-2 spans; only SuperBPE counts them",
            config.algorithm()
        ))),
    }
}

/// Cuts the files of `inputs` (paths, directories, globs) into shards of about `shard_bytes`.
///
/// # Errors
/// Those of [`corpus::resolve`]; [`Error::Io`] while finding line boundaries;
/// [`Error::Config`] for a `shard_bytes` of 0.
pub fn plan(
    config: &TrainerConfig,
    inputs: &[String],
    text_field: Option<&str>,
    shard_bytes: u64,
) -> Result<Vec<FileShard>> {
    if shard_bytes == 0 {
        return Err(Error::Config("shard_bytes must be positive".into()));
    }
    config.validate()?;
    splitter(config, &Stage::Words)?;
    let lines = numbers_documents(config);
    let mut shards = Vec::new();
    for (i, file) in corpus::resolve(inputs, text_field)?.into_iter().enumerate() {
        let path = file.path.display().to_string();
        let cuts = if file.gzip || file.size <= shard_bytes {
            vec![0, file.size]
        } else {
            cut_points(&file, shard_bytes)?
        };
        let first_lines = if lines && cuts.len() > 2 {
            line_starts(&file, &cuts)?
        } else {
            vec![1; cuts.len() - 1]
        };
        let whole = cuts.len() == 2;
        for (k, pair) in cuts.windows(2).enumerate() {
            shards.push(FileShard {
                path: path.clone(),
                file: i as u64,
                start: pair[0],
                end: pair[1],
                size: file.size,
                first_line: (lines || whole).then_some(first_lines[k]),
            });
        }
    }
    Ok(shards)
}

/// `0`, the byte after the first newline at or past each multiple of `step`, and the size.
fn cut_points(file: &InputFile, step: u64) -> Result<Vec<u64>> {
    let io = |source| Error::Io {
        path: file.path.clone(),
        source,
    };
    let mut f = File::open(&file.path).map_err(io)?;
    let mut cuts = vec![0];
    let mut buf = vec![0u8; 1 << 16];
    let mut at = step;
    while at < file.size {
        f.seek(SeekFrom::Start(at - 1)).map_err(io)?;
        let mut pos = at - 1;
        let cut = loop {
            let n = f.read(&mut buf).map_err(io)?;
            if n == 0 {
                break file.size;
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                break pos + i as u64 + 1;
            }
            pos += n as u64;
        };
        if cut >= file.size {
            break;
        }
        cuts.push(cut);
        // A line longer than a shard: the next cut comes after it.
        at = (at + step).max(cut + 1);
    }
    cuts.push(file.size);
    Ok(cuts)
}

/// The 1-based line at each cut but the last (one read of the file).
fn line_starts(file: &InputFile, cuts: &[u64]) -> Result<Vec<u64>> {
    let io = |source| Error::Io {
        path: file.path.clone(),
        source,
    };
    let mut f = std::io::BufReader::with_capacity(1 << 20, File::open(&file.path).map_err(io)?);
    let mut starts = Vec::with_capacity(cuts.len() - 1);
    let mut line = 1u64;
    let mut buf = vec![0u8; 1 << 20];
    for pair in cuts.windows(2) {
        starts.push(line);
        let mut left = pair[1] - pair[0];
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).expect("at most a buffer");
            f.read_exact(&mut buf[..want]).map_err(io)?;
            line += memchr::memchr_iter(b'\n', &buf[..want]).count() as u64;
            left -= want as u64;
        }
    }
    Ok(starts)
}

/// The counter of one pass, as a table; for spans, each distinct span carries its ids.
fn table(counter: Counter, config: &TrainerConfig, stage: &Stage, sha256: &str) -> Result<Vec<u8>> {
    let fingerprint = fingerprint(config, stage.name());
    Ok(match stage {
        Stage::Words => wire::write_table(counter, &fingerprint, sha256, None),
        Stage::Spans(model) => {
            let encoder = superbpe::span_encoder(model)?;
            let segment = |span: &[u8], ids: &mut Vec<TokenId>| encoder.encode_piece(span, ids);
            wire::write_table(counter, &fingerprint, sha256, Some(&segment))
        }
    })
}

/// Counts one file shard for `stage` into a count table, on the current rayon pool.
///
/// # Errors
/// Errors of reading and counting, prefixed with the file and byte range; [`Error::Corpus`]
/// for a file whose size changed since [`plan`]; [`Error::Cancelled`].
pub fn count_file_shard(
    config: &TrainerConfig,
    stage: &Stage,
    shard: &FileShard,
    text_field: Option<&str>,
    strict: bool,
    cancel: &CancelToken,
) -> Result<Vec<u8>> {
    let pre = splitter(config, stage)?;
    let located = |e: Error| {
        let lines = if shard.first_line.is_some() || shard.start == 0 {
            ""
        } else {
            " (lines counted from the range's start)"
        };
        Error::Corpus(format!("shard {}{lines}: {e}", shard.describe()))
    };
    let run = || -> Result<Vec<u8>> {
        let file = corpus::resolve(std::slice::from_ref(&shard.path), text_field)?
            .pop()
            .ok_or_else(|| Error::NotFound {
                path: shard.path.clone().into(),
            })?;
        if file.size != shard.size {
            return Err(Error::Corpus(format!(
                "the file is {} bytes now, {} when the shards were planned",
                file.size, shard.size
            ))
            .with_hint("leave the corpus unchanged while training runs"));
        }
        let reader = BlockReader::for_range(
            file,
            shard.start,
            shard.end,
            shard.first_line.unwrap_or(1),
            shard.file,
        )?;
        let (counter, sha) = word_counts::count_blocks(reader, &pre, strict, &Silent, cancel)?;
        table(counter, config, stage, &sha)
    };
    run().map_err(|e| match e {
        Error::Cancelled => e,
        e => located(e),
    })
}

/// Counts texts (one shard of a dataset: a Parquet row group, say) into a count table;
/// `first_document` is the number of the first text among all texts of the corpus, as
/// single-node training numbers texts.
///
/// # Errors
/// [`Error::Config`] for a stage the configuration does not have; [`Error::Cancelled`].
pub fn count_texts(
    config: &TrainerConfig,
    stage: &Stage,
    texts: &[String],
    first_document: u64,
    cancel: &CancelToken,
) -> Result<Vec<u8>> {
    let pre = splitter(config, stage)?;
    cancel.check()?;
    let mut hasher = StreamHasher::default();
    texts.iter().for_each(|t| hasher.update(t.as_bytes()));
    let counter = Counter::of_texts(&pre, texts, first_document);
    table(counter, config, stage, &hasher.hex())
}

/// Merges adjacent shards' tables of one pass (`stage`: `words` or `spans`) into one table, on
/// a worker: a step of the merge tree that leaves the driver a few tables to read.
///
/// # Errors
/// Those of [`wire::merge_into_table`]; [`Error::Config`] for an unknown stage.
pub fn merge_shard_tables(
    config: &TrainerConfig,
    stage: &str,
    tables: &[&[u8]],
) -> Result<Vec<u8>> {
    if !matches!(stage, "words" | "spans") {
        return Err(Error::Config(format!(
            "unknown counting stage {stage:?}: words or spans"
        )));
    }
    wire::merge_into_table(tables, &fingerprint(config, stage))
}

/// The tables of one pass, merged: totals, and the sha256 of the shards' digests in shard
/// order; each distinct word goes to `word(bytes, count, raw ids)` in byte order.
struct Merged {
    totals: Totals,
    sha256: String,
}

fn merge<T: AsRef<[u8]>>(
    config: &TrainerConfig,
    stage: &str,
    tables: &[T],
    cancel: &CancelToken,
    mut word: impl FnMut(&[u8], u64, &[u8]) -> Result<()>,
) -> Result<Merged> {
    let fingerprint = fingerprint(config, stage);
    let tables: Vec<Table<'_>> = tables
        .iter()
        .map(|t| Table::parse(t.as_ref(), &fingerprint))
        .collect::<Result<_>>()?;
    if tables.is_empty() {
        return Err(Error::Corpus("no shard was counted".into()));
    }
    let mut digests = Sha256::new();
    for t in &tables {
        digests.update(t.sha256.as_bytes());
        digests.update(b"\n");
    }
    let mut seen = 0u32;
    let totals = wire::merge_tables(&tables, |w, count, ids| {
        seen = seen.wrapping_add(1);
        if seen % (1 << 16) == 0 {
            cancel.check()?;
        }
        word(w, count, ids)
    })?;
    let sha256 = digests
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Merged { totals, sha256 })
}

/// Distinct words and their counts, sorted by bytes.
type Words = Vec<(Box<[u8]>, u64)>;

/// The words of one pass's tables, with what the merge saw.
fn merge_words<T: AsRef<[u8]>>(
    config: &TrainerConfig,
    tables: &[T],
    cancel: &CancelToken,
) -> Result<(Words, Merged)> {
    let mut words = Vec::new();
    let merged = merge(
        config,
        Stage::Words.name(),
        tables,
        cancel,
        |w, count, _| {
            words.push((Box::from(w), count));
            Ok(())
        },
    )?;
    Ok((words, merged))
}

/// The words of the first (or only) pass, merged from its tables, which are then freed (before
/// the merge loop grows); and a report with the corpus part and the merging time filled.
fn first_pass<T: AsRef<[u8]>>(
    config: &TrainerConfig,
    tables: Vec<T>,
    files: Vec<String>,
    cancel: &CancelToken,
) -> Result<(Words, Totals, TrainReport)> {
    let started = Instant::now();
    let (words, merged) = merge_words(config, &tables, cancel)?;
    drop(tables);
    let report = TrainReport {
        count_seconds: started.elapsed().as_secs_f64(),
        corpus_files: files,
        corpus_sha256: merged.sha256,
        corpus_bytes: merged.totals.bytes,
        ..TrainReport::default()
    };
    Ok((words, merged.totals, report))
}

/// Trains `config` (any algorithm but SuperBPE, which runs [`superbpe_stage1`] and
/// [`superbpe_stage2`]) from the count tables of every shard, which are dropped once merged
/// (before the merge loop grows). `files` are the corpus's resolved files, for the report; its
/// `corpus_sha256` is the sha256 of the shards' sha256 digests (hex, one per line, in shard
/// order).
///
/// # Errors
/// Table errors (corrupt, another version or configuration); training errors.
pub fn train_from_tables<T: AsRef<[u8]>>(
    config: &TrainerConfig,
    tables: Vec<T>,
    files: Vec<String>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Trained> {
    if matches!(config, TrainerConfig::Superbpe(_)) {
        return Err(Error::Config(
            "SuperBPE trains in two passes: superbpe_stage1, then superbpe_stage2".into(),
        ));
    }
    let plan = config.plan()?;
    let (words, totals, mut report) = first_pass(config, tables, files, cancel)?;
    let (model, pretokenizer) = plan.train(words, totals, progress, cancel, &mut report)?;
    Ok(Trained {
        model,
        pretokenizer,
        report,
        config: config.clone(),
    })
}

/// SuperBPE after its first pass: the stage-1 model the workers segment spans with.
pub struct Stage1 {
    config: SuperBpeConfig,
    model: BpeModel,
    report: TrainReport,
    sreport: SuperBpeReport,
}

impl Stage1 {
    /// The stage-1 model in the form [`Stage::Spans`] is read from on a worker.
    #[must_use]
    pub fn model_bytes(&self) -> Vec<u8> {
        wire::write_model(&self.model)
    }
}

fn superbpe_config(config: &TrainerConfig) -> Result<SuperBpeConfig> {
    match config {
        TrainerConfig::Superbpe(t) if t.extend.is_none() => TrainerConfig::superbpe(t),
        _ => Err(Error::Config(format!(
            "superbpe_stage1 trains SuperBPE, not {}",
            config.algorithm()
        ))),
    }
}

/// SuperBPE's stage 1 from the stage-1 count tables of every shard.
///
/// # Errors
/// As [`train_from_tables`].
pub fn superbpe_stage1<T: AsRef<[u8]>>(
    config: &TrainerConfig,
    tables: Vec<T>,
    files: Vec<String>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Stage1> {
    let sconfig = superbpe_config(config)?;
    let started = Instant::now();
    let (words, totals, mut report) = first_pass(config, tables, files, cancel)?;
    let model = superbpe::stage1(words, totals, &sconfig, progress, cancel, &mut report)?;
    let sreport = SuperBpeReport {
        stage1_seconds: started.elapsed().as_secs_f64(),
        ..SuperBpeReport::default()
    };
    Ok(Stage1 {
        config: sconfig,
        model,
        report,
        sreport,
    })
}

/// SuperBPE's stage 2 from the span tables of every shard (counted with
/// [`Stage::Spans`] of `stage1`'s model): the merge loop continued on the spans.
///
/// # Errors
/// As [`train_from_tables`].
pub fn superbpe_stage2<T: AsRef<[u8]>>(
    config: &TrainerConfig,
    stage1: Stage1,
    tables: Vec<T>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Trained> {
    let Stage1 {
        config: sconfig,
        model,
        mut report,
        mut sreport,
    } = stage1;
    let started = Instant::now();
    // Spans go from the tables straight into the merge loop's flat arrays: no allocation per
    // span, and the tables are freed before the loop's pair index grows.
    let mut span_bytes = 0u64;
    let mut words = SegmentedWords::default();
    let mut ids = Vec::new();
    merge(config, "spans", &tables, cancel, |w, count, raw| {
        span_bytes += w.len() as u64;
        ids.clear();
        wire::read_ids(raw, &mut ids)?;
        if ids.is_empty() || ids.iter().any(|&id| id as usize >= model.tokens.len()) {
            return Err(Error::Serialization(
                "a span's ids do not fit the stage-1 model: was it counted with another one?"
                    .into(),
            ));
        }
        words.push(&ids, count)
    })?;
    drop(tables);
    sreport.stage2_count_seconds = started.elapsed().as_secs_f64();
    sreport.stage2_distinct_spans = words.len();
    sreport.stage2_span_bytes = span_bytes;
    let model = superbpe::stage2(
        model,
        words,
        &sconfig,
        progress,
        cancel,
        &mut report,
        sreport,
    )?;
    let (_, stage2_pre) = sconfig.preset.pretokenizers()?;
    Ok(Trained {
        model,
        pretokenizer: stage2_pre,
        report,
        config: config.clone(),
    })
}

/// The stage a worker counts, from what the driver sent: nothing for words, the stage-1
/// model's bytes for spans.
///
/// # Errors
/// Those of [`wire::read_model`].
pub fn stage_from(model_bytes: Option<&[u8]>) -> Result<Stage> {
    Ok(match model_bytes {
        None => Stage::Words,
        Some(bytes) => Stage::Spans(wire::read_model(bytes)?),
    })
}

#[cfg(test)]
mod tests;
