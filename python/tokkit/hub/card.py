"""The model card tokkit generates for a directory: one per kind (transplant, tokenizer, model),
with the license carried over from the base model."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tokkit.hub.directory import UploadDir, describe_dir
from tokkit.hub.front_matter import read_front_matter, render_front_matter
from tokkit.hub.sections import (
    as_object,
    format_number,
    format_value,
    load_snippet,
    masked_section,
    metric_scores,
    metrics_table,
    name_of,
    provenance_section,
)

#: Transformers classes whose checkpoints are text-generation models.
_CAUSAL_LM = re.compile(r"For(CausalLM|ConditionalGeneration)$")


def _license_of(d: UploadDir, override: str | None, warnings: list[str]) -> str | None:
    """The license for the card: ``override``, else the base model's (from tokkit.json, else
    from the front matter of the base model directory's README.md); None with a warning when
    none is known, rather than guessing one."""
    if override:
        return override
    base = as_object(d.meta.get("base_model")) if d.kind == "transplant" else {}
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
        f"cannot find {what}; the card has no license field: give license= the Hub license "
        "id, e.g. apache-2.0"
    )
    return None


def _transplant_card(d: UploadDir, ref: str, title: str, license_: str | None) -> str:
    meta = d.meta
    base = name_of(meta.get("base_model"))
    donor = name_of(meta.get("donor"))
    method = str(meta.get("method") or "unknown")
    tok = as_object(meta.get("tokenizer"))
    front = render_front_matter(
        {
            "license": license_,
            "base_model": base,
            "library_name": "transformers",
            "pipeline_tag": "text-generation",
            "tags": ["tokkit", "tokenizer-transplant", method],
        },
        model_name=title,
        scores=metric_scores(meta),
    )
    base_text = f"[{base}](https://huggingface.co/{base})" if base else "a local base model"
    vocab = tok.get("vocab_size")
    tok_text = f"a new tokenizer of {format_number(vocab)} tokens" if vocab else "a new tokenizer"
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
        body += [f"- `{k}`: `{format_value(v)}`" for k, v in params.items()]
        body.append("")
    body += metrics_table(meta)
    body += [
        "## Quality",
        "",
        "A zero-shot transplant loses some quality: the new tokens' embeddings are estimates,",
        "and the network has never seen text split this way. A short distillation from the base",
        "model, or continued training on text tokenized with the new tokenizer, recovers much of",
        "the loss. Check the model on your own texts before you rely on it.",
        "",
    ]
    body += load_snippet(d, ref, "causal")
    body += masked_section(d, ref)
    warnings = meta.get("warnings")
    if isinstance(warnings, list) and warnings:
        body += ["## Transplant warnings", ""]
        body += [f"- {w}" for w in warnings]
        body.append("")
    body += provenance_section(d, f"`tokkit transplant`, method `{method}`")
    return front + "\n" + "\n".join(body)


def _tokenizer_card(d: UploadDir, ref: str, title: str, license_: str | None) -> str:
    meta = d.meta
    algorithm = str(meta.get("algorithm") or meta.get("algo") or "tokenizer")
    # "trainer" since format_version 2; "parameters" before.
    params = as_object(meta.get("trainer") or meta.get("parameters"))
    tags = ["tokkit", "tokenizer"] + ([algorithm] if algorithm != "tokenizer" else [])
    front = render_front_matter({"license": license_, "tags": tags})
    training = as_object(meta.get("training"))
    vocab = training.get("vocab_size") or params.get("vocab_size")
    body = [
        f"# {title}",
        "",
        f"A byte-level `{algorithm}` tokenizer"
        + (f" of {format_number(vocab)} tokens" if vocab else "")
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
        body += [f"- `{k}`: `{format_value(v)}`" for k, v in params.items() if v is not None]
    body.append("")
    body += load_snippet(d, ref, "tokenizer")
    body += provenance_section(d, f"`tokkit train --algo {algorithm}`")
    return front + "\n" + "\n".join(body)


def _model_card(d: UploadDir, ref: str, title: str, license_: str | None) -> str:
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
    front = render_front_matter(
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
    body += load_snippet(d, ref, "causal" if causal else "model")
    if d.kind == "model":
        body += provenance_section(d, "`tokkit models`")
    else:
        body += ["Uploaded with `tokkit push`.", ""]
    return front + "\n" + "\n".join(body)


def card_text(
    d: UploadDir, repo_id: str | None, license_override: str | None, warnings: list[str]
) -> str:
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
    front = render_front_matter({"license": license_})
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
    d = describe_dir(path)
    return card_text(d, repo_id, license, d.warnings)
