//! Extending a pretrained BPE tokenizer: training goes on from the base's own merge state.
//!
//! The corpus is cut exactly as the base cuts text before merging (its added tokens, its
//! normalizer, its pre-tokenizer; SuperBPE: the stage-2 pre-tokenizer instead), the distinct
//! pieces are encoded with the base merges, and the merge loop of [`super::bpe`] continues from
//! there: counts over the corpus encoded with the base merges, as if training had gone on. New
//! tokens take ids after the base's last id (added tokens included), new merges rank after all
//! of the base's, and every existing token, id, merge and added token is kept. So for every
//! text the extension's tokens are the base's tokens, possibly merged further (with the base's
//! pre-tokenizer: the base merges all outrank the new ones, so the encoder reaches the base's
//! segmentation before it applies any new merge).
//!
//! Symbols that can never be merged split the words they sit in: added tokens, byte-fallback
//! `<0xXX>` tokens (a merged `<0xE4><0xB8>` would decode as that text) and the unknown token.
//! A new merge may not spell an added token either: HF would read its id from the model vocab.
//! A base that has no token with two digits in a row (numbers split into single digits, as in
//! SmolLM2, Llama-2 and Gemma) gets none from its extension either.
//!
//! The output is the base's own `tokenizer.json` with the new vocab entries and merges
//! appended ([`crate::hf_json::append`]); an extension by zero merges is the base file.

use rayon::prelude::*;
use serde::Serialize;

use super::bpe::{self, Hooks};
use super::superbpe::{Preset, SuperBpeConfig};
use super::trainer::{Corpus, TrainerConfig, length_cap};
use super::{BpeConfig, BpeModel, LengthCap, TokenId, TrainReport};
use crate::cancel::CancelToken;
use crate::encode::BpeEncoder;
use crate::error::{Error, Result};
use crate::hf_json::{self, Additions, LoadedBpe, Symbols, TokenizerJson, fallback_byte};
use crate::pretokenize::Pretokenizer;
use crate::progress::Progress;

/// What an extension added to its base, for `tokkit.json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExtensionReport {
    /// `byte_level` or `sentencepiece` (characters with byte fallback).
    pub base_kind: String,
    /// Ids in the base: its last id plus one, added tokens included.
    pub base_vocab_size: usize,
    /// Merges in the base.
    pub base_merges: usize,
    /// Tokens added (ids `base_vocab_size..`).
    pub new_tokens: usize,
    /// Merges added (ranks after the base's).
    pub new_merges: usize,
    /// New merges that spell a token the base already has (they get its id, as in HF).
    pub reused_ids: usize,
    /// Occurrences of symbols that never merge (added, byte-fallback and unknown tokens).
    pub unmergeable_symbols: u64,
}

/// An extended tokenizer.
#[derive(Debug)]
pub struct Extended {
    /// The new `tokenizer.json` text: the base's, with the additions spliced in.
    pub json: String,
    /// Every merge `(left, right)` as vocab texts, in rank order, the base's first.
    pub merges: Vec<(String, String)>,
    /// Ids in the result.
    pub vocab_size: usize,
    /// The base's special tokens, in id order.
    pub special_tokens: Vec<String>,
    /// The pre-tokenizer the result uses: its name and pattern.
    pub pretokenizer: (String, Option<String>),
    /// Corpus, counts, timings, stop reason, and the `extension` part.
    pub report: TrainReport,
    /// The configuration.
    pub config: TrainerConfig,
}

/// The merge-loop settings of an extension, and SuperBPE's filters when it learns superwords.
pub(super) struct Settings {
    bpe: BpeConfig,
    superbpe: Option<SuperBpeConfig>,
}

/// Checks the parameters of an extension that do not depend on the base or the corpus.
///
/// # Errors
/// [`Error::Config`] for a parameter that an extension takes from its base, or a bad value.
pub(super) fn settings(config: &TrainerConfig) -> Result<Settings> {
    let inherited = |what: &str| {
        Error::Config(format!(
            "an extension keeps the base's {what}: leave it unset with {{extend}}"
        ))
    };
    match config {
        TrainerConfig::Bpe(t) => {
            if t.pretokenizer != "gpt2" {
                return Err(inherited("pre-tokenizer"));
            }
            if !t.special_tokens.is_empty() {
                return Err(inherited("special tokens").with_hint(
                    "add new special tokens to the extended tokenizer afterwards (transformers: add_special_tokens)",
                ));
            }
            if !t.full_alphabet {
                return Err(inherited("alphabet"));
            }
            let bpe = BpeConfig {
                vocab_size: t.vocab_size,
                min_frequency: t.min_frequency,
                special_tokens: Vec::new(),
                length_cap: length_cap(t.max_token_length, t.max_token_chars)?,
                full_alphabet: true,
            };
            // The size is checked against the base once it is read.
            bpe.check_length_cap()?;
            Ok(Settings {
                bpe,
                superbpe: None,
            })
        }
        TrainerConfig::Superbpe(t) => {
            if t.transition_point.is_some() {
                return Err(Error::Config(
                    "an extension to SuperBPE has no transition point: the base is stage 1".into(),
                )
                .with_hint("drop {transition_point}"));
            }
            if !t.special_tokens.is_empty() {
                return Err(inherited("special tokens"));
            }
            if !t.full_alphabet {
                return Err(inherited("alphabet"));
            }
            let superbpe = SuperBpeConfig {
                bpe: BpeConfig {
                    vocab_size: t.vocab_size,
                    min_frequency: t.min_frequency,
                    special_tokens: Vec::new(),
                    length_cap: LengthCap::None,
                    full_alphabet: true,
                },
                transition_merges: 0,
                preset: t.config,
                max_words: t.max_words,
                forbid_colon_space: t.forbid_colon_space,
            };
            superbpe.check_filters()?;
            Ok(Settings {
                bpe: superbpe.bpe.clone(),
                superbpe: Some(superbpe),
            })
        }
        other => Err(Error::Config(format!(
            "{} cannot extend a tokenizer: extend with bpe or superbpe",
            other.algorithm()
        ))),
    }
}

/// The base, read once: its parts by id, and the encoder that cuts and encodes the corpus.
struct Base {
    /// Model-vocab text by id (empty for ids only added tokens have, and for holes).
    strings: Vec<String>,
    loaded: LoadedBpe,
    encoder: BpeEncoder,
    byte_level: bool,
}

fn read_base(text: &str) -> Result<Base> {
    let root = TokenizerJson::parse(text)?;
    let loaded = hf_json::from_typed(&root)?;
    let byte_level = matches!(loaded.pipeline.symbols, Symbols::Bytes);
    let mut strings = vec![String::new(); loaded.tokens.len()];
    let vocab = root
        .model
        .vocab
        .as_object()
        .map(|v| v.iter())
        .into_iter()
        .flatten();
    for (string, id) in vocab {
        let id = id.as_u64().unwrap_or_default() as usize;
        if !strings[id].is_empty() {
            return Err(disagrees(format!(
                "the vocab gives id {id} to both {:?} and {string:?}",
                strings[id]
            )));
        }
        strings[id].clone_from(string);
    }
    for (content, id, _) in &loaded.added {
        let held = &strings[*id as usize];
        if !held.is_empty() && held != content {
            return Err(disagrees(format!(
                "added token {content:?} has id {id}, which the vocab gives to {held:?}"
            )));
        }
    }
    // Built after the checks: a wrong added-token id would otherwise show as a missing merge.
    let encoder = BpeEncoder::from_loaded(hf_json::from_typed(&root)?)?;
    Ok(Base {
        strings,
        loaded,
        encoder,
        byte_level,
    })
}

fn disagrees(what: String) -> Error {
    Error::Serialization(format!("the base tokenizer disagrees with itself: {what}"))
        .with_hint("repair or re-export the base tokenizer.json")
}

/// Extends the base tokenizer `base_json` (a `tokenizer.json` text) on `corpus` as `config`
/// says (a `bpe` or `superbpe` configuration with `extend` set), in the current rayon pool.
///
/// # Errors
/// [`Error::Config`] for bad parameters or a vocabulary size not above the base's (before the
/// corpus is read); [`Error::Serialization`] for a base of an unsupported kind (the message
/// names the supported ones) or one whose parts disagree; [`Error::Corpus`] for text the base
/// cannot encode (a character it has no symbol for); IO errors; [`Error::Cancelled`].
pub fn extend(
    config: &TrainerConfig,
    base_json: &str,
    mut corpus: Corpus<'_>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Extended> {
    let settings = settings(config)?;
    let base = read_base(base_json)?;
    let base_size = base.loaded.tokens.len();
    if settings.bpe.vocab_size <= base_size {
        return Err(Error::Config(format!(
            "vocab size {} is not above the base's {base_size} ids",
            settings.bpe.vocab_size
        ))
        .with_hint(format!(
            "give {{vocab_size}} above {base_size}: the base's ids plus the new tokens"
        )));
    }
    let Base {
        strings,
        loaded,
        encoder,
        byte_level,
    } = base;
    let encoder = match &settings.superbpe {
        Some(s) => {
            if !byte_level {
                return Err(Error::Config(
                    "an extension to SuperBPE needs a byte-level base; SentencePiece-style bases \
                     (Gemma, Llama-2) extend with bpe only"
                        .into(),
                ));
            }
            encoder.with_pretokenizer(stage2(s.preset)?)
        }
        None => encoder,
    };
    let pretokenizer = (
        encoder.pretokenizer().name().to_owned(),
        encoder.pretokenizer().pattern().map(str::to_owned),
    );
    let never_merged = unmergeable(&loaded);

    let mut report = TrainReport::default();
    let counter = corpus.count(&encoder, progress, cancel, &mut report)?;
    report.sequences = counter.sequences;
    report.skipped_invalid_utf8 = counter.skipped_invalid_utf8;
    report.pieces = counter.pieces;
    report.distinct_words = counter.distinct();
    if counter.distinct() == 0 {
        return Err(Error::Corpus(
            "the corpus is empty: give a corpus with some text".into(),
        ));
    }
    let words = encode_words(counter.into_sorted(), &encoder, cancel)?;
    let (words, unmergeable_symbols) = split_at(words, &never_merged);

    // The merge loop counts vocabulary by distinct token bytes: the base's, plus the new ones.
    let distinct: hashbrown::HashSet<&[u8]> = loaded.tokens.iter().map(Vec::as_slice).collect();
    let wanted_new = settings.bpe.vocab_size - base_size;
    let bpe_config = BpeConfig {
        vocab_size: distinct.len() + wanted_new,
        ..settings.bpe.clone()
    };
    drop(distinct);
    let added_texts: hashbrown::HashSet<Vec<u8>> = loaded
        .added
        .iter()
        .map(|(_, id, _)| loaded.tokens[*id as usize].clone())
        .collect();
    let digits_apart = !loaded
        .tokens
        .iter()
        .enumerate()
        .any(|(id, t)| !never_merged[id] && has_digit_pair(t));
    let superbpe = settings.superbpe.as_ref();
    let filter = |bytes: &[u8]| {
        let digits = digits_apart && has_digit_pair(bytes);
        !added_texts.contains(bytes) && !digits && superbpe.is_none_or(|s| s.allows(bytes))
    };
    let hooks = Hooks {
        filter: Some(&filter),
    };
    let base_merges = loaded.merges.len();
    let model = BpeModel {
        tokens: loaded.tokens,
        num_special: 0,
        merges: loaded.merges,
        num_padding: 0,
    };
    let started = std::time::Instant::now();
    let words = bpe::SegmentedWords::from_words(words)?;
    let trained = bpe::continue_from(model, words, &bpe_config, &hooks, progress, cancel)?;
    report.merge_seconds = started.elapsed().as_secs_f64();

    let Named {
        vocab,
        merges,
        reused,
    } = name_new(&trained.model, base_size, base_merges, strings);
    let stage2_json = settings
        .superbpe
        .is_some()
        .then(|| hf_json::pre_tokenizer_json(encoder.pretokenizer()));
    let additions = Additions {
        vocab: &vocab,
        merges: &merges[base_merges..],
        pre_tokenizer: stage2_json.as_ref(),
    };
    let json = hf_json::append(base_json, &additions)?;
    // The result must read back as the same tokenizer: a cheap check of the splice.
    let check = hf_json::from_json(&json)?;
    if check.tokens.len() != trained.model.tokens.len() || check.merges != trained.model.merges {
        return Err(Error::Serialization(
            "the extended tokenizer.json does not read back as written; please report this".into(),
        ));
    }

    let new_merges = merges.len() - base_merges;
    report.corpus_tokens = trained.corpus_tokens;
    report.merges = merges.len();
    report.vocab_size = trained.model.tokens.len();
    report.stop_reason = Some(trained.stop);
    report.threads = rayon::current_num_threads();
    report.extension = Some(ExtensionReport {
        base_kind: if byte_level {
            "byte_level"
        } else {
            "sentencepiece"
        }
        .into(),
        base_vocab_size: base_size,
        base_merges,
        new_tokens: vocab.len(),
        new_merges,
        reused_ids: reused,
        unmergeable_symbols,
    });
    let mut special_tokens: Vec<(TokenId, String)> = check
        .added
        .iter()
        .filter(|a| a.2)
        .map(|(s, id, _)| (*id, s.clone()))
        .collect();
    special_tokens.sort();
    Ok(Extended {
        json,
        merges,
        vocab_size: trained.model.tokens.len(),
        special_tokens: special_tokens.into_iter().map(|(_, s)| s).collect(),
        pretokenizer,
        report,
        config: config.clone(),
    })
}

/// Ids that never merge: added tokens, byte-fallback tokens, the unknown token.
fn unmergeable(loaded: &LoadedBpe) -> Vec<bool> {
    let mut out = vec![false; loaded.tokens.len()];
    for (_, id, _) in &loaded.added {
        out[*id as usize] = true;
    }
    if let Symbols::Chars(chars) = &loaded.pipeline.symbols {
        if chars.byte_fallback {
            for (id, s) in chars.strings.iter().enumerate() {
                if fallback_byte(s).is_some() {
                    out[id] = true;
                }
            }
        }
        if let Some(unk) = chars.unk {
            out[unk as usize] = true;
        }
    }
    out
}

/// Whether `bytes` hold two ASCII digits in a row. A base with no such token splits numbers into
/// single digits on purpose (SmolLM2, Llama-2, Gemma): its extension keeps that, since models
/// do arithmetic digit by digit and a new digit-pair token would change how they see numbers.
fn has_digit_pair(bytes: &[u8]) -> bool {
    bytes
        .windows(2)
        .any(|w| w[0].is_ascii_digit() && w[1].is_ascii_digit())
}

/// SuperBPE's stage-2 pre-tokenizer of `preset`: spans across whitespace.
fn stage2(preset: Preset) -> Result<Pretokenizer> {
    Ok(preset.pretokenizers()?.1)
}

/// Each distinct piece encoded with the base merges, in parallel, in piece order.
fn encode_words(
    pieces: Vec<(Box<[u8]>, u64)>,
    encoder: &BpeEncoder,
    cancel: &CancelToken,
) -> Result<Vec<(Vec<TokenId>, u64)>> {
    pieces
        .into_par_iter()
        .map(|(piece, count)| {
            cancel.check()?;
            let mut ids = Vec::with_capacity(piece.len() / 2 + 1);
            encoder.encode_piece(&piece, &mut ids);
            if !encoder.spells(&piece, &ids) {
                let text = String::from_utf8_lossy(&piece);
                return Err(Error::Corpus(format!(
                    "the base tokenizer cannot encode {text:?}: a character or byte in it has no \
                     token and the base has no byte fallback"
                ))
                .with_hint(
                    "remove such text from the corpus, or extend a base with byte fallback",
                ));
            }
            Ok((ids, count))
        })
        .collect()
}

/// Cuts words at symbols that never merge (they stay as one-symbol words, which the merge
/// loop counts as tokens and never pairs), and counts those symbols.
fn split_at(
    words: Vec<(Vec<TokenId>, u64)>,
    unmergeable: &[bool],
) -> (Vec<(Vec<TokenId>, u64)>, u64) {
    let blocked = |id: &TokenId| unmergeable.get(*id as usize).copied().unwrap_or(false);
    let mut out = Vec::with_capacity(words.len());
    let mut seen = 0u64;
    for (ids, count) in words {
        if !ids.iter().any(blocked) {
            out.push((ids, count));
            continue;
        }
        let mut part = Vec::new();
        for id in ids {
            if blocked(&id) {
                seen += count;
                if !part.is_empty() {
                    out.push((std::mem::take(&mut part), count));
                }
                out.push((vec![id], count));
            } else {
                part.push(id);
            }
        }
        if !part.is_empty() {
            out.push((part, count));
        }
    }
    (out, seen)
}

/// What [`name_new`] finds: the new vocab entries `(text, id)` in id order, every merge as
/// texts, and how many new merges reused an id.
struct Named {
    vocab: Vec<(String, TokenId)>,
    merges: Vec<(String, String)>,
    reused: usize,
}

/// Names the new tokens and merges. A new token's text is its two sides' texts joined: for byte-level
/// tokens that is the byte-level map of its bytes, for SentencePiece-style ones the `▁` form.
fn name_new(
    model: &BpeModel,
    base_size: usize,
    base_merges: usize,
    mut strings: Vec<String>,
) -> Named {
    strings.resize(model.tokens.len(), String::new());
    let mut by_bytes: hashbrown::HashMap<&[u8], TokenId> = hashbrown::HashMap::new();
    for (id, t) in model.tokens.iter().enumerate().skip(base_size) {
        by_bytes.insert(t.as_slice(), id as TokenId);
    }
    let mut vocab = Vec::new();
    let mut reused = 0;
    let mut merges = Vec::with_capacity(model.merges.len());
    for (rank, &(a, b)) in model.merges.iter().enumerate() {
        let pair = (strings[a as usize].clone(), strings[b as usize].clone());
        if rank >= base_merges {
            let mut bytes = model.tokens[a as usize].clone();
            bytes.extend_from_slice(&model.tokens[b as usize]);
            match by_bytes.get(bytes.as_slice()) {
                Some(&id) if strings[id as usize].is_empty() => {
                    strings[id as usize] = format!("{}{}", pair.0, pair.1);
                    vocab.push((strings[id as usize].clone(), id));
                }
                _ => reused += 1,
            }
        }
        merges.push(pair);
    }
    Named {
        vocab,
        merges,
        reused,
    }
}
