"""The hypernetwork training loop (``tokkit hypernet train``; ``docs/design/hypernet.md`` §3).

Data flow::

    --data (tokkit.corpus) ─► held-out slice + packed segments ─► each step: a tokenizer
        (sampled UnigramLM, or a real one at real_rate) ─► its pieces' surface forms (base
        tokenizer's merges) ─► hypernetwork ─► predicted rows ─► frozen base LM on the step's
        sequences (next-token loss) + lexical loss ─► AdamW ─► metrics.jsonl, held-out bits per
        byte on a fixed sampled tokenizer, checkpoints ─► the hypernetwork directory

The first ``identity_steps`` steps are the identity warm-up: base tokens predicted from
themselves and from the two tokens their last merge joined, MSE to their own rows.

The hypernetwork runs once per step; each micro-batch's LM pass backpropagates into a detached
copy of the predicted rows, and their summed gradient then flows through the hypernetwork in one
backward pass, so memory holds one micro-batch's activations at a time. Under ``torchrun`` every
process draws the same tokenizer and DDP averages the hypernetwork's gradients (the losses are
divided by global token counts and scaled by the world size, as in ``tokkit distill``).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tokkit._io import atomic_dir, check_output_dir
from tokkit._progress import Progress, ProgressMode
from tokkit.distill import checkpoint, data
from tokkit.distill.parallel import Parallel, autocast_for, setup
from tokkit.exceptions import ConfigError, TrainingError
from tokkit.hypernet.alm import AlmObjective
from tokkit.hypernet.config import HypernetConfig
from tokkit.hypernet.lm import BaseLM, Sequences
from tokkit.hypernet.model import HyperNetwork
from tokkit.hypernet.sampling import StepTokenizers, StepVocab
from tokkit.hypernet.store import embedding_sha256, write_files
from tokkit.hypernet.surface import Decomposer

__all__ = ["HypernetResult", "default_data", "train_hypernet"]

#: The largest corpus read into memory.
MAX_DATA_BYTES = 2 << 30
#: The shipped corpora, the default data (a source checkout's corpora/ folder).
DEFAULT_CORPORA = ("tr.txt", "code.txt", "en-tech.txt", "en-prose.txt")
#: Base tokens per identity warm-up step.
IDENTITY_TOKENS = 2048
#: Bytes per token assumed when packing segments (sequences are cut at seq_len tokens).
SEGMENT_BYTES_PER_TOKEN = 4


@dataclass
class HypernetResult:
    """What a run wrote and measured."""

    out: Path
    steps: int
    metrics: list[dict[str, Any]]
    seconds: float
    checkpoint_dir: Path | None = None
    resumed_from: int | None = None
    main: bool = True

    def evaluations(self) -> list[dict[str, Any]]:
        """The evaluation rows (``step``, ``bits_per_byte``)."""
        return [m for m in self.metrics if "bits_per_byte" in m]


def default_data() -> list[Path]:
    """The shipped corpora of a source checkout.

    Raises:
        ConfigError: They are not there (an installed wheel ships no corpora).
    """
    root = Path(__file__).resolve().parents[3] / "corpora"
    files = [root / name for name in DEFAULT_CORPORA]
    if not all(f.is_file() for f in files):
        raise ConfigError(
            "no training data given, and the shipped corpora are not here (they come with a "
            "source checkout, not with the wheel)",
            hint="give training text with {data}",
        )
    return files


def _merge_parts(tokenizer_json: Path, rows: int) -> list[tuple[int, int, int]]:
    """(token, left, right) of every base merge whose three ids are model rows."""
    model = json.loads(tokenizer_json.read_text(encoding="utf-8")).get("model", {})
    vocab: dict[str, int] = model.get("vocab") or {}
    out = []
    for m in model.get("merges") or []:
        left, right = m.split(" ", 1) if isinstance(m, str) else m
        t, a, b = vocab.get(left + right), vocab.get(left), vocab.get(right)
        if t is not None and a is not None and b is not None and max(t, a, b) < rows:
            out.append((t, a, b))
    return out


def train_hypernet(
    model: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    config: HypernetConfig | None = None,
    data_paths: Any = None,
    text_field: str | None = None,
    force: bool = False,
    resume: str | os.PathLike[str] | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    progress: ProgressMode = "none",
    stop_after: int | None = None,
) -> HypernetResult:
    """Train a hypernetwork for the base model ``model`` and save it to ``out``.

    Args:
        model: A causal LM directory, prepared name or Hub id (frozen throughout).
        data_paths: Training text (files, directories, globs); default: the shipped corpora.
        resume: A checkpoint (or checkpoint directory: its latest) of this same run.
        checkpoint_dir: Where checkpoints and the live metrics.jsonl go (default
            ``<out>.checkpoints``).
        stop_after: Stop after this many steps without saving (tests of resume).

    Raises:
        ConfigError: Bad options, data too short, a checkpoint of another run.
        ModelError: ``model`` is not a causal LM.
        TrainingError: The loss became NaN or infinite.
        OutputExistsError: ``out`` exists and ``force`` is false.
    """
    from tokkit.corpus import read_documents
    from tokkit.models import load_causal_lm
    from tokkit.models import path as model_path
    from tokkit.score import resolve_context_token

    cfg = config or HypernetConfig()
    par = setup(device)
    device = par.device
    started = time.monotonic()
    out_path = Path(out)
    corpus = [str(p) for p in (data_paths if data_paths is not None else default_data())]
    if isinstance(data_paths, (str, os.PathLike)):
        corpus = [os.fspath(data_paths)]
    inputs = [str(model), *corpus, *cfg.real_tokenizers]
    check_output_dir(out_path, force=force, inputs=inputs)
    if resume is not None:
        checkpoint.latest(Path(resume))
    ckpt_root = Path(checkpoint_dir) if checkpoint_dir else out_path.with_name(
        out_path.name + ".checkpoints"
    )
    try:
        torch.manual_seed(cfg.seed)
        docs = read_documents(corpus, text_field=text_field, max_bytes=MAX_DATA_BYTES)
        train_texts, eval_texts = data.heldout_split(docs.texts, cfg.eval_bytes)
        segments = data.pack(train_texts, cfg.seq_len * SEGMENT_BYTES_PER_TOKEN)
        eval_segments = data.pack(eval_texts, cfg.seq_len * 2)
        if not segments or not eval_segments:
            raise ConfigError(
                "the training data is too short for one sequence and a held-out slice",
                hint="give more text with {data}",
            )
        base_dir = model_path(str(model))
        lm_model, base_tok = load_causal_lm(base_dir, device=device)
        lm = BaseLM(lm_model, resolve_context_token(base_dir, base_tok))
        base_json = base_dir / "tokenizer.json"
        if not base_json.is_file():
            raise ConfigError(f"{base_dir} has no tokenizer.json; the hypernetwork needs the "
                              "base tokenizer's model to decompose new tokens")
        E = lm.E.detach().float()
        U = None if lm.U is None else lm.U.detach().float()
        arch = cfg.arch.resolved(E.shape[1])
        net = HyperNetwork(arch, E, U).to(device)
        net.train()
        wrapped = par.wrap(net)
        dec = Decomposer(base_json, E.shape[0], arch.surface_maxlen)
        named: list[tuple[str, torch.Tensor]] = [
            (n, p) for n, p in net.named_parameters() if p.requires_grad
        ]
        optimizer = torch.optim.AdamW([p for _, p in named], lr=cfg.lr, betas=cfg.betas,
                                      weight_decay=cfg.weight_decay)
        fingerprint = _fingerprint(cfg, base_dir, docs.sha256, par.world)
        metrics: list[dict[str, Any]] = []
        start_step = resumed_from = 0
        if resume is not None:
            ck = checkpoint.load(Path(resume), fingerprint)
            checkpoint.restore(named, optimizer, ck,
                               hint="resume with the architecture of the run that wrote it")
            metrics, start_step = ck.metrics, ck.step
            resumed_from = ck.step
            if par.main:
                checkpoint.append_metrics(ckpt_root, metrics, fresh=True)
        loop = _Loop(cfg=cfg, par=par, net=net, wrapped=wrapped, lm=lm, dec=dec,
                     optimizer=optimizer, named=named, segments=segments,
                     order=data.Segments(len(segments), cfg.seed),
                     merges=_merge_parts(base_json, E.shape[0]),
                     autocast=autocast_for(cfg.bf16, device), metrics=metrics,
                     ckpt_root=ckpt_root,
                     alm=AlmObjective(lm, base_tok, cfg.seq_len) if cfg.objective == "alm"
                     else None)
        eval_tok = loop.tokenizers.replay(loop.start_chunks(), loop.global_texts, start_step,
                                          loop.global_batch)
        eval_vocab = StepVocab(eval_tok.pieces(), eval_tok.encode_batch(eval_segments), "eval")

        def evaluate(step: int) -> None:
            if par.main:
                bpb, loss = loop.evaluate(eval_vocab)
                loop.log({"step": step, "split": "eval", "loss": loss, "bits_per_byte": bpb,
                          "eval_vocab": len(eval_vocab.pieces)})
            par.barrier()

        end = cfg.max_steps if stop_after is None else min(cfg.max_steps, stop_after)
        if start_step == 0:
            evaluate(0)
        with Progress("hypernet", end - start_step, mode=progress if par.main else "none",
                      unit="steps") as bar:
            for step in range(start_step, end):
                loop.step(step)
                bar.advance(1)
                done = step + 1
                if cfg.eval_every and done % cfg.eval_every == 0 and done < cfg.max_steps:
                    evaluate(done)
                if cfg.checkpoint_every and done % cfg.checkpoint_every == 0 and par.main:
                    loop.checkpoint(done, fingerprint)
        if end < cfg.max_steps:
            if par.main and not (cfg.checkpoint_every and end % cfg.checkpoint_every == 0):
                loop.checkpoint(end, fingerprint)
            return HypernetResult(out_path, end, metrics, time.monotonic() - started,
                                  ckpt_root, resumed_from or None, par.main)
        evaluate(cfg.max_steps)
        if par.main:
            base = {
                "model": str(model),
                "path": str(base_dir),
                "rows": E.shape[0],
                "width": E.shape[1],
                "untied": U is not None,
                "embedding_sha256": embedding_sha256(E, U),
                "context_token": lm.context,
            }
            training = {"config": cfg.to_json(), "steps": cfg.max_steps,
                        "processes": par.world, "data_sha256": docs.sha256,
                        "resumed_from": resumed_from or None}
            _save(out_path, net, base, base_json, loop.fallback_seen, training, metrics,
                  force=force, inputs=inputs)
        par.barrier()
        return HypernetResult(out_path, cfg.max_steps, metrics, time.monotonic() - started,
                              ckpt_root, resumed_from or None, par.main)
    finally:
        par.close()


def _fingerprint(cfg: HypernetConfig, base_dir: Path, data_sha: str, world: int) -> str:
    import hashlib

    parts = [cfg.fingerprint(), str(base_dir.resolve()), data_sha, str(world)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


@dataclass
class _Loop:
    """The state one optimizer step reads and updates."""

    cfg: HypernetConfig
    par: Parallel
    net: HyperNetwork
    wrapped: Any
    lm: BaseLM
    dec: Decomposer
    optimizer: torch.optim.Optimizer
    named: list[tuple[str, torch.Tensor]]
    segments: list[str]
    order: data.Segments
    merges: list[tuple[int, int, int]]
    autocast: Any
    metrics: list[dict[str, Any]]
    ckpt_root: Path
    alm: AlmObjective | None = None
    fallback_seen: set[int] = field(default_factory=set)
    _clock: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokenizers = StepTokenizers(self.cfg)

    @property
    def global_batch(self) -> int:
        return self.cfg.batch_size * self.cfg.grad_accum * self.par.world

    def start_chunks(self) -> list[list[str]]:
        """The texts the sampler's queue starts with, in batch-sized chunks."""
        first = self.segments[: self.cfg.queue_texts]
        b = self.global_batch
        return [first[i : i + b] for i in range(0, len(first), b)]

    def _indices(self, step: int, micro: int, rank: int) -> list[int]:
        index = (step * self.cfg.grad_accum + micro) * self.par.world + rank
        return self.order.micro_batch(index, self.cfg.batch_size)

    def global_texts(self, step: int) -> list[str]:
        """Every process's texts of ``step``, in one order."""
        return [self.segments[i] for m in range(self.cfg.grad_accum)
                for r in range(self.par.world) for i in self._indices(step, m, r)]

    def step(self, step: int) -> None:
        cfg, par = self.cfg, self.par
        for g in self.optimizer.param_groups:
            g["lr"] = cfg.lr_at(step)
        self.optimizer.zero_grad(set_to_none=True)
        row = self._identity_step(step) if cfg.is_identity_step(step) else self._lm_step(step)
        norm = float(torch.nn.utils.clip_grad_norm_([p for _, p in self.named], cfg.clip))
        if not math.isfinite(row["loss"]):
            raise TrainingError(
                f"the loss became {row['loss']} at step {step + 1}",
                hint=f"the last good checkpoint (if any) is in {self.ckpt_root}; lower {{lr}} "
                "or resume from it with {resume}",
            )
        self.optimizer.step()
        now = time.monotonic()
        row.update(step=step + 1, lr=cfg.lr_at(step), grad_norm=norm, seconds=now - self._clock)
        self._clock = now
        if par.device.startswith("cuda"):
            row["gpu_peak_mib"] = torch.cuda.max_memory_allocated(par.device) / 2**20
        self.log(row)

    def _identity_step(self, step: int) -> dict[str, Any]:
        """Base tokens from themselves (the identity) and from their merge parts."""
        rng = random.Random(self.cfg.seed * 7_919 + step)
        picked = rng.sample(self.merges, min(len(self.merges), IDENTITY_TOKENS // 2))
        tokens = [t for t, _, _ in picked]
        surface = torch.tensor([[t, -1] for t in tokens] + [[a, b] for _, a, b in picked],
                               device=self.par.device)
        target = torch.tensor(tokens + tokens, device=self.par.device)
        e, u = self.wrapped(surface)
        loss = _relative_mse(e, self.net.base[target, : self.net.width])
        if u is not None:
            loss = loss + _relative_mse(u, self.net.base[target, self.net.width :])
        _backward(loss)
        return {"loss": float(loss.detach()), "loss_identity": float(loss.detach()),
                "phase": "identity"}

    def _lm_step(self, step: int) -> dict[str, Any]:
        cfg, par = self.cfg, self.par
        micro_indices = [self._indices(step, m, par.rank) for m in range(cfg.grad_accum)]
        local = [self.segments[i] for idx in micro_indices for i in idx]
        vocab = self.tokenizers.for_step(step, self.global_texts(step), local)
        decomposed = self.dec.ids(vocab.pieces)  # once: surfaces, fallback bytes, singles
        self.fallback_seen |= self.dec.fallback_of(decomposed)
        surface = self.dec.surface_of(decomposed, par.device)
        e, u = self.wrapped(surface)
        e_leaf = e.detach().requires_grad_(True)
        u_leaf = None if u is None else u.detach().requires_grad_(True)
        seqs = []
        for m in range(cfg.grad_accum):
            rows = vocab.rows[m * cfg.batch_size : (m + 1) * cfg.batch_size]
            seqs.append(Sequences.of(rows, vocab.pieces, cfg.seq_len,
                                     self.lm.context is not None, par.device))
        tokens = par.all_sum(float(sum(s.targets for s in seqs)))
        n_bytes = par.all_sum(float(sum(s.n_bytes for s in seqs)))
        if self.alm is None:
            main = self._clm(seqs, e_leaf, u_leaf, tokens)
        else:
            texts = [local[m * cfg.batch_size : (m + 1) * cfg.batch_size]
                     for m in range(cfg.grad_accum)]
            main = self._alm(texts, seqs, vocab.pieces, e_leaf, u_leaf)
        # Single base tokens: the lexical loss pulls them to their own rows.
        single = [i for i, r in enumerate(decomposed) if len(r) == 1 and r[0] < self.net.rows]
        lexical = torch.zeros((), device=par.device)
        if single and cfg.lexical_weight > 0:
            idx = torch.tensor(single, device=par.device)
            ids = surface[idx, 0]
            lexical = _relative_mse(e[idx], self.net.base[ids, : self.net.width])
            if u is not None:
                lexical = lexical + _relative_mse(u[idx], self.net.base[ids, self.net.width :])
        # (pred · grad).sum() backpropagates the rows' accumulated gradient in one pass.
        surrogate = cfg.lexical_weight * lexical
        if e_leaf.grad is not None:
            surrogate = surrogate + (e * e_leaf.grad).sum()
        if u is not None and u_leaf is not None and u_leaf.grad is not None:
            surrogate = surrogate + (u * u_leaf.grad).sum()
        _backward(surrogate)
        name, value = main
        row = {
            "loss": value + cfg.lexical_weight * float(lexical.detach()),
            f"loss_{name}": value,
            "loss_lexical": float(lexical.detach()),
        }
        if name == "clm":
            row["bits_per_byte_train"] = value * tokens / max(n_bytes, 1.0) / math.log(2)
        return {
            **row,
            "vocab": len(vocab.pieces),
            "tokenizer": vocab.source,
            "bytes_per_token": n_bytes / max(tokens, 1.0),
        }

    def _clm(self, seqs: list[Sequences], e: torch.Tensor, u: torch.Tensor | None,
             tokens: float) -> tuple[str, float]:
        """Next-token loss per micro-batch, backpropagated into the detached rows ``e``/``u``;
        the mean over the global batch's tokens."""
        par = self.par
        nll = 0.0
        for s in seqs:
            part = self.lm.nll(s, e, u, self.autocast)
            _backward(part * par.world / max(tokens, 1.0))
            nll += float(part.detach())
        return "clm", par.all_sum(nll) / max(tokens, 1.0)

    def _alm(self, texts: list[list[str]], seqs: list[Sequences], pieces: list[bytes],
             e: torch.Tensor, u: torch.Tensor | None) -> tuple[str, float]:
        """ALM against the base model on its own tokenization: teacher passes first (their
        chunk weights are the global denominator), then each micro-batch's student loss."""
        assert self.alm is not None
        par = self.par
        batches = [self.alm.batch(t, s, pieces) for t, s in zip(texts, seqs, strict=True)]
        outs = [self.alm.teacher(b, self.autocast) for b in batches]
        denominator = max(par.all_sum(sum(o.weight for o in outs)), 1.0)
        total = 0.0
        for b, o in zip(batches, outs, strict=True):
            loss = self.alm.student_loss(b, o, denominator, pieces, e, u, self.autocast)
            _backward(loss * par.world)
            total += float(loss.detach())
        return "alm", par.all_sum(total)

    @torch.no_grad()
    def evaluate(self, vocab: StepVocab) -> tuple[float, float]:
        """Held-out bits per byte of the base LM under predicted rows for ``vocab``, and its
        mean next-token loss (nats per token)."""
        self.net.eval()
        e, u = self.net(self.dec.surface(vocab.pieces, self.par.device))
        self.net.train()
        total = n_bytes = tokens = 0.0
        bs = self.cfg.batch_size
        for i in range(0, len(vocab.rows), bs):
            s = Sequences.of(vocab.rows[i : i + bs], vocab.pieces, self.cfg.seq_len,
                             self.lm.context is not None, self.par.device)
            total += float(self.lm.nll(s, e, u, self.autocast))
            n_bytes += s.n_bytes
            tokens += s.targets
        return total / max(n_bytes, 1.0) / math.log(2), total / max(tokens, 1.0)

    def log(self, row: dict[str, Any]) -> None:
        self.metrics.append(row)
        if self.par.main:
            checkpoint.append_metrics(self.ckpt_root, [row])

    def checkpoint(self, step: int, fingerprint: str) -> None:
        checkpoint.save(self.ckpt_root, step, fingerprint=fingerprint, named_params=self.named,
                        optimizer=self.optimizer, metrics=self.metrics,
                        keep=self.cfg.keep_checkpoints)


def _backward(loss: torch.Tensor) -> None:
    untyped: Any = loss  # torch's backward is untyped
    untyped.backward()


def _relative_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """sum ||pred - target||^2 / sum ||target||^2: ZeTT's lexical loss, normalised by the
    targets' norm."""
    return ((pred - target) ** 2).sum() / (target**2).sum().clamp(min=1e-12)


def _save(out: Path, net: HyperNetwork, base: dict[str, Any], base_json: Path,
          fallback: set[int], training: dict[str, Any], metrics: list[dict[str, Any]], *,
          force: bool, inputs: list[str]) -> None:
    from tokkit.distill.plot import plot_metrics

    with atomic_dir(out, force=force, inputs=inputs) as tmp:
        write_files(tmp, net, base=base, base_tokenizer=base_json, fallback_trained=fallback,
                    training=training)
        (tmp / "metrics.jsonl").write_text(
            "".join(json.dumps(m) + "\n" for m in metrics), encoding="utf-8"
        )
        plot_metrics(metrics, tmp / "hypernet.png")
