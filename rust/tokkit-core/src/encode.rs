//! Encoding text with a trained byte-level BPE: added tokens are cut out first, the rest is
//! pre-tokenized and each piece is merged lowest rank first (leftmost on a tie), as HF's BPE
//! model does with `ignore_merges=false`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use hashbrown::HashMap;

use crate::error::{Error, Result};
use crate::hf_json::LoadedBpe;
use crate::pretokenize::Pretokenizer;
use crate::train::{BpeModel, TokenId};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// A byte-level BPE encoder and decoder.
#[derive(Debug)]
pub struct BpeEncoder {
    pretokenizer: Pretokenizer,
    byte_id: [Option<TokenId>; 256],
    ranks: FastMap<u64, (u32, TokenId)>,
    tokens: Vec<Vec<u8>>,
    /// Added tokens `(text, id, special)`, longest first.
    added: Vec<(String, TokenId, bool)>,
}

const NONE: u32 = u32::MAX;

/// Encodings of pieces already seen by one worker (bounded: cleared when full).
#[derive(Debug, Default)]
pub struct PieceCache(FastMap<Box<[u8]>, Vec<TokenId>>);

impl PieceCache {
    const LIMIT: usize = 1 << 16;
}

impl BpeEncoder {
    /// An encoder from the parts of a tokenizer; `added` ids must index `tokens`.
    ///
    /// # Errors
    /// [`Error::Serialization`] if a merged string is missing from the vocabulary.
    pub fn new(
        tokens: Vec<Vec<u8>>,
        added: Vec<(String, TokenId, bool)>,
        merges: &[(TokenId, TokenId)],
        pretokenizer: Pretokenizer,
    ) -> Result<Self> {
        let is_added: std::collections::HashSet<TokenId> = added.iter().map(|a| a.1).collect();
        let (byte_id, ranks) = {
            let mut by_bytes: FastMap<&[u8], TokenId> = FastMap::default();
            for (id, t) in tokens.iter().enumerate() {
                if !is_added.contains(&(id as TokenId)) && !t.is_empty() {
                    by_bytes.entry(t.as_slice()).or_insert(id as TokenId);
                }
            }
            let mut byte_id = [None; 256];
            for b in 0..=255u8 {
                byte_id[usize::from(b)] = by_bytes.get([b].as_slice()).copied();
            }
            let mut ranks = FastMap::default();
            for (rank, &(a, b)) in merges.iter().enumerate() {
                let mut joined = tokens[a as usize].clone();
                joined.extend_from_slice(&tokens[b as usize]);
                let new = *by_bytes.get(joined.as_slice()).ok_or_else(|| {
                    Error::Serialization(format!(
                        "merge {rank} makes {joined:?}, which is not in the vocab"
                    ))
                })?;
                // Like HF's merge map, a repeated rule keeps its last rank.
                ranks.insert((u64::from(a) << 32) | u64::from(b), (rank as u32, new));
            }
            (byte_id, ranks)
        };
        let mut added = added;
        added.sort_by(|x, y| y.0.len().cmp(&x.0.len()).then(x.1.cmp(&y.1)));
        Ok(Self {
            pretokenizer,
            byte_id,
            ranks,
            tokens,
            added,
        })
    }

    /// The encoder of a freshly trained model.
    ///
    /// # Errors
    /// As [`BpeEncoder::new`].
    pub fn from_model(model: &BpeModel, pretokenizer: Pretokenizer) -> Result<Self> {
        let learned_end = model.tokens.len() - model.num_padding;
        let added = (0..model.num_special)
            .chain(learned_end..model.tokens.len())
            .map(|i| {
                (
                    model.token_string(i as TokenId),
                    i as TokenId,
                    i < model.num_special,
                )
            })
            .collect();
        Self::new(model.tokens.clone(), added, &model.merges, pretokenizer)
    }

    /// The encoder of a parsed `tokenizer.json`.
    ///
    /// # Errors
    /// As [`BpeEncoder::new`].
    pub fn from_loaded(loaded: LoadedBpe) -> Result<Self> {
        Self::new(
            loaded.tokens,
            loaded.added,
            &loaded.merges,
            loaded.pretokenizer,
        )
    }

    /// Number of ids.
    #[must_use]
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The bytes of token `id`, if it exists.
    #[must_use]
    pub fn token_bytes(&self, id: TokenId) -> Option<&[u8]> {
        self.tokens.get(id as usize).map(Vec::as_slice)
    }

    /// The merge of `left` + `right`: its rank and the id it makes, if the vocabulary has one.
    #[must_use]
    pub fn merge(&self, left: TokenId, right: TokenId) -> Option<(u32, TokenId)> {
        self.ranks
            .get(&((u64::from(left) << 32) | u64::from(right)))
            .copied()
    }

    /// `Some(special)` if `id` is an added token (matched in text before BPE), `None` otherwise.
    #[must_use]
    pub fn added_kind(&self, id: TokenId) -> Option<bool> {
        self.added.iter().find(|a| a.1 == id).map(|a| a.2)
    }

    /// Byte offsets in `text` where an independently encoded piece starts: added-token matches,
    /// the text after them, and every pre-token. BPE never merges across these offsets, so a
    /// token sequence is valid iff it respects them and is valid inside each piece.
    #[must_use]
    pub fn piece_starts(&self, text: &str) -> Vec<usize> {
        let base = text.as_ptr() as usize;
        let mut starts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let next = self
                .added
                .iter()
                .filter_map(|(s, _, _)| rest.find(s.as_str()).map(|at| (at, s.len())))
                .min_by_key(|&(at, len)| (at, Reverse(len)));
            let (plain, matched) = match next {
                Some((at, len)) => (&rest[..at], Some(&rest[at..at + len])),
                None => (rest, None),
            };
            self.pretokenizer
                .split(plain, |piece| starts.push(piece.as_ptr() as usize - base));
            match matched {
                Some(m) => {
                    starts.push(m.as_ptr() as usize - base);
                    rest = &rest[plain.len() + m.len()..];
                }
                None => break,
            }
        }
        starts
    }

    /// The pre-tokenizer in use.
    #[must_use]
    pub fn pretokenizer(&self) -> &Pretokenizer {
        &self.pretokenizer
    }

    /// Encodes `text`, matching added tokens first (leftmost, then longest).
    #[must_use]
    pub fn encode(&self, text: &str) -> Vec<TokenId> {
        self.encode_cached(text, None)
    }

    /// [`encode`](Self::encode), reusing the encodings of pieces seen before in `cache`: batch
    /// encoders keep one cache per worker, since the same words come back again and again.
    #[must_use]
    pub fn encode_cached(&self, text: &str, mut cache: Option<&mut PieceCache>) -> Vec<TokenId> {
        let mut out = Vec::with_capacity(text.len() / 3);
        let mut rest = text;
        while !rest.is_empty() {
            let next = self
                .added
                .iter()
                .filter_map(|(s, id, _)| rest.find(s.as_str()).map(|at| (at, s.len(), *id)))
                .min_by_key(|&(at, len, _)| (at, Reverse(len)));
            match next {
                Some((at, len, id)) => {
                    self.encode_ordinary_cached(&rest[..at], &mut out, cache.as_deref_mut());
                    out.push(id);
                    rest = &rest[at + len..];
                }
                None => {
                    self.encode_ordinary_cached(rest, &mut out, cache.as_deref_mut());
                    break;
                }
            }
        }
        out
    }

    /// Encodes `text` without looking for added tokens.
    pub fn encode_ordinary_into(&self, text: &str, out: &mut Vec<TokenId>) {
        self.encode_ordinary_cached(text, out, None);
    }

    fn encode_ordinary_cached(
        &self,
        text: &str,
        out: &mut Vec<TokenId>,
        cache: Option<&mut PieceCache>,
    ) {
        match cache {
            None => self
                .pretokenizer
                .split(text, |piece| self.encode_piece(piece.as_bytes(), out)),
            Some(cache) => self.pretokenizer.split(text, |piece| {
                let bytes = piece.as_bytes();
                if bytes.len() < 2 {
                    return self.encode_piece(bytes, out);
                }
                if let Some(ids) = cache.0.get(bytes) {
                    return out.extend_from_slice(ids);
                }
                let start = out.len();
                self.encode_piece(bytes, out);
                if cache.0.len() >= PieceCache::LIMIT {
                    cache.0.clear();
                }
                cache.0.insert(bytes.into(), out[start..].to_vec());
            }),
        }
    }

    /// Merges the bytes of one pre-token: a linked list of symbols and a heap of
    /// (rank, position), lowest rank and then leftmost first.
    pub fn encode_piece(&self, piece: &[u8], out: &mut Vec<TokenId>) {
        let mut ids: Vec<TokenId> = piece
            .iter()
            .filter_map(|&b| self.byte_id[usize::from(b)])
            .collect();
        if ids.len() > 1 {
            let n = ids.len();
            let mut next: Vec<u32> = (1..=n as u32).collect();
            next[n - 1] = NONE;
            let mut prev: Vec<u32> = (0..n as u32).map(|i| i.wrapping_sub(1)).collect();
            prev[0] = NONE;
            let rank_of = |a: TokenId, b: TokenId| {
                self.ranks
                    .get(&((u64::from(a) << 32) | u64::from(b)))
                    .copied()
            };
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
        } else {
            out.extend(ids);
        }
    }

    /// The bytes `ids` stand for; special tokens are left out when `skip_special` is set.
    ///
    /// # Errors
    /// [`Error::Config`] for an id outside the vocabulary.
    pub fn decode_bytes(&self, ids: &[TokenId], skip_special: bool) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            let bytes = self.tokens.get(id as usize).ok_or_else(|| {
                Error::Config(format!(
                    "token id {id} is outside the vocabulary of {} ids",
                    self.tokens.len()
                ))
            })?;
            if skip_special && self.added.iter().any(|a| a.1 == id && a.2) {
                continue;
            }
            out.extend_from_slice(bytes);
        }
        Ok(out)
    }
}
