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

/// Encodings of pieces already seen (bounded: emptied when full).
#[derive(Debug, Default)]
pub struct PieceCache {
    /// Pieces of at most 15 bytes that encode to at most [`INLINE`] ids.
    short: FastMap<u128, Inline>,
    /// Every other piece.
    long: FastMap<Vec<u8>, Box<[TokenId]>>,
    /// Pieces merged but not remembered since the cache filled up.
    turned_away: usize,
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
    pub(super) fn extend(
        &mut self,
        piece: &[u8],
        out: &mut Vec<TokenId>,
        merge: impl FnOnce(&mut Vec<TokenId>),
    ) {
        if let Some(ids) = self.get(piece) {
            return out.extend_from_slice(ids);
        }
        if self.turned_away >= Self::LIMIT {
            *self = Self::default();
        }
        let start = out.len();
        merge(out);
        if self.short.len() + self.long.len() >= Self::LIMIT {
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

    /// The remembered ids of `piece`: one probe of the short table for most pieces.
    #[inline]
    fn get(&self, piece: &[u8]) -> Option<&[TokenId]> {
        match short_key(piece).and_then(|key| self.short.get(&key)) {
            Some(hit) => Some(&hit.ids[..usize::from(hit.len)]),
            None => self.long.get(piece).map(|ids| &**ids),
        }
    }
}
