//! BPE pairwise validity (design/byteprobs.md §5.2): inside one pre-token, a token sequence is the BPE encoding
//! of its bytes iff every token is and every adjacent pair is. A pair is checked without
//! re-encoding by replaying both tokens' construction backwards and asking, at each step,
//! whether the merge across the boundary would have fired before the merge just undone.
//!
//! Only tokens for which the replay is sound are *usable*: a single byte (the id the encoder
//! maps that byte to), or a token that exactly one merge rule produces, whose own bytes encode to
//! it, and whose children are usable. Everything else (added tokens, duplicate ids for the same
//! bytes, tokens two rules produce, tokens BPE never reaches) is left to the exact per-piece
//! re-encoding in [`super::validity`].

use rayon::prelude::*;

use crate::encode::BpeEncoder;
use crate::train::TokenId;

const NONE: u32 = u32::MAX;

/// Rank and children of every token, as the pair replay needs them.
#[derive(Debug)]
pub struct PairRules {
    /// 0 for byte tokens, merge rank + 1 for merged ones (bytes rank below every merge).
    rank: Vec<u32>,
    left: Vec<TokenId>,
    right: Vec<TokenId>,
    usable: Vec<bool>,
}

impl PairRules {
    /// Rules for `encoder`, whose merges (in rank order) are `merges`; `added[id]` marks added
    /// tokens (never produced by BPE).
    #[must_use]
    pub fn new(encoder: &BpeEncoder, merges: &[(TokenId, TokenId)], added: &[bool]) -> Self {
        let n = encoder.vocab_size();
        let bytes = |id: TokenId| encoder.token_bytes(id).unwrap_or_default();
        let mut rank = vec![NONE; n];
        let (mut left, mut right) = (vec![NONE; n], vec![NONE; n]);
        let mut ambiguous = vec![false; n];
        // The encoder maps byte b to the smallest non-added id whose bytes are [b].
        let mut owner = [NONE; 256];
        for id in 0..n as TokenId {
            if let [b] = bytes(id) {
                if !added[id as usize] && owner[usize::from(*b)] == NONE {
                    owner[usize::from(*b)] = id;
                    rank[id as usize] = 0;
                }
            }
        }
        for &(a, b) in merges {
            let Some((r, new)) = encoder.merge(a, b) else {
                continue;
            };
            let new = new as usize;
            if left[new] == NONE && rank[new] != 0 {
                (left[new], right[new], rank[new]) = (a, b, r + 1);
            } else if (left[new], right[new]) != (a, b) {
                ambiguous[new] = true;
            }
        }
        let self_valid: Vec<bool> = (0..n as TokenId)
            .into_par_iter()
            .map(|id| {
                let b = bytes(id);
                if b.is_empty() || added[id as usize] {
                    return false;
                }
                let mut out = Vec::with_capacity(1);
                encoder.encode_text_piece(b, &mut out);
                out == [id]
            })
            .collect();
        // Usable in rank order, so children are decided before their parents.
        let mut order: Vec<usize> = (0..n).filter(|&i| rank[i] != NONE).collect();
        order.sort_by_key(|&i| rank[i]);
        let mut usable = vec![false; n];
        for i in order {
            usable[i] = self_valid[i]
                && !ambiguous[i]
                && (rank[i] == 0
                    || (usable[left[i] as usize]
                        && usable[right[i] as usize]
                        && rank[left[i] as usize] < rank[i]
                        && rank[right[i] as usize] < rank[i]));
        }
        Self {
            rank,
            left,
            right,
            usable,
        }
    }

    /// Whether [`pair_is_valid`](Self::pair_is_valid) may be asked about `id`.
    #[must_use]
    pub fn usable(&self, id: TokenId) -> bool {
        self.usable.get(id as usize).copied().unwrap_or(false)
    }

    /// `encode(bytes(l) ⊕ bytes(r)) == [l, r]`, for usable `l` and `r` (at most ~2 × token
    /// length lookups).
    #[must_use]
    pub fn pair_is_valid(&self, encoder: &BpeEncoder, mut l: TokenId, mut r: TokenId) -> bool {
        let mut limit = u32::MAX;
        loop {
            if let Some((rank, _)) = encoder.merge(l, r) {
                if rank + 1 < limit {
                    return false;
                }
            }
            let (rl, rr) = (self.rank[l as usize], self.rank[r as usize]);
            if rl == 0 && rr == 0 {
                return true;
            }
            if rl > rr {
                // l was completed last: undo its final merge. A boundary merge of equal rank
                // loses to l's own, which is further left.
                limit = rl;
                l = self.right[l as usize];
            } else {
                // Undo r's final merge; on a tie the boundary occurrence is further left and wins.
                limit = rr + 1;
                r = self.left[r as usize];
            }
        }
    }
}
