"""The trainers under test: names, versions, availability, configuration, commands.

tokkit runs as its own CLI; every other tool ("anchor") runs through its
Python API in ``train_worker.py``. ``CONFIG_NOTES`` describes, for the report,
how each tool is configured; ``tool_command`` builds the command of one run.
"""

from __future__ import annotations

import importlib.metadata
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).resolve().with_name("train_worker.py")

ALL_TOOLS = ("tokkit", "hf", "gigabpe", "rustbpe", "bpeasy", "sentencepiece")
SCALING_TOOLS = ("tokkit", "hf")
# distribution name of each tool, for versions
DISTS = {
    "tokkit": "tokkit",
    "hf": "tokenizers",
    "gigabpe": "gigabpe",
    "rustbpe": "rustbpe",
    "bpeasy": "bpeasy",
    "sentencepiece": "sentencepiece",
}
# How each anchor is configured; goes into the notes of the report.
CONFIG_NOTES = {
    "tokkit": (
        "`tokkit train --algo bpe --vocab-size V --pretokenizer gpt2 --num-threads {threads} "
        "--progress none --force --out DIR CORPUS`"
    ),
    "hf": (
        "`Tokenizer(models.BPE())`, `pre_tokenizers.ByteLevel(add_prefix_space=False)`, "
        "`BpeTrainer(vocab_size=V, min_frequency=0, show_progress=False, "
        "initial_alphabet=ByteLevel.alphabet())`, `tok.train([corpus])`, `tok.save()`; "
        "env RAYON_NUM_THREADS={threads}, TOKENIZERS_PARALLELISM=true"
    ),
    "gigabpe": (
        "`gigabpe.train_tokenizer([corpus], vocab_size=V, output=..., "
        "pretokenizer='bytelevel', min_frequency=0, threads={threads})`; its Python API has no "
        "`initial_alphabet`, so the base alphabet is only the bytes seen in the corpus "
        "and it learns (256 - seen) more merges than HF at the same vocab size"
    ),
    "rustbpe": (
        "`rustbpe.Tokenizer().train_from_iterator(lines, vocab_size=V, "
        "pattern=GPT2_PATTERN)` over the corpus lines (split on `\\n` only, newline "
        "kept, as HF reads files); ranks saved as a tiktoken file; "
        "env RAYON_NUM_THREADS={threads}. "
        "Equal counts are tie-broken on ids that are raw byte values, where HF's ids follow "
        "the byte-to-unicode characters sorted by code point, so the lists can diverge at the "
        "first tie"
    ),
    "bpeasy": (
        "`bpeasy.train_bpe(lines, GPT2_PATTERN, max_token_length=2**31, vocab_size=V, "
        "batch_size=1000)` over the corpus lines (as for rustbpe); saved with "
        "`save_vocab_to_tiktoken`; env RAYON_NUM_THREADS={threads}. Ties are broken on raw "
        "byte ids, as for rustbpe"
    ),
    "sentencepiece": (
        "`SentencePieceTrainer.train(model_type='bpe', vocab_size=V, byte_fallback=True, "
        "num_threads={threads}, normalization_rule_name='identity', add_dummy_prefix=False, "
        "remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, "
        "split_digits=False, max_sentence_length={spm_max_len}, "
        "input_sentence_size={spm_cap})`; not byte-level BPE (pieces are code points with "
        "`▁` for space, newlines are dropped, rare characters fall back to bytes), so its "
        "merges are not comparable"
    ),
}


def find_tokkit(override: str | None) -> tuple[list[str] | None, str]:
    """The tokkit command: --tokkit-cmd, else `tokkit` on PATH, else `python -m tokkit`."""
    candidates: list[list[str]] = []
    if override:
        candidates.append(shlex.split(override))
    else:
        exe = shutil.which("tokkit")
        if exe:
            candidates.append([exe])
        candidates.append([sys.executable, "-m", "tokkit"])
    for cmd in candidates:
        try:
            r = subprocess.run(
                [*cmd, "train", "--help"], capture_output=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return cmd, shlex.join(cmd)
    if override:
        return None, f"`{override} train --help` failed"
    return None, "neither `tokkit train --help` (PATH) nor `python -m tokkit train --help` works"


def tool_version(tool: str, tokkit_cmd: list[str] | None) -> str:
    try:
        return importlib.metadata.version(DISTS[tool])
    except importlib.metadata.PackageNotFoundError:
        pass
    if tool == "tokkit" and tokkit_cmd:
        try:
            r = subprocess.run(
                [*tokkit_cmd, "--version"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            if r.returncode == 0 and r.stdout.strip():
                return r.stdout.strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired):
            pass
    return "unknown"


def tool_available(tool: str) -> str | None:
    """None if the tool's Python package imports, else the reason."""
    mod = {"hf": "tokenizers"}.get(tool, tool)
    r = subprocess.run(
        [sys.executable, "-c", f"import {mod}"], capture_output=True, text=True, check=False
    )
    if r.returncode != 0:
        return f"cannot import {mod}: {r.stderr.strip().splitlines()[-1:]}"
    return None


def tool_command(
    tool: str,
    tokkit_cmd: list[str] | None,
    corpus: Path,
    vocab: int,
    outdir: Path,
    threads: int,
    spm_sentence_cap: int,
    spm_max_sentence_length: int,
    noop: bool = False,
) -> list[str]:
    """The command line of one run; with ``noop``, of one that starts up but does not train."""
    if tool == "tokkit":
        assert tokkit_cmd is not None
        if noop:
            return [*tokkit_cmd, "--help"]
        return [
            *tokkit_cmd,
            "train",
            "--algo",
            "bpe",
            "--vocab-size",
            str(vocab),
            "--pretokenizer",
            "gpt2",
            "--num-threads",
            str(threads),
            "--progress",
            "none",
            "--force",
            "--out",
            str(outdir),
            str(corpus),
        ]
    cmd = [
        sys.executable,
        str(WORKER),
        tool,
        "--corpus",
        str(corpus),
        "--vocab",
        str(vocab),
        "--threads",
        str(threads),
        "--out",
        str(outdir),
        "--spm-sentence-cap",
        str(spm_sentence_cap),
        "--spm-max-sentence-length",
        str(spm_max_sentence_length),
    ]
    if noop:
        cmd.append("--noop")
    return cmd
