//! Prefix queries over the bytes of the ordinary (non-special) tokens.
//!
//! A sorted array is a flattened trie: the tokens that start with a prefix form one contiguous
//! run of it, found by two binary searches, and a hash map from bytes to ids answers "which
//! tokens are a prefix of this data" with one lookup per length up to the longest token.

use hashbrown::HashMap;

use crate::train::TokenId;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// The byte index of a vocabulary.
#[derive(Debug, Default)]
pub struct TokenIndex {
    /// `(bytes, id)` sorted by bytes, then id.
    sorted: Vec<(Box<[u8]>, TokenId)>,
    /// Ids by bytes (several ids may share bytes, e.g. an added token that repeats a vocab entry).
    by_bytes: FastMap<Box<[u8]>, Vec<TokenId>>,
    max_len: usize,
}

impl TokenIndex {
    /// An index of `tokens`, skipping empty ones.
    pub fn new<'a>(tokens: impl Iterator<Item = (TokenId, &'a [u8])>) -> Self {
        let mut index = Self::default();
        for (id, bytes) in tokens.filter(|(_, b)| !b.is_empty()) {
            index.max_len = index.max_len.max(bytes.len());
            index.sorted.push((bytes.into(), id));
            index.by_bytes.entry(bytes.into()).or_default().push(id);
        }
        index.sorted.sort_unstable();
        index
    }

    /// Length of the longest token, in bytes.
    #[must_use]
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Ids whose bytes start with `prefix` (an empty prefix gives every token), ascending.
    #[must_use]
    pub fn with_prefix(&self, prefix: &[u8]) -> Vec<TokenId> {
        let lo = self.sorted.partition_point(|(b, _)| &**b < prefix);
        let run = self.sorted[lo..].partition_point(|(b, _)| b.starts_with(prefix));
        let mut ids: Vec<TokenId> = self.sorted[lo..lo + run].iter().map(|e| e.1).collect();
        ids.sort_unstable();
        ids
    }

    /// Ids whose bytes are a non-empty prefix of `data` (equal included), ascending.
    #[must_use]
    pub fn prefixes_of(&self, data: &[u8]) -> Vec<TokenId> {
        let mut ids = Vec::new();
        for len in 1..=data.len().min(self.max_len) {
            if let Some(found) = self.by_bytes.get(&data[..len]) {
                ids.extend_from_slice(found);
            }
        }
        ids.sort_unstable();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_match_brute_force() {
        let vocab: Vec<&[u8]> = vec![b"a", b"ab", b"abc", b"b", b"", b"abd", b"ab", b"\xe4\xb8"];
        let index = TokenIndex::new(vocab.iter().enumerate().map(|(i, b)| (i as TokenId, *b)));
        for probe in [&b""[..], b"a", b"ab", b"abc", b"abx", b"b", b"\xe4", b"zz"] {
            let want: Vec<TokenId> = (0..vocab.len() as TokenId)
                .filter(|&i| !vocab[i as usize].is_empty() && vocab[i as usize].starts_with(probe))
                .collect();
            assert_eq!(index.with_prefix(probe), want, "{probe:?}");
            let want: Vec<TokenId> = (0..vocab.len() as TokenId)
                .filter(|&i| !vocab[i as usize].is_empty() && probe.starts_with(vocab[i as usize]))
                .collect();
            assert_eq!(index.prefixes_of(probe), want, "{probe:?}");
        }
    }
}
