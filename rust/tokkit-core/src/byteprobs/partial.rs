//! Completions of a text that ends inside a UTF-8 char.
//!
//! The validity oracle and the stable boundary probe such a text with continuations that
//! first complete the char. Which char it becomes decides how the pre-tokenizer cuts the text:
//! `٣` then the first byte of `１` (a digit) may not be cut from the `٣` by `\p{N}{1,3}`, while
//! the first char of those bytes in code point order (U+FF00, unassigned) is. So besides the
//! smallest completion after each possible next byte, [`class_completions`] gives one char of
//! every Unicode class the supported patterns tell apart ([`CLASSES`]) among the chars the
//! bytes can still become.
//!
//! Which bytes finish the char also decides how BPE merges around its first bytes: Qwen2.5
//! encodes `킭` (`ED 82 AD`) as `[ED, 82 AD]`, because the merge `82 AD` outranks `ED 82`,
//! while the smallest completion `ED 82 80` merges `ED 82`. A lone `ED` stays alone only when
//! a token starting at the next byte wins, and that token is in the vocabulary; so
//! [`token_completions`] takes the completions from the tokens that can follow.

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

/// The length of the UTF-8 char that `lead` starts, if it starts one of two bytes or more.
fn char_len(lead: u8) -> Option<usize> {
    match lead {
        0xC2..=0xDF => Some(2),
        0xE0..=0xEF => Some(3),
        0xF0..=0xF4 => Some(4),
        _ => None,
    }
}

/// The code points whose UTF-8 starts with `partial` (a lead byte and at most two continuation
/// bytes of a char it does not finish), or `None` if none does.
fn code_point_range(partial: &[u8]) -> Option<(u32, u32)> {
    let (&lead, rest) = partial.split_first()?;
    let need = char_len(lead)?;
    let lead_bits = u32::from(lead & (0x7F >> need));
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
pub type CompletionCache = Mutex<HashMap<Vec<u8>, Arc<Vec<Vec<u8>>>>>;

/// `cache[partial]`, made by `make` the first time (shared by threads; a poisoned lock is
/// still usable, as the map holds only finished entries).
pub fn remembered(
    cache: &CompletionCache,
    partial: &[u8],
    make: impl FnOnce() -> Vec<Vec<u8>>,
) -> Arc<Vec<Vec<u8>>> {
    let lock = || {
        cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(found) = lock().get(partial) {
        return Arc::clone(found);
    }
    let out = Arc::new(make());
    lock().insert(partial.to_vec(), Arc::clone(&out));
    out
}

/// The bytes after `partial` of the first char (in code point order) of each class
/// combination among the chars that start with `partial` (remembered per `partial`).
#[must_use]
pub fn class_completions(partial: &[u8]) -> Arc<Vec<Vec<u8>>> {
    static CACHE: OnceLock<CompletionCache> = OnceLock::new();
    remembered(CACHE.get_or_init(Mutex::default), partial, || {
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
        out
    })
}

/// The completions of `partial` (an incomplete char) read off `tokens`, the spellings of the
/// tokens whose first byte is a UTF-8 continuation byte: for each token that can follow
/// `partial`, the token's bytes that fall inside the char (padded with the smallest
/// continuation bytes when the token ends first), and the token's whole spelling when it runs
/// past the char into UTF-8 text. Sorted, without duplicates.
///
/// Why these suffice for a token sequence that ends with `partial`'s bytes: the sequence is
/// valid iff some continuation lets BPE stop at the char's cut, which happens only when the
/// token holding the next byte starts there and beats every merge across the cut; that token
/// is one of `tokens`, and its bytes are probed. (What it needs after itself is probed only
/// through the padding and the short probes that follow: see the module doc of
/// [`super::validity`].)
pub fn token_completions<'a>(
    partial: &[u8],
    tokens: impl Iterator<Item = &'a [u8]>,
) -> Vec<Vec<u8>> {
    if code_point_range(partial).is_none() {
        return Vec::new();
    }
    let rest = partial
        .first()
        .and_then(|&b| char_len(b))
        .map_or(0, |n| n - partial.len());
    let mut out = std::collections::BTreeSet::new();
    for t in tokens {
        let mut inside = t[..rest.min(t.len())].to_vec();
        inside.resize(rest, 0x80);
        if std::str::from_utf8(&[partial, &inside].concat()).is_err() {
            continue;
        }
        if t.len() > rest && std::str::from_utf8(&[partial, t].concat()).is_ok() {
            out.insert(t.to_vec());
        }
        out.insert(inside);
    }
    out.into_iter().collect()
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

    #[test]
    fn token_completions_keep_the_bytes_inside_the_char_and_whole_spellings_past_it() {
        let tokens: [&[u8]; 5] = [b"\x82\xad", b"\x82", b"\xa0\x80", b"\x82\xad ", b"\xbf"];
        let got = token_completions(b"\xed", tokens.into_iter());
        // ED A0 80 would be a surrogate; ED BF 80 too.
        let want: Vec<Vec<u8>> = vec![
            b"\x82\x80".to_vec(),
            b"\x82\xad".to_vec(),
            b"\x82\xad ".to_vec(),
        ];
        assert_eq!(got, want);
        assert!(token_completions(b"a", tokens.into_iter()).is_empty());
    }
}
