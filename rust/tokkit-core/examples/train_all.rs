//! Trains every algorithm from Rust, the way `tokkit train` does, and writes each
//! `tokenizer.json`: a trainer configuration (JSON, as a recipe or `tokkit.json` holds it) and a
//! corpus go into `train::train`.
//!
//! `cargo run --release --example train_all -- OUT_DIR FILES...`

use tokkit_core::progress::Silent;
use tokkit_core::train::{Corpus, TrainerConfig, train, with_threads};
use tokkit_core::{CancelToken, hf_json};

const CONFIGS: &[&str] = &[
    r#"{"algorithm": "bpe", "vocab_size": 4000, "special_tokens": ["<|endoftext|>"]}"#,
    r#"{"algorithm": "superbpe", "vocab_size": 4000, "transition_point": 0.75}"#,
    r#"{"algorithm": "charbpe", "vocab_size": 2048, "max_token_chars": 3, "pad_tokens": 13}"#,
    r#"{"algorithm": "supertoken", "vocab_size": 4000, "seed": 1}"#,
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, files @ ..] = args.as_slice() else {
        return Err("usage: train_all OUT_DIR FILES...".into());
    };
    if files.is_empty() {
        return Err("usage: train_all OUT_DIR FILES...".into());
    }
    std::fs::create_dir_all(out)?;
    for text in CONFIGS {
        let config = TrainerConfig::from_json(text)?;
        let trained = with_threads(None, || {
            train(
                &config,
                Corpus::files(files.iter().cloned()),
                &Silent,
                &CancelToken::new(),
            )
        })?;
        let path = format!("{out}/{}.json", config.algorithm());
        let json = hf_json::to_json(&trained.model, &trained.pretokenizer);
        std::fs::write(&path, serde_json::to_string_pretty(&json)?)?;
        let line = format!(
            "{}: {} ids, {} merges, stopped: {:?}, {} corpus tokens -> {path}\n",
            config.algorithm(),
            trained.model.tokens.len(),
            trained.model.merges.len(),
            trained.report.stop_reason,
            trained.report.corpus_tokens,
        );
        std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes())?;
    }
    Ok(())
}
