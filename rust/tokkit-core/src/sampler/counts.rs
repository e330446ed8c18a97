//! Substring statistics: every substring of every pre-token, counted, and the running totals
//! over the queue of recent batches.
//!
//! A substring of at most [`MAX_KEY_BYTES`] bytes is packed into one `u128` key: byte `k` in
//! bits `120 - 8k ..`, the length in the low byte. Why: a fixed-size key hashes and compares in a
//! few instructions and needs no allocation, the key of `s + [b]` is built from the key of `s`
//! with one shift-or while walking a pre-token, and — the reason for this exact layout — numeric
//! order of keys *is* lexicographic order of the bytes (a proper prefix pads with zeros and has
//! the smaller length), so sorted keys give the sampler its deterministic piece order for free.
//!
//! Totals are kept as a sorted vector of `(key, count)`, updated by linear merges with each
//! batch's sorted counts: cheaper than sorting a hash map's millions of keys at every sample.

use hashbrown::HashMap;
use rayon::prelude::*;

use crate::pretokenize::Pretokenizer;

/// The longest substring a key holds: 15 bytes plus one length byte fill 128 bits.
pub const MAX_KEY_BYTES: usize = 15;

/// Hash map on packed keys (foldhash: fast, and the map's order is never observed).
pub type KeyMap<V> = HashMap<u128, V, foldhash::fast::FixedState>;

/// The packed key of `bytes` (at most [`MAX_KEY_BYTES`] of them).
#[must_use]
#[inline]
pub fn pack(bytes: &[u8]) -> u128 {
    debug_assert!(bytes.len() <= MAX_KEY_BYTES);
    let mut key = 0u128;
    for (k, &b) in bytes.iter().enumerate() {
        key |= u128::from(b) << (120 - 8 * k);
    }
    key | bytes.len() as u128
}

/// The bytes of a packed key.
#[must_use]
pub fn unpack(key: u128) -> Vec<u8> {
    let len = key_len(key);
    (0..len)
        .map(|k| u8::try_from((key >> (120 - 8 * k)) & 0xFF).expect("one byte"))
        .collect()
}

/// The length in bytes of a packed key.
#[must_use]
#[inline]
pub fn key_len(key: u128) -> usize {
    (key & 0xFF) as usize
}

/// The first byte of a packed key (0 for the empty key).
#[must_use]
#[inline]
pub fn first_byte(key: u128) -> u8 {
    u8::try_from(key >> 120).expect("one byte")
}

/// `text` cut to at most `max_bytes` bytes, at the last char boundary that fits.
#[must_use]
pub fn crop(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Adds one to the count of every substring of `piece` of 1 to `max_len` bytes.
pub fn count_piece(piece: &[u8], max_len: usize, counts: &mut KeyMap<u32>) {
    for start in 0..piece.len() {
        let mut key = 0u128;
        for (k, &b) in piece[start..].iter().take(max_len).enumerate() {
            key |= u128::from(b) << (120 - 8 * k);
            *counts.entry(key | (k as u128 + 1)).or_insert(0) += 1;
        }
    }
}

/// Sorted `(key, count)` of all substrings of 1 to `max_len` bytes inside the pre-tokens of
/// `texts`, counted in parallel in the current rayon pool. Each worker folds into its own map and
/// the maps are summed; the result is sorted, so it is the same for any number of workers.
#[must_use]
pub fn count_texts(
    pretokenizer: &Pretokenizer,
    texts: &[Box<str>],
    max_len: usize,
) -> Vec<(u128, u32)> {
    let merged = texts
        .par_iter()
        .fold(KeyMap::default, |mut counts, text| {
            pretokenizer.split(text, |piece| {
                count_piece(piece.as_bytes(), max_len, &mut counts);
            });
            counts
        })
        .reduce(KeyMap::default, |a, b| {
            let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (key, n) in small {
                *big.entry(key).or_insert(0) += n;
            }
            big
        });
    let mut sorted: Vec<(u128, u32)> = merged.into_iter().collect();
    sorted.par_sort_unstable_by_key(|&(key, _)| key);
    sorted
}

/// Running totals over the queued batches: keys in ascending order, with their counts (never 0).
#[derive(Clone, Debug, Default)]
pub struct Totals {
    keys: Vec<u128>,
    counts: Vec<u32>,
}

impl Totals {
    /// The keys, ascending (lexicographic order of the bytes).
    #[must_use]
    pub fn keys(&self) -> &[u128] {
        &self.keys
    }

    /// The counts, parallel to [`keys`](Self::keys).
    #[must_use]
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// Number of distinct substrings.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether nothing is counted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The count of `bytes` (0 if unseen).
    #[must_use]
    pub fn get(&self, bytes: &[u8]) -> u32 {
        if bytes.is_empty() || bytes.len() > MAX_KEY_BYTES {
            return 0;
        }
        self.keys
            .binary_search(&pack(bytes))
            .map_or(0, |i| self.counts[i])
    }

    /// Adds sorted batch counts (one linear merge).
    pub fn add(&mut self, batch: &[(u128, u32)]) {
        let mut keys = Vec::with_capacity(self.keys.len() + batch.len());
        let mut counts = Vec::with_capacity(self.keys.len() + batch.len());
        let (mut i, mut j) = (0, 0);
        while i < self.keys.len() && j < batch.len() {
            let (key, n) = batch[j];
            match self.keys[i].cmp(&key) {
                std::cmp::Ordering::Less => {
                    keys.push(self.keys[i]);
                    counts.push(self.counts[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    keys.push(key);
                    counts.push(n);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    keys.push(key);
                    counts.push(self.counts[i] + n);
                    i += 1;
                    j += 1;
                }
            }
        }
        keys.extend_from_slice(&self.keys[i..]);
        counts.extend_from_slice(&self.counts[i..]);
        keys.extend(batch[j..].iter().map(|&(k, _)| k));
        counts.extend(batch[j..].iter().map(|&(_, n)| n));
        self.keys = keys;
        self.counts = counts;
    }

    /// Subtracts sorted batch counts that were added before, dropping keys that reach 0, in
    /// place (one linear pass).
    ///
    /// # Panics
    /// If a key of `batch` is missing or its count is larger than the total (a batch subtracted
    /// that was never added).
    pub fn subtract(&mut self, batch: &[(u128, u32)]) {
        let mut write = 0;
        let mut j = 0;
        for read in 0..self.keys.len() {
            let key = self.keys[read];
            let mut n = self.counts[read];
            if j < batch.len() && batch[j].0 == key {
                n = n
                    .checked_sub(batch[j].1)
                    .expect("subtracted more than was added");
                j += 1;
            }
            if n > 0 {
                self.keys[write] = key;
                self.counts[write] = n;
                write += 1;
            }
        }
        assert_eq!(j, batch.len(), "subtracted a key that was never added");
        self.keys.truncate(write);
        self.counts.truncate(write);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_like_bytes_and_round_trip() {
        let mut words: Vec<&[u8]> = vec![
            b"a",
            b"a\0",
            b"ab",
            b"b",
            b"\xff",
            b"\0",
            b"\0\0",
            b"abc",
            b"ab\xff",
            b"zzzzzzzzzzzzzzz",
        ];
        let mut keys: Vec<u128> = words.iter().map(|w| pack(w)).collect();
        words.sort();
        keys.sort_unstable();
        let back: Vec<Vec<u8>> = keys.into_iter().map(unpack).collect();
        let want: Vec<Vec<u8>> = words.iter().map(|w| w.to_vec()).collect();
        assert_eq!(back, want);
    }

    #[test]
    fn crop_stops_on_a_char_boundary() {
        assert_eq!(crop("héllo", 2), "h");
        assert_eq!(crop("héllo", 3), "hé");
        assert_eq!(crop("hi", 10), "hi");
        assert_eq!(crop("€", 2), "");
    }

    #[test]
    fn counts_every_short_substring() {
        let mut counts = KeyMap::default();
        count_piece(b"abab", 3, &mut counts);
        let get = |s: &[u8]| counts.get(&pack(s)).copied().unwrap_or(0);
        assert_eq!(get(b"a"), 2);
        assert_eq!(get(b"ab"), 2);
        assert_eq!(get(b"ba"), 1);
        assert_eq!(get(b"aba"), 1);
        assert_eq!(get(b"bab"), 1);
        assert_eq!(get(b"abab"), 0, "longer than max_len");
        assert_eq!(counts.len(), 6);
    }

    #[test]
    fn add_then_subtract_restores() {
        let a = vec![(pack(b"a"), 2), (pack(b"b"), 1)];
        let b = vec![(pack(b"a"), 1), (pack(b"c"), 4)];
        let mut t = Totals::default();
        t.add(&a);
        t.add(&b);
        assert_eq!(t.get(b"a"), 3);
        assert_eq!(t.get(b"c"), 4);
        t.subtract(&a);
        assert_eq!(t.get(b"a"), 1);
        assert_eq!(t.get(b"b"), 0);
        assert_eq!(t.len(), 2);
        t.subtract(&b);
        assert!(t.is_empty());
    }
}
