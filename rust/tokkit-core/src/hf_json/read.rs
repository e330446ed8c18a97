//! Reading a BPE `tokenizer.json` into what the encoder needs: token bytes, added tokens,
//! merges, the pre-tokenizer and the rest of the pipeline (byte-level, or SentencePiece-style
//! characters with byte fallback).

use std::borrow::Cow;

use serde_json::Value;

use super::view::{self, FileView, MergeStop, MergesView, VocabView, index_vocab};
use super::{AddedTokenJson, TokenizerJson, merge_shape};
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

/// What loading reads of the `model` section, from a typed file or a [`view`].
struct ModelParts<'a> {
    kind: Option<&'a str>,
    dropout: Option<f64>,
    unk_token: Option<&'a str>,
    continuing_subword_prefix: Option<&'a str>,
    end_of_word_suffix: Option<&'a str>,
    fuse_unk: bool,
    byte_fallback: bool,
    ignore_merges: bool,
    vocab: VocabView<'a>,
    merges: MergesView<'a>,
}

/// What loading reads of a `tokenizer.json`.
struct Parts<'a> {
    added_tokens: &'a [AddedTokenJson],
    normalizer: &'a Value,
    pre_tokenizer: &'a Value,
    model: ModelParts<'a>,
}

impl<'a> Parts<'a> {
    fn of_view(file: &'a FileView<'a>) -> Self {
        let m = &file.model;
        // The vocab and merges are moved out below: `build` takes them by value.
        Self {
            added_tokens: &file.added_tokens,
            normalizer: &file.normalizer,
            pre_tokenizer: &file.pre_tokenizer,
            model: ModelParts {
                kind: m.kind.as_deref(),
                dropout: m.dropout,
                unk_token: m.unk_token.as_deref(),
                continuing_subword_prefix: m.continuing_subword_prefix.as_deref(),
                end_of_word_suffix: m.end_of_word_suffix.as_deref(),
                fuse_unk: m.fuse_unk,
                byte_fallback: m.byte_fallback,
                ignore_merges: m.ignore_merges,
                vocab: VocabView::default(),
                merges: MergesView::default(),
            },
        }
    }

    fn of_typed(root: &'a TokenizerJson) -> Self {
        let m = &root.model;
        let vocab = VocabView {
            entries: m.vocab.as_object().map(|map| {
                map.iter()
                    .map(|(k, v)| {
                        let id = v.as_u64().and_then(|i| TokenId::try_from(i).ok());
                        (Cow::Borrowed(k.as_str()), id)
                    })
                    .collect()
            }),
            index: None,
        };
        let merges = match m.merges.as_array() {
            None => MergesView::NotAList,
            Some(list) => {
                let mut pairs = Vec::with_capacity(list.len());
                let mut bad = None;
                for merge in list {
                    match merge_shape(merge) {
                        Ok((a, b)) => pairs.push((Cow::Borrowed(a), Cow::Borrowed(b))),
                        Err(what) => {
                            bad = Some(what);
                            break;
                        }
                    }
                }
                MergesView::Texts(pairs, bad)
            }
        };
        Self {
            added_tokens: &root.added_tokens,
            normalizer: &root.normalizer,
            pre_tokenizer: &root.pre_tokenizer,
            model: ModelParts {
                kind: m.kind.as_deref(),
                dropout: m.dropout,
                unk_token: m.unk_token.as_deref(),
                continuing_subword_prefix: m.continuing_subword_prefix.as_deref(),
                end_of_word_suffix: m.end_of_word_suffix.as_deref(),
                fuse_unk: m.fuse_unk,
                byte_fallback: m.byte_fallback,
                ignore_merges: m.ignore_merges,
                vocab,
                merges,
            },
        }
    }
}

fn model_flags(model: &ModelParts<'_>) -> Result<()> {
    for (key, value) in [
        ("continuing_subword_prefix", model.continuing_subword_prefix),
        ("end_of_word_suffix", model.end_of_word_suffix),
    ] {
        if value.is_some_and(|s| !s.is_empty()) {
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
    match view::parse(text) {
        Ok(mut file) => {
            let vocab = std::mem::take(&mut file.model.vocab);
            let merges = std::mem::take(&mut file.model.merges);
            let mut parts = Parts::of_view(&file);
            parts.model.vocab = vocab;
            parts.model.merges = merges;
            build(parts)
        }
        // The typed parse says where the file is malformed (the view accepts whatever it does).
        Err(_) => from_typed(&TokenizerJson::parse(text)?),
    }
}

/// [`from_json`] on a parsed file.
///
/// # Errors
/// As [`from_json`].
pub fn from_typed(root: &TokenizerJson) -> Result<LoadedBpe> {
    build(Parts::of_typed(root))
}

/// The vocab with each text once, as a JSON object map keeps it: where the first copy stood,
/// with the last copy's id.
fn dedup<'a>(
    entries: Vec<(Cow<'a, str>, Option<TokenId>)>,
) -> Vec<(Cow<'a, str>, Option<TokenId>)> {
    let mut at: std::collections::HashMap<Cow<'a, str>, usize> = std::collections::HashMap::new();
    let mut out: Vec<(Cow<'a, str>, Option<TokenId>)> = Vec::with_capacity(entries.len());
    for (text, id) in entries {
        match at.get(&text) {
            Some(&i) => out[i].1 = id,
            None => {
                at.insert(text.clone(), out.len());
                out.push((text, id));
            }
        }
    }
    out
}

fn build(parts: Parts<'_>) -> Result<LoadedBpe> {
    let Parts {
        added_tokens,
        normalizer: normalizer_json,
        pre_tokenizer: pre_json,
        model,
    } = parts;
    match model.kind {
        Some("BPE") => {}
        Some(other) => return Err(unsupported(&format!("a {other} model"))),
        None => return Err(unsupported("a model without a type")),
    }
    model_flags(&model)?;
    let byte_level = has_byte_level(pre_json);
    let normalizer = Normalizer::from_json(normalizer_json)?;
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
    for t in added_tokens {
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
    let VocabView {
        entries,
        index: indexed,
    } = model.vocab;
    let mut vocab = match entries {
        Some(entries) if !entries.is_empty() => entries,
        _ => return Err(unsupported("no vocab")),
    };
    let (texts, index) = match indexed.or_else(|| index_vocab(&vocab)) {
        Some(indexed) => indexed,
        None => {
            vocab = dedup(vocab);
            index_vocab(&vocab).expect("texts are unique after dedup")
        }
    };
    let mut size = 0;
    for (_, id) in &vocab {
        let id = id.ok_or_else(|| unsupported("a non-integer vocab id"))?;
        size = size.max(id as usize + 1);
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
    // Every id is known to be an integer now.
    let id_at = |i: u32| vocab[i as usize].1.unwrap_or_default();
    let mut tokens = vec![Vec::new(); size];
    let mut strings = vec![String::new(); if byte_level { 0 } else { size }];
    let byte_fallback = model.byte_fallback;
    let space_finder = space_symbol.as_deref().map(memchr::memmem::Finder::new);
    for (string, id) in &vocab {
        let id = id.unwrap_or_default() as usize;
        if byte_level {
            tokens[id] =
                byte_level::string_to_bytes(string).unwrap_or_else(|| string.as_bytes().to_vec());
        } else {
            tokens[id] = sp_token_bytes(string, byte_fallback, space_finder.as_ref());
            strings[id] = string.as_ref().to_owned();
        }
    }
    for ((content, id, _), &normalized) in added.iter().zip(&normalized_added) {
        // A normalized added token is matched in normalized text, where `▁` stands for a space.
        tokens[*id as usize] = if normalized && !byte_level {
            sp_token_bytes(content, false, space_finder.as_ref())
        } else {
            content.as_bytes().to_vec()
        };
    }
    let vocab_id = |s: &str| index.get(s.as_bytes(), |i| texts.get(i)).map(id_at);
    let merges = resolve_merges(model.merges, vocab_id, id_at)?;
    let symbols = if byte_level {
        Symbols::Bytes
    } else {
        let unk = match model.unk_token {
            Some(unk) => Some(vocab_id(unk).ok_or_else(|| {
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

/// The bytes a SentencePiece-style token stands for; `space` finds the space symbol.
fn sp_token_bytes(
    token: &str,
    byte_fallback: bool,
    space: Option<&memchr::memmem::Finder<'_>>,
) -> Vec<u8> {
    if byte_fallback {
        if let Some(b) = fallback_byte(token) {
            return vec![b];
        }
    }
    match space {
        // Most tokens hold no space symbol: they are copied as they are.
        Some(sym) if sym.find(token.as_bytes()).is_some() => {
            let sym = std::str::from_utf8(sym.needle()).expect("the space symbol is text");
            token.replace(sym, " ").into_bytes()
        }
        _ => token.as_bytes().to_vec(),
    }
}

/// The merges as id pairs, in rank order: an error for the first that uses a text outside the
/// vocab or is malformed, and for merges that are no list. `id` finds a text's id, `id_at` the
/// id of a vocab entry.
fn resolve_merges(
    merges: MergesView<'_>,
    id: impl Fn(&str) -> Option<TokenId>,
    id_at: impl Fn(u32) -> TokenId,
) -> Result<Vec<(TokenId, TokenId)>> {
    let unknown =
        |s: &str| Error::Serialization(format!("merge uses {s:?}, which is not in the vocab"));
    match merges {
        MergesView::NotAList => Err(unsupported("merges that are not a list")),
        MergesView::Texts(pairs, bad) => {
            let id = |s: &str| id(s).ok_or_else(|| unknown(s));
            let mut out = Vec::with_capacity(pairs.len());
            for (left, right) in &pairs {
                out.push((id(left)?, id(right)?));
            }
            match bad {
                Some(what) => Err(unsupported(what)),
                None => Ok(out),
            }
        }
        MergesView::Entries(pairs, stop) => {
            let out = pairs.iter().map(|&(a, b)| (id_at(a), id_at(b))).collect();
            match stop {
                None => Ok(out),
                Some(MergeStop::Malformed(what)) => Err(unsupported(what)),
                Some(MergeStop::Unknown(text)) => Err(unknown(&text)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// Loads `text` through the view (`from_json`) and through the typed file: the same parts,
    /// or the same error. Returns the error's text, if any.
    fn both(text: &str) -> Option<String> {
        let show = |r: Result<LoadedBpe>| r.map(|l| format!("{l:?}")).map_err(|e| e.to_string());
        let fast = show(from_json(text));
        let typed = TokenizerJson::parse(text);
        if typed.is_ok() {
            // Everything the typed file accepts goes the fast way, not through the fallback.
            assert!(view::parse(text).is_ok(), "the view refuses {text}");
        }
        assert_eq!(fast, show(typed.and_then(|t| from_typed(&t))), "{text}");
        fast.err()
    }

    fn byte_level_file() -> Value {
        json!({
            "added_tokens": [{"id": 5, "content": "<s>", "special": true}],
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
            "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġab": 4},
                      "merges": [["a", "b"], "Ġ ab"]},
        })
    }

    fn sp_file() -> Value {
        json!({
            "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
            "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true,
                      "vocab": {"<unk>": 0, "<0x41>": 1, "▁": 2, "a": 3, "▁a": 4},
                      "merges": [["▁", "a"]]},
        })
    }

    fn with(mut file: Value, pointer: &str, value: Value) -> String {
        *file.pointer_mut(pointer).expect("the pointer exists") = value;
        file.to_string()
    }

    #[test]
    fn the_view_loads_what_the_typed_file_loads() {
        assert_eq!(both(&byte_level_file().to_string()), None);
        assert_eq!(both(&sp_file().to_string()), None);
        // Fields loading does not know are skipped, whatever they hold.
        let mut extra = byte_level_file();
        extra["model"]["extra"] = json!({"merges": 1, "vocab": [1]});
        assert_eq!(both(&extra.to_string()), None);
        // Escapes (copied, not borrowed), a joined merge with an escaped space, merges first.
        let escaped = r#"{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE",
            "merges": [["\u0061", "b"], "\u0061b\u0020c"],
            "vocab": {"\u0061": 0, "b": 1, "a\u0062": 2, "c": 3, "abc": 4}}}"#;
        assert_eq!(both(escaped), None);
        let loaded = from_json(escaped).unwrap();
        assert_eq!(loaded.merges, [(0, 1), (2, 3)]);
        assert_eq!(loaded.tokens[4], b"abc");
    }

    /// A text given twice keeps its first place and its last id, as a JSON object map keeps it;
    /// the id it had first is a hole.
    #[test]
    fn duplicate_vocab_texts_keep_the_last_id() {
        let dup = r#"{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE",
            "vocab": {"a": 0, "b": 1, "a": 2, "ab": 3}, "merges": [["a", "b"]]}}"#;
        assert_eq!(both(dup), None);
        let loaded = from_json(dup).unwrap();
        assert_eq!(loaded.tokens[0], b"");
        assert_eq!(loaded.merges, [(2, 1)]);
        // An id that is no integer is forgotten when the text comes again with one.
        let fixed = r#"{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE",
            "vocab": {"a": "x", "b": 1, "a": 0}, "merges": []}}"#;
        assert_eq!(both(fixed), None);
    }

    #[test]
    fn bad_vocabs_give_the_typed_files_errors() {
        let no_vocab = |v: Value| both(&with(byte_level_file(), "/model/vocab", v));
        for v in [
            json!([["a", 0.0]]),
            json!("a"),
            json!(null),
            json!({}),
            json!(3),
        ] {
            assert!(no_vocab(v).unwrap().contains("no vocab"));
        }
        for id in [
            json!(1.5),
            json!(-1),
            json!(5_000_000_000u64),
            json!("0"),
            json!([0]),
        ] {
            let err = both(&with(byte_level_file(), "/model/vocab/b", id)).unwrap();
            assert!(err.contains("non-integer vocab id"), "{err}");
        }
        let err = both(&with(byte_level_file(), "/model/vocab/b", json!({"x": 1}))).unwrap();
        assert!(err.contains("non-integer vocab id"), "{err}");
        let err = both(&with(byte_level_file(), "/model/vocab/b", json!(1_000_000))).unwrap();
        assert!(err.contains("sparse"), "{err}");
        let err = both(&with(sp_file(), "/model/unk_token", json!("<nope>"))).unwrap();
        assert!(err.contains("not in the vocab"), "{err}");
    }

    /// Each merge list as the file's (read with the vocab at hand) and before the vocab (read
    /// as texts, looked up afterwards): the same error from both, which it returns.
    fn merges_error(merges: Value) -> String {
        let after = both(&with(byte_level_file(), "/model/merges", merges.clone())).unwrap();
        let vocab = &byte_level_file()["model"]["vocab"];
        let before = format!(
            r#"{{"pre_tokenizer": {{"type": "ByteLevel"}},
                "model": {{"type": "BPE", "merges": {merges}, "vocab": {vocab}}}}}"#
        );
        assert_eq!(both(&before).unwrap(), after);
        after
    }

    #[test]
    fn bad_merges_give_the_typed_files_errors_in_order() {
        let merges = merges_error;
        for m in [json!({}), json!(null), json!("a b")] {
            assert!(merges(m).contains("merges that are not a list"));
        }
        let shapes = [
            (json!(["a"]), "not two strings"),
            (json!(["a", "b", "c"]), "not two strings"),
            (json!([1, "b"]), "not two strings"),
            (json!(["a", ["b"]]), "not two strings"),
            (json!("ab"), "without a space"),
            (json!(5), "neither"),
            (json!(null), "neither"),
            (json!({"a": "b"}), "neither"),
        ];
        for (bad, what) in shapes {
            let err = merges(json!([["a", "b"], bad, "x y"]));
            assert!(err.contains(what), "{bad}: {err}");
        }
        // The first problem in file order is the one reported.
        assert!(merges(json!([["x", "b"], 5])).contains("merge uses \"x\""));
        assert!(merges(json!([5, ["x", "b"]])).contains("neither"));
        let missing = r#"{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE",
            "vocab": {"a": 0}}}"#;
        assert!(
            both(missing)
                .unwrap()
                .contains("merges that are not a list")
        );
    }

    #[test]
    fn malformed_files_name_where() {
        for text in [
            "",
            "{",
            "[]",
            r#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [}}"#,
            r#"{"version": 1, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#,
            r#"{"model": {"type": "BPE", "fuse_unk": null, "vocab": {"a": 0}, "merges": []}}"#,
            r#"{"added_tokens": {}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#,
            r#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "model": {}}"#,
            r#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "vocab": {}}}"#,
            r#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "merges": []}}"#,
            r#"{"truncation": [1,}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#,
        ] {
            let err = both(text).unwrap();
            assert!(err.contains("not a tokenizer.json"), "{text}: {err}");
        }
    }
}
