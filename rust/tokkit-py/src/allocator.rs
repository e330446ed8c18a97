//! The extension's allocator: mimalloc for the Rust side only (training makes millions of small
//! allocations from several threads, where glibc's per-thread arenas keep freed memory and
//! inflate the peak RSS), told before its first allocation not to commit its arenas eagerly.
//!
//! Why: mimalloc advises the kernel to back an eagerly committed arena with transparent huge
//! pages. Where the kernel compacts memory to find one (`defrag` set to `madvise`, as on this
//! project's machines), a fault can stall on that compaction: GPT-2's first `encode` of 10 MB
//! in a fresh process took 0.22-0.40 s instead of ~0.14 s in 4 of 6 processes, the difference
//! all system time (0.09-0.22 s against 0.02-0.04 s). Committed on demand, the arenas get
//! ordinary pages: the call took 0.143-0.165 s in all six, and training 100 MB to 64k tokens
//! went from 2.06-2.29 s to 1.85-1.91 s (less system time). Only this allocator's memory
//! changes; the process's other memory and its huge-page setting are left as they are
//! (mimalloc's `allow_thp` option would switch huge pages off for the whole process).

#![expect(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; see each SAFETY"
)]

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};

use mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc's `mimalloc.h` (the enum's fifth entry, in
/// both the v2 and v3 sources that `libmimalloc-sys` 0.1.49 builds; its Rust bindings do not
/// name it).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Whether the option has been set (setting it twice is harmless).
static CONFIGURED: AtomicBool = AtomicBool::new(false);

/// [`MiMalloc`], configured on its first use.
pub(crate) struct Allocator;

impl Allocator {
    #[inline]
    fn configure() {
        if !CONFIGURED.load(Ordering::Relaxed) {
            // SAFETY: setting an option is a plain store in mimalloc; done before this
            // allocator's first allocation, so every arena sees it.
            unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) };
            CONFIGURED.store(true, Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is forwarded to `MiMalloc` unchanged, after the option is set.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::configure();
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { MiMalloc.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::configure();
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        unsafe { MiMalloc.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `MiMalloc`.
        unsafe { MiMalloc.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `MiMalloc`; the caller's contract for `realloc`, passed on.
        unsafe { MiMalloc.realloc(ptr, layout, new_size) }
    }
}
