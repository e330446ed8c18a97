//! Cutting added tokens out of text before BPE runs, as HF's `AddedVocabulary` does: all
//! contents in one Aho-Corasick automaton, matched leftmost and then longest, without overlaps.

use aho_corasick::{AhoCorasick, MatchKind};

use crate::train::TokenId;

/// A part of a text: plain text to encode, or an added token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    /// Text between matches, with its byte offset in the searched text.
    Text(&'a str, usize),
    /// An added token's id, with the byte offset of its match.
    Token(TokenId, usize),
}

/// One automaton over a set of added-token contents.
#[derive(Debug)]
pub(crate) struct Matcher {
    automaton: Option<AhoCorasick>,
    ids: Vec<TokenId>,
}

impl Matcher {
    /// A matcher for `(content, id)` pairs; empty contents are skipped.
    pub(crate) fn new<'a>(tokens: impl IntoIterator<Item = (&'a str, TokenId)>) -> Self {
        let (patterns, ids): (Vec<&str>, Vec<TokenId>) =
            tokens.into_iter().filter(|(s, _)| !s.is_empty()).unzip();
        let automaton = (!patterns.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .expect("added-token automaton fits in memory")
        });
        Self { automaton, ids }
    }

    /// Calls `emit` with the segments of `text` in order; empty text segments are skipped.
    pub(crate) fn split<'a>(&self, text: &'a str, mut emit: impl FnMut(Segment<'a>)) {
        let Some(automaton) = &self.automaton else {
            if !text.is_empty() {
                emit(Segment::Text(text, 0));
            }
            return;
        };
        let mut last = 0;
        for m in automaton.find_iter(text) {
            if m.start() > last {
                emit(Segment::Text(&text[last..m.start()], last));
            }
            emit(Segment::Token(self.ids[m.pattern().as_usize()], m.start()));
            last = m.end();
        }
        if last < text.len() {
            emit(Segment::Text(&text[last..], last));
        }
    }

    /// Whether there is nothing to match.
    pub(crate) fn is_empty(&self) -> bool {
        self.automaton.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftmost_then_longest() {
        let m = Matcher::new([("\n", 1), ("\n\n", 2), ("<a>", 3), ("a>", 4)]);
        let mut out = Vec::new();
        m.split("x\n\n\n<a>>", |s| out.push(s));
        assert_eq!(
            out,
            [
                Segment::Text("x", 0),
                Segment::Token(2, 1),
                Segment::Token(1, 3),
                Segment::Token(3, 4),
                Segment::Text(">", 7),
            ]
        );
    }
}
