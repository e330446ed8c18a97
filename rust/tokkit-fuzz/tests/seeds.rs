//! The fuzz targets as ordinary tests: every checked-in seed and every regression (an input a
//! fuzzer once crashed or hung on) must pass, and the round trip also runs on proptest's text.
//!
//! A failure names the input file; reproduce it under the fuzz binary with
//! `cargo afl run --profile fuzz -p tokkit-fuzz --features afl --bin fuzz_<target> < FILE`, or
//! here with `cargo test -p tokkit-fuzz --release`.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use tokkit_fuzz::{corpus_reader, roundtrip, seeds, tokenizer_json};

/// Runs `target` on every input of `name`; each must return quickly (a regression of a hang
/// would otherwise only show as a slow suite).
fn run_all(name: &str, target: fn(&[u8])) {
    let inputs = seeds::inputs(name);
    assert!(
        inputs.len() >= 5,
        "the seed corpus of {name} is missing ({} files)",
        inputs.len()
    );
    for (path, bytes) in inputs {
        let start = Instant::now();
        let result = std::panic::catch_unwind(|| target(&bytes));
        assert!(result.is_ok(), "{name}: {} fails", path.display());
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{name}: {} takes {:?}",
            path.display(),
            start.elapsed()
        );
    }
}

#[test]
fn tokenizer_json_seeds_and_regressions() {
    run_all("tokenizer_json", tokenizer_json::run);
}

#[test]
fn roundtrip_seeds_and_regressions() {
    run_all("roundtrip", roundtrip::run);
}

#[test]
fn corpus_reader_seeds_and_regressions() {
    run_all("corpus_reader", corpus_reader::run);
}

/// The seeds must reach the code they are there for: most tokenizer seeds load, as an encoder
/// and as a `ByteVocab`, so the fuzzer starts from files that get past the parser.
#[test]
fn tokenizer_seeds_load() {
    let loaded = seeds::inputs("tokenizer_json")
        .iter()
        .filter(|(_, bytes)| {
            let text = std::str::from_utf8(bytes).unwrap();
            tokkit_core::hf_json::from_json(text)
                .and_then(tokkit_core::encode::BpeEncoder::from_loaded)
                .is_ok()
        })
        .count();
    assert!(loaded >= 7, "only {loaded} tokenizer seeds load");
    let byte_vocabs = seeds::inputs("tokenizer_json")
        .iter()
        .filter(|(_, bytes)| {
            tokkit_core::byteprobs::ByteVocab::from_json(std::str::from_utf8(bytes).unwrap())
                .is_ok()
        })
        .count();
    assert!(
        byte_vocabs >= 7,
        "only {byte_vocabs} tokenizer seeds load as a ByteVocab"
    );
}

/// What the round trip allows to be lost is what the tokenizers really lack: SmolLM2 cannot
/// spell 21 bytes (0x04 among them), Qwen2.5 and the byte-fallback model spell every byte.
#[test]
fn unspellable_bytes_are_the_vocabularies_own() {
    let missing: Vec<Vec<u8>> = roundtrip::SUBJECTS
        .iter()
        .map(|s| (0..=255u8).filter(|&b| !s.spells[usize::from(b)]).collect())
        .collect();
    assert_eq!(missing[0].len(), 21, "smollm2: {:?}", missing[0]);
    assert!(missing[0].contains(&4) && !missing[0].contains(&b'a'));
    assert_eq!(missing[1], Vec::<u8>::new());
    assert_eq!(missing[2], Vec::<u8>::new());
}

/// The checks themselves can fail: a round trip through the wrong tokenizer is caught.
#[test]
#[should_panic(expected = "decode(encode(")]
fn roundtrip_check_catches_a_lossy_tokenizer() {
    // sp-tiny spells `▁` as a space; claiming it does not makes the round trip of `▁` differ.
    let sp = &roundtrip::SUBJECTS[2];
    let lying = roundtrip::Subject {
        name: "sp-tiny as if it kept ▁",
        encoder: tokkit_core::encode::BpeEncoder::from_loaded(
            tokkit_core::hf_json::from_json(
                &std::fs::read_to_string(seeds::crate_dir().join("fixtures/sp-tiny.json")).unwrap(),
            )
            .unwrap(),
        )
        .unwrap(),
        space_symbol: false,
        spells: sp.spells,
    };
    assert_eq!(sp.name, "sp-tiny");
    roundtrip::check(&lying, "a▁b");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// decode(encode(x)) == x and batch == single, on arbitrary Unicode, for every tokenizer.
    #[test]
    fn roundtrip_on_arbitrary_text(pick in 0u8..3, text in "\\PC{0,64}|[ \\n\\t<|>a-z0-9▁]{0,64}") {
        let mut data = vec![pick];
        data.extend_from_slice(text.as_bytes());
        roundtrip::run(&data);
        let subject = &roundtrip::SUBJECTS[usize::from(pick)];
        roundtrip::check_parallel(subject, &text.replace('|', "\n"));
    }

    /// Arbitrary small files in every mode read back as written (or fail cleanly).
    #[test]
    fn corpus_reader_on_arbitrary_content(mode in 0u8..32, content in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut data = vec![mode & !16]; // no padding: a 1 MiB file per case is too slow here
        data.extend_from_slice(&content);
        corpus_reader::run(&data);
    }
}
