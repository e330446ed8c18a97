//! Character-level BPE in the KL3M style (Bommarito et al., 2025): ordinary byte-level BPE with
//! a hard, inclusive cap on token length ([`super::LengthCap::Inclusive`]), for OCR-noisy text
//! where clean and corrupted spellings should share token boundaries. The trainer is `bpe.rs`;
//! this module adds what KL3M adds around it: padding the vocabulary to an exact size with
//! whitespace-run tokens (added tokens, never merges), and the KL3M special tokens.

use super::{BpeModel, TokenId};
use crate::error::{Error, Result};

/// KL3M's 13 special tokens, ids 0-12 in its released tokenizers.
pub const KL3M_SPECIAL_TOKENS: [&str; 13] = [
    "<|start|>",
    "<|end|>",
    "<|pad|>",
    "<|unk|>",
    "<|sep|>",
    "<|cls|>",
    "<|mask|>",
    "<|system|>",
    "</|system|>",
    "<|user|>",
    "</|user|>",
    "<|instruction|>",
    "</|instruction|>",
];

/// Appends padding tokens until the model has exactly `target` ids: `"  "`, `"\n\n"`, `"   "`,
/// `"\n\n\n"`, ... (two to 64 repeats), skipping strings the vocabulary already has. They become
/// added tokens, so they never change how the learned merges apply.
///
/// # Errors
/// [`Error::Config`] if the model is already larger than `target`, or the pool of padding
/// strings runs out (more than 126 padding tokens asked for).
pub fn pad_to(model: &mut BpeModel, target: usize) -> Result<()> {
    if model.tokens.len() > target {
        return Err(Error::Config(format!(
            "the trained vocabulary has {} ids, more than the target {target}",
            model.tokens.len()
        )));
    }
    let candidates = (2..=64).flat_map(|k| [vec![b' '; k], vec![b'\n'; k]]);
    let existing: std::collections::HashSet<Vec<u8>> = model.tokens.iter().cloned().collect();
    let mut added = 0;
    for candidate in candidates {
        if model.tokens.len() >= target {
            break;
        }
        if !existing.contains(&candidate) {
            model.tokens.push(candidate);
            added += 1;
        }
    }
    if model.tokens.len() < target {
        return Err(Error::Config(format!(
            "cannot pad {} ids up to {target}: at most 126 padding tokens exist; lower the vocab size or min_frequency",
            model.tokens.len()
        )));
    }
    model.num_padding += added;
    debug_assert!(model.tokens.len() <= TokenId::MAX as usize);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CancelToken;
    use crate::progress::Silent;
    use crate::train::{BpeConfig, LengthCap, bpe};

    #[test]
    fn padding_reaches_the_target_exactly_and_skips_existing_strings() {
        let words: Vec<(Box<[u8]>, u64)> =
            vec![(b"  ".as_slice().into(), 50), (b"ab".as_slice().into(), 40)];
        let config = BpeConfig {
            vocab_size: 300,
            length_cap: LengthCap::Inclusive(3),
            ..BpeConfig::default()
        };
        let mut model = bpe::train(words, &config, &Silent, &CancelToken::new())
            .unwrap()
            .model;
        assert_eq!(model.tokens.len(), 258, "two merges: (a, b) and (Ġ, Ġ)");
        pad_to(&mut model, 262).unwrap();
        assert_eq!(model.tokens.len(), 262);
        assert_eq!(model.num_padding, 4);
        let padding: Vec<&[u8]> = model.tokens[258..].iter().map(Vec::as_slice).collect();
        assert_eq!(padding, [b"\n\n".as_slice(), b"   ", b"\n\n\n", b"    "]);
        assert!(model.is_added(261) && !model.is_added(257));
        assert!(pad_to(&mut model, 100).is_err());
    }
}
