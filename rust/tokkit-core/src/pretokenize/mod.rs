//! Pre-tokenization: cutting a sequence into the pieces BPE may not merge across.
//!
//! Several engines, one behaviour: hand-written scanners for the GPT-2 pattern ([`gpt2`]), the
//! Llama-3 family (Llama-3, Qwen2, cl100k: [`llama3`]) and o200k ([`o200k`]), the `regex` crate
//! for patterns whose only look-around is the usual trailing `\s+(?!\S)|\s+` ([`lookahead`],
//! which emulates that look-ahead exactly), and `fancy-regex` for everything else
//! (back-references, arbitrary look-around). Pieces follow HF's `Split(pattern, "isolated")`:
//! matches and the text between them are pieces; empty pieces are dropped.

mod ascii_runs;
pub mod chunks;
mod classes;
pub mod gpt2;
mod literal;
mod llama3;
mod lookahead;
mod o200k;
mod onig;

pub use literal::Behavior;

use crate::error::{Error, Result};

/// The GPT-2 pattern (HF `ByteLevel(use_regex=True)`).
pub const GPT2_PATTERN: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// The Llama-3 pattern (as in Meta's `tokenizer.json`).
pub const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// The o200k pattern (GPT-4o).
pub const O200K_PATTERN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
);

/// Qwen2's pattern (Llama-3's with single digits).
pub const QWEN2_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// cl100k's pattern as tiktoken publishes it and transformers' `TikTokenConverter` writes it
/// into `tokenizer.json`.
pub const CL100K_PATTERN: &str = concat!(
    r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+",
    r"|\s++$|\s*[\r\n]|\s+(?!\S)|\s"
);
/// GPT-2's pattern as tiktoken publishes it (r50k, p50k), and so as `TikTokenConverter` writes it.
pub const R50K_PATTERN: &str =
    r"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s";

/// [`CL100K_PATTERN`] as Oniguruma (HF) reads it, spelled for the look-ahead engine. Alternative
/// by alternative, the split is the same:
/// - `?+`, `++`, `*+` can go: in `[^\r\n\p{L}\p{N}]?+\p{L}++` the optional char is no letter,
///   so giving it back never lets `\p{L}+` match; the other possessive runs end their
///   alternative or are followed by a class they do not overlap, so there is nothing to give
///   back to.
/// - `\p{N}{1,3}+` is `(?:\p{N}{1,3})+` to Oniguruma: every digit of the run, `\p{N}+`.
/// - `\s++$`: the possessive run takes every whitespace char, `\n` included, so the line anchor
///   can only hold at the end of the text: `\s+\z`.
/// - `\s*[\r\n]` and `\s*[\r\n]+` both end right after the run's last `\r` or `\n`.
/// - After `\s+(?!\S)` fails, the run is one char before a non-space: `\s` and `\s+` agree.
const CL100K_FAST: &str = concat!(
    r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*",
    r"|\s+\z|\s*[\r\n]+|\s+(?!\S)|\s+"
);

/// Published spellings whose split, as Oniguruma reads them, is provably that of a pattern a
/// faster engine runs (and is checked against HF in `tests/encoding/test_properties.py`).
/// [`R50K_PATTERN`] is [`GPT2_PATTERN`] (same reasoning as for cl100k: the possessives give
/// nothing back, and a whitespace run that ends the text is what `\s+(?!\S)` takes anyway).
const SAME_SPLIT: [(&str, &str); 2] = [(R50K_PATTERN, GPT2_PATTERN), (CL100K_PATTERN, CL100K_FAST)];

#[derive(Debug)]
enum Engine {
    Gpt2,
    /// The hand-written scanner of [`LLAMA3_PATTERN`], [`QWEN2_PATTERN`] or `CL100K_FAST`.
    Llama3(llama3::Scanner),
    /// The hand-written scanner of [`O200K_PATTERN`].
    O200k,
    Plain(regex::Regex),
    Lookahead(lookahead::TrailingSpaceRegex),
    Fancy(fancy_regex::Regex),
    Whole,
    /// HF `Split` on a literal string (and Metaspace's split on its replacement character).
    Literal(Box<literal::LiteralSplit>),
    /// `(?=(\d{3})+(?!\d))` or `(?=(\d{3})+(?!\d))|REST` after `Digits`: see [`digit_groups`].
    DigitGroups(Option<Box<Engine>>),
}

/// Leading alternative that groups digits in threes from the right (SuperBPE's paper patterns).
const DIGIT_GROUPS: &str = r"(?=(\d{3})+(?!\d))";

/// Split points of `(?=(\d{3})+(?!\d))` in `text`: every position followed by a run of decimal
/// digits (`\d`, Unicode Nd) whose length is a positive multiple of three and that ends the run.
/// Behind `Digits`, a piece is either all numbers or has none, so this zero-width alternative
/// and the rest of the pattern never compete, and each runs on its own pieces without
/// backtracking.
fn digit_groups<'a>(text: &'a str, mut emit: impl FnMut(&'a str)) {
    let chars: Vec<(usize, bool)> = text
        .char_indices()
        .map(|(i, c)| (i, classes::is_decimal(c)))
        .collect();
    let mut cuts = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].1 {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].1 {
            i += 1;
        }
        let len = i - start;
        let mut j = start + len % 3;
        while j + 3 <= i {
            if j > 0 {
                cuts.push(chars[j].0);
            }
            j += 3;
        }
    }
    let mut prev = 0;
    for cut in cuts {
        if cut > prev {
            emit(&text[prev..cut]);
            prev = cut;
        }
    }
    if prev < text.len() {
        emit(&text[prev..]);
    }
}

/// A compiled pre-tokenizer.
#[derive(Debug)]
pub struct Pretokenizer {
    name: String,
    pattern: Option<String>,
    engine: Engine,
    isolate_digits: bool,
    chunker: Option<chunks::Chunker>,
}

impl Pretokenizer {
    /// `gpt2`, `llama3`, `o200k`, `none` (no split), or any other string as a custom regex.
    ///
    /// # Errors
    /// [`Error::InvalidRegex`] if a custom pattern does not compile.
    pub fn from_spec(spec: &str) -> Result<Self> {
        match spec {
            "gpt2" => Ok(Self {
                name: "gpt2".into(),
                pattern: Some(GPT2_PATTERN.into()),
                engine: Engine::Gpt2,
                isolate_digits: false,
                chunker: None,
            }),
            "none" => Ok(Self {
                name: "none".into(),
                pattern: None,
                engine: Engine::Whole,
                isolate_digits: false,
                chunker: None,
            }),
            "llama3" => Self::regex_named("llama3", LLAMA3_PATTERN),
            "o200k" => Self::regex_named("o200k", O200K_PATTERN),
            custom => Self::regex_named("custom", custom),
        }
    }

    /// A pre-tokenizer for `pattern` that uses the fastest engine able to run it exactly.
    ///
    /// # Errors
    /// [`Error::InvalidRegex`] if the pattern does not compile.
    pub fn regex_named(name: &str, pattern: &str) -> Result<Self> {
        if pattern.is_empty() {
            return Err(Error::InvalidRegex {
                pattern: pattern.into(),
                message: "the pattern is empty".into(),
            });
        }
        Ok(Self {
            name: name.into(),
            pattern: Some(pattern.into()),
            engine: Self::engine(pattern)?,
            isolate_digits: false,
            chunker: None,
        })
    }

    /// The fastest engine that splits like Oniguruma reading `pattern`.
    fn engine(pattern: &str) -> Result<Engine> {
        let pattern = SAME_SPLIT
            .iter()
            .find(|(published, _)| *published == pattern)
            .map_or(pattern, |(_, same)| same);
        match pattern {
            GPT2_PATTERN => return Ok(Engine::Gpt2),
            LLAMA3_PATTERN => return Ok(Engine::Llama3(llama3::Scanner::LLAMA3)),
            QWEN2_PATTERN => return Ok(Engine::Llama3(llama3::Scanner::QWEN2)),
            CL100K_FAST => return Ok(Engine::Llama3(llama3::Scanner::CL100K)),
            O200K_PATTERN => return Ok(Engine::O200k),
            _ => {}
        }
        let respelled = onig::respell(pattern);
        let rust = respelled.as_ref();
        Ok(if let Ok(re) = regex::Regex::new(rust) {
            Engine::Plain(re)
        } else if let Some(re) = lookahead::TrailingSpaceRegex::new(rust) {
            Engine::Lookahead(re)
        } else {
            let re = fancy_regex::Regex::new(rust).map_err(|e| Error::InvalidRegex {
                pattern: pattern.into(),
                message: e.to_string(),
            })?;
            Engine::Fancy(re)
        })
    }

    /// The name given at construction (`gpt2`, `llama3`, `o200k`, `none` or `custom`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The split pattern, or `None` for `none`.
    #[must_use]
    pub fn pattern(&self) -> Option<&str> {
        self.pattern.as_deref()
    }

    /// Which engine runs the pattern (for reports and benchmarks).
    #[must_use]
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Gpt2 => "hand-written gpt2 scanner",
            Engine::Llama3(_) => "hand-written llama3-family scanner",
            Engine::O200k => "hand-written o200k scanner",
            Engine::Plain(_) => "regex",
            Engine::Lookahead(_) => "regex + exact trailing-space look-ahead",
            Engine::Fancy(_) => "fancy-regex (backtracking)",
            Engine::Whole => "no split",
            Engine::Literal(_) => "literal string split",
            Engine::DigitGroups(_) => "digit groups + regex (behind Digits)",
        }
    }

    /// HF `Split` with a `String` pattern: `text` is cut at each occurrence of `pattern` and the
    /// occurrences are kept as `behavior` says. Metaspace's `split=true` is `("▁", MergedWithNext)`.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty pattern.
    pub fn literal(name: &str, pattern: &str, behavior: Behavior) -> Result<Self> {
        if pattern.is_empty() {
            return Err(Error::Config("a Split pattern must not be empty".into()));
        }
        Ok(Self {
            name: name.into(),
            pattern: None,
            engine: Engine::Literal(Box::new(literal::LiteralSplit::new(pattern, behavior))),
            isolate_digits: false,
            chunker: None,
        })
    }

    /// Whether the pieces are exactly the matches of [`pattern`](Self::pattern) (no digit
    /// isolation or chunking on top).
    #[must_use]
    pub fn is_plain_pattern(&self) -> bool {
        self.pattern.is_some() && !self.isolate_digits && self.chunker.is_none()
    }

    /// The literal of an HF `Split` on a `String` pattern (plain, no digit isolation or
    /// chunking on top); `None` for every other pre-tokenizer.
    #[must_use]
    pub fn literal_needle(&self) -> Option<&[u8]> {
        match &self.engine {
            Engine::Literal(l) if !self.isolate_digits && self.chunker.is_none() => {
                Some(l.needle())
            }
            _ => None,
        }
    }

    /// Whether the pre-tokenizer never splits (the whole text is one piece).
    #[must_use]
    pub fn is_whole(&self) -> bool {
        matches!(self.engine, Engine::Whole) && !self.isolate_digits && self.chunker.is_none()
    }

    /// Random chunks of each document (supertokens, training only): see [`chunks`].
    #[must_use]
    pub fn random_chunks(chunker: chunks::Chunker) -> Self {
        Self {
            name: "random-chunks".into(),
            pattern: None,
            engine: Engine::Whole,
            isolate_digits: false,
            chunker: Some(chunker),
        }
    }

    /// Calls `emit` with every piece of document number `document`; only random chunking
    /// depends on the number.
    pub fn split_document<'a>(&self, text: &'a str, document: u64, emit: impl FnMut(&'a str)) {
        match &self.chunker {
            Some(chunker) => chunker.split(text, document, emit),
            None => self.split(text, emit),
        }
    }

    /// The same pre-tokenizer preceded by HF's `Digits(individual_digits=false)`: runs of
    /// `\p{N}` are cut out first, then the pattern splits each piece.
    #[must_use]
    pub fn with_isolated_digits(mut self) -> Self {
        self.isolate_digits = true;
        // Behind `Digits`, a leading digit-group look-ahead needs no backtracking engine.
        if let Some(pattern) = self.pattern.clone() {
            if pattern == DIGIT_GROUPS {
                self.engine = Engine::DigitGroups(None);
            } else if let Some(rest) = pattern.strip_prefix(&format!("{DIGIT_GROUPS}|")) {
                if let Ok(rest) = Self::regex_named("rest", rest) {
                    self.engine = Engine::DigitGroups(Some(Box::new(rest.engine)));
                }
            }
        }
        self
    }

    /// Whether runs of digits are cut out before the pattern runs.
    #[must_use]
    pub fn isolates_digits(&self) -> bool {
        self.isolate_digits
    }

    /// Calls `emit` with every non-empty piece of `text`, in order.
    pub fn split<'a>(&self, text: &'a str, mut emit: impl FnMut(&'a str)) {
        if self.isolate_digits {
            let mut start = 0;
            let mut in_digits = false;
            for (i, c) in text.char_indices() {
                let digit = classes::class_of(c) == classes::CharClass::Number;
                if digit != in_digits && i > start {
                    self.split_one(&text[start..i], &mut emit);
                    start = i;
                }
                in_digits = digit;
            }
            if start < text.len() {
                self.split_one(&text[start..], &mut emit);
            }
        } else {
            self.split_one(text, emit);
        }
    }

    fn split_one<'a>(&self, text: &'a str, emit: impl FnMut(&'a str)) {
        Self::run_engine(&self.engine, text, emit);
    }

    fn run_engine<'a>(engine: &Engine, text: &'a str, mut emit: impl FnMut(&'a str)) {
        match engine {
            Engine::DigitGroups(rest) => {
                let numeric = text
                    .chars()
                    .next()
                    .is_some_and(|c| classes::class_of(c) == classes::CharClass::Number);
                match rest {
                    Some(rest) if !numeric => Self::run_engine(rest, text, emit),
                    _ => digit_groups(text, emit),
                }
            }
            Engine::Gpt2 => gpt2::split(text, emit),
            Engine::Llama3(scanner) => scanner.split(text, emit),
            Engine::O200k => o200k::split(text, emit),
            Engine::Whole => {
                if !text.is_empty() {
                    emit(text);
                }
            }
            Engine::Plain(re) => {
                isolated(text, re.find_iter(text).map(|m| (m.start(), m.end())), emit)
            }
            Engine::Lookahead(re) => re.split(text, emit),
            Engine::Literal(split) => split.split(text, emit),
            Engine::Fancy(re) => {
                let matches = re.find_iter(text).map_while(std::result::Result::ok);
                isolated(text, matches.map(|m| (m.start(), m.end())), &mut emit);
            }
        }
    }

    /// The pieces of `text` as a vector (convenience for tests and small inputs).
    #[must_use]
    pub fn pieces<'a>(&self, text: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        self.split(text, |p| out.push(p));
        out
    }
}

/// HF `Split(isolated)`: each match and each gap between matches is a piece; empties are dropped.
fn isolated<'a>(
    text: &'a str,
    matches: impl Iterator<Item = (usize, usize)>,
    mut emit: impl FnMut(&'a str),
) {
    let mut prev = 0;
    for (start, end) in matches {
        if start > prev {
            emit(&text[prev..start]);
        }
        if end > start {
            emit(&text[start..end]);
        }
        prev = end;
    }
    if prev < text.len() {
        emit(&text[prev..]);
    }
}

#[cfg(test)]
mod tests;
