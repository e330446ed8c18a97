//! Trains BPE on files from the command line and prints the timings: a profiling harness.
//!
//! `cargo run --profile profiling --example train_file -- VOCAB PRETOKENIZER FILES...`;
//! with `REPEAT=n` the merge loop runs n times on the same counts and the fastest is reported,
//! which keeps a noisy machine from hiding a change.

use tokkit_core::CancelToken;
use tokkit_core::pretokenize::Pretokenizer;
use tokkit_core::progress::Silent;
use tokkit_core::train::{BpeConfig, bpe, with_threads};
use tokkit_core::word_counts::count_files;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> tokkit_core::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [vocab, pre, files @ ..] = args.as_slice() else {
        return Err(tokkit_core::Error::Config(
            "usage: train_file VOCAB PRETOKENIZER FILES...".into(),
        ));
    };
    let repeat: usize = std::env::var("REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let pre = Pretokenizer::from_spec(pre)?;
    let config = BpeConfig {
        vocab_size: vocab.parse().unwrap_or(32_000),
        ..BpeConfig::default()
    };
    let files = tokkit_core::corpus::resolve(files, None)?;
    with_threads(None, || {
        let started = std::time::Instant::now();
        let (counter, _) = count_files(files, &pre, false, &Silent, &CancelToken::new())?;
        let count = started.elapsed().as_secs_f64();
        let words = counter.into_sorted();
        let mut best = f64::INFINITY;
        let mut merges = 0;
        for _ in 0..repeat {
            let started = std::time::Instant::now();
            merges = bpe::train(words.clone(), &config, &Silent, &CancelToken::new())?
                .model
                .merges
                .len();
            best = best.min(started.elapsed().as_secs_f64());
        }
        let line =
            format!("count {count:.3} s, merge (best of {repeat}) {best:.3} s, {merges} merges\n");
        std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes()).ok();
        Ok(())
    })
}
