//! Target `roundtrip`: arbitrary text through real tokenizers.
//!
//! The first input byte picks a tokenizer, the rest (made UTF-8, invalid bytes as U+FFFD) is
//! the text. For every tokenizer `decode(encode(x))` must give back `x`, byte for byte, except
//! what the tokenizer cannot spell: a byte-level vocabulary may lack a byte (SmolLM2 has no
//! token for 21 of the 256, among them 0x04 and 0x06; its 8k fixture keeps them out too), and
//! such a byte is dropped, as HF `tokenizers` drops a symbol missing from a vocabulary without
//! an unknown token. The SentencePiece-style model falls back to `<0xXX>` tokens, so nothing is
//! lost, except that it writes its space symbol `▁` as a space, which is what the symbol means.
//!
//! The text is also cut into lines and encoded as one `encode_batch` worker does it, through
//! one piece cache shared by the lines; that must equal encoding each line alone. The fuzz
//! binary runs this on one thread, so that each input covers the same code every time;
//! [`check_parallel`] adds the thread pool for the tests.

use std::sync::LazyLock;

use rayon::prelude::*;
use tokkit_core::encode::{BpeEncoder, PieceCache};
use tokkit_core::hf_json;

/// One tokenizer under test.
pub struct Subject {
    /// Its name in failure messages.
    pub name: &'static str,
    /// The encoder.
    pub encoder: BpeEncoder,
    /// Whether the model writes spaces as `▁` (then a `▁` in the text decodes as a space).
    pub space_symbol: bool,
    /// Per byte: whether the tokenizer has a symbol for it (else encoding drops it).
    pub spells: [bool; 256],
}

/// Which bytes `encoder` can spell: those a one-byte piece of encodes to something.
#[must_use]
pub fn spelled_bytes(encoder: &BpeEncoder) -> [bool; 256] {
    let mut spells = [false; 256];
    for (b, spelled) in (0..=255u8).zip(spells.iter_mut()) {
        let mut out = Vec::new();
        encoder.encode_piece(&[b], &mut out);
        *spelled = !out.is_empty();
    }
    spells
}

fn load(name: &'static str, path: &std::path::Path, space_symbol: bool) -> Subject {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("fixture {} unreadable: {e}", path.display()));
    let loaded = hf_json::from_json(&text).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    let encoder = BpeEncoder::from_loaded(loaded).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    Subject {
        name,
        spells: spelled_bytes(&encoder),
        encoder,
        space_symbol,
    }
}

/// The tokenizers, loaded once per process (the fuzzer runs many inputs per process).
pub static SUBJECTS: LazyLock<Vec<Subject>> = LazyLock::new(|| {
    let fixtures = crate::seeds::repo_root().join("tests/fixtures/tokenizers");
    vec![
        load(
            "smollm2-135m-8k",
            &fixtures.join("smollm2-135m-8k/tokenizer.json"),
            false,
        ),
        load(
            "qwen2.5-coder-0.5b-8k",
            &fixtures.join("qwen2.5-coder-0.5b-8k/tokenizer.json"),
            false,
        ),
        load(
            "sp-tiny",
            &crate::seeds::crate_dir().join("fixtures/sp-tiny.json"),
            true,
        ),
    ]
});

/// Two workers, as a small `encode_batch` would have: enough for lines to be shared out
/// ([`check_parallel`] only).
static POOL: LazyLock<rayon::ThreadPool> = LazyLock::new(|| {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a two-thread pool")
});

/// Runs the target on one input.
///
/// # Panics
/// When a round trip or the batch encoding differs: that is the finding.
pub fn run(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let subject = &SUBJECTS[usize::from(pick) % SUBJECTS.len()];
    let text = String::from_utf8_lossy(rest);
    check(subject, &text);
}

/// The properties, for one tokenizer and one text.
///
/// # Panics
/// As [`run`].
pub fn check(subject: &Subject, text: &str) {
    let enc = &subject.encoder;
    let ids = enc.encode(text);
    let decoded = enc
        .decode_bytes(&ids, false)
        .unwrap_or_else(|e| panic!("{}: ids of {text:?} do not decode: {e}", subject.name));
    let expected: Vec<u8> = if subject.space_symbol {
        text.replace('▁', " ").into_bytes()
    } else {
        text.bytes()
            .filter(|&b| subject.spells[usize::from(b)])
            .collect()
    };
    assert!(
        decoded == expected,
        "{}: decode(encode({text:?})) = {:?}",
        subject.name,
        String::from_utf8_lossy(&decoded)
    );

    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut cache = PieceCache::default();
    for line in &lines {
        assert!(
            enc.encode_cached(line, Some(&mut cache)) == enc.encode(line),
            "{}: encoding {line:?} after the lines before it, with their piece cache, \
             differs from encoding it alone",
            subject.name
        );
    }
}

/// `encode_batch` as the Python binding runs it (lines shared out to a thread pool, a piece
/// cache per worker) must equal encoding each line alone.
///
/// # Panics
/// When it does not.
pub fn check_parallel(subject: &Subject, text: &str) {
    let enc = &subject.encoder;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let alone: Vec<Vec<u32>> = lines.iter().map(|l| enc.encode(l)).collect();
    let batch: Vec<Vec<u32>> = POOL.install(|| {
        lines
            .par_iter()
            .map_init(PieceCache::default, |cache, l| {
                enc.encode_cached(l, Some(cache))
            })
            .collect()
    });
    assert!(
        batch == alone,
        "{}: batch encoding of the lines of {text:?} differs from encoding each alone",
        subject.name
    );
}
