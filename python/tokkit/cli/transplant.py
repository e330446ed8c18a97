"""``tokkit transplant``: give a pretrained causal LM a new tokenizer and save it in HF format."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import Any

from tokkit._progress import default_mode
from tokkit.cli.argtypes import (
    finite_float,
    float_between,
    non_negative_int,
    positive_float,
    positive_int,
)
from tokkit.cli.common import add_progress, add_revision

EPILOG = """\
methods:
  omp         sparse code of each new token's donor embedding over shared anchor tokens,
              applied to the base model's rows (needs --donor, a model that already speaks the
              new tokenizer; --tokenizer may be that model's directory, then it is the donor)
  tokenadapt  local estimate from the token's pieces under the old tokenizer + global estimate
              from its nearest old tokens in an auxiliary embedding space (all-MiniLM-L6-v2,
              prepared offline by `tokkit models`); needs no donor, so it suits new tokenizers
  mean        mean of the base rows of the token's pieces under the old tokenizer
  focus       sparsemax-weighted convex combination of shared tokens by auxiliary similarity
  random      per-dimension normal with the base rows' mean and spread (seeded)
  zett        embeddings predicted by a ZeTT hypernetwork trained for the base model
              (--hypernet DIR, from `tokkit hypernet train`) from each token's pieces

Shared tokens (same bytes, or special tokens with the same name or role) are copied bit-exact;
only the other rows are estimated. A tokenizer that extends the model's (its tokens at the same
ids, new ones appended: `tokkit train --extend`) copies every old row by id, keeps at least the
model's rows and takes the model's roles and chat template where it lacks them. Zero-shot
transplants lose some quality, mostly where the new tokenizer segments text differently;
distillation or continued training heals that.

output (--out DIR, written atomically; --force replaces an existing DIR):
  config.json, model.safetensors, generation_config.json   loadable by AutoModelForCausalLM
  tokenizer.json, tokenizer_config.json                    the new tokenizer, unchanged
  tokkit.json   method, parameters, shared/new counts, masked ids, warnings, provenance

examples:
  tokkit transplant --model gemma3-270m --tokenizer smollm2-135m --method omp --out g-on-smol
  tokkit transplant --model smollm2-135m --tokenizer gemma3-270m --method omp --omp-refresh 16 \\
      --mix-mean 0.5 --out smol-on-gemma
  tokkit transplant --model smollm2-135m --tokenizer out/superbpe-32k --method tokenadapt \\
      --out smol-superbpe
  tokkit transplant --model M --tokenizer T/tokenizer.json --method mean --out M-mean --force
  tokkit transplant --model smollm2-135m --tokenizer gemma3-270m --method zett \\
      --hypernet smol-hypernet --out smol-on-gemma-zett
"""


def add_parser(sub: Any) -> None:
    """Register ``tokkit transplant``."""
    p = sub.add_parser(
        "transplant",
        help="give a pretrained model a new tokenizer",
        description=(
            "Build new input embeddings (and an untied LM head) for a pretrained causal LM so\n"
            "that it speaks a new tokenizer; save the result as a Hugging Face model directory."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="DIR",
        help="base model: a directory, a prepared name or a Hub id (org/name)",
    )
    p.add_argument(
        "--tokenizer",
        required=True,
        metavar="PATH",
        help="new tokenizer: a directory, a tokenizer.json, a model directory or a Hub id",
    )
    p.add_argument(
        "--method",
        default="omp",
        choices=["omp", "tokenadapt", "mean", "focus", "random", "zett"],
        help="initialisation method (default: omp)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output model directory")
    p.add_argument("--force", action="store_true", help="replace an existing --out")
    p.add_argument(
        "--donor",
        metavar="DIR",
        help="OMP donor model speaking the new tokenizer (a directory, prepared name or Hub id)",
    )
    p.add_argument(
        "--hypernet",
        metavar="DIR",
        help="zett: the hypernetwork directory (`tokkit hypernet train` for this base model)",
    )
    p.add_argument("--k", type=positive_int, default=64, help="OMP sparsity (default: 64)")
    p.add_argument(
        "--omp-select",
        choices=["raw", "cosine"],
        default="raw",
        help="OMP atom selection: raw inner products as mergekit (default) or cosine",
    )
    p.add_argument(
        "--omp-search",
        choices=["screened", "full"],
        default="screened",
        help="screened: bf16 screen + float32 check, exact (default); full: float32 GEMM per step",
    )
    p.add_argument(
        "--omp-refresh",
        type=positive_int,
        default=1,
        metavar="T",
        help=(
            "screen all anchors at most every T steps (at steps 0-4, then gaps of half the step "
            "count, up to T), choosing from a 128-atom shortlist in between: faster, nearly exact "
            "at T=16 (default 1: exact)"
        ),
    )
    p.add_argument(
        "--mergekit-compat",
        action="store_true",
        help="match tokens exactly as mergekit-tokensurgeon does (for comparisons)",
    )
    p.add_argument(
        "--temperature", type=positive_float, default=0.3, help="TokenAdapt τ (default: 0.3)"
    )
    p.add_argument(
        "--top-k", type=positive_int, default=3, help="TokenAdapt neighbours (default: 3)"
    )
    p.add_argument(
        "--global-weight",
        type=float_between(0, 1),
        default=0.3,
        help="TokenAdapt global weight (default: 0.3)",
    )
    p.add_argument(
        "--threshold",
        type=finite_float,
        default=0.0,
        help="TokenAdapt similarity threshold (default: 0)",
    )
    p.add_argument(
        "--encoder",
        default="minilm-l6",
        metavar="DIR",
        help="auxiliary encoder for tokenadapt/focus (default: minilm-l6)",
    )
    p.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of random rows (default: 0)"
    )
    p.add_argument(
        "--pad-to-multiple-of", type=positive_int, metavar="M", help="pad embedding rows"
    )
    p.add_argument(
        "--copy-chat-template",
        action="store_true",
        help="carry the model's chat template over when the new tokenizer has none",
    )
    p.add_argument(
        "--allow-missing-specials",
        action="store_true",
        help="allow a new tokenizer without an end-of-sequence token",
    )
    p.add_argument(
        "--untie-output",
        choices=["mean"],
        help=(
            "tied models only: give the output layer its own rows, new ones by the subword "
            "mean, the method's rows staying the inputs (doubles the embedding parameters; "
            "helps OMP onto a much larger vocabulary, see docs/benchmarks.md)"
        ),
    )
    p.add_argument(
        "--mix-mean",
        type=float_between(0, 1),
        default=0.0,
        metavar="W",
        help=(
            "blend every new row with the subword mean: (1-W)*method + W*mean (default 0: the "
            "method as published; 0.5 makes OMP beat both alone onto a much larger "
            "vocabulary, see docs/benchmarks.md)"
        ),
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1... (default: cpu)")
    add_progress(p)
    add_revision(p)
    p.set_defaults(run=run)


def build_method(args: argparse.Namespace) -> Any:
    """The ``--method`` with its options from the flags."""
    from tokkit.transplant import METHODS

    options: dict[str, dict[str, Any]] = {
        "omp": {
            "k": args.k,
            "select": args.omp_select,
            "search": args.omp_search,
            "refresh": args.omp_refresh,
        },
        "tokenadapt": {
            "temperature": args.temperature,
            "top_k": args.top_k,
            "global_weight": args.global_weight,
            "threshold": args.threshold,
            "encoder": args.encoder,
        },
        "focus": {"encoder": args.encoder},
        "zett": {"hypernet": args.hypernet},
    }
    return METHODS[args.method](**options.get(args.method, {}))


def run(args: argparse.Namespace) -> int:
    """Run ``tokkit transplant``; prints a JSON summary on stdout."""
    from tokkit.transplant import TransplantOptions, transplant

    options = TransplantOptions(
        seed=args.seed,
        pad_to_multiple_of=args.pad_to_multiple_of,
        copy_chat_template=args.copy_chat_template,
        allow_missing_specials=args.allow_missing_specials,
        untie_output=args.untie_output,
        mix_mean=args.mix_mean,
        mergekit_compat=args.mergekit_compat,
        device=args.device,
        progress=args.progress or default_mode(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reported below, once, on stderr
        result = transplant(
            args.model,
            args.tokenizer,
            build_method(args),
            donor=args.donor,
            options=options,
            out=args.out,
            force=args.force,
        )
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    summary = {
        "out": str(result.out),
        "method": args.method,
        "rows": result.rows,
        "shared_tokens": result.shared,
        "new_tokens": result.new,
        "junk_ids": len(result.junk),
        "extension": result.report.extension is not None,
        "seconds": result.report.seconds,
    }
    print(json.dumps(summary))
    return 0
