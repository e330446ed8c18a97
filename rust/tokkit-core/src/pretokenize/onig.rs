//! A split pattern as Oniguruma reads it, respelled for the `regex` and `fancy-regex` crates.
//!
//! HF `tokenizers` compiles every `Split` regex with Oniguruma (Ruby syntax), and a pattern
//! trained here ends up in a `tokenizer.json` that HF reads the same way, so that reading is the
//! one tokkit follows. Where the two dialects spell the same thing differently, the pattern is
//! rewritten before it is compiled:
//!
//! - `X{n,m}+`, `X{n,}+`, `X{n}+` are a greedy `+` over the interval in Oniguruma, not a
//!   possessive interval: `(?:X{n,m})+`. (tiktoken's cl100k spells its digits `\p{N}{1,3}+`, which
//!   HF therefore reads as "any run of digits".)
//! - `X{n}?` is an optional `X{n}`, not a lazy one: `(?:X{n})?`. `{,m}` is `{0,m}`.
//! - `^` and `$` are line anchors (before and after `\n`): `(?m:^)`, `(?m:$)`. `\Z` (end, or
//!   before a final `\n`) is `(?=\n?\z)`.
//! - `X?+`, `X*+`, `X++` are possessive: the atomic group `(?>X?)`. (The `regex` crate would
//!   accept `X?+` as `(X?)+`, i.e. `X*`, and split differently without a word.)
//! - The inline flag `m` is "dot matches newline", Rust's `s`.
//! - `\h` / `\H` are (non-)hexadecimal digits; `(?#...)` is a comment; a `{` that starts no
//!   interval is a literal.
//!
//! - `\w`, `\W`, `\b`, `\B` and POSIX brackets (`[[:alpha:]]`) use Oniguruma's sets, which are
//!   Unicode and differ from the `regex` crate's on a few characters (see [`WORD`], [`posix`]).
//!
//! Left as they are (the crates read them like Oniguruma, checked against HF over every code
//! point for `\p{L}`, `\p{N}`, `\p{Lu}`...`\p{Lo}`, `\p{M}`, `\p{P}`, `\p{S}`, `\s`, `\d`): classes,
//! escapes, look-around, lazy quantifiers. A known difference that stays: multi-character case
//! folds (`(?i)ss` matching `ß`). Constructs the crates lack (`\R`, `\X`, `\K`) stay as written
//! and fail to compile, with the usual typed error.

use std::borrow::Cow;

/// `pattern` spelled so that the Rust crates split like Oniguruma does; borrowed when nothing
/// needed a change.
#[must_use]
pub(super) fn respell(pattern: &str) -> Cow<'_, str> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut changed = false;
    // Output offsets: where each open group starts, and where the expression a quantifier
    // would apply to starts (`None` after `|`, `(`, an anchor or at the start).
    let mut groups: Vec<usize> = Vec::new();
    let mut atom: Option<usize> = None;
    // Whether the last token was a quantifier (so a `+` after it makes it possessive).
    let mut after_quantifier = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let was_quantifier = std::mem::take(&mut after_quantifier);
        match c {
            '\\' => {
                let start = out.len();
                let Some(&e) = chars.get(i + 1) else {
                    out.push(c);
                    break;
                };
                i += 2;
                match e {
                    'h' | 'H' => {
                        out.push_str(if e == 'h' {
                            "[0-9a-fA-F]"
                        } else {
                            "[^0-9a-fA-F]"
                        });
                        changed = true;
                    }
                    'Z' => {
                        out.push_str(r"(?=\n?\z)");
                        changed = true;
                        atom = None;
                        continue;
                    }
                    'w' | 'W' => {
                        out.push_str(if e == 'w' { WORD } else { NOT_WORD });
                        changed = true;
                    }
                    'b' | 'B' => {
                        let w = WORD;
                        out.push_str(&if e == 'b' {
                            format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))")
                        } else {
                            format!("(?:(?<={w})(?={w})|(?<!{w})(?!{w}))")
                        });
                        changed = true;
                        atom = None;
                        continue;
                    }
                    'A' | 'z' | 'G' => {
                        out.push('\\');
                        out.push(e);
                        atom = None;
                        continue;
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                        // `\p{..}`, `\x{..}`, `\k<..>`: the braces belong to the escape.
                        let close = match (e, chars.get(i)) {
                            ('p' | 'P' | 'x' | 'u', Some('{')) => Some('}'),
                            ('k' | 'g', Some('<')) => Some('>'),
                            ('k' | 'g', Some('\'')) => Some('\''),
                            _ => None,
                        };
                        if let Some(close) = close {
                            if let Some(len) = chars[i + 1..].iter().position(|&x| x == close) {
                                out.extend(&chars[i..i + len + 2]);
                                i += len + 2;
                            }
                        } else if e == 'x' || e == 'u' {
                            // `\xHH` (up to two hex digits), `\uHHHH` (four).
                            let most = if e == 'x' { 4 } else { 6 };
                            while i < chars.len()
                                && chars[i].is_ascii_hexdigit()
                                && out.len() - start < most
                            {
                                out.push(chars[i]);
                                i += 1;
                            }
                        }
                    }
                }
                atom = Some(start);
                continue;
            }
            '[' => {
                let start = out.len();
                i = class(&chars, i, &mut out, &mut changed);
                atom = Some(start);
                continue;
            }
            '(' => {
                if chars.get(i + 1) == Some(&'?') {
                    match chars.get(i + 2) {
                        Some('#') => {
                            // A comment: the crates have none, and it matches nothing.
                            let len = chars[i..].iter().position(|&x| x == ')');
                            i = len.map_or(chars.len(), |len| i + len + 1);
                            changed = true;
                            continue;
                        }
                        Some(&f) if f == '-' || f.is_ascii_alphabetic() => {
                            // `(?imx-imx)` or `(?imx-imx:...)`; Oniguruma's `m` is Rust's `s`.
                            let mut j = i + 2;
                            out.push_str("(?");
                            while let Some(&f) = chars.get(j) {
                                if f == ')' || f == ':' {
                                    break;
                                }
                                if f == 'm' {
                                    out.push('s');
                                    changed = true;
                                } else {
                                    out.push(f);
                                }
                                j += 1;
                            }
                            match chars.get(j) {
                                Some(':') => {
                                    groups.push(out.len() - (j - i));
                                    out.push(':');
                                    atom = None;
                                }
                                Some(')') => {
                                    out.push(')');
                                    atom = None;
                                }
                                _ => {}
                            }
                            i = j + 1;
                            continue;
                        }
                        _ => {}
                    }
                }
                groups.push(out.len());
                out.push('(');
                atom = None;
            }
            ')' => {
                atom = groups.pop();
                out.push(')');
            }
            '|' => {
                out.push('|');
                atom = None;
            }
            '^' | '$' => {
                out.push_str(if c == '^' { "(?m:^)" } else { "(?m:$)" });
                changed = true;
                atom = None;
            }
            '{' => match (atom, interval(&chars[i..])) {
                (Some(start), Some((len, lo, hi))) => {
                    let text = match (lo, hi) {
                        (lo, Some(hi)) if lo == Some(hi) => format!("{{{hi}}}"),
                        (lo, Some(hi)) => format!("{{{},{hi}}}", lo.unwrap_or(0)),
                        (lo, None) => format!("{{{},}}", lo.unwrap_or(0)),
                    };
                    changed |= lo.is_none();
                    i += len;
                    let exact = hi.is_some() && lo == hi;
                    // A `+` after an interval repeats it; a `?` after `{n}` makes it optional.
                    let wrap = match chars.get(i) {
                        Some('+') => true,
                        Some('?') => exact,
                        _ => false,
                    };
                    if wrap {
                        out.insert_str(start, "(?:");
                        out.push_str(&text);
                        out.push(')');
                        changed = true;
                    } else {
                        out.push_str(&text);
                        after_quantifier = true;
                    }
                    continue;
                }
                _ => {
                    out.push_str(r"\{");
                    changed = true;
                    atom = Some(out.len() - 2);
                }
            },
            '+' if was_quantifier && atom.is_some() => {
                // Possessive. The `regex` crate would read `x?+` as `(x?)+`, which is `x*`:
                // an atomic group says what Oniguruma means, and needs `fancy-regex`.
                out.insert_str(atom.unwrap_or_default(), "(?>");
                out.push(')');
                changed = true;
            }
            '*' | '+' | '?' => {
                out.push(c);
                // `?` after a quantifier makes it lazy and ends it.
                after_quantifier = !(c == '?' && was_quantifier);
            }
            _ => {
                atom = Some(out.len());
                out.push(c);
            }
        }
        i += 1;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(pattern)
    }
}

/// Oniguruma's `\w` outside a class: the `regex` crate's less ZWNJ and ZWJ, plus the six
/// Latin-1 `No` characters `²³¹¼½¾` (a quirk of Oniguruma's one-byte table). Checked against HF
/// over every code point, as are the next two and [`posix`].
const WORD: &str = r"[\w\xB2\xB3\xB9\xBC-\xBE&&[^\x{200C}\x{200D}]]";
/// Oniguruma's `\W` outside a class.
const NOT_WORD: &str = r"[^\w\xB2\xB3\xB9\xBC-\xBE&&[^\x{200C}\x{200D}]]";
/// Oniguruma's `\w` inside a class (and `[:word:]`): without the Latin-1 quirk.
const CLASS_WORD: &str = r"[\w&&[^\x{200C}\x{200D}]]";

/// A POSIX bracket's set as Oniguruma reads it (Unicode, not ASCII as in the `regex` crate).
fn posix(name: &str) -> Option<&'static str> {
    Some(match name {
        "alpha" => r"\p{Alphabetic}",
        "digit" => r"\p{Nd}",
        "alnum" => r"[\p{Alphabetic}\p{Nd}]",
        "upper" => r"\p{Uppercase}",
        "lower" => r"\p{Lowercase}",
        "space" => r"\s",
        "xdigit" => "[0-9A-Fa-f]",
        "word" => CLASS_WORD,
        "blank" => r"[\p{Zs}\t]",
        "cntrl" => r"\p{Cc}",
        "punct" => r"[\p{P}\p{S}]",
        "graph" => r"[^\s\p{Cc}\p{Cn}\p{Cs}]",
        "print" => r"[[^\s\p{Cc}\p{Cn}\p{Cs}]\p{Zs}]",
        "ascii" => r"[\x00-\x7F]",
        _ => return None,
    })
}

/// `{n}`, `{n,}`, `{n,m}` or `{,m}` at the start of `chars`: its length in chars and its bounds
/// (`None` for a missing lower or upper bound).
fn interval(chars: &[char]) -> Option<(usize, Option<u32>, Option<u32>)> {
    let close = chars.iter().position(|&c| c == '}')?;
    let body: String = chars[1..close].iter().collect();
    let number = |s: &str| -> Option<Option<u32>> {
        if s.is_empty() {
            Some(None)
        } else if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok().map(Some)
        } else {
            None
        }
    };
    let (lo, hi) = match body.split_once(',') {
        Some((lo, hi)) => (number(lo)?, number(hi)?),
        None => {
            let n = number(&body)??;
            (Some(n), Some(n))
        }
    };
    if lo.is_none() && hi.is_none() {
        return None; // `{,}` is a literal in Oniguruma
    }
    Some((close + 1, lo, hi))
}

/// Copies the class starting at `chars[at] == '['` (nested classes included), respelling `\h`;
/// returns the index after its closing `]`.
fn class(chars: &[char], at: usize, out: &mut String, changed: &mut bool) -> usize {
    let mut depth = 0usize;
    let mut i = at;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                match chars.get(i + 1) {
                    Some('h') => {
                        out.push_str("0-9a-fA-F");
                        *changed = true;
                    }
                    Some('H') => {
                        out.push_str("[^0-9a-fA-F]");
                        *changed = true;
                    }
                    Some('w') => {
                        out.push_str(CLASS_WORD);
                        *changed = true;
                    }
                    Some('W') => {
                        out.push_str(&format!("[^{CLASS_WORD}]"));
                        *changed = true;
                    }
                    Some(&e) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => out.push('\\'),
                }
                i += 2;
                continue;
            }
            '[' => {
                // Inside a class, `[:name:]` is a POSIX bracket, not a nested class.
                if depth > 0 && chars.get(i + 1) == Some(&':') {
                    if let Some(len) = chars[i..].windows(2).position(|w| w == [':', ']']) {
                        let name: String = chars[i + 2..i + len].iter().collect();
                        let (negated, bare) = match name.strip_prefix('^') {
                            Some(bare) => (true, bare),
                            None => (false, name.as_str()),
                        };
                        match posix(bare) {
                            Some(set) if negated => out.push_str(&format!("[^{set}]")),
                            Some(set) => out.push_str(set),
                            None => out.extend(&chars[i..i + len + 2]),
                        }
                        *changed |= posix(bare).is_some();
                        i += len + 2;
                        continue;
                    }
                }
                out.push('[');
                depth += 1;
                i += 1;
                // A `]` right after `[` or `[^` is a literal.
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push(']');
                    i += 1;
                }
                continue;
            }
            ']' => {
                out.push(']');
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return i;
                }
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::respell;

    #[test]
    fn rewrites_what_oniguruma_reads_otherwise() {
        for (onig, rust) in [
            (r"\p{N}{1,3}+", r"(?:\p{N}{1,3})+"),
            (r"a{2}+", r"(?:a{2})+"),
            (r"a{,2}+b{2,}", r"(?:a{0,2})+b{2,}"),
            (r"xa{2}?", r"x(?:a{2})?"),
            (r"xa{1,2}?", r"xa{1,2}?"),
            (r"[a-c]{2}+", r"(?:[a-c]{2})+"),
            (r"(ab){2}+", r"(?:(ab){2})+"),
            (r"(?:a|b){1,3}+", r"(?:(?:a|b){1,3})+"),
            (r"\s++$|\s", r"(?>\s+)(?m:$)|\s"),
            (
                r"[^\r\n]?+\p{L}++|a*+b+?c??d*?",
                r"(?>[^\r\n]?)(?>\p{L}+)|(?>a*)b+?c??d*?",
            ),
            (r"^a", r"(?m:^)a"),
            (r"(?m:.)|(?i-m).", r"(?s:.)|(?i-s)."),
            (r"x\Z", r"x(?=\n?\z)"),
            (r"\h[\h_]", r"[0-9a-fA-F][0-9a-fA-F_]"),
            (r"x{a}|{", r"x\{a}|\{"),
            (
                r"\w[\W_]",
                r"[\w\xB2\xB3\xB9\xBC-\xBE&&[^\x{200C}\x{200D}]][[^[\w&&[^\x{200C}\x{200D}]]]_]",
            ),
            (
                r"[[:alpha:][:^digit:][:nope:]]",
                r"[\p{Alphabetic}[^\p{Nd}][:nope:]]",
            ),
            (r"(?#note)x", r"x"),
            (r"\x41{2}+", r"(?:\x41{2})+"),
            (r"\u0041{2}+", r"(?:\u0041{2})+"),
            (r"[[:alpha:]x]{2}+", r"(?:[\p{Alphabetic}x]{2})+"),
            (r"[^:]{2}+", r"(?:[^:]{2})+"),
        ] {
            assert_eq!(respell(onig), rust, "{onig}");
        }
    }

    #[test]
    fn leaves_the_shared_dialect_alone() {
        use crate::train::superbpe;
        for pattern in [
            super::super::GPT2_PATTERN,
            super::super::LLAMA3_PATTERN,
            super::super::O200K_PATTERN,
            super::super::QWEN2_PATTERN,
            superbpe::PAPER_STAGE1,
            superbpe::PAPER_STAGE2,
            superbpe::RECOMMENDED_STAGE1,
            superbpe::RECOMMENDED_STAGE2,
            r"[^\]\[]+|[]a]|\p{^L}|\k<n>|a{2}|a+?|a??|(?<n>x)(?i:y)",
        ] {
            assert!(
                matches!(respell(pattern), std::borrow::Cow::Borrowed(_)),
                "{pattern}"
            );
        }
    }
}
