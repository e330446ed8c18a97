//! Invariants of the ZeTT tokenizer sampler: reproducible under (seed, step), independent of the
//! thread count, byte coverage and lossless encoding, Viterbi optimality, vocabulary bounds, the
//! queue forgetting old batches, and configuration errors.

use std::sync::LazyLock;

use proptest::prelude::*;
use tokkit_core::Error;
use tokkit_core::sampler::{SampledTokenizer, SamplerConfig, TokenizerSampler};

const CORPORA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora");

/// 1 KB texts cut from every shipped corpus.
static TEXTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut texts = Vec::new();
    for f in ["en-prose.txt", "code.txt", "tr.txt", "unicode-edge.txt"] {
        let text = std::fs::read_to_string(format!("{CORPORA}/{f}")).unwrap();
        let mut start = 0;
        while start < text.len() && texts.len() % 40 != 39 {
            let mut end = (start + 1024).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            texts.push(text[start..end].to_owned());
            start = end;
        }
        texts.push(text[start.min(text.len())..].chars().take(300).collect());
    }
    texts
});

fn config(vocab_size: usize, threads: usize) -> SamplerConfig {
    SamplerConfig {
        vocab_size,
        queue_texts: 64,
        seed: 42,
        threads: Some(threads),
        ..SamplerConfig::default()
    }
}

fn observed(config: SamplerConfig) -> TokenizerSampler {
    let mut sampler = TokenizerSampler::new(config).unwrap();
    for batch in TEXTS.chunks(16) {
        sampler.observe(batch).unwrap();
    }
    sampler
}

static SAMPLED: LazyLock<SampledTokenizer> = LazyLock::new(|| observed(config(2000, 2)).sample(3));

fn same(a: &SampledTokenizer, b: &SampledTokenizer) -> bool {
    a.pieces() == b.pieces()
        && a.log_probs()
            .iter()
            .map(|x| x.to_bits())
            .eq(b.log_probs().iter().map(|x| x.to_bits()))
}

#[test]
fn reproducible_under_seed_and_step() {
    let a = observed(config(2000, 2));
    let b = observed(config(2000, 2));
    let (x, y) = (a.sample(7), b.sample(7));
    assert!(same(&x, &y));
    assert_eq!(
        x.encode_batch(&TEXTS[..8], Some(2)).unwrap(),
        y.encode_batch(&TEXTS[..8], Some(2)).unwrap()
    );
    assert!(
        same(&a.sample(7), &x),
        "sampling again gives the same tokenizer"
    );
    assert!(!same(&a.sample(8), &x), "another step differs");
    let other_seed = observed(SamplerConfig {
        seed: 43,
        ..config(2000, 2)
    });
    assert!(!same(&other_seed.sample(7), &x), "another seed differs");
}

#[test]
fn independent_of_thread_count() {
    let one = observed(config(2000, 1));
    let three = observed(config(2000, 3));
    for step in [0, 1, 99] {
        let (a, b) = (one.sample(step), three.sample(step));
        assert!(same(&a, &b));
        assert_eq!(
            a.encode_batch(&TEXTS, Some(1)).unwrap(),
            b.encode_batch(&TEXTS, Some(3)).unwrap()
        );
    }
}

#[test]
fn bytes_always_present_and_vocab_bounded() {
    let empty = TokenizerSampler::new(config(10, 1)).unwrap().sample(0);
    assert_eq!(empty.len(), 256);
    assert_eq!(
        empty.decode_bytes(&empty.encode("héllo")).unwrap(),
        "héllo".as_bytes()
    );
    for vocab_size in [1, 50, 2000, 1_000_000] {
        let sampler = observed(config(vocab_size, 2));
        for step in 0..4 {
            let t = sampler.sample(step);
            for b in 0..=255u8 {
                assert_eq!(&*t.pieces()[usize::from(b)], &[b]);
            }
            assert!(
                t.pieces()[256..]
                    .iter()
                    .all(|p| p.len() >= 2 && p.len() <= 15)
            );
            let whitespace = t.pieces()[256..]
                .iter()
                .filter(|p| {
                    std::str::from_utf8(p).is_ok_and(|s| s.chars().all(char::is_whitespace))
                })
                .count();
            assert!(
                t.len() <= 256 + whitespace + vocab_size,
                "{} pieces",
                t.len()
            );
            assert!(t.log_probs().iter().all(|lp| lp.is_finite()));
            // Multi-byte ids are in descending log-prob order.
            assert!(t.log_probs()[256..].windows(2).all(|w| w[0] >= w[1]));
            let mut sorted = t.pieces().to_vec();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), t.len(), "pieces are distinct");
        }
    }
}

#[test]
fn whitespace_runs_are_always_in() {
    let mut sampler = TokenizerSampler::new(SamplerConfig {
        vocab_size: 1,
        ..SamplerConfig::default()
    })
    .unwrap();
    sampler
        .observe(&["a\n\n\n  b   c\u{3000}\u{3000}", "hello hello hello"])
        .unwrap();
    for step in 0..20 {
        let t = sampler.sample(step);
        // GPT-2 pieces: "a", "\n\n\n ", " b", "  ", " c", "\u{3000}\u{3000}", ...
        for run in ["\n\n", "\n\n\n", "\n\n\n ", "\n ", "  ", "\u{3000}\u{3000}"] {
            assert!(t.id_of(run.as_bytes()).is_some(), "{run:?} at step {step}");
        }
    }
}

#[test]
fn lossless_on_the_corpora() {
    let t = &*SAMPLED;
    for text in TEXTS.iter() {
        let ids = t.encode(text);
        assert_eq!(t.decode_bytes(&ids).unwrap(), text.as_bytes());
    }
}

#[test]
fn queue_forgets_old_batches() {
    let mut sampler = TokenizerSampler::new(SamplerConfig {
        queue_texts: 4,
        ..SamplerConfig::default()
    })
    .unwrap();
    sampler.observe(&["zqxjv once"]).unwrap();
    assert_eq!(sampler.count(b"zqxj"), 1);
    sampler.observe(&["one", "two"]).unwrap();
    assert_eq!(sampler.queued_texts(), 3);
    assert_eq!(sampler.count(b"zqxj"), 1);
    sampler.observe(&["three", "four"]).unwrap();
    assert_eq!(sampler.queued_texts(), 4);
    assert_eq!(sampler.queued_batches(), 2);
    assert_eq!(sampler.count(b"zqxj"), 0);
    assert_eq!(sampler.count(b"o"), 3, "one, two, four");
    // The newest batch stays even when it alone is over the limit.
    let big: Vec<String> = (0..6).map(|i| format!("word{i}")).collect();
    sampler.observe(&big).unwrap();
    assert_eq!(sampler.queued_texts(), 6);
    assert_eq!(sampler.queued_batches(), 1);
    assert_eq!(sampler.count(b"wo"), 6);
    assert_eq!(sampler.count(b"th"), 0);
    // Forgetting is exact: the totals equal those of a sampler that saw only the queue.
    let mut fresh = TokenizerSampler::new(SamplerConfig {
        queue_texts: 4,
        ..SamplerConfig::default()
    })
    .unwrap();
    fresh.observe(&big).unwrap();
    assert_eq!(fresh.distinct_pieces(), sampler.distinct_pieces());
    assert!(same(&fresh.sample(1), &sampler.sample(1)));
}

#[test]
fn crops_and_counts_within_pretokens_only() {
    let mut sampler = TokenizerSampler::new(SamplerConfig {
        crop_bytes: 11,
        max_piece_bytes: 4,
        ..SamplerConfig::default()
    })
    .unwrap();
    // Cropped to "ab cd éé" (10 bytes): 11 would end inside the third "é".
    sampler.observe(&["ab cd éééxyz"]).unwrap();
    assert_eq!(sampler.count(b"b c"), 0, "across pre-tokens");
    assert_eq!(sampler.count(b" cd"), 1);
    assert_eq!(sampler.count(" é".as_bytes()), 1);
    assert_eq!(sampler.count("é".as_bytes()), 2);
    assert_eq!(sampler.count(b"x"), 0, "cropped away");
    assert_eq!(
        sampler.count(" éé".as_bytes()),
        0,
        "longer than max_piece_bytes - 1"
    );
}

#[test]
fn config_errors() {
    let bad = [
        SamplerConfig {
            vocab_size: 0,
            ..SamplerConfig::default()
        },
        SamplerConfig {
            max_piece_bytes: 1,
            ..SamplerConfig::default()
        },
        SamplerConfig {
            max_piece_bytes: 17,
            ..SamplerConfig::default()
        },
        SamplerConfig {
            crop_bytes: 0,
            ..SamplerConfig::default()
        },
        SamplerConfig {
            queue_texts: 0,
            ..SamplerConfig::default()
        },
        SamplerConfig {
            noise_mu: f64::NAN,
            ..SamplerConfig::default()
        },
        SamplerConfig {
            noise_sigma: -1.0,
            ..SamplerConfig::default()
        },
        SamplerConfig {
            noise_sigma: f64::INFINITY,
            ..SamplerConfig::default()
        },
    ];
    for config in bad {
        let err = TokenizerSampler::new(config.clone()).unwrap_err();
        let (inner, hint) = err.split_hint();
        assert!(matches!(inner, Error::Config(_)), "{config:?}: {err}");
        assert!(hint.is_some(), "{config:?}: no hint");
    }
    assert!(
        TokenizerSampler::new(SamplerConfig {
            max_piece_bytes: 2,
            ..SamplerConfig::default()
        })
        .is_ok()
    );
    assert!(SampledTokenizer::from_pieces(vec![b"a".to_vec()], vec![0.0]).is_err());
}

/// The best total log-prob over all segmentations of `bytes`, by trying them all.
fn brute_force(t: &SampledTokenizer, bytes: &[u8], max_len: usize) -> f64 {
    fn go(t: &SampledTokenizer, bytes: &[u8], max_len: usize, start: usize, acc: f64) -> f64 {
        if start == bytes.len() {
            return acc;
        }
        let mut best = f64::NEG_INFINITY;
        for end in start + 1..=(start + max_len).min(bytes.len()) {
            if let Some(id) = t.id_of(&bytes[start..end]) {
                let lp = f64::from(t.log_probs()[id as usize]);
                best = best.max(go(t, bytes, max_len, end, acc + lp));
            }
        }
        best
    }
    go(t, bytes, max_len, 0, 0.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn viterbi_is_optimal(
        extra in prop::collection::btree_map("[abc]{2,4}", -16i32..0, 0..12),
        byte_scores in prop::collection::vec(-16i32..0, 3),
        text in "[abc]{0,10}",
    ) {
        // Quarter steps are exact in f32 and f64, so sums compare exactly.
        let mut pieces: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        let mut log_probs = vec![-8.0f32; 256];
        for (i, b) in (b'a'..=b'c').enumerate() {
            log_probs[usize::from(b)] = byte_scores[i] as f32 / 4.0;
        }
        for (piece, score) in &extra {
            pieces.push(piece.as_bytes().to_vec());
            log_probs.push(*score as f32 / 4.0);
        }
        let t = SampledTokenizer::from_pieces(pieces, log_probs).unwrap();
        let ids = t.viterbi(text.as_bytes());
        prop_assert_eq!(t.decode_bytes(&ids).unwrap(), text.as_bytes());
        let score: f64 = ids.iter().map(|&id| f64::from(t.log_probs()[id as usize])).sum();
        prop_assert_eq!(score, brute_force(&t, text.as_bytes(), 4));
    }

    #[test]
    fn round_trip_on_random_unicode(text in "\\PC{0,200}", ws in "[ \t\n\u{a0}\u{3000}]{0,8}") {
        let text = format!("{ws}{text}{ws}");
        let t = &*SAMPLED;
        let ids = t.encode(&text);
        prop_assert!(ids.iter().all(|&id| (id as usize) < t.len()));
        prop_assert_eq!(t.decode_bytes(&ids).unwrap(), text.as_bytes());
    }
}
