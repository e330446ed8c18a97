"""Push a model or tokenizer directory to the Hugging Face Hub, with a generated model card.

:func:`push` uploads a directory as tokkit writes it (a transplanted model, a model prepared by
``tokkit models``, a trained tokenizer) or any plain Hugging Face directory, in one commit.
:func:`model_card` writes the ``README.md`` it adds: YAML front matter the Hub reads (license
carried over from the base model, ``base_model``, tags, pipeline) and a body that says what the
model is, how it was made, how well it does and how to load it.

Everything that can be checked locally is checked before the first request: the directory, that
no pickled file would be uploaded (tokkit ships safetensors only), the repo id and the token.
The directory itself is never modified; the card is added to the upload, not written into it.

``huggingface_hub`` is imported only when a push really talks to the Hub, so ``dry_run=True``
and :func:`model_card` work without it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokkit.exceptions import ConfigError, HubError, ModelError, ModelNotFoundError

__all__ = ["PushResult", "UploadFile", "model_card", "push"]

logger = logging.getLogger("tokkit.hub")

DEFAULT_ENDPOINT = "https://huggingface.co"

#: Pickle-based formats: loading one runs arbitrary code, so tokkit never uploads them.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")

#: Transformers classes whose checkpoints are text-generation models.
_CAUSAL_LM = re.compile(r"For(CausalLM|ConditionalGeneration)$")

#: A YAML scalar that needs no quotes (and cannot be mistaken for a bool, number or null).
_PLAIN_YAML = re.compile(r"^[A-Za-z][A-Za-z0-9._/+-]*$")
_YAML_RESERVED = {"yes", "no", "true", "false", "on", "off", "null", "y", "n"}

#: How many masked ids the card lists inline before pointing at tokkit.json.
_MAX_INLINE_IDS = 20


@dataclass(frozen=True)
class UploadFile:
    """One file of a push.

    Attributes:
        path_in_repo: Its path in the repo (POSIX separators).
        size: Its size in bytes.
        source: The local file, or None for content tokkit generated (the model card).
        data: The generated content, when ``source`` is None.
        note: Why it is there, when that is not obvious (``"generated model card"``).
    """

    path_in_repo: str
    size: int
    source: Path | None = None
    data: bytes | None = field(default=None, repr=False)
    note: str = ""


@dataclass(frozen=True)
class PushResult:
    """What :func:`push` did (or, with ``dry_run``, would do).

    Attributes:
        repo_id: ``OWNER/NAME``.
        url: The repo page (with ``/tree/BRANCH`` for a branch other than main). Under
            ``dry_run`` it is the URL the repo would have.
        revision: The branch committed to.
        private: Whether a new repo is created private.
        dry_run: True when nothing was sent.
        files: Every file of the commit, the generated card included, sorted by path.
        card: The generated card, or None when the directory's own README.md is kept or
            ``card=False``.
        commit_url: The commit's page (None under ``dry_run``).
        commit_oid: The commit id (None under ``dry_run``).
        token_source: Where the token came from (``"--token"``, ``"HF_TOKEN"``, ``"stored
            token"``), or None when there is none (possible only under ``dry_run``).
        warnings: Things the user should know: a license that could not be found, a kept
            README that does not describe a transplant, ...
    """

    repo_id: str
    url: str
    revision: str
    private: bool
    dry_run: bool
    files: tuple[UploadFile, ...]
    card: str | None
    commit_url: str | None = None
    commit_oid: str | None = None
    token_source: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        """The size of the upload."""
        return sum(f.size for f in self.files)


# -- reading the directory ------------------------------------------------------------------------


@dataclass
class _Dir:
    """A directory to push, as far as the card needs to know it."""

    path: Path
    kind: str  # "transplant", "model", "tokenizer", "plain-model", "plain-tokenizer", "files"
    meta: dict[str, Any]  # tokkit.json ({} when absent or unreadable)
    config: dict[str, Any]  # config.json ({} when absent)
    files: list[tuple[str, Path]]  # (path in repo, local path), sorted
    warnings: list[str]


def _read_json(path: Path, warnings: list[str]) -> dict[str, Any]:
    """A JSON object from ``path``; {} with a warning when it is not one (a broken sidecar
    should not block a push, it only makes the card poorer)."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        warnings.append(f"cannot read {path.name} ({e}); the card leaves out what it would say")
        return {}
    if not isinstance(obj, dict):
        warnings.append(f"{path.name} is not a JSON object; the card leaves out what it would say")
        return {}
    return obj


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under ``root`` as (POSIX path relative to root, path).

    Hidden files and directories (``.git``, ``.cache``, editor files, tokkit's own atomic-write
    temporaries) are skipped, as ``huggingface_hub.upload_folder`` does. Symlinks to files are
    followed (a Hugging Face cache snapshot is made of them); symlinked directories are not, so
    a link loop cannot make the walk endless.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or not path.is_file():
                continue
            yield path.relative_to(root).as_posix(), path


def _describe(path: str | os.PathLike[str]) -> _Dir:
    """Read ``path`` and classify it.

    Raises:
        ModelNotFoundError: ``path`` does not exist or is not a directory.
        ModelError: It has no file to upload.
    """
    root = Path(path)
    if not root.exists():
        raise ModelNotFoundError(f"no directory at {root}; pass the model or tokenizer directory")
    if not root.is_dir():
        raise ModelNotFoundError(
            f"{root} is a file, not a directory; pass the directory that holds it"
        )
    files = sorted(_walk(root))
    if not files:
        raise ModelError(f"{root} has no files to upload (hidden files are skipped)")
    warnings: list[str] = []
    names = {name for name, _ in files}
    meta = _read_json(root / "tokkit.json", warnings) if "tokkit.json" in names else {}
    config = _read_json(root / "config.json", warnings) if "config.json" in names else {}
    if meta.get("kind") == "transplant":
        kind = "transplant"
    elif meta.get("kind") == "model":
        kind = "model"
    elif "algorithm" in meta or "algo" in meta:
        kind = "tokenizer"
    elif config:
        kind = "plain-model"
    elif names & {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json"}:
        kind = "plain-tokenizer"
    else:
        kind = "files"
    return _Dir(root, kind, meta, config, files, warnings)


def _check_no_pickles(d: _Dir) -> None:
    """Refuse pickled files: loading one runs arbitrary code, and the Hub flags such repos.

    Raises:
        ModelError: At least one file has a pickle suffix.
    """
    pickles = [name for name, _ in d.files if name.lower().endswith(PICKLE_SUFFIXES)]
    if pickles:
        shown = ", ".join(pickles[:5]) + (
            f" and {len(pickles) - 5} more" if len(pickles) > 5 else ""
        )
        raise ModelError(
            f"{d.path} holds pickle files ({shown}); tokkit uploads safetensors only: convert "
            "them (model.save_pretrained(dir, safe_serialization=True)) or move them out of "
            "the directory"
        )


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` if it is a valid ``OWNER/NAME`` Hub model id.

    The rules are the Hub's: each part is made of letters, digits, ``-``, ``_`` and ``.``,
    starts and ends with a letter, digit or ``_``, is at most 96 characters, and has no ``--``
    or ``..``; the name does not end in ``.git``.

    Raises:
        ConfigError: It is not.
    """
    parts = repo_id.split("/")
    ok = len(parts) == 2 and all(
        re.fullmatch(r"\w([\w.-]{0,94}\w)?", p, flags=re.ASCII) and "--" not in p and ".." not in p
        for p in parts
    )
    if not ok or repo_id.endswith(".git"):
        raise ConfigError(
            f"invalid repo id {repo_id!r}: use OWNER/NAME (your user or organisation, then the "
            "model name), with letters, digits, '-', '_' and '.' only"
        )
    return repo_id


# -- the model card -------------------------------------------------------------------------------


def _yaml_scalar(value: str) -> str:
    # JSON strings are valid YAML double-quoted scalars, so anything unusual is quoted that way.
    if _PLAIN_YAML.match(value) and value.lower() not in _YAML_RESERVED:
        return value
    return json.dumps(value, ensure_ascii=False)


def _front_matter(fields: Mapping[str, str | Sequence[str] | None]) -> str:
    """YAML front matter from ``fields`` in their order; None values are left out."""
    lines = ["---"]
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, str):
            lines.append(f"{key}: {_yaml_scalar(value)}")
        else:
            lines.append(f"{key}:")
            lines.extend(f"- {_yaml_scalar(v)}" for v in value)
    lines.append("---")
    return "\n".join(lines) + "\n"


def read_front_matter(text: str) -> dict[str, Any]:
    """The YAML front matter of a README (``{}`` when it has none or it is not a mapping)."""
    m = re.match(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*$", text, flags=re.DOTALL | re.MULTILINE)
    if not m:
        return {}
    block = m.group(1)
    try:
        # PyYAML comes with huggingface_hub and transformers; it is not a tokkit dependency.
        data = importlib.import_module("yaml").safe_load(block)
    except ImportError:
        data = {
            k: v.strip().strip("'\"")
            for k, v in re.findall(r"^(\w+):[ \t]*(\S.*)$", block, flags=re.MULTILINE)
        }
    except Exception:  # a malformed card: treat it as one without metadata
        return {}
    return data if isinstance(data, dict) else {}


def _license_of(d: _Dir, override: str | None, warnings: list[str]) -> str | None:
    """The license for the card: ``override``, else the base model's (from tokkit.json, else
    from the front matter of the base model directory's README.md); None with a warning when
    none is known, rather than guessing one."""
    if override:
        return override
    base = _obj(d.meta.get("base_model")) if d.kind == "transplant" else {}
    if d.kind == "transplant" and isinstance(base.get("license"), str):
        return str(base["license"])
    if d.kind == "model" and isinstance(d.meta.get("license"), str):
        return str(d.meta["license"])
    base_path = base.get("path") if d.kind == "transplant" else None
    if isinstance(base_path, str) and (Path(base_path) / "README.md").is_file():
        license_ = read_front_matter(
            (Path(base_path) / "README.md").read_text(encoding="utf-8", errors="replace")
        ).get("license")
        if isinstance(license_, list) and license_:
            license_ = license_[0]
        if isinstance(license_, str) and license_:
            return license_
    if d.kind in ("transplant", "model"):
        what = "the base model's license"
    else:
        what = "a license for these files"
    warnings.append(
        f"cannot find {what}; the card has no license field: pass --license ID (license=) "
        "with the Hub license id, e.g. apache-2.0"
    )
    return None


def _obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else {} (tokkit.json fields are read defensively)."""
    return value if isinstance(value, dict) else {}


def _name(value: Any) -> str | None:
    """A Hub model name from a tokkit.json entry (``{"name": ...}``) or None."""
    if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"]:
        return str(value["name"])
    return None


def _fmt_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _num(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else str(n)


def _metrics_table(meta: Mapping[str, Any]) -> list[str]:
    """The bits-per-byte table, or [] when tokkit.json has no usable metrics."""
    metrics = meta.get("metrics")
    bpb = metrics.get("bits_per_byte") if isinstance(metrics, dict) else None
    if not isinstance(bpb, dict):
        return []
    rows = []
    for text, scores in bpb.items():
        if not isinstance(scores, dict):
            continue
        base, new = scores.get("base"), scores.get("transplanted")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (base, new)):
            continue
        change = f"{100 * (new / base - 1):+.1f}%" if base else "n/a"
        rows.append(f"| {text} | {base:.4f} | {new:.4f} | {change} |")
    if not rows:
        return []
    return [
        "## Evaluation",
        "",
        "Bits per byte (lower is better) on the same texts for the base model and this one. The",
        "loss is divided by the UTF-8 bytes of the text, not by the number of tokens, so the",
        "number does not depend on the tokenizer and the two models compare fairly.",
        "",
        "| text | base | transplanted | change |",
        "|---|---:|---:|---:|",
        *rows,
        "",
    ]


def _load_snippet(d: _Dir, ref: str, loader: str) -> list[str]:
    """The 'how to use' section; ``loader`` is ``causal``, ``model`` (an encoder) or
    ``tokenizer``."""
    repo = json.dumps(ref)
    masked = d.meta.get("masked_ids") if d.kind == "transplant" else None
    lines = ["## How to use", "", "```python"]
    if loader == "causal":
        generate = "outputs = model.generate(**inputs, max_new_tokens=20"
        generate += ", suppress_tokens=MASKED_IDS)  # see below" if masked else ")"
        lines += [
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            "",
            f"tokenizer = AutoTokenizer.from_pretrained({repo})",
            f"model = AutoModelForCausalLM.from_pretrained({repo})",
            "",
            'inputs = tokenizer("The capital of France is", return_tensors="pt")',
            generate,
            "print(tokenizer.decode(outputs[0], skip_special_tokens=True))",
        ]
    elif loader == "model":
        lines += [
            "from transformers import AutoModel, AutoTokenizer",
            "",
            f"tokenizer = AutoTokenizer.from_pretrained({repo})",
            f"model = AutoModel.from_pretrained({repo})",
            'hidden = model(**tokenizer("Hello world", return_tensors="pt")).last_hidden_state',
        ]
    else:
        lines += [
            "from transformers import AutoTokenizer",
            "",
            f"tokenizer = AutoTokenizer.from_pretrained({repo})",
            'print(tokenizer("Hello world")["input_ids"])',
        ]
    lines += ["```", ""]
    if loader != "tokenizer" and "auto_map" not in d.config:
        # auto_map points at custom modeling code, which needs trust_remote_code.
        model_type = d.config.get("model_type")
        what = f"a standard `{model_type}` checkpoint" if model_type else "a standard checkpoint"
        if any(name.endswith(".safetensors") for name, _ in d.files):
            what += " in safetensors"
        lines += [f"It is {what}: `transformers` loads it without `trust_remote_code`.", ""]
    return lines


def _masked_section(d: _Dir, ref: str) -> list[str]:
    masked = d.meta.get("masked_ids")
    if d.kind != "transplant" or not isinstance(masked, list) or not masked:
        return []
    shown = ", ".join(str(i) for i in masked[:_MAX_INLINE_IDS])
    if len(masked) > _MAX_INLINE_IDS:
        shown += f", ... ({len(masked):,} in all)"
    return [
        "## Masked token ids",
        "",
        f"{len(masked):,} ids have no token or no trained row ({shown}). Their rows are zero,",
        "and a zero output row gives the logit 0, not minus infinity, so these ids can still be",
        "sampled: pass them as `suppress_tokens` when you generate, and mask their logits when",
        "you score text. The full list is `masked_ids` in `tokkit.json`:",
        "",
        "```python",
        "import json",
        "from huggingface_hub import hf_hub_download",
        "",
        f'MASKED_IDS = json.load(open(hf_hub_download({json.dumps(ref)}, "tokkit.json")))'
        '["masked_ids"]',
        "```",
        "",
    ]


def _provenance(d: _Dir, what: str) -> list[str]:
    from tokkit import __version__

    made = d.meta.get("tokkit_version")
    lines = ["## Provenance", ""]
    if made:
        lines.append(f"- Made with tokkit {made} ({what}).")
    lines.append(f"- Uploaded with `tokkit push` (tokkit {__version__}).")
    command = d.meta.get("command")
    if isinstance(command, list) and all(isinstance(c, str) for c in command):
        command = " ".join(command)
    if isinstance(command, str) and command:
        lines += ["- Command:", "", "  ```console", f"  $ {command}", "  ```"]
    tokenizer = d.meta.get("tokenizer")
    if isinstance(tokenizer, dict) and isinstance(tokenizer.get("sha256"), str):
        lines.append(f"- Tokenizer sha256: `{tokenizer['sha256']}`.")
    if d.meta:
        lines.append(
            "- `tokkit.json` in this repo has the full provenance record (every parameter and "
            "input checksum)."
        )
    return [*lines, ""]


def _transplant_card(d: _Dir, ref: str, title: str, license_: str | None) -> str:
    meta = d.meta
    base = _name(meta.get("base_model"))
    donor = _name(meta.get("donor"))
    method = str(meta.get("method") or "unknown")
    tok = _obj(meta.get("tokenizer"))
    front = _front_matter(
        {
            "license": license_,
            "base_model": base,
            "library_name": "transformers",
            "pipeline_tag": "text-generation",
            "tags": ["tokkit", "tokenizer-transplant", method],
        }
    )
    base_text = f"[{base}](https://huggingface.co/{base})" if base else "a local base model"
    vocab = tok.get("vocab_size")
    tok_text = f"a new tokenizer of {_num(vocab)} tokens" if vocab else "a new tokenizer"
    counts = []
    if isinstance(meta.get("shared_tokens"), int):
        counts.append(f"{meta['shared_tokens']:,} tokens shared with the base tokenizer")
    if isinstance(meta.get("new_tokens"), int):
        counts.append(f"{meta['new_tokens']:,} new ones")
    body = [
        f"# {title}",
        "",
        f"This is {base_text} with its tokenizer replaced by {tok_text}"
        + (f" ({' and '.join(counts)})" if counts else "")
        + ".",
        f"The embedding rows for the new vocabulary were computed from the base model's own "
        f"embeddings by tokkit's `{method}` tokenizer transplant; the other weights are the "
        "base model's, unchanged.",
    ]
    if donor:
        body.append(f"The donor model, which already speaks the new tokenizer, is `{donor}`.")
    if isinstance(meta.get("rows"), int):
        body.append(f"The embedding matrix has {meta['rows']:,} rows.")
    body.append("")
    params = meta.get("parameters")
    if isinstance(params, dict) and params:
        body += ["Transplant parameters:", ""]
        body += [f"- `{k}`: `{_fmt_value(v)}`" for k, v in params.items()]
        body.append("")
    body += _metrics_table(meta)
    body += [
        "## Quality",
        "",
        "A zero-shot transplant loses some quality: the new tokens' embeddings are estimates,",
        "and the network has never seen text split this way. A short distillation from the base",
        "model, or continued training on text tokenized with the new tokenizer, recovers much of",
        "the loss. Check the model on your own texts before you rely on it.",
        "",
    ]
    body += _load_snippet(d, ref, "causal")
    body += _masked_section(d, ref)
    warnings = meta.get("warnings")
    if isinstance(warnings, list) and warnings:
        body += ["## Transplant warnings", ""]
        body += [f"- {w}" for w in warnings]
        body.append("")
    body += _provenance(d, f"`tokkit transplant`, method `{method}`")
    return front + "\n" + "\n".join(body)


def _tokenizer_card(d: _Dir, ref: str, title: str, license_: str | None) -> str:
    meta = d.meta
    algorithm = str(meta.get("algorithm") or meta.get("algo") or "tokenizer")
    params = _obj(meta.get("parameters"))
    tags = ["tokkit", "tokenizer"] + ([algorithm] if algorithm != "tokenizer" else [])
    front = _front_matter({"license": license_, "tags": tags})
    training = _obj(meta.get("training"))
    vocab = training.get("vocab_size") or params.get("vocab_size")
    body = [
        f"# {title}",
        "",
        f"A byte-level `{algorithm}` tokenizer"
        + (f" of {_num(vocab)} tokens" if vocab else "")
        + ", trained with tokkit and saved as a standard Hugging Face `tokenizer.json`. It holds "
        "no model weights.",
        "",
    ]
    pretok = meta.get("pretokenizer")
    if isinstance(pretok, dict) and pretok.get("name"):
        body += [f"- Pre-tokenizer: `{pretok['name']}`."]
    specials = params.get("special_tokens")
    if isinstance(specials, list) and specials:
        body += ["- Special tokens: " + ", ".join(f"`{s}`" for s in specials) + "."]
    corpus = meta.get("corpus")
    if isinstance(corpus, dict) and isinstance(corpus.get("bytes"), int):
        files = corpus["files"] if isinstance(corpus.get("files"), list) else []
        names = ", ".join(f"`{Path(str(f)).name}`" for f in files[:10])
        body += [
            f"- Training corpus: {corpus['bytes']:,} bytes"
            + (f" from {names}" if names else "")
            + (f", sha256 `{corpus['sha256']}`" if corpus.get("sha256") else "")
            + "."
        ]
    if params:
        body += ["", "Training parameters:", ""]
        body += [f"- `{k}`: `{_fmt_value(v)}`" for k, v in params.items() if v is not None]
    body.append("")
    body += _load_snippet(d, ref, "tokenizer")
    body += _provenance(d, f"`tokkit train --algo {algorithm}`")
    return front + "\n" + "\n".join(body)


def _model_card(d: _Dir, ref: str, title: str, license_: str | None) -> str:
    """A model prepared by ``tokkit models`` (its tokkit.json has the upstream repo id in
    ``base_model`` and the task), or a plain Hugging Face model directory."""
    base = d.meta.get("base_model") if isinstance(d.meta.get("base_model"), str) else None
    archs = d.config.get("architectures")
    causal = isinstance(archs, list) and any(_CAUSAL_LM.search(str(a)) for a in archs)
    task = d.meta.get("task")
    if d.kind == "model" and isinstance(task, str):
        causal = task == "causal-lm"
    pipeline = "text-generation" if causal else None
    if d.kind == "model" and task == "feature-extraction":
        pipeline = "feature-extraction"
    front = _front_matter(
        {
            "license": license_,
            "base_model": base,
            "library_name": "transformers",
            "pipeline_tag": pipeline,
            "tags": ["tokkit"] if d.kind == "model" else None,
        }
    )
    if d.kind == "model":
        title = str(d.meta.get("title") or title)
        what = f"[{base}](https://huggingface.co/{base})" if base else "A model"
        intro = f"{what} as prepared by `tokkit models`."
    else:
        model_type = d.config.get("model_type")
        intro = f"A `{model_type}` model." if model_type else "A Hugging Face model."
    body = [f"# {title}", "", intro, ""]
    body += _load_snippet(d, ref, "causal" if causal else "model")
    if d.kind == "model":
        body += _provenance(d, "`tokkit models`")
    else:
        body += ["Uploaded with `tokkit push`.", ""]
    return front + "\n" + "\n".join(body)


def _card(d: _Dir, repo_id: str | None, license_override: str | None, warnings: list[str]) -> str:
    """The model card for ``d``; problems (an unknown license) are added to ``warnings``."""
    title = repo_id.split("/")[-1] if repo_id else d.path.resolve().name
    ref = repo_id or str(d.path)
    license_ = _license_of(d, license_override, warnings)
    if d.kind == "transplant":
        return _transplant_card(d, ref, title, license_)
    if d.kind in ("tokenizer", "plain-tokenizer"):
        return _tokenizer_card(d, ref, title, license_)
    if d.kind in ("model", "plain-model"):
        return _model_card(d, ref, title, license_)
    front = _front_matter({"license": license_})
    return front + f"\n# {title}\n\nFiles uploaded with `tokkit push`.\n"


def model_card(
    path: str | os.PathLike[str], *, repo_id: str | None = None, license: str | None = None
) -> str:
    """The model card (README.md text) tokkit generates for the directory ``path``: what
    :func:`push` uploads when the directory has no README.md, or with ``regenerate_card``.

    Args:
        path: A model or tokenizer directory.
        repo_id: The repo it is for; used in the title and the loading example (default: the
            directory name and its local path).
        license: A Hub license id that overrides the one carried from the base model.

    Raises:
        ModelNotFoundError: ``path`` is not a directory.
        ModelError: It has no files.
    """
    d = _describe(path)
    return _card(d, repo_id, license, d.warnings)


# -- pushing --------------------------------------------------------------------------------------


def _plan(
    d: _Dir,
    repo_id: str,
    *,
    card: bool,
    regenerate_card: bool,
    license: str | None,
    warnings: list[str],
) -> tuple[list[UploadFile], str | None]:
    """The files of the commit and the generated card (None when none is added)."""
    files = [UploadFile(name, path.stat().st_size, source=path) for name, path in d.files]
    has_readme = any(f.path_in_repo == "README.md" for f in files)
    if not card or (has_readme and not regenerate_card):
        if has_readme and card and d.kind == "transplant":
            tags = read_front_matter(
                (d.path / "README.md").read_text(encoding="utf-8", errors="replace")
            ).get("tags")
            if not (isinstance(tags, list) and "tokenizer-transplant" in tags):
                warnings.append(
                    "README.md in the directory is kept, but it does not describe a transplant "
                    "(it may be the base model's card); pass --regenerate-card to replace it"
                )
        return files, None
    text = _card(d, repo_id, license, warnings)
    data = text.encode("utf-8")
    note = "generated model card, replaces the directory's README.md" if has_readme else ""
    files = [f for f in files if f.path_in_repo != "README.md"]
    files.append(UploadFile("README.md", len(data), data=data, note=note or "generated card"))
    return sorted(files, key=lambda f: f.path_in_repo), text


def _token(token: str | None, *, network: bool) -> tuple[str | None, str | None]:
    """(token, where it came from): ``token``, else HF_TOKEN, else huggingface_hub's stored
    login. Without ``network`` (a dry run) the stored token is only looked for on disk, because
    ``huggingface_hub.get_token`` may exchange an OIDC token or refresh an OAuth one."""
    if token:
        return token, "--token"
    env = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if env and env.strip():
        return env.strip(), "HF_TOKEN"
    try:
        from huggingface_hub import constants
    except ImportError:
        return None, None
    if not network:
        path = Path(constants.HF_TOKEN_PATH)
        return (None, "stored token") if path.is_file() else (None, None)
    from huggingface_hub import get_token

    try:
        stored = get_token()
    except Exception as e:  # HF_OIDC_RESOURCE set and the OIDC exchange failed
        raise HubError(f"cannot get a Hugging Face token: {e}; pass --token or set HF_TOKEN") from e
    return (stored, "stored token") if stored else (None, None)


def _http_status(exc: BaseException) -> tuple[int, str] | None:
    """(status, server message) of the first HTTP error in ``exc``'s cause chain: the LFS
    upload wraps them in RuntimeError."""
    from huggingface_hub.errors import HfHubHTTPError

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, HfHubHTTPError) and e.response is not None:
            lines = (e.server_message or "").strip().splitlines()
            message = lines[0] if lines else e.response.reason_phrase
            return e.response.status_code, message
        e = e.__cause__ or e.__context__
    return None


def _hint(status: int, repo_id: str) -> str:
    owner = repo_id.split("/")[0]
    if status == 401:
        return (
            "the token was rejected: check it with `hf auth whoami`, log in again with "
            "`hf auth login` (`huggingface-cli login` in older huggingface_hub) or set HF_TOKEN"
        )
    if status == 403:
        return (
            f"the token may not write to {owner!r}: use a token with write access to that "
            "user or organisation"
        )
    if status == 404:
        return f"check that {repo_id} and the branch exist and that the token can see them"
    if status == 429:
        return "the Hub is rate-limiting this token; wait a few minutes and push again"
    if status >= 500:
        return "the server failed; nothing was committed, push again later"
    return "check the repo id, the token and the endpoint"


def _as_hub_error(exc: Exception, step: str, repo_id: str, endpoint: str) -> HubError:
    """Turn what huggingface_hub raised during ``step`` into a HubError with a hint."""
    status = _http_status(exc)
    if status is not None:
        code, message = status
        return HubError(
            f"{step} failed: HTTP {code} from {endpoint}: {message}; {_hint(code, repo_id)}"
        )
    # Transport errors of the HTTP client (httpx2 in huggingface_hub 2.x, httpx or requests
    # before): the server was not reached at all. hf_xet's builtin ConnectionError also covers
    # HTTP errors, so it takes the generic path below, which keeps its message.
    kind, module = type(exc).__name__, type(exc).__module__
    if module.startswith(("httpx", "httpcore", "requests", "urllib3")) and any(
        word in kind for word in ("Connect", "Timeout", "Network")
    ):
        return HubError(f"{step} failed: cannot reach {endpoint} ({exc}); check the network")
    message = _first_line(exc)
    root: BaseException = exc
    while root.__cause__ is not None:  # the LFS upload wraps the real error in a RuntimeError
        root = root.__cause__
    if root is not exc:
        message += f" ({_first_line(root)})"
    return HubError(f"{step} failed: {message}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def push(
    path: str | os.PathLike[str],
    repo_id: str,
    *,
    private: bool = False,
    dry_run: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    card: bool = True,
    regenerate_card: bool = False,
    license: str | None = None,
) -> PushResult:
    """Upload the directory ``path`` to the Hub model repo ``repo_id`` in one commit.

    The repo is created if needed (``private`` applies only to a new repo). Every file of the
    directory is uploaded except hidden ones; with ``card``, a generated ``README.md`` (see
    :func:`model_card`) is added, unless the directory has its own README.md, which is kept
    unless ``regenerate_card``. The directory is not modified.

    Args:
        path: A model or tokenizer directory.
        repo_id: ``OWNER/NAME``.
        private: Create the repo private (an existing repo keeps its visibility).
        dry_run: Check everything and build the card, but send nothing; no token is needed.
        token: A Hub token with write access; default: ``HF_TOKEN``, else the token stored by
            ``hf auth login``.
        endpoint: The Hub URL (default: ``HF_ENDPOINT``, else https://huggingface.co).
        revision: The branch to commit to, created from main if it does not exist
            (default: main).
        commit_message: Default: ``"Upload <dir> with tokkit push"``.
        card: Add a generated model card when the directory has no README.md.
        regenerate_card: Replace the directory's README.md with a generated card.
        license: A Hub license id for the card, overriding the one carried from the base model.

    Returns:
        What was (or would be) uploaded, and where.

    Raises:
        ModelNotFoundError: ``path`` is not a directory.
        ModelError: It has no files, or holds pickle files (``*.bin``, ``*.pt``, ``*.pkl``...).
        ConfigError: An invalid repo id, endpoint or option.
        HubError: No token, huggingface_hub missing or offline, or the Hub refused the upload.
    """
    d = _describe(path)
    _check_no_pickles(d)
    check_repo_id(repo_id)
    if endpoint is not None and not re.match(r"^https?://[^/\s]+", endpoint):
        raise ConfigError(f"invalid endpoint {endpoint!r}: give a URL such as {DEFAULT_ENDPOINT}")
    if regenerate_card and not card:
        raise ConfigError("regenerate_card needs card=True (--regenerate-card with --no-card)")
    branch = revision or "main"
    warnings = list(d.warnings)
    files, card_text = _plan(
        d, repo_id, card=card, regenerate_card=regenerate_card, license=license, warnings=warnings
    )
    for w in warnings:
        logger.warning("warning: %s", w)
    base_url = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    tree = f"/tree/{branch}" if branch != "main" else ""
    message = commit_message or f"Upload {d.path.resolve().name} with tokkit push"
    result = PushResult(
        repo_id=repo_id,
        url=f"{base_url}/{repo_id}{tree}",
        revision=branch,
        private=private,
        dry_run=dry_run,
        files=tuple(files),
        card=card_text,
        warnings=tuple(warnings),
    )
    if dry_run:
        return dataclasses.replace(result, token_source=_token(token, network=False)[1])

    try:
        from huggingface_hub import CommitOperationAdd, HfApi, constants
    except ImportError:
        raise HubError(
            "pushing needs huggingface_hub; pip install 'tokkit[transplant]' "
            "(or pip install huggingface_hub)"
        ) from None
    if constants.is_offline_mode():
        raise HubError(
            "huggingface_hub is in offline mode (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set); "
            "unset it to push"
        )
    hub_token, source = _token(token, network=True)
    if not hub_token:
        raise HubError(
            "no Hugging Face token: log in with `hf auth login` (`huggingface-cli login` in "
            "older huggingface_hub), set HF_TOKEN, or pass --token"
        )
    api = HfApi(endpoint=endpoint.rstrip("/") if endpoint else None, token=hub_token)
    hub = api.endpoint
    step = f"creating {repo_id}"
    try:
        logger.info("creating %s (if needed) on %s", repo_id, hub)
        # private=None (not False) lets an organisation's default visibility apply.
        repo_url = api.create_repo(
            repo_id, private=True if private else None, exist_ok=True, repo_type="model"
        )
        if branch != "main":
            step = f"creating branch {branch!r} of {repo_id}"
            api.create_branch(repo_id, branch=branch, exist_ok=True, repo_type="model")
        operations = [
            CommitOperationAdd(
                path_in_repo=f.path_in_repo,
                path_or_fileobj=str(f.source) if f.source is not None else (f.data or b""),
            )
            for f in files
        ]
        step = f"uploading to {repo_id}"
        logger.info(
            "uploading %d files (%s) to %s, branch %s",
            len(files),
            human_size(result.total_bytes),
            repo_id,
            branch,
        )
        commit = api.create_commit(
            repo_id,
            operations,
            commit_message=message,
            revision=branch,
            repo_type="model",
        )
    except Exception as e:  # huggingface_hub raises HTTP, transport, ValueError and RuntimeError
        raise _as_hub_error(e, step, repo_id, hub) from e
    url = f"{str(repo_url).rstrip('/')}{tree}"
    logger.info("commit: %s", commit.commit_url)
    return dataclasses.replace(
        result,
        url=url,
        commit_url=commit.commit_url,
        commit_oid=commit.oid,
        token_source=source,
    )


def human_size(n: int) -> str:
    """``1234567`` → ``"1.2 MB"`` (decimal units, as the Hub shows sizes)."""
    if n < 1000:
        return f"{n} B"
    size, unit = n / 1000, "KB"
    for bigger in ("MB", "GB", "TB"):
        if size < 1000:
            break
        size, unit = size / 1000, bigger
    return f"{size:.1f} {unit}"
