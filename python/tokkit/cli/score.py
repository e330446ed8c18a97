"""``tokkit score`` (bits per byte of a model, or of a byte-level ensemble, on texts) and
``tokkit eval-lm`` (a table and a PNG comparing several models, e.g. transplants by different
methods, on several texts)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tokkit._progress import default_mode
from tokkit.cli.argtypes import non_negative_int, positive_int
from tokkit.cli.common import add_progress, add_revision
from tokkit.cli.eval import check_plot_path, split_label
from tokkit.exceptions import ConfigError, CorpusNotFoundError, TokkitError

SCORE_EPILOG = """\
Bits per byte is the model's negative log2-likelihood of the text under its own (canonical)
tokenization, divided by the text's UTF-8 bytes; unlike per-token perplexity it compares models
whose tokenizers differ. Each FILE is one document, scored after a BOS (or EOS) context token, in
windows of --window tokens with --overlap tokens of carried context.

--byte-exact reads the text byte by byte instead (byteprobs): the probability of each byte is the
sum over every tokenization that covers it (not only the canonical one), so it is at least the
canonical score's probability; it needs about one forward pass per byte. Several --model flags
score their byte-level ensemble (the --weights-weighted mean of next-byte distributions), which
implies --byte-exact: models whose tokenizers differ are combined byte by byte.

--json prints {"bits_per_byte", "bytes", "tokens", "tokens_per_byte", "nll_nats", "model",
"documents", "files"}; with --byte-exact {"bits_per_byte", "bytes", "nll_bits", "models",
"weights", "mode", "lm_calls", "seconds", "lm_seconds", "unchecked_mass", "files"}.

examples:
  tokkit score --model smollm2-135m corpora/en-prose.txt
  tokkit score --model out/gemma-on-smol --json --max-bytes 20000 corpora/tr.txt
  tokkit score --model smollm2-135m --model gemma3-270m --max-bytes 2000 corpora/code.txt
"""

EVAL_LM_EPILOG = """\
Scores every model on every text (bits per byte, lower is better; tokens per byte alongside) and
prints a table; --baseline adds each model's ratio to that model. --plot draws grouped bars.

examples:
  tokkit eval-lm --model base=gemma3-270m --model omp=out/g-omp --model mean=out/g-mean \\
      --text en=corpora/en-prose.txt --text tr=corpora/tr.txt --baseline base --plot bpb.png
"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1... (default: cpu)")
    p.add_argument(
        "--window", type=positive_int, default=1024, help="tokens per forward (default: 1024)"
    )
    p.add_argument(
        "--overlap",
        type=non_negative_int,
        default=256,
        help="context carried between windows (default: 256)",
    )
    p.add_argument(
        "--max-bytes",
        type=positive_int,
        metavar="N",
        help="score only the first N bytes of each text (cut at a character boundary)",
    )
    p.add_argument(
        "--context-token",
        metavar="ID|TOKEN",
        help="score each text after this token (default: the one a transplant recorded, else "
        "the BOS the tokenizer adds, else EOS)",
    )
    add_progress(p)


def add_parser(sub: Any) -> None:
    """Register ``tokkit score`` and ``tokkit eval-lm``."""
    p = sub.add_parser(
        "score",
        help="bits per byte of a model on texts",
        description="Bits per byte (tokenizer-independent) of a causal LM on UTF-8 texts.",
        epilog=SCORE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="DIR",
        help="model directory, prepared name or Hub id (org/name); repeat for a byte-level "
        "ensemble",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text files (- reads stdin)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a line of text")
    p.add_argument(
        "--byte-exact",
        action="store_true",
        help="exact byte-level probabilities over every tokenization (implied by several --model)",
    )
    add_byte_options(p)
    _common(p)
    add_revision(p)
    p.set_defaults(run=run_score)

    q = sub.add_parser(
        "eval-lm",
        help="compare models by bits per byte on several texts",
        description="Bits per byte and tokens per byte of several models on several texts.",
        epilog=EVAL_LM_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument(
        "--model", action="append", required=True, metavar="[NAME=]DIR", help="repeatable"
    )
    q.add_argument(
        "--text", action="append", required=True, metavar="[NAME=]FILE", help="repeatable"
    )
    q.add_argument("--baseline", metavar="NAME", help="add each model's ratio to this one")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q.add_argument("--plot", metavar="FILE.png", help="draw bits per byte as grouped bars")
    q.add_argument(
        "--record",
        metavar="NAME",
        help="write the bits per byte of model NAME and of --baseline into NAME's tokkit.json "
        "(metrics), where `tokkit push` puts them in the model card",
    )
    _common(q)
    add_revision(q)
    q.set_defaults(run=run_eval_lm)


def read_text(path: str, max_bytes: int | None) -> str:
    """A UTF-8 text file (``-``: stdin), optionally cut to ``max_bytes`` at a char boundary."""
    if path == "-":
        text = sys.stdin.read()
    else:
        f = Path(path)
        if not f.is_file():
            raise CorpusNotFoundError(f"{path}: no such file")
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise ConfigError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from e
    if max_bytes is not None:
        text = text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    return text


def add_byte_options(p: argparse.ArgumentParser) -> None:
    """Options of the byte-level commands (``score --byte-exact``, ``generate``)."""
    p.add_argument(
        "--weights",
        metavar="W,W,...",
        help="ensemble weights, one per --model (default: equal)",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help="skip the validity mask (the reference's fast mode): keeps the model's mass on "
        "tokenizations the tokenizer never produces",
    )


def parse_weights(text: str | None, n: int) -> list[float] | None:
    """``--weights`` as floats, one per model."""
    if text is None:
        return None
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError as e:
        raise ConfigError(f"--weights {text!r}: expected numbers separated by commas") from e
    if len(weights) != n:
        raise ConfigError(f"--weights has {len(weights)} values for {n} --model flags")
    return weights


def load_byte_models(args: argparse.Namespace) -> Any:
    """The ``--model`` flags as a byte-level ensemble (one member is just that model)."""
    from tokkit.byteprobs import ByteEnsemble, ByteLM
    from tokkit.byteprobs.lm import HFTokenLM
    from tokkit.byteprobs.model import load_vocab

    weights = parse_weights(args.weights, len(args.model))
    members = []
    for m in args.model:
        lm = HFTokenLM(m, device=args.device, window=args.window, context_token=args.context_token)
        members.append(ByteLM(lm, load_vocab(lm.path), exact=not args.fast, name=m))
    return ByteEnsemble(members, weights)


def run_score(args: argparse.Namespace) -> int:
    """Run ``tokkit score``."""
    from tokkit.score import score_model

    texts = [read_text(f, args.max_bytes) for f in args.files]
    if args.byte_exact or len(args.model) > 1:
        return _run_byte_score(args, texts)
    if args.weights or args.fast:
        raise ConfigError("--weights and --fast apply to --byte-exact scoring")
    s = score_model(
        args.model[0],
        texts,
        device=args.device,
        window=args.window,
        overlap=args.overlap,
        progress=args.progress or default_mode(),
        context_token=args.context_token,
    )
    if args.json:
        out = s.to_json()
        per_doc = out.pop("per_document")
        out["files"] = [{"file": f, **d} for f, d in zip(args.files, per_doc, strict=True)]
        print(json.dumps(out))
    else:
        print(
            f"{s.bits_per_byte:.4f} bits/byte  ({s.bytes} bytes, {s.tokens} tokens, "
            f"{s.tokens_per_byte:.3f} tokens/byte)"
        )
    return 0


def _run_byte_score(args: argparse.Namespace, texts: list[str]) -> int:
    from tokkit._progress import Progress
    from tokkit.byteprobs import score_bytes

    ens = load_byte_models(args)
    data = [t.encode("utf-8") for t in texts]
    files, nll, calls, secs, lm_secs, unchecked = [], 0.0, 0, 0.0, 0.0, 0.0
    mode = args.progress or default_mode()
    with Progress("scoring", sum(map(len, data)), mode=mode, unit="bytes") as bar:
        for f, d in zip(args.files, data, strict=True):
            try:
                s = score_bytes(ens, d, progress=bar)
            except TokkitError as e:
                raise e.prefixed(f) from e
            files.append({"file": f, "bytes": s.bytes, "nll_bits": s.nll_bits})
            nll += s.nll_bits
            calls += s.lm_calls
            secs += s.seconds
            lm_secs += s.lm_seconds
            unchecked = max(unchecked, s.unchecked_mass)
    n = sum(map(len, data))
    if n == 0:
        raise ConfigError("nothing to score: the texts are empty")
    out = {
        "bits_per_byte": nll / n,
        "bytes": n,
        "nll_bits": nll,
        "models": args.model,
        "weights": [float(w) for w in ens.weights],
        "mode": "byte-fast" if args.fast else "byte-exact",
        "lm_calls": calls,
        "seconds": secs,
        "lm_seconds": lm_secs,
        "unchecked_mass": unchecked,
        "files": files,
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"{out['bits_per_byte']:.4f} bits/byte  ({n} bytes, {out['mode']}, "
            f"{calls / max(n, 1):.2f} LM calls/byte)"
        )
    return 0


def run_eval_lm(args: argparse.Namespace) -> int:
    """Run ``tokkit eval-lm``."""
    from tokkit import models
    from tokkit.score import aligned_context_tokens, score_model

    plot = check_plot_path(args.plot) if args.plot else None
    named_models = [_label(m) for m in args.model]
    named_texts = [_label(t) for t in args.text]
    for flag, named in (("--model", named_models), ("--text", named_texts)):
        names = [n for n, _ in named]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(
                f"two {flag} entries are named {', '.join(twice)}; each row needs its own name",
                hint=f"label them: {flag} NAME=PATH",
            )
    if args.baseline and args.baseline not in {n for n, _ in named_models}:
        raise ConfigError(f"--baseline {args.baseline!r} is not one of the --model names")
    if args.record and (not args.baseline or args.record not in {n for n, _ in named_models}):
        raise ConfigError("--record needs --baseline and one of the --model names")
    texts = {name: read_text(path, args.max_bytes) for name, path in named_texts}
    contexts: dict[str, str] = {}
    if args.context_token is None:
        contexts = aligned_context_tokens({n: models.path(p) for n, p in named_models})
        for name, token in contexts.items():
            print(
                f"note: {name} is read after {token}, the row its transplant starts from "
                "(--context-token sets one for all)",
                file=sys.stderr,
            )
    results: list[dict[str, Any]] = []
    for name, path in named_models:
        loaded = models.load_causal_lm(models.path(path), device=args.device)
        for tname, text in texts.items():
            s = score_model(
                models.path(path),
                [text],
                device=args.device,
                window=args.window,
                overlap=args.overlap,
                progress=args.progress or default_mode(),
                loaded=loaded,
                context_token=contexts.get(name, args.context_token),
            )
            results.append(
                {
                    "model": name,
                    "text": tname,
                    "bits_per_byte": s.bits_per_byte,
                    "tokens_per_byte": s.tokens_per_byte,
                    "bytes": s.bytes,
                    "tokens": s.tokens,
                }
            )
        del loaded
    if args.baseline:
        base = {r["text"]: r["bits_per_byte"] for r in results if r["model"] == args.baseline}
        for r in results:
            r["ratio_to_baseline"] = r["bits_per_byte"] / base[r["text"]]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(format_table(results, list(texts)))
    if plot is not None:
        draw(results, list(texts), plot, args.baseline)
        print(f"wrote {plot}", file=sys.stderr)
    if args.record:
        where = models.path(dict(named_models)[args.record])
        record_metrics(where, results, args.record, args.baseline)
        print(f"recorded bits per byte in {where / 'tokkit.json'}", file=sys.stderr)
    return 0


def record_metrics(
    model_dir: Path, results: list[dict[str, Any]], name: str, baseline: str
) -> None:
    """Write ``metrics.bits_per_byte[text] = {base, transplanted}`` into the model's
    ``tokkit.json`` (atomically; its other keys kept), for the model card."""
    from tokkit._io import dumps

    meta_file = model_dir / "tokkit.json"
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"cannot record metrics in {meta_file}: {e}",
            hint="--record is for a directory tokkit wrote (a transplant)",
        ) from e
    table = meta.setdefault("metrics", {}).setdefault("bits_per_byte", {})
    cell = {(r["model"], r["text"]): r["bits_per_byte"] for r in results}
    for text in dict.fromkeys(r["text"] for r in results):
        table[text] = {"base": cell[(baseline, text)], "transplanted": cell[(name, text)]}
    tmp = meta_file.with_name(f".{meta_file.name}.tmp")
    tmp.write_text(dumps(meta), encoding="utf-8")
    tmp.replace(meta_file)


def _label(arg: str) -> tuple[str, str]:
    name, path = split_label(arg)
    return name or Path(path).name or path, path


def format_table(results: list[dict[str, Any]], texts: list[str]) -> str:
    """Markdown table: one row per model, bits per byte (and tokens per byte) per text."""
    models_ = list(dict.fromkeys(r["model"] for r in results))
    cell = {(r["model"], r["text"]): r for r in results}
    head = "| model | " + " | ".join(f"{t} bpb (tok/B)" for t in texts) + " |"
    lines = [head, "|---|" + "---|" * len(texts)]
    for m in models_:
        cells = []
        for t in texts:
            r = cell[(m, t)]
            ratio = f" x{r['ratio_to_baseline']:.3f}" if "ratio_to_baseline" in r else ""
            cells.append(f"{r['bits_per_byte']:.3f}{ratio} ({r['tokens_per_byte']:.3f})")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bar_figure(results: list[dict[str, Any]], texts: list[str], baseline: str | None) -> Any:
    """Grouped bars of bits per byte: one group per text, one bar per model, each bar labelled
    with its value (and its ratio to ``baseline``); the y axis starts at 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models_ = list(dict.fromkeys(r["model"] for r in results))
    cell = {(r["model"], r["text"]): r for r in results}
    width = 0.8 / max(len(models_), 1)
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(texts) * max(len(models_), 2) / 3, 4.5))
    for i, m in enumerate(models_):
        xs = [t + (i - (len(models_) - 1) / 2) * width for t in range(len(texts))]
        rows = [cell[(m, t)] for t in texts]
        bars = ax.bar(xs, [r["bits_per_byte"] for r in rows], width, label=m)
        labels = [
            f"{r['bits_per_byte']:.3f}"
            + (f"\nx{r['ratio_to_baseline']:.3f}" if baseline and m != baseline else "")
            for r in rows
        ]
        ax.bar_label(bars, labels, fontsize=7, padding=2)
    ax.set_xticks(range(len(texts)), texts)
    ax.set_ylabel("bits per byte (lower is better)")
    ax.set_ylim(bottom=0, top=max(r["bits_per_byte"] for r in results) * 1.25)
    title = "Bits per byte of each model on each text"
    ax.set_title(title + (f" (x = ratio to {baseline})" if baseline else ""), fontsize=10)
    ax.legend(fontsize="small", loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def draw(
    results: list[dict[str, Any]], texts: list[str], path: Path, baseline: str | None = None
) -> None:
    """Save :func:`bar_figure` as a PNG at ``path``, atomically."""
    import matplotlib.pyplot as plt

    fig = bar_figure(results, texts, baseline)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
