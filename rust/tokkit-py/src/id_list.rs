//! Python lists of token ids, built fast: one Python int per id of the vocabulary, made the
//! first time that id is returned, and lists filled with references to them.
//!
//! Filling a list through `PyList_SetItem` (all the limited API offers) costs ~10 ns an item,
//! as much as encoding the token; copying a pointer into the list's item array costs ~3. The
//! item array's place inside a list object is not part of the limited API, so it is found
//! once at run time, on a list whose items are known, and used only if it holds them exactly
//! there: on an interpreter laid out otherwise, the lists are filled the slow, official way.
//!
//! The lists are not tracked by Python's cycle collector. A list of ints holds no cycle, and a
//! tracked one is walked item by item by every collection it lives through: 15 ms for the
//! 2.7M ids of 10 MB of text, 50 ms for the 265k lists of its lines, each time (CPython
//! untracks tuples and dicts of atomic values for the same reason; it does not for lists,
//! which may later hold anything). The cost: a cycle that a caller later builds through one
//! of these lists (appending to it an object that refers back to it) is never collected.

#![expect(unsafe_code, reason = "filling a list's item array; see each SAFETY")]

use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyList;

/// One Python int per token id, each made on first use (a text uses a fraction of a large
/// vocabulary, and making 262k ints up front is a few milliseconds of a call).
pub(crate) struct IdInts {
    ints: Vec<OnceLock<Py<PyAny>>>,
}

impl IdInts {
    pub(crate) fn new(vocab_size: usize) -> Self {
        Self {
            ints: (0..vocab_size).map(|_| OnceLock::new()).collect(),
        }
    }

    /// `ids` as a Python list of ints.
    ///
    /// # Errors
    /// `ValueError` for an id outside the vocabulary (the encoder never makes one), or
    /// Python's error if the list cannot be made.
    pub(crate) fn list<'py>(&self, py: Python<'py>, ids: &[u32]) -> PyResult<Bound<'py, PyList>> {
        let n = ffi::Py_ssize_t::try_from(ids.len())
            .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("too many ids for a list"))?;
        // SAFETY: the GIL is held (`py`); `PyList_New` returns a new reference or null with
        // an exception set, which `from_owned_ptr_or_err` turns into `Err`.
        let list = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(n))? };
        // An unfilled list holds nulls: if an id is refused below, its drop releases the
        // items set so far and skips the rest.
        let list: Bound<'py, PyList> = list.cast_into()?;
        let items = item_array(py, &list);
        for (i, &id) in ids.iter().enumerate() {
            let int = self.int(py, id)?;
            // SAFETY: the GIL is held; `int` is alive (owned by `self.ints`); the new
            // reference is handed to the list, whose slot `i` is empty and in bounds.
            unsafe {
                ffi::Py_INCREF(int);
                match items {
                    Some(items) => *items.add(i) = int,
                    None => {
                        ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t, int);
                    }
                }
            }
        }
        // SAFETY: the GIL is held; `list` is a tracked GC object (`PyList_New` tracks it)
        // whose items are all ints, so no cycle can run through it yet (see the module doc).
        unsafe { ffi::PyObject_GC_UnTrack(list.as_ptr().cast()) };
        Ok(list)
    }

    /// The Python int for `id`, made if this is its first use.
    #[inline]
    fn int(&self, py: Python<'_>, id: u32) -> PyResult<*mut ffi::PyObject> {
        let slot = self.ints.get(id as usize).ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "token id {id} is outside the vocabulary of {} ids",
                self.ints.len()
            ))
        })?;
        Ok(slot
            .get_or_init(|| {
                id.into_pyobject(py)
                    .map_or_else(|e| match e {}, |i| i.into_any().unbind())
            })
            .as_ptr())
    }
}

/// The offset of a list's item-array pointer inside the list object, if this interpreter keeps
/// it where CPython's `PyListObject` does (after the variable-size object header) and the probe
/// confirmed it; `None`: fill lists with `PyList_SetItem`.
static ITEMS_OFFSET: OnceLock<Option<usize>> = OnceLock::new();

/// Where `list`'s items are stored, if found (see [`ITEMS_OFFSET`]).
fn item_array(py: Python<'_>, list: &Bound<'_, PyList>) -> Option<*mut *mut ffi::PyObject> {
    let offset = (*ITEMS_OFFSET.get_or_init(|| probe(py)))?;
    // SAFETY: `offset` was confirmed to hold the item pointer of a list on this interpreter,
    // and every list object has the same layout.
    Some(unsafe {
        *list
            .as_ptr()
            .cast::<u8>()
            .add(offset)
            .cast::<*mut *mut ffi::PyObject>()
    })
}

/// Makes a list of two known objects and checks that the word after the object header points
/// at an array holding exactly them.
fn probe(py: Python<'_>) -> Option<usize> {
    let offset = std::mem::size_of::<ffi::PyVarObject>();
    let a = py.None();
    let b = pyo3::types::PyTuple::empty(py);
    let list = PyList::new(py, [a.bind(py).clone(), b.clone().into_any()]).ok()?;
    // SAFETY: a list object is larger than its header plus one pointer (the item array pointer
    // and the allocated size follow the header in every CPython layout), so the read is in
    // bounds; its value is only compared, and dereferenced only if it is non-null.
    unsafe {
        let items = *list
            .as_ptr()
            .cast::<u8>()
            .add(offset)
            .cast::<*const *mut ffi::PyObject>();
        let found = !items.is_null() && *items == a.as_ptr() && *items.add(1) == b.as_ptr();
        found.then_some(offset)
    }
}
