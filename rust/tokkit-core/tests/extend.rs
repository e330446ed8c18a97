//! Extending a pretrained tokenizer: continuing on the base's own corpus is training longer
//! (BPE and SuperBPE), zero merges give the base file back, every extension's tokens are the
//! base's tokens merged further, SentencePiece-style bases never merge byte-fallback tokens, and
//! bad bases and corpora fail with typed errors.

use std::sync::LazyLock;

use proptest::prelude::*;
use tokkit_core::encode::BpeEncoder;
use tokkit_core::hf_json::{self, TokenizerJson};
use tokkit_core::progress::Silent;
use tokkit_core::train::extend::{Extended, extend};
use tokkit_core::train::{Corpus, TrainerConfig, train};
use tokkit_core::{CancelToken, Error};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn corpus(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| format!("{ROOT}/corpora/{n}"))
        .collect()
}

fn config(json: &str) -> TrainerConfig {
    TrainerConfig::from_json(json).unwrap()
}

fn scratch(json: &str, files: &[&str]) -> String {
    let trained = train(
        &config(json),
        Corpus::files(corpus(files)),
        &Silent,
        &CancelToken::new(),
    )
    .unwrap();
    serde_json::to_string_pretty(&hf_json::to_json(&trained.model, &trained.pretokenizer)).unwrap()
}

fn extended(json: &str, base: &str, files: &[&str]) -> Result<Extended, Error> {
    extend(
        &config(json),
        base,
        Corpus::files(corpus(files)),
        &Silent,
        &CancelToken::new(),
    )
}

/// Vocab and merges as read back, the parts two equal tokenizers share.
fn parts(json: &str) -> (Vec<Vec<u8>>, Vec<(u32, u32)>) {
    let loaded = hf_json::from_json(json).unwrap();
    (loaded.tokens, loaded.merges)
}

#[test]
fn continuing_on_the_same_corpus_is_training_longer() {
    let files = ["en-prose.txt", "en-tech.txt"];
    let base = scratch(
        r#"{"algorithm": "bpe", "vocab_size": 1500, "special_tokens": ["<|endoftext|>"]}"#,
        &files,
    );
    let longer = scratch(
        r#"{"algorithm": "bpe", "vocab_size": 2500, "special_tokens": ["<|endoftext|>"]}"#,
        &files,
    );
    let ext = extended(
        r#"{"algorithm": "bpe", "vocab_size": 2500, "extend": "base"}"#,
        &base,
        &files,
    )
    .unwrap();
    assert_eq!(parts(&ext.json), parts(&longer));
    let report = ext.report.extension.unwrap();
    assert_eq!((report.base_vocab_size, report.new_tokens), (1500, 1000));
}

#[test]
fn superbpe_on_a_stage_one_base_is_superbpe() {
    let files = ["en-prose.txt"];
    let full = scratch(
        r#"{"algorithm": "superbpe", "vocab_size": 3000, "transition_point": 2000}"#,
        &files,
    );
    let stage1 = TokenizerJson::parse(&full)
        .unwrap()
        .truncated(256 + 2000)
        .unwrap()
        .to_text();
    let ext = extended(
        r#"{"algorithm": "superbpe", "vocab_size": 3000, "extend": "stage1"}"#,
        &stage1,
        &files,
    )
    .unwrap();
    assert_eq!(parts(&ext.json), parts(&full));
    // The stage-2 pre-tokenizer replaced the base's.
    let written: serde_json::Value = serde_json::from_str(&ext.json).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&full).unwrap();
    assert_eq!(written["pre_tokenizer"], expected["pre_tokenizer"]);
}

#[test]
fn zero_merges_give_the_base_file_back() {
    let base = std::fs::read_to_string(format!(
        "{ROOT}/tests/fixtures/tokenizers/smollm2-135m-8k/tokenizer.json"
    ))
    .unwrap();
    let ext = extended(
        r#"{"algorithm": "bpe", "vocab_size": 9000, "min_frequency": 1000000000, "extend": "b"}"#,
        &base,
        &["tr.txt"],
    )
    .unwrap();
    assert_eq!(ext.json, base);
}

static SMOL: LazyLock<(BpeEncoder, BpeEncoder)> = LazyLock::new(|| {
    let base = std::fs::read_to_string(format!(
        "{ROOT}/tests/fixtures/tokenizers/smollm2-135m-8k/tokenizer.json"
    ))
    .unwrap();
    let ext = extended(
        r#"{"algorithm": "bpe", "vocab_size": 10000, "extend": "smollm2-8k"}"#,
        &base,
        &["tr.txt", "code.txt"],
    )
    .unwrap();
    let load = |text: &str| BpeEncoder::from_loaded(hf_json::from_json(text).unwrap()).unwrap();
    (load(&base), load(&ext.json))
});

/// Byte offsets where tokens end.
fn ends(encoder: &BpeEncoder, ids: &[u32]) -> Vec<usize> {
    ids.iter()
        .scan(0, |at, &id| {
            *at += encoder.token_bytes(id).unwrap().len();
            Some(*at)
        })
        .collect()
}

/// The extension's tokens are the base's, merged further: same bytes, and every boundary of
/// the extension is one of the base's.
fn check_coarsens(text: &str) {
    let (base, ext) = &*SMOL;
    let (b, e) = (base.encode(text), ext.encode(text));
    assert_eq!(
        base.decode_bytes(&b, false).unwrap(),
        ext.decode_bytes(&e, false).unwrap()
    );
    assert!(e.len() <= b.len());
    let base_ends: std::collections::HashSet<usize> = ends(base, &b).into_iter().collect();
    for end in ends(ext, &e) {
        assert!(base_ends.contains(&end), "{text:?}: {b:?} vs {e:?}");
    }
}

#[test]
fn a_base_that_splits_digits_keeps_them_split() {
    // SmolLM2 has no token with two digits in a row; tr.txt is full of years.
    let (base, ext) = &*SMOL;
    let digit_pair = |t: &[u8]| t.windows(2).any(|w| w.iter().all(u8::is_ascii_digit));
    for text in ["1919", " 1920", "1.234.567", "2024-06-07"] {
        for id in ext.encode(text) {
            assert!(!digit_pair(ext.token_bytes(id).unwrap()), "{text}");
        }
        assert_eq!(base.encode("1919"), ext.encode("1919"));
    }
}

#[test]
fn corpus_lines_are_coarsened() {
    let text = std::fs::read_to_string(format!("{ROOT}/corpora/tr.txt")).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.len() > 80).collect();
    let mut fewer = 0;
    for line in &lines {
        check_coarsens(line);
        fewer += usize::from(SMOL.1.encode(line).len() < SMOL.0.encode(line).len());
    }
    assert!(
        fewer * 10 > lines.len() * 9,
        "only {fewer} of {} lines got shorter",
        lines.len()
    );
}

proptest! {
    #[test]
    fn any_text_is_coarsened(text in "[a-zçğıöşüİI ,.'’\n\t0-9<|>🙂é]{0,80}") {
        check_coarsens(&text);
    }
}

/// A small SentencePiece-style BPE: `▁` for spaces, byte fallback, a few letters.
fn sentencepiece_base() -> String {
    let mut vocab = serde_json::Map::new();
    vocab.insert("<unk>".into(), 0.into());
    vocab.insert("<s>".into(), 1.into());
    for b in 0..=255u32 {
        vocab.insert(format!("<0x{b:02X}>"), (2 + b).into());
    }
    for (i, c) in ["▁", "a", "b", "k", "i", "t", "p", "l", "r", "▁k", "it"]
        .iter()
        .enumerate()
    {
        vocab.insert((*c).into(), (258 + i).into());
    }
    serde_json::to_string_pretty(&serde_json::json!({
        "version": "1.0",
        "added_tokens": [
            {"id": 0, "content": "<unk>", "special": true},
            {"id": 1, "content": "<s>", "special": true}
        ],
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        "pre_tokenizer": null,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}
        ]},
        "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
                  "vocab": vocab, "merges": [["▁", "k"], ["i", "t"]]}
    }))
    .unwrap()
}

#[test]
fn sentencepiece_bases_merge_characters_and_never_fallback_bytes() {
    let dir = std::env::temp_dir().join(format!("tokkit-extend-sp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.txt");
    std::fs::write(&file, "kitap kitaplar ğğ kitap\nkitap ğğ bir\n".repeat(50)).unwrap();
    let base = sentencepiece_base();
    let ext = extend(
        &config(r#"{"algorithm": "bpe", "vocab_size": 280, "extend": "sp"}"#),
        &base,
        Corpus::files([file.display().to_string()]),
        &Silent,
        &CancelToken::new(),
    )
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let loaded = hf_json::from_json(&ext.json).unwrap();
    assert_eq!(loaded.tokens.len(), 280);
    for (a, b) in &ext.merges[2..] {
        assert!(!a.starts_with("<0x") && !b.starts_with("<0x"), "{a} {b}");
    }
    let vocab: serde_json::Value = serde_json::from_str(&ext.json).unwrap();
    assert!(vocab["model"]["vocab"]["▁kitap"].is_u64(), "{}", ext.json);
    let encoder = BpeEncoder::from_loaded(loaded).unwrap();
    let ids = encoder.encode("kitaplar ğ");
    assert_eq!(
        encoder.decode_bytes(&ids, false).unwrap(),
        "▁kitaplar ğ".replace('▁', "").as_bytes()
    );
    assert!(ext.report.extension.unwrap().unmergeable_symbols > 0);
}

#[test]
fn bad_bases_and_sizes_are_typed_errors() {
    let base = std::fs::read_to_string(format!(
        "{ROOT}/tests/fixtures/tokenizers/smollm2-135m-8k/tokenizer.json"
    ))
    .unwrap();
    let bpe =
        |size: usize| format!(r#"{{"algorithm": "bpe", "vocab_size": {size}, "extend": "b"}}"#);
    let err = extended(&bpe(8192), &base, &["tr.txt"]).unwrap_err();
    assert!(matches!(err.split_hint().0, Error::Config(_)), "{err}");
    assert!(
        err.to_string().contains("not above the base's 8192 ids"),
        "{err}"
    );

    let wordpiece = r#"{"model": {"type": "WordPiece", "vocab": {"a": 0}}}"#;
    let err = extended(&bpe(9000), wordpiece, &["tr.txt"]).unwrap_err();
    assert!(matches!(err, Error::Serialization(_)), "{err}");
    assert!(err.to_string().contains("byte_fallback"), "{err}");

    let mut broken: serde_json::Value = serde_json::from_str(&base).unwrap();
    broken["added_tokens"][0]["id"] = 300.into();
    let err = extended(&bpe(9000), &broken.to_string(), &["tr.txt"]).unwrap_err();
    assert!(err.to_string().contains("disagrees with itself"), "{err}");

    let err = extended(
        r#"{"algorithm": "bpe", "vocab_size": 9000, "pretokenizer": "o200k", "extend": "b"}"#,
        &base,
        &["tr.txt"],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("keeps the base's pre-tokenizer"),
        "{err}"
    );

    // The merge-loop settings are checked as for training from scratch.
    let err = extended(
        r#"{"algorithm": "bpe", "vocab_size": 9000, "max_token_chars": 0, "extend": "b"}"#,
        &base,
        &["tr.txt"],
    )
    .unwrap_err();
    assert!(err.to_string().contains("at least 1"), "{err}");
    let err = extended(
        r#"{"algorithm": "superbpe", "vocab_size": 9000, "max_words": 0, "extend": "b"}"#,
        &base,
        &["tr.txt"],
    )
    .unwrap_err();
    assert!(err.to_string().contains("max_words"), "{err}");

    // A base that lacks bytes the corpus has, and no byte fallback.
    let ascii = scratch(
        r#"{"algorithm": "bpe", "vocab_size": 300, "full_alphabet": false}"#,
        &["code.txt"],
    );
    let err = extended(&bpe(400), &ascii, &["tr.txt"]).unwrap_err();
    assert!(matches!(err.split_hint().0, Error::Corpus(_)), "{err}");
    assert!(err.to_string().contains("cannot encode"), "{err}");
}
