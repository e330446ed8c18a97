//! Counting distinct pre-tokens ("words") over a corpus, in parallel.
//!
//! Each rayon worker folds blocks into its own hash map, and the maps are summed at the end, so
//! memory grows with the number of distinct words, not with the corpus. The result is sorted by
//! bytes, so nothing downstream depends on hash order or on how blocks were shared out.

use std::ops::ControlFlow;
use std::sync::Mutex;

use hashbrown::HashMap;
use rayon::prelude::*;

use crate::cancel::CancelToken;
use crate::corpus::{self, Block, BlockReader, InputFile};
use crate::error::{Error, Result};
use crate::pretokenize::Pretokenizer;
use crate::progress::Progress;

type Map<K> = HashMap<K, u64, foldhash::fast::FixedState>;

/// Words of up to 23 bytes, stored inline as three little-endian words with the length in the
/// top byte. Most pre-tokens are short, and a fixed-size key hashes and compares in a few
/// instructions, needs no allocation per distinct word, and is built with a handful of loads
/// instead of a `memcpy` call.
#[derive(Clone, Copy, PartialEq, Eq)]
struct ShortKey([u64; 3]);

/// `bytes` (at most 8) as a zero-extended little-endian word, from at most two loads.
#[inline]
fn load_le(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let u32_at = |i: usize| {
        u64::from(u32::from_le_bytes(
            bytes[i..i + 4].try_into().expect("4 bytes"),
        ))
    };
    match n {
        0 => 0,
        1..=3 => {
            u64::from(bytes[0])
                | (u64::from(bytes[n / 2]) << (8 * (n / 2)))
                | (u64::from(bytes[n - 1]) << (8 * (n - 1)))
        }
        4..=7 => u32_at(0) | (u32_at(n - 4) << (8 * (n - 4))),
        _ => u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")),
    }
}

impl ShortKey {
    const MAX: usize = 23;

    #[inline]
    fn new(bytes: &[u8]) -> Self {
        let n = bytes.len();
        let (w0, rest) = bytes.split_at(n.min(8));
        let (w1, w2) = rest.split_at(rest.len().min(8));
        Self([load_le(w0), load_le(w1), load_le(w2) | ((n as u64) << 56)])
    }

    fn bytes(&self) -> Vec<u8> {
        let n = (self.0[2] >> 56) as usize;
        let mut all = [0u8; 24];
        for (chunk, w) in all.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        all[..n].to_vec()
    }
}

impl std::hash::Hash for ShortKey {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // One multiply per word, independent of each other, folded into one input.
        let [a, b, c] = self.0;
        let mix = a.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ b.rotate_left(21).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ c.rotate_left(43).wrapping_mul(0x1656_67B1_9E37_79F9);
        state.write_u64(mix);
    }
}

/// Distinct words and their counts, accumulated incrementally.
#[derive(Default)]
pub struct Counter {
    short: Map<ShortKey>,
    long: Map<Box<[u8]>>,
    /// Sequences seen (lines, JSON records or iterator items).
    pub sequences: u64,
    /// Sequences skipped because they were not valid UTF-8.
    pub skipped_invalid_utf8: u64,
    /// Pieces counted (with multiplicity).
    pub pieces: u64,
    /// Bytes of text seen (including skipped sequences).
    pub bytes: u64,
}

/// What cuts a document into the pieces that are counted: a [`Pretokenizer`], or a whole
/// tokenizer's pipeline in front of its merges (extending a pretrained tokenizer).
pub trait Splitter {
    /// Calls `emit` with each piece of `text`, the `document`-th sequence of the corpus.
    fn split_document(&self, text: &str, document: u64, emit: impl FnMut(&[u8]));
}

impl Splitter for Pretokenizer {
    fn split_document(&self, text: &str, document: u64, mut emit: impl FnMut(&[u8])) {
        Pretokenizer::split_document(self, text, document, |piece| emit(piece.as_bytes()));
    }
}

impl Splitter for crate::encode::BpeEncoder {
    fn split_document(&self, text: &str, _: u64, emit: impl FnMut(&[u8])) {
        self.for_each_pretoken(text, emit);
    }
}

impl Counter {
    /// Counts the pieces of one sequence.
    pub fn add_sequence(&mut self, pretokenizer: &Pretokenizer, text: &str) {
        self.add_document(pretokenizer, text, self.sequences);
    }

    /// Counts the pieces of one sequence, numbered `document` (random chunking uses the number
    /// to pick its stream, so counts never depend on which worker saw the sequence).
    pub fn add_document(&mut self, splitter: &impl Splitter, text: &str, document: u64) {
        self.sequences += 1;
        self.bytes += text.len() as u64;
        let mut pieces = 0u64;
        splitter.split_document(text, document, |piece| {
            pieces += 1;
            self.add_word(piece, 1);
        });
        self.pieces += pieces;
    }

    /// Counts a batch of texts in parallel on the current rayon pool, the first numbered
    /// `first_document` (texts are numbered in order, whoever counts them).
    #[must_use]
    pub fn of_texts(
        splitter: &(impl Splitter + Sync),
        texts: &[String],
        first_document: u64,
    ) -> Self {
        texts
            .par_iter()
            .enumerate()
            .fold(Self::default, |mut c, (i, t)| {
                c.add_document(splitter, t, first_document + i as u64);
                c
            })
            .reduce(Self::default, Self::merge)
    }

    /// Adds `count` occurrences of one word directly (for pre-counted input).
    #[inline]
    pub fn add_word(&mut self, word: &[u8], count: u64) {
        if word.len() <= ShortKey::MAX {
            *self.short.entry(ShortKey::new(word)).or_insert(0) += count;
        } else if let Some(c) = self.long.get_mut(word) {
            *c += count;
        } else {
            self.long.insert(word.into(), count);
        }
    }

    /// Adds another counter's counts to this one.
    #[must_use]
    pub fn merge(mut self, mut other: Self) -> Self {
        if other.distinct() > self.distinct() {
            std::mem::swap(&mut self, &mut other);
        }
        for (word, count) in other.short {
            *self.short.entry(word).or_insert(0) += count;
        }
        for (word, count) in other.long {
            *self.long.entry(word).or_insert(0) += count;
        }
        self.sequences += other.sequences;
        self.skipped_invalid_utf8 += other.skipped_invalid_utf8;
        self.pieces += other.pieces;
        self.bytes += other.bytes;
        self
    }

    /// Number of distinct words.
    #[must_use]
    pub fn distinct(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// The words and counts, sorted by bytes.
    #[must_use]
    pub fn into_sorted(self) -> Vec<(Box<[u8]>, u64)> {
        let mut words: Vec<(Box<[u8]>, u64)> = Vec::with_capacity(self.distinct());
        words.extend(
            self.short
                .into_iter()
                .map(|(k, c)| (k.bytes().into_boxed_slice(), c)),
        );
        words.extend(self.long);
        words.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        words
    }

    fn add_block(
        &mut self,
        block: &Block,
        files: &[InputFile],
        pretokenizer: &impl Splitter,
        strict: bool,
    ) -> Result<()> {
        let skipped =
            corpus::for_each_document(block, &files[block.file], strict, |text, document| {
                self.add_document(pretokenizer, text, document);
                ControlFlow::Continue(())
            })?;
        // A skipped sequence is seen, none of its bytes trained on.
        self.sequences += skipped;
        self.skipped_invalid_utf8 += skipped;
        Ok(())
    }
}

/// Counts the words of all `files`, in parallel on the current rayon pool.
///
/// `progress` sees the stage `count` in bytes. Returns the counter and the sha256 of the bytes
/// read.
///
/// # Errors
/// IO errors, invalid UTF-8 under `strict`, malformed JSON lines, and [`Error::Cancelled`].
pub fn count_files(
    files: Vec<InputFile>,
    pretokenizer: &(impl Splitter + Sync),
    strict: bool,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(Counter, String)> {
    count_blocks(
        BlockReader::new(files),
        pretokenizer,
        strict,
        progress,
        cancel,
    )
}

/// Counts the words of every block `reader` gives (all its files, or one shard's byte range),
/// in parallel on the current rayon pool; as [`count_files`].
///
/// # Errors
/// As [`count_files`].
pub fn count_blocks(
    reader: BlockReader,
    pretokenizer: &(impl Splitter + Sync),
    strict: bool,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(Counter, String)> {
    let files = reader.files().to_vec();
    let total: u64 = files.iter().map(|f| f.size).sum();
    progress.start("count", total, "bytes");
    let reader = Mutex::new(reader);
    let blocks = std::iter::from_fn(|| {
        if cancel.is_cancelled() {
            return Some(Err(Error::Cancelled));
        }
        let mut r = reader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let next = r.next_block().transpose();
        progress.set(r.bytes_read().min(total));
        next
    });
    let counter = blocks
        .par_bridge()
        .try_fold(Counter::default, |mut counter, block| {
            counter.add_block(&block?, &files, pretokenizer, strict)?;
            Ok(counter)
        })
        .try_reduce(Counter::default, |a, b| Ok(a.merge(b)))?;
    progress.finish();
    let sha = reader
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .sha256_hex();
    Ok((counter, sha))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_round_trip_and_distinguish_lengths() {
        let words: Vec<Vec<u8>> = (0..=23)
            .flat_map(|n| {
                [
                    vec![b'a'; n],
                    (0..n as u8).map(|i| i.wrapping_mul(37)).collect(),
                    vec![0u8; n],
                ]
            })
            .collect();
        let keys: std::collections::HashSet<[u64; 3]> =
            words.iter().map(|w| ShortKey::new(w).0).collect();
        let distinct: std::collections::HashSet<&Vec<u8>> = words.iter().collect();
        assert_eq!(keys.len(), distinct.len());
        for w in &words {
            assert_eq!(&ShortKey::new(w).bytes(), w);
        }
    }
}
