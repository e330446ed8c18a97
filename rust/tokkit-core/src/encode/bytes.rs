//! The first symbols of a byte-level piece: each byte's id, and the merge of every two bytes
//! read from one table of 65,536 entries (512 KB, held in the processor's cache) instead of
//! the merge map (megabytes, a cache miss a probe for the rarer pairs). A piece merged anew is
//! usually a rare one, so its first round of pairs costs most of its merge.

use super::{FastMap, NO_MERGE, SMALL, pair_key};
use crate::train::TokenId;

/// Byte ids, and the merges of byte pairs when every byte has an id.
#[derive(Debug)]
pub(super) struct ByteSymbols {
    ids: [Option<TokenId>; 256],
    /// `(rank, merged id)` of the pair `(a, b)` at `a << 8 | b`; [`NO_MERGE`] where none.
    /// `None` when some byte has no id: such bytes are dropped, so the pairs that meet are
    /// not always neighbours in the text.
    pairs: Option<Box<[(u32, TokenId)]>>,
}

impl ByteSymbols {
    pub(super) fn new(ids: [Option<TokenId>; 256], ranks: &FastMap<u64, (u32, TokenId)>) -> Self {
        let pairs = ids.iter().all(Option::is_some).then(|| {
            let id = |b: usize| ids[b].unwrap_or_default();
            (0..1 << 16)
                .map(|ab: usize| {
                    let key = pair_key(id(ab >> 8), id(ab & 0xFF));
                    ranks.get(&key).copied().unwrap_or(NO_MERGE)
                })
                .collect()
        });
        Self { ids, pairs }
    }

    /// The id of byte `b`, if the vocabulary has one.
    #[inline]
    pub(super) fn id(&self, b: u8) -> Option<TokenId> {
        self.ids[usize::from(b)]
    }

    /// Writes the ids of `piece`'s bytes to `ids` and the merge of each neighbouring two to
    /// `ranks` (as `merge_small` wants them), returning how many there are; `None` if the pair
    /// table is missing (then the caller looks the pairs up in the merge map).
    #[inline]
    pub(super) fn first_round(
        &self,
        piece: &[u8],
        ids: &mut [TokenId; SMALL],
        ranks: &mut [(u32, TokenId); SMALL],
    ) -> Option<usize> {
        let pairs = self.pairs.as_deref()?;
        for (slot, &b) in ids.iter_mut().zip(piece) {
            *slot = self.ids[usize::from(b)].unwrap_or_default();
        }
        for (slot, ab) in ranks.iter_mut().zip(piece.windows(2)) {
            *slot = pairs[usize::from(ab[0]) << 8 | usize::from(ab[1])];
        }
        Some(piece.len())
    }
}
