//! Unicode char classes used by the hand-written splitters: letter (`\p{L}`), number (`\p{N}`),
//! whitespace (`\s`, i.e. `White_Space`) and other; and, for o200k's cased words, the finer
//! classes of [`fine`] (lowercase, upper/titlecase, other letters, marks). The tables come from
//! `regex-syntax`, the same Unicode data the regex engines use, so fast paths and regexes agree
//! by construction.

use std::sync::OnceLock;

use regex_syntax::hir::{Class, HirKind};

/// The class of one char, as the GPT-2 family of patterns sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum CharClass {
    /// `\p{L}`.
    Letter = 0,
    /// `\p{N}`.
    Number = 1,
    /// `\s`.
    Space = 2,
    /// Anything else (punctuation, symbols, marks, controls that are not whitespace).
    Other = 3,
}

const PLANES: usize = 0x11_0000;

fn ranges(pattern: &str) -> Vec<(u32, u32)> {
    let hir = regex_syntax::parse(pattern).expect("built-in class patterns parse");
    match hir.kind() {
        HirKind::Class(Class::Unicode(cls)) => cls
            .ranges()
            .iter()
            .map(|r| (r.start() as u32, r.end() as u32))
            .collect(),
        other => unreachable!("{pattern} parsed to {other:?}"),
    }
}

/// Finer classes, one `u8` each (the scanners index tables with them). The general categories
/// are disjoint and `\s` shares no char with them, so every char has exactly one.
pub mod fine {
    /// `\p{Ll}`.
    pub const LOWER: u8 = 0;
    /// `\p{Lu}` and `\p{Lt}`.
    pub const UPPER: u8 = 1;
    /// `\p{Lm}` and `\p{Lo}`: letters that o200k counts both as upper and as lower.
    pub const LETTER: u8 = 2;
    /// `\p{M}`: no letter, but on both sides of o200k's words.
    pub const MARK: u8 = 3;
    /// `\p{N}`.
    pub const NUMBER: u8 = 4;
    /// `\s`.
    pub const SPACE: u8 = 5;
    /// Anything else.
    pub const OTHER: u8 = 6;
    /// Not a class: marks a byte that starts (or continues) a multi-byte char in
    /// [`byte_table`](super::byte_table).
    pub const NON_ASCII: u8 = 7;
}

/// The coarse class of each fine class.
const COARSE: [CharClass; 7] = [
    CharClass::Letter,
    CharClass::Letter,
    CharClass::Letter,
    CharClass::Other,
    CharClass::Number,
    CharClass::Space,
    CharClass::Other,
];

/// The fine class of every code point, one byte each: 1.1 MB, built once, shared by all threads.
fn table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = vec![fine::OTHER; PLANES];
        for (pattern, class) in [
            (r"\p{Ll}", fine::LOWER),
            (r"[\p{Lu}\p{Lt}]", fine::UPPER),
            (r"[\p{Lm}\p{Lo}]", fine::LETTER),
            (r"\p{M}", fine::MARK),
            (r"\p{N}", fine::NUMBER),
            (r"\s", fine::SPACE),
        ] {
            for (lo, hi) in ranges(pattern) {
                t[lo as usize..=hi as usize].fill(class);
            }
        }
        t
    })
}

/// The class of `c`.
#[inline]
#[must_use]
pub fn class_of(c: char) -> CharClass {
    COARSE[usize::from(fine_of(c))]
}

/// The fine class of `c` (one of the [`fine`] constants, never `NON_ASCII`).
#[inline]
#[must_use]
pub fn fine_of(c: char) -> u8 {
    table()[c as usize]
}

/// The fine class of every ASCII byte, and [`fine::NON_ASCII`] for the bytes of longer chars.
pub fn byte_table() -> &'static [u8; 256] {
    static T: OnceLock<[u8; 256]> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = [fine::NON_ASCII; 256];
        for b in 0..128u8 {
            t[usize::from(b)] = fine_of(char::from(b));
        }
        t
    })
}

/// The code point and byte length of the (valid UTF-8) char starting at `bytes[i]`, a
/// non-ASCII lead byte.
#[inline]
pub fn decode_at(bytes: &[u8], i: usize) -> (u32, usize) {
    let b0 = u32::from(bytes[i]);
    let (len, init) = if b0 < 0xE0 {
        (2, b0 & 0x1F)
    } else if b0 < 0xF0 {
        (3, b0 & 0x0F)
    } else {
        (4, b0 & 0x07)
    };
    let cp = bytes[i + 1..i + len]
        .iter()
        .fold(init, |cp, &b| (cp << 6) | u32::from(b & 0x3F));
    (cp, len)
}

/// The fine class and byte length of the char that starts at `bytes[i]` (`bytes` is valid UTF-8
/// and `i` a char boundary): ASCII from the byte table, anything else decoded for the Unicode
/// table.
#[inline]
pub fn fine_at(bytes: &[u8], i: usize, t: &[u8; 256]) -> (u8, usize) {
    match t[usize::from(bytes[i])] {
        fine::NON_ASCII => {
            let (cp, len) = decode_at(bytes, i);
            // Valid UTF-8 decodes to a scalar value below 0x110000; the guard keeps a bad index
            // from reading outside the table.
            let class = table().get(cp as usize).copied().unwrap_or(fine::OTHER);
            (class, len)
        }
        class => (class, 1),
    }
}

/// A set of fine classes, one bit each.
pub const fn mask(classes: &[u8]) -> u8 {
    let mut m = 0;
    let mut k = 0;
    while k < classes.len() {
        m |= 1 << classes[k];
        k += 1;
    }
    m
}

/// Whether fine class `class` is in the set `mask`.
#[inline]
#[must_use]
pub const fn is_in(mask: u8, class: u8) -> bool {
    mask & (1 << class) != 0
}

/// End of the run of chars whose fine class is in `mask`, starting at `j`.
#[inline]
pub fn run_end(bytes: &[u8], mut j: usize, mask: u8, t: &[u8; 256]) -> usize {
    while j < bytes.len() {
        let (class, len) = fine_at(bytes, j, t);
        if !is_in(mask, class) {
            break;
        }
        j += len;
    }
    j
}

/// Whether `c` is a decimal digit (`\d`: Unicode Nd), as the regex engines define it.
#[must_use]
pub fn is_decimal(c: char) -> bool {
    static RANGES: OnceLock<Vec<(u32, u32)>> = OnceLock::new();
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    let ranges = RANGES.get_or_init(|| ranges(r"\d"));
    let cp = c as u32;
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_match_the_unicode_properties() {
        assert_eq!(class_of('a'), CharClass::Letter);
        assert_eq!(class_of('ß'), CharClass::Letter);
        assert_eq!(class_of('中'), CharClass::Letter);
        assert_eq!(class_of('٣'), CharClass::Number);
        assert_eq!(class_of('½'), CharClass::Number);
        assert_eq!(class_of('\u{85}'), CharClass::Space);
        assert_eq!(class_of('\u{3000}'), CharClass::Space);
        assert_eq!(class_of('\u{200B}'), CharClass::Other);
        assert_eq!(class_of('\u{301}'), CharClass::Other);
        assert_eq!(class_of('!'), CharClass::Other);
    }

    /// Membership of every code point in `pattern`'s class.
    fn members(pattern: &str) -> Vec<bool> {
        let mut m = vec![false; PLANES];
        for (lo, hi) in ranges(pattern) {
            m[lo as usize..=hi as usize].fill(true);
        }
        m
    }

    #[test]
    fn fine_classes_refine_the_coarse_ones() {
        // Every code point: the coarse class read through the fine table is the class of the
        // `\p{L}`, `\p{N}`, `\s` tables, and o200k's two word classes are unions of fine ones.
        let (l, n, s) = (members(r"\p{L}"), members(r"\p{N}"), members(r"\s"));
        let upperish = members(r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]");
        let lowerish = members(r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]");
        let t = table();
        for cp in 0..PLANES {
            let f = t[cp];
            let coarse = if s[cp] {
                CharClass::Space
            } else if n[cp] {
                CharClass::Number
            } else if l[cp] {
                CharClass::Letter
            } else {
                CharClass::Other
            };
            assert_eq!(COARSE[usize::from(f)], coarse, "U+{cp:04X}");
            assert_eq!(
                upperish[cp],
                matches!(f, fine::UPPER | fine::LETTER | fine::MARK),
                "U+{cp:04X}"
            );
            assert_eq!(
                lowerish[cp],
                matches!(f, fine::LOWER | fine::LETTER | fine::MARK),
                "U+{cp:04X}"
            );
        }
        let bytes = "aZ7 \u{301}ǅʰ中\u{3000}½😀".as_bytes();
        let mut i = 0;
        let mut got = Vec::new();
        while i < bytes.len() {
            let (f, len) = fine_at(bytes, i, byte_table());
            got.push(f);
            i += len;
        }
        use fine::*;
        assert_eq!(
            got,
            [
                LOWER, UPPER, NUMBER, SPACE, MARK, UPPER, LETTER, LETTER, SPACE, NUMBER, OTHER
            ]
        );
    }
}
