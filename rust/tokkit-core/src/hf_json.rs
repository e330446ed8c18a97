//! Reading and writing Hugging Face `tokenizer.json` for byte-level BPE: the format `tokenizers`
//! and `transformers` load. Vocab entries are written in id order and merges as `[left, right]`
//! pairs (the `tokenizers` >= 0.20 form; both forms are read).

use serde_json::{Map, Value, json};

use crate::byte_level;
use crate::error::{Error, Result};
use crate::pretokenize::Pretokenizer;
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

/// A byte-level BPE tokenizer as read back from `tokenizer.json`.
#[derive(Debug)]
pub struct LoadedBpe {
    /// Every token's bytes by id (added tokens: their UTF-8 text).
    pub tokens: Vec<Vec<u8>>,
    /// Added tokens `(text, id, special)`.
    pub added: Vec<(String, TokenId, bool)>,
    /// Merges `(left id, right id)` in rank order.
    pub merges: Vec<(TokenId, TokenId)>,
    /// The split behaviour.
    pub pretokenizer: Pretokenizer,
}

fn unsupported(what: &str) -> Error {
    Error::Serialization(format!(
        "unsupported tokenizer.json: {what}. tokkit's own encoder reads the byte-level BPE files tokkit \
         writes (ByteLevel pre-tokenizer, optionally after a Split regex); load other tokenizers with \
         the `tokenizers` library"
    ))
}

fn pretokenizer_from(value: &Value) -> Result<Pretokenizer> {
    let kind = value.get("type").and_then(Value::as_str).unwrap_or("null");
    match kind {
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
            let kind = |v: &Value| {
                v.get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let (digits, rest) = match parts.split_first() {
                Some((first, rest)) if kind(first) == "Digits" => {
                    if first.get("individual_digits").and_then(Value::as_bool) == Some(true) {
                        return Err(unsupported("Digits with individual_digits=true"));
                    }
                    (true, rest)
                }
                _ => (false, parts.as_slice()),
            };
            let pre = match rest {
                [bl] if kind(bl) == "ByteLevel"
                    && bl.get("use_regex").and_then(Value::as_bool) == Some(false) =>
                {
                    Pretokenizer::from_spec("none")?
                }
                [split, bl]
                    if kind(split) == "Split"
                        && kind(bl) == "ByteLevel"
                        && bl.get("use_regex").and_then(Value::as_bool) == Some(false) =>
                {
                    let pattern = split
                        .pointer("/pattern/Regex")
                        .and_then(Value::as_str)
                        .ok_or_else(|| unsupported("a Split without a Regex pattern"))?;
                    if split.get("behavior").and_then(Value::as_str) != Some("Isolated")
                        || split.get("invert").and_then(Value::as_bool) == Some(true)
                    {
                        return Err(unsupported("a Split that is not Isolated"));
                    }
                    named_pattern(pattern)?
                }
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
        other => Err(unsupported(&format!("pre_tokenizer type {other}"))),
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

/// Parses a byte-level BPE `tokenizer.json`.
///
/// # Errors
/// [`Error::Serialization`] if the JSON is malformed or describes something else.
pub fn from_json(text: &str) -> Result<LoadedBpe> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| Error::Serialization(format!("not valid JSON: {e}")))?;
    let model = root.get("model").ok_or_else(|| unsupported("no model"))?;
    if model.get("type").and_then(Value::as_str) != Some("BPE") {
        return Err(unsupported("the model is not BPE"));
    }
    if root.get("normalizer").is_some_and(|n| !n.is_null()) {
        return Err(unsupported("a normalizer"));
    }
    let pretokenizer = pretokenizer_from(root.get("pre_tokenizer").unwrap_or(&Value::Null))?;
    let added: Vec<(String, TokenId, bool)> = root
        .get("added_tokens")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|t| {
                    let content = t.get("content")?.as_str()?.to_owned();
                    let id = TokenId::try_from(t.get("id")?.as_u64()?).ok()?;
                    Some((
                        content,
                        id,
                        t.get("special").and_then(Value::as_bool).unwrap_or(false),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
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
    let mut ids = std::collections::HashMap::with_capacity(vocab.len());
    for (string, id) in vocab {
        let id = id
            .as_u64()
            .ok_or_else(|| unsupported("a non-integer vocab id"))? as usize;
        let bytes =
            byte_level::string_to_bytes(string).unwrap_or_else(|| string.as_bytes().to_vec());
        tokens[id] = bytes;
        ids.insert(string.as_str(), id as TokenId);
    }
    for (content, id, _) in &added {
        tokens[*id as usize] = content.as_bytes().to_vec();
    }
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
    Ok(LoadedBpe {
        tokens,
        added,
        merges,
        pretokenizer,
    })
}
