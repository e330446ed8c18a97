//! A hand-written splitter equal to the o200k pattern (GPT-4o), as Oniguruma (HF) reads it:
//!
//! ```text
//! B1  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...|'d)?
//! B2 |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...|'d)?
//!    |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//! ```
//!
//! Why: as for [`super::llama3`], the regex engines run this at 25-30 MB/s; this scanner makes
//! one pass with the same byte table and Unicode classes.
//!
//! Call `U` the first word class ("upper": Lu, Lt, Lm, Lo, M) and `W` the second ("lower": Ll,
//! Lm, Lo, M). Lm, Lo and marks are in both ("both" below); marks are in neither `\p{L}` nor
//! `\p{N}`, so a mark may also be the optional prefix `[^\r\n\p{L}\p{N}]?` and is punctuation to
//! `[^\s\p{L}\p{N}]`. What the backtracking engine does from a position `j` where a word may start:
//! - B1: `U*` takes the longest run of `U` chars, to `k`. If the char at `k` is in `W` (being no
//!   `U`, it is lowercase), `W+` takes the run of `W` from there. Otherwise `U*` backs off one char
//!   at a time until `W+` can start: at the last "both" char of the run, and `W+` then takes just
//!   that char (whatever follows it in the run is upper-only, or the char at `k`, no `W`). With no
//!   "both" char in the run, B1 fails.
//! - B2 is then tried from the same `j`: it matches iff the run is not empty, and, B1 having
//!   failed, `W*` after it is empty: the piece is the run (an all-caps word such as `HTTP`).
//! - Either way an optional contraction follows (`'s`, `'T`, `'ſ`...: see
//!   [`contraction_after`]).
//!
//! Alternatives are tried in order, and for each, the prefix before no prefix, so at a char `c`:
//! - `c` is a letter: a word from `c` (B1, else B2; one of them matches).
//! - `c` is a mark: a word from the char after `c` with `c` as prefix, by B1 only; if B1 fails
//!   there, B1 from `c` itself, which matches since a mark is "both" (B2 is never reached).
//! - `c` is whitespace but `\r`/`\n`, or other, and the next char is a letter or mark: `c` and a
//!   word from the next char (B1, else B2: the next char is in `U` or `W`, so one matches).
//! - `c` is a number: up to three numbers.
//! - `c` is other: the run of others and marks, then the run of `\r`, `\n` and `/` after it; `c`
//!   an ASCII space before another: the space, then the same.
//! - otherwise whitespace, by the rules of the Llama-3 scanner (without `\s+\z`).
//!
//! A property test checks the scanner against the backtracking engine on arbitrary text.

use super::ascii_runs::{lower_end, upper_end};
use super::classes::{byte_table, fine, fine_at, is_in, mask, run_end};
use super::llama3::{contraction_after, space_end};

/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`.
const UPPERISH: u8 = mask(&[fine::UPPER, fine::LETTER, fine::MARK]);
/// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`.
const LOWERISH: u8 = mask(&[fine::LOWER, fine::LETTER, fine::MARK]);
/// Chars a word can start with: `\p{L}` and `\p{M}`.
const WORDISH: u8 = UPPERISH | LOWERISH;
/// `[^\s\p{L}\p{N}]`.
const OTHERS: u8 = mask(&[fine::MARK, fine::OTHER]);

/// Calls `emit` with every piece of `s`, in order; the pieces tile `s`.
pub(super) fn split<'a>(s: &'a str, mut emit: impl FnMut(&'a str)) {
    let t = byte_table();
    let bytes = s.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        let b = bytes[i];
        let (class, len) = fine_at(bytes, i, t);
        let end = match class {
            fine::LOWER | fine::UPPER | fine::LETTER => with_contraction(bytes, word(bytes, i, t)),
            fine::MARK => {
                let word = match b1(bytes, i + len, t) {
                    Ok(end) => end,
                    // B1 from the mark itself matches at least the mark, which is "both".
                    Err(_) => b1(bytes, i, t).unwrap_or(i + len),
                };
                with_contraction(bytes, word)
            }
            fine::NUMBER => digits_end(bytes, i + len, t),
            _ if b == b'\r' || b == b'\n' => space_end(bytes, i, false, t),
            _ => {
                let j = i + len;
                let (next, next_len) = if j < n {
                    fine_at(bytes, j, t)
                } else {
                    (fine::NON_ASCII, 0)
                };
                if is_in(WORDISH, next) {
                    with_contraction(bytes, word(bytes, j, t))
                } else if class == fine::OTHER {
                    tail_end(bytes, run_end(bytes, j, OTHERS, t))
                } else if b == b' ' && next == fine::OTHER {
                    tail_end(bytes, run_end(bytes, j + next_len, OTHERS, t))
                } else {
                    space_end(bytes, i, false, t)
                }
            }
        };
        debug_assert!(end > i, "a piece is never empty");
        emit(&s[i..end]);
        i = end;
    }
}

/// B1 from `j` (without the contraction): its end, or, when it fails, the end of the (then
/// upper-only) `U` run from `j`.
#[inline]
fn b1(bytes: &[u8], j: usize, t: &[u8; 256]) -> Result<usize, usize> {
    // ASCII capitals are upper-only: skipping them leaves `after_both` as it is.
    let mut k = upper_end(bytes, j);
    let mut after_both = None;
    while k < bytes.len() {
        let (class, len) = fine_at(bytes, k, t);
        if class == fine::LOWER {
            return Ok(run_end(bytes, lower_end(bytes, k + len), LOWERISH, t));
        }
        if !is_in(UPPERISH, class) {
            break;
        }
        if class != fine::UPPER {
            after_both = Some(k + len);
        }
        k += len;
    }
    after_both.ok_or(k)
}

/// End of B1, else B2, from `j` (without the contraction); `j` itself when neither matches.
#[inline]
fn word(bytes: &[u8], j: usize, t: &[u8; 256]) -> usize {
    b1(bytes, j, t).unwrap_or_else(|run| run)
}

/// `end`, moved past a contraction that starts there.
#[inline]
fn with_contraction(bytes: &[u8], end: usize) -> usize {
    contraction_after(bytes, end).unwrap_or(end)
}

/// End of `\p{N}{1,3}` whose first number ends at `j`.
#[inline]
fn digits_end(bytes: &[u8], mut j: usize, t: &[u8; 256]) -> usize {
    for _ in 0..2 {
        if j >= bytes.len() {
            break;
        }
        let (class, len) = fine_at(bytes, j, t);
        if class != fine::NUMBER {
            break;
        }
        j += len;
    }
    j
}

/// End of the run of `\r`, `\n` and `/` that starts at `j` (`[\r\n/]*`).
#[inline]
fn tail_end(bytes: &[u8], mut j: usize) -> usize {
    while j < bytes.len() && matches!(bytes[j], b'\r' | b'\n' | b'/') {
        j += 1;
    }
    j
}
