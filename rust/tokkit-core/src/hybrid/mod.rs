//! The morphological hybrid tokenizer (design/hybrid.md): root groups and suffix classes whose
//! allomorphs share one id, case markers instead of capitalised duplicates, and byte-level BPE
//! pieces for the rest, with `decode(encode(x)) == x` for every string.
//!
//! [`language`] reads a language's data (design/hybrid.md §1), [`model`] holds the ids and tables
//! and reads and writes `hybrid.json` (design/hybrid.md §2), [`encode`] and [`decode`] are
//! design/hybrid.md §3 and §4, [`train`] is design/hybrid.md §5.

pub mod decode;
pub mod encode;
pub mod language;
pub mod model;
pub mod train;

use serde::{Deserialize, Serialize};

pub use language::{Context, Language, RootGroup};
pub use model::{HybridModel, Kind, TokenId};
pub use train::{HybridReport, HybridTrainer, TrainedHybrid, train_hybrid};

use crate::error::{Error, Result};

/// How a segment is cut into tokens (design/hybrid.md §3.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segmentation {
    /// The fewest tokens, ties to the fewest pieces, then to the longer first token.
    #[default]
    BestPath,
    /// The fewest pieces, then the fewest tokens.
    PurePath,
    /// Longest root, else longest suffix, else longest piece, left to right.
    LongestMatch,
}

impl Segmentation {
    /// Parses a mode's name.
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "best_path" => Ok(Self::BestPath),
            "pure_path" => Ok(Self::PurePath),
            "longest_match" => Ok(Self::LongestMatch),
            other => Err(Error::Config(format!(
                "unknown segmentation {other:?}: choose best_path, pure_path or longest_match"
            ))),
        }
    }

    /// The mode's name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::BestPath => "best_path",
            Self::PurePath => "pure_path",
            Self::LongestMatch => "longest_match",
        }
    }
}
