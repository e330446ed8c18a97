//! Encoding text with a trained BPE, as HF's `tokenizers` does: added tokens are cut out first
//! (those with `normalized: false` in the raw text, the others after normalizing), the rest is
//! normalized, pre-tokenized, and each piece is merged lowest rank first (leftmost on a tie).
//!
//! Two kinds of symbols feed the merges: bytes (byte-level BPE: GPT-2, Llama-3, Qwen, SmolLM2)
//! and characters with byte fallback ([`chars`]: SentencePiece-style BPE such as Gemma and
//! Llama-2). Everything after the first symbols is shared.

mod added;
mod bytes;
mod cache;
mod chars;
mod merge;
mod whole;
mod word_starts;

use std::borrow::Cow;

use hashbrown::HashMap;

use crate::error::{Error, Result};
use crate::hf_json::{LoadedBpe, Pipeline, Symbols};
use crate::normalize::{Metaspace, Normalizer};
use crate::pretokenize::Pretokenizer;
use crate::text_index::{Packed, TextIndex};
use crate::train::{BpeModel, TokenId};
use added::{Matcher, Segment};
use bytes::ByteSymbols;
pub use cache::PieceCache;
use chars::CharSymbols;
use whole::WholeTokens;
use word_starts::{WordStarts, word_starts};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// How a pre-token becomes its first symbols.
#[derive(Debug)]
enum SymbolTable {
    Bytes(Box<ByteSymbols>),
    Chars(Box<CharSymbols>),
}

/// A BPE encoder and decoder (byte-level or SentencePiece-style).
#[derive(Debug)]
pub struct BpeEncoder {
    pretokenizer: Pretokenizer,
    symbols: SymbolTable,
    ranks: FastMap<u64, (u32, TokenId)>,
    tokens: Vec<Vec<u8>>,
    /// Added tokens `(text, id, special)`, in the order given.
    added: Vec<(String, TokenId, bool)>,
    added_kinds: FastMap<TokenId, bool>,
    /// Added tokens matched in the raw text, and those matched after normalization.
    raw_added: Matcher,
    normalized_added: Matcher,
    normalizer: Option<Normalizer>,
    metaspace: Option<Metaspace>,
    /// Pre-tokens that are one token as they stand (`whole.rs`): every token with
    /// `ignore_merges`, else the byte-level tokens that merge to themselves.
    whole: Option<WholeTokens>,
    word_starts: Option<WordStarts>,
    /// This encoder's key among a thread's piece caches.
    id: u64,
}

/// Pieces of up to this many symbols are merged on the stack (see `merge.rs`).
const SMALL: usize = 64;

/// The `(rank, merged id)` of a pair that does not merge.
const NO_MERGE: (u32, TokenId) = (u32::MAX, 0);

/// Encoders' caches kept by one thread, most recently used last.
const CACHES_PER_THREAD: usize = 4;

thread_local! {
    /// This thread's piece caches, by encoder id: rayon's workers and the caller's thread live
    /// as long as the process, so their caches carry over from one call to the next.
    static THREAD_CACHES: std::cell::RefCell<Vec<(u64, PieceCache)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Identifies an encoder's entries among a thread's caches (never reused in a process).
static NEXT_ENCODER_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Runs `f` with this thread's cache for the encoder `id`, made (and the least recently used
/// one dropped) if needed; with no cache if the thread's caches are in use further up the
/// stack (`f` encoding with the same thread's caches again).
fn with_thread_cache<R>(id: u64, f: impl FnOnce(Option<&mut PieceCache>) -> R) -> R {
    THREAD_CACHES.with(|caches| {
        let Ok(mut caches) = caches.try_borrow_mut() else {
            return f(None);
        };
        if let Some(at) = caches.iter().position(|(owner, _)| *owner == id) {
            let used = caches.remove(at);
            caches.push(used);
        } else {
            if caches.len() == CACHES_PER_THREAD {
                caches.remove(0);
            }
            caches.push((id, PieceCache::default()));
        }
        f(caches.last_mut().map(|(_, cache)| cache))
    })
}

/// Where the pipeline in front of the merges hands its output: added tokens matched in the
/// text, and pre-tokens. One walk serves encoding and counting (monomorphised, so encoding
/// pays nothing for the indirection).
trait Sink {
    fn token(&mut self, id: TokenId);
    fn piece(&mut self, piece: &str);
}

/// Encoding: added tokens as they are, pre-tokens merged (through the cache when there is one).
struct Encoding<'e, 'o, 'c> {
    encoder: &'e BpeEncoder,
    out: &'o mut Vec<TokenId>,
    cache: Option<&'c mut PieceCache>,
}

impl Sink for Encoding<'_, '_, '_> {
    fn token(&mut self, id: TokenId) {
        self.out.push(id);
    }

    fn piece(&mut self, piece: &str) {
        self.encoder
            .for_each_part(piece, |bytes| match self.cache.as_deref_mut() {
                Some(cache) if bytes.len() > 1 => {
                    cache.extend(bytes, self.out, |out| self.encoder.encode_piece(bytes, out));
                }
                _ => self.encoder.encode_piece(bytes, self.out),
            });
    }
}

/// Counting: the number of ids [`Encoding`] would write, without writing them.
struct Counting<'e, 'c> {
    encoder: &'e BpeEncoder,
    count: usize,
    cache: Option<&'c mut PieceCache>,
    /// Scratch for pieces merged outside the cache.
    scratch: Vec<TokenId>,
}

impl Sink for Counting<'_, '_> {
    fn token(&mut self, _: TokenId) {
        self.count += 1;
    }

    fn piece(&mut self, piece: &str) {
        self.encoder.for_each_part(piece, |bytes| {
            self.scratch.clear();
            match self.cache.as_deref_mut() {
                Some(cache) if bytes.len() > 1 => {
                    let merge = |out: &mut Vec<TokenId>| self.encoder.encode_piece(bytes, out);
                    cache.extend(bytes, &mut self.scratch, merge);
                }
                _ => self.encoder.encode_piece(bytes, &mut self.scratch),
            }
            self.count += self.scratch.len();
        });
    }
}

/// Pre-tokens only: added tokens are skipped.
struct Pretokens<F>(F);

impl<F: FnMut(&[u8])> Sink for Pretokens<F> {
    fn token(&mut self, _: TokenId) {}

    fn piece(&mut self, piece: &str) {
        (self.0)(piece.as_bytes());
    }
}

fn pair_key(a: TokenId, b: TokenId) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

impl BpeEncoder {
    /// A byte-level encoder from the parts of a tokenizer; `added` ids must index `tokens`.
    ///
    /// # Errors
    /// [`Error::Serialization`] if a merged string is missing from the vocabulary.
    pub fn new(
        tokens: Vec<Vec<u8>>,
        added: Vec<(String, TokenId, bool)>,
        merges: &[(TokenId, TokenId)],
        pretokenizer: Pretokenizer,
    ) -> Result<Self> {
        Self::with_pipeline(tokens, added, merges, pretokenizer, Pipeline::default())
    }

    fn with_pipeline(
        tokens: Vec<Vec<u8>>,
        added: Vec<(String, TokenId, bool)>,
        merges: &[(TokenId, TokenId)],
        pretokenizer: Pretokenizer,
        pipeline: Pipeline,
    ) -> Result<Self> {
        // Whether each id is an added token (matched in text before BPE, never merged).
        let mut is_added = vec![false; tokens.len()];
        for a in &added {
            if let Some(slot) = is_added.get_mut(a.1 as usize) {
                *slot = true;
            }
        }
        let Pipeline {
            normalizer,
            metaspace,
            symbols,
            ignore_merges,
            normalized_added,
        } = pipeline;
        // The text each model-vocabulary id stands for, as merges concatenate it.
        let (symbols, ranks, whole, word_starts) = match symbols {
            Symbols::Bytes => {
                let texts = Packed::new(tokens.iter().map(Vec::as_slice));
                let text_of = |id: TokenId| texts.get(id);
                // The first model id of each byte string.
                let mut by_bytes = TextIndex::with_capacity(tokens.len());
                for (id, t) in tokens.iter().enumerate() {
                    if !is_added[id] && !t.is_empty() {
                        by_bytes.insert_first(id as TokenId, text_of);
                    }
                }
                let id_of = |bytes: &[u8]| by_bytes.get(bytes, text_of);
                let mut byte_id = [None; 256];
                for b in 0..=255u8 {
                    byte_id[usize::from(b)] = id_of(&[b]);
                }
                let ranks = rank_map(merges, text_of, id_of)?;
                let whole =
                    ignore_merges.then(|| by_bytes.ids().map(|id| (text_of(id), id)).collect());
                let symbols = ByteSymbols::new(byte_id, &ranks);
                (SymbolTable::Bytes(Box::new(symbols)), ranks, whole, None)
            }
            Symbols::Chars(vocab) => {
                let texts = Packed::new(vocab.strings.iter().map(String::as_bytes));
                let text_of = |id: TokenId| texts.get(id);
                // The id of each text (the last, as a map built in id order keeps it).
                let mut by_text = TextIndex::with_capacity(vocab.strings.len());
                for (id, t) in vocab.strings.iter().enumerate() {
                    if !t.is_empty() {
                        by_text.insert_last(id as TokenId, text_of);
                    }
                }
                let ranks = rank_map(merges, text_of, |text| by_text.get(text, text_of))?;
                let whole =
                    ignore_merges.then(|| by_text.ids().map(|id| (text_of(id), id)).collect());
                let space = normalizer
                    .as_ref()
                    .and_then(Normalizer::space_symbol)
                    .or(metaspace.as_ref().map(|m| m.replacement.as_str()));
                let symbols = CharSymbols::new(&vocab)
                    .with_common_pairs(space, |a, b| ranks.get(&pair_key(a, b)).copied());
                let word_starts = space.and_then(|sym| word_starts(sym, &vocab.strings, &symbols));
                (
                    SymbolTable::Chars(Box::new(symbols)),
                    ranks,
                    whole,
                    word_starts,
                )
            }
        };
        let pick = |normalized: bool| {
            Matcher::new(
                added
                    .iter()
                    .zip(normalized_added.iter().chain(std::iter::repeat(&false)))
                    .filter(|(_, n)| **n == normalized)
                    .map(|((s, id, _), _)| (s.as_str(), *id)),
            )
        };
        let raw_added = pick(false);
        let normalized_added = pick(true);
        if !normalized_added.is_empty() && normalizer.is_some() {
            // HF matches these against their normalized content; nothing tested needs it yet.
            return Err(Error::Serialization(
                "unsupported tokenizer.json: added tokens with normalized=true together with a \
                 normalizer (normalized=true works without a normalizer; normalized=false works \
                 with any supported normalizer)"
                    .into(),
            ));
        }
        let added_kinds = added.iter().map(|a| (a.1, a.2)).collect();
        let mut encoder = Self {
            pretokenizer,
            symbols,
            ranks,
            tokens,
            added,
            added_kinds,
            raw_added,
            normalized_added,
            normalizer,
            metaspace,
            whole,
            word_starts,
            id: NEXT_ENCODER_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        };
        if encoder.whole.is_none() && matches!(encoder.symbols, SymbolTable::Bytes(_)) {
            encoder.whole = Some(encoder.tokens_that_merge_to_themselves(&is_added));
        }
        Ok(encoder)
    }

    /// The byte-level tokens of two bytes or more that the merges make of their own bytes,
    /// found by merging each once (on the calling thread: a load may follow a fork, where a
    /// pool inherited from the parent has no threads). A piece that is one of them is then
    /// that token with one lookup: text is mostly pieces that are tokens, and on a cold cache
    /// each would otherwise be merged (a rare piece's merge is a chain of cache misses in the
    /// merge map). Tokens the merges cannot make of their bytes (BPE does not guarantee it) are
    /// left out, so the ids never change.
    fn tokens_that_merge_to_themselves(&self, is_added: &[bool]) -> WholeTokens {
        let mut out = Vec::with_capacity(SMALL);
        self.tokens
            .iter()
            .zip(is_added)
            .filter(|(bytes, added)| !**added && bytes.len() > 1)
            .filter_map(|(bytes, _)| {
                out.clear();
                self.encode_piece(bytes, &mut out);
                (out.len() == 1).then(|| (bytes.as_slice(), out[0]))
            })
            .collect()
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

    /// The encoder of a parsed `tokenizer.json` (byte-level or SentencePiece-style).
    ///
    /// # Errors
    /// As [`BpeEncoder::new`], and for added tokens the encoder cannot match as HF does.
    pub fn from_loaded(loaded: LoadedBpe) -> Result<Self> {
        Self::with_pipeline(
            loaded.tokens,
            loaded.added,
            &loaded.merges,
            loaded.pretokenizer,
            loaded.pipeline,
        )
    }

    /// Number of ids.
    #[must_use]
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The bytes of token `id`, if it exists: for SentencePiece-style tokens `▁` is a space and
    /// `<0xXX>` that one byte; added tokens are their text.
    #[must_use]
    pub fn token_bytes(&self, id: TokenId) -> Option<&[u8]> {
        self.tokens.get(id as usize).map(Vec::as_slice)
    }

    /// The added tokens `(text, id, special)`, in the order of the tokenizer file.
    #[must_use]
    pub fn added_tokens(&self) -> &[(String, TokenId, bool)] {
        &self.added
    }

    /// Whether the model merges characters (SentencePiece-style) rather than bytes.
    #[must_use]
    pub fn is_char_level(&self) -> bool {
        matches!(self.symbols, SymbolTable::Chars(_))
    }

    /// The normalizer in use (SentencePiece-style files), if any.
    #[must_use]
    pub fn normalizer(&self) -> Option<&Normalizer> {
        self.normalizer.as_ref()
    }

    /// The merge of `left` + `right`: its rank and the id it makes, if the vocabulary has one.
    #[must_use]
    pub fn merge(&self, left: TokenId, right: TokenId) -> Option<(u32, TokenId)> {
        self.ranks.get(&pair_key(left, right)).copied()
    }

    /// `Some(special)` if `id` is an added token (matched in text before BPE), `None` otherwise.
    #[must_use]
    pub fn added_kind(&self, id: TokenId) -> Option<bool> {
        self.added_kinds.get(&id).copied()
    }

    /// Byte offsets in `text` (the original, before any normalization) where an independently
    /// encoded piece starts: added-token matches, the text after them, and every pre-token. BPE
    /// never merges across these offsets, so a token sequence is valid iff it respects them and
    /// is valid inside each piece.
    ///
    /// SentencePiece-style models have no pre-tokenizer; for them each space that starts a run
    /// of spaces is also a start when no token could join it to the character before it (this
    /// is checked against the vocabulary at load time).
    #[must_use]
    pub fn piece_starts(&self, text: &str) -> Vec<usize> {
        let mut starts = Vec::new();
        self.raw_added.split(text, |segment| match segment {
            Segment::Token(_, at) => starts.push(at),
            Segment::Text(plain, at) => self.plain_starts(plain, at, &mut starts),
        });
        starts.dedup();
        starts
    }

    /// For a SentencePiece-style model whose pieces (see [`piece_starts`](Self::piece_starts))
    /// are cut only by raw added tokens and word starts, whether a space that follows the char
    /// `prev` starts a piece whatever comes after it; `None` when the model is not of that kind.
    ///
    /// "That kind": the normalizer only replaces `' '` by the space symbol (so it maps each char
    /// on its own), there is no metaspace step and no added token is matched after
    /// normalization, and the pre-tokenizer never splits or splits only on a literal holding a
    /// `' '` (which normalized text no longer contains). Then the only piece starts inside a gap
    /// between raw added-token matches are word starts, which depend on the two chars around
    /// them alone.
    #[must_use]
    pub fn space_starts_word_after(&self, prev: char) -> Option<bool> {
        let (Some(ws), SymbolTable::Chars(chars)) = (&self.word_starts, &self.symbols) else {
            return None;
        };
        let replaces_spaces = matches!(&self.normalizer, Some(Normalizer::Replace { pattern, content })
            if pattern == " " && content.chars().eq(std::iter::once(ws.sym)));
        let no_split = self.pretokenizer.is_whole()
            || self
                .pretokenizer
                .literal_needle()
                .is_some_and(|n| n.contains(&b' '));
        if !replaces_spaces
            || !no_split
            || self.metaspace.is_some()
            || !self.normalized_added.is_empty()
        {
            return None;
        }
        if prev == ' ' || prev == ws.sym {
            return Some(false);
        }
        let last = if chars.char_id(prev).is_some() {
            prev
        } else {
            '>'
        };
        Some(!ws.joins_left.contains(&last))
    }

    /// [`piece_starts`](Self::piece_starts) of `plain`, a segment at `offset` in the text.
    fn plain_starts(&self, plain: &str, offset: usize, starts: &mut Vec<usize>) {
        let (normalized, align) = match &self.normalizer {
            Some(n) => n.apply_aligned(plain),
            None => (plain.to_owned(), (0..=plain.len()).collect()),
        };
        self.normalized_added
            .split(&normalized, |segment| match segment {
                Segment::Token(_, at) => starts.push(offset + align[at]),
                Segment::Text(part, at) => {
                    let (spaced, inner) = match &self.metaspace {
                        Some(m) => m.apply_aligned(part, offset + at == 0),
                        None => (part.to_owned(), (0..=part.len()).collect()),
                    };
                    let original = |i: usize| offset + align[at + inner[i]];
                    let base = spaced.as_ptr() as usize;
                    self.pretokenizer.split(&spaced, |piece| {
                        let from = piece.as_ptr() as usize - base;
                        starts.push(original(from));
                        if let (Some(ws), SymbolTable::Chars(chars)) =
                            (&self.word_starts, &self.symbols)
                        {
                            ws.starts_in(piece, chars, |i| starts.push(original(from + i)));
                        }
                    });
                }
            });
    }

    /// The pre-tokenizer in use.
    #[must_use]
    pub fn pretokenizer(&self) -> &Pretokenizer {
        &self.pretokenizer
    }

    /// Encodes `text`, matching added tokens first (leftmost, then longest). Pieces seen before
    /// on this thread come from its cache for this encoder (see [`PieceCache`]).
    #[must_use]
    pub fn encode(&self, text: &str) -> Vec<TokenId> {
        with_thread_cache(self.id, |cache| self.encode_cached(text, cache))
    }

    /// [`encode`](Self::encode) with the given cache of piece encodings, or none.
    #[must_use]
    pub fn encode_cached(&self, text: &str, cache: Option<&mut PieceCache>) -> Vec<TokenId> {
        let mut out = Vec::with_capacity(text.len() / 3);
        self.walk(
            text,
            &mut Encoding {
                encoder: self,
                out: &mut out,
                cache,
            },
        );
        out
    }

    /// Encodes each of `texts` in turn as [`encode`](Self::encode) does, appending the ids to
    /// `out` and, after each text, where its ids end in `out` to `ends`: one buffer for many
    /// short texts instead of a vector each.
    pub fn encode_each<S: AsRef<str>>(
        &self,
        texts: &[S],
        out: &mut Vec<TokenId>,
        ends: &mut Vec<usize>,
    ) {
        with_thread_cache(self.id, |mut cache| {
            for text in texts {
                let mut sink = Encoding {
                    encoder: self,
                    out,
                    cache: cache.as_deref_mut(),
                };
                self.walk(text.as_ref(), &mut sink);
                ends.push(out.len());
            }
        });
    }

    /// The number of ids [`encode`](Self::encode) gives `text`, without building them.
    #[must_use]
    pub fn count_tokens(&self, text: &str) -> usize {
        with_thread_cache(self.id, |cache| {
            let mut sink = Counting {
                encoder: self,
                count: 0,
                cache,
                scratch: Vec::new(),
            };
            self.walk(text, &mut sink);
            sink.count
        })
    }

    /// Encodes `text` without looking for added tokens.
    pub fn encode_ordinary_into(&self, text: &str, out: &mut Vec<TokenId>) {
        let mut sink = Encoding {
            encoder: self,
            out,
            cache: None,
        };
        self.walk_plain(text, true, &mut sink);
    }

    /// Calls `emit` with every pre-token of `text` as the merges see it (normalized, spaces as
    /// the space symbol where the model has one), in order; added tokens are skipped. Counting
    /// these is counting what the tokenizer merges (extending a tokenizer does).
    pub fn for_each_pretoken(&self, text: &str, emit: impl FnMut(&[u8])) {
        self.walk(text, &mut Pretokens(emit));
    }

    /// The pipeline in front of the merges: raw added tokens, then [`walk_plain`](Self::walk_plain).
    fn walk(&self, text: &str, sink: &mut impl Sink) {
        self.raw_added.split(text, |segment| match segment {
            Segment::Token(id, _) => sink.token(id),
            Segment::Text(plain, at) => self.walk_plain(plain, at == 0, sink),
        });
    }

    /// Normalizes text that holds no raw added token, then cuts out normalized added tokens.
    fn walk_plain(&self, text: &str, at_start: bool, sink: &mut impl Sink) {
        let normalized: Cow<'_, str> = match &self.normalizer {
            Some(n) => Cow::Owned(n.apply(text)),
            None => Cow::Borrowed(text),
        };
        if self.normalized_added.is_empty() {
            return self.walk_pretokens(&normalized, at_start, sink);
        }
        self.normalized_added
            .split(&normalized, |segment| match segment {
                Segment::Token(id, _) => sink.token(id),
                Segment::Text(part, at) => self.walk_pretokens(part, at_start && at == 0, sink),
            });
    }

    fn walk_pretokens(&self, text: &str, at_start: bool, sink: &mut impl Sink) {
        let spaced: Cow<'_, str> = match &self.metaspace {
            Some(m) => Cow::Owned(m.apply(text, at_start)),
            None => Cow::Borrowed(text),
        };
        self.pretokenizer.split(&spaced, |piece| sink.piece(piece));
    }

    /// Whether `ids`, the encoding of the pre-token `piece`, spell all of it: false when a
    /// byte or a character had no symbol (dropped, or the unknown token).
    #[must_use]
    pub fn spells(&self, piece: &[u8], ids: &[TokenId]) -> bool {
        let mut spelled = Vec::with_capacity(piece.len());
        for &id in ids {
            spelled.extend_from_slice(self.token_bytes(id).unwrap_or_default());
        }
        match (&self.symbols, self.space_symbol()) {
            (SymbolTable::Chars(_), Some(sym)) => {
                spelled == String::from_utf8_lossy(piece).replace(sym, " ").as_bytes()
            }
            _ => spelled == piece,
        }
    }

    /// The character that stands for a space in normalized text (`▁`), if the model has one.
    fn space_symbol(&self) -> Option<&str> {
        self.normalizer
            .as_ref()
            .and_then(Normalizer::space_symbol)
            .or(self.metaspace.as_ref().map(|m| m.replacement.as_str()))
    }

    /// The same encoder with another pre-tokenizer (SuperBPE's stage 2 on an extended base).
    #[must_use]
    pub fn with_pretokenizer(mut self, pretokenizer: Pretokenizer) -> Self {
        self.pretokenizer = pretokenizer;
        self
    }

    /// Encodes one piece of *original* text, as cut by [`piece_starts`](Self::piece_starts):
    /// byte-level models merge its bytes directly; SentencePiece-style models normalize it
    /// first (spaces become `▁`), as [`encode`](Self::encode) would inside a longer text.
    pub fn encode_text_piece(&self, piece: &[u8], out: &mut Vec<TokenId>) {
        match (&self.symbols, std::str::from_utf8(piece)) {
            (SymbolTable::Chars(_), Ok(text)) => {
                let mut sink = Encoding {
                    encoder: self,
                    out,
                    cache: None,
                };
                self.walk_plain(text, false, &mut sink);
            }
            _ => self.encode_piece(piece, out),
        }
    }

    /// Calls `merge` with the parts of the pre-token `piece` that merge independently: for a
    /// SentencePiece-style model, cut where a space provably starts a word (see
    /// [`piece_starts`](Self::piece_starts): no token spans such a cut, so no merge crosses it);
    /// otherwise the piece itself. Models without a pre-tokenizer hand over whole lines, and the
    /// words are what the piece cache can reuse.
    #[inline]
    fn for_each_part(&self, piece: &str, mut merge: impl FnMut(&[u8])) {
        let (Some(ws), SymbolTable::Chars(chars)) = (&self.word_starts, &self.symbols) else {
            return merge(piece.as_bytes());
        };
        let bytes = piece.as_bytes();
        let mut from = 0;
        ws.starts_in(piece, chars, |at| {
            if at > from {
                merge(&bytes[from..at]);
                from = at;
            }
        });
        merge(&bytes[from..]);
    }

    /// Encodes one pre-token (already normalized; for a SentencePiece-style model it must be
    /// UTF-8, and invalid bytes are replaced).
    pub fn encode_piece(&self, piece: &[u8], out: &mut Vec<TokenId>) {
        if let ([b], SymbolTable::Bytes(bytes)) = (piece, &self.symbols) {
            // One byte, no pair to merge: its id from a table of 256, not a probe of the
            // whole-token table (a fifth of the o200k pieces of the benchmark's mixed text of
            // English and Python source are one byte).
            out.extend(bytes.id(*b));
            return;
        }
        if let Some(whole) = &self.whole {
            if let Some(id) = whole.get(piece) {
                out.push(id);
                return;
            }
        }
        match &self.symbols {
            SymbolTable::Bytes(bytes) if piece.len() <= SMALL => {
                // Most pieces: their bytes' ids on the stack, no allocation.
                let mut ids = [0; SMALL];
                let mut ranks = [NO_MERGE; SMALL];
                if let Some(n) = bytes.first_round(piece, &mut ids, &mut ranks) {
                    return self.merge_ranked(&mut ids[..n], &mut ranks, out);
                }
                let mut n = 0;
                for id in piece.iter().filter_map(|&b| bytes.id(b)) {
                    ids[n] = id;
                    n += 1;
                }
                self.merge_small(&mut ids[..n], out);
            }
            SymbolTable::Bytes(bytes) => {
                let ids = piece.iter().filter_map(|&b| bytes.id(b)).collect();
                self.merge_symbols(ids, out);
            }
            SymbolTable::Chars(chars) => {
                let mut ids = [0; SMALL];
                let mut ranks = [NO_MERGE; SMALL];
                if let Some(n) = chars.first_round(piece, &mut ids, &mut ranks) {
                    return self.merge_ranked(&mut ids[..n], &mut ranks, out);
                }
                let mut ids = Vec::with_capacity(piece.len());
                chars.push(&String::from_utf8_lossy(piece), &mut ids);
                self.merge_symbols(ids, out);
            }
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
            if skip_special && self.added_kind(id) == Some(true) {
                continue;
            }
            out.extend_from_slice(bytes);
        }
        Ok(out)
    }
}

/// The merge table: `(left, right)` → (rank, merged id). Like HF's merge map, a repeated rule
/// keeps its last rank.
fn rank_map<'t>(
    merges: &[(TokenId, TokenId)],
    text_of: impl Fn(TokenId) -> &'t [u8],
    id_of: impl Fn(&[u8]) -> Option<TokenId>,
) -> Result<FastMap<u64, (u32, TokenId)>> {
    let mut ranks = FastMap::default();
    ranks.reserve(merges.len());
    let mut joined = Vec::new();
    for (rank, &(a, b)) in merges.iter().enumerate() {
        joined.clear();
        joined.extend_from_slice(text_of(a));
        joined.extend_from_slice(text_of(b));
        let new = id_of(&joined).ok_or_else(|| {
            Error::Serialization(format!(
                "merge {rank} makes {:?}, which is not in the vocab",
                String::from_utf8_lossy(&joined)
            ))
        })?;
        ranks.insert(pair_key(a, b), (rank as u32, new));
    }
    Ok(ranks)
}
