//! The hybrid tokenizer's tables (design/hybrid.md §2): ids in their fixed order (markers,
//! specials, root groups, suffix classes, pieces, spaced roots among them), one unique name per
//! id, one byte trie over every surface form, and `hybrid.json` (format `tokkit-hybrid`, version
//! 1) both ways.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::Segmentation;
use super::language::{Language, LanguageJson, RootGroup};
use crate::error::{Error, Result};

/// Token ids are dense `u32`s from 0.
pub type TokenId = u32;

/// The marker that upper-cases the next token's first char.
pub const UPPERCASE: &str = "<uppercase>";
/// The marker that upper-cases the following tokens of one word.
pub const ALLCAPS: &str = "<allcaps>";
/// Id of [`UPPERCASE`].
pub const UPPERCASE_ID: TokenId = 0;
/// Id of [`ALLCAPS`].
pub const ALLCAPS_ID: TokenId = 1;

/// Most ids a `hybrid.json` may define (bounds every table built from it).
const MAX_IDS: usize = 1 << 24;

/// What an id stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `<uppercase>` or `<allcaps>`.
    Marker,
    /// A special token.
    Special,
    /// A root group (index into the roots).
    Root(u32),
    /// A suffix class (index into the suffixes).
    Suffix(u32),
    /// A piece (index into the pieces; the first 256 are the single bytes).
    Piece(u32),
    /// A spaced root (design/hybrid.md §2): `" "` + any form of root group `.0`, an id among
    /// the pieces.
    SpacedRoot(u32),
}

impl Kind {
    /// The kind's name as the bindings show it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Marker => "marker",
            Self::Special => "special",
            Self::Root(_) => "root",
            Self::Suffix(_) => "suffix",
            Self::Piece(_) => "piece",
            Self::SpacedRoot(_) => "spaced_root",
        }
    }
}

/// One match of the trie: what a surface form at some offset can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cand {
    /// Root group `group`, its form `form` (0 canonical, `k` the `k`-th alternate).
    Root { group: u32, form: u32 },
    /// Suffix class `class`'s form (checked against the context when matched).
    Suffix { class: u32 },
    /// A piece by id.
    Piece(TokenId),
    /// Root group `group`'s spaced root spelling `" "` + its form `form`.
    Spaced { group: u32, form: u32 },
}

/// A byte trie whose nodes carry the candidates spelled by the path to them.
#[derive(Debug)]
pub(crate) struct Trie {
    /// Per node: first edge, edge count, first candidate, candidate count.
    nodes: Vec<[u32; 4]>,
    /// Edges `(byte, child)`, sorted by byte within a node.
    edges: Vec<(u8, u32)>,
    cands: Vec<Cand>,
    /// The root's children, direct.
    root: Box<[u32; 256]>,
}

impl Trie {
    fn build(entries: BTreeMap<Vec<u8>, Vec<Cand>>) -> Self {
        // A temporary pointer trie, flattened breadth-first.
        let mut children: Vec<BTreeMap<u8, u32>> = vec![BTreeMap::new()];
        let mut payload: Vec<Vec<Cand>> = vec![Vec::new()];
        for (key, cands) in entries {
            let mut node = 0usize;
            for &b in &key {
                let next = children.len() as u32;
                let child = *children[node].entry(b).or_insert(next);
                if child == next {
                    children.push(BTreeMap::new());
                    payload.push(Vec::new());
                }
                node = child as usize;
            }
            payload[node].extend(cands);
        }
        let mut trie = Self {
            nodes: Vec::with_capacity(children.len()),
            edges: Vec::new(),
            cands: Vec::new(),
            root: Box::new([u32::MAX; 256]),
        };
        for (node, (kids, cands)) in children.iter().zip(&payload).enumerate() {
            trie.nodes.push([
                trie.edges.len() as u32,
                kids.len() as u32,
                trie.cands.len() as u32,
                cands.len() as u32,
            ]);
            trie.edges.extend(kids.iter().map(|(&b, &c)| (b, c)));
            trie.cands.extend_from_slice(cands);
            if node == 0 {
                for (&b, &c) in kids {
                    trie.root[usize::from(b)] = c;
                }
            }
        }
        trie
    }

    /// Calls `f(len, candidates)` for every prefix of `bytes` that spells a form.
    #[inline]
    pub(crate) fn walk(&self, bytes: &[u8], mut f: impl FnMut(usize, &[Cand])) {
        let Some((&first, rest)) = bytes.split_first() else {
            return;
        };
        let mut node = self.root[usize::from(first)];
        let mut len = 1;
        let mut rest = rest.iter();
        while node != u32::MAX {
            let [e0, ne, c0, nc] = self.nodes[node as usize];
            if nc > 0 {
                f(len, &self.cands[c0 as usize..(c0 + nc) as usize]);
            }
            let Some(&b) = rest.next() else { return };
            let edges = &self.edges[e0 as usize..(e0 + ne) as usize];
            node = match edges.binary_search_by_key(&b, |e| e.0) {
                Ok(i) => edges[i].1,
                Err(_) => u32::MAX,
            };
            len += 1;
        }
    }
}

/// A piece's name: its text, or `<0xHH>` per byte when it is not valid UTF-8 (design/hybrid.md §2).
#[must_use]
pub fn piece_name(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !(bytes.len() == 1 && bytes[0] >= 0x80) => s.to_owned(),
        _ => bytes.iter().map(|b| format!("<0x{b:02X}>")).collect(),
    }
}

/// The bytes a piece name stands for (the inverse of [`piece_name`]).
#[must_use]
pub fn piece_bytes(name: &str) -> Vec<u8> {
    let raw = name.as_bytes();
    if raw.len() >= 6 && raw.len() % 6 == 0 {
        let bytes: Option<Vec<u8>> = raw
            .chunks(6)
            .map(|c| {
                (c.starts_with(b"<0x") && c[5] == b'>')
                    .then(|| std::str::from_utf8(&c[3..5]).ok())
                    .flatten()
                    .filter(|h| {
                        h.bytes()
                            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
                    })
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        // Byte names are only used for what is not valid UTF-8, so valid text is literal.
        if let Some(bytes) = bytes
            && piece_name(&bytes) == name
        {
            return bytes;
        }
    }
    raw.to_vec()
}

/// `hybrid.json` as written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HybridJson {
    format: String,
    version: u32,
    segmentation: Segmentation,
    language: LanguageJson,
    special_tokens: Vec<String>,
    /// Root groups as `roots.tsv` fields: `["kitap", "kitab:V"]`.
    roots: Vec<Vec<String>>,
    /// Piece names in id order, the 256 bytes first.
    pieces: Vec<String>,
}

/// The next [`Tables::uid`].
static NEXT_UID: AtomicU64 = AtomicU64::new(0);

/// The tables shared by every segmentation mode.
#[derive(Debug)]
pub struct Tables {
    pub(crate) language: Language,
    pub(crate) specials: Vec<String>,
    pub(crate) roots: Vec<RootGroup>,
    /// Per root group: whether it has alternates (dense, so that the search's check of a root
    /// candidate seldom reads the group itself).
    pub(crate) alternating: Vec<bool>,
    /// Per suffix class: its forms, the canonical first.
    pub(crate) suffix_forms: Vec<Vec<String>>,
    /// Per suffix class and context class ([`Language::context_index`]), at
    /// `class * context_classes + index`: the form it resolves to, a span of `resolved_bytes`.
    pub(crate) resolved: Vec<(u32, u32)>,
    pub(crate) resolved_bytes: Vec<u8>,
    pub(crate) context_classes: usize,
    /// Piece bytes in id order; a spaced root's are `" "` + its group's canonical form.
    pub(crate) pieces: Vec<Vec<u8>>,
    /// Per piece: the root group it is the spaced root of, or `u32::MAX` for a literal piece.
    pub(crate) piece_group: Vec<u32>,
    /// Per root group: the id of its spaced root, or `u32::MAX`.
    pub(crate) spaced: Vec<TokenId>,
    /// Per piece: whether it is whole chars (valid UTF-8), so that case can apply to it.
    pub(crate) piece_utf8: Vec<bool>,
    pub(crate) names: Vec<String>,
    pub(crate) trie: Trie,
    /// Only pieces: the context-free fallback.
    pub(crate) piece_trie: Trie,
    pub(crate) first_root: u32,
    pub(crate) first_suffix: u32,
    pub(crate) first_piece: u32,
    /// Unique among the tables of this process, so that a per-thread segment cache can tell
    /// whose segments it holds (an address could be reused after a drop).
    pub(crate) uid: u64,
}

/// A hybrid tokenizer: the tables and the segmentation mode.
#[derive(Clone, Debug)]
pub struct HybridModel {
    pub(crate) tables: Arc<Tables>,
    pub(crate) segmentation: Segmentation,
}

impl HybridModel {
    /// Builds the tables; `pieces` are the piece bytes in id order, the 256 single bytes first.
    /// A piece `" "` + a root form is that group's spaced root ([`spaced_root_of`]).
    ///
    /// # Errors
    /// [`Error::Serialization`] for duplicate names (two pieces that are spaced roots of one
    /// group among them) or pieces that do not start with the bytes.
    pub fn new(
        language: Language,
        specials: Vec<String>,
        roots: Vec<RootGroup>,
        mut pieces: Vec<Vec<u8>>,
        segmentation: Segmentation,
    ) -> Result<Self> {
        let total = 2 + specials.len() + roots.len() + language.suffixes().len() + pieces.len();
        if total > MAX_IDS {
            return Err(Error::Serialization(format!(
                "{total} ids are more than the {MAX_IDS} supported"
            )));
        }
        if pieces.len() < 256 || (0..256).any(|b| pieces[b] != [b as u8]) {
            return Err(Error::Serialization(
                "pieces: the first 256 pieces must be the single bytes 0x00..0xFF in order".into(),
            ));
        }
        if let Some(i) = pieces.iter().position(Vec::is_empty) {
            return Err(Error::Serialization(format!("pieces[{i}]: empty piece")));
        }
        // design/hybrid.md §2: a piece `" "` + a root form is the group's spaced root, named and
        // stored by its canonical form.
        let forms = root_form_groups(&roots);
        let mut piece_group = vec![u32::MAX; pieces.len()];
        let mut spaced = vec![u32::MAX; roots.len()];
        let first_piece_id = (2 + specials.len() + roots.len() + language.suffixes().len()) as u32;
        for (i, p) in pieces.iter_mut().enumerate().skip(256) {
            if let Some(g) = spaced_root_of(&forms, p) {
                piece_group[i] = g;
                let id = first_piece_id + i as u32;
                if spaced[g as usize] == u32::MAX {
                    spaced[g as usize] = id;
                }
                p.clear();
                p.push(b' ');
                p.extend_from_slice(roots[g as usize].canonical.as_bytes());
            }
        }
        let suffix_forms: Vec<Vec<String>> = (0..language.suffixes().len())
            .map(|i| language.suffix_forms(i))
            .collect();
        let mut names: Vec<String> = vec![UPPERCASE.into(), ALLCAPS.into()];
        names.extend(specials.iter().cloned());
        names.extend(roots.iter().map(|r| r.canonical.clone()));
        names.extend(language.suffixes().iter().map(|t| format!("+{t}")));
        names.extend(pieces.iter().map(|p| piece_name(p)));
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
        for (id, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(Error::Serialization(format!("id {id} has an empty name")));
            }
            if let Some(first) = seen.insert(name, id) {
                return Err(Error::Serialization(format!(
                    "duplicate token name {name:?} (ids {first} and {id}); names must be unique"
                )));
            }
        }
        let first_root = (2 + specials.len()) as u32;
        let first_suffix = first_root + roots.len() as u32;
        let first_piece = first_suffix + suffix_forms.len() as u32;
        let mut entries: BTreeMap<Vec<u8>, Vec<Cand>> = BTreeMap::new();
        for (g, root) in roots.iter().enumerate() {
            let forms =
                std::iter::once(&root.canonical).chain(root.alternates.iter().map(|a| &a.0));
            for (f, form) in forms.enumerate() {
                entries
                    .entry(form.as_bytes().to_vec())
                    .or_default()
                    .push(Cand::Root {
                        group: g as u32,
                        form: f as u32,
                    });
            }
        }
        for (c, forms) in suffix_forms.iter().enumerate() {
            for form in forms {
                entries
                    .entry(form.as_bytes().to_vec())
                    .or_default()
                    .push(Cand::Suffix { class: c as u32 });
            }
        }
        let mut piece_entries: BTreeMap<Vec<u8>, Vec<Cand>> = BTreeMap::new();
        debug_assert_eq!(first_piece, first_piece_id);
        for (g, root) in roots.iter().enumerate() {
            if spaced[g] == u32::MAX {
                continue;
            }
            let forms =
                std::iter::once(&root.canonical).chain(root.alternates.iter().map(|a| &a.0));
            for (f, form) in forms.enumerate() {
                let mut key = Vec::with_capacity(1 + form.len());
                key.push(b' ');
                key.extend_from_slice(form.as_bytes());
                entries.entry(key).or_default().push(Cand::Spaced {
                    group: g as u32,
                    form: f as u32,
                });
            }
        }
        for (i, p) in pieces.iter().enumerate() {
            if piece_group[i] != u32::MAX {
                // Context-dependent: in the main trie as `Cand::Spaced`, never in the fallback.
                continue;
            }
            let id = first_piece + i as u32;
            entries.entry(p.clone()).or_default().push(Cand::Piece(id));
            piece_entries
                .entry(p.clone())
                .or_default()
                .push(Cand::Piece(id));
        }
        let context_classes = language.context_classes();
        if context_classes.saturating_mul(suffix_forms.len()) > MAX_IDS {
            return Err(Error::Serialization(format!(
                "language.json: {} suffix templates in {context_classes} contexts are too many \
                 to resolve: name fewer chars in the phonology maps",
                suffix_forms.len()
            )));
        }
        let mut resolved = Vec::with_capacity(context_classes * suffix_forms.len());
        let mut resolved_bytes = Vec::new();
        let mut form = String::new();
        for class in 0..suffix_forms.len() {
            for k in 0..context_classes {
                form.clear();
                language.resolve_suffix(class, language.class_context(k), &mut form);
                resolved.push((resolved_bytes.len() as u32, form.len() as u32));
                resolved_bytes.extend_from_slice(form.as_bytes());
            }
        }
        let tables = Tables {
            alternating: roots.iter().map(|r| !r.alternates.is_empty()).collect(),
            resolved,
            resolved_bytes,
            context_classes,
            trie: Trie::build(entries),
            piece_trie: Trie::build(piece_entries),
            language,
            specials,
            roots,
            suffix_forms,
            piece_utf8: pieces
                .iter()
                .map(|p| std::str::from_utf8(p).is_ok())
                .collect(),
            pieces,
            piece_group,
            spaced,
            names,
            first_root,
            first_suffix,
            first_piece,
            uid: NEXT_UID.fetch_add(1, Ordering::Relaxed),
        };
        Ok(Self {
            tables: Arc::new(tables),
            segmentation,
        })
    }

    /// Parses `hybrid.json` text.
    ///
    /// # Errors
    /// [`Error::Serialization`] naming the field or entry that is malformed.
    pub fn from_json(text: &str) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let json: HybridJson = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            Error::Serialization(format!("hybrid.json: {}: {}", e.path(), e.inner()))
        })?;
        if json.format != "tokkit-hybrid" || json.version != 1 {
            return Err(Error::Serialization(format!(
                "hybrid.json: format {:?} version {} is not tokkit-hybrid version 1",
                json.format, json.version
            )));
        }
        let language = Language::from_parsed(json.language)
            .map_err(|e| Error::Serialization(format!("hybrid.json: language: {e}")))?;
        let mut roots = Vec::with_capacity(json.roots.len().min(MAX_IDS));
        for (i, fields) in json.roots.iter().enumerate() {
            roots.push(language.parse_root(
                fields.iter().map(String::as_str),
                &format!("hybrid.json: roots[{i}]"),
            )?);
        }
        let pieces = json.pieces.iter().map(|n| piece_bytes(n)).collect();
        Self::new(
            language,
            json.special_tokens,
            roots,
            pieces,
            json.segmentation,
        )
        .map_err(|e| Error::Serialization(format!("hybrid.json: {e}")))
    }

    /// The `hybrid.json` text.
    #[must_use]
    pub fn to_json(&self) -> String {
        let t = &*self.tables;
        let json = HybridJson {
            format: "tokkit-hybrid".into(),
            version: 1,
            segmentation: self.segmentation,
            language: t.language.json().clone(),
            special_tokens: t.specials.clone(),
            roots: t.roots.iter().map(|r| t.language.root_fields(r)).collect(),
            pieces: t.pieces.iter().map(|p| piece_name(p)).collect(),
        };
        serde_json::to_string_pretty(&json).expect("hybrid.json serialises")
    }

    /// The same tables with another segmentation mode.
    #[must_use]
    pub fn with_segmentation(&self, segmentation: Segmentation) -> Self {
        Self {
            tables: Arc::clone(&self.tables),
            segmentation,
        }
    }

    /// The segmentation mode.
    #[must_use]
    pub fn segmentation(&self) -> Segmentation {
        self.segmentation
    }

    /// The language.
    #[must_use]
    pub fn language(&self) -> &Language {
        &self.tables.language
    }

    /// Number of ids.
    #[must_use]
    pub fn vocab_size(&self) -> usize {
        self.tables.names.len()
    }

    /// The unique name of every id.
    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.tables.names
    }

    /// The special tokens (without the markers), in id order.
    #[must_use]
    pub fn specials(&self) -> &[String] {
        &self.tables.specials
    }

    /// The root groups, in id order.
    #[must_use]
    pub fn roots(&self) -> &[RootGroup] {
        &self.tables.roots
    }

    /// The pieces' bytes, in id order.
    #[must_use]
    pub fn pieces(&self) -> &[Vec<u8>] {
        &self.tables.pieces
    }

    /// What `id` is, or `None` outside the vocabulary.
    #[must_use]
    pub fn kind(&self, id: TokenId) -> Option<Kind> {
        self.tables.kind(id)
    }

    /// The canonical surface bytes of `id` (empty for markers and specials).
    #[must_use]
    pub fn token_bytes(&self, id: TokenId) -> Option<&[u8]> {
        let t = &*self.tables;
        Some(match t.kind(id)? {
            Kind::Marker | Kind::Special => &[],
            Kind::Root(g) => t.roots[g as usize].canonical.as_bytes(),
            Kind::Suffix(c) => t.suffix_forms[c as usize][0].as_bytes(),
            Kind::Piece(p) => &t.pieces[p as usize],
            Kind::SpacedRoot(_) => &t.pieces[(id - t.first_piece) as usize],
        })
    }

    /// Every surface form of `id`: a root group's forms, a suffix class's forms (canonical
    /// first), a piece's text (lossy), a marker's or special's name.
    #[must_use]
    pub fn token_forms(&self, id: TokenId) -> Option<Vec<String>> {
        let t = &*self.tables;
        Some(match t.kind(id)? {
            Kind::Marker | Kind::Special => vec![t.names[id as usize].clone()],
            Kind::Root(g) => {
                let r = &t.roots[g as usize];
                std::iter::once(r.canonical.clone())
                    .chain(r.alternates.iter().map(|a| a.0.clone()))
                    .collect()
            }
            Kind::Suffix(c) => t.suffix_forms[c as usize].clone(),
            Kind::Piece(p) => vec![String::from_utf8_lossy(&t.pieces[p as usize]).into_owned()],
            Kind::SpacedRoot(g) => {
                let r = &t.roots[g as usize];
                std::iter::once(&r.canonical)
                    .chain(r.alternates.iter().map(|a| &a.0))
                    .map(|f| format!(" {f}"))
                    .collect()
            }
        })
    }
}

/// Every root form's group: the first group whose canonical form it is, else the first group
/// that has it as an alternate (design/hybrid.md §2).
pub(crate) fn root_form_groups(roots: &[RootGroup]) -> HashMap<&[u8], u32> {
    let mut forms: HashMap<&[u8], u32> = HashMap::with_capacity(roots.len() * 2);
    for (g, r) in roots.iter().enumerate() {
        forms.entry(r.canonical.as_bytes()).or_insert(g as u32);
    }
    for (g, r) in roots.iter().enumerate() {
        for a in &r.alternates {
            forms.entry(a.0.as_bytes()).or_insert(g as u32);
        }
    }
    forms
}

/// The group `piece` is the spaced root of (design/hybrid.md §2): `" "` + one of its forms.
pub(crate) fn spaced_root_of(forms: &HashMap<&[u8], u32>, piece: &[u8]) -> Option<u32> {
    forms.get(piece.strip_prefix(b" ")?).copied()
}

impl Tables {
    /// Whether `id` is a literal piece (context-free; not a spaced root).
    #[inline]
    pub(crate) fn is_literal_piece(&self, id: TokenId) -> bool {
        id >= self.first_piece
            && self
                .piece_group
                .get((id - self.first_piece) as usize)
                .is_some_and(|&g| g == u32::MAX)
    }

    #[inline]
    pub(crate) fn kind(&self, id: TokenId) -> Option<Kind> {
        let n = self.names.len() as u32;
        Some(if id < 2 {
            Kind::Marker
        } else if id < self.first_root {
            Kind::Special
        } else if id < self.first_suffix {
            Kind::Root(id - self.first_root)
        } else if id < self.first_piece {
            Kind::Suffix(id - self.first_suffix)
        } else if id < n {
            let p = id - self.first_piece;
            match self.piece_group[p as usize] {
                u32::MAX => Kind::Piece(p),
                g => Kind::SpacedRoot(g),
            }
        } else {
            return None;
        })
    }

    /// The canonical form the alternation conditions test (design/hybrid.md §4); `None` for
    /// markers, specials and ids outside the vocabulary.
    #[inline]
    pub(crate) fn canonical(&self, id: Option<TokenId>) -> Option<&[u8]> {
        match self.kind(id?)? {
            Kind::Marker | Kind::Special => None,
            Kind::Root(g) => Some(self.roots[g as usize].canonical.as_bytes()),
            Kind::Suffix(c) => Some(self.suffix_forms[c as usize][0].as_bytes()),
            Kind::Piece(p) => Some(&self.pieces[p as usize]),
            Kind::SpacedRoot(_) => Some(&self.pieces[(id? - self.first_piece) as usize]),
        }
    }

    /// Which form of root group `group` the decoder writes before `next` (0 canonical, `k` the
    /// `k`-th alternate): the first alternate whose condition holds.
    #[inline]
    pub(crate) fn root_form(&self, group: u32, next: Option<TokenId>) -> usize {
        if !self.alternating[group as usize] {
            return 0;
        }
        let root = &self.roots[group as usize];
        let Some(next) = self.canonical(next) else {
            return 0;
        };
        root.alternates
            .iter()
            .position(|a| self.language.alternation_holds(a.1, next))
            .map_or(0, |k| k + 1)
    }

    /// The form suffix class `class` resolves to after a context of class `ctx`.
    #[inline]
    pub(crate) fn resolved(&self, class: u32, ctx: u32) -> &[u8] {
        let (at, n) = self.resolved[class as usize * self.context_classes + ctx as usize];
        &self.resolved_bytes[at as usize..(at + n) as usize]
    }

    /// The text of form `form` of root group `group`.
    #[inline]
    pub(crate) fn root_text(&self, group: u32, form: usize) -> &str {
        let root = &self.roots[group as usize];
        if form == 0 {
            &root.canonical
        } else {
            &root.alternates[form - 1].0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_names_round_trip() {
        for bytes in [
            b"ab".to_vec(),
            vec![0xC4],
            vec![b'a', 0xC4],
            b"<0x41>".to_vec(),
            vec![0x7F],
            "ı".as_bytes().to_vec(),
        ] {
            assert_eq!(piece_bytes(&piece_name(&bytes)), bytes, "{bytes:?}");
        }
        assert_eq!(piece_name(&[0xC4]), "<0xC4>");
        assert_eq!(piece_name(b"<0x41>"), "<0x41>");
    }
}
