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
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::AddedTokenJson;
use crate::text_index::{Packed, TextIndex};
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
#[derive(Default)]
pub(super) struct ModelView<'a> {
    pub kind: Option<String>,
    pub dropout: Option<f64>,
    pub unk_token: Option<String>,
    pub continuing_subword_prefix: Option<String>,
    pub end_of_word_suffix: Option<String>,
    pub fuse_unk: bool,
    pub byte_fallback: bool,
    pub ignore_merges: bool,
    pub vocab: VocabView<'a>,
    pub merges: MergesView<'a>,
}

/// The fields of [`ModelView`], in its order.
const MODEL_FIELDS: [&str; 10] = [
    "type",
    "dropout",
    "unk_token",
    "continuing_subword_prefix",
    "end_of_word_suffix",
    "fuse_unk",
    "byte_fallback",
    "ignore_merges",
    "vocab",
    "merges",
];

/// By hand rather than derived, to read the merges with the vocab at hand: where the vocab
/// comes first (as `tokenizers` writes it), each merge's texts are looked up as soon as they
/// are read, and the half a million texts are never collected.
impl<'de: 'a, 'a> Deserialize<'de> for ModelView<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ModelView<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a model object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut m = ModelView::default();
                let mut seen = [false; MODEL_FIELDS.len()];
                while let Some(Text(key)) = map.next_key()? {
                    let Some(field) = MODEL_FIELDS.iter().position(|f| *f == key) else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    if std::mem::replace(&mut seen[field], true) {
                        return Err(de::Error::duplicate_field(MODEL_FIELDS[field]));
                    }
                    match field {
                        0 => m.kind = map.next_value()?,
                        1 => m.dropout = map.next_value()?,
                        2 => m.unk_token = map.next_value()?,
                        3 => m.continuing_subword_prefix = map.next_value()?,
                        4 => m.end_of_word_suffix = map.next_value()?,
                        5 => m.fuse_unk = map.next_value()?,
                        6 => m.byte_fallback = map.next_value()?,
                        7 => m.ignore_merges = map.next_value()?,
                        8 => {
                            let entries: VocabEntries = map.next_value()?;
                            m.vocab.index = entries.0.as_deref().and_then(index_vocab);
                            m.vocab.entries = entries.0;
                        }
                        _ => {
                            m.merges = match &m.vocab.index {
                                Some((texts, index)) => {
                                    map.next_value_seed(ResolveMerges { texts, index })?
                                }
                                None => map.next_value()?,
                            }
                        }
                    }
                }
                Ok(m)
            }
        }
        d.deserialize_map(V)
    }
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

/// The vocab: `(text, id)` in file order, an id that is not a `u32` as `None`; `entries` is
/// `None` for a vocab that is no JSON object (or is missing).
#[derive(Default)]
pub(super) struct VocabView<'a> {
    pub entries: Option<Vec<(Cow<'a, str>, Option<TokenId>)>>,
    /// The entries' texts and their index, made while parsing if no text comes twice.
    pub index: Option<(Packed, TextIndex)>,
}

/// The vocab's entries as parsed.
struct VocabEntries<'a>(Option<Vec<(Cow<'a, str>, Option<TokenId>)>>);

/// The vocab's texts by entry, packed, and an index of them; `None` if a text comes twice.
pub(super) fn index_vocab(
    entries: &[(Cow<'_, str>, Option<TokenId>)],
) -> Option<(Packed, TextIndex)> {
    let texts = Packed::new(entries.iter().map(|(text, _)| text.as_bytes()));
    let mut index = TextIndex::with_capacity(entries.len());
    for i in 0..entries.len() {
        if index.insert_first(i as u32, |i| texts.get(i)).is_some() {
            return None;
        }
    }
    Some((texts, index))
}

/// The merges, up to the first that is malformed or (when the vocab came first) uses a text
/// the vocab lacks.
#[derive(Default)]
pub(super) enum MergesView<'a> {
    /// The merges are no JSON list (or are missing).
    #[default]
    NotAList,
    /// Both texts of each merge, read before the vocab; what is wrong with the next merge.
    Texts(Vec<(Cow<'a, str>, Cow<'a, str>)>, Option<&'static str>),
    /// The vocab entries (see [`VocabView`]) of both sides of each merge; why the next merge
    /// was not read.
    Entries(Vec<(u32, u32)>, Option<MergeStop>),
}

/// Why reading merges into [`MergesView::Entries`] stopped.
pub(super) enum MergeStop {
    /// The merge is malformed: what is wrong with it.
    Malformed(&'static str),
    /// The merge uses this text, which is not in the vocab.
    Unknown(String),
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

impl<'de: 'a, 'a> Deserialize<'de> for VocabEntries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = VocabEntries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(Text(key)) = map.next_key()? {
                    let Id(id) = map.next_value()?;
                    entries.push((key, id));
                }
                Ok(VocabEntries(Some(entries)))
            }
            reject!(VocabEntries(None); bool, int, float, str, null, list);
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
                            return Ok(MergesView::Texts(pairs, Some(what)));
                        }
                    }
                }
                Ok(MergesView::Texts(pairs, None))
            }
            reject!(MergesView::NotAList; bool, int, float, str, null, object);
        }
        d.deserialize_any(V)
    }
}

/// Reads the merges into [`MergesView::Entries`], looking each text up in the vocab.
struct ResolveMerges<'i> {
    texts: &'i Packed,
    index: &'i TextIndex,
}

impl<'de> DeserializeSeed<'de> for ResolveMerges<'_> {
    type Value = MergesView<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResolveMerges<'_> {
    type Value = MergesView<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let entry = |s: &str| {
            self.index
                .get(s.as_bytes(), |i| self.texts.get(i))
                .ok_or_else(|| MergeStop::Unknown(s.to_owned()))
        };
        let mut pairs = Vec::new();
        while let Some(Merge(merge)) = seq.next_element()? {
            let found = merge
                .map_err(MergeStop::Malformed)
                .and_then(|(a, b)| Ok((entry(&a)?, entry(&b)?)));
            match found {
                Ok(pair) => pairs.push(pair),
                Err(stop) => {
                    // Loading stops here; the rest need only be JSON.
                    drain_seq(seq)?;
                    return Ok(MergesView::Entries(pairs, Some(stop)));
                }
            }
        }
        Ok(MergesView::Entries(pairs, None))
    }
    reject!(MergesView::NotAList; bool, int, float, str, null, object);
}
