//! Exact alignment of two tokenizations of the same text, for cross-tokenizer distillation (ALM,
//! `design/distill.md` §1; its property tests are listed in design/distill.md §6).
//!
//! A teacher and a student tokenize one text with different tokenizers. A *chunk* is a pair of
//! token spans, one per side, whose joined bytes are equal; the chunks here are the shortest
//! ones: walking both sides and accumulating byte lengths, a chunk closes as soon as both sides
//! hold at least one token of it and their byte counts agree (every common cut point closes
//! one). The distillation loss then compares the two models chunk by chunk.
//!
//! Special tokens contribute no bytes. Each vocabulary gives every special a *code*, shared
//! between the two vocabularies (the caller decides: same role, else same string); two specials
//! with the same code that meet at a chunk boundary form a chunk of their own (`<bos>` ↔
//! `<|begin_of_text|>`). Any other special is left out of every chunk (index -1): one met inside
//! a chunk, one facing a regular token or a special of another code.
//!
//! Two tokenizers that normalise text differently (lowercasing, NFKC, a dummy prefix space) give
//! chunks whose byte counts agree but whose bytes do not; such a chunk is dropped (its tokens get
//! -1) and counted as *mismatched*, so that the caller can refuse a pair that cannot be aligned.
//! Tokens left when one side runs out also get -1.
//!
//! This is the "unconstrained" chunking (design/distill.md §1); the replacement tables for chat-template
//! specials (`<end_of_turn> Ċ` ↔ `<|eot_id|>`) are not modelled: such specials are left out.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Per token id: the bytes it contributes to the text and, for special tokens, a code that says
/// which special of the other vocabulary it matches.
#[derive(Debug, Clone)]
pub struct AlignVocab {
    /// `offsets[id]..offsets[id + 1]` is the token's range in `bytes`; `len + 1` entries.
    offsets: Vec<usize>,
    bytes: Vec<u8>,
    /// -1 for a regular token, else the special's code (≥ 0).
    special: Vec<i32>,
}

impl AlignVocab {
    /// A vocabulary of `special.len()` ids from the concatenated token bytes and their offsets.
    ///
    /// # Errors
    /// [`Error::Config`] if `offsets` does not have one entry more than `special`, does not start
    /// at 0, decreases, or does not end at `bytes.len()`; if a code is below -1; or if there are
    /// more ids than `u32` can name.
    pub fn new(offsets: Vec<usize>, bytes: Vec<u8>, special: Vec<i32>) -> Result<Self> {
        let hint = "give {offsets} of one entry per id plus one, starting at 0, non-decreasing and ending at len(bytes)";
        if offsets.len() != special.len() + 1 {
            return Err(Error::Config(format!(
                "{} offsets for {} ids (need one more offset than ids)",
                offsets.len(),
                special.len()
            ))
            .with_hint(hint));
        }
        if u32::try_from(special.len()).is_err() {
            return Err(Error::Config(format!(
                "{} ids do not fit in u32 token ids",
                special.len()
            )));
        }
        // Not empty: it has one entry more than `special`.
        let (first, last) = (offsets[0], offsets[offsets.len() - 1]);
        if first != 0 || last != bytes.len() {
            return Err(Error::Config(format!(
                "offsets run from {first} to {last}, not from 0 to the {} bytes given",
                bytes.len()
            ))
            .with_hint(hint));
        }
        if let Some(i) = offsets.windows(2).position(|w| w[0] > w[1]) {
            return Err(Error::Config(format!(
                "offsets decrease at id {i}: {} > {}",
                offsets[i],
                offsets[i + 1]
            ))
            .with_hint(hint));
        }
        if let Some(i) = special.iter().position(|&c| c < -1) {
            return Err(Error::Config(format!(
                "special code {} of id {i} is below -1",
                special[i]
            ))
            .with_hint("give -1 for a regular token, a code of 0 or more for a special one"));
        }
        Ok(Self {
            offsets,
            bytes,
            special,
        })
    }

    /// A vocabulary from each id's bytes and code (-1: regular), in id order (tests, small
    /// vocabularies).
    ///
    /// # Errors
    /// As [`AlignVocab::new`].
    pub fn from_tokens<B: AsRef<[u8]>>(tokens: impl IntoIterator<Item = (B, i32)>) -> Result<Self> {
        let mut offsets = vec![0];
        let mut bytes = Vec::new();
        let mut special = Vec::new();
        for (b, code) in tokens {
            bytes.extend_from_slice(b.as_ref());
            offsets.push(bytes.len());
            special.push(code);
        }
        Self::new(offsets, bytes, special)
    }

    /// Number of ids.
    #[must_use]
    pub fn len(&self) -> usize {
        self.special.len()
    }

    /// Whether there are no ids.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.special.is_empty()
    }

    /// The bytes of `id`, if it is in the vocabulary.
    #[must_use]
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        let i = id as usize;
        (i < self.len()).then(|| &self.bytes[self.offsets[i]..self.offsets[i + 1]])
    }

    /// The special code of `id` (`None` for a regular token or an id outside the vocabulary).
    #[must_use]
    pub fn special_code(&self, id: u32) -> Option<i32> {
        self.special.get(id as usize).copied().filter(|&c| c >= 0)
    }

    /// An error naming the first id of `ids` outside the vocabulary.
    fn check_ids(&self, ids: &[u32], side: &str) -> Result<()> {
        match ids.iter().position(|&id| id as usize >= self.len()) {
            None => Ok(()),
            Some(k) => Err(Error::Config(format!(
                "{side} token {k} has id {}, outside the {side} vocabulary of {} ids",
                ids[k],
                self.len()
            ))
            .with_hint("align ids made by the tokenizers the vocabularies were built from")),
        }
    }
}

/// The chunks of one pair of token sequences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowAlignment {
    /// Per teacher token its chunk index (`0..n_chunks`, non-decreasing), or -1.
    pub teacher_chunk: Vec<i64>,
    /// Per student token its chunk index (`0..n_chunks`, non-decreasing), or -1.
    pub student_chunk: Vec<i64>,
    /// Number of chunks kept.
    pub n_chunks: usize,
    /// Number of chunks dropped because their bytes differ.
    pub mismatched: usize,
}

/// One side of the walk: its position and the chunk it has open.
struct Side<'a> {
    vocab: &'a AlignVocab,
    ids: &'a [u32],
    /// The chunk index of each token so far; tokens of the open chunk hold its tentative index.
    chunk: Vec<i64>,
    /// The next token.
    pos: usize,
    /// The first token of the open chunk: on a mismatch `start..pos` is reset to -1.
    start: usize,
    /// Regular tokens in the open chunk.
    taken: usize,
    /// Their joined bytes, compared with the other side's when the chunk closes.
    bytes: Vec<u8>,
}

impl<'a> Side<'a> {
    fn new(vocab: &'a AlignVocab, ids: &'a [u32]) -> Self {
        Self {
            vocab,
            ids,
            chunk: vec![-1; ids.len()],
            pos: 0,
            start: 0,
            taken: 0,
            bytes: Vec::new(),
        }
    }

    fn has_next(&self) -> bool {
        self.pos < self.ids.len()
    }

    /// The code of the next token if it is a special one.
    fn next_special(&self) -> Option<i32> {
        self.ids
            .get(self.pos)
            .and_then(|&id| self.vocab.special_code(id))
    }

    /// Passes over the next token, a special one, giving it `chunk` (or leaving it at -1).
    fn pass_special(&mut self, chunk: Option<i64>) {
        if let Some(c) = chunk {
            self.chunk[self.pos] = c;
        }
        self.pos += 1;
        if self.taken == 0 {
            // Nothing open: the next chunk starts after this special, so that a later mismatch
            // cannot reset the index just given to it.
            self.start = self.pos;
        }
    }

    /// Adds the next token, a regular one, to the open chunk (index `chunk`).
    fn take(&mut self, chunk: i64) {
        let id = self.ids[self.pos];
        self.bytes
            .extend_from_slice(self.vocab.token_bytes(id).unwrap_or_default());
        self.chunk[self.pos] = chunk;
        self.pos += 1;
        self.taken += 1;
    }

    /// Ends the open chunk, keeping its tokens' index or resetting them to -1.
    fn close(&mut self, keep: bool) {
        if !keep {
            self.chunk[self.start..self.pos].fill(-1);
        }
        self.start = self.pos;
        self.taken = 0;
        self.bytes.clear();
    }
}

/// The shortest chunks of `t_ids` (teacher) and `s_ids` (student); see the module doc.
///
/// # Errors
/// [`Error::Config`] if an id is outside its vocabulary.
pub fn align(
    teacher: &AlignVocab,
    t_ids: &[u32],
    student: &AlignVocab,
    s_ids: &[u32],
) -> Result<RowAlignment> {
    teacher.check_ids(t_ids, "teacher")?;
    student.check_ids(s_ids, "student")?;
    let (mut t, mut s) = (Side::new(teacher, t_ids), Side::new(student, s_ids));
    let (mut n, mut mismatched) = (0usize, 0usize);
    loop {
        if t.taken == 0 && s.taken == 0 {
            if let (Some(a), Some(b)) = (t.next_special(), s.next_special()) {
                // At a boundary, a special facing a special: a chunk of their own if the codes
                // agree, else both are left out.
                let chunk = (a == b).then_some(n as i64);
                t.pass_special(chunk);
                s.pass_special(chunk);
                n += usize::from(chunk.is_some());
                continue;
            }
        }
        // Advance the side that is behind in bytes; on a tie the side with no token in the open
        // chunk yet (so that a chunk never closes with an empty side), else the teacher. Only the
        // side that must move looks at its next token: a special that ends one side's part of a
        // chunk may still meet the other side's special at the boundary.
        let (tl, sl) = (t.bytes.len(), s.bytes.len());
        let behind = if tl < sl || (tl == sl && t.taken == 0) {
            &mut t
        } else {
            &mut s
        };
        if behind.next_special().is_some() {
            // Inside a chunk, or facing a regular token: it has no counterpart.
            behind.pass_special(None);
            continue;
        }
        if !behind.has_next() {
            break;
        }
        behind.take(n as i64);
        if t.taken > 0 && s.taken > 0 && t.bytes.len() == s.bytes.len() {
            let same = t.bytes == s.bytes;
            t.close(same);
            s.close(same);
            if same {
                n += 1;
            } else {
                mismatched += 1;
            }
        }
    }
    // Whatever is open when a side runs out has no counterpart.
    t.close(false);
    s.close(false);
    Ok(RowAlignment {
        teacher_chunk: t.chunk,
        student_chunk: s.chunk,
        n_chunks: n,
        mismatched,
    })
}

/// [`align`] on every pair of rows, in parallel in the current rayon pool (run it inside
/// [`crate::threads::with_threads`] or a pool's `install`). Each row is aligned on its own, so the
/// result does not depend on the number of threads.
///
/// # Errors
/// [`Error::Config`] if the two batches differ in length, or for the first row (in order) with an
/// id outside its vocabulary.
pub fn align_batch(
    teacher: &AlignVocab,
    rows_t: &[Vec<u32>],
    student: &AlignVocab,
    rows_s: &[Vec<u32>],
) -> Result<Vec<RowAlignment>> {
    if rows_t.len() != rows_s.len() {
        return Err(Error::Config(format!(
            "{} teacher rows but {} student rows",
            rows_t.len(),
            rows_s.len()
        ))
        .with_hint("give one student row per teacher row, both tokenizing the same text"));
    }
    let results: Vec<Result<RowAlignment>> = rows_t
        .par_iter()
        .zip(rows_s)
        .map(|(t, s)| align(teacher, t, student, s))
        .collect();
    // Sequentially, so that the error reported is always the first row's.
    results
        .into_iter()
        .enumerate()
        .map(|(row, r)| r.map_err(|e| prefix_row(e, row)))
        .collect()
}

/// `e` with `row {row}: ` before its message (the hint kept).
fn prefix_row(e: Error, row: usize) -> Error {
    match e {
        Error::Hinted { error, hint } => prefix_row(*error, row).with_hint(hint),
        Error::Config(m) => Error::Config(format!("row {row}: {m}")),
        other => other,
    }
}
