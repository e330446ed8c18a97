"""The ``tokkit`` command line. Data goes to stdout, logs and progress to stderr; exit codes are
0 on success, 1 for a tokkit error (with a hint on stderr), 2 for a usage error and 130 after
Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TextIO

from tokkit import __version__
from tokkit.cli import distill as distill_cmd
from tokkit.cli import eval as eval_cmd
from tokkit.cli import export_cmd, inspect_cmd
from tokkit.cli import generate as generate_cmd
from tokkit.cli import hypernet as hypernet_cmd
from tokkit.cli import models as models_cmd
from tokkit.cli import push as push_cmd
from tokkit.cli import score as score_cmd
from tokkit.cli import train as train_cmd
from tokkit.cli import transplant as transplant_cmd
from tokkit.cli.common import apply_revision
from tokkit.exceptions import TokkitError, TokkitWarning

#: How the CLI spells the API parameters that error hints name (``{force=True}`` → ``--force``).
FLAGS = {
    "aggregation": "--aggregation",
    "allow_missing_specials": "--allow-missing-specials",
    "card": "--no-card",
    "checkpoint_every": "--checkpoint-every",
    "data": "--data",
    "device": "--device",
    "donor": "--donor",
    "eval_bytes": "--eval-bytes",
    "eval_data": "--eval-data",
    "extend_bytes": "--extend-bytes",
    "fast": "--fast",
    "force": "--force",
    "fsdp": "--fsdp",
    "hn_heads": "--hn-heads",
    "hn_hidden": "--hn-hidden",
    "hypernet": "--hypernet",
    "lang": "--lang",
    "license": "--license",
    "loss_weights": "--loss-weights",
    "losses": "--losses",
    "lr": "--lr",
    "max_roots": "--max-roots",
    "method": "--method",
    "mix_mean": "--mix-mean",
    "mode": "--mode",
    "model": "--model",
    "out": "--out",
    "pattern": "--pattern",
    "plot": "--plot",
    "real_rate": "--real-rate",
    "ray": "--ray",
    "real_tokenizers": "--real-tokenizers",
    "regenerate_card": "--regenerate-card",
    "resume": "--resume",
    "segmentation": "--segmentation",
    "shard_mb": "--shard-mb",
    "special_tokens": "--special-tokens",
    "strict": "--strict",
    "text": "--text",
    "text_field": "--text-field",
    "token": "--token",
    "tokenizer": "--tokenizer",
    "transition_point": "--transition-point",
    "untie_output": "--untie-output",
    "vocab_size": "--vocab-size",
    "weights": "--weights",
    "whole_words": "--whole-words",
}

DESCRIPTION = """\
tokkit: train tokenizers in Rust, write standard Hugging Face tokenizer.json.

Commands:
  train       train a tokenizer on text files and write a tokenizer directory
  eval        compare tokenizers on a text: bytes per token, fertility, Rényi efficiency, speed
  export      write a BPE tokenizer as tiktoken or SentencePiece files, exactly or not at all
  models      pretrained models that work offline: list, prepare, print a model's directory
  transplant  give a pretrained model a new tokenizer (OMP, TokenAdapt, mean, FOCUS, random,
              ZeTT hypernetwork)
  distill     heal a transplanted model: distil a teacher across tokenizers (ALM)
  hypernet    train a ZeTT hypernetwork once per base model, then transplant zero-shot onto
              any tokenizer (--method zett)
  score       bits per byte of a model on texts (tokenizer-independent)
  eval-lm     compare models by bits per byte on several texts: a table and a PNG
  generate    continue a prompt byte by byte: prompts may end mid-token; ensembles across tokenizers
  push        upload a model or tokenizer directory to the Hugging Face Hub with a model card
"""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to render the golden ``--help`` snapshots)."""
    parser = argparse.ArgumentParser(
        prog="tokkit",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tokkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    train_cmd.add_parser(sub)
    eval_cmd.add_parser(sub)
    inspect_cmd.add_parser(sub)
    export_cmd.add_parser(sub)
    models_cmd.add_parser(sub)
    transplant_cmd.add_parser(sub)
    distill_cmd.add_parser(sub)
    hypernet_cmd.add_parser(sub)
    score_cmd.add_parser(sub)
    generate_cmd.add_parser(sub)
    push_cmd.add_parser(sub)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """tokkit's own warnings as one ``warning:`` line on stderr (others as Python shows them)."""
    if issubclass(category, TokkitWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        apply_revision(args)
        with warnings.catch_warnings():
            warnings.simplefilter("default", TokkitWarning)  # shown, never raised
            warnings.showwarning = _show_warning
            code = int(args.run(args))
            sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
            return code
    except TokkitError as e:
        print(f"error: {e.message}", file=sys.stderr)
        hint = e.render_hint(FLAGS)
        if hint:
            print(f"hint: {hint}", file=sys.stderr)
        return 1
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`| head`): say so once; stdout is gone, so point it at devnull
        # so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("error: the output pipe was closed before everything was written", file=sys.stderr)
        return 1
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        print(f"error: {e.strerror or e}{where}", file=sys.stderr)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            print("hint: free some space, or write somewhere else", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
