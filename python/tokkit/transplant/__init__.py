"""Give a pretrained causal LM a new tokenizer (``tokkit transplant``;
``docs/design/transplant.md``).

Data flow::

    base model dir ──► base E (and U if untied), base tokenizer ─┐
    new tokenizer (dir | tokenizer.json | model dir) ────────────┼─► canonical keys (tokkit.vocab)
    donor model (OMP only; must speak the new tokenizer) ────────┘       │
                                                                          ▼
          shared tokens: base rows copied bit-exact   new tokens: rows from a method (methods.py)
                                                                          │
                                                                          ▼
          resized embeddings/head, config and generation config with the new special ids,
          save_pretrained (safetensors) + the new tokenizer + tokkit.json, written atomically

Everything is computed in float32 (OMP's small solves in float64) on the chosen device and
written in the base model's dtype. Every tensor but the embeddings and an untied head is copied
unchanged.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit._io import atomic_dir, check_output_dir, dumps
from tokkit._progress import ProgressMode
from tokkit.exceptions import (
    ConfigError,
    TokenizerNotFoundError,
    TransplantError,
    TransplantWarning,
)
from tokkit.transplant.methods import (
    METHODS,
    OmpOptions,
    Problem,
    TokenAdaptOptions,
    focus_rows,
    mean_rows,
    omp_rows,
    random_rows,
    tokenadapt_rows,
)
from tokkit.vocab import Matching, Vocab, match_vocabularies, mergekit_keys, vocab_from_hf

if TYPE_CHECKING:
    import torch

__all__ = ["METHODS", "TransplantResult", "load_tokenizer", "transplant"]


@dataclass
class TransplantResult:
    """What :func:`transplant` did. ``report`` is also written to ``tokkit.json``."""

    out: Path | None
    rows: int
    shared: int
    new: int
    junk: list[int]
    masked_ids: list[int]
    warnings: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    tokenizer: Any = None


def load_tokenizer(path: str | os.PathLike[str]) -> Any:
    """A ``transformers`` fast tokenizer from a tokenizer directory, a ``tokenizer.json`` file or
    a model directory (its tokenizer is taken). Never runs custom code."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    p = Path(path)
    if p.is_file():
        if p.suffix != ".json":
            raise TokenizerNotFoundError(
                f"{p}: expected a tokenizer.json or a directory with one (convert other formats "
                "with `tokkit.load(...)` and save as tokenizer.json first)"
            )
        if (p.parent / "tokenizer_config.json").exists():
            return AutoTokenizer.from_pretrained(p.parent, trust_remote_code=False)
        fast: Any = PreTrainedTokenizerFast  # untyped constructor
        return fast(tokenizer_file=str(p))
    if not (p / "tokenizer.json").exists():
        raise TokenizerNotFoundError(
            f"{p}: no tokenizer.json there; pass a tokenizer directory, a tokenizer.json, or a "
            "model directory that ships its tokenizer"
        )
    return AutoTokenizer.from_pretrained(p, trust_remote_code=False)


def _resolve_tokenizer_path(path: str | os.PathLike[str]) -> Path:
    """An existing path as given; else a ``tokkit models`` name, prepared if needed."""
    p = Path(path)
    if p.exists():
        return p
    from tokkit import models

    if str(path) in models.REGISTRY:
        return models.path(str(path))
    raise TokenizerNotFoundError(
        f"{path}: no such tokenizer file or directory, and not a prepared model name "
        f"({', '.join(models.REGISTRY)})"
    )


def _tokenizer_sha(path: Path) -> str | None:
    from tokkit.models import sha256_file

    f = path if path.is_file() else path / "tokenizer.json"
    return sha256_file(f) if f.exists() else None


@dataclass
class _Side:
    path: Path
    model: Any
    tokenizer: Any
    vocab: Vocab
    rows: int
    tied: bool


def _load_side(path: str | os.PathLike[str], *, device: str) -> _Side:
    from tokkit import models

    p = models.path(str(path))
    loaded: Any
    loaded, tok = models.load_causal_lm(p, dtype=_stored_dtype(p), device=device)
    model = loaded
    emb = model.get_input_embeddings().weight
    head = model.get_output_embeddings()
    tied = head is None or head.weight is emb or head.weight.data_ptr() == emb.data_ptr()
    return _Side(p, model, tok, vocab_from_hf(tok), int(emb.shape[0]), bool(tied))


def _stored_dtype(model_dir: Path) -> str:
    """The dtype the weights are stored in, so copied rows stay bit-exact."""
    try:
        cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "float32"
    name = cfg.get("dtype") or cfg.get("torch_dtype") or "float32"
    return str(name).removeprefix("torch.")


def _junk_ids(side: _Side, what: str, warns: list[str]) -> list[int]:
    """Tokenizer ids with no row in the model (design/transplant.md §1); too many means the
    wrong tokenizer."""
    junk = [i for i in side.vocab.keys if i >= side.rows]
    if len(junk) > len(side.vocab.keys) // 2:
        raise TransplantError(
            f"{what} {side.path}: its tokenizer has {side.vocab.size} ids but the model only "
            f"{side.rows} embedding rows; is this the model's own tokenizer?"
        )
    if junk:
        warns.append(
            f"{what}: {len(junk)} tokenizer ids ≥ the model's {side.rows} rows are ignored"
        )
    return junk


def _decomposer(tok: Any, vocab: Vocab, rows: int) -> Any:
    """Base-tokenizer pieces of byte strings: the tokenizer's own encoding when it reproduces
    the bytes exactly, else a greedy longest match over the base vocabulary (partial UTF-8)."""
    rep = vocab.representatives(rows)
    by_bytes = {k[2]: i for k, i in rep.items() if not k[0] and k[2]}
    longest = max((len(b) for b in by_bytes), default=1)

    def greedy(raw: bytes) -> list[int]:
        out, pos = [], 0
        while pos < len(raw):
            for n in range(min(longest, len(raw) - pos), 0, -1):
                j = by_bytes.get(raw[pos : pos + n])
                if j is not None:
                    out.append(j)
                    pos += n
                    break
            else:
                pos += 1  # a byte the base cannot spell at all
        return out

    def decompose(raws: list[bytes]) -> list[list[int]]:
        texts: list[str | None] = []
        for raw in raws:
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(None)
        valid = [t for t in texts if t]
        encoded = iter(tok(valid, add_special_tokens=False)["input_ids"]) if valid else iter(())
        out: list[list[int]] = []
        for raw, text in zip(raws, texts, strict=True):
            if not text:
                out.append(greedy(raw) if raw else [])
                continue
            ids = list(next(encoded))
            if all(i < rows for i in ids) and b"".join(vocab.keys[i][2] for i in ids) == raw:
                out.append(ids)
            else:
                out.append(greedy(raw))
        return out

    return decompose


def _mergekit_matching(base: _Side, new_tok: Any, new_vocab: Vocab, skip: list[int]) -> Matching:
    bk = mergekit_keys(base.vocab, base.tokenizer.special_tokens_map)
    nk = mergekit_keys(new_vocab, new_tok.special_tokens_map)
    by_key = {key: i for i, key in bk.items() if i < base.rows}
    copy: dict[int, int] = {}
    new: list[int] = []
    skip_set = set(skip)
    for i in sorted(new_vocab.keys):
        if i in skip_set:
            continue
        j = by_key.get(nk.get(i)) if i in nk else None
        if j is None:
            new.append(i)
        else:
            copy[i] = j
    return Matching(copy=copy, new=new, junk=sorted(skip_set))


def _check_specials(base: _Side, new_tok: Any, new_vocab: Vocab, allow: bool) -> None:
    """The new tokenizer must be able to end a sequence if the model could."""
    if allow:
        return
    if "eos" in base.vocab.roles and "eos" not in new_vocab.roles:
        raise TransplantError(
            f"the model has an end-of-sequence token ({base.vocab.roles['eos']!r}) but the new "
            "tokenizer has none, so the transplanted model could not stop generating",
            hint="train the tokenizer with {special_tokens} '<|endoftext|>' (or the model's own), "
            "or pass {allow_missing_specials=True}",
        )


def _numeric_warning(base: _Side, new_tok: Any, new_vocab: Vocab) -> str | None:
    from tokkit.transplant import numeric

    def pieces(tok: Any, vocab: Vocab) -> Any:
        def f(text: str) -> list[bytes]:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            return [vocab.keys[i][2] if i in vocab.keys else b"" for i in ids]

        return f

    diffs = numeric.compare(pieces(base.tokenizer, base.vocab), pieces(new_tok, new_vocab))
    return numeric.warning(diffs)


def _chat_template_ok(template: str, new_vocab: Vocab) -> bool:
    specials = {new_vocab.strings[i] for i in new_vocab.special_ids}
    import re

    used = set(re.findall(r"<[|\w][^<>\s]*>", template))
    return used <= specials | {s for s in new_vocab.strings.values()}


def transplant(
    model: str | os.PathLike[str],
    tokenizer: str | os.PathLike[str],
    *,
    method: str = "omp",
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
    donor: str | os.PathLike[str] | None = None,
    k: int = 64,
    omp_select: str = "raw",
    omp_tol: float = 1e-6,
    omp_search: str = "screened",
    omp_refresh: int = 1,
    batch_size: int = 128,
    mergekit_compat: bool = False,
    temperature: float = 0.3,
    top_k: int = 3,
    global_weight: float = 0.3,
    threshold: float = 0.0,
    encoder: str = "minilm-l6",
    seed: int = 0,
    pad_to_multiple_of: int | None = None,
    copy_chat_template: bool = False,
    allow_missing_specials: bool = False,
    untie_output: str | None = None,
    mix_mean: float = 0.0,
    device: str = "cpu",
    progress: ProgressMode = "none",
) -> TransplantResult:
    """Transplant ``model`` onto ``tokenizer`` and (with ``out``) save it in HF format.

    Args:
        model: Base model directory (HF safetensors) or a ``tokkit models`` name.
        tokenizer: The new tokenizer: a directory, a ``tokenizer.json`` or a model directory.
        method: ``omp`` (needs a donor that speaks the new tokenizer), ``tokenadapt``, ``mean``,
            ``focus`` or ``random``.
        donor: OMP donor model; defaults to ``tokenizer`` when that is a model directory.
        k: OMP sparsity (clamped to the donor's hidden size and the anchor count).
        omp_select: ``raw`` inner products (mergekit) or ``cosine``.
        omp_search: ``screened`` (exact, bf16-screened) or ``full`` (plain float32 GEMM, the
            reference).
        omp_refresh: Longest gap between full screens of the anchors; in between, each target
            chooses from a 128-atom shortlist (faster, approximate; ``1``: exact). See
            :func:`tokkit.transplant.omp.next_screen`.
        mergekit_compat: Match tokens as mergekit-tokensurgeon does (its quirks included).
        temperature, top_k, global_weight, threshold, encoder: TokenAdapt parameters.
        pad_to_multiple_of: Pad the embedding rows (extra rows are zero and masked).
        copy_chat_template: Carry the base chat template over when the new tokenizer has none
            and every special token it uses exists in the new vocabulary.
        untie_output: ``"mean"``: for a model that ties its input and output embeddings, give
            the output layer its own matrix, whose new rows are the subword mean, while the
            method's rows stay the inputs. The output layer then predicts a new token from
            the pieces the model used to predict; it doubles the embedding parameters.
        mix_mean: Weight ``w`` of the subword mean in every new row (of the inputs, and of an
            untied head): ``(1 - w) · method row + w · mean row``. ``0`` (default) keeps the
            method's rows as published. OMP rows fit the donor's geometry but miss the prior a
            tied model's hidden states give a word's first piece, which the mean carries;
            ``0.5`` beats both alone onto a much larger vocabulary (docs/benchmarks.md).
        device: ``cpu``, ``cuda``, ``cuda:1``...

    Returns:
        A :class:`TransplantResult`; with ``out=None`` its ``model``/``tokenizer`` hold the
        transplanted pair in memory.
    """
    import torch

    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if k < 1:
        raise ConfigError(f"k must be at least 1, not {k}")
    if omp_select not in ("raw", "cosine"):
        raise ConfigError(f"omp_select must be raw or cosine, not {omp_select!r}")
    if out is not None:
        check_output_dir(out, force=force)
    started = time.perf_counter()
    from tokkit import models

    if untie_output not in (None, "mean"):
        raise ConfigError(f"untie_output takes 'mean', not {untie_output!r}")
    if not 0.0 <= mix_mean <= 1.0:
        raise ConfigError(f"mix_mean is a weight between 0 and 1, not {mix_mean}")
    model = models.path(str(model))  # a missing model is reported before the tokenizer
    tokenizer = _resolve_tokenizer_path(tokenizer)
    warns: list[str] = []
    base = _load_side(model, device=device)
    new_tok = load_tokenizer(tokenizer)
    new_vocab = vocab_from_hf(new_tok)
    _check_specials(base, new_tok, new_vocab, allow_missing_specials)
    _junk_ids(base, "base model", warns)

    donor_side: _Side | None = None
    if method == "omp":
        donor_path = donor
        if (
            donor_path is None
            and Path(tokenizer).is_dir()
            and (Path(tokenizer) / "config.json").exists()
        ):
            donor_path = tokenizer
        if donor_path is None:
            raise ConfigError(
                "method omp needs a donor model that already speaks the new tokenizer",
                hint="pass {donor}, or a model directory as {tokenizer}; without one use "
                "{method=tokenadapt}",
            )
        donor_side = _load_side(donor_path, device=device)
        if donor_side.vocab.keys != new_vocab.keys:
            raise TransplantError(
                f"the donor {donor_side.path} does not speak the new tokenizer (their "
                "vocabularies differ)",
                hint="OMP needs the donor's own tokenizer as {tokenizer}",
            )
    junk = [i for i in new_vocab.keys if i >= donor_side.rows] if donor_side is not None else []
    if junk:
        warns.append(f"donor: {len(junk)} ids ≥ its {donor_side.rows} rows become zero rows")  # type: ignore[union-attr]
    matching = (
        _mergekit_matching(base, new_tok, new_vocab, junk)
        if mergekit_compat
        else match_vocabularies(base.vocab, new_vocab, base_rows=base.rows, skip=junk)
    )
    if not matching.copy:
        raise TransplantError(
            "the new tokenizer shares no token with the model's, so nothing anchors the new rows",
            hint="check that {model} and {tokenizer} are what you meant",
        )
    numeric_warn = _numeric_warning(base, new_tok, new_vocab)
    if numeric_warn:
        warns.append(numeric_warn)

    rows = max(len(new_vocab.keys), new_vocab.size)
    if pad_to_multiple_of:
        rows = -(-rows // pad_to_multiple_of) * pad_to_multiple_of
    emb = base.model.get_input_embeddings()
    head = None if base.tied else base.model.get_output_embeddings()
    dtype = emb.weight.dtype
    base_e32 = emb.weight.detach().float()
    base_u32 = head.weight.detach().float() if head is not None else None
    problem = Problem(
        base_E=base_e32,
        base_U=base_u32,
        new_ids=matching.new,
        copy=matching.copy,
        new_bytes={i: key[2] for i, key in new_vocab.keys.items()},
        base_bytes={
            i: key[2] for i, key in base.vocab.keys.items() if i < base.rows and not key[0]
        },
        decompose=_decomposer(base.tokenizer, base.vocab, base.rows),
        seed=seed,
        progress=progress,
    )
    if untie_output and not base.tied:
        raise ConfigError(
            f"{base.path} already has its own output layer; untie_output is for models that "
            "tie it to the input embeddings"
        )
    new_e: torch.Tensor | None = None
    new_u: torch.Tensor | None = None
    if matching.new:
        if method == "omp":
            assert donor_side is not None
            d_emb = donor_side.model.get_input_embeddings().weight.detach().float()
            d_head = donor_side.model.get_output_embeddings()
            d_u = None if donor_side.tied or d_head is None else d_head.weight.detach().float()
            opts = OmpOptions(
                k=k,
                select=omp_select,
                tol=omp_tol,
                batch_size=batch_size,
                search=omp_search,
                refresh=omp_refresh,
            )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                new_e, new_u = omp_rows(problem, d_emb, d_u, opts)
            warns.extend(str(w.message) for w in caught)
        elif method == "tokenadapt":
            new_e, new_u = tokenadapt_rows(
                problem,
                TokenAdaptOptions(temperature, top_k, global_weight, threshold, encoder),
                device=device,
            )
        elif method == "mean":
            new_e, new_u = mean_rows(problem)
        elif method == "focus":
            new_e, new_u = focus_rows(problem, encoder=encoder, device=device)
        else:
            new_e, new_u = random_rows(problem)
        means = mean_rows(problem) if method != "mean" and (mix_mean or untie_output) else None
        if means is not None and mix_mean:
            new_e, new_u = _mix(new_e, means[0], mix_mean), _mix(new_u, means[1], mix_mean)
        if untie_output:
            new_u = new_e if means is None else means[0]
    if untie_output:  # until it is replaced below, the head's weight is the input matrix
        head = base.model.get_output_embeddings()

    def assemble(old: torch.Tensor, fresh: torch.Tensor | None) -> torch.Tensor:
        out_m = torch.zeros((rows, old.shape[1]), dtype=old.dtype, device=old.device)
        if matching.copy:
            dst = torch.tensor(sorted(matching.copy), device=old.device)
            src = torch.tensor([matching.copy[i] for i in sorted(matching.copy)], device=old.device)
            out_m[dst] = old[src]  # same dtype: bit-exact
        if fresh is not None and matching.new:
            out_m[torch.tensor(matching.new, device=old.device)] = fresh.to(old.dtype)
        return out_m

    with torch.no_grad():
        e_final = assemble(emb.weight.detach(), new_e)
        emb.weight = torch.nn.Parameter(e_final, requires_grad=False)
        emb.num_embeddings = rows
        if head is not None:
            head.weight = torch.nn.Parameter(
                assemble(head.weight.detach(), new_u), requires_grad=False
            )
            head.out_features = rows
    emb.padding_idx = None
    cfg = base.model.config
    cfg.vocab_size = rows
    if hasattr(cfg, "get_text_config"):
        cfg.get_text_config().vocab_size = rows
    if untie_output:
        cfg.tie_word_embeddings = False
        if hasattr(cfg, "get_text_config"):
            cfg.get_text_config().tie_word_embeddings = False
    elif base.tied:
        base.model.tie_weights()
    specials = {
        "bos_token_id": new_tok.bos_token_id,
        "eos_token_id": new_tok.eos_token_id,
        "pad_token_id": new_tok.pad_token_id,
    }
    for name, value in specials.items():
        setattr(cfg, name, value)
        if base.model.generation_config is not None:
            setattr(base.model.generation_config, name, value)
    template_copied = False
    if copy_chat_template and not getattr(new_tok, "chat_template", None):
        template = getattr(base.tokenizer, "chat_template", None)
        if template and _chat_template_ok(template, new_vocab):
            new_tok.chat_template = template
            template_copied = True
        elif template:
            warns.append("chat template not copied: it uses special tokens the new tokenizer lacks")
    masked = sorted(set(range(rows)) - set(new_vocab.keys) | set(junk))
    context_id = _context_token(base, new_vocab, matching)
    report: dict[str, Any] = {
        "kind": "transplant",
        "tokkit_version": _version(),
        "method": method,
        "parameters": _parameters(method, locals()),
        "base_model": _model_info(base),
        "donor": _model_info(donor_side) if donor_side is not None else None,
        "tokenizer": {
            "path": str(Path(tokenizer)),
            "vocab_size": len(new_vocab.keys),
            "sha256": _tokenizer_sha(Path(tokenizer)),
        },
        "rows": rows,
        "tied": base.tied and not untie_output,
        "shared_tokens": len(matching.copy),
        "new_tokens": len(matching.new),
        "junk_ids": junk,
        "masked_ids": masked,
        "context_token_id": context_id,
        "chat_template_copied": template_copied,
        "warnings": warns,
        "details": problem.report,
        "seconds": round(time.perf_counter() - started, 3),
    }
    for w in warns:
        warnings.warn(w, TransplantWarning, stacklevel=2)
    result = TransplantResult(
        out=None,
        rows=rows,
        shared=len(matching.copy),
        new=len(matching.new),
        junk=junk,
        masked_ids=masked,
        warnings=warns,
        report=report,
        model=base.model,
        tokenizer=new_tok,
    )
    if out is not None:
        from tokkit.models import quiet_transformers

        with atomic_dir(out, force=force) as tmp, quiet_transformers():
            base.model.save_pretrained(tmp, safe_serialization=True)
            new_tok.save_pretrained(tmp)
            (tmp / "tokkit.json").write_text(dumps(report), encoding="utf-8")
            _copy_license(base.path, tmp)
        result.out = Path(out)
    return result


def _mix(rows: torch.Tensor | None, mean: torch.Tensor | None, w: float) -> torch.Tensor | None:
    """``(1 - w) · rows + w · mean`` (``None`` where the matrix does not exist: a tied head)."""
    if rows is None or mean is None:
        return rows
    return rows.mul(1.0 - w).add_(mean, alpha=w)


def _context_token(base: _Side, new_vocab: Vocab, matching: Matching) -> int | None:
    """The new id that carries the row the base model sees before a document (its BOS, or the
    EOS separator), so that scoring and generation start the way the model was trained."""
    from tokkit.score import context_token

    base_ctx = context_token(base.tokenizer)
    if base_ctx is None:
        return None
    carriers = sorted(i for i, j in matching.copy.items() if j == base_ctx)
    for role in base.vocab.role_of(base_ctx):
        s = new_vocab.roles.get(role)
        for i in carriers:
            if new_vocab.strings.get(i) == s:
                return i
    return carriers[0] if carriers else None


def _copy_license(src: Path, dst: Path) -> None:
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md", "NOTICE", "USE_POLICY.md"):
        f = src / name
        if f.is_file():
            (dst / name).write_bytes(f.read_bytes())


def _model_info(side: _Side) -> dict[str, Any]:
    info: dict[str, Any] = {"path": str(side.path), "name": None, "license": None}
    meta = side.path / "tokkit.json"
    if meta.exists():
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            info["name"] = data.get("base_model") or data.get("hf_repo") or data.get("name")
            info["license"] = data.get("license")
        except (OSError, ValueError):
            pass
    readme = side.path / "README.md"
    if readme.exists() and (info["license"] is None or info["name"] is None):
        text = readme.read_text(encoding="utf-8", errors="replace")
        if text.startswith("---"):
            for line in text.split("---")[1].splitlines():
                key, _, value = line.partition(":")
                value = value.strip().strip("'\"")
                if key.strip() == "license" and info["license"] is None and value:
                    info["license"] = value
                if key.strip() == "base_model" and info["name"] is None and value:
                    info["name"] = value
    return info


def _parameters(method: str, scope: dict[str, Any]) -> dict[str, Any]:
    keys = {
        "omp": [
            "k",
            "omp_select",
            "omp_tol",
            "omp_search",
            "omp_refresh",
            "batch_size",
            "mergekit_compat",
        ],
        "tokenadapt": ["temperature", "top_k", "global_weight", "threshold", "encoder"],
        "focus": ["encoder"],
        "mean": [],
        "random": [],
    }[method]
    common = [
        "seed",
        "pad_to_multiple_of",
        "device",
        "copy_chat_template",
        "untie_output",
        "mix_mean",
    ]
    return {key: scope[key] for key in [*keys, *common]}


def _version() -> str:
    from tokkit import __version__

    return __version__
