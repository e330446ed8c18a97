//! Target `corpus_reader`: arbitrary bytes as a corpus file, read and counted.
//!
//! The first input byte is a mode, the rest the content:
//! - bit 0: the file is JSON lines (`.jsonl`, field `text`) instead of plain lines;
//! - bit 1: the file is named `.gz` and the content written as it is (mostly a corrupt gzip);
//! - bit 3: the file is named `.gz` and the content written gzip-compressed (a valid gzip);
//! - bit 2: strict (invalid UTF-8 is an error instead of a skipped line);
//! - bit 4: the content is preceded by filler lines that end just before the reader's block
//!   size, so it straddles the boundary where a block carries an unfinished line over.
//!
//! Reading must end in an error or a count, never a panic. When it succeeds, the blocks of
//! [`BlockReader`] must be the content exactly, line-aligned and numbered, its sha256 and byte
//! count must match, and [`count_files`] over plain lines must see every line once.

use std::io::Write;
use std::path::PathBuf;
use std::sync::LazyLock;

use tokkit_core::CancelToken;
use tokkit_core::corpus::{BLOCK_SIZE, BlockReader, StreamHasher, resolve};
use tokkit_core::pretokenize::Pretokenizer;
use tokkit_core::progress::Silent;
use tokkit_core::word_counts::count_files;

/// A directory of this process's own: parallel fuzzers never share a file.
static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("tokkit-fuzz-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
});

thread_local! {
    /// A file-name prefix of this thread's own: `cargo test` runs targets on several threads.
    static PREFIX: String = format!("{:?}", std::thread::current().id())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
}

static PRETOKENIZER: LazyLock<Pretokenizer> =
    LazyLock::new(|| Pretokenizer::from_spec("gpt2").expect("the built-in gpt2 pre-tokenizer"));

/// One worker, so a run is deterministic (the fuzzer measures coverage per input).
static POOL: LazyLock<rayon::ThreadPool> = LazyLock::new(|| {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool")
});

fn sha256_hex(bytes: &[u8]) -> String {
    let mut h = StreamHasher::default();
    h.update(bytes);
    h.hex()
}

/// Filler lines that end `slack` bytes before [`BLOCK_SIZE`].
fn filler(slack: usize) -> Vec<u8> {
    let len = BLOCK_SIZE - slack;
    let mut out = Vec::with_capacity(len);
    while out.len() + 32 < len {
        out.extend_from_slice(b"filler line, all ascii words 01\n");
    }
    out.resize(len - 1, b'x');
    out.push(b'\n');
    out
}

/// Runs the target on one input.
///
/// # Panics
/// When a successful read does not give back the content: that is the finding.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let jsonl = mode & 1 != 0;
    let raw_gz = mode & 2 != 0;
    let strict = mode & 4 != 0;
    let wrap_gz = mode & 8 != 0 && !raw_gz;
    let pad = mode & 16 != 0;

    let mut content = Vec::new();
    if pad {
        // Slack 1..=64 bytes, from the high bits of the mode, so the fuzzer can move the cut.
        content = filler(1 + usize::from(mode >> 5) * 9);
    }
    content.extend_from_slice(rest);
    let name = format!(
        "{}.{}{}",
        PREFIX.with(String::clone),
        if jsonl { "jsonl" } else { "txt" },
        if raw_gz || wrap_gz { ".gz" } else { "" }
    );
    let path = DIR.join(name);
    let on_disk = if wrap_gz {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&content).expect("writing to memory");
        gz.finish().expect("writing to memory")
    } else {
        content.clone()
    };
    std::fs::write(&path, &on_disk).expect("the temporary file");

    let files = resolve(&[path.display().to_string()], None).expect("the file just written");
    let mut reader = BlockReader::new(files.clone());
    let mut seen = Vec::new();
    let mut line = 1u64;
    let read_all = loop {
        match reader.next_block() {
            Ok(Some(block)) => {
                assert_eq!(block.file, 0, "one file, index 0");
                assert_eq!(
                    block.first_line, line,
                    "blocks are numbered by their first line"
                );
                line += block.data.iter().filter(|&&b| b == b'\n').count() as u64;
                seen.extend_from_slice(&block.data);
                // Every block but the last ends a line; the last is the end of the file.
                if !block.data.ends_with(b"\n") {
                    assert!(
                        matches!(reader.next_block(), Ok(None)),
                        "a block that does not end a line must be the file's last"
                    );
                    break true;
                }
            }
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    if read_all {
        if !raw_gz {
            // A corrupt gzip may still decode to something; any other file reads as written.
            assert!(seen == content, "the blocks are not the file's content");
        }
        assert_eq!(reader.bytes_read(), seen.len() as u64);
        assert_eq!(reader.sha256_hex(), sha256_hex(&seen));
    }

    let counted =
        POOL.install(|| count_files(files, &*PRETOKENIZER, strict, &Silent, &CancelToken::new()));
    match counted {
        Ok((counter, sha)) => {
            assert!(read_all, "counting succeeded where reading failed");
            assert_eq!(sha, sha256_hex(&seen));
            if !jsonl {
                let lines = seen.split_inclusive(|&b| b == b'\n').count() as u64;
                assert_eq!(counter.sequences, lines, "every line is one sequence");
                let valid: u64 = seen
                    .split_inclusive(|&b| b == b'\n')
                    .filter(|l| std::str::from_utf8(l).is_ok())
                    .map(|l| l.len() as u64)
                    .sum();
                assert_eq!(
                    counter.bytes, valid,
                    "every byte of a valid line is counted"
                );
            }
        }
        Err(_) => {
            // An error is fine; a read that succeeded must then fail to count for a reason the
            // content gives (strict UTF-8, a bad JSON line), which the fuzzer need not check.
        }
    }
}
