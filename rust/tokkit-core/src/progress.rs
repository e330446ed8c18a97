//! Progress reporting through a sink, never `println!`: a terminal bar (indicatif, behind the
//! `progress` feature), JSON lines on stderr for machines, plain log lines every few seconds
//! (for logs of runs without a terminal), or nothing. Sinks are throttled
//! internally, so hot loops may call [`Progress::set`] as often as they like.
//!
//! One JSON-lines schema for Rust and Python ([`EVENT_FIELDS`], exported to Python as
//! `tokkit._tokkit.PROGRESS_FIELDS`, which `tokkit._progress` writes by):
//! `{"stage": "count", "current": 1048576, "total": 4194304, "unit": "bytes",
//! "elapsed_s": 0.25, "finished": false}`.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The keys of a JSON-lines progress event, in order: the stage's name, units done, units in
/// all (0 if unknown), the unit (`bytes`, `merges`, `rows`...), seconds since the stage
/// started, and whether it has finished.
pub const EVENT_FIELDS: [&str; 6] = ["stage", "current", "total", "unit", "elapsed_s", "finished"];

/// Receives the progress of long work, stage by stage.
pub trait Progress: Send + Sync {
    /// A new stage starts; `total` is its size in `unit`s (0 if unknown).
    fn start(&self, stage: &str, total: u64, unit: &str);
    /// The current stage reached `current`.
    fn set(&self, current: u64);
    /// The current stage is done.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: u64, _: &str) {}
    fn set(&self, _: u64) {}
    fn finish(&self) {}
}

#[derive(Debug)]
struct JsonState {
    stage: String,
    unit: String,
    total: u64,
    current: u64,
    started: Instant,
    last: Instant,
}

/// Writes [`EVENT_FIELDS`] lines to stderr, at most every 200 ms per stage plus one line at
/// the start and one at the end of each stage; or, made with [`JsonLines::plain`], a sentence
/// at most every 10 s (`count: 52428800/104857600 bytes (50%), 3.2 s`).
#[derive(Debug)]
pub struct JsonLines {
    state: Mutex<JsonState>,
    plain: bool,
}

impl Default for JsonLines {
    fn default() -> Self {
        Self {
            state: Mutex::new(JsonState {
                stage: String::new(),
                unit: String::new(),
                total: 0,
                current: 0,
                started: Instant::now(),
                last: Instant::now(),
            }),
            plain: false,
        }
    }
}

impl JsonLines {
    /// Plain log lines instead of JSON, every 10 s.
    #[must_use]
    pub fn plain() -> Self {
        Self {
            plain: true,
            ..Self::default()
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(if self.plain { 10_000 } else { 200 })
    }

    fn write(&self, state: &JsonState, finished: bool) {
        if !self.plain {
            return Self::emit(state, finished);
        }
        let elapsed = state.started.elapsed().as_secs_f64();
        let pct = if state.total > 0 {
            format!(
                " ({:.0}%)",
                100.0 * state.current as f64 / state.total as f64
            )
        } else {
            String::new()
        };
        let done = if finished { ", done" } else { "" };
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}: {}/{} {}{pct}, {elapsed:.1} s{done}",
            state.stage,
            state.current,
            state.total,
            state.unit
        );
    }

    fn emit(state: &JsonState, finished: bool) {
        let elapsed = (state.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        let values = [
            serde_json::json!(state.stage),
            serde_json::json!(state.current),
            serde_json::json!(state.total),
            serde_json::json!(state.unit),
            serde_json::json!(elapsed),
            serde_json::json!(finished),
        ];
        let line: serde_json::Map<String, serde_json::Value> = EVENT_FIELDS
            .iter()
            .map(|k| (*k).to_owned())
            .zip(values)
            .collect();
        let line = serde_json::Value::Object(line);
        // Progress is best effort: a closed stderr must not fail training.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

impl Progress for JsonLines {
    fn start(&self, stage: &str, total: u64, unit: &str) {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        stage.clone_into(&mut s.stage);
        unit.clone_into(&mut s.unit);
        s.total = total;
        s.current = 0;
        s.started = Instant::now();
        s.last = Instant::now();
        self.write(&s, false);
    }
    fn set(&self, current: u64) {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.current = current;
        if s.last.elapsed() >= self.interval() {
            s.last = Instant::now();
            self.write(&s, false);
        }
    }
    fn finish(&self) {
        let s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.write(&s, true);
    }
}

/// A terminal progress bar on stderr.
#[cfg(feature = "progress")]
#[derive(Debug, Default)]
pub struct Bar(Mutex<Option<indicatif::ProgressBar>>);

#[cfg(feature = "progress")]
impl Progress for Bar {
    fn start(&self, stage: &str, total: u64, unit: &str) {
        let bar = indicatif::ProgressBar::new(total);
        let template = if unit == "bytes" {
            "[{elapsed_precise}] {msg:<24!} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec})"
        } else {
            "[{elapsed_precise}] {msg:<24!} {wide_bar} {pos}/{len} {prefix}"
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(stage.to_owned());
        bar.set_prefix(unit.to_owned());
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

/// The sink named `bar`, `jsonl`, `log` or `none` (case-insensitive).
///
/// # Errors
/// [`crate::Error::Config`] for any other name.
pub fn from_name(name: &str) -> crate::Result<Box<dyn Progress>> {
    match name.to_ascii_lowercase().as_str() {
        "none" | "silent" => Ok(Box::new(Silent)),
        "jsonl" | "json" => Ok(Box::new(JsonLines::default())),
        "log" => Ok(Box::new(JsonLines::plain())),
        #[cfg(feature = "progress")]
        "bar" => Ok(Box::new(Bar::default())),
        #[cfg(not(feature = "progress"))]
        "bar" => Ok(Box::new(Silent)),
        other => Err(crate::Error::Config(format!(
            "unknown progress mode {other:?}: use bar, jsonl, log or none"
        ))),
    }
}
