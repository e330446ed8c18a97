//! Pre-tokens that are one token skip the merges: with `ignore_merges` (Llama-3's and every
//! tiktoken-converted `tokenizer.json` set it) every token of the vocabulary, as HF does;
//! otherwise the byte-level tokens the merges make of their own bytes (checked at load), so
//! the shortcut gives the merges' ids. A table of byte strings, keyed like the piece cache
//! (`cache::short_key`): one probe and no pointer to follow for the short tokens, which are
//! nearly all of them.

use super::FastMap;
use super::cache::short_key;
use crate::train::TokenId;

/// The vocabulary's tokens by their bytes.
#[derive(Debug, Default)]
pub(super) struct WholeTokens {
    short: FastMap<u128, TokenId>,
    long: FastMap<Box<[u8]>, TokenId>,
}

impl<'t> FromIterator<(&'t [u8], TokenId)> for WholeTokens {
    fn from_iter<I: IntoIterator<Item = (&'t [u8], TokenId)>>(tokens: I) -> Self {
        let mut whole = Self::default();
        for (bytes, id) in tokens {
            match short_key(bytes) {
                Some(key) => whole.short.insert(key, id),
                None => whole.long.insert(bytes.into(), id),
            };
        }
        whole
    }
}

impl WholeTokens {
    /// The id of the token whose bytes are `piece`, if there is one.
    #[inline]
    pub(super) fn get(&self, piece: &[u8]) -> Option<TokenId> {
        match short_key(piece) {
            Some(key) => self.short.get(&key).copied(),
            None => self.long.get(piece).copied(),
        }
    }
}
