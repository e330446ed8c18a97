//! SuperBPE: the published pre-tokenizer vectors (design/training.md §3), the filters, the exact inheritance of stage-1
//! merges, and t = 0 equal to plain BPE on the stage-2 spans under the same filters.

use super::*;
use crate::progress::Silent;
use crate::{corpus, word_counts};

fn shown(pieces: &[&str]) -> String {
    pieces
        .iter()
        .map(|p| p.replace(' ', "Ġ"))
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn paper_pretokenizer_vectors() {
    let (one, two) = Preset::Paper.pretokenizers().unwrap();
    let text = "In 2023, I paid $1234567 for it's 3.14 stuff  ok";
    assert_eq!(
        shown(&one.pieces(text)),
        "In | Ġ | 2 | 023 | , | ĠI | Ġpaid | Ġ$ | 1 | 234 | 567 | Ġfor | Ġit | ' | s | Ġ | 3 | . | 14 | Ġstuff | Ġ | Ġok"
    );
    assert_eq!(
        shown(&two.pieces(text)),
        "InĠ | 2 | 023 | ,ĠIĠpaidĠ$ | 1 | 234 | 567 | ĠforĠit'sĠ | 3 | . | 14 | ĠstuffĠĠok"
    );
}

#[test]
fn recommended_pretokenizer_vectors() {
    let (one, two) = Preset::Recommended.pretokenizers().unwrap();
    let text = "In 2023, I paid $1234567 for it's 3.14... stuff  ok";
    assert_eq!(
        shown(&one.pieces(text)),
        "In | Ġ | 202 | 3 | , | ĠI | Ġpaid | Ġ$ | 123 | 456 | 7 | Ġfor | Ġit | 's | Ġ | 3 | . | 14 | ... | Ġstuff | Ġ | Ġok"
    );
    assert_eq!(
        shown(&two.pieces(text)),
        "InĠ | 202 | 3 | ,ĠIĠpaidĠ$ | 123 | 456 | 7 | ĠforĠit'sĠ | 3 | . | 14 | ... | Ġstuff | Ġ | Ġok"
    );
}

#[test]
fn filters_follow_the_paper() {
    let config = SuperBpeConfig {
        bpe: BpeConfig::default(),
        transition_merges: 10,
        preset: Preset::Recommended,
        max_words: 4,
        forbid_colon_space: true,
    };
    assert!(config.allows(b" of the"));
    assert!(config.allows(b", and the way"));
    assert!(!config.allows(b" one two three four five"));
    assert!(!config.allows(b"note: "));
    assert!(config.allows(b"a:b"));
}

fn corpora() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora");
    ["en-prose.txt", "en-tech.txt"]
        .iter()
        .map(|f| format!("{dir}/{f}"))
        .collect()
}

fn superbpe(preset: Preset, vocab: usize, t: usize) -> (BpeModel, SuperBpeReport) {
    let config = crate::train::TrainerConfig::Superbpe(crate::train::SuperBpeTrainer {
        vocab_size: vocab,
        transition_point: Some(crate::train::TransitionPoint::Merges(t)),
        config: preset,
        max_words: 4,
        forbid_colon_space: true,
        min_frequency: 0,
        special_tokens: Vec::new(),
        full_alphabet: true,
        extend: None,
    });
    let trained = crate::train::train(
        &config,
        crate::train::Corpus::files(corpora()),
        &Silent,
        &CancelToken::new(),
    )
    .unwrap();
    (trained.model, trained.report.superbpe.unwrap())
}

#[test]
fn stage_one_merges_are_inherited_exactly_and_stage_two_obeys_the_filters() {
    for preset in [Preset::Paper, Preset::Recommended] {
        let (model, report) = superbpe(preset, 3000, 1500);
        let (stage1_pre, _) = preset.pretokenizers().unwrap();
        let bpe_model = {
            let config = BpeConfig {
                vocab_size: 256 + 1500,
                ..BpeConfig::default()
            };
            let files = corpus::resolve(&corpora(), None).unwrap();
            let cancel = CancelToken::new();
            let (counter, _) =
                word_counts::count_files(files, &stage1_pre, false, &Silent, &cancel).unwrap();
            let mut report = TrainReport::default();
            crate::train::train_bpe_from_counter(counter, &config, &Silent, &cancel, &mut report)
                .unwrap()
        };
        assert_eq!(report.stage1_merges, 1500);
        assert_eq!(model.merges[..1500], bpe_model.merges[..]);
        assert_eq!(model.tokens.len(), 3000);
        let stage2: Vec<&Vec<u8>> = model.tokens[256 + 1500..].iter().collect();
        assert!(
            stage2
                .iter()
                .any(|t| t.windows(2).any(|w| w[0] != b' ' && w[1] == b' ')),
            "superwords"
        );
        for t in stage2 {
            assert!(
                !t.windows(2).any(|w| w == b": "),
                "{:?}",
                String::from_utf8_lossy(t)
            );
            assert!(t.split(|&b| b == b' ').filter(|w| !w.is_empty()).count() <= 4);
        }
    }
}

#[test]
fn transition_zero_is_bpe_on_the_spans_under_the_same_filters() {
    let (model, _) = superbpe(Preset::Recommended, 1200, 0);
    let (_, stage2_pre) = Preset::Recommended.pretokenizers().unwrap();
    let files = corpus::resolve(&corpora(), None).unwrap();
    let (spans, _) =
        word_counts::count_files(files, &stage2_pre, false, &Silent, &CancelToken::new()).unwrap();
    let config = SuperBpeConfig {
        bpe: BpeConfig {
            vocab_size: 1200,
            ..BpeConfig::default()
        },
        transition_merges: 0,
        preset: Preset::Recommended,
        max_words: 4,
        forbid_colon_space: true,
    };
    let filter = |b: &[u8]| config.allows(b);
    let plain = bpe::train_with(
        spans.into_sorted(),
        &config.bpe,
        &Hooks {
            filter: Some(&filter),
        },
        &Silent,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(model.merges, plain.model.merges);
}

#[test]
fn transition_point_must_leave_room() {
    let config = SuperBpeConfig {
        bpe: BpeConfig {
            vocab_size: 1000,
            ..BpeConfig::default()
        },
        transition_merges: 744,
        preset: Preset::Recommended,
        max_words: 4,
        forbid_colon_space: true,
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("below 744"), "{err}");
    assert!(
        Preset::from_name("nope")
            .unwrap_err()
            .to_string()
            .contains("recommended")
    );
}
