"""The distillation loop: a teacher heals a student that speaks another tokenizer.

Data flow::

    --data (tokkit.corpus) ─► held-out slice + packed segments ─► both tokenizers ─► alignment
         (Rust: chunks of equal bytes) ─► micro-batches ─► teacher pass (no_grad, per-chunk
         tensors) ─► global denominators (all micro-batches, all processes) ─► student losses
         (ALM, SFT, latents; GradMag or weighted sum) ─► AdamW step ─► metrics.jsonl,
         evaluations in bits per byte, checkpoints ─► the student, saved like a transplant

The teacher is a separate frozen copy. Weights are float32; on CUDA with bf16 support the
forward passes run under bf16 autocast (``bf16="auto"``), the losses in float32 regardless.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tokkit._io import atomic_dir, check_output_dir, dumps
from tokkit._progress import Progress, ProgressMode
from tokkit.distill import checkpoint, data, losses
from tokkit.distill.align import align as align_rows
from tokkit.distill.align import check_alignable, pair_vocabs
from tokkit.distill.config import DistillConfig
from tokkit.distill.objective import Batch, TeacherOut, student_losses, teacher_pass
from tokkit.distill.parallel import Parallel, autocast_for, setup
from tokkit.exceptions import ConfigError, ModelError, TrainingError

__all__ = ["DistillResult", "distill"]

#: The largest corpus read into memory for distillation.
MAX_DATA_BYTES = 2 << 30
#: The students' LoRA targets: attention and MLP projections of Llama/Gemma/Qwen-style blocks.
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class DistillResult:
    """What a run wrote and measured."""

    out: Path
    steps: int
    metrics: list[dict[str, Any]]
    seconds: float
    checkpoint_dir: Path | None = None
    resumed_from: int | None = None
    notes: list[str] = field(default_factory=list)
    main: bool = True  # False in the other processes of a torchrun

    def evaluations(self) -> list[dict[str, Any]]:
        """The evaluation rows (``step``, ``bits_per_byte``)."""
        return [m for m in self.metrics if "bits_per_byte" in m]


def _read(corpus: Any, text_field: str | None) -> tuple[list[str], str]:
    from tokkit.corpus import read_documents

    docs = read_documents(corpus, text_field=text_field, max_bytes=MAX_DATA_BYTES)
    if docs.bytes > MAX_DATA_BYTES:
        raise ConfigError(
            f"the data holds more than {MAX_DATA_BYTES >> 30} GiB; distillation reads it into "
            "memory",
            hint="give a sample of it with {data}",
        )
    return docs.texts, docs.sha256


def _trainable(student: Any, cfg: DistillConfig) -> Any:
    """Freeze what the mode does not train; LoRA wraps the student with PEFT adapters."""
    if cfg.mode == "full":
        for p in student.parameters():
            p.requires_grad_(True)
        return student
    if cfg.mode == "embeddings":
        for p in student.parameters():
            p.requires_grad_(False)
        student.get_input_embeddings().weight.requires_grad_(True)
        student.get_output_embeddings().weight.requires_grad_(True)
        return student
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as e:
        raise ConfigError(
            "mode lora needs peft", hint="pip install 'tokkit[distill]' (or peft)"
        ) from e
    names = {n.rsplit(".", 1)[-1] for n, _ in student.named_modules()}
    targets = [t for t in LORA_TARGETS if t in names]
    if not targets:
        raise ModelError(
            f"{type(student).__name__} has none of the projections LoRA targets "
            f"({', '.join(LORA_TARGETS)})",
            hint="use {mode=full} or {mode=embeddings}",
        )
    lora = LoraConfig(
        r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, target_modules=targets, lora_dropout=0.0
    )
    wrapped = get_peft_model(student, lora)
    if cfg.lora_embeddings:
        wrapped.get_input_embeddings().weight.requires_grad_(True)
        wrapped.get_output_embeddings().weight.requires_grad_(True)
    return wrapped


def _named_trainable(model: Any) -> list[tuple[str, torch.Tensor]]:
    """Trainable parameters by name, each once (tied embeddings share one tensor)."""
    seen: set[int] = set()
    out = []
    for name, p in model.named_parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            out.append((name, p))
    return out


def _last_layer_params(model: Any, trainable: list[tuple[str, torch.Tensor]]) -> list[torch.Tensor]:
    """GradMag's "last layer": the trainable parameters of the last decoder block, else the
    output embeddings (embeddings mode)."""
    blocks = sorted(
        {int(part) for name, _ in trainable for part in name.split(".") if part.isdigit()}
    )
    if blocks:
        last = f".{blocks[-1]}."
        params = [p for name, p in trainable if last in f".{name}."]
        if params:
            return params
    return [model.get_output_embeddings().weight]


def _invalid_ids(model_dir: Path, tokenizer: Any, rows: int, device: str) -> torch.Tensor | None:
    from tokkit.score import masked_ids

    ids = masked_ids(model_dir, tokenizer, rows)
    return torch.tensor(ids, dtype=torch.long, device=device) if ids else None


def _space_mask(tokenizer: Any, rows: int, device: str) -> torch.Tensor:
    from tokkit.vocab import vocab_from_hf

    return losses.space_mask_of(vocab_from_hf(tokenizer), rows).to(device)


def _pad(rows: Sequence[Sequence[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids, mask


@dataclass
class _Sides:
    """Everything both models need per micro-batch, built once."""

    teacher_rows: list[list[int]]
    student_rows: list[list[int]]
    teacher_vocab: Any
    student_vocab: Any
    teacher_pad: int
    student_pad: int

    def batch(self, indices: list[int]) -> Batch:
        t_rows = [self.teacher_rows[i] for i in indices]
        s_rows = [self.student_rows[i] for i in indices]
        t_ids, t_mask = _pad(t_rows, self.teacher_pad)
        s_ids, s_mask = _pad(s_rows, self.student_pad)
        al = align_rows(
            self.teacher_vocab,
            t_rows,
            self.student_vocab,
            s_rows,
            teacher_len=t_ids.shape[1],
            student_len=s_ids.shape[1],
        )
        return Batch(
            teacher_ids=t_ids,
            teacher_mask=t_mask,
            student_ids=s_ids,
            student_mask=s_mask,
            teacher_chunks=torch.from_numpy(al.teacher_chunks),
            student_chunks=torch.from_numpy(al.student_chunks),
            n_chunks=max(int(np.max(al.n_chunks)), 1),
        )


def _pad_id(tokenizer: Any) -> int:
    for value in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if value is not None:
            return int(value)
    return 0


def _context(model_dir: Path, tokenizer: Any) -> int | None:
    from tokkit.score import resolve_context_token

    return resolve_context_token(model_dir, tokenizer)


def _evaluate(student: Any, tokenizer: Any, path: Path, texts: list[str], device: str) -> float:
    from tokkit.score import score_model

    was_training = student.training
    score = score_model(path, texts, device=device, loaded=(student, tokenizer))
    student.train(was_training)
    return score.bits_per_byte


def distill(
    teacher: str | os.PathLike[str],
    student: str | os.PathLike[str],
    corpus: Any,
    out: str | os.PathLike[str],
    *,
    config: DistillConfig | None = None,
    eval_data: Any = None,
    text_field: str | None = None,
    force: bool = False,
    resume: str | os.PathLike[str] | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    progress: ProgressMode = "none",
    stop_after: int | None = None,
) -> DistillResult:
    """Distil ``teacher`` into ``student`` on ``corpus`` and save the student to ``out``.

    Args:
        teacher, student: HF causal LM directories, prepared names or Hub ids.
        corpus: Files, directories or globs (``.txt``, ``.gz``, ``.jsonl``), as for training.
        eval_data: Held-out texts for bits per byte (default: a slice of the end of ``corpus``).
        resume: A checkpoint (or the checkpoint directory: its latest) of this same run.
        checkpoint_dir: Where checkpoints go (default ``<out>.checkpoints``).
        stop_after: Stop after this many steps without saving the student (tests of resume).

    Raises:
        ConfigError: Bad options, data too short, a checkpoint of another run, models whose
            tokenizations cannot be aligned.
        ModelError: A teacher or student that is not a causal LM.
        TrainingError: The loss became NaN or infinite (the last checkpoint is kept).
        OutputExistsError: ``out`` exists and ``force`` is false.
    """
    from tokkit.models import load_causal_lm
    from tokkit.models import path as model_path

    cfg = config or DistillConfig()
    par = setup(device, fsdp=cfg.fsdp)
    device = par.device
    start_time = time.monotonic()
    out_path = Path(out)
    inputs = [str(teacher), str(student), *_as_list(corpus), *_as_list(eval_data)]
    check_output_dir(out_path, force=force, inputs=inputs)
    if resume is not None:
        checkpoint.latest(Path(resume))  # a wrong path fails now, not after loading models
    ckpt_root = Path(checkpoint_dir) if checkpoint_dir else out_path.with_name(
        out_path.name + ".checkpoints"
    )
    try:
        torch.manual_seed(cfg.seed)
        texts, data_sha = _read(corpus, text_field)
        if eval_data is not None:
            train_texts = texts
            eval_texts, _ = _read(eval_data, text_field)
        else:
            train_texts, eval_texts = data.heldout_split(texts, cfg.eval_bytes)
        eval_texts = data.eval_segments(eval_texts)
        if not eval_texts:
            raise ConfigError(
                "no held-out text to evaluate on", hint="give more data or {eval_data}"
            )
        t_dir, s_dir = model_path(str(teacher)), model_path(str(student))
        t_model: Any
        s_model: Any
        t_model, t_tok = load_causal_lm(t_dir, device=device)
        s_model, s_tok = load_causal_lm(s_dir, device=device)
        for p in t_model.parameters():
            p.requires_grad_(False)
        sides, notes = _prepare(cfg, train_texts, t_dir, t_tok, s_dir, s_tok)
        t_rows = t_model.get_output_embeddings().weight.shape[0]
        s_rows = s_model.get_output_embeddings().weight.shape[0]
        t_space, s_space = _space_mask(t_tok, t_rows, device), _space_mask(s_tok, s_rows, device)
        t_invalid = _invalid_ids(t_dir, t_tok, t_rows, device)
        s_invalid = _invalid_ids(s_dir, s_tok, s_rows, device)
        segments = data.Segments(len(sides.teacher_rows), cfg.seed)
        if cfg.gradient_checkpointing:
            s_model.gradient_checkpointing_enable()
            s_model.config.use_cache = False
        model = _trainable(s_model, cfg)
        model.train()
        # Before the optimizer is made: FSDP replaces the parameters with sharded ones.
        wrapped = par.wrap(model)
        named = _named_trainable(model)
        projector = _projector(cfg, t_model, s_model, device)
        if projector is not None:
            named += [(f"projector.{n}", p) for n, p in projector.named_parameters()]
        optimizer = torch.optim.AdamW(
            [p for _, p in named],
            lr=cfg.lr,
            betas=cfg.betas,
            weight_decay=cfg.weight_decay,
        )
        fingerprint = _fingerprint(cfg, t_dir, s_dir, data_sha, par.world)
        metrics: list[dict[str, Any]] = []
        start_step = 0
        resumed_from = None
        if resume is not None:
            if cfg.fsdp:
                raise ConfigError("resuming a sharded (FSDP) run is not supported yet")
            ck = checkpoint.load(Path(resume), fingerprint)
            checkpoint.restore(named, optimizer, ck,
                               hint="resume with the {mode} of the run that wrote it")
            metrics = ck.metrics
            start_step = resumed_from = ck.step
            if par.main:  # the live log restarts from the checkpoint's rows
                checkpoint.append_metrics(ckpt_root, metrics, fresh=True)
        autocast = autocast_for(cfg.bf16, device)
        last_params = _last_layer_params(model, named)
        state = _Loop(
            cfg=cfg,
            par=par,
            sides=sides,
            segments=segments,
            teacher=t_model,
            model=model,
            wrapped=wrapped,
            optimizer=optimizer,
            named=named,
            last_params=last_params,
            projector=projector,
            autocast=autocast,
            spaces=(t_space, s_space),
            invalid=(t_invalid, s_invalid),
            metrics=metrics,
        )

        def evaluate(step: int) -> None:
            # Under FSDP every process runs the forward passes (they gather the shards).
            if par.main or (par.fsdp and par.world > 1):
                bpb = _evaluate(model, s_tok, s_dir, eval_texts, device)
                if par.main:
                    state.log({"step": step, "bits_per_byte": bpb, "split": "eval"}, ckpt_root)
            par.barrier()

        end = cfg.max_steps if stop_after is None else min(cfg.max_steps, stop_after)
        if start_step == 0:
            evaluate(0)
        with Progress("distill", end - start_step, mode=progress if par.main else "none",
                      unit="steps") as bar:
            for step in range(start_step, end):
                state.step(step, ckpt_root)
                bar.advance(1)
                done = step + 1
                if cfg.eval_every and done % cfg.eval_every == 0 and done < cfg.max_steps:
                    evaluate(done)
                if cfg.checkpoint_every and done % cfg.checkpoint_every == 0 and par.main:
                    state.checkpoint(done, ckpt_root, fingerprint)
        if stop_after is not None and end < cfg.max_steps:
            if par.main and not (cfg.checkpoint_every and end % cfg.checkpoint_every == 0):
                state.checkpoint(end, ckpt_root, fingerprint)
            return DistillResult(out_path, end, metrics, time.monotonic() - start_time,
                                 ckpt_root, resumed_from, notes, par.main)
        evaluate(cfg.max_steps)
        gathered = par.full_state_dict(model)
        if par.main:
            report = {
                "teacher": str(t_dir),
                "student": str(s_dir),
                "config": cfg.to_json(),
                "processes": par.world,
                "data_sha256": data_sha,
                "resumed_from": resumed_from,
                "notes": notes,
            }
            _save(out_path, model, s_tok, s_dir, cfg, report, metrics, force=force,
                  inputs=inputs, state_dict=gathered)
        par.barrier()
        return DistillResult(out_path, cfg.max_steps, metrics, time.monotonic() - start_time,
                             ckpt_root, resumed_from, notes, par.main)
    finally:
        par.close()


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(v) for v in value]


def _fingerprint(cfg: DistillConfig, t_dir: Path, s_dir: Path, data_sha: str, world: int) -> str:
    import hashlib

    parts = [cfg.fingerprint(), str(t_dir.resolve()), str(s_dir.resolve()), data_sha, str(world)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


def _prepare(
    cfg: DistillConfig,
    texts: list[str],
    t_dir: Path,
    t_tok: Any,
    s_dir: Path,
    s_tok: Any,
) -> tuple[_Sides, list[str]]:
    """Pack, tokenize both ways, and check that the two tokenizations align."""
    sample = texts[:256]
    bpt = min(data.bytes_per_token(t_tok, sample), data.bytes_per_token(s_tok, sample))
    # Leave room for the context token and for segments denser than the sample.
    target = max(int((cfg.seq_len - 1) * bpt * 0.9), 16)
    segments = data.pack(texts, target)
    if not segments:
        raise ConfigError(
            "the training data is too short for one sequence",
            hint="give more text with {data}, or a smaller {eval_bytes}",
        )
    t_enc = data.encode_side(t_tok, segments, _context(t_dir, t_tok), cfg.seq_len)
    s_enc = data.encode_side(s_tok, segments, _context(s_dir, s_tok), cfg.seq_len)
    t_vocab, s_vocab = pair_vocabs(t_tok, s_tok)
    probe = list(range(min(len(segments), 64)))
    check_alignable(
        align_rows(t_vocab, [t_enc.ids[i] for i in probe], s_vocab, [s_enc.ids[i] for i in probe])
    )
    notes = []
    if t_enc.cut or s_enc.cut:
        notes.append(
            f"{max(t_enc.cut, s_enc.cut)} of {len(segments)} segments ran past seq_len on one "
            "side; their tails are in no chunk"
        )
    sides = _Sides(
        teacher_rows=t_enc.ids,
        student_rows=s_enc.ids,
        teacher_vocab=t_vocab,
        student_vocab=s_vocab,
        teacher_pad=_pad_id(t_tok),
        student_pad=_pad_id(s_tok),
    )
    return sides, notes


def _projector(
    cfg: DistillConfig, teacher: Any, student: Any, device: str
) -> torch.nn.Module | None:
    if "latents" not in cfg.losses:
        return None
    return losses.LatentProjector(student.config.hidden_size, teacher.config.hidden_size).to(
        device
    )


@dataclass
class _Loop:
    """The state one optimizer step reads and updates."""

    cfg: DistillConfig
    par: Parallel
    sides: _Sides
    segments: data.Segments
    teacher: Any
    model: Any
    wrapped: Any
    optimizer: torch.optim.Optimizer
    named: list[tuple[str, torch.Tensor]]
    last_params: list[torch.Tensor]
    projector: torch.nn.Module | None
    autocast: Callable[[], Any]
    spaces: tuple[torch.Tensor, torch.Tensor]
    invalid: tuple[torch.Tensor | None, torch.Tensor | None]
    metrics: list[dict[str, Any]]
    _clock: float = field(default_factory=time.monotonic)

    def micro_batches(self, step: int) -> Iterator[Batch]:
        cfg, par = self.cfg, self.par
        for m in range(cfg.grad_accum):
            index = (step * cfg.grad_accum + m) * par.world + par.rank
            yield self.sides.batch(self.segments.micro_batch(index, cfg.batch_size)).to(
                par.device
            )

    def step(self, step: int, ckpt_root: Path) -> None:
        cfg, par = self.cfg, self.par
        batches = list(self.micro_batches(step))
        outs: list[TeacherOut] = [
            teacher_pass(
                self.teacher,
                b,
                cfg,
                space_mask=self.spaces[0],
                invalid_ids=self.invalid[0],
                autocast=self.autocast,
            )
            for b in batches
        ]
        denominators = {
            "alm": par.all_sum(sum(o.weight for o in outs)),
            "sft": par.all_sum(float(sum(b.sft_tokens for b in batches))),
            "latents": par.all_sum(sum(o.latent_count for o in outs)),
        }
        for g in self.optimizer.param_groups:
            g["lr"] = cfg.lr_at(step)
        self.optimizer.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        stats: dict[str, float] = {}
        for i, (b, o) in enumerate(zip(batches, outs, strict=True)):
            with par.no_sync(self.wrapped, sync=i == len(batches) - 1):
                parts, st = student_losses(
                    self.wrapped,
                    b,
                    o,
                    cfg,
                    denominators=denominators,
                    space_mask=self.spaces[1],
                    invalid_ids=self.invalid[1],
                    projector=self.projector,
                    autocast=self.autocast,
                )
                names = list(parts)
                weights = self._weights(names, [parts[n] for n in names])
                total = sum(w * parts[n] for w, n in zip(weights, names, strict=True))
                assert isinstance(total, torch.Tensor)
                # DDP averages gradients over processes; the losses are already global sums.
                scaled: Any = total * par.world
                scaled.backward()
            for n in names:
                totals[n] = totals.get(n, 0.0) + float(parts[n].detach())
            totals["loss"] = totals.get("loss", 0.0) + float(total.detach())
            for k, v in st.items():
                # Counts add up over micro-batches; the mean chunk scores are averaged.
                share = v / len(batches) if k.endswith("logp") else v
                stats[k] = stats.get(k, 0.0) + share
        for key in list(totals):
            totals[key] = par.all_sum(totals[key])
        if not math.isfinite(totals["loss"]):
            raise TrainingError(
                f"the loss became {totals['loss']} at step {step + 1}; nothing was saved from "
                "this step on",
                hint=f"the last good checkpoint (if any) is in {ckpt_root}; lower {{lr}} or "
                "resume from it with {resume}",
            )
        params = [p for _, p in self.named]
        norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.clip))
        self.optimizer.step()
        now = time.monotonic()
        row: dict[str, Any] = {
            "step": step + 1,
            "loss": totals.pop("loss"),
            **{f"loss_{k}": v for k, v in totals.items()},
            "lr": cfg.lr_at(step),
            "grad_norm": norm,
            "seconds": now - self._clock,
            **stats,
        }
        self._clock = now
        if par.device.startswith("cuda"):
            row["gpu_peak_mib"] = torch.cuda.max_memory_allocated(par.device) / 2**20
        self.log(row, ckpt_root)

    def _weights(self, names: list[str], parts: list[torch.Tensor]) -> list[float]:
        cfg = self.cfg
        if len(parts) == 1:
            return [1.0]
        if cfg.aggregation == "sum":
            return list(cfg.loss_weights) or [1.0] * len(parts)
        w = losses.gradmag_weights(parts, self.last_params, preserve_mag=True)
        return [float(x) for x in w]

    def log(self, row: dict[str, Any], ckpt_root: Path) -> None:
        self.metrics.append(row)
        if self.par.main:
            checkpoint.append_metrics(ckpt_root, [row])

    def checkpoint(self, step: int, root: Path, fingerprint: str) -> None:
        checkpoint.save(
            root,
            step,
            fingerprint=fingerprint,
            named_params=self.named,
            optimizer=self.optimizer,
            metrics=self.metrics,
            keep=self.cfg.keep_checkpoints,
        )


def _save(
    out: Path,
    model: Any,
    tokenizer: Any,
    student_dir: Path,
    cfg: DistillConfig,
    report: dict[str, Any],
    metrics: list[dict[str, Any]],
    *,
    force: bool,
    inputs: list[str],
    state_dict: dict[str, Any] | None = None,
) -> None:
    """Write the student like a transplant: HF files, the student's tokenizer files byte for
    byte, ``tokkit.json`` (the student's, with a ``distill`` section), ``metrics.jsonl`` and
    ``distill.png``."""
    from tokkit.distill.plot import plot_metrics
    from tokkit.models import quiet_transformers
    from tokkit.models.compat import make_loadable_in_4x
    from tokkit.transplant.pipeline import TOKENIZER_FILES, copy_license

    adapter = cfg.mode == "lora" and not cfg.merge_lora
    final = model.merge_and_unload() if cfg.mode == "lora" and cfg.merge_lora else model
    with atomic_dir(out, force=force, inputs=inputs) as tmp, quiet_transformers():
        if state_dict is None:
            final.save_pretrained(tmp, safe_serialization=True)
        else:  # gathered from FSDP shards
            final.save_pretrained(tmp, safe_serialization=True, state_dict=state_dict)
        copied = False
        for name in TOKENIZER_FILES:
            if (student_dir / name).is_file():
                shutil.copyfile(student_dir / name, tmp / name)
                copied = True
        if not copied:
            tokenizer.save_pretrained(tmp)
        if not adapter:
            make_loadable_in_4x(tmp)
        meta: dict[str, Any] = {}
        src_meta = student_dir / "tokkit.json"
        if src_meta.is_file():
            with contextlib.suppress(OSError, ValueError):
                meta = json.loads(src_meta.read_text(encoding="utf-8"))
        meta["distill"] = report
        (tmp / "tokkit.json").write_text(dumps(meta), encoding="utf-8")
        (tmp / "metrics.jsonl").write_text(
            "".join(json.dumps(m) + "\n" for m in metrics), encoding="utf-8"
        )
        plot_metrics(metrics, tmp / "distill.png")
        copy_license(student_dir, tmp)
