//! The text transformations of SentencePiece-style `tokenizer.json` files: the normalizers
//! `Replace` (a literal string), `Prepend` and `Sequence` of them, and the replace-and-prepend
//! half of the `Metaspace` pre-tokenizer (its split half is a [`Pretokenizer::literal`]).
//!
//! Every transformation here maps each output byte back to an input byte offset
//! ([`Normalizer::apply_aligned`]), so pieces found in normalized text can be reported in the
//! caller's original text.
//!
//! [`Pretokenizer::literal`]: crate::pretokenize::Pretokenizer::literal

use serde_json::Value;

use crate::error::{Error, Result};

/// What the supported SentencePiece-style components are, for error messages.
pub const SUPPORTED: &str = "normalizers Replace (String pattern), Prepend and a Sequence of them; \
     pre-tokenizers ByteLevel, Split (Regex or String pattern), Digits, Metaspace";

/// How many times longer than its input a normalizer may make a text. Real files stay far
/// below (Llama-2 and Gemma turn a space into the 3-byte `▁`, a factor of 3); without a bound
/// a small file can chain `Replace` steps that each multiply the text, so encoding one short
/// string would need memory exponential in the number of steps.
pub const MAX_GROWTH: u64 = 64;

/// A normalizer from `tokenizer.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Normalizer {
    /// Every occurrence of `pattern`, left to right and not overlapping, becomes `content`.
    Replace {
        /// The literal searched for (never empty).
        pattern: String,
        /// Its replacement.
        content: String,
    },
    /// `prefix` goes before any non-empty text.
    Prepend(String),
    /// Each step in turn.
    Sequence(Vec<Normalizer>),
}

/// The error for a `tokenizer.json` that asks for `what`, naming what is supported.
pub(crate) fn unsupported(what: &str) -> Error {
    Error::Serialization(format!(
        "unsupported tokenizer.json: {what}. tokkit's encoder reads BPE models (byte-level, or \
         SentencePiece-style over characters with byte_fallback) with the {SUPPORTED}; load \
         other tokenizers with the `tokenizers` library"
    ))
}

impl Normalizer {
    /// The normalizer of a `tokenizer.json` `normalizer` section (`None` for `null`).
    ///
    /// # Errors
    /// [`Error::Serialization`] for a normalizer type or pattern that is not supported.
    pub fn from_json(value: &Value) -> Result<Option<Self>> {
        if value.is_null() {
            return Ok(None);
        }
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("?");
        let normalizer = match kind {
            "Replace" => {
                let pattern = value
                    .pointer("/pattern/String")
                    .and_then(Value::as_str)
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| unsupported("a Replace normalizer without a String pattern"))?;
                let content = value
                    .get("content")
                    .and_then(Value::as_str)
                    .ok_or_else(|| unsupported("a Replace normalizer without content"))?;
                Self::Replace {
                    pattern: pattern.to_owned(),
                    content: content.to_owned(),
                }
            }
            "Prepend" => Self::Prepend(
                value
                    .get("prepend")
                    .and_then(Value::as_str)
                    .ok_or_else(|| unsupported("a Prepend normalizer without `prepend`"))?
                    .to_owned(),
            ),
            "Sequence" => {
                let steps = value
                    .get("normalizers")
                    .and_then(Value::as_array)
                    .ok_or_else(|| unsupported("a normalizer Sequence without `normalizers`"))?;
                let mut out = Vec::with_capacity(steps.len());
                for step in steps {
                    out.extend(Self::from_json(step)?);
                }
                Self::Sequence(out)
            }
            other => return Err(unsupported(&format!("normalizer {other}"))),
        };
        let growth = normalizer.growth();
        if growth > MAX_GROWTH {
            return Err(unsupported(&format!(
                "a normalizer that can make a text {growth} times longer (at most {MAX_GROWTH} \
                 is supported: each Replace step multiplies the length by up to \
                 len(content)/len(pattern))"
            )));
        }
        Ok(Some(normalizer))
    }

    /// An upper bound on how many times longer than its input the normalized text is, not
    /// counting `Prepend`'s fixed prefixes (those add at most the file's own size).
    #[must_use]
    pub fn growth(&self) -> u64 {
        match self {
            Self::Replace { pattern, content } => {
                (content.len().div_ceil(pattern.len()).max(1)) as u64
            }
            Self::Prepend(_) => 1,
            Self::Sequence(steps) => steps
                .iter()
                .fold(1u64, |acc, step| acc.saturating_mul(step.growth())),
        }
    }

    /// The normalized `text`.
    #[must_use]
    pub fn apply(&self, text: &str) -> String {
        match self {
            Self::Replace { pattern, content } => text.replace(pattern.as_str(), content),
            Self::Prepend(prefix) if !text.is_empty() => format!("{prefix}{text}"),
            Self::Prepend(_) => String::new(),
            Self::Sequence(steps) => steps
                .iter()
                .fold(text.to_owned(), |acc, step| step.apply(&acc)),
        }
    }

    /// The normalized `text` and, for each of its bytes plus one past the end, the offset in
    /// `text` it comes from (inserted and replacing bytes point at the start of what they
    /// replace or precede).
    #[must_use]
    pub fn apply_aligned(&self, text: &str) -> (String, Vec<usize>) {
        let identity: Vec<usize> = (0..=text.len()).collect();
        self.apply_aligned_from(text.to_owned(), identity)
    }

    fn apply_aligned_from(&self, text: String, align: Vec<usize>) -> (String, Vec<usize>) {
        match self {
            Self::Replace { pattern, content } => {
                let mut out = String::with_capacity(text.len());
                let mut map = Vec::with_capacity(align.len());
                let mut last = 0;
                for (at, _) in text.match_indices(pattern.as_str()) {
                    out.push_str(&text[last..at]);
                    map.extend_from_slice(&align[last..at]);
                    out.push_str(content);
                    map.extend(std::iter::repeat_n(align[at], content.len()));
                    last = at + pattern.len();
                }
                out.push_str(&text[last..]);
                map.extend_from_slice(&align[last..]);
                (out, map)
            }
            Self::Prepend(prefix) if !text.is_empty() => {
                let mut map = vec![align[0]; prefix.len()];
                map.extend_from_slice(&align);
                (format!("{prefix}{text}"), map)
            }
            Self::Prepend(_) => (text, align),
            Self::Sequence(steps) => steps
                .iter()
                .fold((text, align), |(t, a), step| step.apply_aligned_from(t, a)),
        }
    }

    /// The character a space becomes (`▁` for SentencePiece files), if a step replaces `" "`.
    #[must_use]
    pub fn space_symbol(&self) -> Option<&str> {
        match self {
            Self::Replace { pattern, content } if pattern == " " => Some(content),
            Self::Sequence(steps) => steps.iter().find_map(Self::space_symbol),
            _ => None,
        }
    }
}

/// When `Metaspace` puts its replacement character before a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrependScheme {
    /// Before every piece.
    Always,
    /// Only before a piece that starts the whole input.
    First,
    /// Never.
    Never,
}

/// The replace-and-prepend half of HF's `Metaspace` pre-tokenizer. It runs after added tokens
/// are cut out, on each remaining piece, unlike a normalizer (which also sees the text that
/// `normalized` added tokens are matched in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metaspace {
    /// What a space becomes (`▁`).
    pub replacement: String,
    /// When the replacement is put in front.
    pub prepend: PrependScheme,
}

impl Metaspace {
    /// `text` with spaces replaced, and the replacement put in front when the scheme says so
    /// and the text does not already start with it. `at_start`: the text begins the input.
    #[must_use]
    pub fn apply(&self, text: &str, at_start: bool) -> String {
        let mut out = text.replace(' ', &self.replacement);
        if self.prepends(&out, at_start) {
            out.insert_str(0, &self.replacement);
        }
        out
    }

    fn prepends(&self, replaced: &str, at_start: bool) -> bool {
        let wanted = match self.prepend {
            PrependScheme::Always => true,
            PrependScheme::First => at_start,
            PrependScheme::Never => false,
        };
        wanted && !replaced.starts_with(&self.replacement)
    }

    /// [`apply`](Self::apply) with the offset map of [`Normalizer::apply_aligned`], relative
    /// to `text`.
    #[must_use]
    pub fn apply_aligned(&self, text: &str, at_start: bool) -> (String, Vec<usize>) {
        let as_normalizer = Normalizer::Replace {
            pattern: " ".into(),
            content: self.replacement.clone(),
        };
        let (out, map) = as_normalizer.apply_aligned(text);
        if self.prepends(&out, at_start) {
            let mut full = vec![0; self.replacement.len()];
            full.extend_from_slice(&map);
            return (format!("{}{out}", self.replacement), full);
        }
        (out, map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_and_prepend_align_to_the_original() {
        let n = Normalizer::Sequence(vec![
            Normalizer::Prepend("▁".into()),
            Normalizer::Replace {
                pattern: " ".into(),
                content: "▁".into(),
            },
        ]);
        let (text, map) = n.apply_aligned("a b");
        assert_eq!(text, "▁a▁b");
        assert_eq!(text, n.apply("a b"));
        assert_eq!(map, [0, 0, 0, 0, 1, 1, 1, 2, 3]);
        assert_eq!(n.apply(""), "");
        assert_eq!(n.space_symbol(), Some("▁"));
    }

    #[test]
    fn metaspace_prepends_once() {
        let m = Metaspace {
            replacement: "▁".into(),
            prepend: PrependScheme::First,
        };
        assert_eq!(m.apply(" hi", true), "▁hi");
        assert_eq!(m.apply("hi", true), "▁hi");
        assert_eq!(m.apply("hi", false), "hi");
        assert_eq!(
            m.apply_aligned("hi", true),
            ("▁hi".into(), vec![0, 0, 0, 0, 1, 2])
        );
    }

    #[test]
    fn unsupported_normalizers_name_what_is() {
        let err = Normalizer::from_json(&serde_json::json!({"type": "NFKC"})).unwrap_err();
        assert!(err.to_string().contains("Replace"), "{err}");
    }

    /// Found while writing the `tokenizer_json` fuzz target (docs/reliability.md): twelve
    /// `Replace("a", "aaaaaaaa")` steps in a 5 KB file made encoding "a" need 8^12 bytes. Such
    /// a file is refused when read; the real SentencePiece normalizers still load.
    #[test]
    fn normalizers_that_multiply_text_are_refused() {
        let step = serde_json::json!({"type": "Replace", "pattern": {"String": "a"},
                                      "content": "aaaaaaaa"});
        let chain = |n: usize| serde_json::json!({"type": "Sequence", "normalizers": vec![step.clone(); n]});
        assert_eq!(
            Normalizer::from_json(&chain(2)).unwrap().unwrap().growth(),
            64
        );
        let err = Normalizer::from_json(&chain(3)).unwrap_err();
        assert!(err.to_string().contains("512 times longer"), "{err}");
        // Saturates instead of overflowing however long the chain.
        assert!(Normalizer::from_json(&chain(40)).is_err());
        let llama2 = serde_json::json!({"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]});
        assert_eq!(Normalizer::from_json(&llama2).unwrap().unwrap().growth(), 3);
        // Shrinking and equal-length replacements do not count against the bound.
        let shrink = serde_json::json!({"type": "Replace", "pattern": {"String": "abc"},
                                        "content": "x"});
        assert_eq!(Normalizer::from_json(&shrink).unwrap().unwrap().growth(), 1);
    }
}
