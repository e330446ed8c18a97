//! Exact emulation of the trailing `\s+(?!\S)|\s+` that the GPT-2 family of patterns ends with,
//! so those patterns run on the `regex` crate's automata instead of a backtracking engine.
//!
//! `P|\s+(?!\S)|\s+` is compiled as `P|(\s+)`. When the capture group matched a whitespace run of
//! two or more chars that a non-space follows, the look-ahead would have refused the last char,
//! so the piece ends one char earlier and the next search starts there, exactly as the
//! backtracking engine does. Captures are only computed in that case, which keeps the hot path
//! on the DFA.

const SUFFIX: &str = r"|\s+(?!\S)|\s+";

/// A pattern of the form `P|\s+(?!\S)|\s+` where `P` has no look-around.
#[derive(Debug)]
pub(super) struct TrailingSpaceRegex {
    re: regex::Regex,
}

impl TrailingSpaceRegex {
    /// `None` unless `pattern` ends with the suffix and the rest compiles with `regex`.
    pub(super) fn new(pattern: &str) -> Option<Self> {
        let head = pattern.strip_suffix(SUFFIX)?;
        let re = regex::Regex::new(&format!(r"(?:{head})|(\s+)")).ok()?;
        Some(Self { re })
    }

    pub(super) fn split<'a>(&self, text: &'a str, mut emit: impl FnMut(&'a str)) {
        let mut pos = 0;
        let mut prev = 0;
        while pos < text.len() {
            let Some(m) = self.re.find_at(text, pos) else {
                break;
            };
            let (start, mut end) = (m.start(), m.end());
            if end < text.len()
                && m.as_str().chars().nth(1).is_some()
                && m.as_str().chars().all(char::is_whitespace)
            {
                let from_space_group = self
                    .re
                    .captures_at(text, start)
                    .and_then(|c| c.get(1))
                    .is_some_and(|g| g.start() == start);
                let followed_by_non_space = text[end..]
                    .chars()
                    .next()
                    .is_some_and(|c| !c.is_whitespace());
                if from_space_group && followed_by_non_space {
                    end -= m.as_str().chars().next_back().map_or(0, char::len_utf8);
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
