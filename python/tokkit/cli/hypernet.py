"""``tokkit hypernet train``: train a ZeTT hypernetwork for a base model, once; then
``tokkit transplant --method zett --hypernet DIR`` moves the model onto any tokenizer
zero-shot."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tokkit._progress import default_mode
from tokkit.cli.argtypes import float_between, non_negative_int, positive_float, positive_int
from tokkit.cli.common import add_progress, add_revision

EPILOG = """\
how it works:
  Each step draws a tokenizer: a UnigramLM built from the substring counts of recent text with
  random noise (a new one every step, 256 bytes always in it), or one of --real-tokenizers at
  --real-rate. Every token is decomposed into base tokens by the base tokenizer's merges; the
  hypernetwork (a small transformer over those base tokens' frozen embeddings) predicts its
  embedding; the frozen base model reads the step's text through the predicted embeddings and
  its next-token loss trains the hypernetwork, with a lexical loss keeping tokens that are one
  base token at their own rows. The first --identity-steps steps are a warm-up: base tokens
  predicted from themselves and from the two tokens their last merge joined. At step 0 the
  hypernetwork predicts the mean of a token's pieces (the mean baseline), exactly.

output (--out DIR, written atomically; --force replaces an existing DIR):
  hypernet.json          architecture, the base model it belongs to (embedding sha256), options
  hypernet.safetensors   the learned weights (no base matrices, no pickles)
  tokenizer.json         the base tokenizer, whose merges decompose new tokens
  metrics.jsonl          a row per step (step, loss, loss_clm, loss_lexical, lr, grad_norm,
                         vocab, seconds) and per evaluation (step, split "eval", loss and
                         bits_per_byte of held-out text in a fixed noise-free sampled
                         tokenizer, through predicted embeddings)
  hypernet.png           loss and held-out bits per byte against steps
checkpoints (--checkpoint-every N) go to DIR.checkpoints (or --checkpoint-dir), with the live
metrics.jsonl; --resume continues a stopped run to the result of an uninterrupted one.

several processes: torchrun --nproc-per-node 2 -m tokkit hypernet train ... (DDP; gloo on CPU,
NCCL on CUDA; every process draws the same tokenizer; rank 0 writes).

sizes: the defaults fit a CPU (sampled tokenizers of 2,048 pieces, 4 sequences of 128 tokens a
step: 30 steps of SmolLM2-135M take about five minutes on two cores). The paper's run is
--sample-vocab 32768 --batch-size 128 on accelerators for 200k steps.

examples:
  tokkit hypernet train --model smollm2-135m --out smol-hypernet --max-steps 30
  tokkit hypernet train --model smollm2-135m --out smol-hn --data corpora/ --max-steps 2000 \\
      --real-tokenizers gemma3-270m out/superbpe-32k --real-rate 0.2 --checkpoint-every 200
  tokkit transplant --model smollm2-135m --tokenizer out/my-32k --method zett \\
      --hypernet smol-hypernet --out smol-32k
"""


def add_parser(sub: Any) -> None:
    """Register ``tokkit hypernet`` and its ``train`` subcommand."""
    p = sub.add_parser(
        "hypernet",
        help="ZeTT hypernetworks: train one per base model (tokkit hypernet train)",
        description="ZeTT hypernetworks: predict embeddings for any tokenizer's tokens.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    add_train(verbs)


def add_train(verbs: Any) -> None:
    from tokkit.hypernet.config import HypernetConfig

    d = HypernetConfig()
    p = verbs.add_parser(
        "train",
        help="train a hypernetwork for a base model",
        description=(
            "Train a ZeTT hypernetwork for a frozen base causal LM on sampled tokenizers, so\n"
            "that `tokkit transplant --method zett` can move it onto any tokenizer zero-shot."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    io = p.add_argument_group("model and data")
    io.add_argument("--model", required=True, metavar="DIR",
                    help="base model: a directory, a prepared name or a Hub id (kept frozen)")
    io.add_argument("--out", required=True, metavar="DIR", help="output hypernetwork directory")
    io.add_argument("--force", action="store_true", help="replace an existing --out")
    io.add_argument("--data", nargs="+", metavar="PATH",
                    help="training text: files, directories or globs (.txt, .gz, .jsonl) "
                    "(default: the shipped corpora of a source checkout)")
    io.add_argument("--text-field", metavar="FIELD",
                    help="JSON-lines field holding the text (default: text)")
    io.add_argument("--real-tokenizers", nargs="+", default=[], metavar="PATH",
                    help="real tokenizers to train on besides sampled ones (directories, "
                    "tokenizer.json files or prepared names)")
    io.add_argument("--real-rate", type=float_between(0.0, 1.0), default=d.real_rate,
                    metavar="P", help="share of steps on a real tokenizer (default: 0)")
    t = p.add_argument_group("training")
    t.add_argument("--max-steps", type=positive_int, default=d.max_steps, metavar="N",
                   help=f"optimizer steps, the warm-up included (default: {d.max_steps})")
    t.add_argument("--identity-steps", type=non_negative_int, default=d.identity_steps,
                   metavar="N", help=f"identity warm-up steps (default: {d.identity_steps})")
    t.add_argument("--objective", choices=["clm", "alm"], default=d.objective,
                   help="clm: the base model's next-token loss on the sampled tokenization; alm: "
                   "its chunk likelihoods matched to the base model's own, as tokkit distill "
                   "does (default: clm)")
    t.add_argument("--lexical-weight", type=float_between(0.0, 100.0),
                   default=d.lexical_weight, metavar="W",
                   help=f"weight of the lexical loss (default: {d.lexical_weight})")
    t.add_argument("--batch-size", type=positive_int, default=d.batch_size, metavar="N",
                   help=f"sequences per micro-batch and process (default: {d.batch_size})")
    t.add_argument("--grad-accum", type=positive_int, default=d.grad_accum, metavar="N",
                   help="micro-batches per step (default: 1)")
    t.add_argument("--seq-len", type=positive_int, default=d.seq_len, metavar="N",
                   help=f"tokens per sequence (default: {d.seq_len})")
    t.add_argument("--sample-vocab", type=positive_int, default=d.sample_vocab, metavar="N",
                   help=f"pieces per sampled tokenizer besides the 256 bytes (default: "
                   f"{d.sample_vocab}; the paper: 32768)")
    t.add_argument("--lr", type=positive_float, default=d.lr, metavar="LR",
                   help=f"peak learning rate after the warm-up (default: {d.lr:g})")
    t.add_argument("--identity-lr", type=positive_float, default=d.identity_lr, metavar="LR",
                   help=f"peak learning rate of the warm-up (default: {d.identity_lr:g})")
    t.add_argument("--warmup-steps", type=non_negative_int, default=d.warmup_steps,
                   metavar="N", help=f"second warm-up after the identity steps (default: "
                   f"{d.warmup_steps}), then cosine decay to 0.1 x --lr")
    t.add_argument("--clip", type=positive_float, default=d.clip, metavar="NORM",
                   help=f"gradient norm clipping (default: {d.clip})")
    t.add_argument("--seed", type=int, default=d.seed, metavar="N",
                   help="data order, sampler noise, initialisation (default: 0)")
    t.add_argument("--bf16", choices=["auto", "on", "off"], default=d.bf16,
                   help="bf16 autocast: auto = on CUDA with bf16 support (default: auto)")
    t.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1... (default: cpu)")
    a = p.add_argument_group("hypernetwork")
    a.add_argument("--hn-layers", type=positive_int, default=d.arch.layers, metavar="N",
                   help=f"transformer layers (default: {d.arch.layers})")
    a.add_argument("--hn-hidden", type=positive_int, metavar="N",
                   help="width (default: the base model's hidden size)")
    a.add_argument("--hn-heads", type=positive_int, metavar="N",
                   help="attention heads (default: width / 64)")
    a.add_argument("--surface-maxlen", type=positive_int, default=d.arch.surface_maxlen,
                   metavar="N", help="base tokens per new token, longer ones cut (default: "
                   f"{d.arch.surface_maxlen})")
    e = p.add_argument_group("evaluation and checkpoints")
    e.add_argument("--eval-every", type=non_negative_int, default=d.eval_every, metavar="N",
                   help=f"evaluate every N steps (default: {d.eval_every}; 0: start and end)")
    e.add_argument("--eval-bytes", type=positive_int, default=d.eval_bytes, metavar="B",
                   help=f"held-out slice of the data (default: {d.eval_bytes})")
    e.add_argument("--checkpoint-every", type=non_negative_int, default=0, metavar="N",
                   help="write a checkpoint every N steps (default: 0, none)")
    e.add_argument("--keep-checkpoints", type=positive_int, default=d.keep_checkpoints,
                   metavar="K", help=f"keep the latest K (default: {d.keep_checkpoints})")
    e.add_argument("--checkpoint-dir", metavar="DIR", help="default: OUT.checkpoints")
    e.add_argument("--resume", metavar="DIR",
                   help="continue from a checkpoint of this run (or the latest in DIR)")
    add_progress(p)
    add_revision(p)
    p.set_defaults(run=run)


def config_from(args: argparse.Namespace) -> Any:
    """The :class:`HypernetConfig` the flags describe."""
    from tokkit.hypernet.config import Architecture, HypernetConfig

    return HypernetConfig(
        arch=Architecture(layers=args.hn_layers, hidden=args.hn_hidden, heads=args.hn_heads,
                          surface_maxlen=args.surface_maxlen),
        max_steps=args.max_steps,
        identity_steps=args.identity_steps,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        seq_len=args.seq_len,
        sample_vocab=args.sample_vocab,
        real_tokenizers=tuple(args.real_tokenizers),
        real_rate=args.real_rate,
        objective=args.objective,
        lexical_weight=args.lexical_weight,
        identity_lr=args.identity_lr,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        clip=args.clip,
        eval_every=args.eval_every,
        eval_bytes=args.eval_bytes,
        checkpoint_every=args.checkpoint_every,
        keep_checkpoints=args.keep_checkpoints,
        seed=args.seed,
        bf16=args.bf16,
    )


def run(args: argparse.Namespace) -> int:
    """Run ``tokkit hypernet train``; prints a JSON summary on stdout."""
    from tokkit.hypernet import train_hypernet

    result = train_hypernet(
        args.model,
        args.out,
        config=config_from(args),
        data_paths=args.data,
        text_field=args.text_field,
        force=args.force,
        resume=args.resume,
        checkpoint_dir=args.checkpoint_dir,
        device=args.device,
        progress=args.progress or default_mode(),
    )
    if not result.main:
        return 0
    evals = result.evaluations()
    print(json.dumps({
        "out": str(result.out),
        "steps": result.steps,
        "bits_per_byte_start": evals[0]["bits_per_byte"] if evals else None,
        "bits_per_byte_end": evals[-1]["bits_per_byte"] if evals else None,
        "seconds": round(result.seconds, 1),
    }))
    return 0
