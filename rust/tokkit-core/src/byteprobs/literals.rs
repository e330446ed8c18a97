//! Continuations that finish a literal of the pre-tokenizer's pattern.
//!
//! A pattern alternative such as `'s|'t|'re|'ve|'m|'ll|'d` matches a fixed string. When a text
//! ends inside such a string (`I'v`), whether the match happens, and so where the pieces of the
//! text fall, depends on the exact chars that follow (`e` makes `'ve` one piece, anything else
//! leaves `'` and `v` apart). A probe set of one char per class misses that. [`Literals`]
//! collects every fixed string the pattern can match as a unit, with small classes expanded
//! (`(?i:'ve)` gives `'ve`, `'vE`, `'Ve`, `'VE`), so that the validity oracle and the stable
//! boundary can probe with the rest of each literal the text ends inside of.

use std::collections::HashMap;

use regex_syntax::hir::{Class, Hir, HirKind};

/// A class is expanded into its chars when it has at most this many (case variants).
const MAX_CLASS: u32 = 4;
/// A finite part of a pattern is expanded when it spells at most this many strings.
const MAX_STRINGS: usize = 256;

/// The literals of a pattern, indexed by their proper prefixes.
#[derive(Debug, Default)]
pub struct Literals {
    /// Proper non-empty prefix (at a char boundary) → the rests that complete it.
    rests: HashMap<Vec<u8>, Vec<Vec<u8>>>,
    /// The longest prefix in `rests`, in bytes.
    max_prefix: usize,
}

impl Literals {
    /// The literals of `pattern` (none if it does not parse). Look-around assertions are removed
    /// first: they restrict where a literal matches, not what it spells.
    #[must_use]
    pub fn of_pattern(pattern: &str) -> Self {
        let mut out = Self::default();
        let Ok(hir) = regex_syntax::parse(&strip_lookaround(pattern)) else {
            return out;
        };
        let mut strings = Vec::new();
        collect(&hir, &mut strings);
        for s in strings {
            for (k, _) in s.char_indices().skip(1) {
                let rests = out.rests.entry(s.as_bytes()[..k].to_vec()).or_default();
                let rest = s.as_bytes()[k..].to_vec();
                if !rests.contains(&rest) {
                    rests.push(rest);
                }
                out.max_prefix = out.max_prefix.max(k);
            }
        }
        out
    }

    /// Whether the pattern has no literal of two chars or more.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rests.is_empty()
    }

    /// Calls `f` with the rest of every literal that `text` ends inside of (a non-empty proper
    /// prefix of the literal is a suffix of `text`), shortest prefix first; stops when `f`
    /// returns true and returns whether it did.
    pub fn any_completion(&self, text: &[u8], mut f: impl FnMut(&[u8]) -> bool) -> bool {
        for k in 1..=self.max_prefix.min(text.len()) {
            if let Some(rests) = self.rests.get(&text[text.len() - k..]) {
                if rests.iter().any(|r| f(r)) {
                    return true;
                }
            }
        }
        false
    }
}

/// `pattern` without `(?=…)`, `(?!…)`, `(?<=…)` and `(?<!…)` groups (escapes and classes are
/// skipped over, so parentheses inside them do not count).
fn strip_lookaround(pattern: &str) -> String {
    let b = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    let mut copy_from = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'[' => i = class_end(b, i),
            b'(' if is_lookaround(&b[i..]) => {
                out.push_str(&pattern[copy_from..i]);
                i = group_end(b, i);
                copy_from = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&pattern[copy_from.min(pattern.len())..]);
    out
}

fn is_lookaround(b: &[u8]) -> bool {
    [&b"(?="[..], b"(?!", b"(?<=", b"(?<!"]
        .iter()
        .any(|p| b.starts_with(p))
}

/// One past the `]` closing the class that opens at `b[i]` (nested classes included).
fn class_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    let start = i;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => depth += 1,
            // A `]` first in a class (`[]a]`, `[^]a]`) is a literal.
            b']' if i > start + 1 && !(i == start + 2 && b[start + 1] == b'^') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// One past the `)` closing the group that opens at `b[i]`.
fn group_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => {
                i = class_end(b, i);
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Adds to `out` every finite part of `hir` that spells a string of two chars or more: a
/// finite node as a whole, and each run of finite nodes in a concatenation.
fn collect(hir: &Hir, out: &mut Vec<String>) {
    if let Some(set) = finite(hir) {
        if set.iter().any(|s| s.chars().nth(1).is_some()) {
            out.extend(set);
        }
        return;
    }
    match hir.kind() {
        HirKind::Concat(subs) => {
            let mut run: Option<Vec<String>> = None;
            for sub in subs {
                match finite(sub) {
                    Some(set) => run = Some(product(run, &set)),
                    None => {
                        flush(run.take(), out);
                        collect(sub, out);
                    }
                }
            }
            flush(run, out);
        }
        HirKind::Alternation(subs) => subs.iter().for_each(|s| collect(s, out)),
        HirKind::Capture(c) => collect(&c.sub, out),
        HirKind::Repetition(r) => collect(&r.sub, out),
        _ => {}
    }
}

fn flush(run: Option<Vec<String>>, out: &mut Vec<String>) {
    if let Some(set) = run {
        if set.len() <= MAX_STRINGS && set.iter().any(|s| s.chars().nth(1).is_some()) {
            out.extend(set);
        }
    }
}

/// Every concatenation of a string of `left` (or none) with one of `right`.
fn product(left: Option<Vec<String>>, right: &[String]) -> Vec<String> {
    let left = left.unwrap_or_else(|| vec![String::new()]);
    let mut out = Vec::with_capacity(left.len() * right.len());
    for l in &left {
        for r in right {
            if out.len() > MAX_STRINGS {
                return out;
            }
            out.push(format!("{l}{r}"));
        }
    }
    out
}

/// The strings `hir` matches, if they are few: literals, small classes, their concatenations
/// and alternations, and `x?`.
fn finite(hir: &Hir) -> Option<Vec<String>> {
    let set = match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => vec![String::new()],
        HirKind::Literal(lit) => vec![String::from_utf8(lit.0.to_vec()).ok()?],
        HirKind::Class(Class::Unicode(c)) => {
            let n: u32 = c
                .ranges()
                .iter()
                .map(|r| u32::from(r.end()) - u32::from(r.start()) + 1)
                .sum();
            if n > MAX_CLASS {
                return None;
            }
            c.iter()
                .flat_map(|r| r.start()..=r.end())
                .map(String::from)
                .collect()
        }
        HirKind::Class(Class::Bytes(c)) => {
            let n: usize = c
                .ranges()
                .iter()
                .map(|r| usize::from(r.end() - r.start()) + 1)
                .sum();
            if n > MAX_CLASS as usize {
                return None;
            }
            c.iter()
                .flat_map(|r| r.start()..=r.end())
                .filter(u8::is_ascii)
                .map(|b| char::from(b).to_string())
                .collect()
        }
        HirKind::Capture(c) => finite(&c.sub)?,
        HirKind::Concat(subs) => {
            let mut acc: Option<Vec<String>> = None;
            for sub in subs {
                acc = Some(product(acc, &finite(sub)?));
            }
            acc.unwrap_or_else(|| vec![String::new()])
        }
        HirKind::Alternation(subs) => {
            let mut all = Vec::new();
            for sub in subs {
                all.extend(finite(sub)?);
            }
            all
        }
        HirKind::Repetition(r) if r.min == 0 && r.max == Some(1) => {
            let mut all = vec![String::new()];
            all.extend(finite(&r.sub)?);
            all
        }
        HirKind::Repetition(_) => return None,
    };
    (set.len() <= MAX_STRINGS).then_some(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pretokenize::{GPT2_PATTERN, LLAMA3_PATTERN, O200K_PATTERN};

    fn rests(lit: &Literals, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        lit.any_completion(text.as_bytes(), |r| {
            out.push(String::from_utf8(r.to_vec()).unwrap());
            false
        });
        out.sort();
        out
    }

    #[test]
    fn contractions_are_completed() {
        let gpt2 = Literals::of_pattern(GPT2_PATTERN);
        assert_eq!(rests(&gpt2, "I'v"), ["e"]);
        assert_eq!(rests(&gpt2, "we'"), ["d", "ll", "m", "re", "s", "t", "ve"]);
        assert_eq!(rests(&gpt2, "I'l"), ["l"]);
        assert!(
            rests(&gpt2, "I'V").is_empty(),
            "GPT-2's contractions are lower case"
        );
        assert!(rests(&gpt2, "word").is_empty());
        for pattern in [LLAMA3_PATTERN, O200K_PATTERN] {
            let lit = Literals::of_pattern(pattern);
            assert_eq!(rests(&lit, "I'V"), ["E", "e"], "{pattern}");
            assert!(rests(&lit, "I'").contains(&"Ll".to_string()));
        }
    }

    #[test]
    fn lookaround_is_stripped_and_classes_are_skipped() {
        assert_eq!(strip_lookaround(r"\s+(?!\S)|\s+"), r"\s+|\s+");
        assert_eq!(strip_lookaround(r"[(?!]ab(?=(\d{3})+(?!\d))"), r"[(?!]ab");
        assert_eq!(strip_lookaround(r"\(?!x"), r"\(?!x");
        assert!(Literals::of_pattern(r"\s+(?!\S)|\p{L}+").is_empty());
        assert_eq!(rests(&Literals::of_pattern(r"ab(?!c)|x"), "a"), ["b"]);
    }
}
