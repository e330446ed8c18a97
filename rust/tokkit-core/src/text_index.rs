//! A hash index from texts to the ids they are stored under, for loading vocabularies of a few
//! hundred thousand tokens: the table holds only `u32` ids (the texts stay where they are, in an
//! array by id), so it is a fraction of the size of a map keyed by the texts and a lookup touches
//! fewer cache lines. [`Packed`] puts the texts side by side first, so that comparing a key
//! with the text of a candidate reads a few MB that stay in cache rather than one scattered
//! allocation per token.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// Ids keyed by the texts `text_of(id)` of the array they index; the caller passes the same
/// `text_of` to every call.
#[derive(Debug, Default)]
pub(crate) struct TextIndex {
    table: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl TextIndex {
    /// An empty index with room for `n` ids.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            table: HashTable::with_capacity(n),
            hasher: foldhash::fast::FixedState::default(),
        }
    }

    fn hash(&self, text: &[u8]) -> u64 {
        self.hasher.hash_one(text)
    }

    /// The id stored for `text`.
    pub(crate) fn get<'t>(&self, text: &[u8], text_of: impl Fn(u32) -> &'t [u8]) -> Option<u32> {
        self.table
            .find(self.hash(text), |&id| text_of(id) == text)
            .copied()
    }

    /// The slot of `id`'s text: holding the id stored for that text, or free.
    fn entry<'t>(
        &mut self,
        id: u32,
        text_of: impl Fn(u32) -> &'t [u8],
    ) -> hashbrown::hash_table::Entry<'_, u32> {
        let text = text_of(id);
        let hash = self.hasher.hash_one(text);
        let hasher = &self.hasher;
        self.table.entry(
            hash,
            |&other| text_of(other) == text,
            |&other| hasher.hash_one(text_of(other)),
        )
    }

    /// Stores `id` under its text unless the text has an id already; returns that earlier id.
    pub(crate) fn insert_first<'t>(
        &mut self,
        id: u32,
        text_of: impl Fn(u32) -> &'t [u8],
    ) -> Option<u32> {
        match self.entry(id, text_of) {
            hashbrown::hash_table::Entry::Occupied(seen) => Some(*seen.get()),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(id);
                None
            }
        }
    }

    /// Stores `id` under its text, replacing an earlier id of the same text (as a map's insert).
    pub(crate) fn insert_last<'t>(&mut self, id: u32, text_of: impl Fn(u32) -> &'t [u8]) {
        match self.entry(id, text_of) {
            hashbrown::hash_table::Entry::Occupied(mut seen) => *seen.get_mut() = id,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(id);
            }
        }
    }

    /// Every stored id, in no particular order.
    pub(crate) fn ids(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.table.iter().copied()
    }
}

/// Texts by id, back to back in one buffer.
#[derive(Debug)]
pub(crate) struct Packed {
    bytes: Vec<u8>,
    /// `starts[id]..starts[id + 1]` is the text of `id`.
    starts: Vec<usize>,
}

impl Packed {
    /// The texts in id order.
    pub(crate) fn new<'t>(texts: impl ExactSizeIterator<Item = &'t [u8]>) -> Self {
        let mut starts = Vec::with_capacity(texts.len() + 1);
        // Tokens average well under 16 bytes: one or two doublings at most.
        let mut bytes = Vec::with_capacity(texts.len() * 8);
        starts.push(0);
        for text in texts {
            bytes.extend_from_slice(text);
            starts.push(bytes.len());
        }
        Self { bytes, starts }
    }

    /// The text of `id` (which must be below the number of texts).
    pub(crate) fn get(&self, id: u32) -> &[u8] {
        let id = id as usize;
        &self.bytes[self.starts[id]..self.starts[id + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_last_keep_the_right_id() {
        let texts: [&[u8]; 4] = [b"a", b"bc", b"a", b""];
        let text_of = |id: u32| texts[id as usize];
        let mut first = TextIndex::with_capacity(0);
        let mut last = TextIndex::default();
        for id in 0..4 {
            first.insert_first(id, text_of);
            last.insert_last(id, text_of);
        }
        assert_eq!(first.get(b"a", text_of), Some(0));
        assert_eq!(last.get(b"a", text_of), Some(2));
        assert_eq!(first.insert_first(2, text_of), Some(0));
        assert_eq!(last.get(b"bc", text_of), Some(1));
        assert_eq!(last.get(b"", text_of), Some(3));
        assert_eq!(last.get(b"b", text_of), None);
        let mut ids: Vec<u32> = last.ids().collect();
        ids.sort_unstable();
        assert_eq!(ids, [1, 2, 3]);
        let packed = Packed::new(texts.iter().copied());
        assert_eq!((0..4).map(|id| packed.get(id)).collect::<Vec<_>>(), texts);
    }
}
