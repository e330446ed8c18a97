//! Target `roundtrip`: arbitrary text through real tokenizers.
//!
//! The first input byte picks a tokenizer, the rest (made UTF-8, invalid bytes as U+FFFD) is
//! the text. For every tokenizer `decode(encode(x))` must give back `x` exactly: byte-level
//! models spell any byte, and the SentencePiece-style model falls back to `<0xXX>` tokens, so
//! nothing is lost (except that it writes its space symbol `▁` as a space, which is what the
//! symbol means). The text is also cut into lines and encoded as `encode_batch` does it: in
//! parallel, with a piece cache per worker; that must equal encoding each line alone.

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
}

fn load(name: &'static str, path: &std::path::Path, space_symbol: bool) -> Subject {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("fixture {} unreadable: {e}", path.display()));
    let loaded = hf_json::from_json(&text).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    Subject {
        name,
        encoder: BpeEncoder::from_loaded(loaded).unwrap_or_else(|e| panic!("fixture {name}: {e}")),
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

/// Two workers, as a small `encode_batch` would have: enough for lines to be shared out.
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
    let expected = if subject.space_symbol {
        text.replace('▁', " ")
    } else {
        text.to_owned()
    };
    assert!(
        decoded == expected.as_bytes(),
        "{}: decode(encode({text:?})) = {:?}",
        subject.name,
        String::from_utf8_lossy(&decoded)
    );

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
