//! The first symbols of a pre-token in a character-level (SentencePiece-style) BPE: one per
//! character that is in the vocabulary, its UTF-8 bytes as `<0xXX>` tokens when it is not and
//! the model has byte fallback, otherwise `unk` (adjacent ones fused into one with `fuse_unk`),
//! as HF's BPE model builds its words.

use hashbrown::HashMap;

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
        }
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
