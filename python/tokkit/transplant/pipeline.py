"""The steps of a transplant, each testable alone (``transplant()`` runs them in order):

1. :func:`load_side` (the base model; the donor for a method that needs one) and
   :func:`load_tokenizer` (the new tokenizer);
2. :func:`match` the vocabularies: shared tokens, new tokens, junk ids
   (design/transplant.md §1, §2.1);
3. :func:`compute_rows` for the new tokens with a method of :mod:`tokkit.transplant.methods`,
   blended with the subword mean or untied as asked;
4. :func:`assemble` the new embedding (and head) rows and the config's special ids
   (design/transplant.md §3);
5. :func:`save` as a Hugging Face model directory with ``tokkit.json``, atomically.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit._io import atomic_dir, dumps
from tokkit.exceptions import SerializationError, TokenizerNotFoundError, TransplantError
from tokkit.transplant.extension import Extension, identity_matching
from tokkit.transplant.methods import Donor, Method, Problem, mean_rows
from tokkit.vocab import Matching, Vocab, match_vocabularies, mergekit_keys, vocab_from_hf

if TYPE_CHECKING:
    import torch

# -- 1. loading -----------------------------------------------------------------------------


def load_tokenizer(path: str | os.PathLike[str]) -> Any:
    """A ``transformers`` fast tokenizer from a tokenizer directory, a ``tokenizer.json`` file or
    a model directory (its tokenizer is taken). Never runs custom code.

    Raises:
        TokenizerNotFoundError: No tokenizer there.
        SerializationError: The files are there but do not load (corrupt JSON, unknown model).
    """
    from tokkit.hybrid import tokenizer_at

    p = Path(path)
    hybrid = tokenizer_at(p)
    if hybrid is not None:
        return hybrid
    if p.is_file() and p.suffix != ".json":
        raise TokenizerNotFoundError(
            f"{p}: expected a tokenizer.json or a directory with one (convert other formats "
            "with `tokkit.load(...)` and save as tokenizer.json first)"
        )
    if not p.is_file() and not (p / "tokenizer.json").exists():
        raise TokenizerNotFoundError(
            f"{p}: no tokenizer.json there; pass a tokenizer directory, a tokenizer.json, or a "
            "model directory that ships its tokenizer"
        )
    try:
        return _load_fast_tokenizer(p)
    except Exception as e:  # tokenizers raises plain Exception for a corrupt file
        raise SerializationError(
            f"{p}: transformers cannot load this tokenizer ({type(e).__name__}: {e})",
            hint="check that tokenizer.json is complete and valid JSON",
        ) from e


def _load_fast_tokenizer(p: Path) -> Any:
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    if p.is_file():
        if (p.parent / "tokenizer_config.json").exists():
            return AutoTokenizer.from_pretrained(p.parent, trust_remote_code=False)
        fast: Any = PreTrainedTokenizerFast  # untyped constructor
        return fast(tokenizer_file=str(p))
    return AutoTokenizer.from_pretrained(p, trust_remote_code=False)


def tokenizer_sha(path: Path) -> str | None:
    from tokkit.models import sha256_file

    if path.is_file():
        return sha256_file(path)
    f = next((path / n for n in ("tokenizer.json", "hybrid.json") if (path / n).exists()), None)
    return sha256_file(f) if f is not None else None


@dataclass
class Side:
    """A loaded model: its directory, the model, its tokenizer and their vocabulary, its
    embedding rows and whether its head is tied to them."""

    path: Path
    model: Any
    tokenizer: Any
    vocab: Vocab
    rows: int
    tied: bool


def load_side(path: str | os.PathLike[str], *, device: str) -> Side:
    from tokkit import models

    p = models.path(str(path))
    loaded: Any
    loaded, tok = models.load_causal_lm(p, dtype=stored_dtype(p), device=device)
    model = loaded
    emb = model.get_input_embeddings().weight
    head = model.get_output_embeddings()
    tied = head is None or head.weight is emb or head.weight.data_ptr() == emb.data_ptr()
    return Side(p, model, tok, vocab_from_hf(tok), int(emb.shape[0]), bool(tied))


def stored_dtype(model_dir: Path) -> str:
    """The dtype the weights are stored in, so copied rows stay bit-exact."""
    try:
        cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "float32"
    name = cfg.get("dtype") or cfg.get("torch_dtype") or "float32"
    return str(name).removeprefix("torch.")


def junk_ids(side: Side, what: str, warns: list[str]) -> list[int]:
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


def decomposer(tok: Any, vocab: Vocab, rows: int) -> Any:
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


def donor_of(side: Side) -> Donor:
    """A donor model's matrices in float32 (its head only when untied)."""
    e = side.model.get_input_embeddings().weight.detach().float()
    head = side.model.get_output_embeddings()
    u = None if side.tied or head is None else head.weight.detach().float()
    return Donor(E=e, U=u)


# -- 2. matching ----------------------------------------------------------------------------


def mergekit_matching(base: Side, new_tok: Any, new_vocab: Vocab, skip: list[int]) -> Matching:
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


def check_specials(base: Side, new_tok: Any, new_vocab: Vocab, allow: bool) -> None:
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


def numeric_warning(base: Side, new_tok: Any, new_vocab: Vocab) -> str | None:
    from tokkit.transplant import numeric

    def pieces(tok: Any, vocab: Vocab) -> Any:
        def f(text: str) -> list[bytes]:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            return [vocab.keys[i][2] if i in vocab.keys else b"" for i in ids]

        return f

    diffs = numeric.compare(pieces(base.tokenizer, base.vocab), pieces(new_tok, new_vocab))
    return numeric.warning(diffs)


@dataclass
class Matched:
    """The vocabularies matched: shared and new tokens, junk ids, and what to warn about."""

    matching: Matching
    junk: list[int]
    warnings: list[str] = field(default_factory=list)


def match(
    base: Side,
    new_tok: Any,
    new_vocab: Vocab,
    donor: Side | None,
    *,
    mergekit_compat: bool = False,
    extension: Extension | None = None,
) -> Matched:
    """Which new ids copy a base row and which need one (ids beyond the donor's rows are junk:
    zero rows). An ``extension`` of the base tokenizer is matched by id, not by bytes
    (:mod:`tokkit.transplant.extension`)."""
    warns: list[str] = []
    junk_ids(base, "base model", warns)
    junk = [i for i in new_vocab.keys if i >= donor.rows] if donor is not None else []
    if junk and donor is not None:
        warns.append(f"donor: {len(junk)} ids ≥ its {donor.rows} rows become zero rows")
    if mergekit_compat:
        matching = mergekit_matching(base, new_tok, new_vocab, junk)
    elif extension is not None:
        matching = identity_matching(base.vocab, new_vocab, base_rows=base.rows, skip=junk)
    else:
        matching = match_vocabularies(base.vocab, new_vocab, base_rows=base.rows, skip=junk)
    if not matching.copy:
        raise TransplantError(
            "the new tokenizer shares no token with the model's, so nothing anchors the new rows",
            hint="check that {model} and {tokenizer} are what you meant",
        )
    numeric = numeric_warning(base, new_tok, new_vocab)
    if numeric:
        warns.append(numeric)
    return Matched(matching, junk, warns)


# -- 3. rows for the new tokens ---------------------------------------------------------------


@dataclass
class NewRows:
    """Rows for the new ids, in ``problem.new_ids`` order: inputs, and outputs (``None``: the
    head stays tied, or there are no new tokens)."""

    E: torch.Tensor | None
    U: torch.Tensor | None


def problem_of(
    base: Side, new_vocab: Vocab, matching: Matching, *, seed: int, progress: Any
) -> Problem:
    """What a method needs, the base matrices in float32."""
    emb = base.model.get_input_embeddings()
    head = None if base.tied else base.model.get_output_embeddings()
    return Problem(
        base_E=emb.weight.detach().float(),
        base_U=head.weight.detach().float() if head is not None else None,
        new_ids=matching.new,
        copy=matching.copy,
        new_bytes={i: key[2] for i, key in new_vocab.keys.items()},
        base_bytes={
            i: key[2] for i, key in base.vocab.keys.items() if i < base.rows and not key[0]
        },
        decompose=decomposer(base.tokenizer, base.vocab, base.rows),
        seed=seed,
        progress=progress,
    )


def compute_rows(
    method: Method,
    problem: Problem,
    donor: Donor | None,
    *,
    device: str,
    mix_mean: float = 0.0,
    untie_output: str | None = None,
) -> NewRows:
    """The method's rows; with ``mix_mean`` w, ``(1 - w)·rows + w·subword mean``; with
    ``untie_output``, the inputs stay the method's and the outputs are the subword mean."""
    if not problem.new_ids:
        return NewRows(None, None)
    e: torch.Tensor | None
    e, u = method.rows(problem, donor, device)
    means = mean_rows(problem) if method.name != "mean" and (mix_mean or untie_output) else None
    if means is not None and mix_mean:
        e, u = mix(e, means[0], mix_mean), mix(u, means[1], mix_mean)
    if untie_output:
        u = e if means is None else means[0]
    return NewRows(e, u)


def mix(rows: torch.Tensor | None, mean: torch.Tensor | None, w: float) -> torch.Tensor | None:
    """``(1 - w) · rows + w · mean`` (``None`` where the matrix does not exist: a tied head)."""
    if rows is None or mean is None:
        return rows
    return rows.mul(1.0 - w).add_(mean, alpha=w)


# -- 4. assembly ------------------------------------------------------------------------------


def row_count(new_vocab: Vocab, pad_to_multiple_of: int | None, *, at_least: int = 0) -> int:
    """Rows of the new matrices: every id (and ``at_least``: an extension keeps the base
    model's rows), padded to a multiple if asked."""
    rows = max(len(new_vocab.keys), new_vocab.size, at_least)
    if pad_to_multiple_of:
        rows = -(-rows // pad_to_multiple_of) * pad_to_multiple_of
    return rows


def assemble(
    base: Side, matching: Matching, new: NewRows, rows: int, *, untie_output: bool = False
) -> None:
    """Replace the base model's embedding (and head) rows in place: shared rows copied
    bit-exact, new rows cast to the model's dtype, the rest zero; the config follows."""
    import torch

    emb = base.model.get_input_embeddings()
    head = base.model.get_output_embeddings() if (untie_output or not base.tied) else None

    def build(old: torch.Tensor, fresh: torch.Tensor | None) -> torch.Tensor:
        out_m = torch.zeros((rows, old.shape[1]), dtype=old.dtype, device=old.device)
        if matching.copy:
            dst = torch.tensor(sorted(matching.copy), device=old.device)
            src = torch.tensor([matching.copy[i] for i in sorted(matching.copy)], device=old.device)
            out_m[dst] = old[src]  # same dtype: bit-exact
        if fresh is not None and matching.new:
            out_m[torch.tensor(matching.new, device=old.device)] = fresh.to(old.dtype)
        return out_m

    with torch.no_grad():
        # Built before the input matrix is replaced: an untied-to-be head is still the input.
        head_rows = build(head.weight.detach(), new.U) if head is not None else None
        emb.weight = torch.nn.Parameter(build(emb.weight.detach(), new.E), requires_grad=False)
        emb.num_embeddings = rows
        if head is not None and head_rows is not None:
            head.weight = torch.nn.Parameter(head_rows, requires_grad=False)
            head.out_features = rows
    emb.padding_idx = None
    configs = [base.model.config]
    if hasattr(base.model.config, "get_text_config"):
        configs.append(base.model.config.get_text_config())  # may be the same object
    for cfg in configs:
        cfg.vocab_size = rows
        if untie_output:
            cfg.tie_word_embeddings = False
    if base.tied and not untie_output:
        base.model.tie_weights()


def set_special_ids(base: Side, new_tok: Any) -> None:
    """The config's bos/eos/pad ids become the new tokenizer's. The generation config keeps
    the base model's stopping tokens by token: each base eos id (an instruct model's end of
    turn, such as ``<|im_end|>``) whose token the new tokenizer has, after the new eos."""
    cfg = base.model.config
    gen = base.model.generation_config
    base_eos = getattr(gen, "eos_token_id", None) if gen is not None else None
    for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
        setattr(cfg, name, getattr(new_tok, name))
        if gen is not None:
            setattr(gen, name, getattr(new_tok, name))
    if gen is None or base_eos is None:
        return
    stops = [new_tok.eos_token_id] if new_tok.eos_token_id is not None else []
    vocab = new_tok.get_vocab()
    for old in base_eos if isinstance(base_eos, list) else [base_eos]:
        new = vocab.get(base.tokenizer.convert_ids_to_tokens(int(old)))
        if new is not None and new not in stops:
            stops.append(new)
    gen.eos_token_id = stops[0] if len(stops) == 1 else stops or None


def chat_template_ok(template: str, new_vocab: Vocab) -> bool:
    specials = {new_vocab.strings[i] for i in new_vocab.special_ids}

    used = set(re.findall(r"<[|\w][^<>\s]*>", template))
    return used <= specials | {s for s in new_vocab.strings.values()}


def copy_chat_template(base: Side, new_tok: Any, new_vocab: Vocab, warns: list[str]) -> bool:
    """Give the new tokenizer the base chat template when it has none and every special token
    the template uses exists in the new vocabulary; returns whether it did. The template's turns
    end with the base eos, so that becomes the new tokenizer's eos too."""
    if getattr(new_tok, "chat_template", None):
        return False
    template = getattr(base.tokenizer, "chat_template", None)
    if template and chat_template_ok(template, new_vocab):
        new_tok.chat_template = template
        eos = base.tokenizer.eos_token
        if eos and eos != new_tok.eos_token and eos in new_tok.get_vocab():
            new_tok.eos_token = eos
        return True
    if template:
        warns.append("chat template not copied: it uses special tokens the new tokenizer lacks")
    return False


def context_token_of(base: Side, new_vocab: Vocab, matching: Matching) -> int | None:
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


def context_base_token(
    base: Side, new_tok: Any, new_vocab: Vocab, matching: Matching, context_id: int | None
) -> str | None:
    """The base token whose row a document of the transplant is read after by default (the
    recorded ``context_id``, else the new tokenizer's BOS-or-EOS), when it is not the one the
    base model is read after: scoring the base after this token too starts both from the same
    row (issue 13: the base after ``<|im_end|>``, its transplant after ``<|endoftext|>``)."""
    from tokkit.score import context_token

    ctx = context_id if context_id is not None else context_token(new_tok)
    base_id = matching.copy.get(ctx) if ctx is not None else None
    if base_id is None or base_id == context_token(base.tokenizer):
        return None
    return base.vocab.strings.get(base_id)


# -- 5. saving --------------------------------------------------------------------------------


#: The files of a Hugging Face tokenizer directory, copied unchanged into a transplant's output.
TOKENIZER_FILES = (
    "tokenizer.json",
    "hybrid.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
    "vocab.txt",
)


def save(
    out: str | os.PathLike[str],
    base: Side,
    new_tok: Any,
    report: dict[str, Any],
    *,
    force: bool,
    tokenizer_path: Path | None = None,
) -> Path:
    """Write the model, the new tokenizer, ``tokkit.json`` and the base model's licence files
    into ``out``, atomically.

    The tokenizer's files are copied byte for byte from ``tokenizer_path`` (a directory, or a
    ``tokenizer.json`` with its ``tokenizer_config.json`` beside it): a transplant changes the
    model, not the tokenizer. A copied chat template is added as ``chat_template.jinja``, with
    the eos its turns end with set in ``tokenizer_config.json``. A bare ``tokenizer.json``
    without a config gets the files ``transformers`` writes for it.
    """
    from tokkit.models import quiet_transformers
    from tokkit.models.compat import make_loadable_in_4x

    source = None
    if tokenizer_path is not None:
        source = tokenizer_path.parent if tokenizer_path.is_file() else tokenizer_path
        if not (source / "tokenizer_config.json").is_file():
            source = None
    with atomic_dir(out, force=force, inputs=[base.path]) as tmp, quiet_transformers():
        base.model.save_pretrained(tmp, safe_serialization=True)
        if source is None:
            new_tok.save_pretrained(tmp)
        else:
            for name in TOKENIZER_FILES:
                if (source / name).is_file():
                    shutil.copyfile(source / name, tmp / name)
            # The roles an extension took from the base model (extension.carry_roles).
            roles = list((report.get("extension") or {}).get("roles_carried", []))
            if report.get("chat_template_copied"):
                # Where transformers writes templates today (the base models' layout too),
                # and the eos the template's turns end with.
                (tmp / "chat_template.jinja").write_text(new_tok.chat_template, encoding="utf-8")
                roles.append("eos")
            if roles:
                config_file = tmp / "tokenizer_config.json"
                config = json.loads(config_file.read_text(encoding="utf-8"))
                wanted = {f"{r}_token": getattr(new_tok, f"{r}_token") for r in roles}
                if any(config.get(k) != v for k, v in wanted.items()):
                    config.update(wanted)
                    config_file.write_text(dumps(config), encoding="utf-8")
        compat = make_loadable_in_4x(tmp)
        if compat:
            report["changed_for_transformers_4"] = compat
        (tmp / "tokkit.json").write_text(dumps(report), encoding="utf-8")
        copy_license(base.path, tmp)
    return Path(out)


def copy_license(src: Path, dst: Path) -> None:
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md", "NOTICE", "USE_POLICY.md"):
        f = src / name
        if f.is_file():
            (dst / name).write_bytes(f.read_bytes())


def model_info(side: Side) -> dict[str, Any]:
    info: dict[str, Any] = {"path": str(side.path), "name": None, "license": None}
    meta = side.path / "tokkit.json"
    if meta.exists():
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            info["name"] = data.get("base_model") or data.get("hf_repo") or data.get("name")
            info["license"] = data.get("license")
        except (OSError, ValueError):
            pass
    from tokkit.hub import snapshot
    from tokkit.hub.front_matter import read_front_matter

    hub = snapshot.origin(side.path)
    if hub is not None and info["name"] is None:
        info["name"], info["revision"] = hub
    readme = side.path / "README.md"
    if readme.exists() and (info["license"] is None or info["name"] is None):
        card = read_front_matter(readme.read_text(encoding="utf-8", errors="replace"))
        license_, base = card.get("license"), card.get("base_model")
        if isinstance(license_, list) and license_:
            license_ = license_[0]
        if info["license"] is None and isinstance(license_, str) and license_:
            info["license"] = license_
        if info["name"] is None and isinstance(base, str) and base:
            info["name"] = base
    return info
