//! The cache of piece encodings: pre-token bytes → the ids the merges make of them.
//!
//! Text repeats its words, so most pre-tokens of a long text were merged before; a lookup costs
//! a fraction of a merge. Most pieces are short words of one to three tokens, so those live in
//! a table keyed by one `u128` (the bytes and their length packed together) with the ids
//! inline: hashing and comparing a key is then a couple of instructions, not a byte-string
//! hash and a `memcmp`. Other pieces go to a table of byte strings.

use super::FastMap;
use crate::train::TokenId;

/// Ids kept inline for a short piece.
const INLINE: usize = 3;

/// Encodings of pieces already seen (bounded: see [`PieceCache::extend`]).
#[derive(Debug)]
pub struct PieceCache {
    /// Pieces of at most 15 bytes that encode to at most [`INLINE`] ids.
    short: FastMap<u128, Inline>,
    /// Every other piece.
    long: FastMap<Vec<u8>, Box<[TokenId]>>,
    /// Pieces merged but not remembered since the cache filled up.
    turned_away: usize,
    /// Entries remembered at most ([`PieceCache::LIMIT`] but in tests).
    limit: usize,
}

impl Default for PieceCache {
    fn default() -> Self {
        Self::with_limit(Self::LIMIT)
    }
}

#[derive(Debug, Clone, Copy)]
struct Inline {
    len: u8,
    ids: [TokenId; INLINE],
}

/// `piece` and its length packed into one key, if it has at most 15 bytes (two pieces share a
/// key only if they are equal: the length byte tells `b"a"` from `b"a\0"`).
fn short_key(piece: &[u8]) -> Option<u128> {
    if piece.len() > 15 {
        return None;
    }
    let mut key = [0u8; 16];
    key[..piece.len()].copy_from_slice(piece);
    key[15] = piece.len() as u8;
    Some(u128::from_le_bytes(key))
}

impl PieceCache {
    /// Entries remembered (at most ~16 MB): more than the distinct pre-tokens of most texts
    /// (10 MB of English and Python source has ~120k byte-level pre-tokens, and ~300k words
    /// with their punctuation for a SentencePiece-style model, which cuts only at spaces).
    const LIMIT: usize = 1 << 18;

    /// Appends the ids of `piece` to `out`: remembered ones, or those `merge` appends. A miss
    /// is remembered while there is room; once the cache is full, misses are only merged, so
    /// the frequent pieces, which come early, stay. When as many misses have been turned away
    /// as the cache holds, the text has moved on: the cache starts over.
    fn with_limit(limit: usize) -> Self {
        Self {
            short: FastMap::default(),
            long: FastMap::default(),
            turned_away: 0,
            limit,
        }
    }

    pub(super) fn extend(
        &mut self,
        piece: &[u8],
        out: &mut Vec<TokenId>,
        merge: impl FnOnce(&mut Vec<TokenId>),
    ) {
        if let Some(ids) = self.get(piece) {
            return out.extend_from_slice(ids);
        }
        if self.turned_away >= self.limit {
            *self = Self::with_limit(self.limit);
        }
        let start = out.len();
        merge(out);
        if self.len() >= self.limit {
            self.turned_away += 1;
            return;
        }
        let merged = &out[start..];
        match short_key(piece) {
            Some(key) if merged.len() <= INLINE => {
                let mut ids = [0; INLINE];
                ids[..merged.len()].copy_from_slice(merged);
                let len = merged.len() as u8;
                self.short.insert(key, Inline { len, ids });
            }
            _ => {
                self.long.insert(piece.to_vec(), merged.into());
            }
        }
    }

    fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// The remembered ids of `piece`: one probe of the short table for most pieces.
    #[inline]
    fn get(&self, piece: &[u8]) -> Option<&[TokenId]> {
        match short_key(piece).and_then(|key| self.short.get(&key)) {
            Some(hit) => Some(&hit.ids[..usize::from(hit.len)]),
            None => self.long.get(piece).map(|ids| &**ids),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in merge: one id per byte, recording that it ran.
    fn extend(cache: &mut PieceCache, piece: &[u8], merged: &mut usize) -> Vec<TokenId> {
        let mut out = vec![7];
        cache.extend(piece, &mut out, |out| {
            *merged += 1;
            out.extend(piece.iter().map(|&b| TokenId::from(b)));
        });
        assert_eq!(out[0], 7, "what was in the buffer stays");
        out.split_off(1)
    }

    #[test]
    fn remembers_until_full_then_keeps_the_early_pieces_then_starts_over() {
        let mut cache = PieceCache::with_limit(3);
        let mut merged = 0;
        let long = b"a piece longer than fifteen bytes".as_slice();
        for piece in [b"ab".as_slice(), b"abcd", long] {
            let ids: Vec<TokenId> = piece.iter().map(|&b| TokenId::from(b)).collect();
            assert_eq!(extend(&mut cache, piece, &mut merged), ids);
            assert_eq!(extend(&mut cache, piece, &mut merged), ids);
        }
        assert_eq!(merged, 3, "each piece merged once, short and long alike");
        // Full: new pieces are merged every time, the early ones still come from the cache.
        for _ in 0..2 {
            assert_eq!(extend(&mut cache, b"xy", &mut merged), [120, 121]);
        }
        assert_eq!(extend(&mut cache, b"ab", &mut merged), [97, 98]);
        assert_eq!(merged, 5);
        // A third turned away: the text has moved on, so the cache starts over with "zz".
        assert_eq!(extend(&mut cache, b"xz", &mut merged), [120, 122]);
        assert_eq!(extend(&mut cache, b"zz", &mut merged), [122, 122]);
        assert_eq!(extend(&mut cache, b"zz", &mut merged), [122, 122]);
        assert_eq!(extend(&mut cache, b"ab", &mut merged), [97, 98]);
        assert_eq!(merged, 8);
    }

    #[test]
    fn pieces_that_differ_only_by_trailing_zero_bytes_are_apart() {
        let mut cache = PieceCache::default();
        let mut merged = 0;
        assert_eq!(extend(&mut cache, b"a", &mut merged), [97]);
        assert_eq!(extend(&mut cache, b"a\0", &mut merged), [97, 0]);
        assert_eq!(extend(&mut cache, b"a\0\0", &mut merged), [97, 0, 0]);
        assert_eq!(merged, 3);
    }
}
