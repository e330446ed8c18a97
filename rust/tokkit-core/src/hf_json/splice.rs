//! Appending to a `tokenizer.json` in place, byte for byte: new vocab entries go before the
//! vocab's closing brace and new merges before the merges' closing bracket, written in the
//! file's own layout (its separators, its indentation, its merge form), and the pre-tokenizer
//! section can be swapped. Every other byte of the base file is kept, so an extension's diff
//! is only what it adds, and an extension by zero merges is the base file itself.
//!
//! A small scanner finds the spans instead of parsing and re-printing the whole file: a
//! re-printed file would differ from the base in key order, escapes and spacing, and a 33 MB
//! Gemma file would take a second to re-print for nothing.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::train::TokenId;

/// What to add to a base `tokenizer.json`.
pub struct Additions<'a> {
    /// New model-vocab entries `(token text, id)`, in id order.
    pub vocab: &'a [(String, TokenId)],
    /// New merges `(left, right)` as vocab texts, in rank order.
    pub merges: &'a [(String, String)],
    /// A replacement for the `pre_tokenizer` section.
    pub pre_tokenizer: Option<&'a Value>,
}

fn malformed(what: &str) -> Error {
    Error::Serialization(format!("cannot extend this tokenizer.json: {what}"))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The index after the string that starts at `i` (a `"`).
fn string_end(b: &[u8], mut i: usize) -> Result<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(malformed("an unterminated string"))
}

/// The index after the value that starts at `i`.
fn value_end(b: &[u8], i: usize) -> Result<usize> {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            Err(malformed("an unclosed object or list"))
        }
        Some(_) => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']') && !b[j].is_ascii_whitespace()
            {
                j += 1;
            }
            Ok(j)
        }
        None => Err(malformed("a value is missing")),
    }
}

/// One member of an object: where its key and its value are.
struct Member {
    key: (usize, usize),
    value: (usize, usize),
}

/// The members of the object that starts at `i` (a `{`).
fn members(b: &[u8], i: usize) -> Result<Vec<Member>> {
    let mut out = Vec::new();
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b'}') {
        return Ok(out);
    }
    loop {
        if b.get(j) != Some(&b'"') {
            return Err(malformed("an object key is not a string"));
        }
        let key_end = string_end(b, j)?;
        let colon = skip_ws(b, key_end);
        if b.get(colon) != Some(&b':') {
            return Err(malformed("a key without a colon"));
        }
        let start = skip_ws(b, colon + 1);
        let end = value_end(b, start)?;
        out.push(Member {
            key: (j, key_end),
            value: (start, end),
        });
        let next = skip_ws(b, end);
        match b.get(next) {
            Some(b',') => j = skip_ws(b, next + 1),
            Some(b'}') => return Ok(out),
            _ => return Err(malformed("an object member is followed by neither , nor }")),
        }
    }
}

/// The elements of the list that starts at `i` (a `[`), as spans.
fn elements(b: &[u8], i: usize) -> Result<Vec<(usize, usize)>> {
    let mut out = Vec::new();
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b']') {
        return Ok(out);
    }
    loop {
        let end = value_end(b, j)?;
        out.push((j, end));
        let next = skip_ws(b, end);
        match b.get(next) {
            Some(b',') => j = skip_ws(b, next + 1),
            Some(b']') => return Ok(out),
            _ => return Err(malformed("a list element is followed by neither , nor ]")),
        }
    }
}

/// The member `key` of an object's members.
fn member<'m>(text: &str, members: &'m [Member], key: &str) -> Option<&'m Member> {
    members
        .iter()
        .find(|m| serde_json::from_str::<String>(&text[m.key.0..m.key.1]).is_ok_and(|k| k == key))
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// The separator written between two elements of the list or object that opens at `open`: the
/// file's own, or with one element a comma and the spacing before that element.
fn separator(text: &str, open: usize, spans: &[(usize, usize)]) -> String {
    match spans {
        [a, b, ..] => text[a.1..b.0].to_owned(),
        [a] => format!(",{}", &text[open + 1..a.0]),
        [] => ", ".to_owned(),
    }
}

/// One new merge in the form of `template` (the base's first merge): `"a b"`, or a list whose
/// two strings are replaced and whose layout is kept.
fn merge_like(
    text: &str,
    template: Option<(usize, usize)>,
    (a, b): (&str, &str),
) -> Result<String> {
    let Some((start, end)) = template else {
        return Ok(format!("[{}, {}]", quoted(a), quoted(b)));
    };
    let bytes = text.as_bytes();
    match bytes[start] {
        b'"' => {
            if a.contains(' ') || b.contains(' ') {
                return Err(malformed(&format!(
                    "the merge ({a:?}, {b:?}) holds a space, which the base's \"a b\" merge form \
                     cannot express"
                )));
            }
            Ok(quoted(&format!("{a} {b}")))
        }
        b'[' => {
            let sides = elements(bytes, start)?;
            let [(s1, e1), (s2, e2)] = sides[..] else {
                return Err(malformed("a merge that is not two strings"));
            };
            Ok(format!(
                "{}{}{}{}{}",
                &text[start..s1],
                quoted(a),
                &text[e1..s2],
                quoted(b),
                &text[e2..end]
            ))
        }
        _ => Err(malformed("a merge that is neither \"a b\" nor a list")),
    }
}

/// `value` pretty-printed as the file prints (one line if the file is one line), indented to
/// sit at `at`.
fn printed_at(text: &str, at: usize, value: &Value) -> String {
    if !text.trim_end().contains('\n') {
        return value.to_string();
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[line_start..at]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    serde_json::to_string_pretty(value)
        .expect("values serialise")
        .replace('\n', &format!("\n{indent}"))
}

/// `text` (a base `tokenizer.json`) with `add` spliced in; `text` itself when there is nothing
/// to add.
///
/// # Errors
/// [`Error::Serialization`] when the file lacks a model vocab object or a merges list, or a
/// merge cannot be written in the base's merge form.
pub fn append(text: &str, add: &Additions<'_>) -> Result<String> {
    let b = text.as_bytes();
    let root = skip_ws(b, 0);
    if b.get(root) != Some(&b'{') {
        return Err(malformed("the file is not a JSON object"));
    }
    let top = members(b, root)?;
    let model = member(text, &top, "model").ok_or_else(|| malformed("no model section"))?;
    if b[model.value.0] != b'{' {
        return Err(malformed("the model section is not an object"));
    }
    let model_members = members(b, model.value.0)?;
    let vocab = member(text, &model_members, "vocab").ok_or_else(|| malformed("no model vocab"))?;
    let merges =
        member(text, &model_members, "merges").ok_or_else(|| malformed("no model merges"))?;
    if b[vocab.value.0] != b'{' || b[merges.value.0] != b'[' {
        return Err(malformed(
            "the vocab is not an object or the merges not a list",
        ));
    }

    // Edits as (start, end, replacement), applied from the back so earlier offsets hold.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    if !add.vocab.is_empty() {
        let entries = members(b, vocab.value.0)?;
        let spans: Vec<(usize, usize)> = entries.iter().map(|m| (m.key.0, m.value.1)).collect();
        let (at, lead) = match spans.last() {
            Some(&(_, end)) => (end, separator(text, vocab.value.0, &spans)),
            None => (vocab.value.0 + 1, String::new()),
        };
        let kv = entries
            .first()
            .map_or(": ".to_owned(), |m| text[m.key.1..m.value.0].to_owned());
        let mut out = String::new();
        for (i, (token, id)) in add.vocab.iter().enumerate() {
            if i > 0 || !spans.is_empty() {
                out.push_str(if spans.is_empty() { ", " } else { &lead });
            }
            out.push_str(&quoted(token));
            out.push_str(&kv);
            out.push_str(&id.to_string());
        }
        edits.push((at, at, out));
    }
    if !add.merges.is_empty() {
        let spans = elements(b, merges.value.0)?;
        let lead = separator(text, merges.value.0, &spans);
        let template = spans.first().copied();
        let (at, mut first) = match spans.last() {
            Some(&(_, end)) => (end, false),
            None => (merges.value.0 + 1, true),
        };
        let mut out = String::new();
        for (a, b_) in add.merges {
            if !first {
                out.push_str(&lead);
            }
            first = false;
            out.push_str(&merge_like(text, template, (a, b_))?);
        }
        edits.push((at, at, out));
    }
    if let Some(value) = add.pre_tokenizer {
        let section = member(text, &top, "pre_tokenizer")
            .ok_or_else(|| malformed("no pre_tokenizer section to replace"))?;
        let (start, end) = section.value;
        edits.push((start, end, printed_at(text, section.key.0, value)));
    }
    if edits.is_empty() {
        return Ok(text.to_owned());
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_owned();
    for (start, end, replacement) in edits {
        out.replace_range(start..end, &replacement);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PRETTY: &str = r#"{
  "version": "1.0",
  "pre_tokenizer": {
    "type": "ByteLevel"
  },
  "model": {
    "type": "BPE",
    "vocab": {
      "a": 0,
      "b": 1,
      "ab": 2
    },
    "merges": [
      [
        "a",
        "b"
      ]
    ]
  }
}"#;

    #[test]
    fn nothing_added_is_the_base_itself() {
        let add = Additions {
            vocab: &[],
            merges: &[],
            pre_tokenizer: None,
        };
        assert_eq!(append(PRETTY, &add).unwrap(), PRETTY);
    }

    #[test]
    fn entries_are_appended_in_the_files_layout() {
        let add = Additions {
            vocab: &[("ba\"".into(), 3)],
            merges: &[("b".into(), "a\"".into())],
            pre_tokenizer: Some(&json!({"type": "Split", "x": [1]})),
        };
        let out = append(PRETTY, &add).unwrap();
        assert!(
            out.contains("      \"ab\": 2,\n      \"ba\\\"\": 3\n    },"),
            "{out}"
        );
        assert!(
            out.contains("      ],\n      [\n        \"b\",\n        \"a\\\"\"\n      ]\n    ]"),
            "{out}"
        );
        assert!(out.contains("  \"pre_tokenizer\": {\n    \"type\": \"Split\",\n    \"x\": [\n      1\n    ]\n  },"), "{out}");
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["model"]["vocab"]["ba\""], 3);
        assert_eq!(parsed["model"]["merges"][1], json!(["b", "a\""]));
        // The rest of the base is kept byte for byte.
        assert!(out.starts_with("{\n  \"version\": \"1.0\",\n  \"pre_tokenizer\": "));
    }

    #[test]
    fn joined_merges_and_compact_files_keep_their_form() {
        let compact = r#"{"model":{"vocab":{"a":0,"b":1},"merges":["a b"]},"pre_tokenizer":null}"#;
        let add = Additions {
            vocab: &[("ab".into(), 2), ("abb".into(), 3)],
            merges: &[("a".into(), "b".into()), ("ab".into(), "b".into())],
            pre_tokenizer: None,
        };
        let out = append(compact, &add).unwrap();
        assert_eq!(
            out,
            r#"{"model":{"vocab":{"a":0,"b":1,"ab":2,"abb":3},"merges":["a b","a b","ab b"]},"pre_tokenizer":null}"#
        );
        let spaced = Additions {
            vocab: &[],
            merges: &[("a b".into(), "c".into())],
            pre_tokenizer: None,
        };
        assert!(
            append(compact, &spaced)
                .unwrap_err()
                .to_string()
                .contains("space")
        );
    }

    #[test]
    fn files_without_a_model_vocab_are_refused() {
        let add = Additions {
            vocab: &[("x".into(), 1)],
            merges: &[],
            pre_tokenizer: None,
        };
        for bad in [
            r#"[]"#,
            r#"{"model": {"merges": []}}"#,
            r#"{"model": {"vocab": [], "merges": []}}"#,
            r#"{"model": {"vocab": {"a": 0"#,
        ] {
            assert!(append(bad, &add).is_err(), "{bad}");
        }
    }
}
