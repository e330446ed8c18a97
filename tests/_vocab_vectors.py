"""llama.cpp's tokenizer conformance vectors, fetched once into the shared cache.

llama.cpp ships vocab-only GGUFs with test strings (``ggml-vocab-NAME.gguf.inp``) and the ids
llama.cpp's reference tokenizer gives them (``.gguf.out``). They come from the pinned
``llama-cpp-python`` sdist (checksum verified) and land in ``<cache>/vocab-tests/``; the GGUFs
that ``transformers`` loads are exported to ``<cache>/vocab-tests/hf/NAME/tokenizer.json``.
Every write goes to a temporary name first and is renamed into place, so concurrent or
interrupted runs never leave half a file behind.

    from ._vocab_vectors import vectors, tokenizer_json

    for text, ids in vectors("phi-3"): ...
    path = tokenizer_json("phi-3")
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from ._models import shared_cache

SDIST = "llama_cpp_python-0.3.36.tar.gz"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
PIN = "llama-cpp-python==0.3.36"
MEMBER_DIR = "llama_cpp_python-0.3.36/vendor/llama.cpp/models/"
SEPARATOR = "\n__ggml_vocab_test__\n"


def vocab_dir() -> Path:
    """``<cache>/vocab-tests``, with the GGUFs and vectors extracted (fetched on first use)."""
    root = shared_cache() / "vocab-tests"
    if not (root / "ggml-vocab-gpt-2.gguf.out").exists():
        _fetch(root)
    return root


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(root: Path) -> None:
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=".vocab-tests-") as tmp:
        tmp_dir = Path(tmp)
        # Only this package is taken as an sdist: `--no-binary :all:` would also build the
        # sdist's build backends from source just to read its metadata.
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
             "llama-cpp-python", PIN, "-d", str(tmp_dir), "-q"],
            check=True,
        )  # fmt: skip
        sdist = tmp_dir / SDIST
        if _sha256(sdist) != SDIST_SHA256:
            raise RuntimeError(f"{SDIST} does not have the pinned sha256 {SDIST_SHA256}")
        staged = tmp_dir / "vocab-tests"
        staged.mkdir()
        with tarfile.open(sdist, "r:gz") as tar:
            for member in tar.getmembers():
                name = member.name.removeprefix(MEMBER_DIR)
                if member.isfile() and name.startswith("ggml-vocab-") and "/" not in name:
                    source = tar.extractfile(member)
                    assert source is not None
                    with (staged / name).open("wb") as out:
                        shutil.copyfileobj(source, out)
        try:
            staged.rename(root)
        except OSError:
            if not (root / "ggml-vocab-gpt-2.gguf.out").exists():
                raise  # something else is in the way; a concurrent fetch would have finished


def vectors(name: str) -> list[tuple[str, list[int]]]:
    """The ``(text, expected ids)`` pairs of ``ggml-vocab-NAME.gguf``."""
    root = vocab_dir()
    texts = (root / f"ggml-vocab-{name}.gguf.inp").read_text(encoding="utf-8").split(SEPARATOR)
    lines = (root / f"ggml-vocab-{name}.gguf.out").read_text(encoding="utf-8").split("\n")
    # Both files end with a separator: the last entry is empty on each side.
    if texts and texts[-1] == "" and lines and lines[-1] == "":
        texts, lines = texts[:-1], lines[:-1]
    if len(texts) != len(lines):
        raise RuntimeError(f"{name}: {len(texts)} test strings but {len(lines)} id lines")
    return [(t, [int(i) for i in line.split()]) for t, line in zip(texts, lines, strict=True)]


def tokenizer_json(name: str) -> Path:
    """``tokenizer.json`` exported by ``transformers`` from ``ggml-vocab-NAME.gguf``."""
    out = vocab_dir() / "hf" / name
    if not (out / "tokenizer.json").exists():
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(vocab_dir(), gguf_file=f"ggml-vocab-{name}.gguf")
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{name}-") as tmp:
            tok.save_pretrained(tmp)
            try:
                Path(tmp).rename(out)
            except OSError:
                if not (out / "tokenizer.json").exists():
                    raise
            else:
                Path(tmp).mkdir()  # recreated so that TemporaryDirectory's cleanup finds it
    return out / "tokenizer.json"
