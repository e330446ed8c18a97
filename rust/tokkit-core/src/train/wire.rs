//! The binary forms that travel between a driver and the workers of sharded training
//! ([`super::sharded`]): a shard's count table, and SuperBPE's stage-1 model sent back out.
//!
//! A count table is what one shard's counting returns: its distinct words (or SuperBPE spans,
//! with their stage-1 segmentation) sorted by bytes, 64-bit counts, and the shard's totals.
//! Tables from any number of shards merge exactly by a k-way merge over the sorted entries, so
//! the driver never hashes a word again and its result is the sorted word list single-node
//! counting produces.
//!
//! Layout (little-endian; `v` = LEB128 varint):
//!
//! ```text
//! "TKCOUNT\0"  u32 version  u32 flags (bit 0: entries carry token ids)
//! v len + tokkit version   v len + fingerprint (configuration and stage)
//! v len + sha256 hex of the shard's bytes
//! v sequences  v skipped_invalid_utf8  v pieces  v bytes  v entries
//! entries: v len, bytes, v count [, v n, n x v id]
//! ```
//!
//! Every length is checked against what is left of the buffer before anything is allocated,
//! so a truncated or hostile table is an error, never a huge allocation.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{BpeModel, TokenId};
use crate::error::{Error, Result};
use crate::word_counts::Counter;

/// Version of the count-table layout; a table of another version is refused.
pub const TABLE_VERSION: u32 = 1;
const TABLE_MAGIC: &[u8; 8] = b"TKCOUNT\0";
const MODEL_MAGIC: &[u8; 8] = b"TKMODEL\0";
const HAS_IDS: u32 = 1;

/// The tokkit version that writes tables; a worker of another version is refused.
pub const TOKKIT_VERSION: &str = env!("CARGO_PKG_VERSION");

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A cursor over a received buffer; every read is bounded by what is left.
struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn bad(&self, why: &str) -> Error {
        Error::Serialization(format!("corrupt {}: {why}", self.what))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return Err(self.bad("truncated"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.take(1)?.first().expect("1 byte");
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.bad("a number runs past 64 bits"))
    }

    /// A length, no larger than what is left (each counted item takes at least one byte).
    fn len(&mut self) -> Result<usize> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.buf.len())
            .ok_or_else(|| self.bad("a length runs past the end"))
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }

    fn text(&mut self) -> Result<&'a str> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|_| self.bad("a name is not UTF-8"))
    }
}

/// What a shard's counting saw, besides the words: summed exactly over shards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Sequences seen (lines, records, texts).
    pub sequences: u64,
    /// Sequences skipped as invalid UTF-8.
    pub skipped_invalid_utf8: u64,
    /// Pieces counted, with multiplicity.
    pub pieces: u64,
    /// Bytes of text seen.
    pub bytes: u64,
}

impl Totals {
    /// What `counter` saw.
    #[must_use]
    pub fn of(counter: &Counter) -> Self {
        Self {
            sequences: counter.sequences,
            skipped_invalid_utf8: counter.skipped_invalid_utf8,
            pieces: counter.pieces,
            bytes: counter.bytes,
        }
    }

    fn add(&mut self, other: &Self) {
        self.sequences += other.sequences;
        self.skipped_invalid_utf8 += other.skipped_invalid_utf8;
        self.pieces += other.pieces;
        self.bytes += other.bytes;
    }
}

/// Segments one word into ids (SuperBPE's stage-2 spans under the stage-1 model).
pub type Segmenter<'a> = dyn Fn(&[u8], &mut Vec<TokenId>) + Sync + 'a;

/// Writes `counter` as a count table. With `segment`, each distinct word also carries the ids
/// it segments into (SuperBPE's stage-2 spans under the stage-1 merges).
#[must_use]
pub fn write_table(
    counter: Counter,
    fingerprint: &str,
    sha256: &str,
    segment: Option<&Segmenter<'_>>,
) -> Vec<u8> {
    let totals = [
        counter.sequences,
        counter.skipped_invalid_utf8,
        counter.pieces,
        counter.bytes,
    ];
    let words = counter.into_sorted();
    let mut out = Vec::with_capacity(64 + words.iter().map(|(w, _)| w.len() + 4).sum::<usize>());
    let header = Header {
        has_ids: segment.is_some(),
        fingerprint,
        sha256,
        totals,
        entries: words.len() as u64,
    };
    header.write(&mut out);
    let mut ids = Vec::new();
    for (word, count) in &words {
        put_bytes(&mut out, word);
        put_varint(&mut out, *count);
        if let Some(segment) = segment {
            ids.clear();
            segment(word, &mut ids);
            put_varint(&mut out, ids.len() as u64);
            for &id in &ids {
                put_varint(&mut out, u64::from(id));
            }
        }
    }
    out
}

/// What precedes a table's entries.
struct Header<'a> {
    has_ids: bool,
    fingerprint: &'a str,
    sha256: &'a str,
    totals: [u64; 4],
    entries: u64,
}

impl Header<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(TABLE_MAGIC);
        out.extend_from_slice(&TABLE_VERSION.to_le_bytes());
        out.extend_from_slice(&(if self.has_ids { HAS_IDS } else { 0 }).to_le_bytes());
        put_bytes(out, TOKKIT_VERSION.as_bytes());
        put_bytes(out, self.fingerprint.as_bytes());
        put_bytes(out, self.sha256.as_bytes());
        for t in self.totals {
            put_varint(out, t);
        }
        put_varint(out, self.entries);
    }
}

/// Merges adjacent shards' tables into one table of the same form (a step of a merge tree on
/// the workers, so the driver receives a few tables instead of one per shard). Its sha256
/// field lists the shards' digests in order, one per line, so the corpus digest the driver
/// computes is the same as from the shards' own tables.
///
/// # Errors
/// As [`Table::parse`] and [`merge_tables`]; [`Error::Config`] for tables with and without ids.
pub fn merge_into_table(tables: &[&[u8]], fingerprint: &str) -> Result<Vec<u8>> {
    let tables: Vec<Table<'_>> = tables
        .iter()
        .map(|t| Table::parse(t, fingerprint))
        .collect::<Result<_>>()?;
    let has_ids = tables.first().is_some_and(Table::has_ids);
    if tables.iter().any(|t| t.has_ids() != has_ids) {
        return Err(Error::Config(
            "count tables of words and of spans cannot be merged together".into(),
        ));
    }
    let mut body = Vec::new();
    let mut entries = 0u64;
    let totals = merge_tables(&tables, |word, count, ids| {
        put_bytes(&mut body, word);
        put_varint(&mut body, count);
        body.extend_from_slice(ids);
        entries += 1;
        Ok(())
    })?;
    let sha256: Vec<&str> = tables.iter().map(|t| t.sha256).collect();
    let mut out = Vec::with_capacity(body.len() + 256);
    Header {
        has_ids,
        fingerprint,
        sha256: &sha256.join("\n"),
        totals: [
            totals.sequences,
            totals.skipped_invalid_utf8,
            totals.pieces,
            totals.bytes,
        ],
        entries,
    }
    .write(&mut out);
    out.extend_from_slice(&body);
    Ok(out)
}

/// A received count table, checked and ready to merge (entries are read lazily).
#[derive(Debug)]
pub struct Table<'a> {
    /// The shard's totals.
    pub totals: Totals,
    /// sha256 (hex) of the shard's bytes.
    pub sha256: &'a str,
    has_ids: bool,
    entries: u64,
    body: &'a [u8],
}

impl<'a> Table<'a> {
    /// Reads a table's header and checks that it was counted by this tokkit version for
    /// `fingerprint` (the configuration and stage the driver asked for).
    ///
    /// # Errors
    /// [`Error::Serialization`] for a corrupt table; [`Error::Config`] with a hint for a
    /// table of another layout or tokkit version, or counted for another configuration.
    pub fn parse(buf: &'a [u8], fingerprint: &str) -> Result<Self> {
        let mut r = Reader {
            buf,
            what: "count table",
        };
        if r.take(8).ok() != Some(TABLE_MAGIC.as_slice()) {
            return Err(r.bad("not a tokkit count table"));
        }
        let version = r.u32()?;
        if version != TABLE_VERSION {
            return Err(Error::Config(format!(
                "a worker sent a count table of layout v{version}; this tokkit reads v{TABLE_VERSION}"
            ))
            .with_hint("install the same tokkit version on the driver and every worker"));
        }
        let flags = r.u32()?;
        let tokkit = r.text()?;
        if tokkit != TOKKIT_VERSION {
            return Err(Error::Config(format!(
                "a worker runs tokkit {tokkit}, the driver tokkit {TOKKIT_VERSION}"
            ))
            .with_hint("install the same tokkit version on the driver and every worker"));
        }
        if r.text()? != fingerprint {
            return Err(Error::Config(
                "a worker counted for another trainer configuration or stage than the driver asked for"
                    .into(),
            ));
        }
        let sha256 = r.text()?;
        let mut t = [0u64; 4];
        for v in &mut t {
            *v = r.varint()?;
        }
        let entries = r.varint()?;
        if entries > r.buf.len() as u64 {
            return Err(r.bad("more entries than bytes"));
        }
        Ok(Self {
            totals: Totals {
                sequences: t[0],
                skipped_invalid_utf8: t[1],
                pieces: t[2],
                bytes: t[3],
            },
            sha256,
            has_ids: flags & HAS_IDS != 0,
            entries,
            body: r.buf,
        })
    }

    /// Whether entries carry token ids.
    #[must_use]
    pub fn has_ids(&self) -> bool {
        self.has_ids
    }

    /// Number of distinct words.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.entries
    }

    /// Whether the table holds no word.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }
}

/// One table being read in a k-way merge.
struct Cursor<'a> {
    reader: Reader<'a>,
    left: u64,
    has_ids: bool,
}

/// One entry: the word, its count and its raw ids (varints, read on demand).
struct Entry<'a> {
    word: &'a [u8],
    count: u64,
    ids: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn next(&mut self) -> Result<Option<Entry<'a>>> {
        if self.left == 0 {
            if !self.reader.buf.is_empty() {
                return Err(self.reader.bad("bytes after the last entry"));
            }
            return Ok(None);
        }
        self.left -= 1;
        let word = self.reader.bytes()?;
        let count = self.reader.varint()?;
        let ids = if self.has_ids {
            let start = self.reader.buf;
            let n = self.reader.len()?;
            for _ in 0..n {
                self.reader.varint()?;
            }
            &start[..start.len() - self.reader.buf.len()]
        } else {
            &[]
        };
        Ok(Some(Entry { word, count, ids }))
    }
}

/// Calls `f(word, count, ids)` for every distinct word of `tables` in byte order, counts summed
/// exactly; `ids` is the raw id list of the first table holding the word (every table
/// segments a word the same way) and is empty for tables without ids. Returns the summed
/// totals.
///
/// # Errors
/// [`Error::Serialization`] for a corrupt table or tables out of order.
pub fn merge_tables(
    tables: &[Table<'_>],
    mut f: impl FnMut(&[u8], u64, &[u8]) -> Result<()>,
) -> Result<Totals> {
    let mut totals = Totals::default();
    let mut cursors: Vec<Cursor<'_>> = tables
        .iter()
        .map(|t| {
            totals.add(&t.totals);
            Cursor {
                reader: Reader {
                    buf: t.body,
                    what: "count table",
                },
                left: t.entries,
                has_ids: t.has_ids,
            }
        })
        .collect();
    let mut heads: Vec<Option<Entry<'_>>> = Vec::with_capacity(cursors.len());
    let mut heap = BinaryHeap::new();
    for (i, c) in cursors.iter_mut().enumerate() {
        let head = c.next()?;
        if let Some(e) = &head {
            heap.push(Reverse((e.word, i)));
        }
        heads.push(head);
    }
    while let Some(Reverse((word, first))) = heap.pop() {
        let mut count = 0u64;
        let ids = heads[first].as_ref().expect("a queued head").ids;
        // Every table whose head is this word adds to it; `first` is the lowest index.
        let mut take = vec![first];
        while let Some(Reverse((w, i))) = heap.peek().copied() {
            if w != word {
                break;
            }
            heap.pop();
            take.push(i);
        }
        for i in take {
            let e = heads[i].take().expect("a queued head");
            count = count
                .checked_add(e.count)
                .ok_or_else(|| Error::Serialization("a word's count overflows 64 bits".into()))?;
            heads[i] = cursors[i].next()?;
            if let Some(next) = &heads[i] {
                if next.word <= e.word {
                    return Err(Error::Serialization(
                        "corrupt count table: words out of order".into(),
                    ));
                }
                heap.push(Reverse((next.word, i)));
            }
        }
        f(word, count, ids)?;
    }
    Ok(totals)
}

/// Decodes the raw ids an entry carries.
///
/// # Errors
/// [`Error::Serialization`] for an id past `u32`.
pub fn read_ids(raw: &[u8], out: &mut Vec<TokenId>) -> Result<()> {
    let mut r = Reader {
        buf: raw,
        what: "count table",
    };
    if raw.is_empty() {
        return Ok(());
    }
    let n = r.len()?;
    out.reserve(n);
    for _ in 0..n {
        let id = r.varint()?;
        out.push(TokenId::try_from(id).map_err(|_| r.bad("an id past u32"))?);
    }
    Ok(())
}

/// SuperBPE's stage-1 model as the driver sends it to the workers.
#[must_use]
pub fn write_model(model: &BpeModel) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MODEL_MAGIC);
    put_bytes(&mut out, TOKKIT_VERSION.as_bytes());
    put_varint(&mut out, model.tokens.len() as u64);
    for t in &model.tokens {
        put_bytes(&mut out, t);
    }
    put_varint(&mut out, model.num_special as u64);
    put_varint(&mut out, model.num_padding as u64);
    put_varint(&mut out, model.merges.len() as u64);
    for &(a, b) in &model.merges {
        put_varint(&mut out, u64::from(a));
        put_varint(&mut out, u64::from(b));
    }
    out
}

/// Reads what [`write_model`] wrote.
///
/// # Errors
/// [`Error::Serialization`] for a corrupt model, [`Error::Config`] for another tokkit version.
pub fn read_model(buf: &[u8]) -> Result<BpeModel> {
    let mut r = Reader {
        buf,
        what: "stage-1 model",
    };
    if r.take(8).ok() != Some(MODEL_MAGIC.as_slice()) {
        return Err(r.bad("not a tokkit stage-1 model"));
    }
    let tokkit = r.text()?;
    if tokkit != TOKKIT_VERSION {
        return Err(Error::Config(format!(
            "the driver runs tokkit {tokkit}, this worker tokkit {TOKKIT_VERSION}"
        ))
        .with_hint("install the same tokkit version on the driver and every worker"));
    }
    let n = r.len()?;
    let mut tokens = Vec::with_capacity(n);
    for _ in 0..n {
        tokens.push(r.bytes()?.to_vec());
    }
    let num_special = r.len()?;
    let num_padding = r.len()?;
    let m = r.len()?;
    let mut merges = Vec::with_capacity(m);
    let id = |r: &mut Reader<'_>| -> Result<TokenId> {
        let v = r.varint()?;
        TokenId::try_from(v)
            .ok()
            .filter(|&i| (i as usize) < n)
            .ok_or_else(|| r.bad("a merge names an unknown id"))
    };
    for _ in 0..m {
        merges.push((id(&mut r)?, id(&mut r)?));
    }
    if num_special + num_padding > n || !r.buf.is_empty() {
        return Err(r.bad("inconsistent sizes"));
    }
    Ok(BpeModel {
        tokens,
        num_special,
        merges,
        num_padding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(words: &[(&str, u64)]) -> Counter {
        let mut c = Counter::default();
        for &(w, n) in words {
            c.add_word(w.as_bytes(), n);
        }
        c.sequences = 3;
        c.bytes = 10;
        c
    }

    #[test]
    fn tables_merge_to_the_summed_sorted_counts() {
        let a = write_table(
            counter(&[("b", 2), ("a", 1), ("a long word past 23 bytes!", 5)]),
            "f",
            "s1",
            None,
        );
        let b = write_table(counter(&[("c", 1), ("b", 40)]), "f", "s2", None);
        let tables = [
            Table::parse(&a, "f").unwrap(),
            Table::parse(&b, "f").unwrap(),
        ];
        let mut seen = Vec::new();
        let totals = merge_tables(&tables, |w, c, ids| {
            assert!(ids.is_empty());
            seen.push((String::from_utf8(w.to_vec()).unwrap(), c));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                ("a", 1),
                ("a long word past 23 bytes!", 5),
                ("b", 42),
                ("c", 1)
            ]
            .map(|(w, c)| (w.to_owned(), c))
        );
        assert_eq!((totals.sequences, totals.bytes), (6, 20));
    }

    #[test]
    fn merged_tables_read_as_their_parts() {
        let parts = [
            write_table(counter(&[("b", 2), ("a", 1)]), "f", "s1", None),
            write_table(counter(&[("c", 1), ("b", 40)]), "f", "s2", None),
            write_table(counter(&[("a", 7), ("d", 1)]), "f", "s3", None),
        ];
        let read = |tables: &[&[u8]]| {
            let tables: Vec<Table<'_>> = tables
                .iter()
                .map(|t| Table::parse(t, "f").unwrap())
                .collect();
            let digests: Vec<String> = tables.iter().map(|t| t.sha256.to_owned()).collect();
            let mut seen = Vec::new();
            let totals = merge_tables(&tables, |w, c, _| {
                seen.push((w.to_vec(), c));
                Ok(())
            })
            .unwrap();
            (seen, totals, digests.join("\n"))
        };
        let whole = read(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let left = merge_into_table(&[&parts[0], &parts[1]], "f").unwrap();
        let tree = read(&[&left, &parts[2]]);
        assert_eq!(whole, tree);
        assert_eq!(tree.2, "s1\ns2\ns3");
    }

    #[test]
    fn ids_travel_with_their_words() {
        let segment =
            |w: &[u8], out: &mut Vec<TokenId>| out.extend(w.iter().map(|&b| 1000 + u32::from(b)));
        let a = write_table(counter(&[("ab", 1)]), "f", "", Some(&segment));
        let t = [Table::parse(&a, "f").unwrap()];
        merge_tables(&t, |_, _, raw| {
            let mut ids = Vec::new();
            read_ids(raw, &mut ids)?;
            assert_eq!(ids, [1097, 1098]);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn foreign_truncated_and_mismatched_tables_are_refused() {
        let a = write_table(counter(&[("ab", 1), ("cd", 2)]), "f", "", None);
        assert!(matches!(
            Table::parse(&a, "g").unwrap_err(),
            Error::Config(_)
        ));
        let mut other = a.clone();
        other[8] = 9;
        let err = Table::parse(&other, "f").unwrap_err().to_string();
        assert!(err.contains("layout v9"), "{err}");
        for cut in 0..a.len() {
            let short = &a[..cut];
            let result =
                Table::parse(short, "f").and_then(|t| merge_tables(&[t], |_, _, _| Ok(())));
            assert!(result.is_err(), "a table cut at {cut} was read");
        }
        // A huge declared length is refused before anything is allocated.
        let mut huge = a[..a.len() - 8].to_vec();
        huge.extend_from_slice(&[0xff; 9]);
        huge.push(0x01);
        assert!(
            Table::parse(&huge, "f")
                .and_then(|t| merge_tables(&[t], |_, _, _| Ok(())))
                .is_err()
        );
    }

    #[test]
    fn models_round_trip() {
        let model = BpeModel {
            tokens: vec![
                b"<s>".to_vec(),
                b"a".to_vec(),
                b"b".to_vec(),
                b"ab".to_vec(),
            ],
            num_special: 1,
            merges: vec![(1, 2)],
            num_padding: 0,
        };
        let back = read_model(&write_model(&model)).unwrap();
        assert_eq!(
            (back.tokens, back.merges, back.num_special),
            (model.tokens.clone(), model.merges.clone(), 1)
        );
        let bytes = write_model(&model);
        for cut in 0..bytes.len() {
            assert!(read_model(&bytes[..cut]).is_err());
        }
    }
}
