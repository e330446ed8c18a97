"""One training run of one anchor tool, for bench/train_bench.py.

Kept apart from train_bench.py and limited to light imports so that the
worker's peak RSS is the library's, not the benchmark harness's. Run as
``python bench/train_worker.py TOOL --corpus C --vocab V --threads T --out DIR``.
"""

from __future__ import annotations

import argparse
import base64
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from _gpt2_pattern import GPT2_PATTERN


def _iter_lines(corpus: str) -> Iterator[str]:
    """Corpus lines split on b"\\n" only (newline kept), like HF's file reader."""
    with open(corpus, "rb") as f:
        for raw in f:
            yield raw.decode("utf-8", errors="replace")


def _write_tiktoken(ranks: Sequence[tuple[bytes, int]], path: Path) -> None:
    with open(path, "wb") as f:
        for token, rank in sorted(ranks, key=lambda kv: kv[1]):
            f.write(base64.b64encode(token) + b" " + str(rank).encode() + b"\n")


def worker_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="train_worker.py")
    p.add_argument("tool", choices=["hf", "gigabpe", "rustbpe", "bpeasy", "sentencepiece"])
    p.add_argument("--corpus", required=True)
    p.add_argument("--vocab", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--spm-sentence-cap", type=int, default=0)
    p.add_argument("--spm-max-sentence-length", type=int, default=1 << 20)
    p.add_argument("--noop", action="store_true", help="import the library and exit")
    a = p.parse_args(argv)
    out = Path(a.out)
    v, t = a.vocab, a.threads

    if a.tool == "hf":
        from tokenizers import Tokenizer, models, pre_tokenizers, trainers

        if a.noop:
            return 0
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = trainers.BpeTrainer(
            vocab_size=v,
            min_frequency=0,
            show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
        tok.train([a.corpus], trainer)
        tok.save(str(out / "tokenizer.json"))
    elif a.tool == "gigabpe":
        import gigabpe

        if a.noop:
            return 0
        gigabpe.train_tokenizer(
            [a.corpus],
            vocab_size=v,
            output=str(out / "tokenizer.json"),
            pretokenizer="bytelevel",
            min_frequency=0,
            threads=t,
        )
    elif a.tool == "rustbpe":
        import rustbpe

        if a.noop:
            return 0
        tok = rustbpe.Tokenizer()
        tok.train_from_iterator(_iter_lines(a.corpus), vocab_size=v, pattern=GPT2_PATTERN)
        ranks = [(bytes(b), r) for b, r in tok.get_mergeable_ranks()]
        _write_tiktoken(ranks, out / "ranks.tiktoken")
    elif a.tool == "bpeasy":
        import bpeasy

        if a.noop:
            return 0
        vocab = bpeasy.train_bpe(
            _iter_lines(a.corpus), GPT2_PATTERN, max_token_length=2**31, vocab_size=v
        )
        bpeasy.save_vocab_to_tiktoken(vocab, str(out / "ranks.tiktoken"))
    elif a.tool == "sentencepiece":
        import sentencepiece as spm

        if a.noop:
            return 0
        spm.SentencePieceTrainer.train(
            input=a.corpus,
            model_prefix=str(out / "spm"),
            model_type="bpe",
            vocab_size=v,
            byte_fallback=True,
            num_threads=t,
            normalization_rule_name="identity",
            add_dummy_prefix=False,
            remove_extra_whitespaces=False,
            allow_whitespace_only_pieces=True,
            split_digits=False,
            max_sentence_length=a.spm_max_sentence_length,
            input_sentence_size=a.spm_sentence_cap,
            shuffle_input_sentence=True,
            minloglevel=1,
        )
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
