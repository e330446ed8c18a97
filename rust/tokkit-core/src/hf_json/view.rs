//! The parts of a `tokenizer.json` that loading an encoder reads, parsed in one pass with the
//! vocabulary's and the merges' strings borrowed from the file's text (copied only where JSON
//! escapes make them differ from it): a 262k-token vocabulary with half a million merges would
//! otherwise become a tree of a few million small `String`s and `Value`s, built and freed again.
//!
//! A view accepts every shape that [`TokenizerJson`](super::TokenizerJson) accepts and records
//! the shapes loading refuses (a vocab that is no object, an id that is no `u32`, a merge that is
//! neither `["a", "b"]` nor `"a b"`) instead of failing on them, so that [`super::read`] reports
//! the same error, in the same order, as it does for a typed file. A file the view cannot parse
//! is parsed again as a [`TokenizerJson`](super::TokenizerJson) for its error message, which
//! names where the file is malformed.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::AddedTokenJson;
use crate::train::TokenId;

/// A `tokenizer.json`, as far as loading reads it; the other sections are checked to be JSON
/// and skipped, as the typed file keeps them as values nobody reads when loading.
#[derive(Deserialize)]
pub(super) struct FileView<'a> {
    /// Read as the typed file reads it (a string), though loading ignores it.
    #[serde(default, borrow, rename = "version")]
    _version: Cow<'a, str>,
    #[serde(default, rename = "truncation")]
    _truncation: IgnoredAny,
    #[serde(default, rename = "padding")]
    _padding: IgnoredAny,
    #[serde(default)]
    pub added_tokens: Vec<AddedTokenJson>,
    #[serde(default)]
    pub normalizer: Value,
    #[serde(default)]
    pub pre_tokenizer: Value,
    #[serde(default, rename = "post_processor")]
    _post_processor: IgnoredAny,
    #[serde(default, rename = "decoder")]
    _decoder: IgnoredAny,
    #[serde(borrow)]
    pub model: ModelView<'a>,
}

/// The `model` section, with the fields of [`ModelJson`](super::ModelJson) in the same types
/// except the vocab and the merges.
#[derive(Deserialize)]
pub(super) struct ModelView<'a> {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub dropout: Option<f64>,
    #[serde(default)]
    pub unk_token: Option<String>,
    #[serde(default)]
    pub continuing_subword_prefix: Option<String>,
    #[serde(default)]
    pub end_of_word_suffix: Option<String>,
    #[serde(default)]
    pub fuse_unk: bool,
    #[serde(default)]
    pub byte_fallback: bool,
    #[serde(default)]
    pub ignore_merges: bool,
    #[serde(default, borrow)]
    pub vocab: VocabView<'a>,
    #[serde(default, borrow)]
    pub merges: MergesView<'a>,
}

/// Parses `text` as far as loading reads it.
///
/// # Errors
/// serde's error if `text` is not JSON or a section has the wrong type (the caller parses it
/// again as a typed file for a message that says where).
pub(super) fn parse(text: &str) -> serde_json::Result<FileView<'_>> {
    // Like `TokenizerJson::parse`, which does not check what follows the top-level object.
    FileView::deserialize(&mut serde_json::Deserializer::from_str(text))
}

/// The vocab: `(text, id)` in file order, an id that is not a `u32` as `None`; `None` for a
/// vocab that is no JSON object (or is missing).
#[derive(Default)]
pub(super) struct VocabView<'a>(pub Option<Vec<(Cow<'a, str>, Option<TokenId>)>>);

/// The merges as written, up to the first one that has neither form; `pairs` is `None` for
/// merges that are no JSON list (or are missing).
#[derive(Default)]
pub(super) struct MergesView<'a> {
    pub pairs: Option<Vec<(Cow<'a, str>, Cow<'a, str>)>>,
    /// What is wrong with the merge after the last of `pairs`, if one is.
    pub bad: Option<&'static str>,
}

/// What was wrong with a merge: the message [`merge_sides`](super::merge_sides) gives.
pub(super) const NOT_TWO_STRINGS: &str = "a merge list that is not two strings";
pub(super) const NO_SPACE: &str = "a merge without a space";
pub(super) const NEITHER: &str = "a merge that is neither [\"a\", \"b\"] nor \"a b\"";

/// Consumes a sequence's remaining elements.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Consumes a map's remaining entries.
fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Implements `Visitor` methods for the kinds of JSON value that are not the one wanted: each
/// gives `$no`; lists and objects are consumed first.
macro_rules! reject {
    ($no:expr; $($kind:ident),*) => { $(reject!(@$kind $no);)* };
    (@bool $no:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> { Ok($no) }
    };
    (@int $no:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> { Ok($no) }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> { Ok($no) }
    };
    (@float $no:expr) => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> { Ok($no) }
    };
    (@str $no:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> { Ok($no) }
    };
    (@null $no:expr) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> { Ok($no) }
    };
    (@list $no:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok($no)
        }
    };
    (@object $no:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map)?;
            Ok($no)
        }
    };
}

/// A JSON string, borrowed unless it has escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value: a string (borrowed unless it has escapes) or `None`.
struct MaybeText<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for MaybeText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Borrowed(s))))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Owned(s))))
            }
            // Strings with escapes arrive here (as `&str`): a string all the same.
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Owned(s.to_owned()))))
            }
            reject!(MaybeText(None); bool, int, float, null, list, object);
        }
        d.deserialize_any(V)
    }
}

/// A vocab id: `Some` for an integer that fits a [`TokenId`], `None` for any other value (as
/// `Value::as_u64` and `TokenId::try_from` decide it for the typed file).
struct Id(Option<TokenId>);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Id(TokenId::try_from(v).ok()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Id(TokenId::try_from(v).ok()))
            }
            reject!(Id(None); bool, float, str, null, list, object);
        }
        d.deserialize_any(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for VocabView<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = VocabView<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(Text(key)) = map.next_key()? {
                    let Id(id) = map.next_value()?;
                    entries.push((key, id));
                }
                Ok(VocabView(Some(entries)))
            }
            reject!(VocabView(None); bool, int, float, str, null, list);
        }
        d.deserialize_any(V)
    }
}

/// One merge: its two sides, or what is wrong with it.
struct Merge<'a>(Result<(Cow<'a, str>, Cow<'a, str>), &'static str>);

impl<'a> Merge<'a> {
    /// `"a b"`: split at the first space, as [`merge_sides`](super::merge_sides) does.
    fn joined(s: Cow<'a, str>) -> Self {
        Merge(match s {
            Cow::Borrowed(s) => s
                .split_once(' ')
                .map(|(a, b)| (Cow::Borrowed(a), Cow::Borrowed(b)))
                .ok_or(NO_SPACE),
            Cow::Owned(s) => s
                .split_once(' ')
                .map(|(a, b)| (Cow::Owned(a.to_owned()), Cow::Owned(b.to_owned())))
                .ok_or(NO_SPACE),
        })
    }
}

impl<'de> Deserialize<'de> for Merge<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Merge<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let a = seq.next_element::<MaybeText>()?;
                let b = match a {
                    Some(_) => seq.next_element::<MaybeText>()?,
                    None => None,
                };
                let more = match b {
                    Some(_) => seq.next_element::<IgnoredAny>()?.is_some(),
                    None => false,
                };
                if more {
                    drain_seq(seq)?;
                }
                Ok(Merge(match (a, b, more) {
                    (Some(MaybeText(Some(a))), Some(MaybeText(Some(b))), false) => Ok((a, b)),
                    _ => Err(NOT_TWO_STRINGS),
                }))
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Merge::joined(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Merge::joined(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Merge::joined(Cow::Owned(s)))
            }
            reject!(Merge(Err(NEITHER)); bool, int, float, null, object);
        }
        d.deserialize_any(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for MergesView<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MergesView<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::new();
                while let Some(Merge(merge)) = seq.next_element()? {
                    match merge {
                        Ok(pair) => pairs.push(pair),
                        Err(what) => {
                            // Loading stops at the first bad merge; the rest need only be JSON.
                            drain_seq(seq)?;
                            return Ok(MergesView {
                                pairs: Some(pairs),
                                bad: Some(what),
                            });
                        }
                    }
                }
                Ok(MergesView {
                    pairs: Some(pairs),
                    bad: None,
                })
            }
            reject!(MergesView::default(); bool, int, float, str, null, object);
        }
        d.deserialize_any(V)
    }
}
