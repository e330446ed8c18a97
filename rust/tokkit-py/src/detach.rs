//! The one way long Rust work runs from Python: on a worker thread, with the GIL released, while
//! the calling thread wakes every 50 ms to check for signals. Ctrl-C cancels the work through its
//! [`CancelToken`] and raises `KeyboardInterrupt` once the worker has stopped (well under a
//! second: the core polls the token per block and per merge).

use std::time::Duration;

use pyo3::prelude::*;
use tokkit_core::{CancelToken, Result};

use crate::errors::TokkitErr;

/// Runs `work` detached from the interpreter, honouring Ctrl-C.
pub fn run_detached<T: Send>(
    py: Python<'_>,
    work: impl FnOnce(&CancelToken) -> Result<T> + Send,
) -> PyResult<T> {
    let cancel = CancelToken::new();
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| work(&cancel));
        loop {
            py.detach(|| {
                for _ in 0..10 {
                    if handle.is_finished() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
            if handle.is_finished() {
                break;
            }
            if let Err(interrupt) = py.check_signals() {
                cancel.cancel();
                // Wait (detached) for the worker to notice, so nothing runs on after we return.
                let _ = py.detach(|| handle.join());
                return Err(interrupt);
            }
        }
        match handle.join() {
            Ok(result) => result.map_err(|e| PyErr::from(TokkitErr(e))),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
