//! Sharded training equals single-node training, byte for byte, for every algorithm; shards
//! cut at line boundaries cover each file exactly once.

use super::*;
use crate::hf_json;
use crate::train::{Corpus, train};

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora")
}

/// A directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A corpus of plain text, a gzip file and JSON lines, in a temporary directory of its own.
fn mixed_corpus() -> (TempDir, Vec<String>) {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = TempDir(std::env::temp_dir().join(format!(
        "tokkit-shards-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )));
    std::fs::create_dir_all(dir.path()).unwrap();
    let prose = std::fs::read_to_string(corpus_dir().join("en-prose.txt")).unwrap();
    let tech = std::fs::read_to_string(corpus_dir().join("en-tech.txt")).unwrap();
    let a = dir.path().join("a.txt");
    std::fs::write(&a, &prose[..200_000]).unwrap();
    let b = dir.path().join("b.txt.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&b).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&tech.as_bytes()[..60_000]).unwrap();
    gz.finish().unwrap();
    let c = dir.path().join("c.jsonl");
    let records: String = tech[60_000..160_000]
        .lines()
        .map(|l| format!("{}\n", serde_json::json!({ "text": l })))
        .collect();
    std::fs::write(&c, records).unwrap();
    let files = [a, b, c].map(|p| p.display().to_string()).to_vec();
    (dir, files)
}

fn single(config: &TrainerConfig, files: &[String]) -> String {
    let trained = train(
        config,
        Corpus::files(files.to_vec()),
        &Silent,
        &CancelToken::new(),
    )
    .unwrap();
    serde_json::to_string(&hf_json::to_json(&trained.model, &trained.pretokenizer)).unwrap()
}

fn sharded(config: &TrainerConfig, files: &[String], shard_bytes: u64) -> (String, usize) {
    let cancel = CancelToken::new();
    let shards = plan(config, files, None, shard_bytes).unwrap();
    let resolved: Vec<String> = files.to_vec();
    let count = |stage: &Stage| -> Vec<Vec<u8>> {
        shards
            .iter()
            .map(|s| count_file_shard(config, stage, s, None, false, &cancel).unwrap())
            .collect()
    };
    let tables = count(&Stage::Words);
    let refs: Vec<&[u8]> = tables.iter().map(Vec::as_slice).collect();
    let trained = if matches!(config, TrainerConfig::Superbpe(_)) {
        let stage1 = superbpe_stage1(config, refs, resolved, &Silent, &cancel).unwrap();
        let spans = count(&stage_from(Some(&stage1.model_bytes())).unwrap());
        let refs: Vec<&[u8]> = spans.iter().map(Vec::as_slice).collect();
        superbpe_stage2(config, stage1, refs, &Silent, &cancel).unwrap()
    } else {
        train_from_tables(config, refs, resolved, &Silent, &cancel).unwrap()
    };
    let json =
        serde_json::to_string(&hf_json::to_json(&trained.model, &trained.pretokenizer)).unwrap();
    (json, shards.len())
}

#[test]
fn every_algorithm_trains_the_same_tokenizer_from_shards() {
    let (_dir, files) = mixed_corpus();
    for json in [
        r#"{"algorithm": "bpe", "vocab_size": 1200, "special_tokens": ["<s>"]}"#,
        r#"{"algorithm": "superbpe", "vocab_size": 1400, "transition_point": 900}"#,
        r#"{"algorithm": "charbpe", "vocab_size": 1000, "max_token_chars": 3, "pad_tokens": 4}"#,
        r#"{"algorithm": "supertoken", "vocab_size": 1200, "seed": 7}"#,
    ] {
        let config = TrainerConfig::from_json(json).unwrap();
        let expected = single(&config, &files);
        let (got, shards) = sharded(&config, &files, 16_384);
        assert!(shards > 12, "{shards} shards");
        assert!(got == expected, "{json}: sharded training differs");
    }
}

#[test]
fn shards_cover_each_file_once_and_start_lines_where_they_say() {
    let (_dir, files) = mixed_corpus();
    let config =
        TrainerConfig::from_json(r#"{"algorithm": "supertoken", "vocab_size": 300}"#).unwrap();
    let shards = plan(&config, &files, None, 10_000).unwrap();
    let text = std::fs::read(&files[0]).unwrap();
    let mine: Vec<&FileShard> = shards.iter().filter(|s| s.file == 0).collect();
    assert_eq!(mine.first().unwrap().start, 0);
    assert_eq!(mine.last().unwrap().end, text.len() as u64);
    for pair in mine.windows(2) {
        assert_eq!(pair[0].end, pair[1].start);
        let at = pair[1].start as usize;
        assert_eq!(text[at - 1], b'\n', "a cut inside a line");
        let line = 1 + text[..at].iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(pair[1].first_line, Some(line));
    }
    // The gzip file is one shard.
    assert_eq!(shards.iter().filter(|s| s.file == 1).count(), 1);
    // Without document numbers, ranges do not know their lines (no read of the whole file).
    let bpe = TrainerConfig::from_json(r#"{"algorithm": "bpe", "vocab_size": 300}"#).unwrap();
    let shards = plan(&bpe, &files, None, 10_000).unwrap();
    assert!(
        shards
            .iter()
            .filter(|s| s.start > 0)
            .all(|s| s.first_line.is_none())
    );
}

#[test]
fn a_changed_file_and_a_foreign_stage_are_refused() {
    let (_dir, files) = mixed_corpus();
    let config = TrainerConfig::from_json(r#"{"algorithm": "bpe", "vocab_size": 300}"#).unwrap();
    let mut shard = plan(&config, &files, None, 1 << 30).unwrap().remove(0);
    shard.size += 1;
    let err = count_file_shard(
        &config,
        &Stage::Words,
        &shard,
        None,
        false,
        &CancelToken::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&format!("shard {} bytes 0..", files[0])),
        "{err}"
    );
    assert!(err.contains("when the shards were planned"), "{err}");
    // Tables of another configuration are refused by the driver.
    shard.size -= 1;
    let table = count_file_shard(
        &config,
        &Stage::Words,
        &shard,
        None,
        false,
        &CancelToken::new(),
    )
    .unwrap();
    let other = TrainerConfig::from_json(r#"{"algorithm": "bpe", "vocab_size": 301}"#).unwrap();
    let err = train_from_tables(
        &other,
        vec![table],
        files.clone(),
        &Silent,
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("another trainer configuration"),
        "{err}"
    );
    // Invalid UTF-8 under strict names the byte range.
    let bad = _dir.path().join("bad.txt");
    let mut bytes = b"fine\n".repeat(3000);
    bytes.extend_from_slice(b"\xff\xfe\n");
    std::fs::write(&bad, &bytes).unwrap();
    let shards = plan(&config, &[bad.display().to_string()], None, 4096).unwrap();
    let last = shards.last().unwrap();
    let err = count_file_shard(
        &config,
        &Stage::Words,
        last,
        None,
        true,
        &CancelToken::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&format!("bytes {}..{}", last.start, last.end)),
        "{err}"
    );
    assert!(err.contains("invalid UTF-8"), "{err}");
}

#[test]
fn texts_count_as_single_node_counts_them() {
    let prose = std::fs::read_to_string(corpus_dir().join("en-prose.txt")).unwrap();
    let texts: Vec<String> = prose.lines().take(3000).map(|l| format!("{l}\n")).collect();
    let config =
        TrainerConfig::from_json(r#"{"algorithm": "supertoken", "vocab_size": 900, "seed": 3}"#)
            .unwrap();
    struct Batches(Vec<String>, bool);
    impl crate::train::TextBatches for Batches {
        fn next_batch(&mut self) -> Result<Option<Vec<String>>> {
            if self.1 {
                return Ok(None);
            }
            self.1 = true;
            Ok(Some(self.0.clone()))
        }
    }
    let mut batches = Batches(texts.clone(), false);
    let corpus = Corpus {
        texts: Some(&mut batches),
        ..Corpus::default()
    };
    let one = train(&config, corpus, &Silent, &CancelToken::new()).unwrap();
    let cancel = CancelToken::new();
    let tables: Vec<Vec<u8>> = texts
        .chunks(700)
        .enumerate()
        .map(|(i, chunk)| {
            count_texts(&config, &Stage::Words, chunk, (i * 700) as u64, &cancel).unwrap()
        })
        .collect();
    let refs: Vec<&[u8]> = tables.iter().map(Vec::as_slice).collect();
    let many = train_from_tables(&config, refs, Vec::new(), &Silent, &cancel).unwrap();
    assert_eq!(one.model.merges, many.model.merges);
    assert_eq!(one.report.pieces, many.report.pieces);
}
