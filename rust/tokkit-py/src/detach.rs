//! The one way long Rust work runs from Python: on a worker thread, with the GIL released, while
//! the calling thread wakes every 50 ms to check for signals. Ctrl-C cancels the work through its
//! [`CancelToken`] and raises `KeyboardInterrupt` once the worker has stopped (well under a
//! second: the core polls the token per block and per merge).

use std::sync::{Condvar, Mutex, PoisonError};
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
    let stopped = Stopped::default();
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| {
            let _done = Done(&stopped);
            work(&cancel)
        });
        loop {
            let finished = py.detach(|| stopped.wait(Duration::from_millis(50)));
            if finished {
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

/// Whether the worker has stopped, with a condition variable that wakes the caller at once:
/// short calls do not wait out a polling interval.
#[derive(Default)]
struct Stopped {
    flag: Mutex<bool>,
    changed: Condvar,
}

impl Stopped {
    /// Waits at most `timeout` for the worker to stop; whether it has.
    fn wait(&self, timeout: Duration) -> bool {
        let flag = self.flag.lock().unwrap_or_else(PoisonError::into_inner);
        let (flag, _) = self
            .changed
            .wait_timeout_while(flag, timeout, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
        *flag
    }
}

/// Marks the worker stopped when dropped, so a panic wakes the caller too.
struct Done<'s>(&'s Stopped);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        *self.0.flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.0.changed.notify_all();
    }
}
