//! Reading and writing Hugging Face `tokenizer.json`: byte-level BPE both ways, and reading
//! SentencePiece-style BPE (Gemma, Llama-2: characters with byte fallback, `▁` for spaces). Vocab entries are written in id order and merges as `[left, right]`
//! pairs (the `tokenizers` >= 0.20 form; both forms are read).

use serde_json::{Map, Value, json};

use crate::byte_level;
use crate::error::{Error, Result};
use crate::normalize::{Metaspace, Normalizer, PrependScheme, unsupported};
use crate::pretokenize::{Behavior, Pretokenizer};
use crate::train::{BpeModel, TokenId};

fn byte_level(use_regex: bool) -> Value {
    json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex})
}

/// The `pre_tokenizer` section for `pretokenizer`: ByteLevel's own GPT-2 split, a `Split` regex
/// followed by a non-splitting ByteLevel, or a non-splitting ByteLevel alone.
#[must_use]
pub fn pre_tokenizer_json(pretokenizer: &Pretokenizer) -> Value {
    let digits = pretokenizer.isolates_digits();
    match (pretokenizer.name(), pretokenizer.pattern()) {
        ("gpt2", _) if !digits => byte_level(true),
        (_, None) if !digits => byte_level(false),
        (_, pattern) => {
            let mut chain = Vec::new();
            if digits {
                chain.push(json!({"type": "Digits", "individual_digits": false}));
            }
            if let Some(pattern) = pattern {
                chain.push(json!({
                    "type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false,
                }));
            }
            chain.push(byte_level(false));
            json!({"type": "Sequence", "pretokenizers": chain})
        }
    }
}

/// The whole `tokenizer.json` of a trained model.
#[must_use]
pub fn to_json(model: &BpeModel, pretokenizer: &Pretokenizer) -> Value {
    let learned_end = model.tokens.len() - model.num_padding;
    let added: Vec<Value> = (0..model.num_special)
        .chain(learned_end..model.tokens.len())
        .map(|id| {
            json!({
                "id": id, "content": model.token_string(id as TokenId), "single_word": false,
                "lstrip": false, "rstrip": false, "normalized": false,
                "special": id < model.num_special,
            })
        })
        .collect();
    // Padding tokens are added tokens only: HF numbers added tokens after the model's vocab.
    let mut vocab = Map::with_capacity(model.tokens.len());
    for id in 0..learned_end {
        vocab
            .entry(model.token_string(id as TokenId))
            .or_insert(json!(id));
    }
    let merges: Vec<Value> = model
        .merges
        .iter()
        .map(|&(a, b)| json!([model.token_string(a), model.token_string(b)]))
        .collect();
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer_json(pretokenizer),
        "post_processor": null,
        "decoder": byte_level(true),
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": merges,
        },
    })
}

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

fn model_flags(model: &Value) -> Result<()> {
    for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
        if model
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
        {
            return Err(unsupported(&format!("BPE {key}")));
        }
    }
    if model.get("dropout").is_some_and(|d| !d.is_null()) {
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
    let root: Value = serde_json::from_str(text)
        .map_err(|e| Error::Serialization(format!("not valid JSON: {e}")))?;
    let model = root.get("model").ok_or_else(|| unsupported("no model"))?;
    match model.get("type").and_then(Value::as_str) {
        Some("BPE") => {}
        Some(other) => return Err(unsupported(&format!("a {other} model"))),
        None => return Err(unsupported("a model without a type")),
    }
    model_flags(model)?;
    let pre_json = root.get("pre_tokenizer").unwrap_or(&Value::Null);
    let byte_level = has_byte_level(pre_json);
    let normalizer = Normalizer::from_json(root.get("normalizer").unwrap_or(&Value::Null))?;
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
    for t in root
        .get("added_tokens")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
    {
        let (Some(content), Some(id)) = (
            t.get("content").and_then(Value::as_str),
            t.get("id")
                .and_then(Value::as_u64)
                .and_then(|i| TokenId::try_from(i).ok()),
        ) else {
            return Err(unsupported("an added token without content or id"));
        };
        let flag = |k: &str| t.get(k).and_then(Value::as_bool).unwrap_or(false);
        for k in ["lstrip", "rstrip", "single_word"] {
            if flag(k) {
                return Err(unsupported(&format!(
                    "added token {content:?} with {k}=true (only lstrip, rstrip and \
                     single_word all false are supported)"
                )));
            }
        }
        added.push((content.to_owned(), id, flag("special")));
        normalized_added.push(flag("normalized"));
    }
    let vocab = model
        .get("vocab")
        .and_then(Value::as_object)
        .ok_or_else(|| unsupported("no vocab"))?;
    let size = vocab
        .values()
        .filter_map(Value::as_u64)
        .max()
        .map_or(0, |m| m as usize + 1);
    let size = size.max(added.iter().map(|a| a.1 as usize + 1).max().unwrap_or(0));
    let mut tokens = vec![Vec::new(); size];
    let mut strings = vec![String::new(); if byte_level { 0 } else { size }];
    let byte_fallback = model
        .get("byte_fallback")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut ids = std::collections::HashMap::with_capacity(vocab.len());
    for (string, id) in vocab {
        let id = id
            .as_u64()
            .ok_or_else(|| unsupported("a non-integer vocab id"))? as usize;
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
        let unk = match model.get("unk_token").and_then(Value::as_str) {
            Some(unk) => Some(*ids.get(unk).ok_or_else(|| {
                Error::Serialization(format!("unk_token {unk:?} is not in the vocab"))
            })?),
            None => None,
        };
        Symbols::Chars(CharVocab {
            strings,
            byte_fallback,
            unk,
            fuse_unk: model
                .get("fuse_unk")
                .and_then(Value::as_bool)
                .unwrap_or(false),
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
            ignore_merges: model
                .get("ignore_merges")
                .and_then(Value::as_bool)
                .unwrap_or(false),
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
    model: &Value,
    ids: &std::collections::HashMap<&str, TokenId>,
) -> Result<Vec<(TokenId, TokenId)>> {
    let merges_json = model
        .get("merges")
        .and_then(Value::as_array)
        .ok_or_else(|| unsupported("no merges"))?;
    let mut merges = Vec::with_capacity(merges_json.len());
    for m in merges_json {
        let (left, right) = match m {
            Value::String(s) => s
                .split_once(' ')
                .ok_or_else(|| unsupported("a merge without a space"))?,
            Value::Array(pair) if pair.len() == 2 => (
                pair[0]
                    .as_str()
                    .ok_or_else(|| unsupported("a non-string merge"))?,
                pair[1]
                    .as_str()
                    .ok_or_else(|| unsupported("a non-string merge"))?,
            ),
            _ => return Err(unsupported("a malformed merge")),
        };
        let id = |s: &str| {
            ids.get(s).copied().ok_or_else(|| {
                Error::Serialization(format!("merge uses {s:?}, which is not in the vocab"))
            })
        };
        merges.push((id(left)?, id(right)?));
    }
    Ok(merges)
}
