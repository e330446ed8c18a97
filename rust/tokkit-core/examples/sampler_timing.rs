//! Times one ZeTT training step's worth of tokenizer sampling on the shipped corpora: with the
//! queue full (2048 texts of 2 KB), `observe` of a batch of 32 texts, `sample`, and
//! `encode_batch` of those 32 texts.
//!
//! `cargo run --release --example sampler_timing [-- THREADS]`

#![allow(clippy::print_stdout)]

use std::time::Instant;

use tokkit_core::sampler::{SamplerConfig, TokenizerSampler};

const CORPORA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora");

fn main() -> tokkit_core::Result<()> {
    let threads = std::env::args().nth(1).and_then(|a| a.parse().ok());
    // 2 KB texts cut from the corpora, round-robin over the files. The corpora hold fewer than
    // the 2,368 texts needed, so each further pass over a file shifts its ASCII letters by 7
    // more (a Caesar shift): new words, as in real data, rather than repeated ones, which would
    // make the counts denser (fewer distinct substrings) than a real queue's.
    let files = ["en-prose.txt", "en-tech.txt", "code.txt", "tr.txt"]
        .map(|f| std::fs::read_to_string(format!("{CORPORA}/{f}")).expect("shipped corpus"));
    let mut texts: Vec<String> = Vec::new();
    for i in 0..2048 + 32 * 10 {
        let file = &files[i % files.len()];
        let offset = i / files.len() * 2048;
        let mut start = offset % (file.len() - 4096);
        let shift = u8::try_from((offset / (file.len() - 4096)) * 7 % 26).expect("below 26");
        while !file.is_char_boundary(start) {
            start += 1;
        }
        let mut end = start + 2048;
        while !file.is_char_boundary(end) {
            end += 1;
        }
        let rotate = |c: char| match c {
            'a'..='z' => char::from(b'a' + (c as u8 - b'a' + shift) % 26),
            'A'..='Z' => char::from(b'A' + (c as u8 - b'A' + shift) % 26),
            _ => c,
        };
        texts.push(file[start..end].chars().map(rotate).collect());
    }
    let mut sampler = TokenizerSampler::new(SamplerConfig {
        threads,
        ..SamplerConfig::default()
    })?;
    let t = Instant::now();
    for batch in texts[..2048].chunks(32) {
        sampler.observe(batch)?;
    }
    println!(
        "filled the queue: {} texts, {} distinct substrings, in {:.2} s",
        sampler.queued_texts(),
        sampler.distinct_pieces(),
        t.elapsed().as_secs_f64()
    );
    for (step, batch) in texts[2048..].chunks(32).enumerate() {
        let t0 = Instant::now();
        sampler.observe(batch)?;
        let t1 = Instant::now();
        let tokenizer = sampler.sample(step as u64);
        let t2 = Instant::now();
        let ids = tokenizer.encode_batch(batch, threads)?;
        let t3 = Instant::now();
        let tokens: usize = ids.iter().map(Vec::len).sum();
        println!(
            "step {step}: observe {:.1} ms, sample {:.1} ms, encode_batch {:.1} ms, total {:.1} ms; \
             vocab {}, noise std {:.2e}, {tokens} tokens",
            (t1 - t0).as_secs_f64() * 1e3,
            (t2 - t1).as_secs_f64() * 1e3,
            (t3 - t2).as_secs_f64() * 1e3,
            (t3 - t0).as_secs_f64() * 1e3,
            tokenizer.len(),
            tokenizer.noise_std(),
        );
    }
    Ok(())
}
