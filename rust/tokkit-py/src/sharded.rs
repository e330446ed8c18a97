//! Sharded training for a cluster driver (`tokkit.distributed`): planning shards, counting one
//! shard into a count table (on a worker), and training from the tables (on the driver). The
//! core (`train::sharded`) does all of it, detached from the interpreter; tables travel as
//! `bytes`, read in place without a copy.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList};
use tokkit_core::train::sharded::{self, FileShard, Stage1};
use tokkit_core::train::{TrainerConfig, thread_pool};
use tokkit_core::{Error, progress};

use crate::detach::run_detached;
use crate::errors::{TkResult, TokkitErr};
use crate::trainers::PyTrained;

fn config(config_json: &str) -> PyResult<TrainerConfig> {
    let config = TrainerConfig::from_json(config_json).map_err(TokkitErr)?;
    config.validate().map_err(TokkitErr)?;
    Ok(config)
}

/// The shards of the files of `inputs` (paths, directories, globs), about `shard_bytes` each,
/// as a JSON list of `{path, file, start, end, size, first_line}`.
#[pyfunction]
#[pyo3(signature = (config_json, inputs, *, text_field=None, shard_bytes))]
pub fn shard_plan(
    py: Python<'_>,
    config_json: &str,
    inputs: Vec<String>,
    text_field: Option<String>,
    shard_bytes: u64,
) -> PyResult<String> {
    let config = config(config_json)?;
    let shards = run_detached(py, |_| {
        sharded::plan(&config, &inputs, text_field.as_deref(), shard_bytes)
    })?;
    Ok(serde_json::to_string(&shards)
        .map_err(|e| TokkitErr(Error::Serialization(e.to_string())))?)
}

/// One file shard (a JSON object of `shard_plan`) counted into a count table; with `stage1`
/// (the model bytes of `SuperBpeStage1`), SuperBPE's stage-2 spans with their segmentation.
#[pyfunction]
#[pyo3(signature = (
    config_json, shard_json, *, text_field=None, strict_utf8=false, stage1=None, num_threads=None
))]
pub fn count_file_shard<'py>(
    py: Python<'py>,
    config_json: &str,
    shard_json: &str,
    text_field: Option<String>,
    strict_utf8: bool,
    stage1: Option<PyBackedBytes>,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    let config = config(config_json)?;
    let shard: FileShard = serde_json::from_str(shard_json)
        .map_err(|e| TokkitErr(Error::Config(format!("not a shard: {e}"))))?;
    let pool = thread_pool(num_threads).map_err(TokkitErr)?;
    let table = run_detached(py, |cancel| {
        pool.install(|| {
            let stage = sharded::stage_from(stage1.as_deref())?;
            sharded::count_file_shard(
                &config,
                &stage,
                &shard,
                text_field.as_deref(),
                strict_utf8,
                cancel,
            )
        })
    })?;
    Ok(PyBytes::new(py, &table))
}

/// Texts (one shard of a dataset), the first numbered `first_document` among the corpus's
/// texts, counted into a count table; `stage1` as for `count_file_shard`.
#[pyfunction]
#[pyo3(signature = (config_json, texts, first_document, *, stage1=None, num_threads=None))]
pub fn count_texts<'py>(
    py: Python<'py>,
    config_json: &str,
    texts: Vec<String>,
    first_document: u64,
    stage1: Option<PyBackedBytes>,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    let config = config(config_json)?;
    let pool = thread_pool(num_threads).map_err(TokkitErr)?;
    let table = run_detached(py, |cancel| {
        pool.install(|| {
            let stage = sharded::stage_from(stage1.as_deref())?;
            sharded::count_texts(&config, &stage, &texts, first_document, cancel)
        })
    })?;
    Ok(PyBytes::new(py, &table))
}

/// Adjacent shards' count tables of one pass (`stage`: `words`, or `spans` for SuperBPE's
/// second pass) merged into one, in the same form: a step of the merge tree on the workers.
#[pyfunction]
#[pyo3(signature = (config_json, stage, tables))]
pub fn merge_count_tables<'py>(
    py: Python<'py>,
    config_json: &str,
    stage: &str,
    tables: Vec<PyBackedBytes>,
) -> PyResult<Bound<'py, PyBytes>> {
    let config = config(config_json)?;
    let table = run_detached(py, |_| {
        sharded::merge_shard_tables(&config, stage, &slices(&tables))
    })?;
    Ok(PyBytes::new(py, &table))
}

fn slices(tables: &[PyBackedBytes]) -> Vec<&[u8]> {
    tables.iter().map(|t| &**t).collect()
}

/// The tables of `list`, which is emptied: the core then holds the only references and frees
/// each table as soon as it is merged, before the merge loop grows (on a large corpus they
/// would otherwise stay alive beside it for the whole training).
fn take(list: &Bound<'_, PyList>) -> PyResult<Vec<PyBackedBytes>> {
    let tables = list.extract::<Vec<PyBackedBytes>>()?;
    list.call_method0("clear")?;
    Ok(tables)
}

/// What the three driver calls share: the configuration checked, `tables` taken (see
/// [`take`]), and `work` run detached in the requested pool with a progress sink.
fn on_tables<T: Send>(
    py: Python<'_>,
    config_json: &str,
    tables: &Bound<'_, PyList>,
    num_threads: Option<usize>,
    progress: &str,
    work: impl FnOnce(
        &TrainerConfig,
        Vec<PyBackedBytes>,
        &dyn progress::Progress,
        &tokkit_core::CancelToken,
    ) -> tokkit_core::Result<T>
    + Send,
) -> PyResult<T> {
    let config = config(config_json)?;
    let sink = progress::from_name(progress).map_err(TokkitErr)?;
    let pool = thread_pool(num_threads).map_err(TokkitErr)?;
    let tables = take(tables)?;
    run_detached(py, |cancel| {
        pool.install(|| work(&config, tables, sink.as_ref(), cancel))
    })
}

/// Trains `config_json` (not SuperBPE) from the count tables of every shard, in shard order
/// (the list is emptied); `files` are the corpus's files, for the report.
#[pyfunction]
#[pyo3(signature = (config_json, tables, files, *, num_threads=None, progress="none"))]
pub fn train_from_tables(
    py: Python<'_>,
    config_json: &str,
    tables: &Bound<'_, PyList>,
    files: Vec<String>,
    num_threads: Option<usize>,
    progress: &str,
) -> PyResult<PyTrained> {
    on_tables(
        py,
        config_json,
        tables,
        num_threads,
        progress,
        |config, tables, sink, cancel| {
            sharded::train_from_tables(config, tables, files, sink, cancel)
        },
    )
    .map(PyTrained)
}

/// SuperBPE after stage 1, until `superbpe_stage2` takes it.
#[pyclass(name = "SuperBpeStage1", module = "tokkit._tokkit", frozen)]
pub struct PyStage1(Mutex<Option<Stage1>>);

#[pymethods]
impl PyStage1 {
    /// The stage-1 model, as the workers' `stage1=` argument takes it.
    fn model_bytes<'py>(&self, py: Python<'py>) -> TkResult<Bound<'py, PyBytes>> {
        let guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stage1 = guard
            .as_ref()
            .ok_or_else(|| Error::Config("stage 1 was already used by superbpe_stage2".into()))?;
        Ok(PyBytes::new(py, &stage1.model_bytes()))
    }
}

/// SuperBPE's stage 1 from the stage-1 count tables of every shard (the list is emptied).
#[pyfunction]
#[pyo3(signature = (config_json, tables, files, *, num_threads=None, progress="none"))]
pub fn superbpe_stage1(
    py: Python<'_>,
    config_json: &str,
    tables: &Bound<'_, PyList>,
    files: Vec<String>,
    num_threads: Option<usize>,
    progress: &str,
) -> PyResult<PyStage1> {
    on_tables(
        py,
        config_json,
        tables,
        num_threads,
        progress,
        |config, tables, sink, cancel| {
            sharded::superbpe_stage1(config, tables, files, sink, cancel)
        },
    )
    .map(|stage1| PyStage1(Mutex::new(Some(stage1))))
}

/// SuperBPE's stage 2 from the span tables of every shard (the list is emptied): the trained
/// tokenizer.
#[pyfunction]
#[pyo3(signature = (config_json, stage1, tables, *, num_threads=None, progress="none"))]
pub fn superbpe_stage2(
    py: Python<'_>,
    config_json: &str,
    stage1: &PyStage1,
    tables: &Bound<'_, PyList>,
    num_threads: Option<usize>,
    progress: &str,
) -> PyResult<PyTrained> {
    // Checked before stage 1 is taken, so a bad call leaves it usable.
    config(config_json)?;
    let stage1 = stage1
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
        .ok_or_else(|| {
            TokkitErr(Error::Config(
                "stage 1 was already used by superbpe_stage2".into(),
            ))
        })?;
    on_tables(
        py,
        config_json,
        tables,
        num_threads,
        progress,
        |config, tables, sink, cancel| {
            sharded::superbpe_stage2(config, stage1, tables, sink, cancel)
        },
    )
    .map(PyTrained)
}
