//! Exact emulation of the trailing look-aheads that the GPT-2 family of patterns ends with, so
//! those patterns run on the `regex` crate's automata instead of a backtracking engine.
//!
//! Two suffixes are recognised:
//! - `P|\s+(?!\S)|\s+` (GPT-2, Llama-3, o200k) is compiled as `P|(\s+)`. When the group matched
//!   a whitespace run of two or more chars that a non-space follows, the look-ahead would have
//!   refused the last char, so the piece ends one char earlier.
//! - `P| +(?!\S)` (SuperBPE's recommended stage-2 pattern) is compiled as `P|( +)`. A run of
//!   spaces that a non-space follows loses its last space; a single such space is no match at
//!   all, so the search resumes one char later and the space joins the text between matches.
//!
//! In both cases the next search starts where the backtracking engine's would. Captures are only
//! computed for a whitespace match that a non-space follows, which keeps the hot path on the DFA.

/// Which look-ahead suffix the pattern had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suffix {
    /// `|\s+(?!\S)|\s+`
    AnySpace,
    /// `| +(?!\S)`
    Spaces,
}

/// A pattern `P` + one of the suffixes, where `P` has no look-around.
#[derive(Debug)]
pub(super) struct TrailingSpaceRegex {
    re: regex::Regex,
    suffix: Suffix,
}

impl TrailingSpaceRegex {
    /// `None` unless `pattern` ends with a known suffix and the rest compiles with `regex`.
    pub(super) fn new(pattern: &str) -> Option<Self> {
        let (head, suffix, group) = if let Some(head) = pattern.strip_suffix(r"|\s+(?!\S)|\s+") {
            (head, Suffix::AnySpace, r"(\s+)")
        } else if let Some(head) = pattern.strip_suffix(r"| +(?!\S)") {
            (head, Suffix::Spaces, r"( +)")
        } else {
            return None;
        };
        let re = regex::Regex::new(&format!(r"(?:{head})|{group}")).ok()?;
        Some(Self { re, suffix })
    }

    pub(super) fn split<'a>(&self, text: &'a str, mut emit: impl FnMut(&'a str)) {
        let mut pos = 0;
        let mut prev = 0;
        while pos < text.len() {
            let Some(m) = self.re.find_at(text, pos) else {
                break;
            };
            let (start, mut end) = (m.start(), m.end());
            let followed_by_non_space = text[end..]
                .chars()
                .next()
                .is_some_and(|c| !c.is_whitespace());
            if followed_by_non_space && m.as_str().chars().all(char::is_whitespace) {
                let from_group = self
                    .re
                    .captures_at(text, start)
                    .and_then(|c| c.get(1))
                    .is_some_and(|g| g.start() == start);
                if from_group {
                    let single = m.as_str().chars().nth(1).is_none();
                    match (self.suffix, single) {
                        (Suffix::AnySpace, true) => {}
                        (Suffix::Spaces, true) => {
                            // ` +(?!\S)` cannot match here: search again one char later.
                            pos = start + 1;
                            continue;
                        }
                        (_, false) => {
                            end -= m.as_str().chars().next_back().map_or(0, char::len_utf8)
                        }
                    }
                }
            }
            if start > prev {
                emit(&text[prev..start]);
            }
            if end > start {
                emit(&text[start..end]);
                pos = end;
            } else {
                // An empty match: step over one char, as find_iter does.
                pos = end + text[end..].chars().next().map_or(1, char::len_utf8);
            }
            prev = end;
        }
        if prev < text.len() {
            emit(&text[prev..]);
        }
    }
}
