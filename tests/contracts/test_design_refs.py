"""Every `§` reference in the code names a design note in ``docs/design/`` and a section of it
that exists (a numbered heading, or a numbered item under one)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "design"
REF = re.compile(r"design/([a-z_]+)\.md")
SECTION = re.compile(r"§(\d+(?:\.\d+)?)")


def sections(note: Path) -> set[str]:
    """The section numbers of a note: ``§N`` and ``§N.M`` headings, and ``N.M`` for item M of a
    numbered list under heading ``§N``."""
    found: set[str] = set()
    current = None
    for line in note.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"#+ §(\d+(?:\.\d+)?)", line)
        if heading:
            found.add(heading.group(1))
            current = heading.group(1)
            continue
        item = re.match(r"(\d+)\. ", line)
        if item and current is not None:
            found.add(f"{current}.{item.group(1)}")
    return found


def test_every_section_reference_points_at_an_existing_section() -> None:
    notes = {p.stem: sections(p) for p in DESIGN.glob("*.md")}
    checked, bad = 0, []
    for top in ("rust", "python", "tests", "bench"):
        for f in sorted((ROOT / top).rglob("*")):
            if f.suffix not in (".rs", ".py") or "target" in f.parts:
                continue
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                refs = SECTION.findall(line)
                if not refs or f.name == Path(__file__).name:
                    continue
                where = f"{f.relative_to(ROOT)}:{n}"
                note = REF.search(line)
                if note is None or note.group(1) not in notes:
                    bad.append(f"{where}: no design note named on the line: {line.strip()}")
                    continue
                for ref in refs:
                    checked += 1
                    if ref not in notes[note.group(1)]:
                        bad.append(f"{where}: design/{note.group(1)}.md has no §{ref}")
    assert not bad, "\n".join(bad)
    assert checked > 40
