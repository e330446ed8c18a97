//! Batches of Python strings on several threads, the calling thread among them: it takes each
//! block of strings out of Python (under the GIL) while the other workers encode the blocks
//! before it, makes the results of finished blocks into Python objects, in order, while they go
//! on, and encodes queued blocks itself when it has nothing else to do.
//!
//! Why: taking 265k strings out of a list (~10 ms) and making their 265k lists of ids (~45
//! ms) need the GIL, so they run on one thread; done before and after the encoding (~110 ms on
//! one worker) they kept two workers from going much faster than one. And the calling thread
//! works as one of the `num_threads` rather than beside them: with a pool of as many threads as
//! asked plus the caller, two workers on two cores shared them with a third busy thread,
//! and went idle whenever it fell behind.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyList, PySequence, PyString};
use tokkit_core::CancelToken;

/// The texts of `texts` (a sequence of `str`) in a list of this call's own: the GIL is
/// released between blocks, and another thread changing the caller's list meanwhile must not
/// change the batch.
pub(crate) fn text_list<'py>(texts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    if texts.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "texts must be a sequence of str, not a single str: wrap it in a list",
        ));
    }
    texts.cast::<PySequence>()?.to_list()
}

/// Items `range` of `list` as UTF-8 views, each holding its string.
pub(crate) fn extract(list: &Bound<'_, PyList>, range: Range<usize>) -> PyResult<Vec<PyBackedStr>> {
    range.map(|i| list.get_item(i)?.extract()).collect()
}

/// A block's index, its strings (handed back to be released under the GIL), and what `work`
/// made of them (`None` once the batch was stopped; `Err` if `work` panicked).
type Finished<T> = (usize, Vec<PyBackedStr>, Option<std::thread::Result<T>>);

/// Blocks taken out of Python and not yet started, in order.
type Queue = Mutex<VecDeque<(usize, Vec<PyBackedStr>)>>;

/// The next queued block, if any.
fn next(queue: &Queue) -> Option<(usize, Vec<PyBackedStr>)> {
    queue
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop_front()
}

/// Runs `work` on consecutive blocks of `block` texts of `list` on `workers` threads, this one
/// and `workers - 1` of `pool`'s, and hands each block's result to `take`, in order, on this
/// thread. This thread takes the blocks out of Python and hands the results back in (both need
/// the GIL), and encodes a queued block itself when it has nothing of that to do: `workers`
/// threads in all, never more threads running than asked for. At most `4 * workers` blocks are
/// taken out ahead of those finished. Each block queued spawns one job on `pool` that
/// encodes the next queued block, if this thread has not taken it already: a job never waits
/// (a job that waited for blocks could hold a pool thread that another call needs while its
/// own caller waits for the GIL). An error (a text that is no `str`, one from `take`, or
/// Ctrl-C) stops the blocks not started and is returned once the running ones are done.
pub(crate) fn stream<T: Send>(
    py: Python<'_>,
    list: &Bound<'_, PyList>,
    pool: &rayon::ThreadPool,
    workers: usize,
    block: usize,
    work: impl Fn(&[PyBackedStr]) -> T + Sync,
    mut take: impl FnMut(T) -> PyResult<()>,
) -> PyResult<()> {
    let n = list.len();
    let blocks = n.div_ceil(block.max(1));
    let ahead = 4 * workers.max(1);
    let cancel = CancelToken::new();
    let queue: Queue = Mutex::new(VecDeque::new());
    let (done, mut finished) = mpsc::channel::<Finished<T>>();
    let mut failure: Option<PyErr> = None;
    let mut panic = None;
    let run = |part: &[PyBackedStr]| {
        (!cancel.is_cancelled()).then(|| catch_unwind(AssertUnwindSafe(|| work(part))))
    };
    pool.in_place_scope(|scope| {
        let (mut next_block, mut next_take, mut in_flight) = (0, 0, 0);
        let mut waiting = BTreeMap::new();
        loop {
            while !cancel.is_cancelled() && next_block < blocks && in_flight < ahead {
                let start = next_block * block;
                match extract(list, start..(start + block).min(n)) {
                    Ok(part) => {
                        queue
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push_back((next_block, part));
                        let (done, queue, run) = (done.clone(), &queue, &run);
                        scope.spawn(move |_| {
                            if let Some((i, part)) = next(queue) {
                                let result = run(&part);
                                // The receiver outlives every block: it is read until none is
                                // left.
                                let _ = done.send((i, part, result));
                            }
                        });
                        next_block += 1;
                        in_flight += 1;
                    }
                    Err(e) => {
                        cancel.cancel();
                        failure = Some(e);
                    }
                }
            }
            if in_flight == 0 {
                break;
            }
            // A finished block first (its lists free the workers' room ahead), else a queued
            // block encoded here, else a wait for the workers.
            let got = match finished.try_recv() {
                Ok(got) => Some(got),
                Err(_) => match next(&queue) {
                    Some((i, part)) => {
                        let (result, part) = py.detach(|| (run(&part), part));
                        Some((i, part, result))
                    }
                    None => {
                        let (got, back) = py.detach(move || {
                            let got = finished.recv_timeout(Duration::from_millis(50));
                            (got, finished)
                        });
                        finished = back;
                        got.ok()
                    }
                },
            };
            if let Some((i, part, result)) = got {
                in_flight -= 1;
                drop(part);
                match result {
                    Some(Ok(value)) => {
                        waiting.insert(i, value);
                    }
                    Some(Err(payload)) => {
                        cancel.cancel();
                        panic.get_or_insert(payload);
                    }
                    None => {}
                }
                while let Some(value) = waiting.remove(&next_take) {
                    next_take += 1;
                    if !cancel.is_cancelled() {
                        if let Err(e) = take(value) {
                            cancel.cancel();
                            failure = Some(e);
                        }
                    }
                }
            }
            // After every block too: a busy stream of blocks never times out.
            if !cancel.is_cancelled() {
                if let Err(interrupt) = py.check_signals() {
                    cancel.cancel();
                    failure = Some(interrupt);
                }
            }
        }
    });
    if let Some(payload) = panic {
        resume_unwind(payload);
    }
    failure.map_or(Ok(()), Err)
}
