"""Canonical token identity (design/transplant.md §2.1): byte-level, SentencePiece and WordPiece
pieces reduce to the bytes they stand for; specials match by name, then by role."""

from __future__ import annotations

from typing import Any

from tokkit.vocab import match_vocabularies, mergekit_keys, vocab_from_json


def byte_level(vocab: dict[str, int], added: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "model": {"type": "BPE", "vocab": vocab, "merges": []},
        "pre_tokenizer": {"type": "ByteLevel"},
        "decoder": {"type": "ByteLevel"},
        "added_tokens": list(added),
    }


def sentencepiece(vocab: dict[str, int], added: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "model": {"type": "BPE", "vocab": vocab, "merges": [], "byte_fallback": True},
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                {"type": "ByteFallback"},
            ],
        },
        "added_tokens": list(added),
    }


def special(i: int, s: str) -> dict[str, Any]:
    return {"id": i, "content": s, "special": True}


def test_byte_level_pieces_are_their_bytes() -> None:
    v = vocab_from_json(byte_level({"Ġhello": 0, "Ċ": 1, "a": 2, "âĢ": 3}), {})
    assert v.scheme == "byte_level"
    assert v.raw_bytes(0) == b" hello"
    assert v.raw_bytes(1) == b"\n"
    assert v.raw_bytes(3) == b"\xe2\x80"  # partial UTF-8 keeps its identity


def test_sentencepiece_pieces_and_byte_fallback() -> None:
    v = vocab_from_json(sentencepiece({"<0x61>": 0, "▁hello": 1, "<0x0A>": 2, "a": 3}), {})
    assert v.scheme == "sentencepiece"
    assert v.raw_bytes(1) == b" hello"
    assert v.raw_bytes(2) == b"\n"
    assert v.raw_bytes(0) == v.raw_bytes(3) == b"a"
    # The representative of a collision is the regular piece, not the <0xXX> one.
    assert v.representatives()[(False, "", b"a")] == 3


def test_sentencepiece_hashes_are_text_not_continuations() -> None:
    # Gemma's "##" (id 1408) is a Markdown heading; only WordPiece reads "##" as a prefix.
    v = vocab_from_json(sentencepiece({"##": 0, "▁##": 1, "##x": 2}), {})
    assert [v.raw_bytes(i) for i in range(3)] == [b"##", b" ##", b"##x"]


def test_wordpiece_continuations() -> None:
    data = {"model": {"type": "WordPiece", "vocab": {"hello": 0, "##ing": 1}}, "decoder": None}
    v = vocab_from_json(data, {})
    assert v.scheme == "wordpiece"
    assert v.raw_bytes(1) == b"ing"
    assert v.raw_bytes(0) == b"hello"


def test_byte_level_and_sentencepiece_vocabularies_match_by_bytes() -> None:
    base = vocab_from_json(
        sentencepiece({"▁hello": 0, "<0x0A>": 1, "x": 2}, [special(3, "</s>")]), {"eos": "</s>"}
    )
    new = vocab_from_json(
        byte_level({"Ġhello": 0, "Ċ": 1, "zz": 2}, [special(3, "<|endoftext|>")]),
        {"eos": "<|endoftext|>"},
    )
    m = match_vocabularies(base, new, base_rows=4)
    assert m.copy == {0: 0, 1: 1, 3: 3}  # eos matched by role
    assert m.new == [2]


def test_additional_specials_match_by_string_never_regular_tokens() -> None:
    base = vocab_from_json(
        byte_level({"a": 0, "<tool>": 1}, [special(2, "<|im_start|>"), special(3, "<|im_end|>")]),
        {},
    )
    new = vocab_from_json(
        byte_level({"a": 0}, [special(1, "<|im_end|>"), special(2, "<tool>")]), {}
    )
    m = match_vocabularies(base, new, base_rows=4)
    assert m.copy == {0: 0, 1: 3}
    assert m.new == [2]  # a special never matches the regular token with the same text


def test_ids_beyond_rows_are_not_used_and_skip_is_junk() -> None:
    base = vocab_from_json(byte_level({"a": 0, "b": 5}), {})
    new = vocab_from_json(byte_level({"a": 0, "b": 1, "c": 2}), {})
    m = match_vocabularies(base, new, base_rows=3, skip=[2])
    assert m.copy == {0: 0}
    assert m.new == [1]
    assert m.junk == [2]


def test_mergekit_keys_reproduce_its_quirks() -> None:
    v = vocab_from_json(
        byte_level({"Ġhello": 0, "Ċ": 1}, [special(2, "<a>"), special(3, "<b>")]), {}
    )
    keys = mergekit_keys(v, {"additional_special_tokens": ["<a>", "<b>"]})
    assert keys[0] == ("word_start", "hello")
    assert keys[1] == ("raw", "Ċ")  # never matches SentencePiece <0x0A>
    assert 2 not in keys
    assert keys[3] == ("special", "additional_special_tokens")
