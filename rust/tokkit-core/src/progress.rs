//! Progress reporting through a sink, never `println!`: a terminal bar (indicatif, behind the
//! `progress` feature), JSON lines on stderr for machines, or nothing. Sinks are throttled
//! internally, so hot loops may call [`Progress::set`] as often as they like.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Receives the progress of long work, stage by stage.
pub trait Progress: Send + Sync {
    /// A new stage starts; `total` is its size in its own unit (0 if unknown).
    fn start(&self, stage: &str, total: u64);
    /// The current stage reached `current`.
    fn set(&self, current: u64);
    /// The current stage is done.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: u64) {}
    fn set(&self, _: u64) {}
    fn finish(&self) {}
}

#[derive(Debug)]
struct JsonState {
    stage: String,
    total: u64,
    current: u64,
    last: Instant,
}

/// Writes `{"stage": ..., "current": ..., "total": ...}` lines to stderr, at most every 200 ms
/// per stage plus one line at the start and one at the end of each stage.
#[derive(Debug)]
pub struct JsonLines(Mutex<JsonState>);

impl Default for JsonLines {
    fn default() -> Self {
        Self(Mutex::new(JsonState {
            stage: String::new(),
            total: 0,
            current: 0,
            last: Instant::now(),
        }))
    }
}

impl JsonLines {
    fn emit(state: &JsonState, done: bool) {
        let line = serde_json::json!({
            "stage": state.stage, "current": state.current, "total": state.total, "done": done,
        });
        // Progress is best effort: a closed stderr must not fail training.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

impl Progress for JsonLines {
    fn start(&self, stage: &str, total: u64) {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        stage.clone_into(&mut s.stage);
        s.total = total;
        s.current = 0;
        s.last = Instant::now();
        Self::emit(&s, false);
    }
    fn set(&self, current: u64) {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.current = current;
        if s.last.elapsed() >= Duration::from_millis(200) {
            s.last = Instant::now();
            Self::emit(&s, false);
        }
    }
    fn finish(&self) {
        let s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Self::emit(&s, true);
    }
}

/// A terminal progress bar on stderr.
#[cfg(feature = "progress")]
#[derive(Debug, Default)]
pub struct Bar(Mutex<Option<indicatif::ProgressBar>>);

#[cfg(feature = "progress")]
impl Progress for Bar {
    fn start(&self, stage: &str, total: u64) {
        let bar = indicatif::ProgressBar::new(total);
        let template = if stage.contains("bytes") || stage.starts_with("count") {
            "[{elapsed_precise}] {msg:<24!} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec})"
        } else {
            "[{elapsed_precise}] {msg:<24!} {wide_bar} {pos}/{len}"
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(stage.to_owned());
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = slot.take() {
            old.finish();
        }
        *slot = Some(bar);
    }
    fn set(&self, current: u64) {
        if let Some(bar) = &*self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            bar.set_position(current);
        }
    }
    fn finish(&self) {
        if let Some(bar) = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            bar.finish();
        }
    }
}

/// The sink named `bar`, `jsonl` or `none` (case-insensitive).
///
/// # Errors
/// [`crate::Error::Config`] for any other name.
pub fn from_name(name: &str) -> crate::Result<Box<dyn Progress>> {
    match name.to_ascii_lowercase().as_str() {
        "none" | "silent" => Ok(Box::new(Silent)),
        "jsonl" | "json" => Ok(Box::new(JsonLines::default())),
        #[cfg(feature = "progress")]
        "bar" => Ok(Box::new(Bar::default())),
        #[cfg(not(feature = "progress"))]
        "bar" => Ok(Box::new(Silent)),
        other => Err(crate::Error::Config(format!(
            "unknown progress mode {other:?}: use bar, jsonl or none"
        ))),
    }
}
