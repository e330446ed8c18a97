//! Target `tokenizer_json`: arbitrary bytes as a `tokenizer.json`.
//!
//! Loading must end in an error or a tokenizer; a tokenizer that loads must then encode and
//! decode a few probe strings without panicking, and its ids must decode (every id the encoder
//! emits is in its vocabulary). The same file also goes through [`ByteVocab::from_json`], the
//! byte-level view built on top of the encoder, which has tables of its own.

use tokkit_core::byteprobs::ByteVocab;
use tokkit_core::encode::BpeEncoder;
use tokkit_core::hf_json;

/// Texts every loaded tokenizer encodes: ASCII words and digits, whitespace runs, multi-byte
/// characters, the SentencePiece space symbol and common special-token spellings, so that
/// normalizers, pre-tokenizers and added tokens read from the file all get something to act on.
const PROBES: &[&str] = &[
    "Hello, world! 12345 it's",
    "  \t\n\n  x  ",
    "é漢字🙂 ▁a▁b",
    "<|endoftext|><s></s><unk>[CLS]",
    "",
];

/// Runs the target on one input.
///
/// # Panics
/// When the loaded encoder emits an id it cannot decode: that is a bug, and the fuzzer's crash.
pub fn run(data: &[u8]) {
    // The loaders take `&str`: files are read with `read_to_string`, so bytes that are not
    // UTF-8 never reach them.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = hf_json::from_json(text) else {
        return;
    };
    let Ok(encoder) = BpeEncoder::from_loaded(loaded) else {
        return;
    };
    for probe in PROBES {
        let ids = encoder.encode(probe);
        if let Err(e) = encoder.decode_bytes(&ids, false) {
            panic!("encode({probe:?}) = {ids:?} does not decode: {e}");
        }
        encoder
            .decode_bytes(&ids, true)
            .expect("skipping special tokens decodes whatever decodes");
    }
    if let Ok(vocab) = ByteVocab::from_json(text) {
        for probe in PROBES {
            let ids = vocab.encode(probe);
            assert!(
                ids.iter().all(|&id| vocab.token_bytes(id).is_some()),
                "ByteVocab::encode({probe:?}) = {ids:?} has an id outside the vocabulary"
            );
        }
    }
}
