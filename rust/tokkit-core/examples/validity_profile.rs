//! Times `ByteVocab::valid_extensions` on one tokenizer: a profiling harness.
//!
//! `cargo run --release --example validity_profile -- TOKENIZER_JSON [TEXT...]`: for each text,
//! the context is the last three tokens of its encoding; every id is a candidate.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use tokkit_core::byteprobs::ByteVocab;

fn main() -> tokkit_core::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, texts @ ..] = args.as_slice() else {
        return Err(tokkit_core::Error::Config(
            "usage: validity_profile JSON TEXT...".into(),
        ));
    };
    let vocab =
        ByteVocab::from_json(&std::fs::read_to_string(path).expect("readable tokenizer file"))?;
    let all: Vec<u32> = (0..vocab.vocab_size() as u32).collect();
    let check = std::env::var("CHECK").is_ok();
    for text in texts {
        let text = text.replace("\\n", "\n");
        let ids = vocab.encode(&text);
        let ctx = &ids[ids.len().saturating_sub(3)..];
        vocab.clear_memo();
        let t = Instant::now();
        let mask = vocab.valid_extensions(ctx, &all)?;
        let us = t.elapsed().as_micros();
        let valid = mask.iter().filter(|&&b| b).count();
        print!("{text:?}: {us} µs, {valid} valid");
        if check {
            let t = Instant::now();
            let reference = vocab.valid_extensions_reference(ctx, &all)?;
            print!(
                ", reference {} µs, equal {}",
                t.elapsed().as_micros(),
                reference == mask
            );
        }
        println!();
    }
    Ok(())
}
