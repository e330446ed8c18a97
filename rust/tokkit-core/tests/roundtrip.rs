//! Invariants of a tokenizer trained on the shipped corpora: every token re-encodes to itself,
//! and decode(encode(x)) == x on arbitrary Unicode, for every built-in pre-tokenizer.

use std::sync::LazyLock;

use proptest::prelude::*;
use tokkit_core::CancelToken;
use tokkit_core::encode::BpeEncoder;
use tokkit_core::progress::Silent;
use tokkit_core::train::{BpeTrainer, Corpus, TrainerConfig, train};

const CORPORA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora");

fn trained(spec: &str) -> BpeEncoder {
    let inputs = ["en-prose.txt", "code.txt", "tr.txt", "unicode-edge.txt"]
        .map(|f| format!("{CORPORA}/{f}"));
    let config = TrainerConfig::Bpe(BpeTrainer {
        vocab_size: 3000,
        pretokenizer: spec.into(),
        special_tokens: vec!["<|endoftext|>".into()],
        min_frequency: 0,
        max_token_length: None,
        max_token_chars: None,
        full_alphabet: true,
        extend: None,
    });
    let trained = train(&config, Corpus::files(inputs), &Silent, &CancelToken::new()).unwrap();
    BpeEncoder::from_model(&trained.model, trained.pretokenizer).unwrap()
}

static ENCODERS: LazyLock<Vec<BpeEncoder>> = LazyLock::new(|| {
    ["gpt2", "llama3", "none"]
        .iter()
        .map(|s| trained(s))
        .collect()
});

#[test]
fn every_token_re_encodes_to_itself() {
    for enc in ENCODERS.iter() {
        for id in 1..enc.vocab_size() as u32 {
            let bytes = enc.token_bytes(id).unwrap().to_vec();
            let mut out = Vec::new();
            enc.encode_piece(&bytes, &mut out);
            assert_eq!(
                out,
                [id],
                "token {id} {:?} ({})",
                String::from_utf8_lossy(&bytes),
                enc.pretokenizer().name()
            );
        }
    }
}

#[test]
fn special_tokens_are_matched_whole() {
    let enc = &ENCODERS[0];
    let ids = enc.encode("end<|endoftext|>start");
    assert!(ids.contains(&0));
    assert_eq!(
        enc.decode_bytes(&ids, false).unwrap(),
        b"end<|endoftext|>start"
    );
    assert_eq!(enc.decode_bytes(&ids, true).unwrap(), b"endstart");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_inverts_encode_on_arbitrary_unicode(text in "\\PC{0,64}|[ a-zA-Z0-9'\\n\\t.,]{0,64}") {
        for enc in ENCODERS.iter() {
            let ids = enc.encode(&text);
            prop_assert_eq!(enc.decode_bytes(&ids, false).unwrap(), text.as_bytes());
        }
    }

    #[test]
    fn decode_inverts_encode_on_any_chars(chars in prop::collection::vec(any::<char>(), 0..32)) {
        let text: String = chars.into_iter().collect();
        for enc in ENCODERS.iter() {
            let ids = enc.encode(&text);
            prop_assert_eq!(enc.decode_bytes(&ids, false).unwrap(), text.as_bytes());
        }
    }
}
