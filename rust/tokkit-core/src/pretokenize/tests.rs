//! Fast paths must split exactly like the backtracking engine; checked on arbitrary text.

use proptest::prelude::*;

use super::*;
use crate::train::superbpe::{self, Preset};

fn fancy_pieces<'a>(pattern: &'static str, text: &'a str) -> Vec<&'a str> {
    static CACHE: std::sync::Mutex<Vec<(&'static str, fancy_regex::Regex)>> =
        std::sync::Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap();
    if !cache.iter().any(|(p, _)| *p == pattern) {
        cache.push((pattern, fancy_regex::Regex::new(pattern).unwrap()));
    }
    let re = &cache.iter().find(|(p, _)| *p == pattern).unwrap().1;
    let mut out = Vec::new();
    isolated(
        text,
        re.find_iter(text)
            .map(|m| m.unwrap())
            .map(|m| (m.start(), m.end())),
        |p| out.push(p),
    );
    out
}

fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(vec!['a', 'b', 'Z', 's', 't', 'r', 'e', 'v', 'm', 'l', 'd', 'S', 'T']),
        3 => prop::sample::select(vec![' ', ' ', '\n', '\t', '\r', '\u{b}', '\u{c}']),
        2 => prop::sample::select(vec!['\'', '.', ',', '!', '/', '-', '(', '_', '"', '’']),
        2 => prop::sample::select(vec!['0', '1', '7', '٣', '½', '５']),
        2 => prop::sample::select(vec!['é', 'ß', 'ı', 'İ', '中', 'ж', 'ǅ', 'ʰ', '\u{301}', '\u{94d}']),
        1 => prop::sample::select(vec!['\u{a0}', '\u{85}', '\u{2003}', '\u{2028}', '\u{3000}', '\u{200b}']),
        1 => prop::sample::select(vec!['😀', '👍', '\u{200d}', '\u{fe0f}', '\u{1f3fd}']),
        1 => any::<char>(),
    ]
}

fn tricky_text() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..48).prop_map(|cs| cs.into_iter().collect())
}

/// Text for the Llama-3 family and o200k: the tricky chars, plus what their patterns tell apart
/// (cased words with marks, titlecase, modifier and other letters between them; contractions of
/// either case and `ſ`; `\r\n` runs; slashes after punctuation; digit runs).
fn cased_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => tricky_char().prop_map(String::from),
        3 => prop::sample::select(vec![
            'A', 'B', 'E', 'L', 'R', 'V', 'M', 'D', 'É', 'Ж', 'ǅ', 'ǈ', 'ᾈ',
            'a', 'é', 'ß', 'ж', 'ǆ', 'ſ',
            'ʰ', 'ー', '々', '中', 'ا', 'ก',
            '\u{301}', '\u{308}', '\u{94d}', '\u{20dd}', '\u{903}',
        ]).prop_map(String::from),
        2 => prop::sample::select(vec![
            "'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'ve", "'VE", "'m", "'M", "'ll", "'LL",
            "'lL", "'d", "'D", "'ſ", "'x", "''", "’s",
        ]).prop_map(String::from),
        2 => prop::sample::select(vec![
            "\r\n", "\r\n\r\n", "\n\n", " \n", "\n ", "\t\n", "\r", "  ", "   ", "\u{a0}\n",
        ]).prop_map(String::from),
        1 => prop::sample::select(vec!["/", "//", ".\n/", "?/\r\n", " /", "/\n"]).prop_map(String::from),
        1 => prop::sample::select(vec!["1234", "12", "٣٤٥٦", "1½", "１２３４５"]).prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|ps| ps.concat())
}

/// Long ASCII runs (the scanners skip those eight bytes at a time) of letters of one case or
/// both, and of spaces, cut by the tricky chars: runs that end inside, at and past an 8-byte
/// word, and that go on in non-ASCII letters or marks.
fn long_runs_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => "[a-z]{1,20}",
        2 => "[A-Z]{1,20}",
        2 => "[a-zA-Z]{1,20}",
        2 => " {1,20}",
        3 => tricky_char().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|ps| ps.concat())
}

/// `fast` (a published pattern, read and run by the pre-tokenizer) splits `text` like the
/// backtracking engine on `reference`.
fn assert_splits_like(
    fast: &Pretokenizer,
    reference: &'static str,
    text: &str,
) -> std::result::Result<(), TestCaseError> {
    prop_assert_eq!(fast.pieces(text), fancy_pieces(reference, text));
    Ok(())
}

macro_rules! scanner_equals_the_regex {
    ($name:ident, $published:expr, $reference:expr, $engine:literal) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(5000))]

            #[test]
            fn $name(text in prop_oneof![cased_text(), tricky_text(), long_runs_text()]) {
                static FAST: std::sync::LazyLock<Pretokenizer> =
                    std::sync::LazyLock::new(|| Pretokenizer::regex_named("x", $published).unwrap());
                static REFERENCE: std::sync::LazyLock<String> =
                    std::sync::LazyLock::new(|| onig::respell($reference).into_owned());
                prop_assert_eq!(FAST.engine_name(), $engine);
                let reference: &'static str = REFERENCE.as_str();
                assert_splits_like(&FAST, reference, &text)?;
            }
        }
    };
}

scanner_equals_the_regex!(
    llama3_scanner_equals_the_regex,
    LLAMA3_PATTERN,
    LLAMA3_PATTERN,
    "hand-written llama3-family scanner"
);
scanner_equals_the_regex!(
    qwen2_scanner_equals_the_regex,
    QWEN2_PATTERN,
    QWEN2_PATTERN,
    "hand-written llama3-family scanner"
);
// The reference is the published cl100k spelling as Oniguruma reads it, not `CL100K_FAST`.
scanner_equals_the_regex!(
    cl100k_scanner_equals_the_regex,
    CL100K_PATTERN,
    CL100K_PATTERN,
    "hand-written llama3-family scanner"
);
scanner_equals_the_regex!(
    o200k_scanner_equals_the_regex,
    O200K_PATTERN,
    O200K_PATTERN,
    "hand-written o200k scanner"
);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn gpt2_scanner_equals_the_regex(text in prop_oneof![tricky_text(), long_runs_text()]) {
        static FAST: std::sync::LazyLock<Pretokenizer> = std::sync::LazyLock::new(|| Pretokenizer::from_spec("gpt2").unwrap());
        let fast = &*FAST;
        prop_assert_eq!(fast.pieces(&text), fancy_pieces(GPT2_PATTERN, &text));
    }

    #[test]
    fn published_spellings_split_as_oniguruma_reads_them(text in tricky_text()) {
        // The reference: the published pattern itself, as Oniguruma reads it, on the
        // backtracking engine. The pre-tokenizer runs an equivalent spelling on a fast engine.
        static READ: std::sync::LazyLock<[(&str, String); 2]> = std::sync::LazyLock::new(|| {
            [CL100K_PATTERN, R50K_PATTERN].map(|p| (p, onig::respell(p).into_owned()))
        });
        for (published, as_read) in READ.iter() {
            let fast = Pretokenizer::regex_named("fast", published).unwrap();
            prop_assert_eq!(fast.pieces(&text), fancy_pieces(as_read, &text), "{}", published);
        }
    }

    #[test]
    fn pieces_tile_the_text(text in tricky_text()) {
        for spec in ["gpt2", "llama3", "o200k", "none", r"(?=(\d{3})+(?!\d))| ?\p{L}+|\s+(?!\S)|\s+"] {
            let pieces = Pretokenizer::from_spec(spec).unwrap().pieces(&text);
            prop_assert_eq!(pieces.concat(), text.clone());
            prop_assert!(pieces.iter().all(|p| !p.is_empty()));
        }
    }
}

#[test]
fn built_in_patterns_use_the_fast_engines() {
    assert_eq!(
        Pretokenizer::from_spec("gpt2").unwrap().engine_name(),
        "hand-written gpt2 scanner"
    );
    let llama3 = Pretokenizer::from_spec("llama3").unwrap();
    assert_eq!(llama3.engine_name(), "hand-written llama3-family scanner");
    assert_eq!(llama3.name(), "llama3");
    let o200k = Pretokenizer::from_spec("o200k").unwrap();
    assert_eq!(o200k.engine_name(), "hand-written o200k scanner");
    assert_eq!(o200k.name(), "o200k");
}

#[test]
fn published_spellings_use_the_fast_engines() {
    let engine = |p| Pretokenizer::regex_named("x", p).unwrap().engine_name();
    assert_eq!(engine(R50K_PATTERN), "hand-written gpt2 scanner");
    for pattern in [CL100K_PATTERN, QWEN2_PATTERN, LLAMA3_PATTERN] {
        assert_eq!(engine(pattern), "hand-written llama3-family scanner");
    }
    assert_eq!(engine(O200K_PATTERN), "hand-written o200k scanner");
    // Another pattern of the family stays on the regex engines.
    let bigger_groups = LLAMA3_PATTERN.replace("{1,3}", "{1,4}");
    assert_eq!(
        engine(&bigger_groups),
        "regex + exact trailing-space look-ahead"
    );
}

#[test]
fn scanners_split_like_hf() {
    // Expected pieces as HF `tokenizers` 0.23.3 gives them (`Split(Regex(p), "isolated")`).
    let pieces = |p: &str, text| Pretokenizer::regex_named("x", p).unwrap().pieces(text);
    let (mark, o200k) = ("\u{301}", O200K_PATTERN);
    // Llama-3: a mark is punctuation, so it leads the next word; `ſ` folds to `s`.
    assert_eq!(pieces(LLAMA3_PATTERN, "x'ſt"), ["x", "'ſ", "t"]);
    assert_eq!(
        pieces(LLAMA3_PATTERN, "\u{301}'sX"),
        [format!("{mark}'"), "sX".into()]
    );
    assert_eq!(
        pieces(LLAMA3_PATTERN, "A\u{301}B"),
        ["A".into(), format!("{mark}B")]
    );
    assert_eq!(
        pieces(LLAMA3_PATTERN, "12345 \n\n  x"),
        ["123", "45", " \n\n", " ", " x"]
    );
    assert_eq!(pieces(QWEN2_PATTERN, "123"), ["1", "2", "3"]);
    // cl100k: whole digit runs, and trailing whitespace is one piece.
    assert_eq!(pieces(CL100K_PATTERN, "12345 \n\n  "), ["12345", " \n\n  "]);
    assert_eq!(
        pieces(LLAMA3_PATTERN, "12345 \n\n  "),
        ["123", "45", " \n\n", "  "]
    );
    // o200k: a mark joins the word on either side; "both" letters end a word before capitals.
    assert_eq!(pieces(o200k, "A\u{301}B"), [format!("A{mark}"), "B".into()]);
    assert_eq!(pieces(o200k, "\u{301}AB."), [mark, "AB", "."]);
    assert_eq!(pieces(o200k, "\u{301}ABc"), [format!("{mark}ABc")]);
    assert_eq!(
        pieces(o200k, "\u{301}'sX"),
        [format!("{mark}'s"), "X".into()]
    );
    assert_eq!(pieces(o200k, "中A."), ["中", "A", "."]);
    assert_eq!(
        pieces(o200k, "..\u{301}a"),
        [format!("..{mark}"), "a".into()]
    );
    assert_eq!(pieces(o200k, "x'ſt HTTP'S"), ["x'ſ", "t", " HTTP'S"]);
    assert_eq!(pieces(o200k, "a.\n/b"), ["a", ".\n/", "b"]);
}

#[test]
fn contractions_fold_case_as_the_regex_engines_do() {
    // `(?i)` is Unicode simple case folding: every char the regex engines let stand for each
    // letter of the contractions, and the scanners' test for it.
    for letter in ["s", "t", "m", "d", "r", "e", "v", "l"] {
        let hir = regex_syntax::parse(&format!("(?i){letter}")).unwrap();
        let regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class)) =
            hir.kind()
        else {
            panic!("{letter}");
        };
        let folds: Vec<char> = class.iter().flat_map(|r| r.start()..=r.end()).collect();
        for c in folds.iter().copied().chain(['x', 'é', 'ı', '\u{212a}']) {
            let matches = folds.contains(&c);
            let text = match letter {
                "s" | "t" | "m" | "d" => format!("'{c}"),
                "l" => format!("'{c}{c}"),
                "r" | "v" => format!("'{c}e"),
                _ => format!("'r{c}"),
            };
            let got = llama3::contraction_after(text.as_bytes(), 0);
            assert_eq!(got == Some(text.len()), matches, "{text:?}");
        }
    }
}

#[test]
fn patterns_mean_what_they_mean_to_oniguruma() {
    // Expected pieces as HF `tokenizers` 0.23.3 gives them (`Split(Regex(p), "isolated")`).
    let pieces = |p: &str, text| Pretokenizer::regex_named("x", p).unwrap().pieces(text);
    // `{1,3}+` repeats the interval: cl100k's digits are whole runs to HF (tiktoken: threes).
    assert_eq!(
        pieces(CL100K_PATTERN, "x 1000 ١٢٣٤"),
        ["x", " ", "1000", " ", "١٢٣٤"]
    );
    assert_eq!(
        pieces(r"\p{N}{1,3}+", "1234567 aa ١٢٣x "),
        ["1234567", " aa ", "١٢٣", "x "]
    );
    assert_eq!(pieces(r"a{2}+", "aaaaa"), ["aaaa", "a"]);
    // `$` is a line end.
    assert_eq!(
        pieces(r"\s+$", "1234567 aaaaa  \n  b \n ١٢٣x "),
        ["1234567 aaaaa", "  ", "\n  b", " ", "\n ١٢٣x", " "]
    );
    assert_eq!(pieces("$", "a\nb\r\nc\n"), ["a", "\nb\r", "\nc", "\n"]);
    // Possessive quantifiers: the `regex` crate would read `?+` as `(?)+`, i.e. `*`.
    assert_eq!(
        pieces(
            r"[^\r\n\p{L}\p{N}]?+\p{L}+| ?[^\s\p{L}\p{N}]++[\r\n]*|\s+(?!\S)|\s+",
            "::A  b"
        ),
        ["::", "A", " ", " b"]
    );
    // Oniguruma's word characters and POSIX brackets (Unicode).
    assert_eq!(pieces(r"\w+", "a²b\u{200d}c"), ["a²b", "\u{200d}", "c"]);
    assert_eq!(pieces(r"\b", "ab ²c"), ["ab", " ", "²c"]);
    assert_eq!(pieces(r"[[:alpha:]]+", "x ſé1"), ["x", " ", "ſé", "1"]);
    // `{n}?` is optional, `\h` a hex digit, `(?m)` lets `.` match `\n`.
    assert_eq!(pieces(r"xa{2}?", "xa"), ["x", "a"]);
    assert_eq!(pieces(r"\h+", "0xfg"), ["0", "x", "f", "g"]);
    assert_eq!(pieces(r"(?m)a.", "a\nb"), ["a\n", "b"]);
}

#[test]
fn zero_width_matches_split() {
    let p = Pretokenizer::from_spec(r"(?=(\d{3})+(?!\d))").unwrap();
    assert_eq!(p.pieces("1234567"), ["1", "234", "567"]);
}

#[test]
fn gpt2_known_splits() {
    let p = Pretokenizer::from_spec("gpt2").unwrap();
    assert_eq!(
        p.pieces("Hello world's  end\n"),
        ["Hello", " world", "'s", " ", " end", "\n"]
    );
    assert_eq!(p.pieces("  x"), [" ", " x"]);
    assert_eq!(p.pieces("\tx"), ["\t", "x"]);
    assert_eq!(p.pieces("a  "), ["a", "  "]);
    assert_eq!(p.pieces("it's 42!?"), ["it", "'s", " 42", "!?"]);
}

#[test]
fn invalid_regex_is_a_typed_error() {
    let err = Pretokenizer::from_spec("(unclosed").unwrap_err();
    assert!(matches!(err, Error::InvalidRegex { .. }), "{err}");
}

fn paper_reference(pattern: &str) -> Pretokenizer {
    Pretokenizer {
        name: "reference".into(),
        pattern: Some(pattern.into()),
        engine: Engine::Fancy(fancy_regex::Regex::new(pattern).unwrap()),
        isolate_digits: true,
        chunker: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn digit_group_fast_path_equals_the_regex(text in "[ a-z0-9٣٤٥½²\\.,'\n]{0,40}") {
        for pattern in [superbpe::PAPER_STAGE1, superbpe::PAPER_STAGE2] {
            let fast = Pretokenizer::regex_named("fast", pattern).unwrap().with_isolated_digits();
            prop_assert_eq!(fast.engine_name(), "digit groups + regex (behind Digits)");
            prop_assert_eq!(fast.pieces(&text), paper_reference(pattern).pieces(&text));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn superbpe_recommended_fast_paths_equal_the_regex(text in "[ a-zA-Z0-9.,:;!?'\\n\\t\\-/()é中٣]{0,40}") {
        let (one, two) = Preset::Recommended.pretokenizers().unwrap();
        prop_assert_eq!(two.pieces(&text), fancy_pieces(superbpe::RECOMMENDED_STAGE2, &text));
        prop_assert_eq!(one.pieces(&text), fancy_pieces(superbpe::RECOMMENDED_STAGE1, &text));
    }
}
