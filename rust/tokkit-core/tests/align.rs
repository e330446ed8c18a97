//! Properties of the exact alignment (`design/distill.md` §6): on a random byte
//! string cut two random ways, the chunks partition both sides, are monotone and contiguous, join
//! to equal bytes and are as many as the common cut points; self-alignment is diagonal; specials
//! match by code; mismatched chunks are dropped and counted; bad input is an error.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use tokkit_core::Error;
use tokkit_core::align::{AlignVocab, RowAlignment, align, align_batch};
use tokkit_core::threads::with_threads;

/// A vocabulary whose ids are the distinct pieces (regular) and the given special codes, and a
/// function from a piece or special code to its id.
struct Built {
    vocab: AlignVocab,
    ids: HashMap<Token, u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Token {
    Piece(Vec<u8>),
    Special(i32),
}

impl Built {
    fn new<'a>(seqs: impl IntoIterator<Item = &'a [Token]>) -> Self {
        let mut ids = HashMap::new();
        let mut tokens: Vec<(Vec<u8>, i32)> = Vec::new();
        for seq in seqs {
            for t in seq {
                ids.entry(t.clone()).or_insert_with(|| {
                    tokens.push(match t {
                        Token::Piece(b) => (b.clone(), -1),
                        Token::Special(c) => (Vec::new(), *c),
                    });
                    u32::try_from(tokens.len() - 1).unwrap()
                });
            }
        }
        Self {
            vocab: AlignVocab::from_tokens(tokens).unwrap(),
            ids,
        }
    }

    fn encode(&self, seq: &[Token]) -> Vec<u32> {
        seq.iter().map(|t| self.ids[t]).collect()
    }
}

/// `data` cut after every position whose flag is set (pieces are never empty).
fn segment(data: &[u8], cuts: &[bool]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start = 0;
    for end in 1..=data.len() {
        if end == data.len() || cuts[end - 1] {
            out.push(Token::Piece(data[start..end].to_vec()));
            start = end;
        }
    }
    out
}

/// Byte offsets at which the pieces of `seq` end.
fn cut_points(seq: &[Token]) -> BTreeSet<usize> {
    let mut at = 0;
    seq.iter()
        .map(|t| {
            if let Token::Piece(b) = t {
                at += b.len();
            }
            at
        })
        .collect()
}

fn pieces(s: &str) -> Vec<Token> {
    s.split('|')
        .map(|p| Token::Piece(p.as_bytes().to_vec()))
        .collect()
}

/// Checks monotone, contiguous chunk indices over the tokens that have one.
fn assert_monotone(chunks: &[i64], n: usize) {
    let kept: Vec<i64> = chunks.iter().copied().filter(|&c| c >= 0).collect();
    for w in kept.windows(2) {
        assert!(w[1] == w[0] || w[1] == w[0] + 1, "{chunks:?}");
    }
    if let (Some(first), Some(last)) = (kept.first(), kept.last()) {
        assert_eq!((*first, *last), (0, n as i64 - 1), "{chunks:?}");
    }
}

/// The joined bytes of every chunk on one side.
fn chunk_bytes(vocab: &AlignVocab, ids: &[u32], chunks: &[i64], n: usize) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new(); n];
    for (&id, &c) in ids.iter().zip(chunks) {
        if c >= 0 {
            out[usize::try_from(c).unwrap()].extend_from_slice(vocab.token_bytes(id).unwrap());
        }
    }
    out
}

/// A byte string and two ways to cut it.
fn two_segmentations() -> impl Strategy<Value = (Vec<u8>, Vec<bool>, Vec<bool>)> {
    // A small alphabet, so that the same pieces recur and vocabularies are shared.
    prop::collection::vec(prop::sample::select(b"ab \xc3\xa9\n".to_vec()), 0..80).prop_flat_map(
        |data| {
            let n = data.len();
            (
                Just(data),
                prop::collection::vec(any::<bool>(), n),
                prop::collection::vec(any::<bool>(), n),
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn align_chunks_partition_two_random_segmentations((data, ct, cs) in two_segmentations()) {
        let (t_seq, s_seq) = (segment(&data, &ct), segment(&data, &cs));
        let (tv, sv) = (Built::new([t_seq.as_slice()]), Built::new([s_seq.as_slice()]));
        let (t_ids, s_ids) = (tv.encode(&t_seq), sv.encode(&s_seq));
        let r = align(&tv.vocab, &t_ids, &sv.vocab, &s_ids).unwrap();
        prop_assert_eq!(r.mismatched, 0);
        prop_assert!(r.teacher_chunk.iter().chain(&r.student_chunk).all(|&c| c >= 0));
        let common = cut_points(&t_seq).intersection(&cut_points(&s_seq)).count();
        prop_assert_eq!(r.n_chunks, common);
        assert_monotone(&r.teacher_chunk, r.n_chunks);
        assert_monotone(&r.student_chunk, r.n_chunks);
        prop_assert_eq!(
            chunk_bytes(&tv.vocab, &t_ids, &r.teacher_chunk, r.n_chunks),
            chunk_bytes(&sv.vocab, &s_ids, &r.student_chunk, r.n_chunks)
        );
    }

    #[test]
    fn align_specials_never_change_the_chunks_of_the_text(
        (data, ct, cs) in two_segmentations(),
        t_specials in prop::collection::vec((0usize..100, 0i32..3), 0..5),
        s_specials in prop::collection::vec((0usize..100, 0i32..3), 0..5),
    ) {
        let (t_plain, s_plain) = (segment(&data, &ct), segment(&data, &cs));
        let plain = align_tokens(&t_plain, &s_plain);
        let insert = |mut seq: Vec<Token>, specials: &[(usize, i32)]| {
            for &(at, code) in specials {
                let at = at % (seq.len() + 1);
                seq.insert(at, Token::Special(code));
            }
            seq
        };
        let (t_seq, s_seq) = (insert(t_plain, &t_specials), insert(s_plain, &s_specials));
        let r = align_tokens(&t_seq, &s_seq);
        prop_assert_eq!(r.mismatched, 0);
        assert_monotone(&r.teacher_chunk, r.n_chunks);
        assert_monotone(&r.student_chunk, r.n_chunks);
        // Chunks of specials: one special per side, same code.
        let specials_of = |seq: &[Token], chunks: &[i64]| -> HashMap<i64, Vec<i32>> {
            let mut m: HashMap<i64, Vec<i32>> = HashMap::new();
            for (t, &c) in seq.iter().zip(chunks) {
                if let (Token::Special(code), true) = (t, c >= 0) {
                    m.entry(c).or_default().push(*code);
                }
            }
            m
        };
        let (ts, ss) = (specials_of(&t_seq, &r.teacher_chunk), specials_of(&s_seq, &r.student_chunk));
        prop_assert_eq!(&ts, &ss);
        prop_assert!(ts.values().all(|codes| codes.len() == 1));
        // The regular tokens keep the chunks they have without specials, renumbered.
        let text_chunks = |seq: &[Token], chunks: &[i64]| -> Vec<i64> {
            let kept: Vec<i64> = seq
                .iter()
                .zip(chunks)
                .filter(|(t, _)| matches!(t, Token::Piece(_)))
                .map(|(_, &c)| c)
                .collect();
            let mut order: Vec<i64> = kept.clone();
            order.dedup();
            kept.iter().map(|c| order.iter().position(|o| o == c).unwrap() as i64).collect()
        };
        prop_assert_eq!(text_chunks(&t_seq, &r.teacher_chunk), plain.teacher_chunk);
        prop_assert_eq!(text_chunks(&s_seq, &r.student_chunk), plain.student_chunk);
        prop_assert_eq!(r.n_chunks, plain.n_chunks + ts.len());
    }

    #[test]
    fn self_alignment_is_diagonal_with_specials(
        (data, cuts, _) in two_segmentations(),
        specials in prop::collection::vec((0usize..100, 0i32..3), 0..6),
    ) {
        let mut seq = segment(&data, &cuts);
        for (at, code) in specials {
            let at = at % (seq.len() + 1);
            seq.insert(at, Token::Special(code));
        }
        let v = Built::new([seq.as_slice()]);
        let ids = v.encode(&seq);
        let r = align(&v.vocab, &ids, &v.vocab, &ids).unwrap();
        let diagonal: Vec<i64> = (0..ids.len() as i64).collect();
        prop_assert_eq!(&r.teacher_chunk, &diagonal);
        prop_assert_eq!(&r.student_chunk, &diagonal);
        prop_assert_eq!((r.n_chunks, r.mismatched), (ids.len(), 0));
    }

    #[test]
    fn align_batch_does_not_depend_on_thread_count(
        rows in prop::collection::vec(two_segmentations(), 0..12),
    ) {
        let seqs: Vec<(Vec<Token>, Vec<Token>)> = rows
            .iter()
            .map(|(d, ct, cs)| (segment(d, ct), segment(d, cs)))
            .collect();
        let tv = Built::new(seqs.iter().map(|(t, _)| t.as_slice()));
        let sv = Built::new(seqs.iter().map(|(_, s)| s.as_slice()));
        let rows_t: Vec<Vec<u32>> = seqs.iter().map(|(t, _)| tv.encode(t)).collect();
        let rows_s: Vec<Vec<u32>> = seqs.iter().map(|(_, s)| sv.encode(s)).collect();
        let run = |threads| {
            with_threads(Some(threads), || align_batch(&tv.vocab, &rows_t, &sv.vocab, &rows_s))
                .unwrap()
        };
        let one = run(1);
        prop_assert_eq!(&one, &run(3));
        for (k, r) in one.iter().enumerate() {
            prop_assert_eq!(r, &align(&tv.vocab, &rows_t[k], &sv.vocab, &rows_s[k]).unwrap());
        }
    }
}

/// Aligns two token lists over vocabularies built from both.
fn align_tokens(t_seq: &[Token], s_seq: &[Token]) -> RowAlignment {
    let (tv, sv) = (Built::new([t_seq]), Built::new([s_seq]));
    align(&tv.vocab, &tv.encode(t_seq), &sv.vocab, &sv.encode(s_seq)).unwrap()
}

fn with_special(code: i32, rest: &str) -> Vec<Token> {
    let mut seq = vec![Token::Special(code)];
    seq.extend(pieces(rest));
    seq
}

#[test]
fn align_reproduces_the_docs_example() {
    // design/distill.md §1 (the spec's example): `<bos>` ↔ `<|begin_of_text|>`; `Ġultra cre pid` ↔ `Ġultr ac repid`.
    let r = align_tokens(
        &with_special(0, " ultra|cre|pid"),
        &with_special(0, " ultr|ac|repid"),
    );
    assert_eq!(r.teacher_chunk, [0, 1, 1, 1]);
    assert_eq!(r.student_chunk, [0, 1, 1, 1]);
    assert_eq!((r.n_chunks, r.mismatched), (2, 0));
}

#[test]
fn align_matches_specials_by_code_only_at_boundaries() {
    // Same code: a chunk of their own.
    let r = align_tokens(&with_special(3, "ab"), &with_special(3, "a|b"));
    assert_eq!(
        (r.teacher_chunk, r.student_chunk),
        (vec![0, 1], vec![0, 1, 1])
    );
    // Different codes: both out, the text still aligns.
    let r = align_tokens(&with_special(3, "ab"), &with_special(4, "a|b"));
    assert_eq!(
        (r.teacher_chunk, r.student_chunk),
        (vec![-1, 0], vec![-1, 0, 0])
    );
    assert_eq!(r.n_chunks, 1);
    // A special facing a regular token.
    let r = align_tokens(&with_special(3, "ab"), &pieces("a|b"));
    assert_eq!(
        (r.teacher_chunk, r.student_chunk),
        (vec![-1, 0], vec![0, 0])
    );
    // A special inside a chunk, even one the other side has at the same offset.
    let mut t = pieces("a|b");
    t.insert(1, Token::Special(3));
    let mut s = pieces("ab");
    s.push(Token::Special(3));
    let r = align_tokens(&t, &s);
    assert_eq!(
        (r.teacher_chunk, r.student_chunk),
        (vec![0, -1, 0], vec![0, -1])
    );
    // Specials after the text on both sides still match.
    let mut t = pieces("ab");
    t.push(Token::Special(1));
    let mut s = pieces("a|b");
    s.push(Token::Special(1));
    let r = align_tokens(&t, &s);
    assert_eq!(
        (r.teacher_chunk, r.student_chunk),
        (vec![0, 1], vec![0, 0, 1])
    );
}

#[test]
fn align_drops_and_counts_mismatched_chunks() {
    let r = align_tokens(&pieces("ab|c|d"), &pieces("AB|c|d"));
    assert_eq!(
        (r.teacher_chunk, r.student_chunk),
        (vec![-1, 0, 1], vec![-1, 0, 1])
    );
    assert_eq!((r.n_chunks, r.mismatched), (2, 1));
    // A special matched before a mismatched chunk keeps its chunk.
    let r = align_tokens(&with_special(0, "xy|z"), &with_special(0, "x|Y|z"));
    assert_eq!(r.teacher_chunk, [0, -1, 1]);
    assert_eq!(r.student_chunk, [0, -1, -1, 1]);
    assert_eq!((r.n_chunks, r.mismatched), (2, 1));
}

#[test]
fn align_leaves_leftover_tokens_out() {
    let r = align_tokens(&pieces("ab|cd"), &pieces("ab|c"));
    assert_eq!(
        (r.teacher_chunk, r.student_chunk),
        (vec![0, -1], vec![0, -1])
    );
    let r = align_tokens(&pieces("ab"), &[]);
    assert_eq!((r.teacher_chunk, r.n_chunks), (vec![-1], 0));
}

#[test]
fn align_handles_empty_tokens() {
    // A token without bytes (a hole in the vocabulary) joins the chunk after it.
    let t = vec![
        Token::Piece(b"a".to_vec()),
        Token::Piece(Vec::new()),
        Token::Piece(b"b".to_vec()),
    ];
    let r = align_tokens(&t, &pieces("a|b"));
    assert_eq!(
        (r.teacher_chunk, r.student_chunk),
        (vec![0, 1, 1], vec![0, 1])
    );
}

#[test]
fn align_rejects_out_of_range_ids_and_bad_vocabularies() {
    let v = AlignVocab::from_tokens([(&b"a"[..], -1), (b"b", -1), (b"", 0)]).unwrap();
    assert_eq!(v.len(), 3);
    let err = align(&v, &[0, 3], &v, &[0]).unwrap_err();
    assert!(matches!(err.split_hint().0, Error::Config(_)), "{err}");
    assert!(err.to_string().contains("id 3"), "{err}");
    let err = align_batch(&v, &[vec![0], vec![7]], &v, &[vec![0], vec![0]]).unwrap_err();
    assert!(err.to_string().starts_with("row 1: "), "{err}");
    assert!(align_batch(&v, &[vec![0]], &v, &[]).is_err());

    assert!(AlignVocab::new(vec![0, 1], vec![b'a'], vec![-1]).is_ok());
    assert!(AlignVocab::new(vec![0, 1], vec![b'a'], vec![-1, -1]).is_err());
    assert!(AlignVocab::new(vec![1, 1], vec![b'a'], vec![-1]).is_err());
    assert!(AlignVocab::new(vec![0, 2], vec![b'a'], vec![-1]).is_err());
    assert!(AlignVocab::new(vec![0, 2, 1], vec![b'a'], vec![-1, -1]).is_err());
    assert!(AlignVocab::new(vec![0, 1], vec![b'a'], vec![-2]).is_err());
    assert!(AlignVocab::new(vec![], vec![], vec![]).is_err());
    assert!(AlignVocab::new(vec![0], vec![], vec![]).unwrap().is_empty());
}
