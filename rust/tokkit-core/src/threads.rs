//! Worker pools. Every parallel call of tokkit runs in a rayon pool of its own, never in rayon's
//! global pool: one pool per worker count, made on first use and kept, so that short calls
//! (`encode_batch`) do not pay for starting threads. After `fork()` (a torch `DataLoader` worker,
//! `multiprocessing`), the child inherits the pools but not their threads; they are noticed by
//! the process id changing, left alone (their threads do not exist to be joined) and made anew.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, Result};

/// The machine's cores (1 if unknown).
#[must_use]
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The most workers a pool gets: four per core. More only adds switching, and a slip such as
/// `5000` would otherwise start 5,000 threads.
#[must_use]
pub fn max_workers() -> usize {
    4 * cores()
}

/// The worker count for `threads`: itself if given and positive, else `TOKKIT_NUM_THREADS`, else
/// every core; at most [`max_workers`].
///
/// # Errors
/// [`Error::Config`] if `TOKKIT_NUM_THREADS` is set but is not a positive whole number.
pub fn workers(threads: Option<usize>) -> Result<usize> {
    let asked = match threads.filter(|&n| n > 0) {
        Some(n) => n,
        None => match std::env::var("TOKKIT_NUM_THREADS") {
            Ok(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "TOKKIT_NUM_THREADS={v:?} is not a positive whole number"
                    ))
                    .with_hint("set TOKKIT_NUM_THREADS to a thread count such as 4, or unset it")
                })?,
            Err(_) => cores(),
        },
    };
    Ok(asked.min(max_workers()))
}

struct Pools {
    pid: u32,
    by_size: HashMap<usize, Arc<rayon::ThreadPool>>,
}

static POOLS: Mutex<Option<Pools>> = Mutex::new(None);

/// The pool of [`workers`]`(threads)` workers, shared by every call that asks for that many.
///
/// # Errors
/// [`Error::Config`] if the threads cannot be started.
pub fn pool(threads: Option<usize>) -> Result<Arc<rayon::ThreadPool>> {
    let n = workers(threads)?;
    let mut guard = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
    let pid = std::process::id();
    if guard.as_ref().is_some_and(|p| p.pid != pid) {
        // Inherited through fork(): their threads are gone; dropping would signal no one.
        std::mem::forget(guard.take());
    }
    let pools = guard.get_or_insert_with(|| Pools {
        pid,
        by_size: HashMap::new(),
    });
    if let Some(found) = pools.by_size.get(&n) {
        return Ok(Arc::clone(found));
    }
    let made = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("tokkit-{i}"))
        .build()
        .map_err(|e| Error::Config(format!("cannot start {n} threads: {e}")))?;
    let made = Arc::new(made);
    pools.by_size.insert(n, Arc::clone(&made));
    Ok(made)
}

/// Runs `f` in [`pool`]`(threads)`.
///
/// # Errors
/// [`Error::Config`] if the pool cannot be made, or whatever `f` returns.
pub fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    pool(threads)?.install(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn pools_are_shared_per_size_and_sized_as_asked() {
        let a = pool(Some(3)).unwrap();
        let b = pool(Some(3)).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.current_num_threads(), 3);
        let seen = a.install(|| {
            (0..64)
                .into_par_iter()
                .map(|_| rayon::current_num_threads())
                .max()
        });
        assert_eq!(seen, Some(3));
        assert_eq!(workers(Some(2)).unwrap(), 2);
        assert!(workers(None).unwrap() >= 1);
        assert_eq!(workers(Some(1_000_000)).unwrap(), max_workers());
    }
}
