//! The byte-level BPE merge loop, merge for merge the same as HF `BpeTrainer`.
//!
//! Semantics (see `docs/concepts/bpe.md`): special tokens take ids `0..k`, then the byte alphabet
//! sorted by the code point of its byte-level char; pairs are counted once, kept in a max-heap
//! ordered by count and then by the smaller `(left, right)` id pair, and re-validated lazily when
//! popped; applying a merge scans each affected word left to right and records the pair-count
//! deltas exactly as HF's `Word::merge` does, including the `max_token_length` check on new pairs
//! only. A merged string that already exists reuses its id.
//!
//! Layout, chosen for memory and speed on millions of distinct words: all words' symbols live in
//! one flat `u32` array and shrink in place; pair counts are `i64` (HF's `i32` overflows) in a
//! hash map keyed by the packed pair; each heap entry owns the sorted list of words it may touch.
//! A merge touching many words is applied in parallel, one disjoint word range per task, and
//! its deltas are summed serially in word order, so the result never depends on thread count.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use hashbrown::HashMap;
use rayon::prelude::*;

use super::{BpeConfig, BpeModel, StopReason, TokenId, dedup};
use crate::byte_level;
use crate::cancel::CancelToken;
use crate::error::Result;
use crate::progress::Progress;

type Pair = u64;
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Below this many words a merge is applied on the calling thread; above, in parallel.
const PARALLEL_WORDS: usize = 4096;

#[inline]
fn pack(a: TokenId, b: TokenId) -> Pair {
    (u64::from(a) << 32) | u64::from(b)
}

#[inline]
fn unpack(p: Pair) -> (TokenId, TokenId) {
    ((p >> 32) as TokenId, (p & 0xFFFF_FFFF) as TokenId)
}

/// A heap entry: a pair, the count it had when pushed, and the words it may occur in.
#[derive(Debug)]
struct Candidate {
    count: u64,
    pair: Pair,
    words: Vec<u32>,
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // Higher count first; on a tie the smaller (left, right) pops first, as in HF.
        self.count
            .cmp(&other.count)
            .then_with(|| other.pair.cmp(&self.pair))
    }
}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}

/// Where a word's symbols are and how often it occurs: one cache line serves all three.
#[derive(Clone, Copy)]
struct WordMeta {
    start: u32,
    len: u32,
    count: i64,
}

/// One pair-count change from applying a merge to one word, weighted by the word's count.
#[derive(Clone, Copy)]
struct Delta {
    pair: Pair,
    count: i64,
    word: u32,
}

/// Applies merge `(a, b) -> new` to one word's symbols in place, HF's `Word::merge` semantics,
/// and returns the new length. Gained pairs get a positive delta, lost pairs a negative one.
fn merge_word(
    s: &mut [TokenId],
    word: u32,
    count: i64,
    (a, b, new): (TokenId, TokenId, TokenId),
    token_len: &[u32],
    cap: super::LengthCap,
    out: &mut Vec<Delta>,
) -> usize {
    let n = s.len();
    let new_len = token_len[new as usize] as usize;
    let (mut r, mut w) = (0, 0);
    while r < n {
        if r + 1 < n && s[r] == a && s[r + 1] == b {
            if w > 0 {
                let left = s[w - 1];
                out.push(Delta {
                    pair: pack(left, a),
                    count: -count,
                    word,
                });
                if cap.allows(token_len[left as usize] as usize + new_len) {
                    out.push(Delta {
                        pair: pack(left, new),
                        count,
                        word,
                    });
                }
            }
            s[w] = new;
            w += 1;
            r += 2;
            if r < n {
                let right = s[r];
                out.push(Delta {
                    pair: pack(b, right),
                    count: -count,
                    word,
                });
                if cap.allows(new_len + token_len[right as usize] as usize) {
                    out.push(Delta {
                        pair: pack(new, right),
                        count,
                        word,
                    });
                }
            }
        } else {
            s[w] = s[r];
            w += 1;
            r += 1;
        }
    }
    w
}

/// Raw access to disjoint word ranges from several threads.
#[derive(Clone, Copy)]
struct SymbolsPtr(*mut TokenId);

impl SymbolsPtr {
    /// The pointer; a method, so that closures capture the `Sync` wrapper, not the field.
    fn get(self) -> *mut TokenId {
        self.0
    }
}
// SAFETY: the pointer is only used to build slices of distinct words, which never overlap
// (each heap entry lists a word at most once), while the symbols are exclusively borrowed.
#[expect(unsafe_code, reason = "see SAFETY")]
unsafe impl Send for SymbolsPtr {}
// SAFETY: as above.
#[expect(unsafe_code, reason = "see SAFETY")]
unsafe impl Sync for SymbolsPtr {}

/// Hints the CPU to load the cache line at `ptr`; a no-op off x86-64.
#[inline(always)]
fn prefetch<T>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint and never faults, whatever the address.
    #[expect(unsafe_code, reason = "prefetch intrinsic")]
    unsafe {
        core::arch::x86_64::_mm_prefetch(ptr.cast::<i8>(), core::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

/// Merging walks words in scattered places; fetching the metadata 8 words ahead and the symbols
/// 4 words ahead overlaps those cache misses with useful work.
#[inline(always)]
fn prefetch_ahead(list: &[u32], i: usize, meta: &[WordMeta], symbols: *const TokenId) {
    if let Some(&w) = list.get(i + 8) {
        prefetch(meta.as_ptr().wrapping_add(w as usize));
    }
    if let Some(&w) = list.get(i + 4) {
        prefetch(symbols.wrapping_add(meta[w as usize].start as usize));
    }
}

/// Net count change and the words that gained the pair, per pair touched by one merge. Summing
/// here first keeps the big global count map to one update per distinct pair.
type Touched = FastMap<Pair, (i64, Vec<u32>)>;

fn record(touched: &mut Touched, d: &Delta) {
    let (sum, words) = touched.entry(d.pair).or_default();
    *sum += d.count;
    if d.count > 0 && words.last() != Some(&d.word) {
        words.push(d.word);
    }
}

/// Decides whether a candidate token (its bytes) may be created.
pub type TokenFilter<'a> = dyn Fn(&[u8]) -> bool + Sync + 'a;

/// Extra behaviour of the merge loop, used by SuperBPE's second stage.
#[derive(Default)]
pub struct Hooks<'a> {
    /// Returns `false` to reject a candidate token (its bytes) in the frequency-driven loop; the
    /// pair is then dropped for good: no merge, no id, never queued again.
    pub filter: Option<&'a TokenFilter<'a>>,
}

/// What [`train`] returns.
#[derive(Debug)]
pub struct Trained {
    /// The model.
    pub model: BpeModel,
    /// Why the merge loop stopped.
    pub stop: StopReason,
    /// Tokens the training corpus encodes into with the final model (each word's final
    /// segmentation times its count), so compression comes for free.
    pub corpus_tokens: u64,
    /// Pairs the filter rejected.
    pub rejected: usize,
}

/// The merge loop's working state.
struct State<'c> {
    config: &'c BpeConfig,
    tokens: Vec<Vec<u8>>,
    strings: FastMap<String, TokenId>,
    token_len: Vec<u32>,
    symbols: Vec<TokenId>,
    meta: Vec<WordMeta>,
    pair_count: FastMap<Pair, i64>,
    merges: Vec<(TokenId, TokenId)>,
    touched: Touched,
    deltas: Vec<Delta>,
    single_symbol_tokens: u64,
}

impl<'c> State<'c> {
    /// Vocabulary (specials, then the alphabet sorted by byte-level char) and words as symbols.
    fn new(words_in: Vec<(Box<[u8]>, u64)>, config: &'c BpeConfig) -> Result<Self> {
        let specials = dedup(&config.special_tokens);
        let mut tokens: Vec<Vec<u8>> = specials.iter().map(|s| s.as_bytes().to_vec()).collect();
        let mut strings: FastMap<String, TokenId> = FastMap::default();
        for (i, s) in specials.iter().enumerate() {
            strings.insert(s.clone(), i as TokenId);
        }
        let mut seen = [config.full_alphabet; 256];
        if !config.full_alphabet {
            for (w, _) in &words_in {
                for &b in w.iter() {
                    seen[usize::from(b)] = true;
                }
            }
        }
        let mut alphabet: Vec<u8> = (0..=255u8).filter(|&b| seen[usize::from(b)]).collect();
        alphabet.sort_by_key(|&b| byte_level::byte_to_char(b));
        let mut byte_id = [0 as TokenId; 256];
        for b in alphabet {
            let s = byte_level::byte_to_char(b).to_string();
            let id = *strings.entry(s).or_insert_with(|| {
                tokens.push(vec![b]);
                (tokens.len() - 1) as TokenId
            });
            byte_id[usize::from(b)] = id;
        }
        let token_len: Vec<u32> = tokens.iter().map(|_| 1).collect();

        // Words of two or more symbols; single-symbol words can never hold a pair.
        let mut symbols: Vec<TokenId> = Vec::new();
        let mut meta: Vec<WordMeta> = Vec::new();
        let mut single_symbol_tokens = 0u64;
        for (w, c) in words_in {
            if w.len() < 2 {
                single_symbol_tokens += c;
                continue;
            }
            meta.push(WordMeta {
                start: u32::try_from(symbols.len()).map_err(|_| too_big())?,
                len: w.len() as u32,
                count: i64::try_from(c).unwrap_or(i64::MAX),
            });
            symbols.extend(w.iter().map(|&b| byte_id[usize::from(b)]));
        }
        symbols.shrink_to_fit();
        Ok(Self {
            config,
            tokens,
            strings,
            token_len,
            symbols,
            meta,
            pair_count: FastMap::default(),
            merges: Vec::new(),
            touched: FastMap::default(),
            deltas: Vec::new(),
            single_symbol_tokens,
        })
    }

    /// Continues from `base` (its vocabulary and merges) on words already segmented into its
    /// token ids, as SuperBPE's second stage does.
    fn from_segmented(
        base: BpeModel,
        words: SegmentedWords,
        config: &'c BpeConfig,
    ) -> Result<Self> {
        let strings = (0..base.tokens.len())
            .map(|i| (base.token_string(i as TokenId), i as TokenId))
            .collect();
        let token_len = base
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i < base.num_special {
                    1
                } else {
                    t.len() as u32
                }
            })
            .collect();
        let SegmentedWords {
            mut symbols,
            meta,
            single_symbol_tokens,
            ..
        } = words;
        symbols.shrink_to_fit();
        Ok(Self {
            config,
            tokens: base.tokens,
            strings,
            token_len,
            symbols,
            meta,
            pair_count: FastMap::default(),
            merges: base.merges,
            touched: FastMap::default(),
            deltas: Vec::new(),
            single_symbol_tokens,
        })
    }

    /// Counts the initial pairs; returns each pair with its count and the words holding it.
    fn count_pairs(&mut self) -> Vec<(Pair, i64, Vec<u32>)> {
        let cap = self.config.length_cap;
        if !cap.checks_initial_pairs() || cap.allows(2) {
            for (w, m) in self.meta.iter().enumerate() {
                let s = &self.symbols[m.start as usize..(m.start + m.len) as usize];
                for pair in s.windows(2) {
                    let d = Delta {
                        pair: pack(pair[0], pair[1]),
                        count: m.count,
                        word: w as u32,
                    };
                    record(&mut self.touched, &d);
                }
            }
        }
        self.pair_count.reserve(self.touched.len());
        let mut all = Vec::with_capacity(self.touched.len());
        for (pair, (count, words)) in self.touched.drain() {
            self.pair_count.insert(pair, count);
            all.push((pair, count, words));
        }
        all.sort_unstable_by_key(|e| e.0);
        all
    }

    /// The bytes `left + right` would make.
    fn joined(&self, (a, b): (TokenId, TokenId)) -> Vec<u8> {
        let mut bytes = self.tokens[a as usize].clone();
        bytes.extend_from_slice(&self.tokens[b as usize]);
        bytes
    }

    /// Records the merge `(a, b)` and returns the id of its string, new or reused.
    fn add_merge(&mut self, (a, b): (TokenId, TokenId), bytes: Vec<u8>) -> TokenId {
        self.merges.push((a, b));
        let string = byte_level::bytes_to_string(&bytes);
        if let Some(&id) = self.strings.get(&string) {
            return id;
        }
        self.tokens.push(bytes);
        self.token_len
            .push(self.token_len[a as usize] + self.token_len[b as usize]);
        let id = (self.tokens.len() - 1) as TokenId;
        self.strings.insert(string, id);
        id
    }

    /// Applies `(a, b) -> new` to `words`, updates the pair counts, and returns the pairs that
    /// gained occurrences (sorted), with their new count and the words that gained them.
    fn apply(
        &mut self,
        (a, b): (TokenId, TokenId),
        new: TokenId,
        words: &[u32],
    ) -> Vec<(Pair, i64, Vec<u32>)> {
        let cap = self.config.length_cap;
        self.deltas.clear();
        let ptr = SymbolsPtr(self.symbols.as_mut_ptr());
        let token_len = &self.token_len;
        let apply = |w: u32, m: &mut WordMeta, out: &mut Vec<Delta>| {
            // SAFETY: word ranges are disjoint and `w` appears once in `words`.
            #[expect(unsafe_code, reason = "disjoint in-place edits of words in parallel")]
            let s = unsafe {
                std::slice::from_raw_parts_mut(ptr.get().add(m.start as usize), m.len as usize)
            };
            m.len = merge_word(s, w, m.count, (a, b, new), token_len, cap, out) as u32;
        };
        if words.len() < PARALLEL_WORDS {
            for (i, &w) in words.iter().enumerate() {
                prefetch_ahead(words, i, &self.meta, ptr.get());
                apply(w, &mut self.meta[w as usize], &mut self.deltas);
            }
        } else {
            let meta_ro = &self.meta;
            let results: Vec<(Vec<Delta>, Vec<u32>)> = words
                .par_chunks(PARALLEL_WORDS / 4)
                .map(|chunk| {
                    let mut out = Vec::new();
                    let lens = chunk
                        .iter()
                        .enumerate()
                        .map(|(i, &w)| {
                            prefetch_ahead(chunk, i, meta_ro, ptr.get());
                            let mut m = meta_ro[w as usize];
                            apply(w, &mut m, &mut out);
                            m.len
                        })
                        .collect();
                    (out, lens)
                })
                .collect();
            for (chunk, (out, lens)) in words.chunks(PARALLEL_WORDS / 4).zip(results) {
                for (&w, len) in chunk.iter().zip(lens) {
                    self.meta[w as usize].len = len;
                }
                self.deltas.extend(out);
            }
        }
        // Sum the deltas per pair (in word order), then update the global counts once per pair.
        for d in &self.deltas {
            record(&mut self.touched, d);
        }
        let mut fresh = Vec::new();
        for (pair, (sum, words)) in self.touched.drain() {
            let count = self.pair_count.entry(pair).or_insert(0);
            *count += sum;
            if !words.is_empty() {
                fresh.push((pair, *count, words));
            }
        }
        fresh.sort_unstable_by_key(|f| f.0);
        fresh
    }
}

/// Trains on distinct words with their counts (sorted by bytes for a stable word order). The
/// words are consumed and freed once they are laid out as symbols, to keep the peak memory low.
///
/// # Errors
/// [`crate::Error::Config`] for invalid parameters, [`crate::Error::Cancelled`].
pub fn train(
    words_in: Vec<(Box<[u8]>, u64)>,
    config: &BpeConfig,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Trained> {
    train_with(words_in, config, &Hooks::default(), progress, cancel)
}

/// [`train`] with [`Hooks`]: inherited merges replayed first, then the frequency-driven loop
/// with a filter on new tokens.
///
/// # Errors
/// As [`train`].
pub fn train_with(
    words_in: Vec<(Box<[u8]>, u64)>,
    config: &BpeConfig,
    hooks: &Hooks<'_>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Trained> {
    config.validate()?;
    run(State::new(words_in, config)?, hooks, progress, cancel)
}

/// Distinct words already segmented into a base model's ids, laid out flat as the merge loop
/// keeps them (4 bytes per symbol and 16 per word, no allocation per word), so a driver can
/// stream merged count tables straight into it.
#[derive(Default)]
pub struct SegmentedWords {
    symbols: Vec<TokenId>,
    meta: Vec<WordMeta>,
    single_symbol_tokens: u64,
    distinct: usize,
}

impl SegmentedWords {
    /// Adds one distinct word (in the caller's stable order) and its count.
    ///
    /// # Errors
    /// [`crate::Error::Config`] past 2^32 symbols.
    pub fn push(&mut self, ids: &[TokenId], count: u64) -> Result<()> {
        self.distinct += 1;
        if ids.len() < 2 {
            // A word of one symbol can never hold a pair; it only counts as tokens.
            self.single_symbol_tokens += count * ids.len() as u64;
            return Ok(());
        }
        self.meta.push(WordMeta {
            start: u32::try_from(self.symbols.len()).map_err(|_| too_big())?,
            len: ids.len() as u32,
            count: i64::try_from(count).unwrap_or(i64::MAX),
        });
        self.symbols.extend_from_slice(ids);
        Ok(())
    }

    /// `words` pushed in order.
    ///
    /// # Errors
    /// As [`Self::push`].
    pub fn from_words(words: Vec<(Vec<TokenId>, u64)>) -> Result<Self> {
        let mut out = Self::default();
        for (ids, count) in words {
            out.push(&ids, count)?;
        }
        Ok(out)
    }

    /// Distinct words pushed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.distinct
    }

    /// Whether no word was pushed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.distinct == 0
    }
}

/// Continues training from `base` on words already segmented into its ids (SuperBPE stage 2):
/// `base`'s tokens and merges come first, then new merges until `config.vocab_size`.
///
/// # Errors
/// As [`train`].
pub fn continue_from(
    base: BpeModel,
    words: SegmentedWords,
    config: &BpeConfig,
    hooks: &Hooks<'_>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Trained> {
    run(
        State::from_segmented(base, words, config)?,
        hooks,
        progress,
        cancel,
    )
}

/// The merge loop proper.
fn run(
    mut st: State<'_>,
    hooks: &Hooks<'_>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Trained> {
    let config = st.config;
    let pairs = st.count_pairs();
    let target = config.vocab_size;
    let initial = st.strings.len();
    progress.start("merge", (target.saturating_sub(initial)) as u64, "merges");
    let mut heap: BinaryHeap<Candidate> = pairs
        .into_iter()
        .filter(|p| p.1 > 0)
        .map(|(pair, count, words)| Candidate {
            count: count as u64,
            pair,
            words,
        })
        .collect();

    let min_frequency = config.min_frequency.max(1);
    let mut rejected: hashbrown::HashSet<Pair, foldhash::fast::FixedState> = Default::default();
    let stop = loop {
        if st.strings.len() >= target {
            break StopReason::VocabSizeReached;
        }
        cancel.check()?;
        let Some(mut top) = heap.pop() else {
            break StopReason::NoPairLeft;
        };
        let current = st.pair_count[&top.pair];
        if top.count != current.max(0) as u64 {
            // Stale entry: re-queue with its current count (entries at zero can never win).
            if current > 0 {
                top.count = current as u64;
                heap.push(top);
            }
            continue;
        }
        if top.count < min_frequency {
            break StopReason::MinFrequency;
        }
        let ab = unpack(top.pair);
        let bytes = st.joined(ab);
        if hooks.filter.is_some_and(|keep| !keep(&bytes)) {
            rejected.insert(top.pair);
            continue;
        }
        let new = st.add_merge(ab, bytes);
        for (pair, count, words) in st.apply(ab, new, &top.words) {
            if count > 0 && !rejected.contains(&pair) {
                heap.push(Candidate {
                    count: count as u64,
                    pair,
                    words,
                });
            }
        }
        progress.set((st.strings.len() - initial) as u64);
    };
    progress.finish();
    let corpus_tokens = st.single_symbol_tokens
        + st.meta
            .iter()
            .map(|m| m.count as u64 * u64::from(m.len))
            .sum::<u64>();
    let num_special = dedup(&config.special_tokens).len();
    Ok(Trained {
        model: BpeModel {
            num_padding: 0,
            tokens: st.tokens,
            num_special,
            merges: st.merges,
        },
        stop,
        corpus_tokens,
        rejected: rejected.len(),
    })
}

fn too_big() -> crate::Error {
    crate::Error::Corpus(
        "the distinct words exceed 4 G symbols; train on a sample of the corpus".into(),
    )
}

#[cfg(test)]
mod tests;
