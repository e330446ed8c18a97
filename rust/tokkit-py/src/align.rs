//! `AlignVocab` and `align_batch`: the exact cross-tokenizer alignment of `tokkit_core::align`
//! (for ALM distillation). The chunk indices come back as numpy arrays that take over the Rust
//! buffers (no copy), so that `torch.from_numpy` shares them too. The alignment itself runs with
//! the GIL released, in tokkit's pool.

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tokkit_core::align::{self, AlignVocab};
use tokkit_core::{Error, threads};

use crate::errors::{TkResult, TokkitErr};

/// Integers from a contiguous int64 array (read in place) or any integer sequence.
enum Ints<'py> {
    Array(PyReadonlyArray1<'py, i64>),
    Owned(Vec<i64>),
}

impl Ints<'_> {
    fn as_slice(&self) -> PyResult<&[i64]> {
        match self {
            Self::Array(a) => Ok(a.as_slice()?),
            Self::Owned(v) => Ok(v),
        }
    }
}

impl<'py> FromPyObject<'_, 'py> for Ints<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(array) = obj.extract::<PyReadonlyArray1<'py, i64>>() {
            if array.is_contiguous() {
                return Ok(Self::Array(array));
            }
        }
        Ok(Self::Owned(obj.extract()?))
    }
}

/// `values` converted one by one, a `ConfigError` naming `what` for the first that does not fit.
fn convert<T: TryFrom<i64>>(values: &[i64], what: &str) -> TkResult<Vec<T>> {
    values
        .iter()
        .map(|&v| {
            T::try_from(v)
                .map_err(|_| TokkitErr(Error::Config(format!("{what} {v} is out of range"))))
        })
        .collect()
}

/// Per token id its bytes and special code, for `align_batch`.
#[pyclass(name = "AlignVocab", module = "tokkit._tokkit", frozen)]
pub struct PyAlignVocab {
    vocab: AlignVocab,
}

#[pymethods]
impl PyAlignVocab {
    /// From the concatenated token bytes, `len + 1` offsets into them, and per id -1 (regular)
    /// or a special code shared with the other vocabulary.
    #[new]
    #[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
    fn new(offsets: Ints<'_>, bytes: &[u8], special: Ints<'_>) -> PyResult<Self> {
        let offsets = convert::<usize>(offsets.as_slice()?, "offset")?;
        let special = convert::<i32>(special.as_slice()?, "special code")?;
        let vocab = AlignVocab::new(offsets, bytes.to_vec(), special).map_err(TokkitErr)?;
        Ok(Self { vocab })
    }

    /// Number of ids.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The bytes of one token.
    fn token_bytes<'py>(&self, py: Python<'py>, id: u32) -> TkResult<Bound<'py, PyBytes>> {
        let bytes = self.vocab.token_bytes(id).ok_or_else(|| {
            Error::Config(format!(
                "token id {id} is outside the vocabulary of {} ids",
                self.vocab.len()
            ))
        })?;
        Ok(PyBytes::new(py, bytes))
    }

    /// The special code of one token; `None` for a regular token.
    fn special_code(&self, id: u32) -> TkResult<Option<i32>> {
        if id as usize >= self.vocab.len() {
            return Err(Error::Config(format!(
                "token id {id} is outside the vocabulary of {} ids",
                self.vocab.len()
            ))
            .into());
        }
        Ok(self.vocab.special_code(id))
    }

    fn __repr__(&self) -> String {
        format!("AlignVocab(vocab_size={})", self.vocab.len())
    }
}

/// The rows as u32 ids, each at most `len` long.
fn rows_u32(rows: &[Vec<i64>], len: usize, side: &str) -> TkResult<Vec<Vec<u32>>> {
    rows.iter()
        .enumerate()
        .map(|(b, row)| {
            if row.len() > len {
                return Err(TokkitErr(
                    Error::Config(format!(
                        "{side} row {b} has {} tokens, more than {side}_len={len}",
                        row.len()
                    ))
                    .with_hint(format!("give {{{side}_len}} of at least the longest row")),
                ));
            }
            convert::<u32>(row, &format!("{side} row {b}: token id"))
        })
        .collect()
}

/// The chunks of row pairs, padded: `(teacher_chunks [B, teacher_len], student_chunks
/// [B, student_len], n_chunks [B], mismatched)`, int64, -1 for tokens in no chunk and padding.
#[pyfunction]
#[pyo3(signature = (teacher, teacher_rows, student, student_rows, teacher_len, student_len, num_threads=None))]
#[expect(clippy::needless_pass_by_value, reason = "pyo3 extracts owned values")]
#[expect(clippy::too_many_arguments, reason = "the Python signature")]
#[expect(clippy::type_complexity, reason = "the Python return tuple")]
pub fn align_batch<'py>(
    py: Python<'py>,
    teacher: PyRef<'py, PyAlignVocab>,
    teacher_rows: Vec<Vec<i64>>,
    student: PyRef<'py, PyAlignVocab>,
    student_rows: Vec<Vec<i64>>,
    teacher_len: usize,
    student_len: usize,
    num_threads: Option<usize>,
) -> PyResult<(
    Bound<'py, PyArray2<i64>>,
    Bound<'py, PyArray2<i64>>,
    Bound<'py, PyArray1<i64>>,
    usize,
)> {
    let rows_t = rows_u32(&teacher_rows, teacher_len, "teacher")?;
    let rows_s = rows_u32(&student_rows, student_len, "student")?;
    let pool = threads::pool(num_threads).map_err(TokkitErr)?;
    let (tv, sv) = (&teacher.vocab, &student.vocab);
    // Short work (well under a millisecond per row): released GIL, no cancellation needed.
    let (t_flat, s_flat, n_chunks, mismatched) = py
        .detach(|| -> tokkit_core::Result<_> {
            let rows = pool.install(|| align::align_batch(tv, &rows_t, sv, &rows_s))?;
            let mut t_flat = vec![-1i64; rows.len() * teacher_len];
            let mut s_flat = vec![-1i64; rows.len() * student_len];
            for (b, r) in rows.iter().enumerate() {
                let t_at = b * teacher_len;
                t_flat[t_at..t_at + r.teacher_chunk.len()].copy_from_slice(&r.teacher_chunk);
                let s_at = b * student_len;
                s_flat[s_at..s_at + r.student_chunk.len()].copy_from_slice(&r.student_chunk);
            }
            let n_chunks: Vec<i64> = rows.iter().map(|r| r.n_chunks as i64).collect();
            let mismatched = rows.iter().map(|r| r.mismatched).sum::<usize>();
            Ok((t_flat, s_flat, n_chunks, mismatched))
        })
        .map_err(TokkitErr)?;
    let batch = n_chunks.len();
    // from_vec hands the buffer to numpy; reshape of a contiguous array is a view of it.
    let t = PyArray1::from_vec(py, t_flat).reshape([batch, teacher_len])?;
    let s = PyArray1::from_vec(py, s_flat).reshape([batch, student_len])?;
    Ok((t, s, PyArray1::from_vec(py, n_chunks), mismatched))
}
