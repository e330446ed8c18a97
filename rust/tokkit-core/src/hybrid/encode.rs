//! Encoding (design/hybrid.md §3): the text is cut into segments (§3.1), a non-whitespace segment
//! taking the one space before it; each letter segment gets its case marker (design/hybrid.md §3.2)
//! after that space, and the segments are encoded right to left, so that the first id of the next
//! segment is known, by one of the three segmentations (design/hybrid.md §3.4) over the candidates
//! of one byte trie (design/hybrid.md §3.3). Each segment is then decoded with the true text before
//! it and compared with itself (design/hybrid.md §3.5); a mismatch re-encodes it from pieces only.

use super::Segmentation;
use super::decode::State;
use super::language::{Context, Language};
use super::model::{ALLCAPS_ID, Cand, HybridModel, Kind, Tables, TokenId, Trie, UPPERCASE_ID};

/// A segment's class (design/hybrid.md §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Letter,
    Digit,
    Space,
    Other,
}

#[inline]
fn class_of(c: char) -> Class {
    if c.is_ascii() {
        return if c.is_ascii_alphabetic() {
            Class::Letter
        } else if c.is_ascii_digit() {
            Class::Digit
        } else if c.is_ascii_whitespace() || c == '\u{b}' {
            Class::Space
        } else {
            Class::Other
        };
    }
    if c.is_alphabetic() {
        Class::Letter
    } else if c.is_numeric() {
        Class::Digit
    } else if c.is_whitespace() {
        Class::Space
    } else {
        Class::Other
    }
}

/// Calls `f(start, end, class)` for each segment of `text` (design/hybrid.md §3.1): maximal runs of
/// one class, each digit a segment of its own, letter runs cut again before an upper-case letter
/// after a lower-case one (`You|Tube`) or before one that starts a capitalised word after capitals
/// (`HTTP|Server`).
pub(crate) fn segments(text: &str, mut f: impl FnMut(usize, usize, Class)) {
    let mut it = text.char_indices().peekable();
    let mut start = 0;
    let mut class = None;
    let mut prev: Option<char> = None;
    while let Some((i, c)) = it.next() {
        let k = class_of(c);
        let cut = match class {
            None => false,
            Some(cl) if cl != k => true,
            // design/hybrid.md §3.1: one digit per segment.
            Some(_) if k == Class::Digit => true,
            Some(_) if k == Class::Letter && c.is_uppercase() => prev.is_some_and(|p| {
                p.is_lowercase()
                    || (p.is_uppercase() && it.peek().is_some_and(|&(_, n)| n.is_lowercase()))
            }),
            Some(_) => false,
        };
        if cut {
            f(start, i, class.unwrap_or(k));
            start = i;
        }
        class = Some(k);
        prev = Some(c);
    }
    if let Some(cl) = class {
        f(start, text.len(), cl);
    }
}

/// [`segments`] with the space rule of design/hybrid.md §3.1: a segment that is not whitespace
/// takes the one U+0020 space just before it (`" kitap"`), and the whitespace run before it loses
/// that space (and is not emitted when it was only that space). `class` stays the class of the
/// rest.
pub(crate) fn spaced_segments(text: &str, mut f: impl FnMut(usize, usize, Class)) {
    let mut held: Option<(usize, usize)> = None;
    segments(text, |start, end, class| {
        if class == Class::Space {
            // Runs of one class are maximal, so a held run is always followed by another class.
            held = Some((start, end));
            return;
        }
        let mut start = start;
        if let Some((a, b)) = held.take() {
            let b = if text.as_bytes()[b - 1] == b' ' {
                start -= 1;
                b - 1
            } else {
                b
            };
            if a < b {
                f(a, b, Class::Space);
            }
        }
        f(start, end, class);
    });
    if let Some((a, b)) = held {
        f(a, b, Class::Space);
    }
}

/// Splits a segment into its leading space (design/hybrid.md §3.1) and the rest.
#[inline]
pub(crate) fn split_space(s: &str, class: Class) -> (&str, &str) {
    if class != Class::Space && s.len() > 1 && s.as_bytes()[0] == b' ' {
        s.split_at(1)
    } else {
        ("", s)
    }
}

/// A letter segment's case (design/hybrid.md §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    /// Lower-case already.
    Lower,
    /// `<uppercase>` + the lower-cased text.
    Capitalised,
    /// `<allcaps>` + the lower-cased text.
    AllCaps,
    /// Encoded as written, no marker.
    AsWritten,
}

/// The case of letter segment `s`, with `lowered` set to `lower(s)`; `tmp` is scratch space.
pub(crate) fn case_of(lang: &Language, s: &str, lowered: &mut String, tmp: &mut String) -> Case {
    lowered.clear();
    s.chars().for_each(|c| lang.push_lower(c, lowered));
    if lowered == s {
        return Case::Lower;
    }
    tmp.clear();
    let mut chars = lowered.chars();
    if let Some(c) = chars.next() {
        lang.push_upper(c, tmp);
        tmp.push_str(chars.as_str());
    }
    if tmp == s {
        return Case::Capitalised;
    }
    tmp.clear();
    lowered.chars().for_each(|c| lang.push_upper(c, tmp));
    if tmp == s && s.chars().nth(1).is_some() {
        return Case::AllCaps;
    }
    Case::AsWritten
}

/// One position of the right-to-left search: the best way to spell the rest.
#[derive(Clone, Copy, Debug)]
struct Step {
    tokens: u32,
    pieces: u32,
    len: u32,
    id: TokenId,
}

const UNREACHED: Step = Step {
    tokens: u32::MAX,
    pieces: u32::MAX,
    len: 0,
    id: 0,
};

/// What a segment's ids depend on besides its text (design/hybrid.md §3.5): the class of the
/// context before it (after its leading space; [`Language::context_index`]), what the first id after it decides ([`Tables::next_key`]), and
/// whether that id would continue an `<allcaps>` run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Surroundings {
    ctx: u32,
    next: u64,
    next_letter_unmarked: bool,
}

/// A segment as the cache looks it up, without owning its text.
#[derive(Hash)]
struct Lookup<'a>(&'a str, Surroundings);

impl hashbrown::Equivalent<(Box<str>, Surroundings)> for Lookup<'_> {
    fn equivalent(&self, key: &(Box<str>, Surroundings)) -> bool {
        *key.0 == *self.0 && key.1 == self.1
    }
}

/// Most segments a cache holds before it starts over (words repeat; memory stays bounded).
const CACHE_SEGMENTS: usize = 1 << 16;
/// Longest segment cached, in bytes (long runs are rare and would bloat the cache).
const CACHE_BYTES: usize = 64;

/// Segment ids already computed: running text repeats its words, and a segment's ids depend
/// only on its text and its [`Surroundings`].
#[derive(Default)]
struct SegmentCache {
    map: hashbrown::HashMap<(Box<str>, Surroundings), (u32, u32), foldhash::fast::FixedState>,
    ids: Vec<TokenId>,
}

/// Buffers reused across segments and calls.
#[derive(Default)]
pub struct Scratch {
    lowered: String,
    body: String,
    tmp: String,
    steps: Vec<Step>,
    ctxs: Vec<u32>,
    seg: Vec<TokenId>,
    spell: Vec<TokenId>,
    greedy: Vec<(TokenId, u32, u32, u32)>,
    decoded: Vec<u8>,
    segs: Vec<(u32, u32, Class, Context)>,
    arena: Vec<TokenId>,
    chunks: Vec<(u32, u32)>,
    cache: SegmentCache,
    /// Segments the check re-encoded from pieces (design/hybrid.md §3.5).
    pub fallbacks: u64,
    /// Segments found in the cache.
    pub hits: u64,
    /// Segments encoded (not found in the cache).
    pub misses: u64,
    /// The model whose segments the cache holds: its tables' uid and its segmentation.
    owner: Option<(u64, Segmentation)>,
}

thread_local! {
    /// Each thread's buffers and segment cache, kept across calls and batch items so that
    /// words seen before are not encoded again (the cache is bounded, [`CACHE_SEGMENTS`]).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

impl Tables {
    /// What the id after a segment decides in it: only a final root's form, by which alternations
    /// hold for the id's canonical form (design/hybrid.md §4). Keying the cache on this rather than
    /// the id lets a word hit whatever word follows it.
    fn next_key(&self, next: Option<TokenId>) -> u64 {
        let n = self.language.alternation_count();
        if n >= 63 {
            return next.map_or(u64::MAX, u64::from);
        }
        self.canonical(next).map_or(0, |c| {
            (0..n).fold(1 << 63, |key, k| {
                key | (u64::from(self.language.alternation_holds(k, c)) << k)
            })
        })
    }

    /// Whether candidate `cand` spelling `body[i..j]` is one the decoder restores.
    #[inline]
    fn valid(
        &self,
        cand: Cand,
        body: &[u8],
        (i, j): (usize, usize),
        ctx: u32,
        next: Option<TokenId>,
    ) -> bool {
        match cand {
            Cand::Piece(_) => true,
            Cand::Suffix { class } => {
                // By hand: these are a few bytes, shorter than a call to `memcmp`.
                let form = self.resolved(class, ctx);
                form.len() == j - i && form.iter().zip(&body[i..j]).all(|(a, b)| a == b)
            }
            Cand::Root { group, form } | Cand::Spaced { group, form } => {
                self.root_form(group, next) == form as usize
            }
        }
    }

    #[inline]
    fn cand_id(&self, cand: Cand) -> TokenId {
        match cand {
            Cand::Piece(id) => id,
            Cand::Suffix { class } => self.first_suffix + class,
            Cand::Root { group, .. } => self.first_root + group,
            Cand::Spaced { group, .. } => self.spaced[group as usize],
        }
    }

    /// The right-to-left search over `trie` (design/hybrid.md §3.4 `best_path`/`pure_path`, or
    /// pieces only with the piece trie); appends the ids to `out`. Under a case marker (`cased`)
    /// only whole-char pieces are candidates: the decoder cannot upper-case part of a char.
    #[expect(
        clippy::too_many_arguments,
        reason = "the search's inputs and its buffers"
    )]
    fn search(
        &self,
        trie: &Trie,
        body: &[u8],
        ctxs: &[u32],
        next: Option<TokenId>,
        (pure, cased): (bool, bool),
        steps: &mut Vec<Step>,
        out: &mut Vec<TokenId>,
    ) -> bool {
        let n = body.len();
        steps.clear();
        steps.resize(n + 1, UNREACHED);
        steps[n] = Step {
            tokens: 0,
            pieces: 0,
            len: 0,
            id: 0,
        };
        for i in (0..n).rev() {
            let mut best = UNREACHED;
            let key = |s: &Step| {
                if pure {
                    (s.pieces, s.tokens, u32::MAX - s.len)
                } else {
                    (s.tokens, s.pieces, u32::MAX - s.len)
                }
            };
            trie.walk(&body[i..], |len, cands| {
                let j = i + len;
                let after = steps[j];
                if after.tokens == u32::MAX {
                    return;
                }
                let next_id = if j == n { next } else { Some(after.id) };
                let ctx = ctxs.get(i).copied().unwrap_or_default();
                for &cand in cands {
                    if let Cand::Piece(id) = cand
                        && cased
                        && !self.piece_utf8[(id - self.first_piece) as usize]
                    {
                        continue;
                    }
                    if !self.valid(cand, body, (i, j), ctx, next_id) {
                        continue;
                    }
                    let step = Step {
                        tokens: after.tokens + 1,
                        pieces: after.pieces + u32::from(matches!(cand, Cand::Piece(_))),
                        len: len as u32,
                        id: self.cand_id(cand),
                    };
                    if key(&step) < key(&best) {
                        best = step;
                    }
                }
            });
            steps[i] = best;
        }
        if steps[0].tokens == u32::MAX {
            // Only partial chars spell it under a case marker: the caller falls back.
            return false;
        }
        let mut i = 0;
        while i < n {
            out.push(steps[i].id);
            i += steps[i].len as usize;
        }
        true
    }

    /// The longest root form, or else suffix form the decoder restores, at `body[i..]`.
    fn dictionary_len(&self, body: &[u8], i: usize, ctxs: &[u32]) -> usize {
        let (mut root, mut suffix) = (0, 0);
        self.trie.walk(&body[i.min(body.len())..], |len, cands| {
            for &cand in cands {
                match cand {
                    Cand::Root { .. } => root = root.max(len),
                    Cand::Suffix { .. } if len > suffix => {
                        let ctx = ctxs.get(i).copied().unwrap_or_default();
                        if self.valid(cand, body, (i, i + len), ctx, None) {
                            suffix = len;
                        }
                    }
                    _ => {}
                }
            }
        });
        if root > 0 { root } else { suffix }
    }

    /// design/hybrid.md §3.4 `longest_match`: longest root, else longest suffix, else longest
    /// piece, left to right; then right to left, a root the decoder would not restore is spelled by
    /// pieces.
    #[expect(
        clippy::too_many_arguments,
        reason = "the search's inputs and its buffers"
    )]
    fn longest_match(
        &self,
        body: &[u8],
        ctxs: &[u32],
        (next, cased): (Option<TokenId>, bool),
        greedy: &mut Vec<(TokenId, u32, u32, u32)>,
        steps: &mut Vec<Step>,
        spell: &mut Vec<TokenId>,
        out: &mut Vec<TokenId>,
    ) {
        greedy.clear();
        let n = body.len();
        let mut i = 0;
        while i < n {
            // (len, id, form + 1 for a root)
            let (mut root, mut suffix, mut piece) = ((0, 0, 0), (0, 0), (0, 0));
            let mut piece_whole = false;
            self.trie.walk(&body[i..], |len, cands| {
                for &cand in cands {
                    match cand {
                        Cand::Root { form, .. } | Cand::Spaced { form, .. } if len > root.0 => {
                            root = (len, self.cand_id(cand), form + 1);
                        }
                        Cand::Suffix { .. } if len > suffix.0 => {
                            let ctx = ctxs.get(i).copied().unwrap_or_default();
                            if self.valid(cand, body, (i, i + len), ctx, None) {
                                suffix = (len, self.cand_id(cand));
                            }
                        }
                        // Under a case marker, a whole-char piece before a longer partial one.
                        Cand::Piece(id) if len > piece.0 || (cased && !piece_whole) => {
                            let whole = self.piece_utf8[(id - self.first_piece) as usize];
                            if !cased || whole || !piece_whole {
                                piece = (len, id);
                                piece_whole = whole;
                            }
                        }
                        _ => {}
                    }
                }
            });
            let (len, id, form) = if root.0 > 0 {
                root
            } else if suffix.0 > 0 {
                (suffix.0, suffix.1, 0)
            } else if body[i] == b' ' && piece.0 < 1 + self.dictionary_len(body, i + 1, ctxs) {
                // A leading space (design/hybrid.md §3.1) before a dictionary form is the space
                // alone, unless a piece spells more than both (a learned `" kitap"`).
                (1, self.first_piece + u32::from(b' '), 0)
            } else {
                (piece.0, piece.1, 0)
            };
            greedy.push((id, i as u32, len as u32, form));
            i += len;
        }
        let start = out.len();
        let mut next = next;
        for &(id, at, len, form) in greedy.iter().rev() {
            let group = match self.kind(id) {
                Some(Kind::Root(g) | Kind::SpacedRoot(g)) if form > 0 => Some(g),
                _ => None,
            };
            if let Some(g) = group
                && self.root_form(g, next) != (form - 1) as usize
            {
                spell.clear();
                let piece = &body[at as usize..(at + len) as usize];
                self.search(
                    &self.piece_trie,
                    piece,
                    &[],
                    None,
                    (false, false),
                    steps,
                    spell,
                );
                out.extend(spell.iter().rev());
                next = spell.first().copied();
            } else {
                out.push(id);
                next = Some(id);
            }
        }
        out[start..].reverse();
    }
}

impl HybridModel {
    /// The ids of `text`, with this thread's buffers and segment cache.
    #[must_use]
    pub fn encode(&self, text: &str) -> Vec<TokenId> {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut sc) => self.encode_with(text, &mut sc),
            // Only re-entrance could hold it; a fresh scratch gives the same ids.
            Err(_) => self.encode_with(text, &mut Scratch::default()),
        })
    }

    /// The ids of `text`, reusing `scratch`'s buffers and cache (and counting in it).
    pub fn encode_with(&self, text: &str, sc: &mut Scratch) -> Vec<TokenId> {
        let t = &*self.tables;
        let owner = Some((t.uid, self.segmentation));
        if sc.owner != owner {
            // Another model's segments: its ids are not this one's.
            sc.cache.map.clear();
            sc.cache.ids.clear();
            sc.owner = owner;
        }
        let lang = &t.language;
        sc.segs.clear();
        let mut ctx = Context::default();
        let mut pos = 0;
        spaced_segments(text, |start, end, class| {
            lang.advance_str(&mut ctx, &text[pos..start]);
            // The context before the segment; advance through it lazily at the next one.
            sc.segs.push((start as u32, end as u32, class, ctx));
            lang.advance_str(&mut ctx, &text[start..end]);
            pos = end;
        });
        sc.arena.clear();
        sc.chunks.clear();
        let mut next: Option<TokenId> = None;
        let mut next_letter_unmarked = false;
        for k in (0..sc.segs.len()).rev() {
            let (start, end, class, mut ctx) = sc.segs[k];
            let s = &text[start as usize..end as usize];
            let from = sc.arena.len();
            if class != Class::Space && s.starts_with(' ') {
                // The ids depend on the context only after the leading space: keying the cache
                // on that context lets a word hit whatever char the word before ended with.
                lang.advance(&mut ctx, ' ');
            }
            let around = Surroundings {
                ctx: lang.context_index(ctx) as u32,
                next: t.next_key(next),
                next_letter_unmarked,
            };
            let cacheable = s.len() <= CACHE_BYTES;
            if let Some(&(a, n)) = cacheable
                .then(|| sc.cache.map.get(&Lookup(s, around)))
                .flatten()
            {
                sc.hits += 1;
                sc.arena
                    .extend_from_slice(&sc.cache.ids[a as usize..(a + n) as usize]);
            } else {
                sc.misses += 1;
                self.encode_segment(s, class, ctx, next, next_letter_unmarked, sc);
                if cacheable {
                    if sc.cache.map.len() >= CACHE_SEGMENTS {
                        sc.cache.map.clear();
                        sc.cache.ids.clear();
                    }
                    let at = sc.cache.ids.len() as u32;
                    sc.cache.ids.extend_from_slice(&sc.arena[from..]);
                    let n = (sc.arena.len() - from) as u32;
                    sc.cache.map.insert((s.into(), around), (at, n));
                }
            }
            let ids = &sc.arena[from..];
            next = ids.first().copied();
            // Only a letter segment without a leading space starts with a letter
            // (design/hybrid.md §4).
            next_letter_unmarked = class == Class::Letter
                && !s.starts_with(' ')
                && next.is_some_and(|id| id > ALLCAPS_ID);
            sc.chunks
                .push((from as u32, (sc.arena.len() - from) as u32));
        }
        let mut out = Vec::with_capacity(sc.arena.len());
        for &(from, len) in sc.chunks.iter().rev() {
            out.extend_from_slice(&sc.arena[from as usize..(from + len) as usize]);
        }
        out
    }

    /// Encodes one segment onto `sc.arena` (design/hybrid.md §3.2-3.5).
    fn encode_segment(
        &self,
        s: &str,
        class: Class,
        ctx: Context,
        next: Option<TokenId>,
        next_letter_unmarked: bool,
        sc: &mut Scratch,
    ) {
        let t = &*self.tables;
        // design/hybrid.md §3.2: the case is the rest's; the body keeps the leading space.
        let (space, rest) = split_space(s, class);
        let case = if class == Class::Letter {
            case_of(&t.language, rest, &mut sc.lowered, &mut sc.tmp)
        } else {
            Case::AsWritten
        };
        let body: &str = match case {
            Case::Capitalised | Case::AllCaps => {
                sc.body.clear();
                sc.body.push_str(space);
                sc.body.push_str(&sc.lowered);
                &sc.body
            }
            Case::Lower | Case::AsWritten => s,
        };
        sc.seg.clear();
        match case {
            Case::Capitalised => sc.seg.push(UPPERCASE_ID),
            Case::AllCaps => sc.seg.push(ALLCAPS_ID),
            _ => {}
        }
        // The left context at each char boundary of the body.
        sc.ctxs.clear();
        sc.ctxs.resize(body.len() + 1, 0);
        let mut c = ctx;
        for (i, ch) in body.char_indices() {
            sc.ctxs[i] = t.language.context_index(c) as u32;
            t.language.advance(&mut c, ch);
        }
        sc.ctxs[body.len()] = t.language.context_index(c) as u32;
        let bytes = body.as_bytes();
        let found = match self.segmentation {
            Segmentation::BestPath | Segmentation::PurePath => t.search(
                &t.trie,
                bytes,
                &sc.ctxs,
                next,
                (
                    self.segmentation == Segmentation::PurePath,
                    matches!(case, Case::Capitalised | Case::AllCaps),
                ),
                &mut sc.steps,
                &mut sc.seg,
            ),
            Segmentation::LongestMatch => {
                t.longest_match(
                    bytes,
                    &sc.ctxs,
                    (next, matches!(case, Case::Capitalised | Case::AllCaps)),
                    &mut sc.greedy,
                    &mut sc.steps,
                    &mut sc.spell,
                    &mut sc.seg,
                );
                true
            }
        };
        // design/hybrid.md §3.5: literal pieces alone (no marker, no spaced root) spell the
        // segment whatever surrounds them.
        let plain = sc.seg.iter().all(|&id| t.is_literal_piece(id));
        if !found || !plain {
            let mut state = State {
                ctx,
                ..State::default()
            };
            sc.decoded.clear();
            t.decode_into(
                &sc.seg,
                next,
                &mut state,
                false,
                &mut sc.decoded,
                &mut sc.tmp,
            );
            let leaks = state.allcaps && next_letter_unmarked;
            if !found || sc.decoded != s.as_bytes() || leaks {
                sc.fallbacks += 1;
                sc.seg.clear();
                t.search(
                    &t.piece_trie,
                    s.as_bytes(),
                    &[],
                    None,
                    (false, false),
                    &mut sc.steps,
                    &mut sc.seg,
                );
            }
        }
        sc.arena.extend_from_slice(&sc.seg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        segments(text, |a, b, _| out.push(&text[a..b]));
        out
    }

    #[test]
    fn segments_follow_classes_and_case() {
        assert_eq!(cut("YouTube iPhone"), ["You", "Tube", " ", "i", "Phone"]);
        assert_eq!(cut("HTTPServer"), ["HTTP", "Server"]);
        assert_eq!(
            cut("İstanbul'a 12x\n\n"),
            ["İstanbul", "'", "a", " ", "1", "2", "x", "\n\n"]
        );
        assert_eq!(cut(""), Vec::<&str>::new());
    }

    fn spaced(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        spaced_segments(text, |a, b, _| out.push(&text[a..b]));
        out
    }

    #[test]
    fn a_segment_takes_the_space_before_it() {
        assert_eq!(spaced("ev \n ev"), ["ev", " \n", " ev"]);
        assert_eq!(spaced("  kitap"), [" ", " kitap"]);
        assert_eq!(spaced("a , 12\tb "), ["a", " ,", " 1", "2", "\t", "b", " "]);
        assert_eq!(spaced(" 1919"), [" 1", "9", "1", "9"]);
        assert_eq!(spaced(" Ali'ye"), [" Ali", "'", "ye"]);
        assert_eq!(spaced("\u{a0}x"), ["\u{a0}", "x"]);
    }
}
