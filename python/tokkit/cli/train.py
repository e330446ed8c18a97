"""``tokkit train``: train a tokenizer and write it as a Hugging Face tokenizer directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import tomllib

from tokkit.cli.argtypes import non_negative_int, positive_int
from tokkit.cli.common import add_progress
from tokkit.exceptions import ConfigError
from tokkit.train import HFConventions, ProgressMode
from tokkit.trainers import TRAINERS, Trainer

EPILOG = """\
pre-tokenizers:
  gpt2     GPT-2's regex (HF ByteLevel(use_regex=True)); the default
  llama3   Llama-3's regex, as a Split before a non-splitting ByteLevel
  o200k    GPT-4o's regex
  none     no split: each line (or JSON record) is one pre-token
  REGEX    any other value is used as a custom regex (look-ahead and back-references work)

Every tokenizer is byte-level: any UTF-8 text can be encoded, and the 256 bytes are tokens.
Each line of a text file is one sequence (line ending kept); pre-tokens never cross lines.
Lines that are not valid UTF-8 are skipped and counted (see tokkit.json), or are an
error with --strict.

tables: a .parquet or .arrow file, a directory of them, or a directory written by datasets'
save_to_disk is read as a table, streamed: each row's --text-field (default: text) is one
sequence (a null is an empty one); tables are read after the text files.

output (DIR): tokenizer.json, tokenizer_config.json, special_tokens_map.json (load with
tokenizers.Tokenizer.from_file or transformers.AutoTokenizer) and tokkit.json (parameters,
corpus sha256, timings). DIR is written atomically; an existing DIR needs --force.

examples:
  tokkit train --vocab-size 32000 --out my-bpe corpus.txt
  tokkit train --vocab-size 50000 --special-tokens '<|endoftext|>' --out gpt2ish 'data/*.txt.gz'
  tokkit train --recipe llama3-32k --out my-bpe docs.jsonl --text-field body
  tokkit train --vocab-size 32000 --out my-bpe data/*.parquet --text-field content
  tokkit train --algo superbpe --vocab-size 32000 --transition-point 24000 --out sbpe corpus.txt
  tokkit train --recipe kl3m-char-4k --out char4k ocr.txt
  tokkit train --extend smollm2-135m --vocab-size 57344 --out smollm2-tr turkish.txt
  tokkit train --algo superbpe --extend smollm2-135m --vocab-size 65536 --out smollm2-super en.txt
  tokkit train --algo hybrid --lang tr --vocab-size 32768 --out tr-hybrid corpora/tr.txt
  tokkit train --algo superbpe --vocab-size 32000 --transition-point 0.75 --ray auto --out sbpe big/

extending (--extend BASE): BASE is a tokenizer directory or tokenizer.json, a model directory
or a prepared model name (tokkit models). Byte-level BPE bases (GPT-2, Llama-3, Qwen2, SmolLM2,
tokkit's own) and SentencePiece-style BPE with byte fallback (Gemma, Llama-2) are supported.
Every token, id, merge and added token of BASE is kept; new merges continue from BASE's merge
state on CORPUS (cut by BASE's own normalizer and pre-tokenizer) and new tokens take the ids
after BASE's. --vocab-size counts BASE's ids too. With --algo superbpe, BASE is stage 1 and
superword merges are learned on top (no --transition-point). DIR also gets BASE's
tokenizer_config.json, special_tokens_map.json and chat template.

morphological hybrid (--algo hybrid): a language's root groups and suffix classes (allomorphs
such as lar/ler share one id), <uppercase>/<allcaps> case markers, then byte-level BPE pieces
trained on what the dictionaries leave uncovered; decode(encode(x)) == x for every string.
--lang names a shipped language or a directory holding language.json and roots.tsv (see
docs/design/hybrid.md). --vocab-size (default 32768) counts the 2 markers, the special tokens
(default <pad> <bos> <eos>), the roots, the suffixes and at least the 256 bytes: when the
dictionaries leave no room, lower --max-roots. DIR gets hybrid.json instead of tokenizer.json;
tokkit.load(DIR) runs it, and tokkit.hybrid.HybridTokenizer.from_pretrained(DIR) is its
transformers tokenizer.
"""

#: Trainer parameters settable by flag: argparse destination -> the trainer's field.
FLAGS = {
    "vocab_size": "vocab_size",
    "pretokenizer": "pretokenizer",
    "min_frequency": "min_frequency",
    "special_tokens": "special_tokens",
    "max_token_length": "max_token_length",
    "max_token_chars": "max_token_chars",
    "full_alphabet": "full_alphabet",
    "transition_point": "transition_point",
    "superbpe_config": "config",
    "max_words": "max_words",
    "pad_tokens": "pad_tokens",
    "seed": "seed",
    "chunk_distribution": "chunk_distribution",
    "extend": "extend",
    "lang": "lang",
    "segmentation": "segmentation",
    "max_roots": "max_roots",
    "whole_words": "whole_words",
}


def add_parser(sub: Any) -> None:
    """Register ``tokkit train``."""
    p = sub.add_parser(
        "train",
        help="train a tokenizer",
        description="Train a byte-level tokenizer on text files or tables and write a tokenizer "
        "directory.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "corpus",
        nargs="*",
        metavar="CORPUS",
        help="text files, .gz files, .jsonl files, directories (recursive) or quoted globs; "
        "Parquet or Arrow files and directories, datasets saved with save_to_disk (at least one)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--algo",
        choices=["bpe", "superbpe", "charbpe", "supertoken", "hybrid"],
        default=None,
        help="bpe (default), superbpe (subwords, then superwords across spaces), charbpe "
        "(character-level BPE: needs --max-token-chars), supertoken (random multi-word chunks) "
        "or hybrid (roots, suffixes and BPE pieces of a language: needs --lang)",
    )
    p.add_argument("--vocab-size", type=int, metavar="N", help="vocabulary size, all ids included")
    p.add_argument(
        "--pretokenizer",
        metavar="NAME|REGEX",
        help="gpt2 (default), llama3, o200k, none, or a custom regex",
    )
    p.add_argument("--min-frequency", type=int, metavar="N", help="never merge rarer pairs")
    p.add_argument(
        "--special-tokens",
        nargs="*",
        metavar="TOKEN",
        help="special tokens, given ids 0..k-1 (roles such as eos are inferred from spelling); "
        "the list takes every value up to the next option, so give the corpus before it or end "
        "the list with --",
    )
    cap = p.add_mutually_exclusive_group()
    cap.add_argument(
        "--max-token-length",
        type=int,
        metavar="N",
        help="HF's max_token_length, off-by-one included: longest token max(2, N-1) bytes",
    )
    cap.add_argument(
        "--max-token-chars",
        type=int,
        metavar="N",
        help="inclusive cap: no token longer than N byte-level symbols (bytes)",
    )
    p.add_argument(
        "--observed-alphabet",
        dest="full_alphabet",
        action="store_const",
        const=False,
        default=None,
        help="start from the bytes seen in the corpus instead of all 256",
    )
    p.add_argument(
        "--extend",
        metavar="BASE",
        help="extend this pretrained tokenizer (directory, tokenizer.json, model directory or "
        "prepared model name) instead of training from scratch; see below",
    )
    p.add_argument(
        "--text-field",
        metavar="FIELD",
        help="field with the text in JSON lines, Parquet and Arrow (default: text)",
    )
    p.add_argument(
        "--strict", action="store_true", help="fail on invalid UTF-8 instead of skipping"
    )
    p.add_argument(
        "--num-threads", type=int, metavar="N", help="worker threads (default: all cores)"
    )
    add_progress(p)
    cluster = p.add_argument_group(
        "distributed counting (docs/guides/distributed.md): the same tokenizer.json as without"
    )
    cluster.add_argument(
        "--ray",
        metavar="auto|ADDRESS",
        help="count shards of the corpus on a Ray cluster and merge them exactly here: auto "
        "(RAY_ADDRESS, the cluster running on this machine, else a new local one) or the head "
        "node's HOST:PORT; needs pip install 'tokkit[ray]'",
    )
    cluster.add_argument(
        "--shard-mb",
        type=positive_int,
        default=64,
        metavar="N",
        help="with --ray: shard size of text files in MiB (default 64; .gz files are one shard "
        "each, Parquet files one per row group)",
    )
    sup = p.add_argument_group("SuperBPE (--algo superbpe)")
    sup.add_argument(
        "--transition-point",
        type=float,
        metavar="T",
        help="stage-1 merges before superwords: a count (24000) or a fraction of V (0.75)",
    )
    sup.add_argument(
        "--superbpe-config",
        choices=["paper", "recommended"],
        help="pinned pre-tokenizers: paper (default; the 2025 paper's) or recommended",
    )
    sup.add_argument(
        "--max-words", type=int, metavar="N", help="most words in one token (default 4)"
    )
    char = p.add_argument_group("character-level BPE (--algo charbpe)")
    char.add_argument(
        "--pad-tokens",
        type=int,
        metavar="N",
        help="ids kept for whitespace-run padding tokens; the vocab ends at exactly V (KL3M: 13)",
    )
    chunk = p.add_argument_group("supertokens (--algo supertoken)")
    chunk.add_argument(
        "--seed", type=int, metavar="S", help="seed of the chunk sampling (default 0)"
    )
    chunk.add_argument(
        "--chunk-distribution",
        metavar="SPEC",
        help="chunk lengths in chars and weights summing to 1, e.g. 4-5:0.2,6-9:0.8",
    )
    from tokkit.hybrid import LANGS

    hybrid = p.add_argument_group("morphological hybrid (--algo hybrid)")
    hybrid.add_argument(
        "--lang",
        metavar="NAME|DIR",
        help="the language: a shipped one ("
        + (", ".join(LANGS) or "none installed")
        + "; default tr) or a directory holding language.json and roots.tsv",
    )
    hybrid.add_argument(
        "--segmentation",
        choices=["best_path", "pure_path", "longest_match"],
        help="best_path (default: fewest tokens), pure_path (fewest BPE pieces) or "
        "longest_match (the published greedy order)",
    )
    hybrid.add_argument(
        "--max-roots",
        type=positive_int,
        metavar="N",
        help="keep only the N most frequent root groups (room for pieces in a small vocabulary)",
    )
    hybrid.add_argument(
        "--whole-words",
        type=non_negative_int,
        metavar="N",
        help="make the N most frequent multi-token lower-case words single pieces, in place of "
        "the last N learned pieces (default 0): fewer tokens per word, but each such token is a "
        "whole inflected word, not a morpheme",
    )
    hf = p.add_argument_group("files transformers reads (tokenizer_config.json)")
    for role in ("bos", "eos", "pad", "unk"):
        hf.add_argument(
            f"--{role}",
            metavar="TOKEN",
            help=f"the {role} token: one of --special-tokens (default: guessed from spelling)",
        )
    hf.add_argument(
        "--chat-template",
        metavar="FILE",
        help="a Jinja chat template, written as chat_template.jinja",
    )
    hf.add_argument(
        "--model-max-length",
        type=positive_int,
        metavar="N",
        help="the longest input the model takes (tokenizer_config.json's model_max_length)",
    )
    from tokkit import recipes

    p.add_argument(
        "--recipe",
        metavar="NAME|FILE",
        help=f"a trainer to start from: a shipped recipe ({', '.join(recipes.names())}), a TOML "
        "recipe file, or the tokkit.json of an earlier output (repeats that run); flags override "
        "its values",
    )
    p.add_argument("--force", action="store_true", help="replace an existing output directory")
    p.set_defaults(run=run)


def load_recipe(path: str) -> dict[str, Any]:
    """A recipe as a trainer's JSON form: a TOML table (``algorithm`` and the trainer's
    parameters, plus an optional ``description``), or a ``tokkit.json`` (its ``trainer``)."""
    from tokkit import recipes

    try:
        raw = Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        shipped = recipes.text(path)
        if shipped is None:
            raise ConfigError(
                f"recipe {path} not found",
                hint="give a recipe file or one of the shipped recipes: "
                + ", ".join(recipes.names()),
            ) from None
        raw = shipped
    if path.endswith(".json"):
        try:
            data = json.loads(raw)
        except ValueError as e:
            raise ConfigError(f"recipe {path} is not valid JSON: {e}") from None
        if not isinstance(data, dict) or not isinstance(data.get("trainer"), dict):
            raise ConfigError(
                f"recipe {path} has no trainer: give a tokkit.json written by tokkit train "
                "(format_version 2 or later) or a TOML recipe"
            )
        return dict(data["trainer"])
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"recipe {path} is not valid TOML: {e}") from None
    data.pop("description", None)
    return data


def build_trainer(args: argparse.Namespace) -> Trainer:
    """The trainer: the recipe's, with the command line's values over it."""
    params = load_recipe(args.recipe) if args.recipe else {}
    algorithm = args.algo or params.get("algorithm") or "bpe"
    if params.get("algorithm", algorithm) != algorithm:
        params = {k: v for k, v in params.items() if k in TRAINERS[algorithm]._fields()}
    params["algorithm"] = algorithm
    for dest, name in FLAGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if name not in TRAINERS[algorithm]._fields():
            flag = "--" + dest.replace("_", "-")
            raise ConfigError(f"{flag} does not apply to --algo {algorithm}")
        params[name] = value
    if "vocab_size" not in params and algorithm != "hybrid":  # the hybrid has a default
        raise ConfigError("--vocab-size is required (or set vocab_size in a --recipe)")
    return Trainer.from_dict(params)


def default_progress() -> ProgressMode:
    """A bar on a terminal, log lines otherwise, nothing under ``TOKKIT_NO_PROGRESS``."""
    from tokkit._progress import default_mode

    return default_mode()


def build_conventions(args: argparse.Namespace) -> HFConventions:
    """Roles, chat template and model_max_length from the command line."""
    template = None
    if args.chat_template:
        try:
            template = Path(args.chat_template).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read the chat template {args.chat_template}: {e}") from e
    roles = {r: getattr(args, r) for r in ("bos", "eos", "pad", "unk") if getattr(args, r)}
    return HFConventions(
        roles=roles, chat_template=template, model_max_length=args.model_max_length
    )


def check_corpus_arguments(args: argparse.Namespace) -> None:
    """The corpus is there, and ``--special-tokens`` (which takes every value up to the next
    option) has not taken a corpus file as a token."""
    swallowed = [t for t in args.special_tokens or () if Path(t).exists()]
    if swallowed:
        raise ConfigError(
            f"--special-tokens took {', '.join(swallowed)} as special tokens, but "
            f"{'it is a file' if len(swallowed) == 1 else 'they are files'}",
            hint="give the corpus before --special-tokens, or end the token list with --",
        )
    if not args.corpus:
        raise ConfigError("no corpus given", hint="name at least one CORPUS file or directory")


def run(args: argparse.Namespace) -> int:
    """Run ``tokkit train``."""
    from tokkit.train import train

    check_corpus_arguments(args)
    trained = train(
        args.corpus,
        build_trainer(args),
        text_field=args.text_field,
        strict=args.strict,
        num_threads=args.num_threads,
        progress=args.progress or default_progress(),
        out=args.out,
        force=args.force,
        conventions=build_conventions(args),
        ray=args.ray,
        shard_mb=args.shard_mb,
    )
    if trained.algorithm == "hybrid":
        return report_hybrid(args, trained.report, trained.vocab_size, trained.wall_seconds)
    report = trained.report
    if "superbpe" in report:
        sb = report["superbpe"]
        print(
            f"superbpe: {sb['stage1_merges']} stage-1 merges, {sb['stage2_merges']} stage-2 merges "
            f"on {sb['stage2_distinct_spans']} distinct spans "
            f"({sb['rejected_pairs']} pairs rejected)",
            file=sys.stderr,
        )
    if report["skipped_invalid_utf8"]:
        print(
            f"warning: skipped {report['skipped_invalid_utf8']} lines that are not valid UTF-8 "
            "(use --strict to fail instead)",
            file=sys.stderr,
        )
    if "distributed" in report:
        d = report["distributed"]
        print(
            f"counted {d['shards']} shards on Ray ({d['nodes']} node(s), {d['cpus']} CPUs) in "
            f"{d['count_seconds']:.2f} s",
            file=sys.stderr,
        )
    if "extension" in report:
        ext = report["extension"]
        print(
            f"extended {args.extend} ({ext['base_vocab_size']} ids, {ext['base_merges']} merges) "
            f"with {ext['new_tokens']} tokens and {ext['new_merges']} merges",
            file=sys.stderr,
        )
    bpt = report["corpus_bytes"] / max(report["corpus_tokens"], 1)
    print(
        f"trained {trained.algorithm} with {trained.vocab_size} ids ({report['merges']} merges, "
        f"stopped: {report['stop_reason']}) on {report['corpus_bytes'] / 1e6:.1f} MB "
        f"({report['distinct_words']} distinct pre-tokens) in {trained.wall_seconds:.2f} s "
        f"[count {report['count_seconds']:.2f} s, merge {report['merge_seconds']:.2f} s]",
        file=sys.stderr,
    )
    print(
        f"compression: {bpt:.3f} bytes per token on the training corpus "
        f"({report['corpus_tokens']} tokens"
        + (
            ", counted within the random training chunks)"
            if trained.algorithm == "supertoken"
            else ")"
        ),
        file=sys.stderr,
    )
    names = ", ".join(sorted(f.name for f in Path(args.out).iterdir()))
    print(f"wrote {Path(args.out)}/ ({names})", file=sys.stderr)
    print(Path(args.out))
    return 0


def report_hybrid(
    args: argparse.Namespace, report: dict[str, Any], vocab_size: int, seconds: float
) -> int:
    """What ``tokkit train --algo hybrid`` prints: the id budget and where it went."""
    if report.get("skipped_invalid_utf8"):
        print(
            f"warning: skipped {report['skipped_invalid_utf8']} lines that are not valid UTF-8 "
            "(use --strict to fail instead)",
            file=sys.stderr,
        )
    parts = ", ".join(
        f"{report[k]} {k}"
        for k in ("roots", "suffixes", "pieces")
        if isinstance(report.get(k), int)
    )
    size = report.get("corpus_bytes", 0) / 1e6
    print(
        f"trained hybrid with {vocab_size} ids ({parts}) on {size:.1f} MB in {seconds:.2f} s",
        file=sys.stderr,
    )
    names = ", ".join(sorted(f.name for f in Path(args.out).iterdir()))
    print(f"wrote {Path(args.out)}/ ({names})", file=sys.stderr)
    print(Path(args.out))
    return 0
