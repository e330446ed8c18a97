"""``tokkit push``: upload a model or tokenizer directory to the Hugging Face Hub with a card."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

EPILOG = """\
what is uploaded:
  every file of DIR except hidden ones (.git, .cache, ...), in one commit; DIR is not modified.
  Pickle files (*.bin, *.pt, *.pth, *.pkl, *.pickle, *.ckpt) are refused: tokkit ships
  safetensors only.

the model card (README.md):
  generated from tokkit.json and config.json when DIR has no README.md: license carried from
  the base model, base_model, tags, what the model is and how it was made, the bits-per-byte
  table, how to load it. A README.md in DIR is uploaded as it is, unless --regenerate-card;
  --no-card adds none. --dry-run prints it.

token (first found): --token, HF_TOKEN, the token saved by `hf auth login`. --dry-run needs none.
endpoint: --endpoint, else HF_ENDPOINT, else https://huggingface.co.

The repo URL goes to stdout; progress and warnings go to stderr.

examples:
  tokkit push out/smollm2-tr --repo-id me/smollm2-tr --dry-run
  tokkit push out/smollm2-tr --repo-id me/smollm2-tr --private
  tokkit push my-bpe --repo-id me/bpe-32k --license mit --commit-message "32k BPE on my corpus"
"""


def add_parser(sub: Any) -> None:
    """Register ``tokkit push``."""
    p = sub.add_parser(
        "push",
        help="upload a model or tokenizer to the Hugging Face Hub",
        description=(
            "Upload a model or tokenizer directory (tokkit's, or any Hugging Face one) to a\n"
            "Hub model repo in one commit, with a generated model card."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", metavar="DIR", help="the model or tokenizer directory")
    p.add_argument("--repo-id", required=True, metavar="OWNER/NAME", help="the Hub model repo")
    p.add_argument(
        "--private",
        action="store_true",
        help="create the repo private (an existing one keeps its visibility)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the files and the card; send nothing",
    )
    p.add_argument("--token", metavar="T", help="a Hub token with write access")
    p.add_argument(
        "--endpoint", metavar="URL", help="the Hub URL (default: HF_ENDPOINT, else huggingface.co)"
    )
    p.add_argument(
        "--revision",
        metavar="BRANCH",
        help="commit to this branch, created from main if needed (default: main)",
    )
    p.add_argument("--commit-message", metavar="M", help="the commit summary")
    p.add_argument(
        "--license",
        metavar="ID",
        help="Hub license id for the card (default: the base model's)",
    )
    cards = p.add_mutually_exclusive_group()
    cards.add_argument("--no-card", action="store_true", help="do not add a model card")
    cards.add_argument(
        "--regenerate-card",
        action="store_true",
        help="replace DIR's README.md with a generated card",
    )
    p.set_defaults(run=run)


def _log_to_stderr() -> None:
    """Show tokkit.hub's progress lines and warnings on stderr, as plain text."""
    log = logging.getLogger("tokkit.hub")
    if not any(getattr(h, "_tokkit_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._tokkit_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def run(args: argparse.Namespace) -> int:
    """Run ``tokkit push``."""
    from tokkit._progress import default_mode
    from tokkit.hub import human_size, push

    _log_to_stderr()
    if default_mode() == "none" and not args.dry_run:
        # huggingface_hub draws tqdm bars on stderr; follow tokkit's rule (a terminal, and
        # TOKKIT_NO_PROGRESS unset) so logs and CI output stay clean.
        try:
            from huggingface_hub.utils.tqdm import disable_progress_bars

            disable_progress_bars()
        except ImportError:
            pass  # push() reports the missing package
    result = push(
        args.dir,
        args.repo_id,
        private=args.private,
        dry_run=args.dry_run,
        token=args.token,
        endpoint=args.endpoint,
        revision=args.revision,
        commit_message=args.commit_message,
        card=not args.no_card,
        regenerate_card=args.regenerate_card,
        license=args.license,
    )
    if not args.dry_run:
        print(result.url)
        return 0
    visibility = "private" if args.private else "public, or the organisation's default"
    width = max(len(f.path_in_repo) for f in result.files)
    lines = [
        f"dry run: would push {len(result.files)} files ({human_size(result.total_bytes)}) to "
        f"{result.url} (branch {result.revision}; a new repo would be {visibility})",
        "",
    ]
    for f in result.files:
        note = f"  ({f.note})" if f.note else ""
        lines.append(f"  {f.path_in_repo.ljust(width)}  {human_size(f.size):>9}{note}")
    lines.append("")
    if result.card is not None:
        lines += ["README.md (generated):", "", result.card.rstrip("\n")]
    elif args.no_card:
        lines.append("no model card (--no-card)")
    else:
        lines.append("README.md: DIR's own, uploaded as it is (--regenerate-card replaces it)")
    print("\n".join(lines))
    token = result.token_source or "none found: a real push needs --token, HF_TOKEN or a login"
    print(f"token: {token}", file=sys.stderr)
    return 0
