//! Reading a BPE `tokenizer.json` into what the encoder needs: token bytes, added tokens,
//! merges, the pre-tokenizer and the rest of the pipeline (byte-level, or SentencePiece-style
//! characters with byte fallback).

use serde_json::Value;

use super::{ModelJson, TokenizerJson, merge_sides};
use crate::byte_level;
use crate::error::{Error, Result};
use crate::normalize::{Metaspace, Normalizer, PrependScheme, unsupported};
use crate::pretokenize::{Behavior, Pretokenizer};
use crate::train::TokenId;

/// A BPE tokenizer as read back from `tokenizer.json`.
#[derive(Debug)]
pub struct LoadedBpe {
    /// Every token's bytes by id: the byte-level map undone, or for SentencePiece-style tokens
    /// the space symbol (`▁`) as a space and `<0xXX>` as that byte; added tokens: their text.
    pub tokens: Vec<Vec<u8>>,
    /// Added tokens `(text, id, special)`.
    pub added: Vec<(String, TokenId, bool)>,
    /// Merges `(left id, right id)` in rank order.
    pub merges: Vec<(TokenId, TokenId)>,
    /// The split behaviour.
    pub pretokenizer: Pretokenizer,
    /// Everything around the merges that is not byte-level BPE's default.
    pub pipeline: Pipeline,
}

/// What turns text into the symbols BPE merges, besides the pre-tokenizer.
#[derive(Debug, Default)]
pub struct Pipeline {
    /// The normalizer, applied to text between raw-matched added tokens.
    pub normalizer: Option<Normalizer>,
    /// Metaspace's replace-and-prepend step, applied to each piece before it is split.
    pub metaspace: Option<Metaspace>,
    /// Bytes (byte-level BPE) or characters (SentencePiece-style BPE).
    pub symbols: Symbols,
    /// HF's `ignore_merges`: a pre-token that is in the vocabulary is one token.
    pub ignore_merges: bool,
    /// Per entry of [`LoadedBpe::added`]: matched in normalized text (`normalized: true`).
    pub normalized_added: Vec<bool>,
}

/// The symbols a pre-token starts as.
#[derive(Debug, Default)]
pub enum Symbols {
    /// One per byte (the byte-level alphabet).
    #[default]
    Bytes,
    /// One per character, looked up by its text.
    Chars(CharVocab),
}

/// The vocabulary of a character-level (SentencePiece-style) BPE.
#[derive(Debug)]
pub struct CharVocab {
    /// The model vocabulary's text by id (empty for ids only added tokens have).
    pub strings: Vec<String>,
    /// A character missing from the vocabulary becomes its UTF-8 bytes as `<0xXX>` tokens.
    pub byte_fallback: bool,
    /// The id of characters that are missing otherwise (dropped when `None`).
    pub unk: Option<TokenId>,
    /// Adjacent unknown characters become one `unk`.
    pub fuse_unk: bool,
}

fn kind(value: &Value) -> &str {
    value.get("type").and_then(Value::as_str).unwrap_or("null")
}

/// Whether a pre-tokenizer section contains ByteLevel (which makes the model byte-level).
fn has_byte_level(value: &Value) -> bool {
    match kind(value) {
        "ByteLevel" => true,
        "Sequence" => value
            .get("pretokenizers")
            .and_then(Value::as_array)
            .is_some_and(|parts| parts.iter().any(has_byte_level)),
        _ => false,
    }
}

fn byte_level_pretokenizer(value: &Value) -> Result<Pretokenizer> {
    match kind(value) {
        "ByteLevel" => {
            let use_regex = value
                .get("use_regex")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if value
                .get("add_prefix_space")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                return Err(unsupported("ByteLevel with add_prefix_space=true"));
            }
            Pretokenizer::from_spec(if use_regex { "gpt2" } else { "none" })
        }
        "Sequence" => {
            let parts = value
                .get("pretokenizers")
                .and_then(Value::as_array)
                .ok_or_else(|| unsupported("empty Sequence"))?;
            let (digits, rest) = match parts.split_first() {
                Some((first, rest)) if kind(first) == "Digits" => {
                    if first.get("individual_digits").and_then(Value::as_bool) == Some(true) {
                        return Err(unsupported("Digits with individual_digits=true"));
                    }
                    (true, rest)
                }
                _ => (false, parts.as_slice()),
            };
            let no_regex = |bl: &Value| {
                kind(bl) == "ByteLevel"
                    && bl.get("use_regex").and_then(Value::as_bool) == Some(false)
            };
            let pre = match rest {
                [bl] if no_regex(bl) => Pretokenizer::from_spec("none")?,
                [split, bl] if kind(split) == "Split" && no_regex(bl) => regex_split(split)?,
                _ => {
                    return Err(unsupported(
                        "a pre-tokenizer Sequence other than [Digits?, Split, ByteLevel]",
                    ));
                }
            };
            Ok(if digits {
                pre.with_isolated_digits()
            } else {
                pre
            })
        }
        other => Err(unsupported(&format!(
            "pre_tokenizer {other} in a byte-level model"
        ))),
    }
}

fn regex_split(split: &Value) -> Result<Pretokenizer> {
    let pattern = split
        .pointer("/pattern/Regex")
        .and_then(Value::as_str)
        .ok_or_else(|| unsupported("a Split without a Regex pattern"))?;
    if split.get("behavior").and_then(Value::as_str) != Some("Isolated")
        || split.get("invert").and_then(Value::as_bool) == Some(true)
    {
        return Err(unsupported("a regex Split that is not Isolated"));
    }
    named_pattern(pattern)
}

/// The pre-tokenizer of a character-level model, and Metaspace's replace step if there is one.
fn char_pretokenizer(value: &Value) -> Result<(Pretokenizer, Option<Metaspace>)> {
    match kind(value) {
        "null" => Ok((Pretokenizer::from_spec("none")?, None)),
        "Sequence" => match value.get("pretokenizers").and_then(Value::as_array) {
            Some(parts) if parts.len() == 1 => char_pretokenizer(&parts[0]),
            _ => Err(unsupported(
                "a pre-tokenizer Sequence of more than one step in a character-level model",
            )),
        },
        "Split" if value.pointer("/pattern/Regex").is_some() => Ok((regex_split(value)?, None)),
        "Split" => {
            let pattern = value
                .pointer("/pattern/String")
                .and_then(Value::as_str)
                .ok_or_else(|| unsupported("a Split without a pattern"))?;
            let behavior = value
                .get("behavior")
                .and_then(Value::as_str)
                .and_then(Behavior::from_name)
                .ok_or_else(|| unsupported("a Split with an unknown behavior"))?;
            if value.get("invert").and_then(Value::as_bool) == Some(true) {
                return Err(unsupported("a Split with invert=true"));
            }
            Ok((Pretokenizer::literal("split", pattern, behavior)?, None))
        }
        "Metaspace" => {
            let replacement = value
                .get("replacement")
                .and_then(Value::as_str)
                .unwrap_or("▁")
                .to_owned();
            // HF reads the replacement as one `char`. A longer string would also make every
            // space as long as the file allows: encoding must not grow with the file's strings.
            if replacement.chars().count() != 1 {
                return Err(unsupported(&format!(
                    "a Metaspace replacement of {} characters (it is one character)",
                    replacement.chars().count()
                )));
            }
            let prepend = match value.get("prepend_scheme").and_then(Value::as_str) {
                Some("always") | None => PrependScheme::Always,
                Some("first") => PrependScheme::First,
                Some("never") => PrependScheme::Never,
                Some(other) => return Err(unsupported(&format!("prepend_scheme {other}"))),
            };
            let split = value.get("split").and_then(Value::as_bool).unwrap_or(true);
            let pre = if split {
                Pretokenizer::literal("metaspace", &replacement, Behavior::MergedWithNext)?
            } else {
                Pretokenizer::from_spec("none")?
            };
            Ok((
                pre,
                Some(Metaspace {
                    replacement,
                    prepend,
                }),
            ))
        }
        other => Err(unsupported(&format!("pre_tokenizer {other}"))),
    }
}

/// The pre-tokenizer for a Split pattern, named when it is a built-in one.
fn named_pattern(pattern: &str) -> Result<Pretokenizer> {
    use crate::train::superbpe;
    let known = [
        ("gpt2", crate::pretokenize::GPT2_PATTERN),
        ("llama3", crate::pretokenize::LLAMA3_PATTERN),
        ("o200k", crate::pretokenize::O200K_PATTERN),
        ("qwen2", crate::pretokenize::QWEN2_PATTERN),
        ("cl100k", crate::pretokenize::CL100K_PATTERN),
        ("r50k", crate::pretokenize::R50K_PATTERN),
        ("superbpe-paper-stage1", superbpe::PAPER_STAGE1),
        ("superbpe-paper-stage2", superbpe::PAPER_STAGE2),
        ("superbpe-recommended-stage1", superbpe::RECOMMENDED_STAGE1),
        ("superbpe-recommended-stage2", superbpe::RECOMMENDED_STAGE2),
    ];
    match known.iter().find(|(_, p)| *p == pattern) {
        Some(("gpt2", _)) => Pretokenizer::from_spec("gpt2"),
        Some((name, _)) => Pretokenizer::regex_named(name, pattern),
        None => Pretokenizer::regex_named("custom", pattern),
    }
}

/// `<0xXX>`, SentencePiece's name of a byte-fallback token, as its byte.
#[must_use]
pub fn fallback_byte(token: &str) -> Option<u8> {
    let hex = token.strip_prefix("<0x")?.strip_suffix('>')?;
    (hex.len() == 2)
        .then(|| u8::from_str_radix(hex, 16).ok())
        .flatten()
}

fn model_flags(model: &ModelJson) -> Result<()> {
    for (key, value) in [
        (
            "continuing_subword_prefix",
            &model.continuing_subword_prefix,
        ),
        ("end_of_word_suffix", &model.end_of_word_suffix),
    ] {
        if value.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(unsupported(&format!("BPE {key}")));
        }
    }
    if model.dropout.is_some() {
        return Err(unsupported("BPE dropout"));
    }
    Ok(())
}

/// Parses a BPE `tokenizer.json`: byte-level, or SentencePiece-style (characters, byte
/// fallback, `▁` for spaces).
///
/// # Errors
/// [`Error::Serialization`] if the JSON is malformed or describes something else; the message
/// says what is supported.
pub fn from_json(text: &str) -> Result<LoadedBpe> {
    from_typed(&TokenizerJson::parse(text)?)
}

/// [`from_json`] on a parsed file.
///
/// # Errors
/// As [`from_json`].
pub fn from_typed(root: &TokenizerJson) -> Result<LoadedBpe> {
    let model = &root.model;
    match model.kind.as_deref() {
        Some("BPE") => {}
        Some(other) => return Err(unsupported(&format!("a {other} model"))),
        None => return Err(unsupported("a model without a type")),
    }
    model_flags(model)?;
    let pre_json = &root.pre_tokenizer;
    let byte_level = has_byte_level(pre_json);
    let normalizer = Normalizer::from_json(&root.normalizer)?;
    let (pretokenizer, metaspace) = if byte_level {
        if normalizer.is_some() {
            return Err(unsupported("a normalizer in a byte-level model"));
        }
        (byte_level_pretokenizer(pre_json)?, None)
    } else {
        char_pretokenizer(pre_json)?
    };
    let space_symbol = normalizer
        .as_ref()
        .and_then(Normalizer::space_symbol)
        .or(metaspace.as_ref().map(|m| m.replacement.as_str()))
        .map(str::to_owned);

    let mut added = Vec::new();
    let mut normalized_added = Vec::new();
    for t in &root.added_tokens {
        for (k, set) in [
            ("lstrip", t.lstrip),
            ("rstrip", t.rstrip),
            ("single_word", t.single_word),
        ] {
            if set {
                return Err(unsupported(&format!(
                    "added token {:?} with {k}=true (only lstrip, rstrip and single_word all \
                     false are supported)",
                    t.content
                )));
            }
        }
        added.push((t.content.clone(), t.id, t.special));
        normalized_added.push(t.normalized);
    }
    let vocab = model
        .vocab
        .as_object()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| unsupported("no vocab"))?;
    let vocab_id = |v: &Value| {
        v.as_u64()
            .and_then(|i| TokenId::try_from(i).ok())
            .ok_or_else(|| unsupported("a non-integer vocab id"))
    };
    let mut size = 0;
    for id in vocab.values() {
        size = size.max(vocab_id(id)? as usize + 1);
    }
    let size = size.max(added.iter().map(|a| a.1 as usize + 1).max().unwrap_or(0));
    let count = vocab.len() + added.len();
    if size > 4 * count + 1024 {
        // Ids index a table allocated up front: a few holes are fine, a stray huge id is not.
        return Err(Error::Serialization(format!(
            "ids reach {} but there are only {count} tokens; ids this sparse are not a vocab",
            size - 1
        )));
    }
    let mut tokens = vec![Vec::new(); size];
    let mut strings = vec![String::new(); if byte_level { 0 } else { size }];
    let byte_fallback = model.byte_fallback;
    let mut ids = std::collections::HashMap::with_capacity(vocab.len());
    for (string, id) in vocab {
        let id = vocab_id(id)? as usize;
        tokens[id] = if byte_level {
            byte_level::string_to_bytes(string).unwrap_or_else(|| string.as_bytes().to_vec())
        } else {
            sp_token_bytes(string, byte_fallback, space_symbol.as_deref())
        };
        if !byte_level {
            strings[id].clone_from(string);
        }
        ids.insert(string.as_str(), id as TokenId);
    }
    for ((content, id, _), &normalized) in added.iter().zip(&normalized_added) {
        // A normalized added token is matched in normalized text, where `▁` stands for a space.
        tokens[*id as usize] = if normalized && !byte_level {
            sp_token_bytes(content, false, space_symbol.as_deref())
        } else {
            content.as_bytes().to_vec()
        };
    }
    let merges = parse_merges(model, &ids)?;
    let symbols = if byte_level {
        Symbols::Bytes
    } else {
        let unk = match model.unk_token.as_deref() {
            Some(unk) => Some(*ids.get(unk).ok_or_else(|| {
                Error::Serialization(format!("unk_token {unk:?} is not in the vocab"))
            })?),
            None => None,
        };
        Symbols::Chars(CharVocab {
            strings,
            byte_fallback,
            unk,
            fuse_unk: model.fuse_unk,
        })
    };
    Ok(LoadedBpe {
        tokens,
        added,
        merges,
        pretokenizer,
        pipeline: Pipeline {
            normalizer,
            metaspace,
            symbols,
            ignore_merges: model.ignore_merges,
            normalized_added,
        },
    })
}

/// The bytes a SentencePiece-style token stands for.
fn sp_token_bytes(token: &str, byte_fallback: bool, space_symbol: Option<&str>) -> Vec<u8> {
    if byte_fallback {
        if let Some(b) = fallback_byte(token) {
            return vec![b];
        }
    }
    match space_symbol {
        Some(sym) => token.replace(sym, " ").into_bytes(),
        None => token.as_bytes().to_vec(),
    }
}

fn parse_merges(
    model: &ModelJson,
    ids: &std::collections::HashMap<&str, TokenId>,
) -> Result<Vec<(TokenId, TokenId)>> {
    let id = |s: &str| {
        ids.get(s).copied().ok_or_else(|| {
            Error::Serialization(format!("merge uses {s:?}, which is not in the vocab"))
        })
    };
    let merges = model
        .merges
        .as_array()
        .ok_or_else(|| unsupported("merges that are not a list"))?;
    merges
        .iter()
        .map(|m| {
            let (left, right) = merge_sides(m)?;
            Ok((id(left)?, id(right)?))
        })
        .collect()
}
