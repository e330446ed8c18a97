//! Completions of a text that ends inside a UTF-8 char.
//!
//! The validity oracle and the stable boundary probe such a text with continuations that
//! first complete the char. Which char it becomes decides how the pre-tokenizer cuts the text:
//! `٣` then the first byte of `１` (a digit) may not be cut from the `٣` by `\p{N}{1,3}`, while
//! the first char of those bytes in code point order (U+FF00, unassigned) is. So besides the
//! smallest completion after each possible next byte, [`class_completions`] gives one char of
//! every Unicode class the supported patterns tell apart ([`CLASSES`]) among the chars the
//! bytes can still become.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex_syntax::hir::{Class, HirKind};

/// The properties whose combinations the GPT-2, Llama-3, Qwen2, o200k and digit-group
/// patterns distinguish among non-ASCII chars.
pub const CLASSES: &[&str] = &[
    r"\p{L}", r"\p{Lu}", r"\p{Ll}", r"\p{Lt}", r"\p{Lm}", r"\p{Lo}", r"\p{M}", r"\p{N}", r"\d",
    r"\s",
];

fn class_ranges() -> &'static [Vec<(char, char)>] {
    static RANGES: OnceLock<Vec<Vec<(char, char)>>> = OnceLock::new();
    RANGES.get_or_init(|| {
        CLASSES
            .iter()
            .map(|p| match regex_syntax::parse(p).map(|h| h.into_kind()) {
                Ok(HirKind::Class(Class::Unicode(c))) => {
                    c.ranges().iter().map(|r| (r.start(), r.end())).collect()
                }
                _ => unreachable!("{p} is a Unicode class"),
            })
            .collect()
    })
}

/// Which of [`CLASSES`] `c` belongs to, as bits.
fn class_bits(c: char) -> u16 {
    let mut bits = 0;
    for (k, ranges) in class_ranges().iter().enumerate() {
        let i = ranges.partition_point(|r| r.1 < c);
        if ranges.get(i).is_some_and(|r| r.0 <= c) {
            bits |= 1 << k;
        }
    }
    bits
}

/// The code points whose UTF-8 starts with `partial` (a lead byte and at most two continuation
/// bytes of a char it does not finish), or `None` if none does.
fn code_point_range(partial: &[u8]) -> Option<(u32, u32)> {
    let (&lead, rest) = partial.split_first()?;
    let (need, lead_bits) = match lead {
        0xC2..=0xDF => (2, u32::from(lead & 0x1F)),
        0xE0..=0xEF => (3, u32::from(lead & 0x0F)),
        0xF0..=0xF4 => (4, u32::from(lead & 0x07)),
        _ => return None,
    };
    if partial.len() >= need || rest.iter().any(|b| b & 0xC0 != 0x80) {
        return None;
    }
    let mut cp = lead_bits;
    for b in rest {
        cp = (cp << 6) | u32::from(b & 0x3F);
    }
    let free = 6 * (need - partial.len()) as u32;
    Some((cp << free, ((cp + 1) << free) - 1))
}

/// Completions remembered per partial char.
type Cache = Mutex<HashMap<Vec<u8>, Arc<Vec<Vec<u8>>>>>;

/// The bytes after `partial` of the first char (in code point order) of each class
/// combination among the chars that start with `partial` (remembered per `partial`).
#[must_use]
pub fn class_completions(partial: &[u8]) -> Arc<Vec<Vec<u8>>> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let lock = || {
        cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(found) = lock().get(partial) {
        return Arc::clone(found);
    }
    let mut seen: HashMap<u16, Vec<u8>> = HashMap::new();
    if let Some((lo, hi)) = code_point_range(partial) {
        let mut buf = [0; 4];
        for c in (lo..=hi).filter_map(char::from_u32) {
            // Low code points of an overlong lead (E0, F0) are shorter chars.
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            if bytes.starts_with(partial) {
                seen.entry(class_bits(c))
                    .or_insert_with(|| bytes[partial.len()..].to_vec());
            }
        }
    }
    let mut out: Vec<Vec<u8>> = seen.into_values().collect();
    out.sort_unstable();
    let out = Arc::new(out);
    lock().insert(partial.to_vec(), Arc::clone(&out));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completed(partial: &[u8]) -> Vec<char> {
        class_completions(partial)
            .iter()
            .map(|rest| {
                let s = [partial, rest].concat();
                std::str::from_utf8(&s).unwrap().chars().next().unwrap()
            })
            .collect()
    }

    #[test]
    fn every_class_of_the_chars_a_prefix_can_become_is_represented() {
        // EF: U+F000..U+FFFF holds fullwidth digits, letters of both cases, marks, others.
        let chars = completed(b"\xef");
        for (probe, class) in [('１', r"\d"), ('Ａ', r"\p{Lu}"), ('ａ', r"\p{Ll}")] {
            let bits = class_bits(probe);
            assert!(
                chars.iter().any(|&c| class_bits(c) == bits),
                "{class}: {chars:?}"
            );
        }
        assert!(
            completed(b"\xe3\x80").contains(&'\u{3000}'),
            "the ideographic space"
        );
        assert!(
            completed(b"\xd9")
                .iter()
                .any(|&c| class_bits(c) == class_bits('٣'))
        );
        assert!(class_completions(b"\xff").is_empty());
        assert!(class_completions(b"\xc3\xa9").is_empty(), "a whole char");
        assert_eq!(code_point_range(b"\xf0\x9f"), Some((0x1F000, 0x1FFFF)));
    }
}
