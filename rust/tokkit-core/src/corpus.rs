//! Corpus inputs: resolving paths, directories and globs to files, and reading them as a stream
//! of line-aligned blocks (plain text, `.gz`, JSON lines), hashing what was read on the way.
//!
//! Memory stays bounded by the block size times the number of blocks in flight, whatever the
//! corpus size. Blocks never split a line and never span two files, so every sequence (a line
//! with its line ending, as HF `train_from_files` sees it, or one JSON record) is whole in one
//! block.

use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cancel::CancelToken;
use crate::error::{Error, Result};

/// Target size of one block; the last line is completed past it.
pub const BLOCK_SIZE: usize = 1 << 20;

/// How one file's content is cut into sequences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// Each line, with its line ending, is one sequence.
    Lines,
    /// Each line is a JSON object; the string field `field` is one sequence.
    JsonLines {
        /// The field holding the text.
        field: String,
    },
}

/// One resolved input file.
#[derive(Clone, Debug)]
pub struct InputFile {
    /// Where it is.
    pub path: PathBuf,
    /// Whether it is gzip-compressed (by its `.gz` suffix).
    pub gzip: bool,
    /// How its content is cut into sequences.
    pub format: Format,
    /// Size on disk in bytes.
    pub size: u64,
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Walks `dir` in sorted order. A directory reached twice (through a symbolic link, or a link
/// loop) is walked once: `seen` holds the canonical path of every directory walked.
fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    seen: &mut std::collections::HashSet<PathBuf>,
) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    if !seen.insert(std::fs::canonicalize(dir).map_err(io)?) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        if is_hidden(&path) {
            continue;
        }
        if path.is_dir() {
            walk(&path, out, seen)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Resolves each input (a file, a directory walked recursively in sorted order without hidden
/// entries, or a glob expanded in sorted order) to files, keeping the inputs' order.
/// `text_field` selects the field of `.jsonl`/`.ndjson` files (default `text`).
///
/// # Errors
/// [`Error::NotFound`] for a path that does not exist or a glob that matches no file;
/// [`Error::Corpus`] if nothing at all was given.
pub fn resolve(inputs: &[String], text_field: Option<&str>) -> Result<Vec<InputFile>> {
    if inputs.is_empty() {
        return Err(Error::Corpus(
            "no corpus given: pass one or more files, directories or globs".into(),
        ));
    }
    let mut paths = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        if path.is_dir() {
            let before = paths.len();
            walk(path, &mut paths, &mut std::collections::HashSet::new())?;
            if paths.len() == before {
                return Err(Error::Corpus(format!("directory {input} has no files")));
            }
        } else if path.is_file() {
            paths.push(path.to_owned());
        } else if path.exists() {
            return Err(Error::Corpus(format!(
                "{input} is neither a file nor a directory (a device, pipe or socket); tokkit \
                 reads corpus files"
            ))
            .with_hint("save the text to a file first"));
        } else if input.contains(['*', '?', '[']) {
            let mut matched: Vec<PathBuf> = glob::glob(input)
                .map_err(|e| Error::Config(format!("invalid glob {input:?}: {e}")))?
                .filter_map(std::result::Result::ok)
                .filter(|p| p.is_file())
                .collect();
            matched.sort();
            if matched.is_empty() {
                return Err(Error::NotFound {
                    path: path.to_owned(),
                });
            }
            paths.extend(matched);
        } else {
            return Err(Error::NotFound {
                path: path.to_owned(),
            });
        }
    }
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let gzip = name.ends_with(".gz");
            let stem = name.strip_suffix(".gz").unwrap_or(&name);
            let format = if stem.ends_with(".jsonl") || stem.ends_with(".ndjson") {
                Format::JsonLines {
                    field: text_field.unwrap_or("text").to_owned(),
                }
            } else {
                Format::Lines
            };
            let size = std::fs::metadata(&path)
                .map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?
                .len();
            Ok(InputFile {
                path,
                gzip,
                format,
                size,
            })
        })
        .collect()
}

/// sha256 over a stream of bytes, reported as lower-case hex.
#[derive(Clone, Debug, Default)]
pub struct StreamHasher(Sha256);

impl StreamHasher {
    /// Adds bytes to the stream.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The hex digest of everything added so far.
    #[must_use]
    pub fn hex(&self) -> String {
        use std::fmt::Write;
        self.0
            .clone()
            .finalize()
            .iter()
            .fold(String::with_capacity(64), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }
}

/// A line-aligned piece of one input file.
#[derive(Debug)]
pub struct Block {
    /// Raw bytes, ending with `\n` unless it is the end of the file.
    pub data: Vec<u8>,
    /// Index of the file in the reader's list.
    pub file: usize,
    /// Number of the file in the whole corpus, for document numbers (the index, unless the
    /// reader reads one shard of a larger corpus).
    pub number: u64,
    /// 1-based line number of the block's first line in its file.
    pub first_line: u64,
}

/// Reads resolved files as a stream of blocks and hashes all bytes read (after decompression)
/// in input order.
pub struct BlockReader {
    files: Vec<InputFile>,
    current: usize,
    reader: Option<Box<dyn Read + Send>>,
    carry: Vec<u8>,
    line: u64,
    hasher: StreamHasher,
    bytes: u64,
    number_from: u64,
}

impl BlockReader {
    /// A reader over `files`, in order.
    #[must_use]
    pub fn new(files: Vec<InputFile>) -> Self {
        Self {
            files,
            current: 0,
            reader: None,
            carry: Vec::new(),
            line: 1,
            hasher: StreamHasher::default(),
            bytes: 0,
            number_from: 0,
        }
    }

    /// A reader of the bytes `start..end` of `file` only, which must begin a line, whose first
    /// line is line `first_line` of the file and which is file `number` of the whole corpus
    /// (the shard of sharded training). A compressed file is read whole (`start` 0).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be opened or sought; [`Error::Config`] for a range
    /// inside a compressed file.
    pub fn for_range(
        file: InputFile,
        start: u64,
        end: u64,
        first_line: u64,
        number: u64,
    ) -> Result<Self> {
        use std::io::{Seek, SeekFrom};
        let path = file.path.clone();
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let reader: Box<dyn Read + Send> = if file.gzip {
            if start != 0 {
                return Err(Error::Config(format!(
                    "{} is compressed and is read whole, not from byte {start}",
                    path.display()
                )));
            }
            Self::open(&file)?
        } else {
            let mut f = File::open(&path).map_err(io)?;
            f.seek(SeekFrom::Start(start)).map_err(io)?;
            Box::new(BufReader::with_capacity(BLOCK_SIZE, f).take(end.saturating_sub(start)))
        };
        Ok(Self {
            files: vec![file],
            current: 0,
            reader: Some(reader),
            carry: Vec::new(),
            line: first_line,
            hasher: StreamHasher::default(),
            bytes: 0,
            number_from: number,
        })
    }

    /// The resolved files.
    #[must_use]
    pub fn files(&self) -> &[InputFile] {
        &self.files
    }

    /// Bytes read so far (decompressed).
    #[must_use]
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The sha256 (hex) of everything read, in order; call after the last block.
    #[must_use]
    pub fn sha256_hex(&self) -> String {
        self.hasher.hex()
    }

    fn open(file: &InputFile) -> Result<Box<dyn Read + Send>> {
        let f = File::open(&file.path).map_err(|source| Error::Io {
            path: file.path.clone(),
            source,
        })?;
        let buffered = BufReader::with_capacity(BLOCK_SIZE, f);
        Ok(if file.gzip {
            Box::new(flate2::read::MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        })
    }

    /// The next block, or `None` at the end of the last file.
    ///
    /// # Errors
    /// [`Error::Io`] if a file cannot be opened or read (including a corrupt `.gz`).
    pub fn next_block(&mut self) -> Result<Option<Block>> {
        loop {
            if self.current >= self.files.len() {
                return Ok(None);
            }
            if self.reader.is_none() {
                self.reader = Some(Self::open(&self.files[self.current])?);
                self.line = 1;
            }
            let path = &self.files[self.current].path;
            let mut data = std::mem::take(&mut self.carry);
            let start = data.len();
            data.resize(start + BLOCK_SIZE, 0);
            let mut filled = start;
            let reader = self.reader.as_mut().expect("opened above");
            while filled < data.len() {
                let n = reader
                    .read(&mut data[filled..])
                    .map_err(|source| Error::Io {
                        path: path.clone(),
                        source,
                    })?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            data.truncate(filled);
            self.hasher.update(&data[start..]);
            self.bytes += (filled - start) as u64;
            let eof = filled < start + BLOCK_SIZE;
            if !eof {
                // Keep the unfinished last line for the next block.
                match memchr::memrchr(b'\n', &data) {
                    Some(pos) => self.carry = data.split_off(pos + 1),
                    None => {
                        // A line longer than a block: keep reading until it ends.
                        self.carry = data;
                        continue;
                    }
                }
            }
            let file = self.current;
            if eof {
                self.reader = None;
                self.current += 1;
            }
            if data.is_empty() {
                continue;
            }
            let first_line = self.line;
            self.line += memchr::memchr_iter(b'\n', &data).count() as u64;
            return Ok(Some(Block {
                data,
                file,
                number: self.number_from + file as u64,
                first_line,
            }));
        }
    }
}

/// Cuts one block into its documents and calls `f(text, document)` for each, in order, until
/// `f` breaks.
///
/// Plain text: each line with its line ending. JSON lines: the string field of each object,
/// blank lines skipped. Documents are numbered `(file << 40) | line` (the block's file index and
/// 1-based line number), whoever reads them, so random chunking picks the same stream for a
/// document whichever worker sees it. A line that is not valid UTF-8 (or a JSON line whose text
/// is not Unicode) is skipped and counted, or is an error under `strict`. Returns the number of
/// lines skipped that way (before `f` broke, if it did).
///
/// # Errors
/// [`Error::Corpus`] for invalid UTF-8 under `strict`, a JSON line that is not an object, or
/// one without the string field.
pub fn for_each_document(
    block: &Block,
    file: &InputFile,
    strict: bool,
    mut f: impl FnMut(&str, u64) -> ControlFlow<()>,
) -> Result<u64> {
    let document = |i: usize| (block.number << 40) | (block.first_line + i as u64);
    let mut skipped = 0;
    match &file.format {
        Format::Lines => {
            if let Ok(text) = std::str::from_utf8(&block.data) {
                for (i, line) in text.split_inclusive('\n').enumerate() {
                    if f(line, document(i)).is_break() {
                        break;
                    }
                }
                return Ok(0);
            }
            for (i, line) in block.data.split_inclusive(|&b| b == b'\n').enumerate() {
                match std::str::from_utf8(line) {
                    Ok(text) => {
                        if f(text, document(i)).is_break() {
                            break;
                        }
                    }
                    Err(_) if strict => {
                        return Err(invalid_utf8(file, block.first_line + i as u64));
                    }
                    Err(_) => skipped += 1,
                }
            }
        }
        Format::JsonLines { field } => {
            for (i, line) in block.data.split(|&b| b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let at = || format!("{}:{}", file.path.display(), block.first_line + i as u64);
                let value: serde_json::Value = match serde_json::from_slice(line) {
                    Ok(value) => value,
                    // Text that is not Unicode (raw invalid UTF-8, or an escaped lone
                    // surrogate such as "\ud800") is skipped like an invalid plain line.
                    Err(e) if not_unicode(line, &e) => {
                        if strict {
                            return Err(invalid_utf8(file, block.first_line + i as u64));
                        }
                        skipped += 1;
                        continue;
                    }
                    Err(e) => {
                        return Err(Error::Corpus(format!(
                            "{}: not a JSON object ({e}); JSON-lines files need one object per line",
                            at()
                        )));
                    }
                };
                let text = value
                    .get(field)
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| {
                        Error::Corpus(format!("{}: no string field {field:?}", at()))
                            .with_hint("name the field that holds the text with {text_field}")
                    })?;
                if f(text, document(i)).is_break() {
                    break;
                }
            }
        }
    }
    Ok(skipped)
}

/// Whether a JSON line failed to parse because its text is not Unicode.
fn not_unicode(line: &[u8], e: &serde_json::Error) -> bool {
    let why = e.to_string();
    std::str::from_utf8(line).is_err()
        || ["surrogate", "hex escape", "code point"]
            .iter()
            .any(|w| why.contains(w))
}

fn invalid_utf8(file: &InputFile, line: u64) -> Error {
    Error::Corpus(format!("{}:{line}: invalid UTF-8", file.path.display())).with_hint(
        "convert the file to UTF-8, or train without {strict=true} to skip such lines (they are counted in the report)",
    )
}

/// Every document of a corpus, in input order (see [`read_documents`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Documents {
    /// The documents, cut as training cuts them ([`for_each_document`]).
    pub texts: Vec<String>,
    /// Lines skipped because they were not valid UTF-8.
    pub skipped: u64,
    /// Bytes of text in `texts` (training reports the same sum as `corpus_bytes`).
    pub bytes: u64,
    /// sha256 (hex) of the bytes read, decompressed, in order: training's `corpus_sha256` when
    /// the whole corpus was read.
    pub sha256: String,
}

/// Reads every document of `inputs` (files, directories, globs, as [`resolve`] takes them) into
/// memory, in input order, cut exactly as training cuts them.
///
/// With `max_bytes`, reading stops after the document that takes `bytes` past it, so
/// `bytes > max_bytes` tells the caller the corpus was too large (the texts are then a prefix
/// of the corpus, and `sha256` covers only what was read). `cancel` is polled per block.
///
/// # Errors
/// Those of [`resolve`], [`BlockReader::next_block`] and [`for_each_document`];
/// [`Error::Cancelled`].
pub fn read_documents(
    inputs: &[String],
    text_field: Option<&str>,
    strict: bool,
    max_bytes: Option<u64>,
    cancel: &CancelToken,
) -> Result<Documents> {
    let files = resolve(inputs, text_field)?;
    let mut reader = BlockReader::new(files);
    let limit = max_bytes.unwrap_or(u64::MAX);
    let mut docs = Documents::default();
    while docs.bytes <= limit {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let Some(block) = reader.next_block()? else {
            break;
        };
        let Documents {
            texts,
            bytes,
            skipped,
            ..
        } = &mut docs;
        *skipped += for_each_document(&block, &reader.files()[block.file], strict, |text, _| {
            texts.push(text.to_owned());
            *bytes += text.len() as u64;
            if *bytes > limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
    }
    docs.sha256 = reader.sha256_hex();
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn a_directory_reached_through_links_is_walked_once() {
        let root = std::env::temp_dir().join(format!("tokkit-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/one.txt"), "one\n").unwrap();
        std::fs::write(root.join("a/b/two.txt"), "two\n").unwrap();
        // A loop back to the top, and a second way into b.
        std::os::unix::fs::symlink(root.join("a"), root.join("a/b/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("a/b"), root.join("a/again")).unwrap();
        let files = resolve(&[root.join("a").display().to_string()], None).unwrap();
        let mut names: Vec<_> = files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["one.txt", "two.txt"]);
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A fresh directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tokkit-docs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn read(path: &Path, field: Option<&str>, strict: bool, max: Option<u64>) -> Result<Documents> {
        read_documents(
            &[path.display().to_string()],
            field,
            strict,
            max,
            &CancelToken::new(),
        )
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        let mut h = StreamHasher::default();
        h.update(bytes);
        h.hex()
    }

    #[test]
    fn plain_text_documents_are_its_lines_with_their_endings() {
        let dir = scratch("plain");
        let content = "one\ntwo\r\n\nlast without newline";
        std::fs::write(dir.join("a.txt"), content).unwrap();
        let docs = read(&dir.join("a.txt"), None, false, None).unwrap();
        assert_eq!(
            docs.texts,
            ["one\n", "two\r\n", "\n", "last without newline"]
        );
        assert_eq!(docs.skipped, 0);
        assert_eq!(docs.bytes, content.len() as u64);
        assert_eq!(docs.sha256, sha256_hex(content.as_bytes()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn json_lines_give_the_text_field_and_skip_blank_lines() {
        let dir = scratch("jsonl");
        let content = "{\"body\": \"héllo\\n\", \"text\": \"x\"}\n\n  \n{\"body\": \"world\"}\n";
        std::fs::write(dir.join("a.jsonl"), content).unwrap();
        let docs = read(&dir.join("a.jsonl"), Some("body"), false, None).unwrap();
        assert_eq!(docs.texts, ["héllo\n", "world"]);
        assert_eq!(docs.bytes, "héllo\nworld".len() as u64);
        assert_eq!(docs.sha256, sha256_hex(content.as_bytes()));
        // The default field is `text`; a record without it is an error with a hint.
        let err = read(&dir.join("a.jsonl"), None, false, None).unwrap_err();
        assert!(
            err.to_string()
                .contains("a.jsonl:4: no string field \"text\""),
            "{err}"
        );
        assert!(err.to_string().contains("text_field"), "{err}");
        std::fs::write(dir.join("bad.jsonl"), "{\"text\": \"ok\"}\nnot json\n").unwrap();
        let err = read(&dir.join("bad.jsonl"), None, false, None).unwrap_err();
        assert!(
            err.to_string().contains("bad.jsonl:2: not a JSON object (")
                && err.to_string().contains("one object per line"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gzip_files_are_read_decompressed() {
        use std::io::Write;
        let dir = scratch("gz");
        let content = "alpha\nbeta\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(content.as_bytes()).unwrap();
        std::fs::write(dir.join("a.txt.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(dir.join("b.jsonl.gz"), {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(b"{\"text\": \"gamma\"}\n").unwrap();
            gz.finish().unwrap()
        })
        .unwrap();
        let docs = read(&dir, None, false, None).unwrap();
        assert_eq!(docs.texts, ["alpha\n", "beta\n", "gamma"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn invalid_utf8_is_skipped_and_counted_or_an_error_when_strict() {
        let dir = scratch("utf8");
        std::fs::write(dir.join("a.txt"), b"good\nbad \xff\nalso good\n").unwrap();
        std::fs::write(
            dir.join("b.jsonl"),
            b"{\"text\": \"\\ud800\"}\n{\"text\": \"fine\"}\n",
        )
        .unwrap();
        let docs = read(&dir.join("a.txt"), None, false, None).unwrap();
        assert_eq!(docs.texts, ["good\n", "also good\n"]);
        assert_eq!(docs.skipped, 1);
        let docs = read(&dir.join("b.jsonl"), None, false, None).unwrap();
        assert_eq!(docs.texts, ["fine"]);
        assert_eq!(docs.skipped, 1);
        let err = read(&dir.join("a.txt"), None, true, None).unwrap_err();
        assert!(err.to_string().contains("a.txt:2: invalid UTF-8"), "{err}");
        assert!(err.to_string().contains("strict=true"), "{err}");
        let err = read(&dir.join("b.jsonl"), None, true, None).unwrap_err();
        assert!(
            err.to_string().contains("b.jsonl:1: invalid UTF-8"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn max_bytes_stops_after_the_document_that_crosses_it() {
        let dir = scratch("max");
        // Invalid UTF-8 after the cut is neither counted nor, when strict, an error.
        std::fs::write(dir.join("a.txt"), b"aaaa\nbbbb\ncccc\n\xff\n").unwrap();
        std::fs::write(dir.join("b.txt"), "dddd\n").unwrap();
        for (max, expected) in [
            (0, &["aaaa\n"][..]),
            (5, &["aaaa\n", "bbbb\n"][..]),
            (9, &["aaaa\n", "bbbb\n"][..]),
            (10, &["aaaa\n", "bbbb\n", "cccc\n"][..]),
        ] {
            let docs = read(&dir.join("a.txt"), None, true, Some(max)).unwrap();
            assert_eq!(docs.texts, expected, "max_bytes {max}");
            assert_eq!(docs.skipped, 0);
            assert!(docs.bytes > max);
        }
        // A corpus that fits is read whole, across files, and says so with bytes <= max_bytes.
        let docs = read(&dir, None, false, Some(100)).unwrap();
        assert_eq!(docs.texts, ["aaaa\n", "bbbb\n", "cccc\n", "dddd\n"]);
        assert_eq!((docs.skipped, docs.bytes), (1, 20));
        // A cut at the end of a file reads nothing of the next one.
        let docs = read(&dir, None, false, Some(16)).unwrap();
        assert_eq!(docs.texts.len(), 4);
        let docs = read(&dir, None, false, Some(14)).unwrap();
        assert_eq!(docs.texts.len(), 3);
        assert_eq!(docs.sha256, sha256_hex(b"aaaa\nbbbb\ncccc\n\xff\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn documents_are_numbered_by_file_and_line() {
        let file = InputFile {
            path: PathBuf::from("x.txt"),
            gzip: false,
            format: Format::Lines,
            size: 0,
        };
        let block = Block {
            data: b"a\nb\xff\nc\n".to_vec(),
            file: 0,
            number: 3,
            first_line: 7,
        };
        let mut seen = Vec::new();
        let skipped = for_each_document(&block, &file, false, |text, id| {
            seen.push((text.to_owned(), id));
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(skipped, 1);
        assert_eq!(
            seen,
            [
                ("a\n".to_owned(), (3 << 40) | 7),
                ("c\n".to_owned(), (3 << 40) | 9)
            ]
        );
    }

    #[test]
    fn a_cancelled_read_stops() {
        let dir = scratch("cancel");
        std::fs::write(dir.join("a.txt"), "one\n").unwrap();
        let cancel = CancelToken::new();
        cancel.cancel();
        let inputs = [dir.join("a.txt").display().to_string()];
        let err = read_documents(&inputs, None, false, None, &cancel).unwrap_err();
        assert!(matches!(err, Error::Cancelled));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
