//! Times `encode_each` on the lines of one text, on one worker and on two (a rayon pool each,
//! blocks of 1024 lines, as the Python batch call hands them out), alternating, first call
//! cold; prints seconds and the speed-up. Python's side (taking strings out, making lists)
//! is not in it: the ratio is the Rust encoder's own scaling.
//!
//! `cargo run --release --example batch_timing -- TOKENIZER_JSON TEXT [REPS]`

#![allow(clippy::print_stdout)]

use std::time::Instant;

use rayon::prelude::*;
use tokkit_core::encode::BpeEncoder;
use tokkit_core::hf_json;

fn main() -> tokkit_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(json), Some(text)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: batch_timing TOKENIZER_JSON TEXT [REPS]");
        std::process::exit(2);
    };
    let reps: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(3);
    let json = std::fs::read_to_string(json).expect("readable tokenizer.json");
    let text = std::fs::read_to_string(text).expect("readable UTF-8 text");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let pools: Vec<rayon::ThreadPool> = [1, 2]
        .iter()
        .map(|&n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("a pool")
        })
        .collect();
    for workers in [1usize, 2] {
        // A fresh encoder per series, so each series' first call is cold.
        let encoder = BpeEncoder::from_loaded(hf_json::from_json(&json)?)?;
        let pool = &pools[workers - 1];
        for rep in 0..reps {
            let start = Instant::now();
            let ids: usize = pool.install(|| {
                lines
                    .par_chunks(1024)
                    .map(|part| {
                        let (mut ids, mut ends) = (Vec::new(), Vec::new());
                        encoder.encode_each(part, &mut ids, &mut ends);
                        ids.len()
                    })
                    .sum()
            });
            let which = if rep == 0 { "cold" } else { "warm" };
            println!(
                "{workers} worker(s), {which}: {:.3} s ({ids} ids)",
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
