//! Stable boundaries and covers (design/byteprobs.md §2, §4.4, §5.4).
//!
//! A cover of `x` is a valid sequence whose last token reaches or crosses the end of `x` and
//! whose other tokens end strictly before it. Every cover starts with `encode(x[..h])` for the
//! stable boundary `h`, so only the tail `x[h..]` is enumerated: a depth-first walk over the
//! token sequences that tile a prefix of the tail (pruned by validity, which is prefix-closed),
//! each closed by every token that starts with the rest of the tail.

use rayon::prelude::*;

use super::ByteVocab;
use super::validity::Seg;
use crate::train::TokenId;

impl ByteVocab {
    /// The continuations that decide the stability of `data`'s boundaries, and the complete
    /// UTF-8 text they continue (`data` minus a trailing incomplete char).
    fn boundary_probes<'a>(&self, data: &'a [u8]) -> (&'a str, Vec<Vec<u8>>) {
        match std::str::from_utf8(data) {
            Ok(text) => (text, self.continuations(data).unwrap_or_default()),
            Err(e) => {
                let k = e.valid_up_to();
                let text = std::str::from_utf8(&data[..k]).unwrap_or_default();
                let conts = if e.error_len().is_none() {
                    // Only continuations that start with the incomplete char matter.
                    let partial = &data[k..];
                    self.continuations(data)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|c| [partial, &c].concat())
                        .collect()
                } else {
                    self.continuations(&data[..k]).unwrap_or_default()
                };
                (text, conts)
            }
        }
    }

    /// The largest byte offset `h` such that, for every continuation `c` (as far as the probe
    /// set tells), `encode(data ⊕ c)` starts with `encode(data[..h])` and no token crosses `h`.
    #[must_use]
    pub fn stable_boundary(&self, data: &[u8]) -> usize {
        if self.reference {
            return 0;
        }
        let (text, conts) = self.boundary_probes(data);
        let segs = self.segments(text);
        let mut candidates: Vec<usize> = segs.iter().map(|s| s.start).collect();
        candidates.push(text.len());
        candidates.dedup();
        let full: Vec<(String, Vec<Seg>)> = conts
            .iter()
            .filter_map(|c| {
                let s = String::from_utf8([text.as_bytes(), c].concat()).ok()?;
                let segs = self.segments(&s);
                Some((s, segs))
            })
            .collect();
        candidates
            .into_iter()
            .rev()
            .find(|&h| h == 0 || self.is_stable_at(text, h, &full))
            .unwrap_or(0)
    }

    /// Whether every continued text in `full` segments as `text[..h]` does before `h` and as its
    /// own tail does after `h`.
    fn is_stable_at(&self, text: &str, h: usize, full: &[(String, Vec<Seg>)]) -> bool {
        let head = self.segments(&text[..h]);
        full.iter().all(|(s, segs)| {
            let split = segs.partition_point(|seg| seg.end <= h);
            if segs[..split] != head[..] || segs.get(split).is_some_and(|seg| seg.start != h) {
                return false;
            }
            let tail = self.segments(&s[h..]);
            tail.len() == segs.len() - split
                && tail.iter().zip(&segs[split..]).all(|(a, b)| {
                    a.start + h == b.start && a.end + h == b.end && a.added == b.added
                })
        })
    }

    /// Every valid cover of `data`: `(ids of the whole cover, remainder bytes)`, in depth-first
    /// order (shorter first tokens first, candidates by id).
    #[must_use]
    pub fn covers(&self, data: &[u8]) -> Vec<(Vec<TokenId>, usize)> {
        let h = self.stable_boundary(data);
        let head = self.encode(std::str::from_utf8(&data[..h]).unwrap_or_default());
        let tail = &data[h..];
        if tail.is_empty() {
            return vec![(head, 0)];
        }
        let mut out = Vec::new();
        let mut stack: Vec<(Vec<TokenId>, usize)> = vec![(Vec::new(), 0)];
        while let Some((seq, pos)) = stack.pop() {
            let rest = &tail[pos..];
            let extend = |v: TokenId| {
                let mut ids = seq.clone();
                ids.push(v);
                let mut text = tail[..pos].to_vec();
                text.extend_from_slice(self.token_bytes(v).unwrap_or_default());
                self.oracle(&ids, &text).then_some(ids)
            };
            let last: Vec<(Vec<TokenId>, usize)> = self
                .tokens_with_prefix(rest)
                .into_par_iter()
                .filter_map(|v| {
                    let ids = extend(v)?;
                    let remainder = self.len_of(v) - rest.len();
                    Some(([head.as_slice(), &ids].concat(), remainder))
                })
                .collect();
            out.extend(last);
            let inner: Vec<(Vec<TokenId>, usize)> = self
                .tokens_prefix_of(rest)
                .into_iter()
                .filter(|&v| self.len_of(v) < rest.len())
                .filter_map(|v| extend(v).map(|ids| (ids, pos + self.len_of(v))))
                .collect();
            // Pushed in reverse so the walk visits them in id order.
            stack.extend(inner.into_iter().rev());
        }
        out
    }
}
