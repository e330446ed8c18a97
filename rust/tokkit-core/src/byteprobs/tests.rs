//! Brute-force checks on the design/byteprobs.md §8 toy world and the §5.4 look-ahead fixture.

use std::collections::{BTreeSet, HashSet};

use super::ByteVocab;
use crate::train::TokenId;

fn tokenizer_json(vocab: &[&str], merges: &[(&str, &str)], pre_tokenizer: &str) -> String {
    let vocab: Vec<String> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{t:?}: {i}"))
        .collect();
    let merges: Vec<String> = merges
        .iter()
        .map(|(a, b)| format!("[{a:?}, {b:?}]"))
        .collect();
    format!(
        r#"{{"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": {pre_tokenizer},
        "model": {{"type": "BPE", "ignore_merges": false, "vocab": {{{}}}, "merges": [{}]}}}}"#,
        vocab.join(", "),
        merges.join(", ")
    )
}

const NO_SPLIT: &str = r#"{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}"#;

pub(crate) fn toy() -> ByteVocab {
    let json = tokenizer_json(
        &["a", "b", "aa", "ab", "aab", "ba"],
        &[("a", "a"), ("a", "b"), ("aa", "b"), ("b", "a")],
        NO_SPLIT,
    );
    ByteVocab::from_json(&json).unwrap()
}

fn digits() -> ByteVocab {
    let mut vocab: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    vocab.extend(["12".into(), "34".into()]);
    let vocab: Vec<&str> = vocab.iter().map(String::as_str).collect();
    let pre = r#"{"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "(?=(\\d{3})+(?!\\d))"}, "behavior": "Isolated", "invert": false},
        {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]}"#;
    ByteVocab::from_json(&tokenizer_json(&vocab, &[("1", "2"), ("3", "4")], pre)).unwrap()
}

/// Every string over `alphabet` of length `0..=max`.
fn strings(alphabet: &[u8], max: usize) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    let mut frontier = vec![Vec::new()];
    for _ in 0..max {
        frontier = frontier
            .iter()
            .flat_map(|s: &Vec<u8>| {
                alphabet.iter().map(move |&c| {
                    let mut t = s.clone();
                    t.push(c);
                    t
                })
            })
            .collect();
        out.extend(frontier.iter().cloned());
    }
    out
}

/// All prefixes of the encodings of every string over `alphabet` up to `max` bytes.
fn valid_set(vocab: &ByteVocab, alphabet: &[u8], max: usize) -> HashSet<Vec<TokenId>> {
    let mut set = HashSet::new();
    for s in strings(alphabet, max) {
        let enc = vocab.encode(std::str::from_utf8(&s).unwrap());
        for k in 0..=enc.len() {
            set.insert(enc[..k].to_vec());
        }
    }
    set
}

fn decode_len(vocab: &ByteVocab, ids: &[TokenId]) -> usize {
    ids.iter().map(|&i| vocab.len_of(i)).sum()
}

/// Checks `covers` and `is_valid` against the brute-force valid set, for strings up to `n`.
fn check_against_brute_force(vocab: &ByteVocab, alphabet: &[u8], n: usize) {
    let valid = valid_set(vocab, alphabet, n + 3);
    let ids: Vec<TokenId> = (0..vocab.vocab_size() as TokenId)
        .filter(|&i| {
            vocab
                .token_bytes(i)
                .unwrap()
                .iter()
                .all(|b| alphabet.contains(b))
        })
        .collect();
    // is_valid on every token sequence decoding to at most n bytes.
    let mut seqs: Vec<Vec<TokenId>> = vec![Vec::new()];
    let mut i = 0;
    while i < seqs.len() {
        let s = seqs[i].clone();
        i += 1;
        assert_eq!(vocab.is_valid(&s).unwrap(), valid.contains(&s), "{s:?}");
        for &v in &ids {
            let mut t = s.clone();
            t.push(v);
            if decode_len(vocab, &t) <= n {
                seqs.push(t);
            }
        }
    }
    for x in strings(alphabet, n).into_iter().filter(|x| !x.is_empty()) {
        let want: BTreeSet<(Vec<TokenId>, usize)> = valid
            .iter()
            .filter(|t| !t.is_empty())
            .filter_map(|t| {
                let text = vocab.decode(t);
                let before = decode_len(vocab, &t[..t.len() - 1]);
                (before < x.len() && text.starts_with(&x))
                    .then(|| (t.clone(), text.len() - x.len()))
            })
            .collect();
        let got: BTreeSet<(Vec<TokenId>, usize)> = vocab.covers(&x).into_iter().collect();
        assert_eq!(got, want, "covers of {:?}", String::from_utf8_lossy(&x));
    }
}

#[test]
fn toy_world_covers_and_validity_equal_brute_force() {
    check_against_brute_force(&toy(), b"ab", 8);
}

#[test]
fn toy_pair_rules_equal_encoding() {
    let vocab = toy();
    let rules = vocab.pairs.as_ref().unwrap();
    for l in 0..6 {
        for r in 0..6 {
            let text = [vocab.token_bytes(l).unwrap(), vocab.token_bytes(r).unwrap()].concat();
            let want = vocab.encode(std::str::from_utf8(&text).unwrap()) == [l, r];
            assert!(rules.usable(l) && rules.usable(r));
            assert_eq!(rules.pair_is_valid(&vocab.encoder, l, r), want, "{l} {r}");
        }
    }
}

#[test]
fn lookahead_fixture_has_two_exact_covers_of_12() {
    let vocab = digits();
    assert_eq!(vocab.encode("12"), [10]);
    assert_eq!(vocab.encode("1234"), [1, 2, 11]);
    let exact: BTreeSet<Vec<TokenId>> = vocab
        .covers(b"12")
        .into_iter()
        .filter(|c| c.1 == 0)
        .map(|c| c.0)
        .collect();
    assert_eq!(exact, BTreeSet::from([vec![10], vec![1, 2]]));
    assert_eq!(vocab.stable_boundary(b"12"), 0);
    check_against_brute_force(&vocab, b"1234", 4);
}

#[test]
fn stable_boundary_of_gpt2_text() {
    let json = tokenizer_json(
        &["a", "b", " ", "ab", " a"],
        &[("a", "b"), (" ", "a")],
        r#"{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}"#,
    );
    let json = json.replace("\" \"", "\"Ġ\"").replace("\" a\"", "\"Ġa\"");
    let vocab = ByteVocab::from_json(&json).unwrap();
    assert_eq!(vocab.stable_boundary(b"ab ab"), 2);
    assert_eq!(vocab.stable_boundary(b"ab  "), 2);
    assert_eq!(vocab.stable_boundary(b""), 0);
}

/// A byte-level vocabulary (the 256 bytes, no merges) behind the pre-tokenizer section `pre`.
fn bytes_only(pre: &str) -> ByteVocab {
    let chars: Vec<String> = (0..=255u8)
        .map(|b| crate::byte_level::byte_to_char(b).to_string())
        .collect();
    let vocab: Vec<&str> = chars.iter().map(String::as_str).collect();
    ByteVocab::from_json(&tokenizer_json(&vocab, &[], pre)).unwrap()
}

fn regex_split(pattern: &str, digits: bool) -> String {
    let digits = if digits {
        r#"{"type": "Digits", "individual_digits": false}, "#
    } else {
        ""
    };
    format!(
        r#"{{"type": "Sequence", "pretokenizers": [{digits}
        {{"type": "Split", "pattern": {{"Regex": {pattern:?}}}, "behavior": "Isolated", "invert": false}},
        {{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}}]}}"#
    )
}

/// The pre-tokenizers whose probe sets must be complete: GPT-2, Llama-3, Qwen2, o200k, and
/// SuperBPE's digit-group look-ahead behind `Digits`.
fn probed_pretokenizers() -> Vec<(&'static str, ByteVocab)> {
    use crate::pretokenize::{LLAMA3_PATTERN, O200K_PATTERN};
    use crate::train::superbpe::PAPER_STAGE1;
    vec![
        (
            "gpt2",
            bytes_only(r#"{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}"#),
        ),
        ("llama3", bytes_only(&regex_split(LLAMA3_PATTERN, false))),
        (
            "qwen2",
            bytes_only(&regex_split(super::QWEN2_PATTERN, false)),
        ),
        ("o200k", bytes_only(&regex_split(O200K_PATTERN, false))),
        ("superbpe", bytes_only(&regex_split(PAPER_STAGE1, true))),
    ]
}

/// Every concatenation of `1..=max` units (and the empty string when `empty`).
fn unit_strings(units: &[&str], max: usize, empty: bool) -> Vec<String> {
    let mut out = if empty {
        vec![String::new()]
    } else {
        Vec::new()
    };
    let mut frontier = vec![String::new()];
    for _ in 0..max {
        frontier = frontier
            .iter()
            .flat_map(|s| units.iter().map(move |u| format!("{s}{u}")))
            .collect();
        out.extend(frontier.iter().cloned());
    }
    out
}

/// Chars of every class the supported patterns tell apart: the letters of the contractions in
/// both cases, other letters by case (ASCII, Latin-1, CJK, titlecase, modifier), a combining
/// mark, digits, apostrophes, punctuation (`/` ends o200k's punctuation runs), every kind of
/// whitespace, an emoji.
const UNITS: &[&str] = &[
    "a", "e", "v", "r", "l", "s", "t", "d", "m", "E", "V", "R", "L", "S", "T", "D", "M", "A", "é",
    "É", "中", "ǅ", "ʰ", "\u{301}", "0", "٣", "'", "’", ".", "/", "-", " ", "  ", "\n", "\r", "\t",
    "\u{a0}", "\u{3000}", "😀",
];

/// Where the pieces of `text ⊕ cont` (UTF-8 together) start strictly inside `text`.
fn inner_starts(vocab: &ByteVocab, text: &[u8], cont: &[u8]) -> Vec<usize> {
    let s = String::from_utf8([text, cont].concat()).unwrap();
    vocab
        .segments(&s)
        .iter()
        .map(|seg| seg.start)
        .filter(|&p| p > 0 && p < text.len())
        .collect()
}

/// The failures of `text` (bytes, maybe ending inside a char) against `conts`: a piece-start
/// pattern no probe gives, or a stable boundary that moves.
fn holes_of(vocab: &ByteVocab, text: &[u8], conts: &[Vec<u8>]) -> Vec<String> {
    let probes: HashSet<Vec<usize>> = vocab
        .continuations(text)
        .unwrap()
        .iter()
        .map(|c| inner_starts(vocab, text, c))
        .collect();
    let h = vocab.stable_boundary(text);
    let head = vocab.segments(std::str::from_utf8(&text[..h]).unwrap());
    let mut holes = Vec::new();
    let show = |b: &[u8]| format!("{:?}", String::from_utf8_lossy(b));
    for c in conts {
        if !probes.contains(&inner_starts(vocab, text, c)) {
            holes.push(format!("no probe cuts {} as {} does", show(text), show(c)));
        }
        let s = String::from_utf8([text, c].concat()).unwrap();
        let tail = vocab.segments(&s[h..]);
        let shifted = tail.iter().map(|g| (g.start + h, g.end + h));
        let want: Vec<(usize, usize)> = head
            .iter()
            .map(|g| (g.start, g.end))
            .chain(shifted)
            .collect();
        let got: Vec<(usize, usize)> = vocab
            .segments(&s)
            .iter()
            .map(|g| (g.start, g.end))
            .collect();
        if got != want {
            holes.push(format!(
                "boundary {h} of {} moves after {}",
                show(text),
                show(c)
            ));
        }
    }
    holes
}

/// For every text of `units` up to `text_len` and every continuation of `units` up to
/// `cont_len`: the oracle's probes of the text reach the same piece starts inside it (so a
/// sequence valid after some continuation is valid after some probe), and its stable boundary
/// stays stable. Returns the failures, at most 20.
fn probe_holes(vocab: &ByteVocab, text_len: usize, cont_len: usize) -> Vec<String> {
    use rayon::prelude::*;
    let conts: Vec<Vec<u8>> = unit_strings(UNITS, cont_len, true)
        .into_iter()
        .map(String::into_bytes)
        .collect();
    unit_strings(UNITS, text_len, false)
        .par_iter()
        .flat_map_iter(|text| holes_of(vocab, text.as_bytes(), &conts))
        .take_any(20)
        .collect()
}

/// Lead bytes (and lead plus continuation bytes) of chars of many classes: fullwidth digits and
/// letters, Arabic-Indic digits and letters, CJK and its spaces and marks, Latin-1, combining
/// marks, general punctuation (thin space, line separator), emoji and mathematical letters.
const PARTIALS: &[&[u8]] = &[
    b"\xef",
    b"\xef\xbc",
    b"\xd9",
    b"\xe3",
    b"\xe3\x80",
    b"\xe4",
    b"\xc3",
    b"\xcc",
    b"\xe2",
    b"\xe2\x80",
    b"\xc2",
    b"\xf0\x9f",
    b"\xf0\x9d",
    b"\xf0\x9f\x98",
];

/// A unit of each class for [`partial_char_holes`]' quick run.
const SOME_UNITS: &[&str] = &["a", "'", " ", "\n", "0", "٣", "中", "."];

/// [`probe_holes`] for texts that end inside a char: up to `text_len` of `units`, then a prefix
/// of [`PARTIALS`]; continuations: every char the prefix can become, alone or followed by a
/// digit, a letter, a space, an apostrophe or a newline.
fn partial_char_holes(vocab: &ByteVocab, units: &[&str], text_len: usize) -> Vec<String> {
    use rayon::prelude::*;
    let texts: Vec<Vec<u8>> = unit_strings(units, text_len, true)
        .iter()
        .flat_map(|t| PARTIALS.iter().map(move |p| [t.as_bytes(), p].concat()))
        .collect();
    texts
        .par_iter()
        .flat_map_iter(|text| {
            let partial = &text[std::str::from_utf8(text).unwrap_err().valid_up_to()..];
            let mut conts = Vec::new();
            for c in (0..0x11_0000).filter_map(char::from_u32) {
                let mut buf = [0; 4];
                let bytes = c.encode_utf8(&mut buf).as_bytes();
                if let Some(rest) = bytes.strip_prefix(partial) {
                    for after in ["", "0", "a", " ", "'", "\n"] {
                        conts.push([rest, after.as_bytes()].concat());
                    }
                }
            }
            holes_of(vocab, text, &conts)
        })
        .take_any(20)
        .collect()
}

#[test]
fn probes_see_every_segmentation_a_continuation_can_cause() {
    for (name, vocab) in probed_pretokenizers() {
        let holes = probe_holes(&vocab, 2, 2);
        assert!(holes.is_empty(), "{name}: {holes:#?}");
        let holes = partial_char_holes(&vocab, SOME_UNITS, 1);
        assert!(holes.is_empty(), "{name}, inside a char: {holes:#?}");
    }
}

/// The same over texts of three units (a few minutes; `make test-slow`).
#[test]
#[ignore = "slow: run with --ignored"]
fn probes_see_every_segmentation_a_continuation_can_cause_long() {
    for (name, vocab) in probed_pretokenizers() {
        let holes = probe_holes(&vocab, 3, 2);
        assert!(holes.is_empty(), "{name}: {holes:#?}");
        let holes = partial_char_holes(&vocab, UNITS, 1);
        assert!(holes.is_empty(), "{name}, inside a char: {holes:#?}");
    }
}
