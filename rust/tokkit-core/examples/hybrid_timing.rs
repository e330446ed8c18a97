//! Times the hybrid encoder (design/hybrid.md §3) on `corpora/tr.txt`: a tokenizer trained on
//! it with the Turkish test fixture (32k ids), each line encoded on one thread, then all lines
//! as a batch on every worker; prints MB/s and tokens per byte for each segmentation.
//!
//! `cargo run --release --example hybrid_timing [-- THREADS]`

#![allow(clippy::print_stdout)]

use std::time::Instant;

use rayon::prelude::*;
use tokkit_core::CancelToken;
use tokkit_core::hybrid::encode::Scratch;
use tokkit_core::hybrid::{HybridTrainer, Language, Segmentation, train_hybrid};
use tokkit_core::progress::Silent;
use tokkit_core::train::{Corpus, with_threads};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn main() -> tokkit_core::Result<()> {
    let threads = std::env::args().nth(1).and_then(|a| a.parse().ok());
    let data = format!("{ROOT}/tests/data/hybrid");
    let read = |p: &str| std::fs::read_to_string(p).expect("shipped file");
    let language = Language::from_json(&read(&format!("{data}/language.json")))?;
    let roots = language.parse_roots(&read(&format!("{data}/roots.tsv")))?;
    let corpus = format!("{ROOT}/../../corpora/tr.txt");
    let config = HybridTrainer::from_json(r#"{"algorithm": "hybrid", "vocab_size": 32768}"#)?;
    let trained = train_hybrid(
        &config,
        language,
        roots,
        Corpus::files([corpus.as_str()]),
        &Silent,
        &CancelToken::new(),
    )?;
    println!(
        "{}",
        serde_json::to_string(&trained.report).expect("report")
    );
    let text = read(&corpus);
    let lines: Vec<&str> = text.lines().collect();
    let mb = text.len() as f64 / 1e6;
    for mode in [
        Segmentation::BestPath,
        Segmentation::PurePath,
        Segmentation::LongestMatch,
    ] {
        let model = trained.model.with_segmentation(mode);
        let mut scratch = Scratch::default();
        let started = Instant::now();
        let tokens: usize = lines
            .iter()
            .map(|l| model.encode_with(l, &mut scratch).len())
            .sum();
        let one = started.elapsed().as_secs_f64();
        let (batch, workers) = with_threads(threads, || {
            let started = Instant::now();
            let n: usize = lines
                .par_iter()
                .map_init(Scratch::default, |s, l| model.encode_with(l, s).len())
                .sum();
            assert_eq!(n, tokens);
            Ok((
                started.elapsed().as_secs_f64(),
                rayon::current_num_threads(),
            ))
        })?;
        println!(
            "{:<13} 1 thread {:6.2} MB/s  batch ({workers} threads) {:6.2} MB/s  {:.3} tokens/byte  {} fallbacks",
            mode.name(),
            mb / one,
            mb / batch,
            tokens as f64 / text.len() as f64,
            scratch.fallbacks
        );
    }
    Ok(())
}
