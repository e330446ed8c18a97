//! Unit tests of the merge loop: HF's published test vectors and the quirks of design/training.md §2.3.

use super::*;
use crate::progress::Silent;
use crate::train::LengthCap;

fn words(list: &[(&str, u64)]) -> Vec<(Box<[u8]>, u64)> {
    let mut w: Vec<(Box<[u8]>, u64)> = list
        .iter()
        .map(|(s, c)| (s.as_bytes().into(), *c))
        .collect();
    w.sort();
    w
}

fn train_on(list: &[(&str, u64)], config: &BpeConfig) -> (BpeModel, StopReason) {
    let t = train(words(list), config, &Silent, &CancelToken::new()).unwrap();
    (t.model, t.stop)
}

fn merge_strings(model: &BpeModel) -> Vec<String> {
    model
        .merges
        .iter()
        .map(|&(a, b)| format!("{} {}", model.token_string(a), model.token_string(b)))
        .collect()
}

#[test]
fn hf_tie_break_vector() {
    let list = [
        ("roses", 1),
        ("are", 2),
        ("red", 1),
        ("voilets", 1),
        ("blue", 1),
        ("BERT", 1),
        ("is", 2),
        ("big", 1),
        ("and", 1),
        ("so", 1),
        ("GPT-2", 1),
    ];
    let config = BpeConfig {
        vocab_size: 30,
        min_frequency: 2,
        full_alphabet: false,
        ..BpeConfig::default()
    };
    let (model, stop) = train_on(&list, &config);
    let alphabet: Vec<String> = (0..22).map(|i| model.token_string(i)).collect();
    assert_eq!(
        alphabet.join(" "),
        "- 2 B E G P R T a b d e g i l n o r s t u v"
    );
    assert_eq!(merge_strings(&model), ["r e", "a re", "i s"]);
    assert_eq!(model.token_string(22), "re");
    assert_eq!(model.token_string(23), "are");
    assert_eq!(model.token_string(24), "is");
    assert_eq!(stop, StopReason::MinFrequency);
}

#[test]
fn special_tokens_come_first_and_duplicates_are_skipped() {
    let config = BpeConfig {
        vocab_size: 300,
        special_tokens: vec!["<s>".into(), "</s>".into(), "<s>".into()],
        ..BpeConfig::default()
    };
    let (model, _) = train_on(&[("hello", 5), ("help", 3)], &config);
    assert_eq!(model.special_tokens(), ["<s>", "</s>"]);
    assert_eq!(model.tokens.len(), 2 + 256 + model.merges.len());
    // "he" and "el" both occur 8 times; the smaller (left, right) id pair, (e, l), wins.
    assert_eq!(merge_strings(&model)[..2], ["e l", "h el"]);
}

#[test]
fn aaaa_gives_aa_aa() {
    let config = BpeConfig {
        vocab_size: 258,
        full_alphabet: false,
        ..BpeConfig::default()
    };
    let (model, _) = train_on(&[("aaaa", 1)], &config);
    assert_eq!(merge_strings(&model), ["a a", "aa aa"]);
}

fn longest(model: &BpeModel) -> usize {
    model.tokens[model.num_special..]
        .iter()
        .map(Vec::len)
        .max()
        .unwrap()
}

#[test]
fn hf_max_token_length_is_off_by_one_and_inclusive_means_what_it_says() {
    let text = "the quick brown fox jumps over the lazy dog and then some more words appear here";
    let list: Vec<(&str, u64)> = text.split(' ').map(|w| (w, 3)).collect();
    for (setting, expected) in [(3, 2), (4, 3), (5, 4), (6, 5)] {
        let config = BpeConfig {
            vocab_size: 2000,
            length_cap: LengthCap::Hf(setting),
            ..BpeConfig::default()
        };
        assert_eq!(
            longest(&train_on(&list, &config).0),
            expected,
            "hf {setting}"
        );
        let config = BpeConfig {
            vocab_size: 2000,
            length_cap: LengthCap::Inclusive(setting),
            ..BpeConfig::default()
        };
        assert_eq!(
            longest(&train_on(&list, &config).0),
            setting,
            "inclusive {setting}"
        );
    }
    let config = BpeConfig {
        vocab_size: 2000,
        length_cap: LengthCap::Inclusive(1),
        ..BpeConfig::default()
    };
    assert!(train_on(&list, &config).0.merges.is_empty());
}

#[test]
fn counts_beyond_i32_keep_their_order() {
    // "ab" occurs 3e9 times, "cd" 2.5e9 times: with i32 counts both wrap negative.
    let (model, _) = train_on(
        &[("ab", 3_000_000_000), ("cd", 2_500_000_000), ("ef", 5)],
        &BpeConfig {
            vocab_size: 259,
            ..BpeConfig::default()
        },
    );
    assert_eq!(merge_strings(&model), ["a b", "c d", "e f"]);
}

#[test]
fn a_string_made_twice_reuses_its_id() {
    // "abc" can be made as (ab, c) in one word and (a, bc) in another.
    let list = [
        ("ab", 10),
        ("abx", 1),
        ("bc", 9),
        ("zabc", 1),
        ("abc", 1),
        ("xbc", 1),
        ("ab_c", 3),
    ];
    let config = BpeConfig {
        vocab_size: 400,
        full_alphabet: false,
        ..BpeConfig::default()
    };
    let (model, _) = train_on(&list, &config);
    let ids: std::collections::HashSet<_> = (0..model.tokens.len())
        .map(|i| model.tokens[i].clone())
        .collect();
    assert_eq!(
        ids.len(),
        model.tokens.len(),
        "every token string is unique"
    );
}

#[test]
fn min_frequency_stops_early() {
    let config = BpeConfig {
        vocab_size: 1000,
        min_frequency: 3,
        ..BpeConfig::default()
    };
    let (model, stop) = train_on(&[("ab", 2), ("cd", 3)], &config);
    assert_eq!(merge_strings(&model), ["c d"]);
    assert_eq!(stop, StopReason::MinFrequency);
}

#[test]
fn result_does_not_depend_on_thread_count() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/train/bpe.rs")).unwrap();
    let pre = crate::pretokenize::Pretokenizer::from_spec("gpt2").unwrap();
    let mut counter = crate::word_counts::Counter::default();
    for line in text.split_inclusive('\n') {
        counter.add_sequence(&pre, line);
    }
    // Repeat words so that some merges touch more than PARALLEL_WORDS words.
    let mut list = counter.into_sorted();
    let extra: Vec<(Box<[u8]>, u64)> = (0..3 * PARALLEL_WORDS)
        .map(|i| (format!("w{i}x{}", i % 7).into_bytes().into(), 2))
        .collect();
    list.extend(extra);
    list.sort();
    let config = BpeConfig {
        vocab_size: 1500,
        ..BpeConfig::default()
    };
    let run = |threads| {
        crate::train::with_threads(Some(threads), || {
            Ok(train(list.clone(), &config, &Silent, &CancelToken::new())?
                .model
                .merges)
        })
        .unwrap()
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}
