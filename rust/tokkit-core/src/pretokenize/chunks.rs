//! Random chunking for supertokens (TokenAdapt, arXiv 2505.09738): each document is cut into
//! chunks whose lengths in chars are drawn from a distribution, ignoring word boundaries, so BPE
//! can learn tokens that span words.
//!
//! Reproducible by construction: every document gets its own random stream, derived from the
//! seed and the document's position in the corpus (file and line), so the chunks do not depend
//! on the thread count or on which worker saw the document. Chunk boundaries are pre-token
//! boundaries directly; there is no separator string that could collide with the text.

use crate::error::{Error, Result};

/// The upstream default (`train.yaml`) as published: its weights sum to 1.1, so tokkit divides
/// them by their sum.
pub const DEFAULT_RANGES: [(usize, usize, f64); 10] = [
    (4, 5, 0.044),
    (6, 7, 0.091),
    (8, 9, 0.146),
    (10, 11, 0.171),
    (12, 13, 0.185),
    (14, 15, 0.171),
    (16, 17, 0.146),
    (18, 19, 0.091),
    (20, 21, 0.044),
    (22, 23, 0.011),
];

/// A distribution over chunk lengths: ranges `[min, max]` (chars) with weights summing to 1.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkDistribution {
    ranges: Vec<(usize, usize, f64)>,
}

impl Default for ChunkDistribution {
    fn default() -> Self {
        let total: f64 = DEFAULT_RANGES.iter().map(|r| r.2).sum();
        Self {
            ranges: DEFAULT_RANGES
                .iter()
                .map(|&(a, b, w)| (a, b, w / total))
                .collect(),
        }
    }
}

impl ChunkDistribution {
    /// A distribution from `(min, max, weight)` ranges.
    ///
    /// # Errors
    /// [`Error::Config`] if a range is empty or starts below 1, or the weights do not sum to 1
    /// (within 1e-6).
    pub fn new(ranges: Vec<(usize, usize, f64)>) -> Result<Self> {
        if ranges.is_empty() {
            return Err(Error::Config("the chunk distribution has no ranges".into()));
        }
        for &(min, max, weight) in &ranges {
            if min < 1 || max < min || weight.is_nan() || weight < 0.0 {
                return Err(Error::Config(format!(
                    "chunk range {min}-{max}:{weight} is invalid: lengths start at 1, max >= min, weight >= 0"
                )));
            }
        }
        let total: f64 = ranges.iter().map(|r| r.2).sum();
        if (total - 1.0).abs() > 1e-6 {
            return Err(Error::Config(format!(
                "chunk weights sum to {total}, not 1; divide each weight by {total} (the upstream \
                 default table sums to 1.1 for this reason)"
            )));
        }
        Ok(Self { ranges })
    }

    /// Parses `"4-5:0.04,6-7:0.09,..."`.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed string, or as [`ChunkDistribution::new`].
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = || {
            Error::Config(format!(
                "cannot read chunk distribution {spec:?}: write it as 4-5:0.2,6-9:0.8"
            ))
        };
        let ranges = spec
            .split(',')
            .map(|part| {
                let (range, weight) = part.trim().split_once(':').ok_or_else(bad)?;
                let (min, max) = range.split_once('-').unwrap_or((range, range));
                Ok((
                    min.trim().parse().map_err(|_| bad())?,
                    max.trim().parse().map_err(|_| bad())?,
                    weight.trim().parse().map_err(|_| bad())?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(ranges)
    }

    /// The ranges.
    #[must_use]
    pub fn ranges(&self) -> &[(usize, usize, f64)] {
        &self.ranges
    }

    /// Draws the next chunk length for `rem` remaining chars (TokenAdapt's procedure).
    fn draw(&self, rem: usize, rng: &mut SplitMix64) -> usize {
        let smallest = self.ranges.iter().map(|r| r.0).min().unwrap_or(1);
        if rem < smallest {
            return rem;
        }
        let mut u = rng.unit();
        let mut chosen = self.ranges[self.ranges.len() - 1];
        for &r in &self.ranges {
            if u < r.2 {
                chosen = r;
                break;
            }
            u -= r.2;
        }
        let (lo, hi) = (chosen.0.min(rem), chosen.1.min(rem));
        lo + rng.below(hi - lo + 1)
    }
}

/// SplitMix64: small, fast, and good enough to sample chunk lengths.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The stream for one document.
    #[must_use]
    pub fn for_document(seed: u64, document: u64) -> Self {
        let mut s = Self(seed ^ 0x9E37_79B9_7F4A_7C15);
        let mixed = s.next_u64() ^ document.wrapping_mul(0xD1B5_4A32_D192_ED03);
        Self(mixed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// Cuts documents into random chunks.
#[derive(Clone, Debug)]
pub struct Chunker {
    /// The length distribution.
    pub distribution: ChunkDistribution,
    /// The seed.
    pub seed: u64,
}

impl Chunker {
    /// Calls `emit` with the chunks of `text`, which tile it; `document` selects the stream.
    pub fn split<'a>(&self, text: &'a str, document: u64, mut emit: impl FnMut(&'a str)) {
        let mut rng = SplitMix64::for_document(self.seed, document);
        let mut rem = text.chars().count();
        let mut rest = text;
        while rem > 0 {
            let len = self.distribution.draw(rem, &mut rng).max(1);
            let cut = rest.char_indices().nth(len).map_or(rest.len(), |(i, _)| i);
            emit(&rest[..cut]);
            rest = &rest[cut..];
            rem -= len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_the_distribution() {
        let dist = ChunkDistribution::default();
        let mut rng = SplitMix64::for_document(1, 2);
        let n = 100_000;
        let mut counts = vec![0usize; dist.ranges().len()];
        for _ in 0..n {
            let len = dist.draw(1_000_000, &mut rng);
            let i = dist
                .ranges()
                .iter()
                .position(|r| (r.0..=r.1).contains(&len))
                .unwrap();
            counts[i] += 1;
        }
        let chi2: f64 = counts
            .iter()
            .zip(dist.ranges())
            .map(|(&c, r)| {
                let expected = r.2 * n as f64;
                (c as f64 - expected).powi(2) / expected
            })
            .sum();
        // 9 degrees of freedom: the 0.1% critical value is 27.88.
        assert!(chi2 < 27.88, "chi-square {chi2}");
    }

    #[test]
    fn chunks_tile_the_text_and_depend_only_on_seed_and_document() {
        let chunker = Chunker {
            distribution: ChunkDistribution::default(),
            seed: 7,
        };
        let text = "Türkçe ve English mixed text, with numbers 12345 and emoji 😀 at the end.";
        let chunks = |seed, doc| {
            let c = Chunker {
                seed,
                ..chunker.clone()
            };
            let mut out = Vec::new();
            c.split(text, doc, |p| out.push(p));
            out
        };
        assert_eq!(chunks(7, 3).concat(), text);
        assert_eq!(chunks(7, 3), chunks(7, 3));
        assert_ne!(chunks(7, 3), chunks(8, 3));
        assert_ne!(chunks(7, 3), chunks(7, 4));
    }

    #[test]
    fn invalid_distributions_are_rejected() {
        assert!(
            ChunkDistribution::new(DEFAULT_RANGES.to_vec())
                .unwrap_err()
                .to_string()
                .contains("1.1")
        );
        assert!(ChunkDistribution::parse("0-3:1").is_err());
        assert!(ChunkDistribution::parse("5-3:1").is_err());
        assert!(ChunkDistribution::parse("nonsense").is_err());
        assert_eq!(
            ChunkDistribution::parse("2-4:0.5, 8:0.5").unwrap().ranges(),
            &[(2, 4, 0.5), (8, 8, 0.5)]
        );
    }
}
