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

:func:`transplant` runs the steps of :mod:`tokkit.transplant.pipeline` in order. A method is an
options object of :mod:`tokkit.transplant.methods` (``OMP(k=64)``, ``TokenAdapt()``...), or its
name for the defaults. Everything is computed in float32 (OMP's small solves in float64) on the
chosen device and written in the base model's dtype. Every tensor but the embeddings and an
untied head is copied unchanged.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokkit._io import check_output_dir
from tokkit._progress import ProgressMode
from tokkit.exceptions import ConfigError, TransplantError, TransplantWarning
from tokkit.transplant import extension, pipeline
from tokkit.transplant.methods import (
    METHODS,
    OMP,
    Focus,
    Mean,
    Method,
    Random,
    TokenAdapt,
    method_named,
)
from tokkit.transplant.pipeline import load_tokenizer
from tokkit.vocab import vocab_from_hf

__all__ = [
    "METHODS",
    "OMP",
    "Focus",
    "Mean",
    "Method",
    "Random",
    "TokenAdapt",
    "TransplantOptions",
    "TransplantReport",
    "TransplantResult",
    "load_tokenizer",
    "transplant",
]


@dataclass(frozen=True, kw_only=True)
class TransplantOptions:
    """What every method shares.

    Args:
        seed: Seed of random rows (``Random``, TokenAdapt's background).
        pad_to_multiple_of: Pad the embedding rows (extra rows are zero and masked).
        copy_chat_template: Carry the base chat template over when the new tokenizer has none
            and every special token it uses exists in the new vocabulary.
        allow_missing_specials: Allow a new tokenizer without an end-of-sequence token.
        untie_output: ``"mean"``: for a model that ties its input and output embeddings, give
            the output layer its own matrix, whose new rows are the subword mean, while the
            method's rows stay the inputs. It doubles the embedding parameters.
        mix_mean: Weight ``w`` of the subword mean in every new row (of the inputs, and of an
            untied head): ``(1 - w) · method row + w · mean row``. ``0`` keeps the method as
            published; ``0.5`` makes OMP beat both alone onto a much larger vocabulary
            (docs/benchmarks.md).
        mergekit_compat: Match tokens as mergekit-tokensurgeon does (its quirks included).
        device: ``cpu``, ``cuda``, ``cuda:1``...
        progress: ``bar``, ``jsonl`` or ``none``.
    """

    seed: int = 0
    pad_to_multiple_of: int | None = None
    copy_chat_template: bool = False
    allow_missing_specials: bool = False
    untie_output: str | None = None
    mix_mean: float = 0.0
    mergekit_compat: bool = False
    device: str = "cpu"
    progress: ProgressMode = "none"

    def __post_init__(self) -> None:
        if self.untie_output not in (None, "mean"):
            raise ConfigError(f"untie_output takes 'mean', not {self.untie_output!r}")
        if not 0.0 <= self.mix_mean <= 1.0:
            raise ConfigError(f"mix_mean is a weight between 0 and 1, not {self.mix_mean}")
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of < 1:
            raise ConfigError(f"pad_to_multiple_of must be positive, not {self.pad_to_multiple_of}")


@dataclass
class TransplantReport:
    """What a transplant did; :meth:`to_dict` is its ``tokkit.json``."""

    method: str
    parameters: dict[str, Any]
    base_model: dict[str, Any]
    donor: dict[str, Any] | None
    tokenizer: dict[str, Any]
    rows: int
    tied: bool
    shared_tokens: int
    new_tokens: int
    junk_ids: list[int]
    masked_ids: list[int]
    context_token_id: int | None
    context_base_token: str | None
    chat_template_copied: bool
    warnings: list[str]
    details: dict[str, Any]
    seconds: float
    #: Set when the new tokenizer extends the base's (design/transplant.md §10): base_tokens,
    #: new_tokens, base_rows, new_on_spare_rows, roles_carried.
    extension: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        from tokkit import __version__

        return {"kind": "transplant", "tokkit_version": __version__, **dataclasses.asdict(self)}


@dataclass
class TransplantResult:
    """What :func:`transplant` did: the report (also written to ``tokkit.json``) and, in memory,
    the transplanted model and its tokenizer."""

    out: Path | None
    report: TransplantReport
    model: Any = None
    tokenizer: Any = None
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.report.rows

    @property
    def shared(self) -> int:
        return self.report.shared_tokens

    @property
    def new(self) -> int:
        return self.report.new_tokens

    @property
    def junk(self) -> list[int]:
        return self.report.junk_ids

    @property
    def masked_ids(self) -> list[int]:
        return self.report.masked_ids


def transplant(
    model: str | os.PathLike[str],
    tokenizer: str | os.PathLike[str],
    method: Method | str = "omp",
    *,
    donor: str | os.PathLike[str] | None = None,
    options: TransplantOptions | None = None,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> TransplantResult:
    """Transplant ``model`` onto ``tokenizer`` and (with ``out``) save it in HF format.

    >>> from tokkit.transplant import OMP, TransplantOptions, transplant
    >>> transplant("smollm2-135m", "gemma3-270m", OMP(refresh=16),
    ...            options=TransplantOptions(mix_mean=0.5), out="smol-on-gemma")  # doctest: +SKIP

    Args:
        model: Base model directory (HF safetensors) or a ``tokkit models`` name.
        tokenizer: The new tokenizer: a directory, a ``tokenizer.json`` or a model directory.
        method: A method object (:data:`METHODS`: ``OMP``, ``TokenAdapt``, ``Mean``, ``Focus``,
            ``Random``) or its name for the default options.
        donor: OMP's donor model; defaults to ``tokenizer`` when that is a model directory.
        options: What every method shares (:class:`TransplantOptions`).
        out: Save there (written atomically); ``None`` keeps the result in memory only.
        force: Replace an existing ``out``.

    Returns:
        A :class:`TransplantResult`; its ``model``/``tokenizer`` hold the transplanted pair.
    """
    from tokkit import models

    method = method_named(method) if isinstance(method, str) else method
    if not isinstance(method, Method):
        raise ConfigError(f"method must be a name or a transplant method, not {method!r}")
    opts = options or TransplantOptions()
    if out is not None:
        inputs = [str(x) for x in (model, tokenizer, donor, *method.reads()) if x]
        check_output_dir(out, force=force, inputs=inputs)
    started = time.perf_counter()
    model = models.path(str(model))  # a missing model is reported before the tokenizer
    from tokkit.models import tokenizer_path

    tok_path = tokenizer_path(tokenizer)

    # 1. load
    base = pipeline.load_side(model, device=opts.device)
    new_tok = load_tokenizer(tok_path)
    new_vocab = vocab_from_hf(new_tok)
    # An extension's old ids are the base's ids: matched by identity, not by bytes, and the
    # base's roles fit it as they are, carried over where its files lack them
    # (design/transplant.md §10).
    # (--mergekit-compat reproduces mergekit's matching, which knows no extensions.)
    ext = None if opts.mergekit_compat else extension.detect(base.vocab, new_vocab, base.rows)
    carried = extension.carry_roles(base.tokenizer, new_tok) if ext is not None else []
    if carried:
        new_vocab = vocab_from_hf(new_tok)
    pipeline.check_specials(base, new_tok, new_vocab, opts.allow_missing_specials)
    if opts.untie_output and not base.tied:
        raise ConfigError(
            f"{base.path} already has its own output layer; untie_output is for models that "
            "tie it to the input embeddings"
        )
    donor_side = _load_donor(method, donor, tok_path, new_vocab, opts.device)

    # 2. match
    matched = pipeline.match(
        base,
        new_tok,
        new_vocab,
        donor_side,
        mergekit_compat=opts.mergekit_compat,
        extension=ext,
    )
    warns = list(matched.warnings)

    # 3. rows for the new tokens
    problem = pipeline.problem_of(
        base, new_vocab, matched.matching, seed=opts.seed, progress=opts.progress
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new_rows = pipeline.compute_rows(
            method,
            problem,
            pipeline.donor_of(donor_side) if donor_side is not None else None,
            device=opts.device,
            mix_mean=opts.mix_mean,
            untie_output=opts.untie_output,
        )
    warns.extend(str(w.message) for w in caught)

    # 4. assemble
    rows = pipeline.row_count(
        new_vocab, opts.pad_to_multiple_of, at_least=base.rows if ext is not None else 0
    )
    pipeline.assemble(base, matched.matching, new_rows, rows, untie_output=bool(opts.untie_output))
    # An extension holds every base token, so the base's chat template fits it as it is:
    # carried over unasked where the extension has none.
    copied = (opts.copy_chat_template or ext is not None) and pipeline.copy_chat_template(
        base, new_tok, new_vocab, warns
    )
    pipeline.set_special_ids(base, new_tok)
    context_id = pipeline.context_token_of(base, new_vocab, matched.matching)
    report = TransplantReport(
        method=method.name,
        parameters={
            **method.to_dict(),
            **{k: v for k, v in dataclasses.asdict(opts).items() if k != "progress"},
        },
        base_model=pipeline.model_info(base),
        donor=pipeline.model_info(donor_side) if donor_side is not None else None,
        tokenizer={
            "path": str(Path(tok_path)),
            "vocab_size": len(new_vocab.keys),
            "sha256": pipeline.tokenizer_sha(Path(tok_path)),
        },
        rows=rows,
        tied=base.tied and not opts.untie_output,
        shared_tokens=len(matched.matching.copy),
        new_tokens=len(matched.matching.new),
        junk_ids=matched.junk,
        masked_ids=sorted(set(range(rows)) - set(new_vocab.keys) | set(matched.junk)),
        context_token_id=context_id,
        context_base_token=pipeline.context_base_token(
            base, new_tok, new_vocab, matched.matching, context_id
        ),
        chat_template_copied=bool(copied),
        warnings=warns,
        details=problem.report,
        seconds=round(time.perf_counter() - started, 3),
        extension={**ext.to_dict(), "roles_carried": carried} if ext is not None else None,
    )
    for w in warns:
        warnings.warn(w, TransplantWarning, stacklevel=2)

    # 5. save
    saved = None
    if out is not None:
        saved = pipeline.save(
            out, base, new_tok, report.to_dict(), force=force, tokenizer_path=Path(tok_path)
        )
    return TransplantResult(saved, report, base.model, new_tok, warns)


def _load_donor(
    method: Method,
    donor: str | os.PathLike[str] | None,
    tokenizer: Path,
    new_vocab: Any,
    device: str,
) -> pipeline.Side | None:
    """The donor model a method needs: ``donor``, else the new tokenizer's own model."""
    if not method.needs_donor:
        return None
    if donor is None and tokenizer.is_dir() and (tokenizer / "config.json").exists():
        donor = tokenizer
    if donor is None:
        raise ConfigError(
            f"method {method.name} needs a donor model that already speaks the new tokenizer",
            hint="pass {donor}, or a model directory as {tokenizer}; without one use "
            "{method=tokenadapt}",
        )
    side = pipeline.load_side(donor, device=device)
    if side.vocab.keys != new_vocab.keys:
        raise TransplantError(
            f"the donor {side.path} does not speak the new tokenizer (their vocabularies differ)",
            hint=f"{method.name} needs the donor's own tokenizer as {{tokenizer}}",
        )
    return side
