//! The validity oracle (design/byteprobs.md §5.1, generalised to pre-tokenizer look-ahead, §5.4).
//!
//! `t` is valid iff `encode(decode(t) ⊕ c)` starts with `t` for some continuation `c` of a
//! *probe set*. [`ByteVocab::check`] answers one `(t, c)` without re-encoding everything: it
//! segments `decode(t) ⊕ c` into added-token matches and pre-tokens, requires `t` to respect
//! that segmentation, accepts a piece that `t` covers whole by the pair rules of
//! [`super::pairs`] (or by re-encoding the piece when they do not apply), and re-encodes only
//! the one piece that runs on into `c`.
//!
//! The probe set (see [`ByteVocab::continuations`]):
//! - when `decode(t)` is complete UTF-8: the empty string, one representative of every char class
//!   the supported pre-tokenizers tell apart ([`PROBES`]), the rest of every literal of the
//!   pattern that `decode(t)` ends inside of (`e` after `I'v`: see [`super::literals`]), and the
//!   completions of every non-special added token that `decode(t)` ends inside of;
//! - when it ends inside a char: every possible next byte of that char, completed minimally
//!   (`0x80` continuation bytes) and followed by one of [`SHORT_PROBES`], and one char of each
//!   class the bytes can still become ([`super::partial`]) followed by one of [`PROBES`];
//! - when it is not a prefix of any UTF-8 text: none, so `t` is invalid.
//!
//! When no probe passes for a text that ends inside a char, the oracle tries the char's
//! completions read off the vocabulary ([`ByteVocab::merge_probes`]), each followed by one of
//! [`SHORT_PROBES`]: whether the char's first bytes stay apart can depend on its later bytes
//! (Qwen2.5 `[ED, 82 AD]` for `킭`). Still approximate: a cut char whose next *two* tokens must
//! both start inside it, and what a token past the char needs after itself.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::partial::{class_completions, remembered, token_completions};
use super::{Boundaries, ByteVocab, INVALID, LetterRuns, VALID, decided};
use crate::train::TokenId;

/// Continuations of a complete text, one per char class the look-aheads and contraction
/// alternatives of the GPT-2, Llama-3, Qwen2, o200k and digit-group patterns distinguish.
/// `0`, `00`, `000` cover every residue of a digit run modulo 3; `٣` and `٣٣` (Arabic-Indic
/// three, a digit no vocabulary merges with ASCII digits) end the text's last digits inside a
/// group that the look-ahead forces on into the continuation, with a token boundary where the
/// text ends: `[1, 23]` starts `encode("1234") = [1, 23, 4]`, which no continuation of zeros
/// shows when BPE merges `3 0`.
pub const PROBES: &[&str] = &[
    "", " ", "  ", "\n", "\n\n", "\r\n", "\t", " \n", "a", "A", "b", "z", "s", "t", "re", "ll",
    "S", "RE", "0", "00", "000", "٣", "٣٣", ".", ",", "'", "\"", "-", "_", "(", "/", "!", "é", "É",
    "中", "😀", " a", " 0", " .", "\u{a0}", "\u{3000}",
];

/// What follows a char completed mid-way: the end of the text, a space, a letter.
pub const SHORT_PROBES: &[&str] = &["", " ", "a"];

/// At most this many added-token completions are probed for one text.
const MAX_ADDED_PROBES: usize = 64;

/// One independently encoded piece of a text: an added-token match or a pre-token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seg {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// The added token matched here, if this is not a pre-token.
    pub added: Option<TokenId>,
}

/// The bytes that may follow `partial`, an incomplete UTF-8 char: every allowed next byte,
/// completed with the smallest continuation bytes.
fn char_completions(partial: &[u8]) -> Vec<Vec<u8>> {
    let lead = partial[0];
    let need = match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    };
    let next = if partial.len() == 1 {
        match lead {
            0xE0 => 0xA0..=0xBF,
            0xED => 0x80..=0x9F,
            0xF0 => 0x90..=0xBF,
            0xF4 => 0x80..=0x8F,
            _ => 0x80..=0xBF,
        }
    } else {
        0x80..=0xBF
    };
    next.map(|x| {
        let mut c = vec![x];
        c.resize(need - partial.len(), 0x80);
        c
    })
    .collect()
}

/// The probes of a text that ends inside a char (`partial`): the smallest completion after
/// each possible next byte, followed by one of [`SHORT_PROBES`]; and one char of each class the
/// bytes can still become ([`class_completions`]), followed by one of [`PROBES`] (what comes
/// after a char of a class the text ends in decides where its pieces end: `\n` then U+0085
/// then `\n` is one piece under Llama-3's `\s*[\r\n]+`).
fn partial_continuations(partial: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut push = |comp: &[u8], after: &[&str]| {
        for p in after {
            let c = [comp, p.as_bytes()].concat();
            if !out.contains(&c) {
                out.push(c);
            }
        }
    };
    for comp in char_completions(partial) {
        push(&comp, SHORT_PROBES);
    }
    for comp in class_completions(partial).iter() {
        push(comp, PROBES);
    }
    out
}

impl ByteVocab {
    /// The pieces of `text`: non-special added tokens are matched first (leftmost, then longest,
    /// then lowest id, as the encoder does), and the pre-tokenizer splits the text between them.
    pub(super) fn segments(&self, text: &str) -> Vec<Seg> {
        let bytes = text.as_bytes();
        let mut segs = Vec::new();
        let mut pos = 0;
        loop {
            let next = self.find_added(bytes, pos);
            let gap_end = next.map_or(bytes.len(), |m| m.0);
            if gap_end > pos {
                let gap = &text[pos..gap_end];
                if self.encoder.is_char_level() {
                    // Pieces of the original text (before normalization): see piece_starts.
                    let mut starts = self.encoder.piece_starts(gap);
                    starts.push(gap.len());
                    for w in starts.windows(2).filter(|w| w[1] > w[0]) {
                        segs.push(Seg {
                            start: pos + w[0],
                            end: pos + w[1],
                            added: None,
                        });
                    }
                } else {
                    let base = gap.as_ptr() as usize;
                    self.encoder.pretokenizer().split(gap, |p| {
                        let start = p.as_ptr() as usize - base + pos;
                        segs.push(Seg {
                            start,
                            end: start + p.len(),
                            added: None,
                        });
                    });
                }
            }
            match next {
                Some((at, len, id)) => {
                    segs.push(Seg {
                        start: at,
                        end: at + len,
                        added: Some(id),
                    });
                    pos = at + len;
                }
                None => return segs,
            }
        }
    }

    /// Whether `toks`, which tile `piece` (one pre-token), are its BPE encoding.
    fn piece_ok(&self, piece: &[u8], toks: &[TokenId]) -> bool {
        if let Some(rules) = &self.pairs {
            if toks.iter().all(|&t| rules.usable(t)) {
                return toks
                    .windows(2)
                    .all(|w| rules.pair_is_valid(&self.encoder, w[0], w[1]));
            }
        }
        let mut full = Vec::with_capacity(toks.len());
        self.encoder.encode_text_piece(piece, &mut full);
        full == toks
    }

    /// Whether `encode(text ⊕ cont)` starts with `ids`, where `text == decode(ids)` and `ids`
    /// holds ordinary tokens only.
    pub(super) fn check(&self, ids: &[TokenId], text: &[u8], cont: &[u8]) -> bool {
        self.check_in(ids, text, cont, &mut Vec::new())
    }

    /// [`check`](Self::check), building `text ⊕ cont` in `s` (a reused buffer).
    pub(super) fn check_in(
        &self,
        ids: &[TokenId],
        text: &[u8],
        cont: &[u8],
        s: &mut Vec<u8>,
    ) -> bool {
        s.clear();
        s.extend_from_slice(text);
        s.extend_from_slice(cont);
        let s = &s[..];
        let Ok(st) = std::str::from_utf8(s) else {
            return false;
        };
        if self.reference {
            return self.encode(st).starts_with(ids);
        }
        let n = text.len();
        let (mut k, mut pos) = (0, 0);
        for seg in self.segments(st) {
            if seg.start >= n {
                break;
            }
            if let Some(id) = seg.added {
                if seg.end > n || ids.get(k) != Some(&id) {
                    return false;
                }
                k += 1;
                pos = seg.end;
                continue;
            }
            let first = k;
            let stop = seg.end.min(n);
            while pos < stop && k < ids.len() {
                pos += self.len_of(ids[k]);
                k += 1;
            }
            if pos != stop {
                // A token crosses the end of this piece.
                return false;
            }
            let toks = &ids[first..k];
            let ok = if seg.end <= n {
                self.piece_ok(&s[seg.start..seg.end], toks)
            } else {
                let mut full = Vec::with_capacity(toks.len() + 1);
                self.encoder
                    .encode_text_piece(&s[seg.start..seg.end], &mut full);
                full.starts_with(toks)
            };
            if !ok {
                return false;
            }
        }
        k == ids.len()
    }

    /// The probe continuations of `text` (see the module doc); `None` if no continuation can
    /// make it UTF-8.
    pub(super) fn continuations(&self, text: &[u8]) -> Option<Vec<Vec<u8>>> {
        match std::str::from_utf8(text) {
            Ok(_) => {
                let mut out: Vec<Vec<u8>> = PROBES.iter().map(|p| p.as_bytes().to_vec()).collect();
                self.literals.any_completion(text, |rest| {
                    out.push(rest.to_vec());
                    false
                });
                out.extend(self.added_completions(text));
                Some(out)
            }
            Err(e) if e.error_len().is_none() => {
                Some(partial_continuations(&text[e.valid_up_to()..]))
            }
            Err(_) => None,
        }
    }

    /// The rest of every non-special added token that `text` ends inside of.
    pub(super) fn added_completions(&self, text: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for l in 1..self.max_added_len.min(text.len() + 1) {
            let suffix = &text[text.len() - l..];
            let lo = self.added_sorted.partition_point(|a| &**a < suffix);
            for a in self.added_sorted[lo..]
                .iter()
                .take_while(|a| a.starts_with(suffix))
            {
                if a.len() > l && out.len() < MAX_ADDED_PROBES {
                    out.push(a[l..].to_vec());
                }
            }
        }
        out
    }

    /// [`oracle`](Self::oracle), faster and with the same answer (used by
    /// [`ByteVocab::valid_extensions`]); `s` is a reused buffer.
    ///
    /// - The empty probe is tried first without building the probe set. This changes nothing:
    ///   the answer is "some probe passes", and when `text` is complete UTF-8 the empty probe
    ///   belongs to the set, while when it is not, [`check`](Self::check) rejects it (the text is
    ///   not UTF-8), so trying it is harmless.
    /// - Then [`same_piece_pair_rejects`](Self::same_piece_pair_rejects), sound for every probe.
    /// - Then the remaining probes, in the oracle's order, without allocating them.
    pub(super) fn oracle_fast(&self, ids: &[TokenId], text: &[u8], s: &mut Vec<u8>) -> bool {
        if ids.is_empty() {
            return true;
        }
        if self.check_in(ids, text, b"", s) {
            return true;
        }
        if self.same_piece_pair_rejects(ids, text) {
            return false;
        }
        match std::str::from_utf8(text) {
            Ok(_) => {
                PROBES[1..]
                    .iter()
                    .any(|c| self.check_in(ids, text, c.as_bytes(), s))
                    || self
                        .literals
                        .any_completion(text, |c| self.check_in(ids, text, c, s))
                    || self
                        .added_completions(text)
                        .iter()
                        .any(|c| self.check_in(ids, text, c, s))
            }
            Err(e) if e.error_len().is_none() => {
                let partial = &text[e.valid_up_to()..];
                partial_continuations(partial)
                    .iter()
                    .chain(self.merge_probes(partial).iter())
                    .any(|c| self.check_in(ids, text, c, s))
            }
            Err(_) => false,
        }
    }

    /// The probes of a text that ends inside a char (`partial`) beyond those of
    /// `partial_continuations`: every completion of [`token_completions`] followed by one of
    /// [`SHORT_PROBES`] (remembered per `partial`). Tried last: they are many (a few thousand
    /// after a CJK lead byte in Qwen2.5) and rarely needed.
    pub(super) fn merge_probes(&self, partial: &[u8]) -> Arc<Vec<Vec<u8>>> {
        remembered(&self.tails, partial, || {
            let tokens = (0..self.encoder.vocab_size() as TokenId)
                .filter(|&id| !self.special[id as usize])
                .filter_map(|id| self.encoder.token_bytes(id))
                .filter(|b| b.first().is_some_and(|&x| x & 0xC0 == 0x80));
            let known: HashSet<Vec<u8>> = partial_continuations(partial).into_iter().collect();
            let mut out = Vec::new();
            for comp in token_completions(partial, tokens) {
                for p in SHORT_PROBES {
                    let c = [&comp[..], p.as_bytes()].concat();
                    if !known.contains(&c) {
                        out.push(c);
                    }
                }
            }
            out
        })
    }

    /// A sufficient condition for "no probe passes" (so `ids` is invalid), for `ids = t ⊕ [l, v]`
    /// where `text = decode(ids)` and `p` is the offset where `v` starts:
    ///
    /// 1. `l` and `v` are usable by the pair rules and `(l, v)` is not a valid pair;
    /// 2. for every continuation `c`, `p` is not a piece boundary of `text ⊕ c`.
    ///
    /// Then every check fails: the piece holding `l` and `v` either ends inside `text` and its
    /// tokens are not its encoding (pair rules: the window `(l, v)` fails; re-encoding: a valid
    /// encoding would make `(l, v)` valid by design/byteprobs.md §5.2 fact II), or runs on into `c` and its
    /// encoding cannot start with tokens holding the invalid pair `(l, v)` (fact II again).
    ///
    /// Condition 2 is established only where it is provable from the pattern (or where `p - 1`
    /// is a space and `p` a letter, punctuation or, in GPT-2, a digit: a piece starts at the
    /// space and holds `p`, see [`space_cut_rejects`](Self::space_cut_rejects)):
    /// - a byte-level encoder (no normalizer) whose pre-tokenizer is exactly the GPT-2, Llama-3
    ///   or Qwen2 regex;
    /// - the bytes at `p - 1` and `p` are both ASCII letters (or both ASCII digits, GPT-2 only);
    /// - no `'` in the three bytes before `p`, so the match holding `p - 1` is not a contraction
    ///   (`'s`, `'re`, ...: a `'` and at most two letters);
    /// - no non-special added token occurs in `text` nor starts inside it and runs on past its
    ///   end (so no added-token match in `text ⊕ c` touches `p - 1` or `p`, and both lie in one
    ///   gap the regex splits).
    ///
    /// Under these patterns a letter is matched only by a contraction or by an alternative that
    /// ends in a greedy `\p{L}+` with nothing after it (`' ?\p{L}+'`,
    /// `'[^\r\n\p{L}\p{N}]?\p{L}+'`), which cannot stop before the letter at `p`; under GPT-2 a
    /// digit is matched only by the greedy `' ?\p{N}+'`. So `p` is inside a match, whatever `c`.
    fn same_piece_pair_rejects(&self, ids: &[TokenId], text: &[u8]) -> bool {
        let (Some(rules), [.., l, v]) = (&self.pairs, ids) else {
            return false;
        };
        let p = text.len() - self.len_of(*v);
        if p == 0 {
            return false;
        }
        let joined = match (self.letter_runs, self.boundaries) {
            (Some(kind), _) => {
                let (a, b) = (text[p - 1], text[p]);
                let joined = (a.is_ascii_alphabetic() && b.is_ascii_alphabetic())
                    || (kind == LetterRuns::WithDigitRuns
                        && a.is_ascii_digit()
                        && b.is_ascii_digit())
                    || (a == b' ' && self.space_cut_rejects(&text[p..]));
                joined && !text[p.saturating_sub(3)..p].contains(&b'\'')
            }
            // A word starts only at a space symbol; a raw `▁` is one after normalization.
            (None, Some(Boundaries::Words)) => {
                text[p] != b' ' && !text[p..].starts_with("\u{2581}".as_bytes())
            }
            _ => false,
        };
        if !joined {
            return false;
        }
        if !rules.usable(*l) || !rules.usable(*v) || rules.pair_is_valid(&self.encoder, *l, *v) {
            return false;
        }
        self.find_added(text, 0).is_none() && self.added_completions(text).is_empty()
    }

    /// `oracle([v], bytes(v))`, remembered per id (`s` is a reused buffer).
    pub(super) fn alone_valid(&self, v: TokenId, s: &mut Vec<u8>) -> bool {
        let slot = &self.alone[v as usize];
        match slot.load(Ordering::Relaxed) {
            INVALID => false,
            VALID => true,
            _ => {
                let text = self.encoder.token_bytes(v).unwrap_or_default();
                let ok = self.oracle_fast(&[v], text, s);
                slot.store(decided(ok), Ordering::Relaxed);
                ok
            }
        }
    }

    /// Whether `x = tail` (a context tail, see `ContextMemo::split_ok`) and `y = bytes(v)`
    /// are cut apart for every continuation `c`: the pieces of `x ⊕ y ⊕ c` are those of `x`
    /// followed by those of `y ⊕ c`, shifted. An empty `x` always is.
    ///
    /// Then `oracle(tail ⊕ [v], x ⊕ y)` equals `check(tail, x, "") && oracle([v], y)`: every
    /// check of `x ⊕ y ⊕ c` checks the pieces of `x` against `tail` (whatever `c` is) and those
    /// of `y ⊕ c` against `[v]`; and the probe sets agree, since `x` is UTF-8 and no suffix of
    /// `x` begins an added token (`split_ok`), so the added-token completions of `x ⊕ y` are
    /// those of `y`, in the same order. For the same reason no added-token match of `x ⊕ y ⊕ c`
    /// starts before `|x|`, and the leftmost-longest matches from `|x|` on are those of `y ⊕ c`.
    ///
    /// The cut is proved only from the last byte `a` of `x` and the first byte `b` of `y`:
    /// - `Regex` (GPT-2, Llama-3, Qwen2 patterns; HF "isolated" split: matches and gaps):
    ///   - `a` an ASCII letter, `b` ASCII and not a letter. The only alternatives that match a
    ///     letter end with it (contractions, `' ?\p{L}+'`, `'[^\r\n\p{L}\p{N}]?\p{L}+'`),
    ///     and a letter run cannot take `b`, so the match holding `a` ends at `|x|`.
    ///   - `a` ASCII punctuation, `b` a space: the alternatives that match punctuation
    ///     (`' ?[^\s\p{L}\p{N}]+[\r\n]*'`, a contraction's `'`, the optional prefix of a
    ///     letter run) can take neither a space nor stop before letters that are not there.
    ///   - Qwen2 only: `a` an ASCII digit (`\p{N}` takes one digit and nothing else takes
    ///     digits), or `b` an ASCII digit and `a` ASCII but not whitespace (no alternative
    ///     holding `a` takes a digit).
    ///
    ///   In each case `a` is not whitespace, so the one look-ahead, `\s+(?!\S)`, never ends at
    ///   `|x|`; every alternative tried before `|x|` consumes a run of one class that ends by
    ///   `|x|` or fails on a byte before it (or, for a contraction, on `b` as on the end of
    ///   `x`), so the matches before `|x|` are those of `x` alone. The patterns have no anchor
    ///   nor look-behind, so the matches from `|x|` on are those of `y ⊕ c`.
    /// - `Words` (SentencePiece style): `b` a space and `a` the end of a char after which a
    ///   space starts a word whatever follows. Word starts depend only on the chars at and
    ///   before them, and the normalizer maps chars one by one, so the pieces before and after
    ///   `|x|` are those of `x` and of `y ⊕ c`.
    pub(super) fn splits_before(&self, x: &[u8], y: &[u8]) -> bool {
        let (Some(&a), Some(&b)) = (x.last(), y.first()) else {
            return x.is_empty();
        };
        match self.boundaries {
            Some(Boundaries::Regex { single_digits }) => {
                if !a.is_ascii() || !b.is_ascii() {
                    return false;
                }
                (a.is_ascii_alphabetic() && !b.is_ascii_alphabetic())
                    || (a.is_ascii_punctuation() && b == b' ')
                    || (single_digits
                        && (a.is_ascii_digit() || (b.is_ascii_digit() && !a.is_ascii_whitespace())))
            }
            Some(Boundaries::Words) => {
                if b != b' ' {
                    return false;
                }
                // x is UTF-8 (split_ok), so its last char is whole.
                let i = x.iter().rposition(|&c| c & 0xC0 != 0x80).unwrap_or(0);
                let prev = std::str::from_utf8(&x[i..])
                    .ok()
                    .and_then(|t| t.chars().next());
                prev.is_some_and(|c| self.encoder.space_starts_word_after(c) == Some(true))
            }
            None => false,
        }
    }

    /// Whether the tail's last piece is a letter run that ASCII letters extend (the
    /// `ContextMemo::letter_run` conditions, given that `tail_ids` is the valid encoding of
    /// `tail_text` with no added token in or after it).
    pub(super) fn last_piece_is_letter_run(&self, tail_ids: &[TokenId], tail_text: &[u8]) -> bool {
        let (Some(rules), Some(_), Some(&last)) = (&self.pairs, self.letter_runs, tail_text.last())
        else {
            return false;
        };
        if self.max_added_len > 0 {
            return false; // an added token could match across the tail's end
        }
        let n = tail_text.len();
        if !last.is_ascii_alphabetic() || tail_text[n.saturating_sub(3)..].contains(&b'\'') {
            return false;
        }
        let Ok(text) = std::str::from_utf8(tail_text) else {
            return false;
        };
        let Some(piece) = self.segments(text).last().copied() else {
            return false;
        };
        // The tokens of the last piece: those ending after its start (the tail is valid, so
        // tokens and pieces align).
        let mut end = n;
        for &id in tail_ids.iter().rev() {
            if end <= piece.start {
                break;
            }
            if !rules.usable(id) {
                return false;
            }
            end -= self.len_of(id);
        }
        end == piece.start
    }

    /// Whether token `v`, spelled `bytes`, lies wholly inside the letter run it continues (it
    /// is ASCII letters only) and the pair rules can replay it.
    pub(super) fn extends_letter_run(&self, v: TokenId, bytes: &[u8]) -> bool {
        !bytes.is_empty()
            && bytes.iter().all(u8::is_ascii_alphabetic)
            && self.pairs.as_ref().is_some_and(|r| r.usable(v))
    }

    /// `oracle(tail ⊕ [v])` when the tail's last piece is a letter run (`letter_run`) and `v`
    /// extends it ([`extends_letter_run`](Self::extends_letter_run)): whether `(last, v)` is a
    /// valid pair.
    ///
    /// Why. The piece holding the tail's last byte is a greedy letter-run match (the patterns of
    /// `LetterRuns`; not a contraction, as no `'` is among its last three bytes); at its start the
    /// same alternative matches in `tail ⊕ v ⊕ c` and runs on through `v`'s letters, and the
    /// matches before it end before the tail's last byte, so they do not change. With `c`
    /// empty the pieces are those of the tail with `v` appended to the last one, and a
    /// sequence tiling a piece is its BPE encoding iff each token is and each adjacent pair is
    /// (design/byteprobs.md §5.2): the tail's pairs are (it is valid), so the empty probe passes iff `(last,
    /// v)` does. If it does not, [`same_piece_pair_rejects`](Self::same_piece_pair_rejects)
    /// proves no probe passes. No added token is involved: `letter_run` requires a vocabulary
    /// without non-special added tokens.
    pub(super) fn pair_continues(&self, tail_ids: &[TokenId], v: TokenId) -> bool {
        let (Some(rules), Some(&last)) = (&self.pairs, tail_ids.last()) else {
            return false;
        };
        rules.pair_is_valid(&self.encoder, last, v)
    }

    /// Whether the tail ends in a space that its last token shares with earlier bytes (the
    /// `ContextMemo::space_cut` condition).
    pub(super) fn last_space_is_cut(&self, tail_ids: &[TokenId], tail_text: &[u8]) -> bool {
        self.letter_runs.is_some()
            && self.max_added_len == 0
            && tail_text.last() == Some(&b' ')
            && tail_ids.last().is_some_and(|&t| self.len_of(t) > 1)
    }

    /// With `space_cut`: whether a token spelled `bytes` is invalid after the tail because it
    /// starts with an ASCII letter, ASCII punctuation, or (GPT-2) an ASCII digit.
    ///
    /// Why. Let `p` be where the token starts; the tail's last byte `p - 1` is a space. In
    /// `text ⊕ c`, whatever `c`, a piece starts at `p - 1` and runs past `p`: the
    /// alternative ` ?\p{L}+` (GPT-2; `[^\r\n\p{L}\p{N}]?\p{L}+` in Llama-3 and Qwen2),
    /// ` ?[^\s\p{L}\p{N}]+` or (GPT-2) ` ?\p{N}+` matches there, and no contraction can (they
    /// start with `'`). No match that starts earlier holds `p - 1`: only the whitespace
    /// alternatives take a space, and `\s+(?!\S)` on a run that reaches `p` gives the run's
    /// last space back, because a non-space follows it; a run that is this one space starts
    /// at `p - 1`. So the piece boundary at `p - 1` falls inside the tail's last token, which
    /// is longer than the space, and no check can pass. (`letter_runs` encoders only: the
    /// pre-tokenizer is exactly one of those patterns; no non-special added tokens.)
    pub(super) fn space_cut_rejects(&self, bytes: &[u8]) -> bool {
        bytes.first().is_some_and(|&b| {
            b.is_ascii_alphabetic()
                || b.is_ascii_punctuation()
                || (self.letter_runs == Some(LetterRuns::WithDigitRuns) && b.is_ascii_digit())
        })
    }

    /// The oracle for ordinary tokens `ids` with `text == decode(ids)`.
    pub(super) fn oracle(&self, ids: &[TokenId], text: &[u8]) -> bool {
        if ids.is_empty() {
            return true;
        }
        let Some(conts) = self.continuations(text) else {
            return false;
        };
        if conts.iter().any(|c| self.check(ids, text, c)) {
            return true;
        }
        match std::str::from_utf8(text) {
            Err(e) if e.error_len().is_none() => self
                .merge_probes(&text[e.valid_up_to()..])
                .iter()
                .any(|c| self.check(ids, text, c)),
            _ => false,
        }
    }
}
