//! A language as data (design/hybrid.md §1): `language.json` (case mapping, vowels,
//! archiphonemes, root alternations, suffix templates) and `roots.tsv` (root groups), parsed,
//! validated, and turned into what the encoder and decoder need: single-char case maps, the left
//! context an archiphoneme is resolved from ([`Context`]), and each suffix template's forms.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Most archiphonemes in one suffix template; bounds the forms enumerated per template.
const MAX_ARCHIPHONEMES: usize = 8;
/// Most forms one suffix template may have (the product of its archiphonemes' outputs).
const MAX_FORMS: usize = 4096;
/// Largest `roots.tsv` accepted, in bytes (a few million root groups).
pub const MAX_ROOTS_BYTES: usize = 256 << 20;

/// `language.json` as written (design/hybrid.md §1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageJson {
    /// Always `tokkit-hybrid-language`.
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// The language's name (`tr`).
    pub name: String,
    /// Single-char case mappings applied before Unicode's.
    #[serde(default)]
    pub case: CaseJson,
    /// The chars `last_vowel` looks for.
    #[serde(default)]
    pub vowels: String,
    /// Archiphonemes by their uppercase ASCII letter.
    #[serde(default)]
    pub phonology: BTreeMap<String, ArchiphonemeJson>,
    /// Named conditions of root alternates.
    #[serde(default)]
    pub alternations: BTreeMap<String, AlternationJson>,
    /// Suffix templates, one class (id) each.
    #[serde(default)]
    pub suffixes: Vec<String>,
}

/// `case` of `language.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseJson {
    /// Upper → lower, one char each.
    #[serde(default)]
    pub lower: BTreeMap<String, String>,
    /// Lower → upper, one char each.
    #[serde(default)]
    pub upper: BTreeMap<String, String>,
}

/// One archiphoneme of `phonology`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiphonemeJson {
    /// `last_vowel` or `last_char`.
    pub by: String,
    /// Context char → output.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    /// Output when the map has no entry or there is no such char.
    #[serde(default)]
    pub default: String,
}

/// One named condition of `alternations`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlternationJson {
    /// The condition holds when the next token's canonical form starts with one of these.
    pub next_starts_with: Vec<String>,
}

/// What an archiphoneme looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum By {
    LastVowel,
    LastChar,
}

#[derive(Clone, Debug)]
struct Archiphoneme {
    by: By,
    map: Vec<(char, String)>,
    default: String,
}

/// One char of a parsed suffix template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// A literal char.
    Lit(char),
    /// An archiphoneme, by its index `letter - 'A'`.
    Archi(u8),
}

/// The left context an archiphoneme is resolved from: the last vowel and the last char of the
/// text written so far, lower-cased by the language (design/hybrid.md §1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Context {
    /// The last char of the text that is a vowel.
    pub last_vowel: Option<char>,
    /// The last char of the text.
    pub last_char: Option<char>,
}

/// A root group: the canonical form and its alternates with their condition's index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootGroup {
    /// The canonical form (the group's name).
    pub canonical: String,
    /// Alternates `(form, alternation index)` in the order written.
    pub alternates: Vec<(String, usize)>,
}

/// A parsed, validated language.
#[derive(Clone, Debug)]
pub struct Language {
    json: LanguageJson,
    lower: Vec<(char, char)>,
    upper: Vec<(char, char)>,
    vowels: Vec<char>,
    archi: [Option<Archiphoneme>; 26],
    /// Alternation names, in `alternations` order (sorted), and their prefixes.
    alternations: Vec<(String, Vec<Vec<u8>>)>,
    /// Parsed suffix templates.
    templates: Vec<Vec<Part>>,
    /// [`Language::context_index`]: the `last_vowel` classes ([`context_classes`]).
    vowel_classes: (Vec<(char, u32)>, Vec<char>),
    /// The `last_char` classes.
    char_classes: (Vec<(char, u32)>, Vec<char>),
    /// Per ASCII char: [`Language::lower_char`] of it and whether that is a vowel, so that
    /// [`Language::advance`] looks nothing up for most text.
    ascii: [(char, bool); 128],
}

/// The context classes of the archiphonemes looking `by` (design/hybrid.md §3.5): each char
/// their maps name, with its class (from 1), and each class's first char in char order. Chars
/// whose outputs agree in every such archiphoneme are one class; chars whose outputs are all the
/// defaults are left out (class 0: they resolve as no char does).
fn context_classes(archi: &[Option<Archiphoneme>; 26], by: By) -> (Vec<(char, u32)>, Vec<char>) {
    let looking: Vec<&Archiphoneme> = archi.iter().flatten().filter(|a| a.by == by).collect();
    let output = |c: Option<char>| -> Vec<&str> {
        looking
            .iter()
            .map(|a| {
                c.and_then(|c| a.map.iter().find(|m| m.0 == c))
                    .map_or(a.default.as_str(), |m| m.1.as_str())
            })
            .collect()
    };
    let mut keys: Vec<char> = looking
        .iter()
        .flat_map(|a| a.map.iter().map(|m| m.0))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut outputs = vec![output(None)];
    let mut firsts = Vec::new();
    let mut classes = Vec::with_capacity(keys.len());
    for c in keys {
        let out = output(Some(c));
        let class = match outputs.iter().position(|o| *o == out) {
            Some(0) => continue,
            Some(k) => k,
            None => {
                outputs.push(out);
                firsts.push(c);
                outputs.len() - 1
            }
        };
        classes.push((c, class as u32));
    }
    (classes, firsts)
}

fn one_char(s: &str, what: &str) -> Result<char> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(Error::Serialization(format!(
            "language.json: {what}: {s:?} must be exactly one char"
        ))),
    }
}

impl Language {
    /// Parses `language.json` text.
    ///
    /// # Errors
    /// [`Error::Serialization`] naming the field that is malformed.
    pub fn from_json(text: &str) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let json: LanguageJson = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            Error::Serialization(format!("language.json: {}: {}", e.path(), e.inner()))
        })?;
        Self::from_parsed(json)
    }

    /// Validates a parsed `language.json`.
    ///
    /// # Errors
    /// [`Error::Serialization`] naming the field that is malformed.
    pub fn from_parsed(json: LanguageJson) -> Result<Self> {
        let bad = |why: String| Error::Serialization(format!("language.json: {why}"));
        if json.format != "tokkit-hybrid-language" {
            return Err(bad(format!(
                "format: {:?} is not \"tokkit-hybrid-language\"",
                json.format
            )));
        }
        if json.version != 1 {
            return Err(bad(format!(
                "version: {} is not supported (only 1)",
                json.version
            )));
        }
        if json.name.is_empty() {
            return Err(bad("name: must not be empty".into()));
        }
        let pairs = |m: &BTreeMap<String, String>, field: &str| -> Result<Vec<(char, char)>> {
            m.iter()
                .map(|(k, v)| {
                    Ok((
                        one_char(k, &format!("{field} key"))?,
                        one_char(v, &format!("{field}.{k}"))?,
                    ))
                })
                .collect()
        };
        let lower = pairs(&json.case.lower, "case.lower")?;
        let upper = pairs(&json.case.upper, "case.upper")?;
        let vowels: Vec<char> = json.vowels.chars().collect();
        let mut archi: [Option<Archiphoneme>; 26] = Default::default();
        for (key, a) in &json.phonology {
            let letter = one_char(key, "phonology key")?;
            if !letter.is_ascii_uppercase() {
                return Err(bad(format!(
                    "phonology.{key}: an archiphoneme is one uppercase ASCII letter"
                )));
            }
            let by = match a.by.as_str() {
                "last_vowel" => By::LastVowel,
                "last_char" => By::LastChar,
                other => {
                    return Err(bad(format!(
                        "phonology.{key}.by: {other:?} is not last_vowel or last_char"
                    )));
                }
            };
            let map = a
                .map
                .iter()
                .map(|(k, v)| Ok((one_char(k, &format!("phonology.{key}.map key"))?, v.clone())))
                .collect::<Result<Vec<_>>>()?;
            archi[usize::from(letter as u8 - b'A')] = Some(Archiphoneme {
                by,
                map,
                default: a.default.clone(),
            });
        }
        let alternations = json
            .alternations
            .iter()
            .map(|(name, a)| {
                if a.next_starts_with.iter().any(String::is_empty) {
                    return Err(bad(format!(
                        "alternations.{name}.next_starts_with: an empty prefix would always hold"
                    )));
                }
                Ok((
                    name.clone(),
                    a.next_starts_with
                        .iter()
                        .map(|p| p.as_bytes().to_vec())
                        .collect(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut seen = HashSet::new();
        let mut templates = Vec::with_capacity(json.suffixes.len());
        for (i, t) in json.suffixes.iter().enumerate() {
            if t.is_empty() {
                return Err(bad(format!("suffixes[{i}]: an empty template")));
            }
            if !seen.insert(t.as_str()) {
                return Err(bad(format!(
                    "suffixes[{i}]: {t:?} is listed twice (names must be unique)"
                )));
            }
            let parts: Vec<Part> = t
                .chars()
                .map(|c| {
                    if c.is_ascii_uppercase() && archi[usize::from(c as u8 - b'A')].is_some() {
                        Part::Archi(c as u8 - b'A')
                    } else {
                        Part::Lit(c)
                    }
                })
                .collect();
            if parts.iter().filter(|p| matches!(p, Part::Archi(_))).count() > MAX_ARCHIPHONEMES {
                return Err(bad(format!(
                    "suffixes[{i}]: {t:?} has more than {MAX_ARCHIPHONEMES} archiphonemes"
                )));
            }
            templates.push(parts);
        }
        let (vowel_classes, char_classes) = (
            context_classes(&archi, By::LastVowel),
            context_classes(&archi, By::LastChar),
        );
        let mut lang = Self {
            json,
            lower,
            upper,
            vowels,
            archi,
            alternations,
            templates,
            vowel_classes,
            char_classes,
            ascii: [('\0', false); 128],
        };
        for b in 0..128u8 {
            let l = lang.lower_char(char::from(b));
            lang.ascii[usize::from(b)] = (l, lang.is_vowel(l));
        }
        for i in 0..lang.templates.len() {
            let forms = lang.suffix_forms(i);
            if forms.len() > MAX_FORMS {
                return Err(bad(format!("suffixes[{i}]: more than {MAX_FORMS} forms")));
            }
            if forms[0].is_empty() {
                return Err(bad(format!(
                    "suffixes[{i}]: {:?} resolves to an empty canonical form",
                    lang.json.suffixes[i]
                )));
            }
        }
        Ok(lang)
    }

    /// The JSON as parsed (for embedding in `hybrid.json`).
    #[must_use]
    pub fn json(&self) -> &LanguageJson {
        &self.json
    }

    /// The language's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.json.name
    }

    /// The suffix templates, one class each.
    #[must_use]
    pub fn suffixes(&self) -> &[String] {
        &self.json.suffixes
    }

    /// One char lower-cased: the language's map, else Unicode when that gives one char.
    #[inline]
    #[must_use]
    pub fn lower_char(&self, c: char) -> char {
        if let Some(&(_, l)) = self.lower.iter().find(|p| p.0 == c) {
            return l;
        }
        if c.is_ascii() {
            return c.to_ascii_lowercase();
        }
        let mut it = c.to_lowercase();
        match (it.next(), it.next()) {
            (Some(l), None) => l,
            _ => c,
        }
    }

    /// Appends `c` lower-cased (the language's map, else Unicode's full mapping).
    #[inline]
    pub fn push_lower(&self, c: char, out: &mut String) {
        if let Some(&(_, l)) = self.lower.iter().find(|p| p.0 == c) {
            out.push(l);
        } else if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }

    /// Appends `c` upper-cased (the language's map, else Unicode's full mapping).
    #[inline]
    pub fn push_upper(&self, c: char, out: &mut String) {
        if let Some(&(_, u)) = self.upper.iter().find(|p| p.0 == c) {
            out.push(u);
        } else if c.is_ascii() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.extend(c.to_uppercase());
        }
    }

    /// Whether `c` (lower-case) is a vowel.
    #[inline]
    fn is_vowel(&self, c: char) -> bool {
        self.vowels.contains(&c)
    }

    /// `ctx` after one more char of text.
    #[inline]
    pub fn advance(&self, ctx: &mut Context, c: char) {
        if c.is_ascii() {
            let (l, vowel) = self.ascii[c as usize];
            ctx.last_char = Some(l);
            if vowel {
                ctx.last_vowel = Some(l);
            }
            return;
        }
        let l = self.lower_char(c);
        ctx.last_char = Some(l);
        if self.is_vowel(l) {
            ctx.last_vowel = Some(l);
        }
    }

    /// How many context classes there are: [`Language::context_index`] is below it.
    #[must_use]
    pub(crate) fn context_classes(&self) -> usize {
        (self.vowel_classes.1.len() + 1) * (self.char_classes.1.len() + 1)
    }

    /// The class of `ctx` (design/hybrid.md §3.5), densely numbered, 0 for no context: every
    /// suffix resolves alike after two contexts of one class, since archiphonemes look at the
    /// context only through their maps. The encoder's segment cache keys on it, so that a word
    /// hits after more words, and the search's suffix forms are resolved per class beforehand.
    #[inline]
    #[must_use]
    pub(crate) fn context_index(&self, ctx: Context) -> usize {
        let at = |classes: &[(char, u32)], c: Option<char>| {
            c.and_then(|c| classes.iter().find(|k| k.0 == c))
                .map_or(0, |k| k.1 as usize)
        };
        at(&self.vowel_classes.0, ctx.last_vowel) * (self.char_classes.1.len() + 1)
            + at(&self.char_classes.0, ctx.last_char)
    }

    /// A context of class `index` ([`Language::context_index`]).
    #[must_use]
    pub(crate) fn class_context(&self, index: usize) -> Context {
        let per = self.char_classes.1.len() + 1;
        let pick = |firsts: &[char], k: usize| k.checked_sub(1).map(|k| firsts[k]);
        Context {
            last_vowel: pick(&self.vowel_classes.1, index / per),
            last_char: pick(&self.char_classes.1, index % per),
        }
    }

    /// `ctx` after `text`.
    pub fn advance_str(&self, ctx: &mut Context, text: &str) {
        for c in text.chars() {
            self.advance(ctx, c);
        }
    }

    /// Appends suffix class `class`'s template resolved after the text `ctx` describes; the
    /// template's own resolved chars count as text for the archiphonemes after them.
    pub fn resolve_suffix(&self, class: usize, mut ctx: Context, out: &mut String) {
        for &part in &self.templates[class] {
            match part {
                Part::Lit(c) => {
                    out.push(c);
                    self.advance(&mut ctx, c);
                }
                Part::Archi(a) => {
                    let archi = self.archi[usize::from(a)]
                        .as_ref()
                        .expect("templates only name defined archiphonemes");
                    let key = match archi.by {
                        By::LastVowel => ctx.last_vowel,
                        By::LastChar => ctx.last_char,
                    };
                    let output = key
                        .and_then(|k| archi.map.iter().find(|m| m.0 == k))
                        .map_or(archi.default.as_str(), |m| m.1.as_str());
                    for c in output.chars() {
                        out.push(c);
                        self.advance(&mut ctx, c);
                    }
                }
            }
        }
    }

    /// All forms of suffix class `class`, the canonical one (every default) first, then the
    /// others in sorted order, without duplicates.
    #[must_use]
    pub fn suffix_forms(&self, class: usize) -> Vec<String> {
        let mut forms: Vec<String> = vec![String::new()];
        let mut canonical = String::new();
        for &part in &self.templates[class] {
            match part {
                Part::Lit(c) => {
                    forms.iter_mut().for_each(|f| f.push(c));
                    canonical.push(c);
                }
                Part::Archi(a) => {
                    let archi = self.archi[usize::from(a)].as_ref().expect("defined");
                    let mut outputs: Vec<&str> = archi.map.iter().map(|m| m.1.as_str()).collect();
                    outputs.push(&archi.default);
                    outputs.sort_unstable();
                    outputs.dedup();
                    forms = forms
                        .iter()
                        .flat_map(|f| outputs.iter().map(move |o| format!("{f}{o}")))
                        .take(MAX_FORMS + 1)
                        .collect();
                    canonical.push_str(&archi.default);
                }
            }
        }
        forms.sort_unstable();
        forms.dedup();
        forms.retain(|f| *f != canonical);
        forms.insert(0, canonical);
        forms
    }

    /// The alternation names, in index order.
    #[must_use]
    pub fn alternation_names(&self) -> Vec<&str> {
        self.alternations.iter().map(|a| a.0.as_str()).collect()
    }

    /// How many alternations the language names.
    #[must_use]
    pub fn alternation_count(&self) -> usize {
        self.alternations.len()
    }

    /// Whether alternation `index` holds before a token whose canonical form is `next`.
    #[inline]
    #[must_use]
    pub fn alternation_holds(&self, index: usize, next: &[u8]) -> bool {
        self.alternations[index]
            .1
            .iter()
            .any(|p| next.starts_with(p))
    }

    /// Parses one root group's fields (`kitap`, `kitab:V`); `at` names the line or entry.
    ///
    /// # Errors
    /// [`Error::Serialization`] naming `at` and what is wrong.
    pub fn parse_root<'a>(
        &self,
        fields: impl IntoIterator<Item = &'a str>,
        at: &str,
    ) -> Result<RootGroup> {
        let bad = |why: String| Error::Serialization(format!("{at}: {why}"));
        let mut fields = fields.into_iter();
        let canonical = fields.next().unwrap_or_default();
        if canonical.is_empty() || canonical.contains(':') {
            return Err(bad(format!(
                "the first field must be the canonical form, got {canonical:?}"
            )));
        }
        if canonical.len() == 1 {
            return Err(bad(format!(
                "the one-byte root {canonical:?} is already a byte piece; remove it"
            )));
        }
        self.check_lower(canonical).map_err(bad)?;
        let mut alternates = Vec::new();
        for field in fields {
            let Some((form, kind)) = field.rsplit_once(':') else {
                return Err(bad(format!(
                    "alternate {field:?} must be written form:KIND"
                )));
            };
            let Some(index) = self.alternations.iter().position(|a| a.0 == kind) else {
                return Err(bad(format!(
                    "alternate {field:?}: {kind:?} is not a key of alternations ({})",
                    self.alternation_names().join(", ")
                )));
            };
            if form.is_empty() {
                return Err(bad(format!("alternate {field:?} has an empty form")));
            }
            self.check_lower(form).map_err(bad)?;
            alternates.push((form.to_owned(), index));
        }
        Ok(RootGroup {
            canonical: canonical.to_owned(),
            alternates,
        })
    }

    fn check_lower(&self, form: &str) -> std::result::Result<(), String> {
        let mut lowered = String::with_capacity(form.len());
        form.chars().for_each(|c| self.push_lower(c, &mut lowered));
        if lowered == form && !form.chars().any(char::is_whitespace) {
            Ok(())
        } else {
            Err(format!(
                "{form:?} is not lower-case (by the language's case) or holds whitespace"
            ))
        }
    }

    /// Parses `roots.tsv` text: one group per line, `#` comment lines and blank lines skipped.
    ///
    /// # Errors
    /// [`Error::Serialization`] naming the line.
    pub fn parse_roots(&self, text: &str) -> Result<Vec<RootGroup>> {
        if text.len() > MAX_ROOTS_BYTES {
            return Err(Error::Serialization(format!(
                "roots.tsv: {} bytes is more than the {MAX_ROOTS_BYTES} accepted",
                text.len()
            )));
        }
        let mut roots = Vec::new();
        let mut seen = HashSet::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let at = format!("roots.tsv line {}", i + 1);
            let group = self.parse_root(line.split('\t'), &at)?;
            if !seen.insert(group.canonical.clone()) {
                return Err(Error::Serialization(format!(
                    "{at}: the root {:?} is listed twice (names must be unique)",
                    group.canonical
                )));
            }
            roots.push(group);
        }
        Ok(roots)
    }

    /// A root group as its fields (`["kitap", "kitab:V"]`), as in `roots.tsv`.
    #[must_use]
    pub fn root_fields(&self, group: &RootGroup) -> Vec<String> {
        std::iter::once(group.canonical.clone())
            .chain(
                group
                    .alternates
                    .iter()
                    .map(|(f, k)| format!("{f}:{}", self.alternations[*k].0)),
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../tests/data/hybrid/language.json");

    fn resolve(lang: &Language, before: &str, template: &str) -> String {
        let class = lang.suffixes().iter().position(|t| t == template).unwrap();
        let mut ctx = Context::default();
        lang.advance_str(&mut ctx, before);
        let mut out = String::new();
        lang.resolve_suffix(class, ctx, &mut out);
        out
    }

    #[test]
    fn archiphonemes_resolve_from_the_text_before() {
        let lang = Language::from_json(FIXTURE).unwrap();
        assert_eq!(resolve(&lang, "kitap", "lAr"), "lar");
        assert_eq!(resolve(&lang, "ev", "lAr"), "ler");
        assert_eq!(resolve(&lang, "KİTAP", "DA"), "ta");
        assert_eq!(resolve(&lang, "ev", "DA"), "de");
        assert_eq!(resolve(&lang, "nasıl", "sInIz"), "sınız");
        assert_eq!(resolve(&lang, "göz", "ImIz"), "ümüz");
        assert_eq!(resolve(&lang, "masa", "YI"), "yı");
        assert_eq!(resolve(&lang, "kitab", "YI"), "ı");
        assert_eq!(resolve(&lang, "", "YA"), "a");
        assert_eq!(resolve(&lang, "iş", "CI"), "çi");
    }

    #[test]
    fn forms_list_the_canonical_first() {
        let lang = Language::from_json(FIXTURE).unwrap();
        let class = lang.suffixes().iter().position(|t| t == "lAr").unwrap();
        assert_eq!(lang.suffix_forms(class), ["lar", "ler"]);
        let class = lang.suffixes().iter().position(|t| t == "YI").unwrap();
        let forms = lang.suffix_forms(class);
        assert_eq!((forms[0].as_str(), forms.len()), ("ı", 8), "{forms:?}");
        assert!(forms.iter().any(|f| f == "yü"), "{forms:?}");
        assert_eq!(lang.lower_char('I'), 'ı');
        let mut up = String::new();
        lang.push_upper('i', &mut up);
        assert_eq!(up, "İ");
    }
}
