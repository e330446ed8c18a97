//! Reading and writing Hugging Face `tokenizer.json`: byte-level BPE both ways, and reading
//! SentencePiece-style BPE (Gemma, Llama-2: characters with byte fallback, `▁` for spaces).
//!
//! The file goes through typed serde structures ([`TokenizerJson`], [`AddedTokenJson`],
//! [`ModelJson`]); the normalizer and pre-tokenizer sections, whose variety is open-ended, stay
//! JSON values that [`Normalizer::from_json`] and this module's pre-tokenizer readers decode.
//! Vocab entries are written in id order and merges as `[left, right]` pairs (the form of
//! `tokenizers` 0.20 and later; both forms are read). Python builds and cuts `tokenizer.json`
//! through these functions too (`tokkit._tokkit.TokenizerJson`), so there is one writer.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::byte_level;
use crate::error::{Error, Result};
use crate::normalize::{Metaspace, Normalizer, PrependScheme, unsupported};
use crate::pretokenize::{Behavior, Pretokenizer};
use crate::train::{BpeModel, TokenId};

/// A `tokenizer.json`, in the field order `tokenizers` writes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenizerJson {
    /// Format version (`"1.0"`).
    #[serde(default = "version")]
    pub version: String,
    /// Truncation settings (tokkit writes none; reading ignores them: measuring never cuts).
    #[serde(default)]
    pub truncation: Value,
    /// Padding settings (as truncation).
    #[serde(default)]
    pub padding: Value,
    /// Added tokens, special or not.
    #[serde(default)]
    pub added_tokens: Vec<AddedTokenJson>,
    /// The normalizer section.
    #[serde(default)]
    pub normalizer: Value,
    /// The pre-tokenizer section.
    #[serde(default)]
    pub pre_tokenizer: Value,
    /// The post-processor section (BOS/EOS templates).
    #[serde(default)]
    pub post_processor: Value,
    /// The decoder section.
    #[serde(default)]
    pub decoder: Value,
    /// The model.
    pub model: ModelJson,
}

fn version() -> String {
    "1.0".into()
}

/// One entry of `added_tokens`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AddedTokenJson {
    /// Its id.
    pub id: TokenId,
    /// Its text.
    pub content: String,
    /// Matched only as a whole word.
    #[serde(default)]
    pub single_word: bool,
    /// Eats whitespace on its left.
    #[serde(default)]
    pub lstrip: bool,
    /// Eats whitespace on its right.
    #[serde(default)]
    pub rstrip: bool,
    /// Matched in normalized text.
    #[serde(default)]
    pub normalized: bool,
    /// A special token (never produced by plain text).
    #[serde(default)]
    pub special: bool,
}

/// The `model` section (BPE fields; other model types are read only far enough to be refused).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelJson {
    /// `BPE`, `WordPiece`, `Unigram`, `WordLevel`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// BPE dropout (must be unset).
    #[serde(default)]
    pub dropout: Option<f64>,
    /// The unknown token's text.
    #[serde(default)]
    pub unk_token: Option<String>,
    /// A prefix on non-initial subwords (unsupported when set).
    #[serde(default)]
    pub continuing_subword_prefix: Option<String>,
    /// A suffix on word-final subwords (unsupported when set).
    #[serde(default)]
    pub end_of_word_suffix: Option<String>,
    /// Adjacent unknown chars become one unknown token.
    #[serde(default)]
    pub fuse_unk: bool,
    /// Unknown chars become `<0xXX>` byte tokens.
    #[serde(default)]
    pub byte_fallback: bool,
    /// A pre-token found in the vocab is one token.
    #[serde(default)]
    pub ignore_merges: bool,
    /// Token text → id, in file order, for BPE (other models keep other shapes here).
    #[serde(default)]
    pub vocab: Value,
    /// Merges in rank order (BPE).
    #[serde(default)]
    pub merges: Value,
}

/// A merge: `["a", "b"]` (`tokenizers` >= 0.20) or `"a b"`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MergeJson {
    /// `["a", "b"]`.
    Pair(String, String),
    /// `"a b"`.
    Joined(String),
}

impl TokenizerJson {
    /// Parses the text of a `tokenizer.json`.
    ///
    /// # Errors
    /// [`Error::Serialization`] naming what is malformed.
    pub fn parse(text: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::Serialization(format!("not a tokenizer.json ({path}): {}", e.into_inner()))
        })
    }

    /// The text, pretty-printed as `tokenizers` does.
    #[must_use]
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).expect("tokenizer.json values serialise")
    }
}

impl TokenizerJson {
    /// The byte-level BPE `tokenizer.json` equivalent to GPT-2's original `encoder.json` and
    /// `vocab.bpe` ("data gym") files: `<|...|>` tokens become special added tokens.
    ///
    /// # Errors
    /// [`Error::Serialization`] if `encoder_json` is not an object of integer ids or a merges
    /// line is not one `a b` pair.
    pub fn from_data_gym(encoder_json: &str, merges_text: &str) -> Result<Self> {
        let vocab: Map<String, Value> = serde_json::from_str(encoder_json).map_err(|e| {
            Error::Serialization(format!("encoder.json is not a JSON object ({e})"))
        })?;
        if !vocab
            .values()
            .all(|v| v.as_u64().is_some_and(|i| i <= u64::from(TokenId::MAX)))
        {
            return Err(Error::Serialization(
                "encoder.json does not map tokens to integer ids".into(),
            ));
        }
        let mut merges = Vec::new();
        for line in merges_text.lines() {
            if line.is_empty() || line.starts_with("#version") {
                continue;
            }
            if line.split(' ').count() != 2 {
                return Err(Error::Serialization(format!(
                    "{line:?} is not a merge: a merges file has one 'a b' pair a line"
                )));
            }
            merges.push(MergeJson::Joined(line.to_owned()));
        }
        let added_tokens = vocab
            .iter()
            .filter(|(t, _)| t.starts_with("<|") && t.ends_with("|>"))
            .map(|(t, id)| AddedTokenJson {
                id: id
                    .as_u64()
                    .and_then(|i| TokenId::try_from(i).ok())
                    .unwrap_or_default(),
                content: t.clone(),
                single_word: false,
                lstrip: false,
                rstrip: false,
                normalized: true,
                special: true,
            })
            .collect();
        Ok(byte_level_bpe(
            added_tokens,
            byte_level(true),
            vocab,
            merges,
        ))
    }

    /// The fewest ids a cut of this BPE tokenizer can keep: its base alphabet (tokens no merge
    /// produces, added tokens among them) plus the added tokens outside the vocab.
    ///
    /// # Errors
    /// As [`TokenizerJson::truncated`].
    pub fn smallest_truncation(&self) -> Result<usize> {
        Ok(self.cut_plan()?.smallest())
    }

    /// The tokenizer cut to `size` ids: the base alphabet, added tokens and the first merges in
    /// id order, ids renumbered densely (added tokens outside the vocab after it); merges whose
    /// parts or result were cut are dropped, and the post-processor (whose ids would be stale).
    ///
    /// # Errors
    /// [`Error::Config`] if `size` is below [`TokenizerJson::smallest_truncation`];
    /// [`Error::Serialization`] if this is not a BPE tokenizer or its vocab or merges are
    /// malformed.
    pub fn truncated(&self, size: usize) -> Result<Self> {
        let plan = self.cut_plan()?;
        let smallest = plan.smallest();
        if size < smallest {
            return Err(Error::Config(format!(
                "cannot cut to {size} ids: the base alphabet and added tokens take {smallest}"
            ))
            .with_hint(format!("ask for {smallest} ids or more")));
        }
        let mut kept: Vec<(&str, TokenId)> = plan.base.clone();
        kept.extend(plan.grown.iter().take(size - smallest).copied());
        kept.sort_unstable_by_key(|&(_, id)| id);
        let mut vocab = Map::with_capacity(kept.len());
        for (i, (token, _)) in kept.iter().enumerate() {
            vocab.insert((*token).to_owned(), json!(i));
        }
        let new_id = |content: &str| match vocab.get(content).and_then(Value::as_u64) {
            Some(id) => id as usize,
            None => vocab.len() + plan.extra.iter().position(|&t| t == content).unwrap_or(0),
        };
        let added_tokens = self
            .added_tokens
            .iter()
            .map(|t| AddedTokenJson {
                id: new_id(&t.content) as TokenId,
                ..t.clone()
            })
            .collect();
        let merges: Vec<&Value> = plan
            .merges
            .iter()
            .filter(|(_, (a, b))| {
                let joined = format!("{a}{b}");
                [*a, *b, joined.as_str()]
                    .iter()
                    .all(|t| vocab.contains_key(*t))
            })
            .map(|(m, _)| *m)
            .collect();
        let mut cut = self.clone();
        cut.added_tokens = added_tokens;
        cut.post_processor = Value::Null;
        cut.model.merges = serde_json::to_value(merges).expect("merges serialise");
        cut.model.vocab = Value::Object(vocab);
        Ok(cut)
    }

    fn cut_plan(&self) -> Result<CutPlan<'_>> {
        if self.model.kind.as_deref() != Some("BPE") {
            return Err(unsupported(
                "a tokenizer that is not BPE (its vocabulary cannot be cut)",
            ));
        }
        let vocab = self
            .model
            .vocab
            .as_object()
            .ok_or_else(|| unsupported("no vocab"))?;
        let raw = self
            .model
            .merges
            .as_array()
            .ok_or_else(|| unsupported("no merges list"))?;
        let merges = raw
            .iter()
            .map(|m| Ok((m, merge_sides(m)?)))
            .collect::<Result<Vec<_>>>()?;
        let produced: std::collections::HashSet<String> =
            merges.iter().map(|(_, (a, b))| format!("{a}{b}")).collect();
        let added: std::collections::HashSet<&str> = self
            .added_tokens
            .iter()
            .map(|t| t.content.as_str())
            .collect();
        let mut base = Vec::new();
        let mut grown = Vec::new();
        for (token, id) in vocab {
            let id = id
                .as_u64()
                .and_then(|i| TokenId::try_from(i).ok())
                .ok_or_else(|| unsupported("a non-integer vocab id"))?;
            if produced.contains(token) && !added.contains(token.as_str()) {
                grown.push((token.as_str(), id));
            } else {
                base.push((token.as_str(), id));
            }
        }
        grown.sort_unstable_by_key(|&(_, id)| id);
        let mut extra: Vec<&AddedTokenJson> = self
            .added_tokens
            .iter()
            .filter(|t| !vocab.contains_key(&t.content))
            .collect();
        extra.sort_by_key(|t| t.id);
        Ok(CutPlan {
            base,
            grown,
            extra: extra.into_iter().map(|t| t.content.as_str()).collect(),
            merges,
        })
    }
}

/// The two sides of a merge as written: `["a", "b"]` or `"a b"`.
fn merge_sides(m: &Value) -> Result<(&str, &str)> {
    match m {
        Value::Array(pair) => match pair.as_slice() {
            [Value::String(a), Value::String(b)] => Ok((a, b)),
            _ => Err(unsupported("a merge list that is not two strings")),
        },
        Value::String(s) => s
            .split_once(' ')
            .ok_or_else(|| unsupported("a merge without a space")),
        _ => Err(unsupported(
            "a merge that is neither [\"a\", \"b\"] nor \"a b\"",
        )),
    }
}

/// A BPE vocabulary sorted for cutting (see [`TokenizerJson::truncated`]).
struct CutPlan<'a> {
    /// Tokens no merge produces, and added tokens, with their ids.
    base: Vec<(&'a str, TokenId)>,
    /// Tokens a merge produces, by id.
    grown: Vec<(&'a str, TokenId)>,
    /// Added tokens outside the vocab, by id.
    extra: Vec<&'a str>,
    /// Each merge as written, and its two sides.
    merges: Vec<(&'a Value, (&'a str, &'a str))>,
}

impl CutPlan<'_> {
    fn smallest(&self) -> usize {
        self.base.len() + self.extra.len()
    }
}

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
    serde_json::to_value(tokenizer_json(model, pretokenizer)).expect("tokenizer.json serialises")
}

/// The `tokenizer.json` of a trained model, typed.
#[must_use]
pub fn tokenizer_json(model: &BpeModel, pretokenizer: &Pretokenizer) -> TokenizerJson {
    let learned_end = model.tokens.len() - model.num_padding;
    let added_tokens = (0..model.num_special)
        .chain(learned_end..model.tokens.len())
        .map(|id| AddedTokenJson {
            id: id as TokenId,
            content: model.token_string(id as TokenId),
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: id < model.num_special,
        })
        .collect();
    // Padding tokens are added tokens only: HF numbers added tokens after the model's vocab.
    let mut vocab = Map::with_capacity(model.tokens.len());
    for id in 0..learned_end {
        vocab
            .entry(model.token_string(id as TokenId))
            .or_insert(json!(id));
    }
    let merges = model
        .merges
        .iter()
        .map(|&(a, b)| MergeJson::Pair(model.token_string(a), model.token_string(b)))
        .collect();
    byte_level_bpe(
        added_tokens,
        pre_tokenizer_json(pretokenizer),
        vocab,
        merges,
    )
}

/// A byte-level BPE `tokenizer.json` with tokkit's (and HF's) defaults around the given parts.
#[must_use]
pub fn byte_level_bpe(
    added_tokens: Vec<AddedTokenJson>,
    pre_tokenizer: Value,
    vocab: Map<String, Value>,
    merges: Vec<MergeJson>,
) -> TokenizerJson {
    TokenizerJson {
        version: version(),
        truncation: Value::Null,
        padding: Value::Null,
        added_tokens,
        normalizer: Value::Null,
        pre_tokenizer,
        post_processor: Value::Null,
        decoder: byte_level(true),
        model: ModelJson {
            kind: Some("BPE".into()),
            dropout: None,
            unk_token: None,
            continuing_subword_prefix: None,
            end_of_word_suffix: None,
            fuse_unk: false,
            byte_fallback: false,
            ignore_merges: false,
            vocab: Value::Object(vocab),
            merges: serde_json::to_value(merges).expect("merges serialise"),
        },
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> TokenizerJson {
        let vocab = json!({"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "bc": 5});
        let mut t = byte_level_bpe(
            vec![AddedTokenJson {
                id: 6,
                content: "<|end|>".into(),
                single_word: false,
                lstrip: false,
                rstrip: false,
                normalized: false,
                special: true,
            }],
            byte_level(true),
            vocab.as_object().unwrap().clone(),
            vec![
                MergeJson::Pair("a".into(), "b".into()),
                MergeJson::Joined("ab c".into()),
                MergeJson::Pair("b".into(), "c".into()),
            ],
        );
        t.post_processor = json!({"type": "TemplateProcessing"});
        t
    }

    #[test]
    fn typed_file_round_trips_through_text() {
        let t = toy();
        let again = TokenizerJson::parse(&t.to_text()).unwrap();
        assert_eq!(again.to_text(), t.to_text());
        assert_eq!(
            from_typed(&again).unwrap().merges,
            vec![(0, 1), (3, 2), (1, 2)]
        );
    }

    #[test]
    fn truncation_keeps_the_alphabet_and_the_first_merges() {
        let t = toy();
        assert_eq!(t.smallest_truncation().unwrap(), 4); // a, b, c and <|end|>
        let cut = t.truncated(5).unwrap();
        assert_eq!(cut.model.vocab, json!({"a": 0, "b": 1, "c": 2, "ab": 3}));
        assert_eq!(cut.model.merges, json!([["a", "b"]]));
        assert_eq!(cut.added_tokens[0].id, 4);
        assert_eq!(cut.post_processor, Value::Null);
        let whole = t.truncated(7).unwrap();
        assert_eq!(whole.model.vocab, t.model.vocab);
        assert_eq!(whole.model.merges, t.model.merges);
        let err = t.truncated(3).unwrap_err();
        assert!(err.to_string().contains("take 4"), "{err}");
    }

    #[test]
    fn data_gym_files_become_byte_level_bpe() {
        let t = TokenizerJson::from_data_gym(
            r#"{"a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3}"#,
            "#version: 0.2\na b\n",
        )
        .unwrap();
        let loaded = from_typed(&t).unwrap();
        assert_eq!(loaded.merges, vec![(0, 1)]);
        assert_eq!(loaded.added, vec![("<|endoftext|>".into(), 3, true)]);
        assert!(TokenizerJson::from_data_gym(r#"{"a": "x"}"#, "").is_err());
        assert!(TokenizerJson::from_data_gym(r#"{"a": 0}"#, "a b c\n").is_err());
    }

    #[test]
    fn a_stray_huge_id_is_refused_before_allocating() {
        let mut t = toy();
        t.model.vocab["c"] = json!(4_000_000_000u32);
        let err = from_typed(&t).unwrap_err();
        assert!(err.to_string().contains("sparse"), "{err}");
    }
}
