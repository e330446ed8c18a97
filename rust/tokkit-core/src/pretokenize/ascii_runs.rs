//! Ends of ASCII runs (letters, lowercase, uppercase, spaces), eight bytes at a time.
//!
//! Why: a scanner that walks a word byte by byte leaves its loop at a different count each time,
//! and the processor mispredicts nearly every exit; a word of up to eight letters is one step
//! here (a test of eight bytes at once, then a count of trailing zeros), and the branch that
//! asks "did the run end in these eight bytes" is nearly always yes.
//!
//! Each function stops at the first byte that is not in its ASCII class, a non-ASCII byte
//! included; the scanners go on from there with their Unicode-aware loops, so a run with
//! non-ASCII letters (`café`) still ends where the pattern says. Within one 8-byte word, every
//! byte is tested on its own: no carry crosses from one byte to the next (see [`in_range`]).

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that lies in `lo..=hi` (ASCII bounds, `hi < 0x7F`); bytes of
/// 0x80 and above are never in. With the high bit cleared, a byte is at most 0x7F and each added
/// constant at most 0x80, so a sum never carries into the next byte.
#[inline(always)]
const fn in_range(w: u64, lo: u8, hi: u8) -> u64 {
    let x = w & !HIGH_BITS;
    let at_least_lo = x + LOW_BITS * (0x80 - lo as u64);
    let above_hi = x + LOW_BITS * (0x7F - hi as u64);
    at_least_lo & !above_hi & !w & HIGH_BITS
}

/// `[A-Za-z]`: setting bit 5 maps `A-Z` onto `a-z` and no other byte onto them.
#[inline(always)]
const fn letters(w: u64) -> u64 {
    in_range(w | (LOW_BITS * 0x20), b'a', b'z')
}

#[inline(always)]
const fn lower(w: u64) -> u64 {
    in_range(w, b'a', b'z')
}

#[inline(always)]
const fn upper(w: u64) -> u64 {
    in_range(w, b'A', b'Z')
}

#[inline(always)]
const fn spaces(w: u64) -> u64 {
    in_range(w, b' ', b' ')
}

/// End of the run of bytes from `j` that `member` marks (high bit of each byte in the class).
#[inline(always)]
fn run_end(bytes: &[u8], mut j: usize, member: impl Fn(u64) -> u64) -> usize {
    while let Some(word) = bytes.get(j..j + 8) {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let outside = !member(w) & HIGH_BITS;
        if outside != 0 {
            return j + (outside.trailing_zeros() / 8) as usize;
        }
        j += 8;
    }
    while j < bytes.len() && member(u64::from(bytes[j])) & 0x80 != 0 {
        j += 1;
    }
    j
}

/// End of the run of ASCII letters that starts at `j`.
#[inline]
pub(super) fn letters_end(bytes: &[u8], j: usize) -> usize {
    run_end(bytes, j, letters)
}

/// End of the run of ASCII lowercase letters that starts at `j`.
#[inline]
pub(super) fn lower_end(bytes: &[u8], j: usize) -> usize {
    run_end(bytes, j, lower)
}

/// End of the run of ASCII uppercase letters that starts at `j`.
#[inline]
pub(super) fn upper_end(bytes: &[u8], j: usize) -> usize {
    run_end(bytes, j, upper)
}

/// End of the run of ASCII spaces (0x20 only) that starts at `j`.
#[inline]
pub(super) fn spaces_end(bytes: &[u8], j: usize) -> usize {
    run_end(bytes, j, spaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every function against its byte-by-byte definition, at every start of texts that put
    /// each byte value at each place of an 8-byte word.
    #[test]
    fn runs_end_where_the_bytes_say() {
        type End = fn(&[u8], usize) -> usize;
        type Member = fn(u8) -> bool;
        let cases: [(End, Member); 4] = [
            (letters_end, |b| b.is_ascii_alphabetic()),
            (lower_end, |b| b.is_ascii_lowercase()),
            (upper_end, |b| b.is_ascii_uppercase()),
            (spaces_end, |b| b == b' '),
        ];
        for (end, member) in cases {
            for stop in 0..=255u8 {
                for len in 0..20 {
                    for fill in [b'a', b'Z', b' ', b'q', b'A'] {
                        let mut bytes = vec![fill; len];
                        bytes.push(stop);
                        bytes.extend_from_slice(b"xY z");
                        for j in 0..bytes.len() {
                            let want = (j..bytes.len())
                                .find(|&k| !member(bytes[k]))
                                .unwrap_or(bytes.len());
                            assert_eq!(end(&bytes, j), want, "{bytes:?} from {j}");
                        }
                    }
                }
            }
        }
    }
}
