//! Where the checked-in inputs of each target live, for the tests and for `make fuzz`.

use std::path::{Path, PathBuf};

/// The crate's directory (the seed corpus and regressions sit under it).
#[must_use]
pub fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The repository root (the tokenizer fixtures sit under it).
#[must_use]
pub fn repo_root() -> PathBuf {
    crate_dir().join("../..")
}

/// Every file of `corpus/<target>/` and `regressions/<target>/`, sorted, with its bytes.
///
/// # Panics
/// If a directory exists but cannot be read: a broken checkout should fail the tests loudly.
#[must_use]
pub fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let dir = crate_dir().join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .map(|e| e.expect("readable seed directory").path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).expect("readable seed file");
            out.push((path, bytes));
        }
    }
    out
}
