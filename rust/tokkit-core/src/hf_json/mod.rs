//! Reading and writing Hugging Face `tokenizer.json`: byte-level BPE both ways, and reading
//! SentencePiece-style BPE (Gemma, Llama-2: characters with byte fallback, `▁` for spaces).
//!
//! The file goes through typed serde structures ([`TokenizerJson`], [`AddedTokenJson`],
//! [`ModelJson`]); the normalizer and pre-tokenizer sections, whose variety is open-ended, stay
//! JSON values that [`Normalizer::from_json`] and this module's pre-tokenizer readers decode.
//! Vocab entries are written in id order and merges as `[left, right]` pairs (the form of
//! `tokenizers` 0.20 and later; both forms are read). Python builds and cuts `tokenizer.json`
//! through these functions too (`tokkit._tokkit.TokenizerJson`), so there is one writer.
//!
//! Split by job: this file holds the typed structures and the writer, [`read`] turns a file
//! into what the encoder needs, [`cut`] builds GPT-2 data-gym files and vocabulary cuts, and
//! [`splice`] appends an extension's tokens and merges to a base file in place.

mod cut;
mod read;
mod splice;
mod view;

pub use read::{CharVocab, LoadedBpe, Pipeline, Symbols, fallback_byte, from_json, from_typed};
pub use splice::{Additions, append};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::normalize::unsupported;
use crate::pretokenize::Pretokenizer;
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

/// The two sides of a merge as written: `["a", "b"]` or `"a b"`.
fn merge_sides(m: &Value) -> Result<(&str, &str)> {
    merge_shape(m).map_err(unsupported)
}

/// [`merge_sides`], with what is wrong with a merge as the text for [`unsupported`].
fn merge_shape(m: &Value) -> std::result::Result<(&str, &str), &'static str> {
    match m {
        Value::Array(pair) => match pair.as_slice() {
            [Value::String(a), Value::String(b)] => Ok((a, b)),
            _ => Err(view::NOT_TWO_STRINGS),
        },
        Value::String(s) => s.split_once(' ').ok_or(view::NO_SPACE),
        _ => Err(view::NEITHER),
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

    /// Found with the normalizer bound (docs/reliability.md): a Metaspace replacement is one
    /// character in HF; a longer one made
    /// every space as long as the file allows.
    #[test]
    fn metaspace_replacement_is_one_character() {
        let file = |replacement: &str| {
            json!({"pre_tokenizer": {"type": "Metaspace", "replacement": replacement},
                   "model": {"type": "BPE", "vocab": {"a": 0, "<0x20>": 1}, "merges": []}})
            .to_string()
        };
        assert!(from_json(&file("▁")).is_ok());
        for bad in ["", "▁▁", "abc"] {
            let err = from_json(&file(bad)).unwrap_err();
            assert!(
                err.to_string().contains("Metaspace replacement"),
                "{bad:?}: {err}"
            );
        }
    }
}
