"""``tokkit distill``: heal a transplanted model (or any student) with a teacher that speaks
another tokenizer, by approximate likelihood matching (ALM) on aligned chunks of text."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tokkit._progress import default_mode
from tokkit.cli.argtypes import non_negative_int, positive_float, positive_int
from tokkit.cli.common import add_progress, add_revision

EPILOG = """\
how it works:
  Both models read the same text, each in its own tokenization. The alignment cuts the text
  into the shortest chunks where both tokenizations have a token boundary; ALM makes the
  student's likelihood of each chunk match the teacher's (binarised at temperature 100, with
  the probability that the next token starts at a space added on both sides, and chunks
  merged where the teacher does not expect a boundary). The student's own next-token loss
  (sft) keeps it fluent; GradMag balances the two. Held-out bits per byte are measured at
  step 0, every --eval-every steps and at the end.

modes:
  full        train every weight of the student (default)
  lora        LoRA adapters (rank 64) on the attention and MLP projections, plus the
              embeddings; merged into the saved model (--save-adapter keeps them apart)
  embeddings  train the input and output rows only: the cheapest heal of a transplant

output (--out DIR, written atomically; --force replaces an existing DIR):
  config.json, model.safetensors, tokenizer files   loadable by AutoModelForCausalLM/AutoTokenizer
  metrics.jsonl   a row per step (step, loss, loss_alm, loss_sft, lr, grad_norm, seconds) and
                  per evaluation (step, bits_per_byte)
  distill.png     loss and bits per byte against steps
  tokkit.json     the student's record, with a "distill" section (options, teacher, data)
checkpoints (--checkpoint-every N) go to DIR.checkpoints (or --checkpoint-dir), with the live
metrics.jsonl; --resume continues a stopped run to the result of an uninterrupted one.

several processes: torchrun --nproc-per-node 2 -m tokkit distill ... (DDP; gloo on CPU, NCCL
on CUDA; rank 0 writes). The result equals one process with --grad-accum times as many steps.

examples:
  tokkit transplant --model smollm2-135m --tokenizer my-32k --method tokenadapt --out smol-32k
  tokkit distill --teacher smollm2-135m --student smol-32k --data corpora/en-prose.txt \\
      --max-steps 100 --out smol-32k-healed
  tokkit distill --teacher T --student S --data train.jsonl --text-field content \\
      --mode lora --lr 1e-4 --checkpoint-every 50 --max-steps 1000 --out S-healed
"""


def _threshold(value: str) -> float | None:
    if value.lower() == "none":
        return None
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'none': {value!r}") from None
    if not 0 <= x < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1) or 'none', not {value}")
    return x


def _names(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _floats(value: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {value!r}") from None


def add_parser(sub: Any) -> None:
    """Register ``tokkit distill``."""
    from tokkit.distill.config import DIVERGENCES, MODES, DistillConfig

    d = DistillConfig()
    p = sub.add_parser(
        "distill",
        help="heal a student that speaks another tokenizer by distilling a teacher (ALM)",
        description=(
            "Train a student causal LM to match a teacher's likelihoods on aligned chunks of\n"
            "text, across different tokenizers (approximate likelihood matching)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    io = p.add_argument_group("models and data")
    io.add_argument("--teacher", required=True, metavar="DIR",
                    help="teacher: a directory, a prepared name or a Hub id")
    io.add_argument("--student", required=True, metavar="DIR",
                    help="student (e.g. from tokkit transplant): a directory, name or Hub id")
    io.add_argument("--data", required=True, nargs="+", metavar="PATH",
                    help="training text: files, directories or globs (.txt, .gz, .jsonl), read "
                    "as by tokkit train")
    io.add_argument("--eval-data", nargs="+", metavar="PATH",
                    help="held-out text for bits per byte (default: the last --eval-bytes of "
                    "--data, kept out of training)")
    io.add_argument("--text-field", metavar="FIELD",
                    help="JSON-lines field holding the text (default: text)")
    io.add_argument("--out", required=True, metavar="DIR", help="output model directory")
    io.add_argument("--force", action="store_true", help="replace an existing --out")
    t = p.add_argument_group("training")
    t.add_argument("--max-steps", type=positive_int, default=d.max_steps, metavar="N",
                   help=f"optimizer steps (default: {d.max_steps})")
    t.add_argument("--mode", choices=MODES, default=d.mode, help="what is trained (default: full)")
    t.add_argument("--losses", type=_names, default=d.losses, metavar="L,L",
                   help="alm, sft, latents (default: alm,sft)")
    t.add_argument("--aggregation", choices=["gradmag", "sum"], default=d.aggregation,
                   help="how several losses combine (default: gradmag)")
    t.add_argument("--loss-weights", type=_floats, default=(), metavar="W,W",
                   help="weights for --aggregation sum, one per loss")
    t.add_argument("--divergence", choices=DIVERGENCES, default=d.divergence,
                   help="ALM chunk divergence (default: binary_ce)")
    t.add_argument("--temperature", metavar="T", type=positive_float, default=d.temperature,
                   help=f"ALM binarisation temperature (default: {d.temperature:g})")
    t.add_argument("--no-debias", dest="debias", action="store_false",
                   help="do not add the next-token-starts-at-a-space probability to chunks")
    t.add_argument("--merge-threshold", type=_threshold, default=d.merge_threshold, metavar="P",
                   help="merge chunks where the teacher's space probability is at most P; "
                   f"'none' keeps all (default: {d.merge_threshold})")
    t.add_argument("--batch-size", metavar="N", type=positive_int, default=d.batch_size,
                   help=f"sequences per micro-batch and process (default: {d.batch_size})")
    t.add_argument("--grad-accum", metavar="N", type=positive_int, default=d.grad_accum,
                   help="micro-batches per step (default: 1)")
    t.add_argument("--seq-len", metavar="N", type=positive_int, default=d.seq_len,
                   help=f"tokens per sequence (default: {d.seq_len})")
    t.add_argument("--lr", metavar="LR", type=positive_float, default=d.lr,
                   help=f"peak learning rate (default: {d.lr:g})")
    t.add_argument("--warmup-steps", metavar="N", type=non_negative_int, default=d.warmup_steps,
                   help=f"linear warm-up (default: {d.warmup_steps}), then linear decay to 0")
    t.add_argument("--decay-steps", metavar="N", type=positive_int, default=None,
                   help="where the decay ends (default: --max-steps)")
    t.add_argument("--weight-decay", metavar="W", type=float, default=d.weight_decay,
                   help=f"AdamW weight decay (default: {d.weight_decay})")
    t.add_argument("--clip", metavar="NORM", type=positive_float, default=d.clip,
                   help=f"gradient norm clipping (default: {d.clip})")
    t.add_argument("--seed", metavar="N", type=int, default=d.seed, help="data order (default: 0)")
    t.add_argument("--lora-rank", metavar="N", type=positive_int, default=d.lora_rank,
                   help=f"LoRA rank (default: {d.lora_rank}; alpha = rank)")
    t.add_argument("--no-lora-embeddings", dest="lora_embeddings", action="store_false",
                   help="with --mode lora, keep the embeddings frozen")
    t.add_argument("--save-adapter", action="store_true",
                   help="with --mode lora, save the PEFT adapter instead of merged weights")
    t.add_argument("--bf16", choices=["auto", "on", "off"], default=d.bf16,
                   help="bf16 autocast: auto = on CUDA with bf16 support (default: auto)")
    t.add_argument("--gradient-checkpointing", action="store_true",
                   help="recompute activations in the backward pass (less memory)")
    t.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1... (default: cpu)")
    t.add_argument("--fsdp", action="store_true",
                   help="under torchrun: shard the student (FSDP2) instead of replicating it, "
                   "for models that do not fit one device (full or embeddings mode, "
                   "--aggregation sum, no checkpoints yet)")
    e = p.add_argument_group("evaluation and checkpoints")
    e.add_argument("--eval-every", type=non_negative_int, default=d.eval_every, metavar="N",
                   help=f"evaluate every N steps (default: {d.eval_every}; 0: start and end)")
    e.add_argument("--eval-bytes", type=positive_int, default=d.eval_bytes, metavar="B",
                   help=f"held-out slice of --data (default: {d.eval_bytes})")
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
    """The :class:`DistillConfig` the flags describe."""
    from tokkit.distill.config import DistillConfig

    return DistillConfig(
        mode=args.mode,
        losses=args.losses,
        aggregation=args.aggregation,
        loss_weights=args.loss_weights,
        divergence=args.divergence,
        temperature=args.temperature,
        debias=args.debias,
        merge_threshold=args.merge_threshold,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        seq_len=args.seq_len,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        decay_steps=args.decay_steps,
        weight_decay=args.weight_decay,
        clip=args.clip,
        eval_every=args.eval_every,
        eval_bytes=args.eval_bytes,
        checkpoint_every=args.checkpoint_every,
        keep_checkpoints=args.keep_checkpoints,
        seed=args.seed,
        lora_rank=args.lora_rank,
        lora_alpha=args.lora_rank,
        lora_embeddings=args.lora_embeddings,
        merge_lora=not args.save_adapter,
        bf16=args.bf16,
        gradient_checkpointing=args.gradient_checkpointing,
        fsdp=args.fsdp,
    )


def run(args: argparse.Namespace) -> int:
    """Run ``tokkit distill``; prints a JSON summary on stdout."""
    from tokkit.distill import distill

    result = distill(
        args.teacher,
        args.student,
        args.data,
        args.out,
        config=config_from(args),
        eval_data=args.eval_data,
        text_field=args.text_field,
        force=args.force,
        resume=args.resume,
        checkpoint_dir=args.checkpoint_dir,
        device=args.device,
        progress=args.progress or default_mode(),
    )
    if not result.main:
        return 0  # rank 0 reports for the run
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    evals = result.evaluations()
    summary = {
        "out": str(result.out),
        "steps": result.steps,
        "bits_per_byte_start": evals[0]["bits_per_byte"] if evals else None,
        "bits_per_byte_end": evals[-1]["bits_per_byte"] if evals else None,
        "seconds": round(result.seconds, 1),
    }
    print(json.dumps(summary))
    return 0
