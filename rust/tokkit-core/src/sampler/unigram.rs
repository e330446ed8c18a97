//! [`SampledTokenizer`]: a Unigram LM over byte-string pieces, applied by Viterbi.
//!
//! Ids `0..=255` are the 256 single bytes (id = byte value), so every byte string has at least
//! one segmentation and encoding can never fail or need an unknown token; the concatenated bytes
//! of `encode(text)` are always exactly the bytes of `text`. There is no EM: the log-probs are
//! whatever the sampler gave.

use rayon::prelude::*;

use super::counts::{KeyMap, MAX_KEY_BYTES, pack};
use crate::error::{Error, Result};
use crate::pretokenize::Pretokenizer;
use crate::threads;

/// Marks a lookup entry that is only a proper prefix of longer pieces, not a piece itself.
const PREFIX_ONLY: u32 = u32::MAX;

/// A sampled Unigram tokenizer: pieces (byte strings), their log-probs, and a GPT-2
/// pre-tokenizer.
#[derive(Debug)]
pub struct SampledTokenizer {
    pieces: Vec<Box<[u8]>>,
    log_probs: Vec<f32>,
    /// Every piece → its id, and every proper prefix of a piece → [`PREFIX_ONLY`], so that the
    /// Viterbi scan can stop extending a candidate as soon as no piece starts that way.
    lookup: KeyMap<u32>,
    max_len: usize,
    pretokenizer: Pretokenizer,
    noise_std: f64,
}

impl SampledTokenizer {
    /// A tokenizer from its pieces and log-probs, with the GPT-2 pre-tokenizer. `pieces[b]` must
    /// be the single byte `b` for every `b` in `0..=255`; the other pieces must be distinct, of 2
    /// to 15 bytes; every log-prob must be finite.
    ///
    /// # Errors
    /// [`Error::Config`] if a requirement above does not hold.
    pub fn from_pieces(pieces: Vec<Vec<u8>>, log_probs: Vec<f32>) -> Result<Self> {
        Self::build(pieces, log_probs, f64::NAN)
    }

    pub(super) fn build(pieces: Vec<Vec<u8>>, log_probs: Vec<f32>, noise_std: f64) -> Result<Self> {
        if pieces.len() != log_probs.len() {
            return Err(Error::Config(format!(
                "{} pieces but {} log-probs",
                pieces.len(),
                log_probs.len()
            )));
        }
        if pieces.len() < 256 || (0..=255u8).any(|b| pieces[usize::from(b)] != [b]) {
            return Err(Error::Config(
                "the first 256 pieces must be the single bytes 0..=255, in order".into(),
            ));
        }
        if let Some(lp) = log_probs.iter().find(|lp| !lp.is_finite()) {
            return Err(Error::Config(format!("log-prob {lp} is not finite")));
        }
        let mut lookup = KeyMap::default();
        let mut max_len = 1;
        for (id, piece) in pieces.iter().enumerate() {
            if piece.is_empty() || piece.len() > MAX_KEY_BYTES {
                return Err(Error::Config(format!(
                    "piece {piece:?} has {} bytes; pieces have 1 to {MAX_KEY_BYTES}",
                    piece.len()
                )));
            }
            max_len = max_len.max(piece.len());
            let id =
                u32::try_from(id).map_err(|_| Error::Config("more than 2^32 pieces".into()))?;
            match lookup.insert(pack(piece), id) {
                Some(prev) if prev != PREFIX_ONLY => {
                    return Err(Error::Config(format!("piece {piece:?} is given twice")));
                }
                _ => {}
            }
            for end in 1..piece.len() {
                lookup.entry(pack(&piece[..end])).or_insert(PREFIX_ONLY);
            }
        }
        Ok(Self {
            pieces: pieces.into_iter().map(Vec::into_boxed_slice).collect(),
            log_probs,
            lookup,
            max_len,
            pretokenizer: Pretokenizer::from_spec("gpt2")?,
            noise_std,
        })
    }

    /// The pieces by id: ids `0..=255` are the single bytes, then multi-byte pieces in
    /// descending log-prob order (ties by bytes).
    #[must_use]
    pub fn pieces(&self) -> &[Box<[u8]>] {
        &self.pieces
    }

    /// The log-prob of each piece, by id.
    #[must_use]
    pub fn log_probs(&self) -> &[f32] {
        &self.log_probs
    }

    /// Number of pieces (256 or more).
    #[must_use]
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// Always false: the 256 bytes are always there (for clippy's `len_without_is_empty`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The standard deviation of the noise this tokenizer was sampled with (NaN for one made by
    /// [`from_pieces`](Self::from_pieces)).
    #[must_use]
    pub fn noise_std(&self) -> f64 {
        self.noise_std
    }

    /// The id of a piece.
    #[must_use]
    pub fn id_of(&self, piece: &[u8]) -> Option<u32> {
        if piece.is_empty() || piece.len() > MAX_KEY_BYTES {
            return None;
        }
        self.lookup
            .get(&pack(piece))
            .copied()
            .filter(|&id| id != PREFIX_ONLY)
    }

    /// The bytes `ids` stand for.
    ///
    /// # Errors
    /// [`Error::Config`] for an id outside the vocabulary.
    pub fn decode_bytes(&self, ids: &[u32]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for &id in ids {
            let piece = self.pieces.get(id as usize).ok_or_else(|| {
                Error::Config(format!(
                    "token id {id} is outside the vocabulary of {} pieces",
                    self.pieces.len()
                ))
            })?;
            out.extend_from_slice(piece);
        }
        Ok(out)
    }

    /// Token ids of `text`: GPT-2 pre-tokens, each segmented by [`viterbi`](Self::viterbi).
    #[must_use]
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        let mut scratch = Scratch::default();
        self.pretokenizer.split(text, |piece| {
            self.viterbi_into(piece.as_bytes(), &mut scratch, &mut out);
        });
        out
    }

    /// [`encode`](Self::encode) of each text, in parallel on `threads` workers (see
    /// [`threads::workers`]); the result is in the order of `texts` and does not depend on the
    /// worker count.
    ///
    /// # Errors
    /// [`Error::Config`] if the worker pool cannot be made.
    pub fn encode_batch<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        threads: Option<usize>,
    ) -> Result<Vec<Vec<u32>>> {
        let pool = threads::pool(threads)?;
        Ok(pool.install(|| texts.par_iter().map(|t| self.encode(t.as_ref())).collect()))
    }

    /// The segmentation of `bytes` (no pre-tokenization) that maximises the sum of log-probs.
    ///
    /// Ties: positions are relaxed left to right and a candidate replaces the best path into an
    /// end position only if it scores strictly higher, so among equally good paths into a
    /// position the one whose last piece starts earliest (the longest last piece) wins; read
    /// from the end, the segmentation takes the longest final piece among the optimal ones, then
    /// recursively the same for what is left. Scores are summed left to right in `f64`.
    #[must_use]
    pub fn viterbi(&self, bytes: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        self.viterbi_into(bytes, &mut Scratch::default(), &mut out);
        out
    }

    fn viterbi_into(&self, bytes: &[u8], scratch: &mut Scratch, out: &mut Vec<u32>) {
        let n = bytes.len();
        let Scratch { best, back } = scratch;
        best.clear();
        best.resize(n + 1, f64::NEG_INFINITY);
        back.clear();
        back.resize(n + 1, (0, 0));
        best[0] = 0.0;
        for start in 0..n {
            let here = best[start];
            // Every position is reachable: the single bytes are pieces.
            debug_assert!(here.is_finite());
            let mut key = 0u128;
            for (k, &b) in bytes[start..].iter().take(self.max_len).enumerate() {
                key |= u128::from(b) << (120 - 8 * k);
                let Some(&id) = self.lookup.get(&(key | (k as u128 + 1))) else {
                    break;
                };
                if id == PREFIX_ONLY {
                    continue;
                }
                let end = start + k + 1;
                let score = here + f64::from(self.log_probs[id as usize]);
                if score > best[end] {
                    best[end] = score;
                    back[end] = (id, start);
                }
            }
        }
        let first = out.len();
        let mut end = n;
        while end > 0 {
            let (id, start) = back[end];
            out.push(id);
            end = start;
        }
        out[first..].reverse();
    }
}

/// Buffers of one Viterbi pass, reused across the pre-tokens of a text.
#[derive(Default)]
struct Scratch {
    best: Vec<f64>,
    back: Vec<(u32, usize)>,
}
