//! HF `Split` with a literal `String` pattern, for SentencePiece-style pipelines (Gemma's
//! `Split(" ", MergedWithPrevious)`, Metaspace's split on `▁`). A literal needs no regex engine:
//! `memchr`'s substring search finds the occurrences.

use memchr::memmem;

/// What happens to each occurrence of the pattern (HF's `SplitDelimiterBehavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// The occurrence is dropped.
    Removed,
    /// The occurrence is a piece of its own.
    Isolated,
    /// The occurrence ends the piece before it.
    MergedWithPrevious,
    /// The occurrence starts the piece after it.
    MergedWithNext,
    /// Adjacent occurrences form one isolated piece.
    Contiguous,
}

impl Behavior {
    /// The behaviour named as in `tokenizer.json` (`"MergedWithPrevious"`, ...).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "Removed" => Self::Removed,
            "Isolated" => Self::Isolated,
            "MergedWithPrevious" => Self::MergedWithPrevious,
            "MergedWithNext" => Self::MergedWithNext,
            "Contiguous" => Self::Contiguous,
            _ => return None,
        })
    }
}

#[derive(Debug)]
pub(super) struct LiteralSplit {
    finder: memmem::Finder<'static>,
    behavior: Behavior,
}

impl LiteralSplit {
    pub(super) fn new(pattern: &str, behavior: Behavior) -> Self {
        Self {
            finder: memmem::Finder::new(pattern.as_bytes()).into_owned(),
            behavior,
        }
    }

    /// The literal cut at.
    pub(super) fn needle(&self) -> &[u8] {
        self.finder.needle()
    }

    pub(super) fn split<'a>(&self, text: &'a str, mut emit: impl FnMut(&'a str)) {
        let len = self.finder.needle().len();
        let mut piece_start = 0;
        let mut emit_range = |from: usize, to: usize| {
            if to > from {
                emit(&text[from..to]);
            }
        };
        let mut prev_end = usize::MAX;
        for at in self.finder.find_iter(text.as_bytes()) {
            let end = at + len;
            match self.behavior {
                Behavior::Removed => {
                    emit_range(piece_start, at);
                    piece_start = end;
                }
                Behavior::Isolated => {
                    emit_range(piece_start, at);
                    emit_range(at, end);
                    piece_start = end;
                }
                Behavior::MergedWithPrevious => {
                    emit_range(piece_start, end);
                    piece_start = end;
                }
                Behavior::MergedWithNext => {
                    emit_range(piece_start, at);
                    piece_start = at;
                }
                Behavior::Contiguous => {
                    // A run of adjacent occurrences grows until a gap appears; then the run
                    // (from `piece_start`) and the gap are pieces.
                    if prev_end != at {
                        if prev_end != usize::MAX {
                            emit_range(piece_start, prev_end);
                            emit_range(prev_end, at);
                        } else {
                            emit_range(0, at);
                        }
                        piece_start = at;
                    }
                }
            }
            prev_end = end;
        }
        if self.behavior == Behavior::Contiguous && prev_end != usize::MAX {
            emit_range(piece_start, prev_end);
            piece_start = prev_end;
        }
        emit_range(piece_start, text.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(pattern: &str, behavior: Behavior, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        LiteralSplit::new(pattern, behavior).split(text, |p| out.push(p.to_owned()));
        out
    }

    #[test]
    fn behaviours_match_hf() {
        // Expected pieces as `tokenizers.pre_tokenizers.Split(" ", behavior)` gives them.
        let text = "a  b c ";
        assert_eq!(pieces(" ", Behavior::Removed, text), ["a", "b", "c"]);
        assert_eq!(
            pieces(" ", Behavior::Isolated, text),
            ["a", " ", " ", "b", " ", "c", " "]
        );
        assert_eq!(
            pieces(" ", Behavior::MergedWithPrevious, text),
            ["a ", " ", "b ", "c "]
        );
        assert_eq!(
            pieces(" ", Behavior::MergedWithNext, text),
            ["a", " ", " b", " c", " "]
        );
        assert_eq!(
            pieces(" ", Behavior::Contiguous, text),
            ["a", "  ", "b", " ", "c", " "]
        );
    }
}
