"""The texts and the tokkit-trained tokenizers of ``encode_bench.py``.

Every text comes as a pair: ``A``, encoded by the first (cold) call of a fresh process, and ``B``,
a different text of the same kind that the same process encodes next (the warm call; some
encoders keep caches across calls). Texts are cut at line ends and built once per run into a
temporary directory; :func:`build_texts` returns what each one is made of (sources, byte ranges,
sha256), which the report prints.

- ``mixed``: the issue's case, technical English then Python source: the lines of
  ``en-100mb.txt`` from byte 20,000,000 (the first line starting there or after) followed by the
  Python standard library's ``.py`` files (the running interpreter's, in sorted path order).
- ``prose``: the prose sources of ``en-100mb.txt`` (kjv, web, shakespeare, milton), rebuilt with
  ``corpora/build_bench.py``'s own loaders, held-out split and block interleaving from its
  download cache (``corpora/build/cache``), then cut.
- ``code``: the standard library's ``.py`` files alone (the same stream as ``mixed``'s second half).
- ``turkish``: ``corpora/build/tr-train.txt`` then ``corpora/tr.txt``, cut in two.

:func:`trained_tokenizers` trains tokkit's own 32k byte-level BPE and 32k SuperBPE (transition
point 0.8) with the ``tokkit train`` CLI on the first ~20 MB of ``en-100mb.txt`` plus
``corpora/code.txt`` and caches them under ``bench/out/encode-tokenizers/`` keyed by the sha256 of
the training text, the arguments and tokkit's version.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000
MIXED_EN_OFFSET = 20_000_000
TRAIN_BYTES = 20_000_000
PROSE_SOURCES = ("kjv", "web", "shakespeare", "milton")

# Bytes of each text's A and B, full run and --quick (a tenth). mixed's sizes are per half.
SIZES = {
    "mixed": (5 * MB, 1 * MB),
    "prose": (5 * MB, 1 * MB),
    "code": (5 * MB, 1 * MB),
    "turkish": (2 * MB, 1 * MB),  # B is the rest of the Turkish text: ~0.45 MB
}
TEXTS = tuple(SIZES)


def _line_start(data: bytes | mmap.mmap, pos: int) -> int:
    """``pos`` if a line starts there, else the start of the next line."""
    if pos == 0 or data[pos - 1 : pos] == b"\n":
        return pos
    nl = data.find(b"\n", pos)
    return len(data) if nl < 0 else nl + 1


def _cut(data: bytes | mmap.mmap, start: int, size: int) -> tuple[int, int]:
    """The byte range of whole lines from ``start`` (a line start) holding at most ``size``."""
    end = min(len(data), start + size)
    if end < len(data):
        nl = data.rfind(b"\n", start, end)
        end = start if nl < 0 else nl + 1
    return start, end


def stdlib_py() -> tuple[bytes, dict[str, Any]]:
    """The running interpreter's standard library ``.py`` files, concatenated in path order.

    Files that are not UTF-8 (a few test fixtures) and installed packages (``site-packages``,
    ``dist-packages``) are left out; 31 MB for CPython 3.11, more than any text needs.
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(
        p.relative_to(root)
        for p in root.rglob("*.py")
        if p.is_file() and not {"site-packages", "dist-packages"} & set(p.parts)
    )
    parts, skipped = [], 0
    for rel in paths:
        raw = (root / rel).read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            skipped += 1
            continue
        parts.append(raw if raw.endswith(b"\n") or not raw else raw + b"\n")
    meta = {"stdlib": str(root), "python": sys.version.split()[0], "files": len(parts)}
    meta["non_utf8_files_skipped"] = skipped
    return b"".join(parts), meta


def prose_stream(corpus_dir: Path, tmp: Path) -> bytes:
    """en-100mb's prose sources, interleaved as ``build_bench.py`` interleaves them (~12.7 MB)."""
    sys.path.insert(0, str(ROOT / "corpora"))
    import build_bench as bb

    cache = corpus_dir / "cache"
    parts = []
    seen: set[bytes] = set()
    for src in bb.SOURCES:
        if src.name not in PROSE_SOURCES:
            continue
        train = []
        for doc_id, text in src.load(cache):
            # The build's own rules: drop exact duplicates, keep the held-out documents out.
            digest = hashlib.sha256(text).digest()
            if digest in seen:
                continue
            seen.add(digest)
            if src.heldout and bb._unit(src.name, "heldout", doc_id) < src.heldout:
                continue
            train.append((doc_id, text))
        parts.append((src, bb._select(src, train, "en-100mb")))
    out = tmp / "prose-stream.txt"
    bb.write_target(out, 100 * MB, parts)
    return out.read_bytes()


def build_texts(
    corpus_dir: Path, tmp: Path, kinds: list[str], scale: float
) -> dict[str, dict[str, Any]]:
    """Write ``<kind>.A.txt`` and ``<kind>.B.txt`` into ``tmp``; return their descriptions."""
    out: dict[str, dict[str, Any]] = {}
    py: bytes | None = None
    py_meta: dict[str, Any] = {}
    en_path = corpus_dir / "en-100mb.txt"

    def need_py() -> bytes:
        nonlocal py, py_meta
        if py is None:
            py, py_meta = stdlib_py()
        return py

    for kind in kinds:
        size_a, size_b = (max(1, int(s * scale)) for s in SIZES[kind])
        # (source, start, end, bytes) per piece; offsets are the source's own
        pieces: dict[str, list[tuple[str, int, int, bytes]]] = {"A": [], "B": []}
        extra: dict[str, Any] = {}
        if kind == "mixed":
            with open(en_path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                ea = _cut(m, _line_start(m, MIXED_EN_OFFSET), size_a)
                eb = _cut(m, ea[1], size_b)
                pieces["A"].append(("en-100mb.txt", *ea, m[ea[0] : ea[1]]))
                pieces["B"].append(("en-100mb.txt", *eb, m[eb[0] : eb[1]]))
        if kind in ("mixed", "code"):
            source, data = "stdlib .py", need_py()
            extra["stdlib"] = py_meta
        elif kind == "prose":
            source, data = "prose stream", prose_stream(corpus_dir, tmp)
            extra["prose_sources"] = list(PROSE_SOURCES)
        elif kind == "turkish":
            tr = (corpus_dir / "tr-train.txt").read_bytes()
            tr += b"" if tr.endswith(b"\n") else b"\n"
            source, data = "tr-train.txt + tr.txt", tr + (ROOT / "corpora" / "tr.txt").read_bytes()
            extra["tr_train_bytes"] = len(tr)
        else:
            raise ValueError(kind)
        a = _cut(data, 0, size_a)
        b = _cut(data, a[1], size_b)
        pieces["A"].append((source, *a, data[a[0] : a[1]]))
        pieces["B"].append((source, *b, data[b[0] : b[1]]))
        desc: dict[str, Any] = {"kind": kind, **extra}
        for which, parts in pieces.items():
            blob = b"".join(part for *_, part in parts)
            path = tmp / f"{kind}.{which}.txt"
            path.write_bytes(blob)
            desc[which] = {
                "path": str(path),
                "bytes": len(blob),
                "lines": blob.count(b"\n"),
                "sha256": hashlib.sha256(blob).hexdigest(),
                "pieces": [{"source": n, "start": s, "end": e} for n, s, e, _ in parts],
            }
        out[kind] = desc
    return out


def describe_text(desc: dict[str, Any]) -> str:
    """One line for the report: what the text's A (cold) and B (warm) are."""
    kind, a, b = desc["kind"], desc["A"], desc["B"]
    size = f"A {a['bytes'] / MB:.2f} MB (cold), B {b['bytes'] / MB:.2f} MB (warm)"
    if kind == "mixed":
        (ea, pa), (eb, pb) = a["pieces"], b["pieces"]
        return (
            f"`mixed`: {size}; A = en-100mb.txt bytes {ea['start']:,}-{ea['end']:,} then the "
            f"Python {desc['stdlib']['python']} stdlib's .py files (sorted paths) bytes "
            f"{pa['start']:,}-{pa['end']:,}; B = en-100mb.txt {eb['start']:,}-{eb['end']:,} + "
            f"stdlib {pb['start']:,}-{pb['end']:,}"
        )
    p = a["pieces"][0], b["pieces"][0]
    ranges = f"A = bytes {p[0]['start']:,}-{p[0]['end']:,}, B = {p[1]['start']:,}-{p[1]['end']:,}"
    if kind == "code":
        return (
            f"`code`: {size}; the Python {desc['stdlib']['python']} stdlib's .py files "
            f"(sorted paths, {desc['stdlib']['non_utf8_files_skipped']} non-UTF-8 skipped), "
            f"{ranges}"
        )
    if kind == "prose":
        return (
            f"`prose`: {size}; en-100mb.txt's prose sources ({', '.join(PROSE_SOURCES)}) rebuilt "
            f"and interleaved by corpora/build_bench.py's loaders, {ranges}"
        )
    return f"`turkish`: {size}; corpora/build/tr-train.txt then corpora/tr.txt, {ranges}"


# name -> extra `tokkit train` arguments
TRAINED = {
    "tokkit-bpe32k": ["--vocab-size", "32000"],
    "tokkit-superbpe32k": [
        "--algo",
        "superbpe",
        "--transition-point",
        "0.8",
        "--vocab-size",
        "32000",
    ],
}


def trained_tokenizers(
    names: list[str], corpus_dir: Path, cache_dir: Path, env: dict[str, str]
) -> dict[str, Path]:
    """The ``tokenizer.json`` of each tokkit-trained tokenizer, trained on first use."""
    if not names:
        return {}
    import tokkit

    with open(corpus_dir / "en-100mb.txt", "rb") as f:
        en = f.read(TRAIN_BYTES)
    en = en[: en.rfind(b"\n") + 1]
    text = en + (ROOT / "corpora" / "code.txt").read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    out: dict[str, Path] = {}
    for name in names:
        args = TRAINED[name]
        key_src = json.dumps([digest, args, tokkit.__version__]).encode()
        key = hashlib.sha256(key_src).hexdigest()[:16]
        target = cache_dir / f"{name}-{key}"
        if not (target / "tokenizer.json").exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            corpus = cache_dir / f".train-{key}.txt"
            corpus.write_bytes(text)
            work = target.with_name(target.name + ".tmp")
            shutil.rmtree(work, ignore_errors=True)
            cmd = [sys.executable, "-m", "tokkit", "train", str(corpus), "--out", str(work)]
            print(f"training {name}: {' '.join(cmd[3:] + args)}", flush=True)
            subprocess.run([*cmd, *args, "--progress", "none"], env=env, check=True)
            corpus.unlink()
            work.replace(target)
        out[name] = target / "tokenizer.json"
    return out
