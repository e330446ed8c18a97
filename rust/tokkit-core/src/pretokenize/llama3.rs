//! A hand-written splitter equal to the Llama-3 family of patterns, as Oniguruma (HF) reads them:
//!
//! ```text
//! (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
//!     |\s*[\r\n]+|\s+(?!\S)|\s+
//! ```
//!
//! Llama-3 groups digits by three, Qwen2 takes them one at a time (`\p{N}`), and cl100k, read as
//! HF reads it, takes whole runs (`\p{N}+`) and has one more alternative, `\s+\z`, before
//! `\s*[\r\n]+` (see `CL100K_FAST` in the parent module). One [`Scanner`] with those two
//! parameters runs all three.
//!
//! Why: the `regex` crate with the look-ahead emulation splits these at 25-30 MB/s and is most of
//! the encoder's time. This scanner makes one pass over the bytes, in the style of [`super::gpt2`]:
//! ASCII bytes are classified by a 256-entry table, and only a non-ASCII lead byte decodes a char
//! for the Unicode table (from `regex-syntax`, so it agrees with the regex engines).
//!
//! At each position the first alternative that matches wins (leftmost-first), each quantifier
//! greedy; what that gives, case by case on the char `c` at the position and the char `d` after:
//! - `c` is `'` and a contraction follows (ASCII letters of either case, and `ſ`, which folds to
//!   `s`): the contraction.
//! - `c` is a letter: the run of letters.
//! - `c` is a number: up to `max_digits` numbers.
//! - `c` is `\r` or `\n`: the whitespace rules below (it cannot lead a word or punctuation).
//! - `c` is whitespace, a mark or other, and `d` is a letter: `c` and the run of letters after
//!   it (the optional prefix; nothing else can give a longer match at this alternative).
//! - `c` is a mark or other (not `\s`, `\p{L}`, `\p{N}`): the run of such chars, then the run of
//!   `\r`/`\n` after it. (An apostrophe inside the run is just punctuation: `?'s` is `?'`, `s`.)
//! - `c` is an ASCII space and `d` a mark or other: the space, then as above from `d`.
//! - otherwise `c` starts a whitespace run `W`: with cl100k's `\s+\z`, all of `W` if it ends
//!   the text; else, if `W` holds a `\r` or `\n`, `W` up to and including the last one
//!   (`\s*` backs off until `[\r\n]+` matches, which is at the last one); else all of `W` if it
//!   ends the text or is one char; else `W` but its last char (`\s+(?!\S)` leaves one space
//!   before the non-space that follows, which then leads the next piece).
//!
//! A property test checks every pattern against the backtracking engine on arbitrary text.

use super::ascii_runs::{letters_end, spaces_end};
use super::classes::{byte_table, fine, fine_at, is_in, mask, run_end};

/// `\p{L}`.
const LETTERS: u8 = mask(&[fine::LOWER, fine::UPPER, fine::LETTER]);
/// `[^\s\p{L}\p{N}]`: marks are no letters, so they are punctuation here.
const OTHERS: u8 = mask(&[fine::MARK, fine::OTHER]);

/// The parameters that tell the family's patterns apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Scanner {
    /// Most numbers in one piece: 3 (`\p{N}{1,3}`), 1 (`\p{N}`) or unbounded (`\p{N}+`).
    max_digits: usize,
    /// cl100k's `\s+\z` ahead of `\s*[\r\n]+`: whitespace that ends the text is one piece.
    whole_final_space: bool,
}

impl Scanner {
    /// Llama-3: digits by three.
    pub(super) const LLAMA3: Self = Self {
        max_digits: 3,
        whole_final_space: false,
    };
    /// Qwen2: one digit per piece.
    pub(super) const QWEN2: Self = Self {
        max_digits: 1,
        whole_final_space: false,
    };
    /// cl100k as HF reads it: whole runs of digits, and `\s+\z`.
    pub(super) const CL100K: Self = Self {
        max_digits: usize::MAX,
        whole_final_space: true,
    };

    /// Calls `emit` with every piece of `s`, in order; the pieces tile `s`.
    pub(super) fn split<'a>(self, s: &'a str, mut emit: impl FnMut(&'a str)) {
        let t = byte_table();
        let bytes = s.as_bytes();
        let n = bytes.len();
        let mut i = 0;
        while i < n {
            let b = bytes[i];
            let (class, len) = fine_at(bytes, i, t);
            let end = if is_in(LETTERS, class) {
                run_end(bytes, letters_end(bytes, i + len), LETTERS, t)
            } else if class == fine::NUMBER {
                self.digits_end(bytes, i + len, t)
            } else if b == b'\r' || b == b'\n' {
                space_end(bytes, i, self.whole_final_space, t)
            } else if let Some(c) = contraction_after(bytes, i) {
                c
            } else {
                let j = i + len;
                let (next, next_len) = if j < n {
                    fine_at(bytes, j, t)
                } else {
                    (fine::NON_ASCII, 0)
                };
                if is_in(LETTERS, next) {
                    run_end(bytes, letters_end(bytes, j + next_len), LETTERS, t)
                } else if class != fine::SPACE {
                    line_ends_end(bytes, run_end(bytes, j, OTHERS, t))
                } else if b == b' ' && is_in(OTHERS, next) {
                    line_ends_end(bytes, run_end(bytes, j + next_len, OTHERS, t))
                } else {
                    space_end(bytes, i, self.whole_final_space, t)
                }
            };
            debug_assert!(end > i, "a piece is never empty");
            emit(&s[i..end]);
            i = end;
        }
    }

    /// End of a number piece whose first number ends at `j`.
    #[inline]
    fn digits_end(self, bytes: &[u8], mut j: usize, t: &[u8; 256]) -> usize {
        let mut count = 1;
        while count < self.max_digits && j < bytes.len() {
            let (class, len) = fine_at(bytes, j, t);
            if class != fine::NUMBER {
                break;
            }
            j += len;
            count += 1;
        }
        j
    }
}

/// End of the contraction `(?i:'s|'t|'re|'ve|'m|'ll|'d)` that starts at `i`, if one does.
/// Case-insensitive means Unicode simple case folding, which adds one char to the ASCII pairs:
/// `ſ` (U+017F, UTF-8 `C5 BF`) folds to `s` (checked against `regex-syntax` in the tests).
#[inline]
pub(super) fn contraction_after(bytes: &[u8], i: usize) -> Option<usize> {
    let len = match bytes.get(i..)? {
        [
            b'\'',
            b's' | b'S' | b't' | b'T' | b'm' | b'M' | b'd' | b'D',
            ..,
        ] => 2,
        [b'\'', 0xC5, 0xBF, ..] => 3,
        [b'\'', b'r' | b'R' | b'v' | b'V', b'e' | b'E', ..]
        | [b'\'', b'l' | b'L', b'l' | b'L', ..] => 3,
        _ => return None,
    };
    Some(i + len)
}

/// End of the run of `\r` and `\n` that starts at `j` (`[\r\n]*`).
#[inline]
fn line_ends_end(bytes: &[u8], mut j: usize) -> usize {
    while j < bytes.len() && matches!(bytes[j], b'\r' | b'\n') {
        j += 1;
    }
    j
}

/// End of the piece that the whitespace alternatives `(\s+\z)?|\s*[\r\n]+|\s+(?!\S)|\s+` match at
/// `i`, a whitespace char (see the module doc).
#[inline]
pub(super) fn space_end(bytes: &[u8], i: usize, whole_final_space: bool, t: &[u8; 256]) -> usize {
    let n = bytes.len();
    let mut j = i;
    let mut last = i;
    let mut after_line_end = None;
    while j < n {
        if bytes[j] == b' ' {
            let end = spaces_end(bytes, j + 1);
            last = end - 1;
            j = end;
            continue;
        }
        let (class, len) = fine_at(bytes, j, t);
        if class != fine::SPACE {
            break;
        }
        if matches!(bytes[j], b'\r' | b'\n') {
            after_line_end = Some(j + 1);
        }
        last = j;
        j += len;
    }
    if j == n && whole_final_space {
        n
    } else if let Some(end) = after_line_end {
        end
    } else if j < n && last > i {
        last
    } else {
        j
    }
}
