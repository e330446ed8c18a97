//! Times loading a BPE `tokenizer.json` in its stages: reading the file, parsing it into the
//! encoder's parts ([`hf_json::from_json`]), building the encoder, and dropping it all; prints
//! seconds for each, the best of REPS runs. `--typed` also times the typed file
//! ([`TokenizerJson::parse`] and [`hf_json::from_typed`], the path of `tokkit extend`).
//!
//! `cargo run --release --example load_timing -- TOKENIZER_JSON [REPS]`; for a profile,
//! `cargo build --profile profiling --example load_timing` and run it under `perf record`.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use tokkit_core::encode::BpeEncoder;
use tokkit_core::hf_json::{self, TokenizerJson};

fn main() -> tokkit_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let typed = args.iter().any(|a| a == "--typed");
    let args: Vec<&String> = args.iter().filter(|a| *a != "--typed").collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: load_timing TOKENIZER_JSON [REPS] [--typed]");
        std::process::exit(2);
    };
    let reps: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let mut best = [f64::INFINITY; 6];
    for _ in 0..reps {
        let t0 = Instant::now();
        let text = std::fs::read_to_string(path).expect("readable tokenizer.json");
        let t1 = Instant::now();
        let loaded = hf_json::from_json(&text)?;
        let t2 = Instant::now();
        let encoder = BpeEncoder::from_loaded(loaded)?;
        let t3 = Instant::now();
        drop(encoder);
        let t4 = Instant::now();
        let mut stages = vec![t1 - t0, t2 - t1, t3 - t2, t4 - t3];
        if typed {
            let root = TokenizerJson::parse(&text)?;
            let t5 = Instant::now();
            let loaded = hf_json::from_typed(&root)?;
            let t6 = Instant::now();
            drop((loaded, root));
            stages.extend([t5 - t4, t6 - t5]);
        }
        for (b, s) in best.iter_mut().zip(stages) {
            *b = b.min(s.as_secs_f64());
        }
    }
    let [read, from_json, build, drop, parse_typed, from_typed] = best;
    println!(
        "read {read:.3} s, from_json {from_json:.3} s, encoder {build:.3} s, drop {drop:.3} s; \
         read+from_json+encoder {:.3} s",
        read + from_json + build
    );
    if typed {
        println!("typed: parse {parse_typed:.3} s, from_typed {from_typed:.3} s");
    }
    Ok(())
}
