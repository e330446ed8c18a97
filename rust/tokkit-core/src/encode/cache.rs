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

/// Appends the ids of `entry` to `out`: all [`INLINE`] slots, then the unused ones taken off
/// again, so that no branch depends on how many ids a piece has (a loop over one to three ids
/// was mispredicted at most pieces).
#[inline]
fn push_inline(out: &mut Vec<TokenId>, entry: &Inline) {
    out.extend_from_slice(&entry.ids);
    out.truncate(out.len() - (INLINE - usize::from(entry.len)));
}

/// `piece` and its length packed into one key, if it has at most 15 bytes; two pieces share a
/// key only if they are equal. Built from at most two overlapping loads (no byte-by-byte copy):
/// - 8 to 15 bytes: the first eight, and the last eight with their first byte (which the first
///   eight hold already) replaced by the length;
/// - 4 to 7 bytes: the first four and the last four (together all of them), and the length;
/// - 1 to 3 bytes: the first, middle and last byte (all of them), and the length.
#[inline]
pub(super) fn short_key(piece: &[u8]) -> Option<u128> {
    let n = piece.len();
    let u64_at = |at: usize| u64::from_le_bytes(piece[at..at + 8].try_into().unwrap_or([0; 8]));
    let u32_at = |at: usize| u32::from_le_bytes(piece[at..at + 4].try_into().unwrap_or([0; 4]));
    let (low, high) = match n {
        0 => (0, 0),
        1..=3 => {
            let bytes = [piece[0], piece[n / 2], piece[n - 1]];
            (
                u64::from(bytes[0]) | u64::from(bytes[1]) << 8 | u64::from(bytes[2]) << 16,
                0,
            )
        }
        4..=7 => (u64::from(u32_at(0)) | u64::from(u32_at(n - 4)) << 32, 0),
        8..=15 => (u64_at(0), u64_at(n - 8) & !0xFF),
        _ => return None,
    };
    Some(u128::from(low) | u128::from(high | n as u64) << 64)
}

impl PieceCache {
    /// Entries remembered (at most ~16 MB): more than the distinct pre-tokens of most texts
    /// (10 MB of English and Python source has ~120k byte-level pre-tokens, and ~300k words
    /// with their punctuation for a SentencePiece-style model, which cuts only at spaces).
    const LIMIT: usize = 1 << 18;

    /// An empty cache that remembers at most `limit` pieces.
    fn with_limit(limit: usize) -> Self {
        Self {
            // Room for the distinct pieces of a few MB of text from the start: growing the
            // table by doubling would move every entry several times over.
            short: FastMap::with_capacity_and_hasher(limit.min(1 << 16), Default::default()),
            long: FastMap::default(),
            turned_away: 0,
            limit,
        }
    }

    /// Appends the ids of `piece` to `out`: remembered ones, or those `merge` appends. A miss
    /// is remembered while there is room; once the cache is full, misses are only merged, so
    /// the frequent pieces, which come early, stay. When as many misses have been turned away
    /// as the cache holds, the text has moved on: the cache starts over.
    pub(super) fn extend(
        &mut self,
        piece: &[u8],
        out: &mut Vec<TokenId>,
        merge: impl FnOnce(&mut Vec<TokenId>),
    ) {
        if let Some(key) = short_key(piece) {
            if let Some(hit) = self.short.get(&key) {
                return push_inline(out, hit);
            }
        }
        if let Some(ids) = self.long.get(piece) {
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

    #[test]
    fn short_keys_are_one_to_one() {
        // Every piece of up to 15 bytes over a small alphabet that stresses the overlaps (the
        // same byte at the positions that two loads share), and every length.
        let mut seen = std::collections::HashMap::new();
        let alphabet = [0u8, 1, b'a', 0xFF];
        let mut pieces: Vec<Vec<u8>> = Vec::new();
        let mut frontier: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..7 {
            frontier = frontier
                .iter()
                .flat_map(|p| alphabet.iter().map(move |&b| [p.as_slice(), &[b]].concat()))
                .collect();
            pieces.extend(frontier.iter().cloned());
        }
        // Lengths 8 to 15: a run of one byte with one other byte placed anywhere.
        for n in 8..=15 {
            for at in 0..n {
                for (fill, other) in [(b'a', b'b'), (0, 1), (0xFF, 0)] {
                    let mut p = vec![fill; n];
                    p[at] = other;
                    pieces.push(p);
                }
            }
        }
        pieces.sort();
        pieces.dedup();
        for p in &pieces {
            let key = short_key(p).expect("short");
            if let Some(before) = seen.insert(key, p.clone()) {
                panic!("{before:?} and {p:?} share a key");
            }
        }
        assert!(pieces.len() > 20_000);
        assert!(short_key(&[0; 16]).is_none());
    }
}
