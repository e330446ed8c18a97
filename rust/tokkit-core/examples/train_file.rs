//! Trains BPE on files from the command line and prints the timings: a profiling harness
//! (`cargo run --profile profiling --example train_file -- VOCAB PRETOKENIZER FILES...`).

use tokkit_core::CancelToken;
use tokkit_core::pretokenize::Pretokenizer;
use tokkit_core::progress::Silent;
use tokkit_core::train::{BpeConfig, train_bpe_from_files, with_threads};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> tokkit_core::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [vocab, pre, files @ ..] = args.as_slice() else {
        return Err(tokkit_core::Error::Config(
            "usage: train_file VOCAB PRETOKENIZER FILES...".into(),
        ));
    };
    let pre = Pretokenizer::from_spec(pre)?;
    let config = BpeConfig {
        vocab_size: vocab.parse().unwrap_or(32_000),
        ..BpeConfig::default()
    };
    let (model, report) = with_threads(None, || {
        train_bpe_from_files(
            files,
            None,
            false,
            &pre,
            &config,
            &Silent,
            &CancelToken::new(),
        )
    })?;
    let line = serde_json::to_string(&report).unwrap_or_default();
    std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("{line}\n{} merges\n", model.merges.len()).as_bytes(),
    )
    .ok();
    Ok(())
}
