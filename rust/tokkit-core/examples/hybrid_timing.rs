//! Times the hybrid encoder (design/hybrid.md §3) on `corpora/tr.txt`: a tokenizer trained (32k
//! ids) with the Turkish test fixture on `corpora/tr.txt`, or with a language directory on a
//! training text, each line encoded on one thread, then all lines as a batch on every worker;
//! prints MB/s, tokens per byte and tokens per whitespace word for each segmentation.
//!
//! `cargo run --release --example hybrid_timing [-- THREADS [LANG_DIR TRAIN_TEXT]]`, e.g.
//! `-- 2 python/tokkit/hybrid/langs/tr corpora/build/tr-train.txt` from the repository root, or
//! `-- THREADS --model DIR` to time a saved tokenizer (`DIR/hybrid.json`) without training.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use rayon::prelude::*;
use tokkit_core::CancelToken;
use tokkit_core::hybrid::encode::Scratch;
use tokkit_core::hybrid::{HybridModel, HybridTrainer, Kind, Language, Segmentation, train_hybrid};
use tokkit_core::progress::Silent;
use tokkit_core::train::{Corpus, with_threads};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn main() -> tokkit_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let threads = args.get(1).and_then(|a| a.parse().ok());
    let read = |p: &str| std::fs::read_to_string(p).expect("readable file");
    let corpus = format!("{ROOT}/../../corpora/tr.txt");
    if args.get(2).map(String::as_str) == Some("--model") {
        let dir = args.get(3).expect("--model DIR");
        let model = HybridModel::from_json(&read(&format!("{dir}/hybrid.json")))?;
        time(&model, &read(&corpus), threads)?;
        return Ok(());
    }
    let data = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| format!("{ROOT}/tests/data/hybrid"));
    let language = Language::from_json(&read(&format!("{data}/language.json")))?;
    let roots = language.parse_roots(&read(&format!("{data}/roots.tsv")))?;
    let train_text = args.get(3).cloned().unwrap_or_else(|| corpus.clone());
    let config = HybridTrainer::from_json(r#"{"algorithm": "hybrid", "vocab_size": 32768}"#)?;
    let trained = train_hybrid(
        &config,
        language,
        roots,
        Corpus::files([train_text.as_str()]),
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
    let words = text.split_whitespace().count();
    for mode in [
        Segmentation::BestPath,
        Segmentation::PurePath,
        Segmentation::LongestMatch,
    ] {
        let model = trained.model.with_segmentation(mode);
        // Tokens per whitespace word count the whole text at once, newlines included.
        let whole = model.encode(&text);
        let mut kinds = std::collections::BTreeMap::new();
        for &id in &whole {
            let kind = match model.kind(id) {
                Some(Kind::Piece(_)) => {
                    let b = model.token_bytes(id).unwrap_or_default();
                    if b.iter().all(u8::is_ascii_whitespace) {
                        "space-only piece"
                    } else if b.starts_with(b" ") {
                        "space-led piece"
                    } else {
                        "piece"
                    }
                }
                Some(k) => k.name(),
                None => "?",
            };
            *kinds.entry(kind).or_insert(0usize) += 1;
        }
        let per_word: Vec<String> = kinds
            .iter()
            .map(|(k, n)| format!("{k} {:.3}", *n as f64 / words as f64))
            .collect();
        println!("{:<13} per word: {}", mode.name(), per_word.join(", "));
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
            "{:<13} 1 thread {:6.2} MB/s  batch ({workers} threads) {:6.2} MB/s  {:.3} tokens/byte  \
             {:.3} tokens/word  {} fallbacks",
            mode.name(),
            mb / one,
            mb / batch,
            tokens as f64 / text.len() as f64,
            whole.len() as f64 / words as f64,
            scratch.fallbacks
        );
    }
    Ok(())
}

/// One call on the whole text (a fresh cache, as a new process has), each line on one thread,
/// then the lines as a batch; with the cache's hits and misses.
fn time(model: &HybridModel, text: &str, threads: Option<usize>) -> tokkit_core::Result<()> {
    let mb = text.len() as f64 / 1e6;
    let mut scratch = Scratch::default();
    let started = Instant::now();
    let n = model.encode_with(text, &mut scratch).len();
    let single = started.elapsed().as_secs_f64();
    println!(
        "one call   {:6.2} MB/s  {n} ids  {} hits  {} misses  {} fallbacks",
        mb / single,
        scratch.hits,
        scratch.misses,
        scratch.fallbacks
    );
    let lines: Vec<&str> = text.lines().collect();
    for _ in 0..2 {
        let started = Instant::now();
        let n: usize = lines.iter().map(|l| model.encode(l).len()).sum();
        let one = started.elapsed().as_secs_f64();
        let (batch, workers) = with_threads(threads, || {
            let started = Instant::now();
            let m: usize = lines.par_iter().map(|l| model.encode(l).len()).sum();
            assert_eq!(m, n);
            Ok((
                started.elapsed().as_secs_f64(),
                rayon::current_num_threads(),
            ))
        })?;
        println!(
            "lines      {:6.2} MB/s  batch ({workers} threads) {:6.2} MB/s",
            mb / one,
            mb / batch
        );
    }
    Ok(())
}
