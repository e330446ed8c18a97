//! The merges of one piece's symbols, lowest rank first and leftmost on a tie, as HF's BPE
//! applies them: a rescan of a stack array for short pieces, a heap and a linked list for long
//! ones (so a run of 100,000 `a` is not quadratic).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{BpeEncoder, NO_MERGE, SMALL};
use crate::train::TokenId;

const NONE: u32 = u32::MAX;

impl BpeEncoder {
    /// Merges symbols: a linked list and a heap of (rank, position), lowest rank and then
    /// leftmost first.
    pub(super) fn merge_symbols(&self, mut ids: Vec<TokenId>, out: &mut Vec<TokenId>) {
        if ids.len() < 2 {
            out.extend(ids);
            return;
        }
        if ids.len() <= SMALL {
            return self.merge_small(&mut ids, out);
        }
        let n = ids.len();
        let mut next: Vec<u32> = (1..=n as u32).collect();
        next[n - 1] = NONE;
        let mut prev: Vec<u32> = (0..n as u32).map(|i| i.wrapping_sub(1)).collect();
        prev[0] = NONE;
        let rank_of = |a: TokenId, b: TokenId| self.merge(a, b);
        let mut heap: BinaryHeap<Reverse<(u32, u32)>> = (0..n - 1)
            .filter_map(|i| rank_of(ids[i], ids[i + 1]).map(|(r, _)| Reverse((r, i as u32))))
            .collect();
        let mut alive = vec![true; n];
        while let Some(Reverse((rank, i))) = heap.pop() {
            let i = i as usize;
            let j = next[i];
            if !alive[i] || j == NONE {
                continue;
            }
            let j = j as usize;
            let Some((r, new)) = rank_of(ids[i], ids[j]) else {
                continue;
            };
            if r != rank {
                continue;
            }
            ids[i] = new;
            alive[j] = false;
            next[i] = next[j];
            if next[j] != NONE {
                prev[next[j] as usize] = i as u32;
            }
            if prev[i] != NONE {
                let p = prev[i] as usize;
                if let Some((r, _)) = rank_of(ids[p], ids[i]) {
                    heap.push(Reverse((r, p as u32)));
                }
            }
            if next[i] != NONE {
                if let Some((r, _)) = rank_of(ids[i], ids[next[i] as usize]) {
                    heap.push(Reverse((r, i as u32)));
                }
            }
        }
        out.extend(
            ids.iter()
                .zip(&alive)
                .filter(|(_, a)| **a)
                .map(|(id, _)| *id),
        );
    }

    /// [`merge_symbols`](Self::merge_symbols) for short pieces, where rescanning a stack array
    /// for the lowest rank beats a heap and its allocations.
    pub(super) fn merge_small(&self, ids: &mut [TokenId], out: &mut Vec<TokenId>) {
        if ids.len() < 2 {
            out.extend_from_slice(ids);
            return;
        }
        let mut ranks = [NO_MERGE; SMALL];
        for (slot, pair) in ranks.iter_mut().zip(ids.windows(2)) {
            *slot = self.pair(pair[0], pair[1]);
        }
        self.merge_ranked(ids, &mut ranks, out);
    }

    /// The merges of `ids` given the merge of each neighbouring two in `ranks` (and
    /// [`NO_MERGE`] after them). Same order as the heap: lowest rank, then leftmost, since
    /// every current pair is considered at every step.
    pub(super) fn merge_ranked(
        &self,
        ids: &mut [TokenId],
        ranks: &mut [(u32, TokenId); SMALL],
        out: &mut Vec<TokenId>,
    ) {
        let mut len = ids.len();
        while len > 1 {
            let mut best = 0;
            for i in 1..len - 1 {
                if ranks[i].0 < ranks[best].0 {
                    best = i;
                }
            }
            let (rank, new) = ranks[best];
            if rank == u32::MAX {
                break;
            }
            ids[best] = new;
            ids.copy_within(best + 2..len, best + 1);
            ranks.copy_within(best + 2..len, best + 1);
            len -= 1;
            ranks[len - 1] = NO_MERGE;
            if best + 1 < len {
                ranks[best] = self.pair(ids[best], ids[best + 1]);
            } else {
                ranks[best] = NO_MERGE;
            }
            if best > 0 {
                ranks[best - 1] = self.pair(ids[best - 1], ids[best]);
            }
        }
        out.extend_from_slice(&ids[..len]);
    }

    /// The merge of `a` + `b`, or [`NO_MERGE`].
    #[inline]
    fn pair(&self, a: TokenId, b: TokenId) -> (u32, TokenId) {
        self.merge(a, b).unwrap_or(NO_MERGE)
    }
}
