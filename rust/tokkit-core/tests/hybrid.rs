//! The morphological hybrid tokenizer (design/hybrid.md) on a small real Turkish fixture
//! (`tests/data/hybrid/`): lossless round trips, shared ids, the three segmentations, training on
//! `corpora/tr.txt`, and the errors malformed files give; then the shipped Turkish language
//! (`python/tokkit/hybrid/langs/tr/`) trained at 32k ids: leading-space pieces
//! (design/hybrid.md §3.1, §5.2).

use std::sync::OnceLock;

use proptest::prelude::*;
use tokkit_core::hybrid::{
    HybridModel, HybridTrainer, Kind, Language, Segmentation, TrainedHybrid, train_hybrid,
};
use tokkit_core::progress::Silent;
use tokkit_core::train::{Corpus, StopReason, with_threads};
use tokkit_core::{CancelToken, Error};

const LANGUAGE: &str = include_str!("data/hybrid/language.json");
const ROOTS: &str = include_str!("data/hybrid/roots.tsv");
const TR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora/tr.txt");
const TR_LANG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../python/tokkit/hybrid/langs/tr"
);
/// Built by `corpora/build_hybrid_langs.py`, not committed.
const TR_TRAIN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../corpora/build/tr-train.txt"
);

fn language() -> Language {
    Language::from_json(LANGUAGE).unwrap()
}

/// The fixture's dictionaries with the 256 bytes as the only pieces.
fn fixture(mode: Segmentation) -> HybridModel {
    let lang = language();
    let roots = lang.parse_roots(ROOTS).unwrap();
    let pieces = (0..=255u8).map(|b| vec![b]).collect();
    HybridModel::new(
        lang,
        vec!["<pad>".into(), "<bos>".into(), "<eos>".into()],
        roots,
        pieces,
        mode,
    )
    .unwrap()
}

fn config(vocab_size: usize) -> HybridTrainer {
    HybridTrainer::from_json(&format!(
        r#"{{"algorithm": "hybrid", "vocab_size": {vocab_size}, "lang": "tr"}}"#
    ))
    .unwrap()
}

fn train(threads: usize) -> TrainedHybrid {
    let lang = language();
    let roots = lang.parse_roots(ROOTS).unwrap();
    with_threads(Some(threads), || {
        train_hybrid(
            &config(1000),
            lang,
            roots,
            Corpus::files([TR]),
            &Silent,
            &CancelToken::new(),
        )
    })
    .unwrap()
}

fn trained() -> &'static TrainedHybrid {
    static TRAINED: OnceLock<TrainedHybrid> = OnceLock::new();
    TRAINED.get_or_init(|| train(1))
}

fn id(model: &HybridModel, name: &str) -> u32 {
    model.names().iter().position(|n| n == name).unwrap() as u32
}

fn round_trips(model: &HybridModel, text: &str) -> Vec<u32> {
    let ids = model.encode(text);
    assert_eq!(model.decode(&ids, false), text, "{ids:?}");
    ids
}

#[test]
fn the_issue_failures_round_trip() {
    for mode in [
        Segmentation::BestPath,
        Segmentation::PurePath,
        Segmentation::LongestMatch,
    ] {
        let m = fixture(mode);
        for text in [
            "Nasılsınız?",
            "YouTube iPhone",
            "İstanbul'a gidiyorum\n",
            "KİTAP",
            "ev \n ev",
            "  \t\t\n\n \r\n   x",
            "",
            "HTTPServer ÇOCUKLARI ǅemal straße STRASSE ﬁx",
            "Kitabı sıcağı masalar evler üzerinde bırakıyor anlıyor",
            "  kitap",
            "   \t kitap\t\tev\n\n kitaplar \r\n evler ",
            "kitap , 12 . 3,5 ' ev ( kitap )",
            "ev Kitap KİTAP  Kitaplar   KİTAPLAR\tKitap\n İSTANBUL'A ev",
            " X Ev E İ ı I Iİ",
            "KİTAPev KİTAP ev KİTAP'ev KİTAP Ev",
        ] {
            round_trips(&m, text);
        }
        assert_eq!(m.encode("KİTAP"), [1, id(&m, "kitap")], "{mode:?}");
        // design/hybrid.md §3.1-3.2: the marker comes before the segment, its space included.
        let space = id(&m, " ");
        assert_eq!(m.encode(" KİTAP"), [1, space, id(&m, "kitap")], "{mode:?}");
        assert_eq!(
            m.encode("ev Kitaplar"),
            [id(&m, "ev"), 0, space, id(&m, "kitap"), id(&m, "+lAr")],
            "{mode:?}"
        );
        assert_eq!(m.encode("ev \n ev")[1..4], [space, id(&m, "\n"), space]);
    }
}

#[test]
fn shared_ids_are_used() {
    let m = fixture(Segmentation::BestPath);
    let lar = id(&m, "+lAr");
    let kitaplar = round_trips(&m, "kitaplar");
    let evler = round_trips(&m, "evler");
    assert_eq!(kitaplar, [id(&m, "kitap"), lar]);
    assert_eq!(evler, [id(&m, "ev"), lar]);
    assert_eq!(round_trips(&m, "sıcağı"), [id(&m, "sıcak"), id(&m, "+I")]);
    let nasil = round_trips(&m, "Nasılsınız");
    assert_eq!(nasil, [0, id(&m, "nasıl"), id(&m, "+sInIz")]);
    assert_eq!(m.decode(&nasil, false), "Nasılsınız");
    // design/hybrid.md §4: a marker applies after the leading space; `<allcaps>` ends at a
    // space-led token.
    let (space, kitap, ev) = (id(&m, " "), id(&m, "kitap"), id(&m, "ev"));
    assert_eq!(m.decode(&[0, space, kitap, lar], false), " Kitaplar");
    assert_eq!(m.decode(&[1, space, kitap, lar], false), " KİTAPLAR");
    assert_eq!(m.decode(&[1, kitap, space, ev], false), "KİTAP ev");
    assert_eq!(m.decode(&[1, space, space, ev], false), "  ev");
    // `gidiyorum`: the alternate before a vowel-initial suffix.
    let gid = round_trips(&m, "gidiyor");
    assert_eq!(gid, [id(&m, "git"), id(&m, "+Iyor")]);
}

#[test]
fn a_form_the_decoder_cannot_restore_is_spelled_by_pieces() {
    let m = fixture(Segmentation::BestPath);
    // `lar` after a front vowel resolves to `ler`, so `evlar` cannot use +lAr.
    let ids = round_trips(&m, "evlar");
    assert!(!ids.contains(&id(&m, "+lAr")), "{ids:?}");
    assert!(
        ids.iter()
            .any(|&i| matches!(m.kind(i), Some(Kind::Piece(_)))),
        "{ids:?}"
    );
    // `kitab` before a consonant is not what the decoder writes for the group.
    let ids = round_trips(&m, "kitabda");
    assert!(!ids.contains(&id(&m, "kitap")), "{ids:?}");
}

/// The fixture with one learned piece, `" kitab"`: the spaced root of `kitap`
/// (design/hybrid.md §2).
fn fixture_spaced(mode: Segmentation) -> HybridModel {
    let lang = language();
    let roots = lang.parse_roots(ROOTS).unwrap();
    let mut pieces: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    pieces.push(b" kitab".to_vec());
    pieces.push(b" kit".to_vec());
    HybridModel::new(lang, vec!["<pad>".into()], roots, pieces, mode).unwrap()
}

#[test]
fn a_spaced_root_is_one_id_for_every_form() {
    for mode in [
        Segmentation::BestPath,
        Segmentation::PurePath,
        Segmentation::LongestMatch,
    ] {
        let m = fixture_spaced(mode);
        let sp = id(&m, " kitap");
        assert!(!m.names().iter().any(|n| n == " kitab"));
        assert!(matches!(m.kind(sp), Some(Kind::SpacedRoot(_))));
        assert_eq!(m.kind(id(&m, " kit")).map(Kind::name), Some("piece"));
        assert_eq!(Kind::SpacedRoot(0).name(), "spaced_root");
        assert_eq!(m.token_bytes(sp).unwrap(), b" kitap");
        assert_eq!(m.token_forms(sp).unwrap(), [" kitap", " kitab"]);
        // Decoded alone it is the word, not the fragment.
        assert_eq!(m.decode(&[sp], false), " kitap");
        let i = id(&m, "+I");
        assert_eq!(round_trips(&m, " kitap"), [sp], "{mode:?}");
        assert_eq!(round_trips(&m, " kitabı"), [sp, i], "{mode:?}");
        assert_eq!(round_trips(&m, " Kitabı"), [0, sp, i], "{mode:?}");
        assert_eq!(round_trips(&m, "ev kitap"), [id(&m, "ev"), sp], "{mode:?}");
        assert_eq!(m.decode(&[sp, i], false), " kitabı");
        // Where the group's rule picks the other form, the spaced root is not used.
        for text in [" kitabda", " kitapı", " kitab", " kitapa"] {
            let ids = round_trips(&m, text);
            assert!(!ids.contains(&sp), "{mode:?} {text:?} {ids:?}");
        }
    }
    let m = fixture_spaced(Segmentation::BestPath);
    let back = HybridModel::from_json(&m.to_json()).unwrap();
    assert_eq!(back.names(), m.names());
    assert_eq!(back.kind(id(&m, " kitap")), m.kind(id(&m, " kitap")));
    // Two pieces that are forms of one group would be one name twice.
    let lang = language();
    let roots = lang.parse_roots(ROOTS).unwrap();
    let mut pieces: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    pieces.extend([b" kitap".to_vec(), b" kitab".to_vec()]);
    let err = HybridModel::new(lang, vec![], roots, pieces, Segmentation::BestPath).unwrap_err();
    assert!(err.to_string().contains("duplicate token name"), "{err}");
}

#[test]
fn every_digit_is_a_segment_and_numbers_round_trip() {
    let m = fixture(Segmentation::BestPath);
    let digit = |c: char| id(&m, &c.to_string());
    assert_eq!(
        round_trips(&m, " 1919"),
        [id(&m, " "), digit('1'), digit('9'), digit('1'), digit('9')]
    );
    for mode in [
        Segmentation::BestPath,
        Segmentation::PurePath,
        Segmentation::LongestMatch,
    ] {
        let t = trained().model.with_segmentation(mode);
        for text in [
            "1919",
            "3.14",
            " 2024-06-07",
            "1919'da",
            "٣٤ ve ²5",
            " 100.000 TL",
        ] {
            let ids = round_trips(&t, text);
            for &i in &ids {
                let b = t.token_bytes(i).unwrap();
                let digits = String::from_utf8_lossy(b)
                    .chars()
                    .filter(|c| c.is_numeric())
                    .count();
                assert!(
                    digits <= 1,
                    "{mode:?} {text:?}: {:?}",
                    t.names()[i as usize]
                );
            }
        }
    }
}

#[test]
fn best_path_never_longer_than_longest_match() {
    let text = std::fs::read_to_string(TR).unwrap();
    let best = fixture(Segmentation::BestPath);
    let pure = best.with_segmentation(Segmentation::PurePath);
    let longest = best.with_segmentation(Segmentation::LongestMatch);
    for line in text.lines().take(400) {
        let b = best.encode(line);
        let l = longest.encode(line);
        assert!(b.len() <= l.len(), "{line}");
        assert_eq!(best.decode(&b, false), line);
        assert_eq!(longest.decode(&l, false), line);
        assert_eq!(pure.decode(&pure.encode(line), false), line);
    }
}

#[test]
fn training_gives_pieces_an_exact_size_and_round_trips() {
    let t = trained();
    assert_eq!(t.model.vocab_size(), 1000);
    assert_eq!(t.report.vocab_size, 1000);
    assert!(t.model.pieces().len() > 256);
    assert!(t.report.residue_bytes > 0 && t.report.distinct_segments > 0);
    assert_eq!(t.report.corpus_bytes, std::fs::metadata(TR).unwrap().len());
    let two = train(2);
    assert_eq!(two.model.to_json(), t.model.to_json());
    let text = std::fs::read_to_string(TR).unwrap();
    let mut scratch = tokkit_core::hybrid::encode::Scratch::default();
    for line in text.lines() {
        // The scratch's segment cache, warm from the lines before, changes nothing.
        let ids = t.model.encode_with(line, &mut scratch);
        assert_eq!(ids, t.model.encode(line));
        assert_eq!(t.model.decode(&ids, false), line);
    }
    assert_eq!(scratch.fallbacks, 0);
    // The whole file at once, newlines included.
    assert_eq!(t.model.decode(&t.model.encode(&text), false), text);
}

#[test]
fn hybrid_json_round_trips() {
    let m = &trained().model;
    let json = m.to_json();
    let back = HybridModel::from_json(&json).unwrap();
    assert_eq!(back.to_json(), json);
    assert_eq!(back.names(), m.names());
    let text = "Kitaplarımızı İstanbul'dan getirdik.";
    assert_eq!(back.encode(text), m.encode(text));
}

#[test]
fn too_small_a_vocabulary_names_the_dictionaries() {
    let lang = language();
    let roots = lang.parse_roots(ROOTS).unwrap();
    let err = train_hybrid(
        &config(300),
        lang,
        roots,
        Corpus::files([TR]),
        &Silent,
        &CancelToken::new(),
    )
    .unwrap_err();
    let (inner, hint) = err.split_hint();
    assert!(matches!(inner, Error::Config(_)), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("49 root groups and 30 suffix classes"),
        "{message}"
    );
    assert!(hint.unwrap().contains("max_roots"), "{message}");
    let err =
        HybridTrainer::from_json(r#"{"algorithm": "hybrid", "vocab_size": 9000, "vocab": 1}"#)
            .unwrap_err()
            .to_string();
    assert!(err.contains("unknown field `vocab`"), "{err}");
}

#[test]
fn malformed_files_name_the_problem() {
    let lang = language();
    let err = lang
        .parse_roots("kitap\tkitab:V\nev\tev:Q\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("roots.tsv line 2") && err.contains("\"Q\""),
        "{err}"
    );
    let err = lang.parse_roots("ev\nmasa\nev\n").unwrap_err().to_string();
    assert!(err.contains("line 3") && err.contains("twice"), "{err}");
    let err = lang.parse_roots("Kitap\n").unwrap_err().to_string();
    assert!(
        err.contains("line 1") && err.contains("lower-case"),
        "{err}"
    );
    let bad = LANGUAGE.replace("\"by\": \"last_char\"", "\"by\": \"next_char\"");
    let err = Language::from_json(&bad).unwrap_err().to_string();
    assert!(
        err.contains("phonology.") && err.contains("next_char"),
        "{err}"
    );
    let bad = LANGUAGE.replace("\"vowels\"", "\"vowel\"");
    let err = Language::from_json(&bad).unwrap_err().to_string();
    assert!(err.contains("vowel"), "{err}");
    let bad = LANGUAGE.replace("\"lAr\", \"DI\"", "\"lAr\", \"lAr\"");
    let err = Language::from_json(&bad).unwrap_err().to_string();
    assert!(
        err.contains("suffixes[1]") && err.contains("twice"),
        "{err}"
    );
    let json = fixture(Segmentation::BestPath).to_json();
    let err = HybridModel::from_json(&json.replace("\"best_path\"", "\"fastest\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("segmentation"), "{err}");
    let err = HybridModel::from_json(&json.replacen("\"kitab:V\"", "\"kitab:W\"", 1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("roots[0]") && err.contains("\"W\""), "{err}");
    let err = HybridModel::from_json(&json.replacen("\"<bos>\"", "\"<pad>\"", 1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("duplicate token name \"<pad>\""), "{err}");
    let err = HybridModel::from_json(&json.replacen("\"masa\"", "\"ev\"", 1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("duplicate token name \"ev\""), "{err}");
    assert!(HybridModel::from_json("{").is_err());
}

fn turkish() -> impl Strategy<Value = String> {
    let alphabet: Vec<char> =
        "abcçdefgğhıijklmnoöprsştuüvyzABCÇDEFGĞHIİJKLMNOÖPRSŞTUÜVYZâî \t\n\n 0123456789'’🙂👍🏽"
            .chars()
            .collect();
    let words = [
        "kitap",
        "kitabı",
        "Kitaplar",
        "evler",
        "EVLER",
        "sıcağı",
        "Nasılsınız",
        "gidiyorum",
        "İstanbul'a",
        "anlıyor",
        "YouTube",
        "iPhone",
        "çocuğun",
        "KİTAP",
        "ağzı",
        " Kitap",
        " KİTAPLAR",
        "  evler",
        " 12",
        " ,",
        " \t",
    ];
    proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(alphabet).prop_map(String::from),
            proptest::sample::select(words.to_vec()).prop_map(String::from),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_unicode_round_trips(text in "\\PC*", mode in 0..3usize) {
        let m = &trained().model;
        let m = m.with_segmentation([Segmentation::BestPath, Segmentation::PurePath, Segmentation::LongestMatch][mode]);
        prop_assert_eq!(m.decode(&m.encode(&text), false), text);
    }

    #[test]
    fn any_ids_decode(ids in proptest::collection::vec(0..1100u32, 0..40)) {
        // Every id sequence decodes (ids past the vocabulary are skipped), and again the same.
        let m = &trained().model;
        let text = m.decode(&ids, false);
        prop_assert_eq!(&m.decode(&ids, false), &text);
        prop_assert!(m.decode(&ids, true).len() <= text.len());
    }

    #[test]
    fn any_chars_round_trip(text in any::<String>()) {
        let m = fixture(Segmentation::BestPath);
        prop_assert_eq!(m.decode(&m.encode(&text), false), text);
    }

    #[test]
    fn turkish_text_round_trips(text in turkish(), mode in 0..3usize) {
        let modes = [Segmentation::BestPath, Segmentation::PurePath, Segmentation::LongestMatch];
        let m = trained().model.with_segmentation(modes[mode]);
        prop_assert_eq!(m.decode(&m.encode(&text), false), text.clone());
        let f = fixture(modes[mode]);
        prop_assert_eq!(f.decode(&f.encode(&text), false), text);
    }
}

/// The shipped Turkish language and its roots.
fn turkish_language() -> (Language, Vec<tokkit_core::hybrid::RootGroup>) {
    let read = |f: &str| std::fs::read_to_string(format!("{TR_LANG}/{f}")).unwrap();
    let lang = Language::from_json(&read("language.json")).unwrap();
    let roots = lang.parse_roots(&read("roots.tsv")).unwrap();
    (lang, roots)
}

fn train_turkish(corpus: &str, threads: usize) -> TrainedHybrid {
    let (lang, roots) = turkish_language();
    with_threads(Some(threads), || {
        train_hybrid(
            &config(32768),
            lang,
            roots,
            Corpus::files([corpus]),
            &Silent,
            &CancelToken::new(),
        )
    })
    .unwrap()
}

/// What training with the leading space must give (design/hybrid.md §3.1, §5.2-3): at most the
/// size, `" " + root` pieces for frequent words, no piece that is a root form and a suffix form
/// joined (BPE never merges two dictionary forms), lossless encoding of `corpora/tr.txt` without a
/// fallback in any mode, and fewer tokens than without the space pieces.
fn check_turkish(t: &TrainedHybrid) {
    let m = &t.model;
    // A small corpus runs out of pairs before the budget is spent (the report says so).
    assert!(m.vocab_size() <= 32768 && m.pieces().len() > 5000);
    assert_eq!(t.report.vocab_size, m.vocab_size());
    let first_piece = m.names().len() - m.pieces().len();
    let learned = &m.pieces()[256..];
    let mut roots = std::collections::HashSet::new();
    let mut suffixes = std::collections::HashSet::new();
    for id in 0..first_piece as u32 {
        match m.kind(id) {
            Some(Kind::Root(_)) => roots.extend(m.token_forms(id).unwrap()),
            Some(Kind::Suffix(_)) => suffixes.extend(m.token_forms(id).unwrap()),
            _ => {}
        }
    }
    let text = |p: &[u8]| String::from_utf8_lossy(p).into_owned();
    // design/hybrid.md §2: every learned `" " + root form` is a spaced root, one per group.
    let mut space_roots = std::collections::HashSet::new();
    for (k, p) in learned.iter().enumerate() {
        let id = (first_piece + 256 + k) as u32;
        let spaced = p.len() > 1 && p[0] == b' ' && roots.contains(&text(&p[1..]));
        match m.kind(id) {
            Some(Kind::SpacedRoot(g)) => {
                assert!(spaced && space_roots.insert(g), "{:?}", text(p));
            }
            other => assert!(!spaced, "{:?} is {other:?}", text(p)),
        }
        // design/hybrid.md §3.1: one digit per segment, so no piece has two.
        let digits = text(p).chars().filter(|c| c.is_numeric()).count();
        assert!(digits <= 1, "piece {:?}", text(p));
    }
    assert!(
        space_roots.len() > 1000,
        "{} pieces are a space and a root",
        space_roots.len()
    );
    for word in [" bir", " ve", " için", " türkiye"] {
        assert!(learned.iter().any(|p| p == word.as_bytes()), "{word:?}");
    }
    for p in learned {
        let p = text(p.strip_prefix(b" ").unwrap_or(p));
        if roots.contains(&p) {
            // A root that also splits (`için` = `iç` + `in`) is one form, one unit.
            continue;
        }
        for (k, _) in p.char_indices().skip(1) {
            let (r, s) = p.split_at(k);
            assert!(
                !(roots.contains(r) && suffixes.contains(s)),
                "piece {p:?} joins root {r:?} and suffix {s:?}"
            );
        }
    }
    let corpus = std::fs::read_to_string(TR).unwrap();
    for mode in [
        Segmentation::BestPath,
        Segmentation::PurePath,
        Segmentation::LongestMatch,
    ] {
        let m = m.with_segmentation(mode);
        let mut scratch = tokkit_core::hybrid::encode::Scratch::default();
        for line in corpus.lines() {
            let ids = m.encode_with(line, &mut scratch);
            assert_eq!(m.decode(&ids, false), line, "{mode:?}");
        }
        assert_eq!(scratch.fallbacks, 0, "{mode:?}");
    }
    // " kitap" spelled by one piece, then the shared suffix id.
    let ids = m.encode(" kitaplar");
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(m.names()[ids[0] as usize], " kitap");
    assert!(matches!(m.kind(ids[0]), Some(Kind::SpacedRoot(_))));
    // The alternate with the same id, and the word alone when decoded alone.
    let kitabi = round_trips(m, " kitabı");
    assert_eq!(kitabi[0], ids[0], "{kitabi:?}");
    assert_eq!(round_trips(m, " kitap"), [ids[0]]);
    assert_eq!(m.decode(&ids[..1], false), " kitap");
    // The vocabulary is full exactly when the pairs suffice (design/hybrid.md §5.3).
    let full = t.report.stop_reason == Some(StopReason::VocabSizeReached);
    assert_eq!(full, m.vocab_size() == 32768, "{:?}", t.report.stop_reason);
    for text in ["1919", "3.14", " 2024-06-07"] {
        let digits = text.chars().filter(|c| c.is_numeric()).count();
        assert!(round_trips(m, text).len() >= digits, "{text:?}");
    }
}

#[test]
fn turkish_training_learns_leading_space_pieces() {
    let one = train_turkish(TR, 1);
    check_turkish(&one);
    assert_eq!(train_turkish(TR, 2).model.to_json(), one.model.to_json());
}

#[test]
fn turkish_training_fills_the_vocabulary_exactly_when_pairs_suffice() {
    // design/hybrid.md §5.3: spaced roots of one group merge into one id, and BPE's slack
    // still fills the budget exactly.
    let (lang, roots) = turkish_language();
    let fixed = 2 + 3 + roots.len() + lang.suffixes().len();
    let size = fixed + 256 + 3000;
    let t = train_hybrid(
        &config(size),
        lang,
        roots,
        Corpus::files([TR]),
        &Silent,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(t.model.vocab_size(), size);
    assert_eq!(t.report.vocab_size, size);
    assert_eq!(t.report.stop_reason, Some(StopReason::VocabSizeReached));
}

#[test]
#[ignore = "needs corpora/build/tr-train.txt (corpora/build_hybrid_langs.py); run with --ignored"]
fn turkish_training_on_the_training_text() {
    check_turkish(&train_turkish(TR_TRAIN, 2));
}

#[test]
fn whole_words_take_the_last_ids_and_encode_as_one_token() {
    // design/hybrid.md §5.4: the most frequent multi-token words become pieces in place of the
    // last learned ones; the size holds and the result does not depend on the thread count.
    let (lang, roots) = turkish_language();
    let size = 2 + 3 + roots.len() + lang.suffixes().len() + 256 + 3000;
    let run = |whole_words: usize, threads: usize| {
        let (lang, roots) = turkish_language();
        let mut c = config(size);
        c.whole_words = whole_words;
        with_threads(Some(threads), || {
            train_hybrid(
                &c,
                lang,
                roots,
                Corpus::files([TR]),
                &Silent,
                &CancelToken::new(),
            )
        })
        .unwrap()
    };
    let plain = run(0, 1);
    let ww = run(50, 1);
    assert_eq!(ww.model.to_json(), run(50, 2).model.to_json());
    let m = &ww.model;
    assert_eq!(m.vocab_size(), size);
    assert_eq!(ww.report.whole_words, 50);
    let n = m.pieces().len();
    assert_eq!(n, plain.model.pieces().len());
    assert_eq!(m.pieces()[..n - 50], plain.model.pieces()[..n - 50]);
    let words = &m.pieces()[n - 50..];
    let first_piece = m.names().len() - n;
    for (k, w) in words.iter().enumerate() {
        let text = std::str::from_utf8(w).unwrap();
        let body = text.strip_prefix(' ').unwrap();
        assert!(
            body.chars().all(|c| c.is_alphabetic() && !c.is_uppercase()),
            "{text:?}"
        );
        assert_eq!(round_trips(m, text), [(first_piece + n - 50 + k) as u32]);
        assert!(
            !m.pieces()[..n - 50].contains(w),
            "{text:?} was a piece already"
        );
    }
    assert!(words.iter().any(|w| w == b" olarak"), "{:?}", ww.report);
    assert_eq!(round_trips(m, " olarak").len(), 1);
    assert!(plain.model.encode(" olarak").len() > 1);
    let corpus = std::fs::read_to_string(TR).unwrap();
    for mode in [Segmentation::BestPath, Segmentation::PurePath] {
        let m = m.with_segmentation(mode);
        for line in corpus.lines() {
            assert_eq!(m.decode(&m.encode(line), false), line, "{mode:?}");
        }
    }
}

#[test]
fn whole_words_beyond_the_piece_budget_is_a_config_error() {
    let (lang, roots) = turkish_language();
    let size = 2 + 3 + roots.len() + lang.suffixes().len() + 256 + 10;
    let mut c = config(size);
    c.whole_words = 11;
    let err = train_hybrid(
        &c,
        lang,
        roots,
        Corpus::files([TR]),
        &Silent,
        &CancelToken::new(),
    )
    .unwrap_err();
    let (inner, hint) = err.split_hint();
    assert!(matches!(inner, Error::Config(_)), "{err}");
    assert!(err.to_string().contains("whole_words 11"), "{err}");
    assert!(hint.unwrap().contains("whole_words"), "{err}");
}
