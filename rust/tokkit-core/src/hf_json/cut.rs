//! GPT-2 "data gym" files as a `tokenizer.json`, and cuts of a BPE vocabulary to fewer ids.

use serde_json::{Map, Value, json};

use super::{AddedTokenJson, MergeJson, TokenizerJson, byte_level, byte_level_bpe, merge_sides};
use crate::error::{Error, Result};
use crate::normalize::unsupported;
use crate::train::TokenId;

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
