//! Byte-level view of a BPE tokenizer, for exact next-byte probabilities (`docs/design/byteprobs.md`):
//! byte prefix queries over the vocabulary, the validity of token sequences, stable boundaries
//! and the covers of a byte string.
//!
//! **Validity.** A token sequence `t` is valid iff it is a prefix of `encode(s)` for some valid
//! UTF-8 text `s` (special tokens never are: texts are plain, special tokens are not matched in
//! them; non-special added tokens are, as in normal tokenization). It is decided by the oracle of
//! [`validity`]: `t` is valid iff `encode(decode(t) ⊕ c)` starts with `t` for some `c` in a probe
//! set. What is exact and what is not:
//! - *Exact* inside one pre-token: BPE is prefix-closed there (design/byteprobs.md §5.2, facts I–III), so the
//!   continuation only matters through the segmentation; the pair rules of [`pairs`] are exact
//!   for the tokens they accept (every other piece is re-encoded).
//! - *Exact* segmentation for the GPT-2, Llama-3, Qwen2 and o200k patterns and the digit-group
//!   look-ahead `(?=(\d{3})+(?!\d))` (design/byteprobs.md §5.4): the probes reach every segmentation a continuation
//!   can give the text. They hold one representative of each char class the patterns tell
//!   apart (`0`, `00`, `000` for every residue of a digit run), and the rest of every fixed
//!   string of the pattern that the text ends inside of (`e` after `I'v`: [`literals`]). Checked
//!   exhaustively on texts of three and continuations of two chars of every class
//!   (`probes_see_every_segmentation_a_continuation_can_cause` in the tests).
//! - A piece that the segmentation forces on past the text's end (a digit group, a space that
//!   joins the next word) also needs BPE to cut it where the text ends. The probes offer several
//!   chars of each class, among them `٣` and `٣٣` (Arabic-Indic digits, which BPE vocabularies do
//!   not merge with ASCII ones: `[1, 23]` starts `encode("1234")` even where `3 0` merges). A
//!   vocabulary that merged the text's last token with every probe of the class would make a
//!   valid sequence look invalid; the brute-force oracle of `tests/byteprobs/test_byteprobs_oracle.py`
//!   looks for that and has not found it.
//! - *Approximate* (may call a valid sequence invalid): a custom look-ahead regex that tells apart
//!   chars outside the probe set; BPE merges inside a char that a text ends in the middle of
//!   when the two tokens after the cut both start inside the char, or a token past the char
//!   needs more than a short probe after itself (its segmentation is exact: one completion of
//!   every char class is probed, see [`partial`], besides the smallest after each possible next
//!   byte and every completion that a token starting at the cut gives); more than 64
//!   added-token completions. Checked on every char of U+0080 to U+FFFF and the emoji planes:
//!   each prefix of its canonical encoding is valid.
//!
//! [`ByteVocab::valid_extensions`] answers exactly as the oracle (tested against
//! [`ByteVocab::valid_extensions_reference`]); it only decides sooner: the empty probe first; a
//! provable rejection when the last context token and the candidate are an invalid BPE pair that
//! every continuation keeps in one piece (`same_piece_pair_rejects` in [`validity`]); and, when
//! every continuation puts a piece boundary between the context and the candidate
//! (`splits_before`), the context's validity (once per context) and the candidate's validity
//! as the start of a text (once per token, cached).
//!
//! **Stable boundary.** The largest piece start `h` at which, for every probe continuation, the
//! pieces before `h` equal those of `data[..h]` and the pieces after equal those of
//! `data[h..] ⊕ c`; so `encode(data ⊕ c) = encode(data[..h]) ⊕ encode(data[h..] ⊕ c)`. It
//! shares the probe set's limits; tokenizers this module cannot segment itself get `h = 0`.
//!
//! **Fallback.** At load, the segment-wise encoding used here is compared with the encoder's
//! own on a set of texts; if they ever differ (a normaliser or split this module does not
//! model), every check re-encodes the whole text with the encoder instead (slow, exact as the
//! probe set allows), and the stable boundary is 0.

mod covers;
pub mod literals;
pub mod pairs;
pub mod partial;
pub mod trie;
pub mod validity;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::encode::BpeEncoder;
use crate::error::{Error, Result};
use crate::hf_json::{self, LoadedBpe};
use crate::train::TokenId;
use literals::Literals;
use pairs::PairRules;
use trie::TokenIndex;

/// Texts on which the segment-wise encoding must equal the encoder's (see the module doc).
const SELF_TEST: &[&str] = &[
    "Hello, world! It's 2024: the year   of 12345 tokens.\n\n\tdone",
    "  leading spaces, don't; WE'LL see\r\n",
    "Größe 中文字符 😀 naïve café — “quotes” 100,000.5",
    "def f(x):\n    return x**2  # comment\n\n\n",
];

/// How many contexts [`ByteVocab::valid_extensions`] remembers.
const MEMO_CONTEXTS: usize = 128;

/// The remembered analysis of one context: the part after its stable boundary and the
/// candidates already decided after it.
#[derive(Debug)]
struct ContextMemo {
    tail_ids: Vec<TokenId>,
    tail_text: Vec<u8>,
    valid: bool,
    /// `Some(tail is valid as a whole)` when [`ByteVocab::splits_before`] may be used after this
    /// context: the tail text is UTF-8 and no non-special added token occurs in it or starts in
    /// it and runs on past its end.
    split_ok: Option<bool>,
    /// Whether a token of ASCII letters extends the tail's last piece (see
    /// `ByteVocab::extends_letter_run`): the tail is valid with `split_ok`, the pre-tokenizer is
    /// one whose letter runs are greedy, the tail ends in an ASCII letter with no `'` in its
    /// last three bytes, and the pair rules can replay every token of its last piece.
    letter_run: bool,
    /// Whether the tail ends in a space inside a longer token, so that a word, a number or
    /// punctuation after it cannot follow (see `ByteVocab::space_cut_rejects`).
    space_cut: bool,
    /// Per candidate id: 0 not decided yet, 1 invalid, 2 valid. Dense: a step checks up to the
    /// whole vocabulary after one context, and a hash map's inserts cost more than the checks.
    results: Vec<AtomicU8>,
}

/// The states of [`ContextMemo::results`] and `ByteVocab::alone`.
const UNKNOWN: u8 = 0;
const INVALID: u8 = 1;
const VALID: u8 = 2;

fn decided(ok: bool) -> u8 {
    if ok { VALID } else { INVALID }
}

fn unknown_slots(n: usize) -> Vec<AtomicU8> {
    std::iter::repeat_with(|| AtomicU8::new(UNKNOWN))
        .take(n)
        .collect()
}

/// The Qwen2 split pattern (Llama-3's with single digits).
const QWEN2_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// What [`ByteVocab::same_piece_pair_rejects`] may assume of the pre-tokenizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LetterRuns {
    /// Two adjacent letters are in one piece unless the first ends a contraction.
    Letters,
    /// That, and two adjacent digits are always in one piece (GPT-2).
    WithDigitRuns,
}

/// Where [`ByteVocab::splits_before`] finds a piece start that no continuation moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundaries {
    /// A byte-level model whose pre-tokenizer is exactly the GPT-2, Llama-3 or Qwen2 regex;
    /// `single_digits` for Qwen2 (`\p{N}` matches one digit).
    Regex { single_digits: bool },
    /// A SentencePiece-style model cut only by raw added tokens and word starts
    /// ([`BpeEncoder::space_starts_word_after`]).
    Words,
}

/// A tokenizer seen as bytes.
#[derive(Debug)]
pub struct ByteVocab {
    encoder: BpeEncoder,
    special: Vec<bool>,
    /// Non-special added tokens by first byte, longest first then lowest id (empty when none).
    added_by_first: Vec<Vec<(Box<[u8]>, TokenId)>>,
    /// Their contents, sorted, for completion probes.
    added_sorted: Vec<Box<[u8]>>,
    max_added_len: usize,
    /// The fixed strings of the pre-tokenizer's pattern (contractions), for probes.
    literals: Literals,
    index: TokenIndex,
    pairs: Option<PairRules>,
    /// Re-encode whole texts instead of working piece by piece.
    reference: bool,
    /// Set when the pre-tokenizer is one whose letter runs the fast rejection understands.
    letter_runs: Option<LetterRuns>,
    boundaries: Option<Boundaries>,
    /// `oracle([v], bytes(v))` per id, filled lazily: 0 unknown, 1 invalid, 2 valid.
    alone: Vec<AtomicU8>,
    memo: Mutex<Vec<(Vec<TokenId>, Arc<ContextMemo>)>>,
    /// [`ByteVocab::merge_probes`] per incomplete char.
    tails: partial::CompletionCache,
}

impl ByteVocab {
    /// Parses a `tokenizer.json` (whatever [`hf_json::from_json`] reads).
    ///
    /// # Errors
    /// [`Error::Serialization`] for a file the encoder cannot load.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_loaded(hf_json::from_json(text)?)
    }

    /// Builds the byte view of a loaded tokenizer.
    ///
    /// # Errors
    /// As [`BpeEncoder::from_loaded`].
    pub fn from_loaded(loaded: LoadedBpe) -> Result<Self> {
        let merges = loaded.merges.clone();
        let added_list = loaded.added.clone();
        let encoder = BpeEncoder::from_loaded(loaded)?;
        let n = encoder.vocab_size();
        let (mut special, mut added) = (vec![false; n], vec![false; n]);
        let mut plain_added: Vec<(Box<[u8]>, TokenId)> = Vec::new();
        for (content, id, is_special) in &added_list {
            added[*id as usize] = true;
            special[*id as usize] |= *is_special;
            if !*is_special && !content.is_empty() {
                plain_added.push((content.as_bytes().into(), *id));
            }
        }
        let mut added_by_first = Vec::new();
        if !plain_added.is_empty() {
            plain_added.sort_by(|x, y| y.0.len().cmp(&x.0.len()).then(x.1.cmp(&y.1)));
            added_by_first = vec![Vec::new(); 256];
            for (content, id) in &plain_added {
                added_by_first[usize::from(content[0])].push((content.clone(), *id));
            }
        }
        let mut added_sorted: Vec<Box<[u8]>> = plain_added.iter().map(|a| a.0.clone()).collect();
        added_sorted.sort_unstable();
        added_sorted.dedup();
        let max_added_len = added_sorted.iter().map(|a| a.len()).max().unwrap_or(0);
        let index = TokenIndex::new(
            (0..n as TokenId)
                .filter(|&id| !special[id as usize])
                .map(|id| (id, encoder.token_bytes(id).unwrap_or_default())),
        );
        let pairs = PairRules::new(&encoder, &merges, &added);
        let pre = encoder.pretokenizer();
        let literals = pre.pattern().map(Literals::of_pattern).unwrap_or_default();
        let letter_runs =
            if encoder.is_char_level() || encoder.normalizer().is_some() || !pre.is_plain_pattern()
            {
                None
            } else {
                match pre.pattern() {
                    Some(crate::pretokenize::GPT2_PATTERN) => Some(LetterRuns::WithDigitRuns),
                    Some(crate::pretokenize::LLAMA3_PATTERN | QWEN2_PATTERN) => {
                        Some(LetterRuns::Letters)
                    }
                    _ => None,
                }
            };
        let boundaries = if letter_runs.is_some() {
            Some(Boundaries::Regex {
                single_digits: pre.pattern() == Some(QWEN2_PATTERN),
            })
        } else if encoder.space_starts_word_after('a').is_some() {
            Some(Boundaries::Words)
        } else {
            None
        };
        let alone = unknown_slots(n);
        let mut vocab = Self {
            encoder,
            special,
            added_by_first,
            added_sorted,
            max_added_len,
            literals,
            index,
            pairs: Some(pairs),
            reference: false,
            letter_runs,
            boundaries,
            alone,
            memo: Mutex::new(Vec::new()),
            tails: Mutex::default(),
        };
        if SELF_TEST
            .iter()
            .any(|t| vocab.encode_by_segments(t) != vocab.encode(t))
        {
            vocab.reference = true;
            vocab.pairs = None;
            vocab.letter_runs = None;
            vocab.boundaries = None;
        }
        Ok(vocab)
    }

    /// Number of ids.
    #[must_use]
    pub fn vocab_size(&self) -> usize {
        self.encoder.vocab_size()
    }

    /// The bytes of `id`, if it exists.
    #[must_use]
    pub fn token_bytes(&self, id: TokenId) -> Option<&[u8]> {
        self.encoder.token_bytes(id)
    }

    fn len_of(&self, id: TokenId) -> usize {
        self.encoder.token_bytes(id).map_or(0, <[u8]>::len)
    }

    /// Whether `id` can appear in the encoding of a text: it exists, is not special and has bytes.
    #[must_use]
    pub fn is_ordinary(&self, id: TokenId) -> bool {
        (id as usize) < self.vocab_size() && !self.special[id as usize] && self.len_of(id) > 0
    }

    /// Whether the piece-wise machinery was replaced by whole-text re-encoding (module doc).
    #[must_use]
    pub fn is_reference_mode(&self) -> bool {
        self.reference
    }

    /// First byte of every ordinary token; -1 for special and empty tokens.
    #[must_use]
    pub fn first_bytes(&self) -> Vec<i16> {
        (0..self.vocab_size() as TokenId)
            .map(|id| match self.encoder.token_bytes(id) {
                Some([b, ..]) if !self.special[id as usize] => i16::from(*b),
                _ => -1,
            })
            .collect()
    }

    /// Ids of the special added tokens, ascending.
    #[must_use]
    pub fn special_ids(&self) -> Vec<TokenId> {
        (0..self.vocab_size() as TokenId)
            .filter(|&id| self.special[id as usize])
            .collect()
    }

    /// The canonical encoding of a plain text: non-special added tokens are matched, special
    /// ones are not.
    #[must_use]
    pub fn encode(&self, text: &str) -> Vec<TokenId> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        let mut pos = 0;
        for seg in self.added_matches(text) {
            self.encoder
                .encode_ordinary_into(&text[pos..seg.start], &mut out);
            out.push(seg.added.unwrap_or_default());
            pos = seg.end;
        }
        self.encoder.encode_ordinary_into(&text[pos..], &mut out);
        out
    }

    /// The non-special added-token matches of `text`, in order.
    fn added_matches(&self, text: &str) -> Vec<validity::Seg> {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some((at, len, id)) = self.find_added(text.as_bytes(), pos) {
            out.push(validity::Seg {
                start: at,
                end: at + len,
                added: Some(id),
            });
            pos = at + len;
        }
        out
    }

    /// [`encode`](Self::encode) computed piece by piece, as the checks see it.
    fn encode_by_segments(&self, text: &str) -> Vec<TokenId> {
        let mut out = Vec::new();
        for seg in self.segments(text) {
            match seg.added {
                Some(id) => out.push(id),
                None => self
                    .encoder
                    .encode_text_piece(&text.as_bytes()[seg.start..seg.end], &mut out),
            }
        }
        out
    }

    /// Ordinary ids whose bytes start with `prefix`, ascending.
    #[must_use]
    pub fn tokens_with_prefix(&self, prefix: &[u8]) -> Vec<TokenId> {
        self.index.with_prefix(prefix)
    }

    /// Ordinary ids whose bytes are a non-empty prefix of `data`, ascending.
    #[must_use]
    pub fn tokens_prefix_of(&self, data: &[u8]) -> Vec<TokenId> {
        self.index.prefixes_of(data)
    }

    fn check_ids(&self, ids: &[TokenId]) -> Result<()> {
        match ids.iter().find(|&&id| id as usize >= self.vocab_size()) {
            Some(id) => Err(Error::Config(format!(
                "token id {id} is outside the vocabulary of {} ids",
                self.vocab_size()
            ))),
            None => Ok(()),
        }
    }

    fn decode(&self, ids: &[TokenId]) -> Vec<u8> {
        ids.iter()
            .flat_map(|&id| self.encoder.token_bytes(id).unwrap_or_default())
            .copied()
            .collect()
    }

    /// Whether `ids` is a prefix of the encoding of some text (module doc).
    ///
    /// # Errors
    /// [`Error::Config`] for an id outside the vocabulary.
    pub fn is_valid(&self, ids: &[TokenId]) -> Result<bool> {
        self.check_ids(ids)?;
        if !ids.iter().all(|&id| self.is_ordinary(id)) {
            return Ok(false);
        }
        Ok(self.oracle(ids, &self.decode(ids)))
    }

    fn context_memo(&self, context: &[TokenId]) -> Arc<ContextMemo> {
        let mut memo = self
            .memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = memo.iter().position(|(k, _)| k == context) {
            let entry = memo.remove(i);
            let found = Arc::clone(&entry.1);
            memo.push(entry);
            return found;
        }
        drop(memo);
        let entry = Arc::new(self.analyse_context(context));
        let mut memo = self
            .memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if memo.len() >= MEMO_CONTEXTS {
            memo.remove(0);
        }
        memo.push((context.to_vec(), Arc::clone(&entry)));
        entry
    }

    /// The part of `context` after its stable boundary (see [`ContextMemo`]).
    fn analyse_context(&self, context: &[TokenId]) -> ContextMemo {
        let valid = context.iter().all(|&id| self.is_ordinary(id));
        let text = if valid {
            self.decode(context)
        } else {
            Vec::new()
        };
        let h = if valid {
            self.stable_boundary(&text)
        } else {
            0
        };
        // Cut at the last token boundary at or before h (h is one when the context is valid).
        let (mut pos, mut j) = (0, 0);
        for &id in context {
            let len = self.len_of(id);
            if pos + len > h {
                break;
            }
            pos += len;
            j += 1;
        }
        let tail_ids = context[j..].to_vec();
        let tail_text = text.get(pos..).unwrap_or_default().to_vec();
        let split_ok = (valid
            && self.boundaries.is_some()
            && std::str::from_utf8(&tail_text).is_ok()
            && self.find_added(&tail_text, 0).is_none()
            && self.added_completions(&tail_text).is_empty())
        .then(|| self.check(&tail_ids, &tail_text, b""));
        let letter_run =
            split_ok == Some(true) && self.last_piece_is_letter_run(&tail_ids, &tail_text);
        let space_cut = self.last_space_is_cut(&tail_ids, &tail_text);
        ContextMemo {
            tail_ids,
            tail_text,
            valid,
            split_ok,
            letter_run,
            space_cut,
            results: unknown_slots(self.encoder.vocab_size()),
        }
    }

    /// [`valid_extensions`](Self::valid_extensions) by the plain oracle, candidate by candidate
    /// and without memo: the reference the fast path is tested against.
    ///
    /// # Errors
    /// [`Error::Config`] for an id outside the vocabulary.
    pub fn valid_extensions_reference(
        &self,
        context: &[TokenId],
        candidates: &[TokenId],
    ) -> Result<Vec<bool>> {
        self.check_ids(context)?;
        self.check_ids(candidates)?;
        let memo = self.analyse_context(context);
        if !memo.valid {
            return Ok(vec![false; candidates.len()]);
        }
        Ok(candidates
            .par_iter()
            .with_min_len(256)
            .map(|&v| {
                if !self.is_ordinary(v) {
                    return false;
                }
                let mut ids = memo.tail_ids.clone();
                ids.push(v);
                let mut text = memo.tail_text.clone();
                text.extend_from_slice(self.encoder.token_bytes(v).unwrap_or_default());
                self.oracle(&ids, &text)
            })
            .collect())
    }

    /// Forgets the remembered contexts of [`valid_extensions`](Self::valid_extensions).
    pub fn clear_memo(&self) {
        self.memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// For each candidate `v`, whether `context ⊕ [v]` is valid, where `context` is a valid
    /// encoding prefix of a text that starts at a stable boundary. Only the part of the context
    /// after its own stable boundary is looked at; results are remembered per context.
    ///
    /// # Errors
    /// [`Error::Config`] for an id outside the vocabulary.
    pub fn valid_extensions(
        &self,
        context: &[TokenId],
        candidates: &[TokenId],
    ) -> Result<Vec<bool>> {
        self.check_ids(context)?;
        self.check_ids(candidates)?;
        let memo = self.context_memo(context);
        if !memo.valid {
            return Ok(vec![false; candidates.len()]);
        }
        // Per worker buffers: the ids, the text and the text with a probe.
        let out: Vec<bool> = candidates
            .par_iter()
            .with_min_len(256)
            .map_init(
                || (memo.tail_ids.clone(), memo.tail_text.clone(), Vec::new()),
                |(ids, text, s), &v| {
                    let slot = &memo.results[v as usize];
                    match slot.load(Ordering::Relaxed) {
                        INVALID => return false,
                        VALID => return true,
                        _ => {}
                    }
                    let ok = self.decide(&memo, v, ids, text, s);
                    slot.store(decided(ok), Ordering::Relaxed);
                    ok
                },
            )
            .collect();
        Ok(out)
    }

    /// Whether `memo`'s context ⊕ `[v]` is valid: the sound shortcuts first, then the oracle
    /// (`ids`, `text` and `s` are reused buffers that start with the context's tail).
    fn decide(
        &self,
        memo: &ContextMemo,
        v: TokenId,
        ids: &mut Vec<TokenId>,
        text: &mut Vec<u8>,
        s: &mut Vec<u8>,
    ) -> bool {
        if !self.is_ordinary(v) {
            return false;
        }
        let bytes = self.encoder.token_bytes(v).unwrap_or_default();
        if memo.space_cut && self.space_cut_rejects(bytes) {
            return false;
        }
        if memo.letter_run && self.extends_letter_run(v, bytes) {
            return self.pair_continues(&memo.tail_ids, v);
        }
        if let Some(ok) = memo.split_ok {
            if self.splits_before(&memo.tail_text, bytes) {
                return ok && self.alone_valid(v, s);
            }
        }
        ids.truncate(memo.tail_ids.len());
        ids.push(v);
        text.truncate(memo.tail_text.len());
        text.extend_from_slice(bytes);
        if self.reference {
            self.oracle(ids, text)
        } else {
            self.oracle_fast(ids, text, s)
        }
    }

    /// The leftmost non-special added token in `bytes[from..]`: `(offset, length, id)`.
    fn find_added(&self, bytes: &[u8], from: usize) -> Option<(usize, usize, TokenId)> {
        if self.added_by_first.is_empty() {
            return None;
        }
        (from..bytes.len()).find_map(|pos| {
            self.added_by_first[usize::from(bytes[pos])]
                .iter()
                .find(|(content, _)| bytes[pos..].starts_with(content))
                .map(|(content, id)| (pos, content.len(), *id))
        })
    }
}

#[cfg(test)]
mod tests;
