//! Brute-force checks on the spec §8 toy world and the §5.4 look-ahead fixture.

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
