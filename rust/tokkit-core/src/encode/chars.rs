//! The first symbols of a pre-token in a character-level (SentencePiece-style) BPE: one per
//! character that is in the vocabulary, its UTF-8 bytes as `<0xXX>` tokens when it is not and
//! the model has byte fallback, otherwise `unk` (adjacent ones fused into one with `fuse_unk`),
//! as HF's BPE model builds its words.

use hashbrown::HashMap;

use super::{NO_MERGE, SMALL};
use crate::hf_json::{CharVocab, fallback_byte};
use crate::train::TokenId;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

#[derive(Debug)]
pub(crate) struct CharSymbols {
    /// ASCII characters by code: most text never touches the hash map.
    ascii: [Option<TokenId>; 128],
    other: FastMap<char, TokenId>,
    /// `<0xXX>` ids, when the model has byte fallback.
    bytes: Option<[Option<TokenId>; 256]>,
    unk: Option<TokenId>,
    fuse_unk: bool,
    /// The merges of the pairs of [`COMMON`] characters (see [`CommonPairs`]), once set.
    common_pairs: Option<CommonPairs>,
}

/// The characters a pair table covers: the 128 ASCII ones and the space symbol.
const COMMON: usize = 129;

/// The merge of every two common characters (ASCII and the space symbol, where the vocabulary
/// has them), read from one table of 129 × 129 entries (133 KB, held in the processor's cache)
/// instead of the merge map (tens of MB for Gemma's 514k merges, a cache miss a probe). A word
/// merged anew is usually a rare one, so its first round of pairs costs most of its merge: the
/// character-level twin of the byte-pair table of byte-level models (`bytes.rs`).
#[derive(Debug)]
struct CommonPairs {
    /// The space symbol's UTF-8 and its id.
    space: Vec<u8>,
    space_id: TokenId,
    /// `(rank, merged id)` of the pair `(a, b)` at `a * COMMON + b` (ASCII by code, the space
    /// symbol at 128); [`NO_MERGE`] where none.
    pairs: Box<[(u32, TokenId)]>,
}

impl CharSymbols {
    pub(crate) fn new(vocab: &CharVocab) -> Self {
        let mut ascii = [None; 128];
        let mut other = FastMap::default();
        let mut bytes = [None; 256];
        for (id, s) in vocab.strings.iter().enumerate() {
            let id = id as TokenId;
            let mut chars = s.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                if c.is_ascii() {
                    ascii[c as usize] = Some(id);
                } else {
                    other.insert(c, id);
                }
            }
            if let Some(b) = fallback_byte(s) {
                bytes[usize::from(b)] = Some(id);
            }
        }
        Self {
            ascii,
            other,
            bytes: vocab.byte_fallback.then_some(bytes),
            unk: vocab.unk,
            fuse_unk: vocab.fuse_unk,
            common_pairs: None,
        }
    }

    /// Sets the table of common pairs from the merge map (`merge`), if the model has a space
    /// symbol that is one character with an id of its own.
    pub(crate) fn with_common_pairs(
        mut self,
        space: Option<&str>,
        merge: impl Fn(TokenId, TokenId) -> Option<(u32, TokenId)>,
    ) -> Self {
        let Some(space) = space else { return self };
        let mut chars = space.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return self;
        };
        let Some(space_id) = self.char_id(c) else {
            return self;
        };
        let id = |i: usize| {
            if i < 128 {
                self.ascii[i]
            } else {
                Some(space_id)
            }
        };
        let pairs = (0..COMMON * COMMON)
            .map(|ab| match (id(ab / COMMON), id(ab % COMMON)) {
                (Some(a), Some(b)) => merge(a, b).unwrap_or(NO_MERGE),
                _ => NO_MERGE,
            })
            .collect();
        self.common_pairs = Some(CommonPairs {
            space: space.as_bytes().to_vec(),
            space_id,
            pairs,
        });
        self
    }

    /// Writes the symbols of `piece` to `ids` and the merge of each neighbouring two to
    /// `ranks` (as `merge_ranked` wants them), returning how many there are, if every character
    /// of `piece` is common and has an id; `None` otherwise (or without the table): then the
    /// caller builds the symbols with [`push`](Self::push) and looks the pairs up in the merge
    /// map.
    #[inline]
    pub(crate) fn first_round(
        &self,
        piece: &[u8],
        ids: &mut [TokenId; SMALL],
        ranks: &mut [(u32, TokenId); SMALL],
    ) -> Option<usize> {
        let table = self.common_pairs.as_ref()?;
        let mut index = [0u16; SMALL];
        let (mut n, mut at) = (0, 0);
        while at < piece.len() {
            if n == SMALL {
                return None;
            }
            let b = piece[at];
            if b < 128 {
                ids[n] = self.ascii[usize::from(b)]?;
                index[n] = u16::from(b);
                at += 1;
            } else if piece[at..].starts_with(&table.space) {
                ids[n] = table.space_id;
                index[n] = 128;
                at += table.space.len();
            } else {
                return None;
            }
            n += 1;
        }
        for i in 1..n {
            let ab = usize::from(index[i - 1]) * COMMON + usize::from(index[i]);
            ranks[i - 1] = table.pairs[ab];
        }
        Some(n)
    }

    /// The id of a character that is a token itself.
    pub(crate) fn char_id(&self, c: char) -> Option<TokenId> {
        if c.is_ascii() {
            self.ascii[c as usize]
        } else {
            self.other.get(&c).copied()
        }
    }

    /// Appends the symbols of `piece` to `ids`.
    pub(crate) fn push(&self, piece: &str, ids: &mut Vec<TokenId>) {
        // The unknown run being built: flushed when a known symbol follows.
        let mut pending_unk = false;
        for c in piece.chars() {
            if let Some(id) = self.char_id(c) {
                Self::flush(&mut pending_unk, self.unk, ids);
                ids.push(id);
                continue;
            }
            if let Some(table) = &self.bytes {
                let mut buf = [0; 4];
                let encoded = c.encode_utf8(&mut buf).as_bytes();
                if encoded.iter().all(|&b| table[usize::from(b)].is_some()) {
                    // HF leaves a pending unknown run open across fallback bytes: it is written
                    // (after them) by the next character found in the vocabulary, or at the end.
                    ids.extend(encoded.iter().filter_map(|&b| table[usize::from(b)]));
                    continue;
                }
            }
            if self.unk.is_some() {
                if pending_unk && !self.fuse_unk {
                    Self::flush(&mut pending_unk, self.unk, ids);
                }
                pending_unk = true;
            }
        }
        Self::flush(&mut pending_unk, self.unk, ids);
    }

    fn flush(pending: &mut bool, unk: Option<TokenId>, ids: &mut Vec<TokenId>) {
        if std::mem::take(pending) {
            ids.extend(unk);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::encode::BpeEncoder;
    use crate::hf_json::from_json;

    /// A tiny Llama-2-like file; expected ids are what `tokenizers` 0.23.3 gives.
    const TINY: &str = r#"{"added_tokens": [{"id": 9, "content": "<x>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}], "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}, "pre_tokenizer": null, "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false, "vocab": {"<unk>": 0, "<0xC3>": 1, "<0xA9>": 2, "▁": 3, "a": 4, "b": 5, "▁a": 6, "ab": 7, "▁ab": 8, "<x>": 9, "<0x21>": 10}, "merges": [["a", "b"], ["▁", "a"], ["▁", "ab"], ["▁a", "b"]]}}"#;

    #[test]
    fn matches_hf_on_a_tiny_sentencepiece_model() {
        let enc = BpeEncoder::from_loaded(from_json(TINY).unwrap()).unwrap();
        assert_eq!(enc.encode("ab ab"), [8, 8]);
        assert_eq!(enc.encode("é!<x>ab"), [3, 1, 2, 10, 9, 8]);
        // The unknown run `zz` is written after the fallback bytes of `é`, as HF does.
        assert_eq!(enc.encode("zzé q"), [3, 1, 2, 0, 3, 0]);
        assert_eq!(enc.encode("a  b"), [6, 3, 3, 5]);
        assert!(enc.encode("").is_empty());
        assert_eq!(enc.token_bytes(8), Some(&b" ab"[..]));
        assert_eq!(enc.token_bytes(1), Some(&[0xC3][..]));
        // Spaces after `b` start words (no token joins `b▁`); the added token and the text
        // after it are pieces.
        assert_eq!(enc.piece_starts("ab ab<x>a"), [0, 2, 5, 8]);
    }
}
