//! Training (design/hybrid.md §5): the corpus is cut into segments and their normalised texts
//! counted (the shared corpus reader, [`Corpus`]); each distinct letter segment is covered by
//! dictionary forms where possible, and what they miss, with the non-letter segments, is the
//! residue that byte-level BPE ([`bpe::continue_from`], dictionary forms as atoms) learns the
//! pieces from, `" kitap"` for a frequent word among them.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Segmentation;
use super::encode::{Case, Class, case_of, spaced_segments, split_space};
use super::language::{Language, RootGroup};
use super::model::{
    ALLCAPS, Cand, HybridModel, UPPERCASE, piece_name, root_form_groups, spaced_root_of,
};
use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::train::bpe::{self, Hooks};
use crate::train::{BpeConfig, BpeModel, Corpus, LengthCap, StopReason, TokenId, TrainReport};
use crate::word_counts::{Counter, Splitter};

fn default_specials() -> Vec<String> {
    ["<pad>", "<bos>", "<eos>"].map(String::from).to_vec()
}

/// The trainer configuration: `{"algorithm": "hybrid", "vocab_size": 32768, "lang": "tr", ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HybridTrainer {
    /// Always `hybrid`.
    pub algorithm: String,
    /// Final vocabulary size: markers, specials, roots, suffixes and pieces.
    pub vocab_size: usize,
    /// The language's name, recorded only (the caller resolves it to its files).
    #[serde(default)]
    pub lang: Option<String>,
    /// The segmentation the tokenizer encodes with.
    #[serde(default)]
    pub segmentation: Segmentation,
    /// Keep only the first N root groups.
    #[serde(default)]
    pub max_roots: Option<usize>,
    /// BPE on the residue stops at the first pair seen fewer times than this.
    #[serde(default)]
    pub min_frequency: u64,
    /// Special tokens, ids 2.. in this order.
    #[serde(default = "default_specials")]
    pub special_tokens: Vec<String>,
    /// After the residue BPE, the N most frequent space-led lower-case letter segments that the
    /// dictionaries and pieces spell with more than one token become pieces themselves, taking
    /// the ids of the last learned pieces (design/hybrid.md §5.4): fewer tokens per word, each
    /// such token a whole inflected word rather than a morpheme. 0 (the default) adds none.
    #[serde(default)]
    pub whole_words: usize,
}

impl HybridTrainer {
    /// Parses and checks a configuration (what does not depend on the language).
    ///
    /// # Errors
    /// [`Error::Config`] naming the parameter.
    pub fn from_json(text: &str) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let config: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            Error::Config(format!(
                "invalid trainer configuration: {}{}",
                if path == "." {
                    String::new()
                } else {
                    format!("{path}: ")
                },
                e.inner()
            ))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration as JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("trainer configurations serialise")
    }

    /// Checks what does not depend on the language.
    ///
    /// # Errors
    /// [`Error::Config`] naming the parameter.
    pub fn validate(&self) -> Result<()> {
        if self.algorithm != "hybrid" {
            return Err(Error::Config(format!(
                "invalid trainer configuration: algorithm {:?} is not \"hybrid\"",
                self.algorithm
            )));
        }
        let mut seen = HashSet::new();
        for t in &self.special_tokens {
            if t.is_empty() || t == UPPERCASE || t == ALLCAPS || !seen.insert(t) {
                return Err(Error::Config(format!(
                    "special token {t:?} is empty, a case marker or listed twice; remove it"
                )));
            }
        }
        let least = 2 + self.special_tokens.len() + 256;
        if self.vocab_size < least {
            return Err(Error::Config(format!(
                "vocab size {} is smaller than the 2 case markers, {} special token(s) and 256 bytes",
                self.vocab_size,
                self.special_tokens.len()
            ))
            .with_hint(format!("give {{vocab_size}} {least} or more")));
        }
        Ok(())
    }

    /// Ids left for the pieces once the dictionaries are in, checked to hold the 256 bytes.
    ///
    /// # Errors
    /// [`Error::Config`] naming the dictionaries' size and what to do.
    pub fn piece_budget(&self, language: &Language, roots: usize) -> Result<usize> {
        let roots = self.max_roots.map_or(roots, |m| m.min(roots));
        let fixed = 2 + self.special_tokens.len() + roots + language.suffixes().len();
        if self.vocab_size < fixed + 256 {
            return Err(Error::Config(format!(
                "vocab size {} cannot hold the dictionaries ({roots} root groups and {} suffix \
                 classes, with the 2 case markers and {} special token(s): {fixed} ids) plus the \
                 256 bytes",
                self.vocab_size,
                language.suffixes().len(),
                self.special_tokens.len()
            ))
            .with_hint(format!(
                "raise {{vocab_size}} to {} or more, or keep fewer roots with {{max_roots}}",
                fixed + 256
            )));
        }
        let budget = self.vocab_size - fixed;
        if self.whole_words > budget - 256 {
            return Err(Error::Config(format!(
                "whole_words {} is more than the {} ids left for learned pieces",
                self.whole_words,
                budget - 256
            ))
            .with_hint(format!(
                "lower {{whole_words}} to {} or less, or raise {{vocab_size}}",
                budget - 256
            )));
        }
        Ok(budget)
    }
}

/// What training did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HybridReport {
    /// sha256 (hex) of the corpus bytes read.
    pub corpus_sha256: String,
    /// Bytes of text trained on.
    pub corpus_bytes: u64,
    /// Input files, in the order read.
    pub corpus_files: Vec<String>,
    /// Sequences seen.
    pub sequences: u64,
    /// Sequences skipped as invalid UTF-8.
    pub skipped_invalid_utf8: u64,
    /// Segments counted, with multiplicity.
    pub segments: u64,
    /// Distinct normalised segments.
    pub distinct_segments: usize,
    /// Bytes of residue (with multiplicity) BPE trained on.
    pub residue_bytes: u64,
    /// Root groups kept.
    pub roots: usize,
    /// Suffix classes.
    pub suffixes: usize,
    /// Pieces, the 256 bytes and the whole words included.
    pub pieces: usize,
    /// Whole-word pieces added (design/hybrid.md §5.4); fewer than asked when the corpus has
    /// fewer eligible segments.
    pub whole_words: usize,
    /// Final vocabulary size.
    pub vocab_size: usize,
    /// Why the residue BPE stopped.
    pub stop_reason: Option<StopReason>,
    /// Seconds spent reading and counting.
    pub count_seconds: f64,
    /// Seconds spent covering and in the merge loop.
    pub merge_seconds: f64,
    /// Worker threads used.
    pub threads: usize,
}

/// A trained hybrid tokenizer and what training did.
#[derive(Debug)]
pub struct TrainedHybrid {
    /// The tokenizer.
    pub model: HybridModel,
    /// The report.
    pub report: HybridReport,
    /// The configuration.
    pub config: HybridTrainer,
}

/// Cuts a document into its normalised segments (design/hybrid.md §5.1), each with its leading
/// space (design/hybrid.md §3.1): letter segments lower-cased (after the space) when a marker restores their case,
/// everything else as written.
struct SegmentSplitter<'a> {
    language: &'a Language,
}

impl Splitter for SegmentSplitter<'_> {
    fn split_document(&self, text: &str, _: u64, mut emit: impl FnMut(&[u8])) {
        let (mut lowered, mut tmp, mut body) = (String::new(), String::new(), String::new());
        spaced_segments(text, |a, b, class| {
            let s = &text[a..b];
            let (space, rest) = split_space(s, class);
            if class == Class::Letter
                && matches!(
                    case_of(self.language, rest, &mut lowered, &mut tmp),
                    Case::Capitalised | Case::AllCaps
                )
            {
                body.clear();
                body.push_str(space);
                body.push_str(&lowered);
                emit(body.as_bytes());
            } else {
                emit(s.as_bytes());
            }
        });
    }
}

/// One position of the coverage search: units so far and how the last unit got here.
#[derive(Clone, Copy)]
struct Cover {
    units: u32,
    from: u32,
    covered: bool,
}

const UNCOVERED: Cover = Cover {
    units: u32::MAX,
    from: 0,
    covered: false,
};

/// `word` cut into the dictionary forms that cover it and the runs they miss
/// (design/hybrid.md §5.2), left to right, as `emit(span, covered)`: the fewest units, an uncovered
/// char one unit, a root form one unit, and a suffix form one unit only right after a root or
/// suffix (a chain from a root): a lone suffix form such as `a` inside an unknown word is no
/// analysis, and counting it would cut the residue into single letters. `state[i][1]` ends in a
/// chain.
fn cover(
    model: &HybridModel,
    word: &[u8],
    state: &mut Vec<[Cover; 2]>,
    emit: &mut impl FnMut(&[u8], bool),
) {
    let t = &*model.tables;
    let n = word.len();
    state.clear();
    state.resize(n + 1, [UNCOVERED; 2]);
    state[0][0] = Cover {
        units: 0,
        from: 0,
        covered: false,
    };
    let better = |slot: &mut Cover, units: u32, from: usize, covered: bool| {
        if units < slot.units {
            *slot = Cover {
                units,
                from: from as u32,
                covered,
            };
        }
    };
    for i in 0..n {
        if (word[i] & 0xC0) == 0x80 {
            continue;
        }
        let [free, chain] = state[i];
        let here = free.units.min(chain.units);
        if here == u32::MAX {
            continue;
        }
        let char_len = word[i + 1..]
            .iter()
            .take_while(|&&b| (b & 0xC0) == 0x80)
            .count()
            + 1;
        // Back-pointers encode the state they came from: `from * 2 + chain`.
        let from_best = i * 2 + usize::from(chain.units < free.units);
        better(&mut state[i + char_len][0], here + 1, from_best, false);
        t.trie.walk(&word[i..], |len, cands| {
            let root = cands.iter().any(|c| matches!(c, Cand::Root { .. }));
            let suffix = cands.iter().any(|c| matches!(c, Cand::Suffix { .. }));
            if root {
                better(&mut state[i + len][1], here + 1, from_best, true);
            } else if suffix && chain.units != u32::MAX {
                better(&mut state[i + len][1], chain.units + 1, i * 2 + 1, true);
            }
        });
    }
    // Walk back, collecting the covered spans, then emit the gaps left to right.
    let mut at = n;
    let mut s = usize::from(state[n][1].units < state[n][0].units);
    let mut covered_spans: Vec<(usize, usize)> = Vec::new();
    while at > 0 {
        let c = state[at][s];
        let from = c.from as usize;
        if c.covered {
            covered_spans.push((from / 2, at));
        }
        at = from / 2;
        s = from % 2;
    }
    let mut run = 0;
    for &(a, b) in covered_spans.iter().rev() {
        if run < a {
            emit(&word[run..a], false);
        }
        emit(&word[a..b], true);
        run = b;
    }
    if run < n {
        emit(&word[run..], false);
    }
}

/// What BPE trains on (design/hybrid.md §5.2): the residue runs as bytes, and the root forms that
/// follow a segment's leading space, each to become the word `[" ", form]`.
#[derive(Default)]
struct Residue {
    runs: Counter,
    led: HashMap<Box<[u8]>, u64>,
}

impl Residue {
    /// Adds one distinct normalised segment seen `count` times.
    fn add(
        &mut self,
        model: &HybridModel,
        word: &[u8],
        count: u64,
        steps: &mut Vec<[Cover; 2]>,
        buf: &mut Vec<u8>,
    ) {
        let (mut lead, rest) = match word.split_first() {
            Some((b' ', rest)) if !rest.is_empty() => (true, rest),
            _ => (false, word),
        };
        let letter = std::str::from_utf8(rest)
            .ok()
            .and_then(|s| s.chars().next())
            .is_some_and(char::is_alphabetic);
        if !letter {
            self.runs.add_word(word, count);
            return;
        }
        let (runs, led) = (&mut self.runs, &mut self.led);
        cover(model, rest, steps, &mut |span, covered| {
            // The leading space stays with what follows it: a form or a residue run.
            if std::mem::take(&mut lead) {
                if covered {
                    *led.entry(span.into()).or_default() += count;
                } else {
                    buf.clear();
                    buf.push(b' ');
                    buf.extend_from_slice(span);
                    runs.add_word(buf, count);
                }
            } else if !covered {
                runs.add_word(span, count);
            }
        });
    }

    fn merge(mut self, other: Self) -> Self {
        self.runs = self.runs.merge(other.runs);
        for (form, count) in other.led {
            *self.led.entry(form).or_default() += count;
        }
        self
    }
}

/// Whether `bytes` is valid UTF-8, or valid UTF-8 then the leading bytes of one char.
fn utf8_or_leading(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// The `n` most frequent space-led lower-case letter segments of `words` that the dictionaries
/// of `t` with `pieces` spell with more than one token (fewest tokens, `best_path`), by count
/// then bytes (design/hybrid.md §5.4); `filter` drops those whose name a dictionary holds.
fn whole_words(
    t: &super::model::Tables,
    pieces: &[Vec<u8>],
    words: &[(Box<[u8]>, u64)],
    n: usize,
    filter: &dyn Fn(&[u8]) -> bool,
) -> Result<Vec<Vec<u8>>> {
    let lang = &t.language;
    let mut candidates: Vec<&(Box<[u8]>, u64)> = words
        .iter()
        .filter(|(w, _)| {
            w.len() > 1
                && w[0] == b' '
                && std::str::from_utf8(&w[1..]).is_ok_and(|s| {
                    s.chars()
                        .all(|c| c.is_alphabetic() && lang.lower_char(c) == c)
                })
        })
        .collect();
    candidates.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let probe = HybridModel::new(
        lang.clone(),
        t.specials.clone(),
        t.roots.clone(),
        pieces.to_vec(),
        Segmentation::BestPath,
    )?;
    let present: HashSet<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
    // A word that is `" "` + a root form would be its group's spaced root (design/hybrid.md §2):
    // welcome when the group has none, a duplicate name when it has.
    let forms = root_form_groups(&t.roots);
    let mut groups: HashSet<u32> = pieces
        .iter()
        .filter_map(|p| spaced_root_of(&forms, p))
        .collect();
    let mut scratch = super::encode::Scratch::default();
    let mut chosen = Vec::with_capacity(n);
    for (w, _) in candidates {
        if chosen.len() == n {
            break;
        }
        let text = std::str::from_utf8(w).expect("checked above");
        if present.contains(&**w)
            || !filter(w)
            || probe.encode_with(text, &mut scratch).len() < 2
            || spaced_root_of(&forms, w).is_some_and(|g| !groups.insert(g))
        {
            continue;
        }
        chosen.push(w.to_vec());
    }
    Ok(chosen)
}

/// Trains a hybrid tokenizer for `language` with `roots` on `corpus` (design/hybrid.md §5).
///
/// # Errors
/// [`Error::Config`] when the vocabulary cannot hold the dictionaries, corpus and IO errors,
/// [`Error::Cancelled`].
pub fn train_hybrid(
    config: &HybridTrainer,
    language: Language,
    mut roots: Vec<RootGroup>,
    mut corpus: Corpus<'_>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<TrainedHybrid> {
    config.validate()?;
    let budget = config.piece_budget(&language, roots.len())?;
    if let Some(m) = config.max_roots {
        roots.truncate(m);
    }
    let bytes: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    // The dictionaries alone, to cover the segments and to check names before reading.
    let dictionaries = HybridModel::new(
        language,
        config.special_tokens.clone(),
        roots,
        bytes.clone(),
        config.segmentation,
    )
    .map_err(|e| Error::Config(e.to_string()))?;
    let mut report = TrainReport::default();
    let splitter = SegmentSplitter {
        language: dictionaries.language(),
    };
    let counter = corpus.count(&splitter, progress, cancel, &mut report)?;
    let started = Instant::now();
    let mut out = HybridReport {
        corpus_sha256: report.corpus_sha256,
        corpus_bytes: report.corpus_bytes,
        corpus_files: report.corpus_files,
        sequences: counter.sequences,
        skipped_invalid_utf8: counter.skipped_invalid_utf8,
        segments: counter.pieces,
        distinct_segments: counter.distinct(),
        count_seconds: report.count_seconds,
        threads: rayon::current_num_threads(),
        ..HybridReport::default()
    };
    if counter.distinct() == 0 {
        return Err(Error::Corpus(
            "the corpus is empty: give a corpus with some text".into(),
        ));
    }
    let words = counter.into_sorted();
    cancel.check()?;
    let residue = words
        .par_iter()
        .fold(
            || (Residue::default(), Vec::new(), Vec::new()),
            |(mut r, mut steps, mut buf), (word, count)| {
                r.add(&dictionaries, word, *count, &mut steps, &mut buf);
                (r, steps, buf)
            },
        )
        .map(|(r, _, _)| r)
        .reduce(Residue::default, Residue::merge);
    let mut led: Vec<(Box<[u8]>, u64)> = residue.led.into_iter().collect();
    led.sort_unstable();
    let runs = residue.runs.into_sorted();
    out.residue_bytes = runs.iter().map(|(w, c)| w.len() as u64 * c).sum::<u64>()
        + led
            .iter()
            .map(|(f, c)| (1 + f.len() as u64) * c)
            .sum::<u64>();
    // design/hybrid.md §5.3: BPE's base vocabulary is the 256 bytes (in byte order) and, as atoms,
    // the root forms that follow a leading space; a word is a residue run as bytes or `[" ",
    // form]`, so the merges can make `" kitap"` but never split a form or join two of them.
    let mut base_tokens = bytes.clone();
    base_tokens.extend(led.iter().map(|(f, _)| f.to_vec()));
    let base_len = base_tokens.len();
    let mut bpe_words: Vec<(Vec<TokenId>, u64)> = runs
        .into_iter()
        .map(|(w, c)| (w.iter().map(|&b| TokenId::from(b)).collect(), c))
        .collect();
    bpe_words.extend(
        led.iter()
            .enumerate()
            .map(|(k, (_, c))| (vec![TokenId::from(b' '), (256 + k) as TokenId], *c)),
    );
    drop(led);
    let base = BpeModel {
        tokens: base_tokens,
        num_special: 0,
        merges: Vec::new(),
        num_padding: 0,
    };
    let reserved: HashSet<&str> = dictionaries.names().iter().map(String::as_str).collect();
    let filter =
        |piece: &[u8]| utf8_or_leading(piece) && !reserved.contains(piece_name(piece).as_str());
    // design/hybrid.md §5.3: learned pieces that are `" "` + forms of one root group become one
    // spaced root, so BPE learns up to one extra piece per alternate (the most that can merge
    // away) and the mapped, deduplicated pieces are cut at the budget.
    let slack: usize = dictionaries
        .roots()
        .iter()
        .map(|r| r.alternates.len())
        .sum();
    // `continue_from` counts the base tokens in its size: the new tokens are the budget's rest.
    let bpe_config = BpeConfig {
        vocab_size: base_len + budget - 256 + slack,
        min_frequency: config.min_frequency,
        special_tokens: Vec::new(),
        length_cap: LengthCap::None,
        full_alphabet: true,
    };
    let trained = bpe::continue_from(
        base,
        bpe::SegmentedWords::from_words(bpe_words)?,
        &bpe_config,
        &Hooks {
            filter: Some(&filter),
        },
        progress,
        cancel,
    )?;
    // The learned pieces are the tokens the merges created, in merge order (a merge that
    // spells an existing token creates none); a spaced root keeps its first piece's place.
    let t = &*dictionaries.tables;
    let forms = root_form_groups(&t.roots);
    let mut seen_groups = HashSet::new();
    let mut pieces = bytes;
    for piece in trained.model.tokens.into_iter().skip(base_len) {
        if pieces.len() == budget {
            break;
        }
        match spaced_root_of(&forms, &piece) {
            Some(g) if !seen_groups.insert(g) => {}
            _ => pieces.push(piece),
        }
    }
    drop(forms);
    let stop = if pieces.len() == budget {
        StopReason::VocabSizeReached
    } else {
        trained.stop
    };
    // design/hybrid.md §5.4: whole words take the last learned pieces' ids, so the size holds.
    if config.whole_words > 0 {
        let keep = pieces.len().min(budget - config.whole_words);
        pieces.truncate(keep);
        let chosen = whole_words(t, &pieces, &words, config.whole_words, &filter)?;
        out.whole_words = chosen.len();
        pieces.extend(chosen);
    }
    let model = HybridModel::new(
        t.language.clone(),
        t.specials.clone(),
        t.roots.clone(),
        pieces,
        config.segmentation,
    )?;
    out.merge_seconds = started.elapsed().as_secs_f64();
    out.stop_reason = Some(stop);
    out.roots = model.roots().len();
    out.suffixes = model.language().suffixes().len();
    out.pieces = model.pieces().len();
    out.vocab_size = model.vocab_size();
    Ok(TrainedHybrid {
        model,
        report: out,
        config: config.clone(),
    })
}
