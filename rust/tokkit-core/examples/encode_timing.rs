//! Times the BPE encoder on one text: loading the `tokenizer.json`, pre-tokenization alone,
//! encoding without the piece cache, the whole encode in one call (the first with an empty
//! cache, the next ones warm), and the whole encode with an empty cache but every other table
//! warm (what filling the cache costs, apart from the process's first touches); prints seconds
//! and MB/s for each (one thread).
//!
//! `cargo run --release --example encode_timing -- TOKENIZER_JSON TEXT [REPS]`; for a profile,
//! `cargo build --profile profiling --example encode_timing` and run it under `perf record`.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use tokkit_core::encode::{BpeEncoder, PieceCache};
use tokkit_core::hf_json;

fn main() -> tokkit_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(json), Some(text)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: encode_timing TOKENIZER_JSON TEXT [REPS]");
        std::process::exit(2);
    };
    let reps: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(3);
    let json = std::fs::read_to_string(json).expect("readable tokenizer.json");
    let text = std::fs::read_to_string(text).expect("readable UTF-8 text");
    let mb = text.len() as f64 / 1e6;

    let start = Instant::now();
    let encoder = BpeEncoder::from_loaded(hf_json::from_json(&json)?)?;
    println!("load: {:.3} s", start.elapsed().as_secs_f64());

    for _ in 0..reps {
        let start = Instant::now();
        let mut pieces = 0usize;
        encoder.for_each_pretoken(&text, |_| pieces += 1);
        let pre = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let ids = encoder.encode(&text);
        let all = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let uncached = encoder.encode_cached(&text, None).len();
        let merge_all = start.elapsed().as_secs_f64();
        assert_eq!(ids.len(), uncached);
        let start = Instant::now();
        let fresh = encoder.encode_cached(&text, Some(&mut PieceCache::default()));
        let empty_cache = start.elapsed().as_secs_f64();
        assert_eq!(fresh, ids);
        println!(
            "pretokenize: {pre:.3} s ({:.1} MB/s, {pieces} pieces); encode: {all:.3} s ({:.1} \
             MB/s, {} ids); without the cache: {merge_all:.3} s; with an empty cache: \
             {empty_cache:.3} s",
            mb / pre,
            mb / all,
            ids.len()
        );
    }
    Ok(())
}
