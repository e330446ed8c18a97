//! `tokkit._tokkit`: the PyO3 glue over `tokkit-core`. It only converts types, maps errors to
//! `tokkit.exceptions`, releases the GIL and bridges cancellation; all logic lives in the core.

mod align;
mod allocator;
mod batch;
mod byteprobs;
mod corpus;
mod detach;
mod errors;
mod hybrid;
mod id_list;
mod sampler;
mod sharded;
mod tokenizer;
mod tokenizer_json;
mod trainers;

use pyo3::prelude::*;

/// mimalloc for the Rust side, arenas committed on demand (see `allocator`).
#[global_allocator]
static GLOBAL: allocator::Allocator = allocator::Allocator;

#[pymodule]
mod _tokkit {
    #[pymodule_export]
    use super::align::{PyAlignVocab, align_batch};
    #[pymodule_export]
    use super::byteprobs::PyByteVocab;
    #[pymodule_export]
    use super::corpus::read_documents;
    #[pymodule_export]
    use super::hybrid::{PyHybridTokenizer, PyTrainedHybrid, hybrid_check_config, train_hybrid};
    #[pymodule_export]
    use super::sampler::{PySampledTokenizer, PyTokenizerSampler};
    #[pymodule_export]
    use super::sharded::{
        PyStage1, count_file_shard, count_texts, merge_count_tables, shard_plan, superbpe_stage1,
        superbpe_stage2, train_from_tables,
    };
    #[pymodule_export]
    use super::tokenizer::PyBpeTokenizer;
    #[pymodule_export]
    use super::tokenizer_json::PyTokenizerJson;
    #[pymodule_export]
    use super::trainers::{PyExtended, PyTrained, extend, train, trainer_config};

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        let pre = pyo3::types::PyDict::new(m.py());
        pre.set_item("gpt2", tokkit_core::pretokenize::GPT2_PATTERN)?;
        pre.set_item("llama3", tokkit_core::pretokenize::LLAMA3_PATTERN)?;
        pre.set_item("o200k", tokkit_core::pretokenize::O200K_PATTERN)?;
        m.add("PRETOKENIZER_PATTERNS", pre)?;
        m.add("MAX_THREADS", tokkit_core::threads::max_workers())?;
        let byte_chars: String = (0..=255u8)
            .map(tokkit_core::byte_level::byte_to_char)
            .collect();
        m.add("BYTE_CHARS", byte_chars)?;
        m.add(
            "PROGRESS_FIELDS",
            tokkit_core::progress::EVENT_FIELDS.to_vec(),
        )?;
        Ok(())
    }
}
