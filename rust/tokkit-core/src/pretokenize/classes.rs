//! Unicode char classes used by the hand-written splitters: letter (`\p{L}`), number (`\p{N}`),
//! whitespace (`\s`, i.e. `White_Space`) and other. The tables come from `regex-syntax`, the same
//! Unicode data the regex engines use, so fast paths and regexes agree by construction.

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

/// One byte per code point: 1.1 MB, built once, shared by all threads.
fn table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = vec![CharClass::Other as u8; PLANES];
        for (pattern, class) in [
            (r"\p{L}", CharClass::Letter),
            (r"\p{N}", CharClass::Number),
            (r"\s", CharClass::Space),
        ] {
            for (lo, hi) in ranges(pattern) {
                t[lo as usize..=hi as usize].fill(class as u8);
            }
        }
        t
    })
}

/// The class of `c`.
#[inline]
#[must_use]
pub fn class_of(c: char) -> CharClass {
    match table()[c as usize] {
        0 => CharClass::Letter,
        1 => CharClass::Number,
        2 => CharClass::Space,
        _ => CharClass::Other,
    }
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
}
