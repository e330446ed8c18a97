//! Where a SentencePiece-style model can never merge across a space symbol (`▁`): after a
//! character that no token has right before the symbol, a run of spaces starts a new word, since
//! no merge can make a token that spans the cut. `BpeEncoder::piece_starts` reports these cuts
//! and encoding merges the words between them on their own (design/encoding.md §3).

use hashbrown::HashSet;

use super::chars::CharSymbols;

/// Where a SentencePiece-style model can never merge across a space symbol: see
/// [`BpeEncoder::piece_starts`](super::BpeEncoder::piece_starts).
#[derive(Debug)]
pub(super) struct WordStarts {
    /// The space symbol (`▁`).
    pub(super) sym: char,
    /// Characters that some token has right before the space symbol: after them a space may
    /// still be merged into the token on its left.
    pub(super) joins_left: HashSet<char>,
}

/// The word-start rule of a SentencePiece-style vocabulary, or `None` if the space symbol is
/// not one character that is a token itself (then spaces may become byte-fallback tokens).
pub(super) fn word_starts(
    symbol: &str,
    strings: &[String],
    chars: &CharSymbols,
) -> Option<WordStarts> {
    let mut it = symbol.chars();
    let (Some(sym), None) = (it.next(), it.next()) else {
        return None;
    };
    chars.char_id(sym)?;
    let mut joins_left = HashSet::new();
    let mut buf = [0; 4];
    // Most tokens hold no space symbol: a substring search skips them without decoding chars.
    // A match of a whole char's UTF-8 is always at a char boundary.
    let finder = memchr::memmem::Finder::new(sym.encode_utf8(&mut buf).as_bytes());
    for s in strings {
        for at in finder.find_iter(s.as_bytes()) {
            if let Some(p) = s[..at].chars().next_back().filter(|&p| p != sym) {
                joins_left.insert(p);
            }
        }
    }
    Some(WordStarts { sym, joins_left })
}

impl WordStarts {
    /// Calls `emit` with the byte offset in `piece` of each space symbol that starts a run of
    /// them and follows a character no token joins to a space.
    pub(super) fn starts_in(&self, piece: &str, chars: &CharSymbols, mut emit: impl FnMut(usize)) {
        let mut prev: Option<char> = None;
        for (i, c) in piece.char_indices() {
            if c == self.sym {
                if let Some(p) = prev.filter(|&p| p != self.sym) {
                    // A character outside the vocabulary becomes byte-fallback or unk symbols,
                    // whose text (`<0xXX>`, `<unk>`) ends in `>`.
                    let last = if chars.char_id(p).is_some() { p } else { '>' };
                    if !self.joins_left.contains(&last) {
                        emit(i);
                    }
                }
            }
            prev = Some(c);
        }
    }
}
