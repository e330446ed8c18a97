//! The ZeTT tokenizer sampler (design/hypernet.md §2): a hypernetwork is trained on a fresh
//! random tokenizer per batch, drawn from the substring statistics of recent batches.
//!
//! [`TokenizerSampler::observe`] crops each text to [`SamplerConfig::crop_bytes`], cuts it into
//! GPT-2 pre-tokens and counts every substring of 1 to `max_piece_bytes - 1` bytes inside each
//! pre-token ([`counts`]). Counts of recent batches are kept in a queue of at most
//! [`SamplerConfig::queue_texts`] texts, with running totals.
//!
//! [`TokenizerSampler::sample`] turns the totals into a tokenizer: score = frequency × length,
//! normalised to sum 1 (`p_i`); one noise level `sigma = exp(noise_mu + noise_sigma · N(0,1))`
//! per sample and `noisy_i = p_i + sigma · N(0,1)` per piece, drawn in byte order of the pieces
//! from a generator seeded by `(seed, step)` only ([`rng`]); the `vocab_size` multi-byte pieces
//! with the highest positive noisy score are kept with log-prob `ln(noisy_i)`; the 256 single
//! bytes and every whitespace-only piece seen are always added. The result is a Unigram LM with
//! no EM ([`SampledTokenizer`], applied by Viterbi in [`unigram`]).
//!
//! Pieces are byte strings: GPT-2's byte-level characters are only a rendering of them.
//! Everything is deterministic: the same observed batches, seed and step give the same
//! tokenizer, whatever the number of threads.

pub mod counts;
pub mod rng;
pub mod unigram;

use std::collections::VecDeque;

pub use unigram::SampledTokenizer;

use counts::{MAX_KEY_BYTES, Totals, count_texts, crop, first_byte, key_len, unpack};
use rng::Rng;

use crate::error::{Error, Result};
use crate::pretokenize::Pretokenizer;
use crate::threads;

/// How far below the lowest real log-score the pieces without one (no positive noisy score, or
/// never seen) are put: `e^-10 ≈ 4.5e-5` times as likely as the least likely scored piece, so
/// they are used only where nothing scored covers the bytes.
pub const FALLBACK_GAP: f32 = 10.0;

/// Parameters of [`TokenizerSampler`].
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerConfig {
    /// Multi-byte pieces kept per sample besides the 256 single bytes (and besides whitespace
    /// runs not among them).
    pub vocab_size: usize,
    /// Substrings *shorter* than this are counted: 1 to `max_piece_bytes - 1` bytes (the paper's
    /// "shorter than 16 chars"). At most 16, because a piece is packed in a 128-bit key.
    pub max_piece_bytes: usize,
    /// Each observed text is cropped to this many bytes (on a char boundary) before counting;
    /// the paper's 128 tokens × 16 chars.
    pub crop_bytes: usize,
    /// The queue of recent batches holds at most this many texts; the oldest batches drop out
    /// (the newest batch is always kept, even if it alone is larger).
    pub queue_texts: usize,
    /// Mean of the log of the noise level (ln 1e-5).
    pub noise_mu: f64,
    /// Standard deviation of the log of the noise level.
    pub noise_sigma: f64,
    /// Seed of every sample; a sample depends on `(seed, step)` and the observed texts only.
    pub seed: u64,
    /// Workers for counting (see [`threads::workers`]); results do not depend on it.
    pub threads: Option<usize>,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self {
            vocab_size: 32_768,
            max_piece_bytes: 16,
            crop_bytes: 2048,
            queue_texts: 2048,
            noise_mu: 1e-5f64.ln(),
            noise_sigma: 4.0,
            seed: 0,
            threads: None,
        }
    }
}

impl SamplerConfig {
    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::Config`] with a hint when a value is out of range.
    pub fn validate(&self) -> Result<()> {
        if self.vocab_size == 0 {
            return Err(Error::Config(
                "vocab_size 0 keeps no multi-byte piece; the sampled tokenizers would be bytes only"
                    .into(),
            )
            .with_hint("give {vocab_size} of 1 or more"));
        }
        if !(2..=MAX_KEY_BYTES + 1).contains(&self.max_piece_bytes) {
            return Err(Error::Config(format!(
                "max_piece_bytes {} is out of range: pieces shorter than it are counted, and a piece has 1 to {MAX_KEY_BYTES} bytes",
                self.max_piece_bytes
            ))
            .with_hint(format!("give {{max_piece_bytes}} between 2 and {}", MAX_KEY_BYTES + 1)));
        }
        if self.crop_bytes == 0 {
            return Err(Error::Config("crop_bytes 0 would count nothing".into())
                .with_hint("give {crop_bytes} of 1 or more"));
        }
        if self.queue_texts == 0 {
            return Err(Error::Config("queue_texts 0 would keep no batch".into())
                .with_hint("give {queue_texts} of 1 or more"));
        }
        if !self.noise_mu.is_finite() {
            return Err(
                Error::Config(format!("noise_mu {} is not finite", self.noise_mu))
                    .with_hint("give {noise_mu} as a finite number, such as ln(1e-5)"),
            );
        }
        if !self.noise_sigma.is_finite() || self.noise_sigma < 0.0 {
            return Err(Error::Config(format!(
                "noise_sigma {} must be finite and 0 or more",
                self.noise_sigma
            ))
            .with_hint("give {noise_sigma} of 0 or more"));
        }
        Ok(())
    }
}

/// Counts substrings of recent batches and samples tokenizers from them.
#[derive(Debug)]
pub struct TokenizerSampler {
    config: SamplerConfig,
    pretokenizer: Pretokenizer,
    /// The cropped texts of each queued batch, oldest first. Texts, not counts, are kept: a
    /// batch's counts take ~20 bytes per distinct substring (tens of MB per batch of 32), its
    /// cropped texts at most 64 KB; an evicted batch is counted again to subtract it, which
    /// costs as much as observing it did.
    queue: VecDeque<Vec<Box<str>>>,
    queued_texts: usize,
    totals: Totals,
}

impl TokenizerSampler {
    /// An empty sampler.
    ///
    /// # Errors
    /// [`Error::Config`] if the configuration is invalid.
    pub fn new(config: SamplerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            pretokenizer: Pretokenizer::from_spec("gpt2")?,
            queue: VecDeque::new(),
            queued_texts: 0,
            totals: Totals::default(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// Texts in the queue.
    #[must_use]
    pub fn queued_texts(&self) -> usize {
        self.queued_texts
    }

    /// Batches in the queue.
    #[must_use]
    pub fn queued_batches(&self) -> usize {
        self.queue.len()
    }

    /// Distinct substrings counted over the queue.
    #[must_use]
    pub fn distinct_pieces(&self) -> usize {
        self.totals.len()
    }

    /// How often `piece` occurs over the queue (0 if never, or if it is not a counted length).
    #[must_use]
    pub fn count(&self, piece: &[u8]) -> u32 {
        self.totals.get(piece)
    }

    /// Counts one batch and queues it; the oldest batches drop out while the queue holds more
    /// than `queue_texts` texts (never the batch just added). An empty batch changes nothing.
    ///
    /// # Errors
    /// [`Error::Config`] if the worker pool cannot be made.
    pub fn observe<S: AsRef<str>>(&mut self, texts: &[S]) -> Result<()> {
        if texts.is_empty() {
            return Ok(());
        }
        let cropped: Vec<Box<str>> = texts
            .iter()
            .map(|t| crop(t.as_ref(), self.config.crop_bytes).into())
            .collect();
        let max_len = self.config.max_piece_bytes - 1;
        let pool = threads::pool(self.config.threads)?;
        let Self {
            pretokenizer,
            queue,
            queued_texts,
            totals,
            config,
        } = self;
        pool.install(|| {
            totals.add(&count_texts(pretokenizer, &cropped, max_len));
            *queued_texts += cropped.len();
            queue.push_back(cropped);
            while *queued_texts > config.queue_texts && queue.len() > 1 {
                let old = queue.pop_front().expect("more than one batch");
                *queued_texts -= old.len();
                totals.subtract(&count_texts(pretokenizer, &old, max_len));
            }
        });
        Ok(())
    }

    /// The tokenizer of training step `step` (see the module doc). It depends only on the
    /// observed batches, the seed and `step`: sampling again gives the same tokenizer.
    ///
    /// # Panics
    /// Only on an internal inconsistency (a vocabulary that cannot be built).
    #[must_use]
    pub fn sample(&self, step: u64) -> SampledTokenizer {
        let mut rng = Rng::for_step(self.config.seed, step);
        let sigma = (self.config.noise_mu + self.config.noise_sigma * rng.normal()).exp();
        let keys = self.totals.keys();
        let counts = self.totals.counts();
        #[expect(clippy::cast_precision_loss, reason = "scores far below 2^53")]
        let total: f64 = keys
            .iter()
            .zip(counts)
            .map(|(&k, &n)| (u64::from(n) * key_len(k) as u64) as f64)
            .sum();
        let scale = if total > 0.0 { 1.0 / total } else { 0.0 };

        // One normal per counted piece, in key (= byte) order, so that the draws for a piece
        // depend only on which pieces exist, never on hashing or threads.
        let mut byte_noisy = [f64::NAN; 256];
        let mut candidates: Vec<(f64, u32)> = Vec::new();
        let mut whitespace: Vec<(f64, u32)> = Vec::new();
        for (i, (&key, &n)) in keys.iter().zip(counts).enumerate() {
            #[expect(clippy::cast_precision_loss, reason = "scores far below 2^53")]
            let p = (u64::from(n) * key_len(key) as u64) as f64 * scale;
            let noisy = p + sigma * rng.normal();
            let idx = u32::try_from(i).expect("fewer than 2^32 pieces");
            if key_len(key) == 1 {
                byte_noisy[usize::from(first_byte(key))] = noisy;
                continue;
            }
            if is_whitespace_piece(key) {
                whitespace.push((noisy, idx));
            }
            if noisy > 0.0 {
                candidates.push((noisy, idx));
            }
        }

        // Top `vocab_size` by noisy score, ties by bytes (index order is byte order).
        let by_score = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if candidates.len() > self.config.vocab_size {
            candidates.select_nth_unstable_by(self.config.vocab_size - 1, by_score);
            candidates.truncate(self.config.vocab_size);
        }
        let kept: hashbrown::HashSet<u32> = candidates.iter().map(|&(_, i)| i).collect();
        let mut multi: Vec<(f64, u32)> = candidates;
        multi.extend(whitespace.into_iter().filter(|(_, i)| !kept.contains(i)));

        // Pieces without a positive noisy score get the fallback, below every real log-score.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "log-probs are stored as f32"
        )]
        let log = |noisy: f64| noisy.ln() as f32;
        let lowest = multi
            .iter()
            .map(|&(noisy, _)| noisy)
            .chain(byte_noisy.iter().copied())
            .filter(|&noisy| noisy > 0.0)
            .map(log)
            .fold(f32::INFINITY, f32::min);
        let fallback = if lowest.is_finite() {
            lowest - FALLBACK_GAP
        } else {
            -FALLBACK_GAP
        };
        let score = |noisy: f64| if noisy > 0.0 { log(noisy) } else { fallback };

        let mut scored: Vec<(f32, u32)> =
            multi.iter().map(|&(noisy, i)| (score(noisy), i)).collect();
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));

        let mut pieces: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        let mut log_probs: Vec<f32> = byte_noisy.iter().map(|&noisy| score(noisy)).collect();
        for (lp, i) in scored {
            pieces.push(unpack(keys[i as usize]));
            log_probs.push(lp);
        }
        SampledTokenizer::build(pieces, log_probs, sigma).expect("a well-formed vocabulary")
    }
}

/// Whether a packed key of two or more bytes is a run of whitespace chars (Unicode
/// `White_Space`, as `\s` in the GPT-2 pattern). Runs on every counted piece, so it rejects
/// without decoding: any ASCII byte other than a space or `\t`..`\r` rules a piece out (most
/// pieces start with a space and go on with a letter), and only pieces left with non-ASCII bytes
/// are decoded (whitespace chars beyond ASCII: U+0085, U+00A0, U+1680, U+2000..U+205F, U+3000).
fn is_whitespace_piece(key: u128) -> bool {
    let len = key_len(key);
    if len < 2 {
        return false;
    }
    let mut ascii = true;
    for k in 0..len {
        let b = u8::try_from((key >> (120 - 8 * k)) & 0xFF).expect("one byte");
        if b.is_ascii() {
            if !matches!(b, b'\t'..=b'\r' | b' ') {
                return false;
            }
        } else {
            ascii = false;
        }
    }
    ascii || std::str::from_utf8(&unpack(key)).is_ok_and(|s| s.chars().all(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use counts::pack;

    #[test]
    fn whitespace_pieces() {
        assert!(is_whitespace_piece(pack(b"  ")));
        assert!(is_whitespace_piece(pack(b"\n\n ")));
        assert!(is_whitespace_piece(pack("\u{3000}".as_bytes())));
        assert!(is_whitespace_piece(pack(" \u{a0}".as_bytes())));
        assert!(!is_whitespace_piece(pack(b" ")), "single bytes are bytes");
        assert!(!is_whitespace_piece(pack(b" a")));
        assert!(!is_whitespace_piece(pack(b"\xe3\x80")), "a partial char");
    }

    #[test]
    fn scores_are_frequency_times_length() {
        let mut s = TokenizerSampler::new(SamplerConfig {
            noise_mu: -100.0,
            noise_sigma: 0.0,
            vocab_size: 2,
            ..SamplerConfig::default()
        })
        .unwrap();
        // "aaa" (x1): a:3, aa:2, aaa:1 → scores 3, 4, 3; "bb" (x1): b:2, bb:1 → 2, 2.
        s.observe(&["aaa bb"]).unwrap();
        assert_eq!(s.count(b"aa"), 2);
        assert_eq!(s.count(b" bb"), 1);
        let t = s.sample(0);
        // Multi-byte scores: aa 4, aaa 3, " bb" 3, " b" 2, bb 2; the tie at 3 goes by bytes
        // (" bb" < "aaa"), as noise of e^-100 is below the precision of the scores.
        assert_eq!(&*t.pieces()[256], b"aa");
        assert_eq!(&*t.pieces()[257], b" bb");
        assert_eq!(t.len(), 258);
    }
}
