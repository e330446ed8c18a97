//! Criterion benches of the hot paths on the shipped corpora: GPT-2 pre-tokenization, word
//! counting, and the merge loop. The end-to-end comparison with other trainers lives in
//! `bench/train_bench.py`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokkit_core::pretokenize::Pretokenizer;
use tokkit_core::progress::Silent;
use tokkit_core::train::{BpeConfig, bpe};
use tokkit_core::word_counts::Counter;

fn corpus() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora");
    ["en-prose.txt", "en-tech.txt", "code.txt"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(format!("{dir}/{f}")).ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    let text = corpus();
    let mut group = c.benchmark_group("bpe");
    group.throughput(Throughput::Bytes(text.len() as u64));
    for spec in ["gpt2", "llama3"] {
        let pre = Pretokenizer::from_spec(spec).unwrap();
        group.bench_function(format!("split/{spec}"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for line in text.split_inclusive('\n') {
                    pre.split(line, |_| n += 1);
                }
                black_box(n)
            });
        });
    }
    let pre = Pretokenizer::from_spec("gpt2").unwrap();
    group.bench_function("count/gpt2", |b| {
        b.iter(|| {
            let mut counter = Counter::default();
            for line in text.split_inclusive('\n') {
                counter.add_sequence(&pre, line);
            }
            black_box(counter.distinct())
        });
    });
    let mut counter = Counter::default();
    for line in text.split_inclusive('\n') {
        counter.add_sequence(&pre, line);
    }
    let words = counter.into_sorted();
    let config = BpeConfig {
        vocab_size: 8000,
        ..BpeConfig::default()
    };
    group.sample_size(10);
    group.bench_function("merge/8k", |b| {
        b.iter(|| {
            black_box(
                bpe::train(
                    words.clone(),
                    &config,
                    &Silent,
                    &tokkit_core::CancelToken::new(),
                )
                .unwrap()
                .model
                .merges
                .len(),
            )
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
