//! Decoding (design/hybrid.md §4): left to right with a case state and the left context of the
//! text written so far; a case marker applies after the leading space of the text after it.
//! The encoder's per-segment check (design/hybrid.md §3.5) runs the same code on one segment, so
//! what it proves is what decoding does.

use super::Context;
use super::model::{ALLCAPS_ID, HybridModel, Kind, Tables, TokenId, UPPERCASE_ID};

/// The decoder's state between tokens.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct State {
    /// The left context of the complete chars written so far.
    pub ctx: Context,
    /// `<uppercase>` waits for the next token.
    pub pending_upper: bool,
    /// `<allcaps>` holds.
    pub allcaps: bool,
    /// A marker was just read: the next text's leading space (design/hybrid.md §3.1) is written as
    /// it is.
    pub lead: bool,
    /// Bytes of the output already folded into `ctx` (a piece may end inside a char).
    pub ctx_pos: usize,
}

impl Tables {
    /// Decodes `ids` onto `out` from `state`; `next_after` is the id after the last one (it
    /// decides a final root's form). `text` is scratch space.
    pub(crate) fn decode_into(
        &self,
        ids: &[TokenId],
        next_after: Option<TokenId>,
        state: &mut State,
        skip_special: bool,
        out: &mut Vec<u8>,
        text: &mut String,
    ) {
        for (k, &id) in ids.iter().enumerate() {
            let Some(kind) = self.kind(id) else {
                continue;
            };
            text.clear();
            let bytes: &[u8] = match kind {
                Kind::Marker => {
                    state.pending_upper = id == UPPERCASE_ID;
                    state.allcaps = id == ALLCAPS_ID;
                    state.lead = true;
                    continue;
                }
                Kind::Special => {
                    state.pending_upper = false;
                    state.allcaps = false;
                    state.lead = false;
                    if !skip_special {
                        out.extend_from_slice(self.names[id as usize].as_bytes());
                        self.fold(state, out);
                    }
                    continue;
                }
                Kind::Piece(p) => &self.pieces[p as usize],
                Kind::Suffix(c) => {
                    self.language.resolve_suffix(c as usize, state.ctx, text);
                    text.as_bytes()
                }
                Kind::Root(g) => {
                    let next = ids.get(k + 1).copied().or(next_after);
                    self.root_text(g, self.root_form(g, next)).as_bytes()
                }
                Kind::SpacedRoot(g) => {
                    // design/hybrid.md §2: a space and the form the root itself would take.
                    let next = ids.get(k + 1).copied().or(next_after);
                    text.push(' ');
                    text.push_str(self.root_text(g, self.root_form(g, next)));
                    text.as_bytes()
                }
            };
            self.write_cased(bytes, state, out);
        }
    }

    /// Writes one token's text, upper-cased as the case state says.
    fn write_cased(&self, mut bytes: &[u8], state: &mut State, out: &mut Vec<u8>) {
        if (state.allcaps || state.pending_upper) && std::mem::take(&mut state.lead) {
            // The marked word's leading space stays as it is; the case applies after it.
            if let Some(rest) = bytes.strip_prefix(b" ") {
                out.push(b' ');
                bytes = rest;
                if bytes.is_empty() {
                    // A space alone: the case waits for the next token.
                    self.fold(state, out);
                    return;
                }
            }
        }
        if state.allcaps || state.pending_upper {
            let first = std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| s.chars().next());
            match (std::str::from_utf8(bytes), first) {
                (Ok(s), Some(c)) if state.allcaps && c.is_alphabetic() => {
                    let mut up = String::with_capacity(s.len() + 4);
                    s.chars().for_each(|c| self.language.push_upper(c, &mut up));
                    out.extend_from_slice(up.as_bytes());
                }
                (Ok(s), Some(c)) if !state.allcaps => {
                    let mut up = String::with_capacity(8);
                    self.language.push_upper(c, &mut up);
                    out.extend_from_slice(up.as_bytes());
                    out.extend_from_slice(&s.as_bytes()[c.len_utf8()..]);
                }
                _ => {
                    // A token that does not start with a letter ends `<allcaps>`.
                    state.allcaps = false;
                    out.extend_from_slice(bytes);
                }
            }
            state.pending_upper = false;
        } else {
            out.extend_from_slice(bytes);
        }
        self.fold(state, out);
    }

    /// Folds the complete chars written since the last call into the context.
    fn fold(&self, state: &mut State, out: &[u8]) {
        let mut rest = &out[state.ctx_pos.min(out.len())..];
        while !rest.is_empty() {
            let (valid, skip) = match std::str::from_utf8(rest) {
                Ok(s) => (s, 0),
                Err(e) => match e.error_len() {
                    // An incomplete char at the end: wait for its other bytes.
                    None => (
                        std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
                        usize::MAX,
                    ),
                    Some(n) => (
                        std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
                        n,
                    ),
                },
            };
            self.language.advance_str(&mut state.ctx, valid);
            state.ctx_pos += valid.len();
            rest = &rest[valid.len()..];
            if skip == usize::MAX {
                break;
            }
            state.ctx_pos += skip;
            rest = &rest[skip.min(rest.len())..];
        }
    }
}

impl HybridModel {
    /// The bytes `ids` stand for; ids outside the vocabulary are skipped.
    #[must_use]
    pub fn decode_bytes(&self, ids: &[TokenId], skip_special_tokens: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(ids.len() * 4);
        let mut text = String::new();
        self.tables.decode_into(
            ids,
            None,
            &mut State::default(),
            skip_special_tokens,
            &mut out,
            &mut text,
        );
        out
    }

    /// The text `ids` stand for; invalid UTF-8 from byte pieces becomes U+FFFD.
    #[must_use]
    pub fn decode(&self, ids: &[TokenId], skip_special_tokens: bool) -> String {
        match String::from_utf8(self.decode_bytes(ids, skip_special_tokens)) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }
}
