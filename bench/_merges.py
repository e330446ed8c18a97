"""Merge lists of trained tokenizers: extraction, GPT-2 byte form, comparison with HF.

Reads each tool's output (an HF ``tokenizer.json`` or a tiktoken rank file),
turns it into an ordered list of merges in GPT-2's byte-to-unicode alphabet,
digests it, and compares it in order with HF ``tokenizers``' list. Runs in
the benchmark process, after (and outside) the timed run.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from tokkit.vocab import BYTE_CHARS


def _u(b: bytes) -> str:
    return "".join(BYTE_CHARS[x] for x in b)


def merges_from_tokenizer_json(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8") as f:
        model = json.load(f)["model"]
    out: list[tuple[str, str]] = []
    for m in model["merges"]:
        if isinstance(m, str):
            left, right = m.split(" ")
        else:
            left, right = m
        out.append((left, right))
    return out


def _bpe_replay(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    parts = [bytes([b]) for b in token]
    while True:
        best: tuple[int, int] | None = None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < max_rank and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            return parts
        i = best[1]
        parts[i : i + 2] = [parts[i] + parts[i + 1]]


def merges_from_ranks(ranks: dict[bytes, int]) -> list[tuple[str, str]]:
    """Recover the ordered merge list from tiktoken-style ranks.

    The pair of a rank-r token is the split whose halves both have rank < r;
    when several splits qualify, replay BPE with the ranks below r (the way
    tiktoken-to-HF converters do).
    """
    out: list[tuple[str, str]] = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) < 2:
            continue
        splits = [
            (token[:i], token[i:])
            for i in range(1, len(token))
            if ranks.get(token[:i], rank) < rank and ranks.get(token[i:], rank) < rank
        ]
        if len(splits) != 1:
            parts = _bpe_replay(ranks, token, rank)
            if len(parts) == 2:
                splits = [(parts[0], parts[1])]
        if splits:
            out.append((_u(splits[0][0]), _u(splits[0][1])))
        else:  # not reachable from a real BPE run; keep the position
            out.append(("<unresolved>", _u(token)))
    return out


def read_tiktoken(path: Path) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                tok, rank = line.split()
                ranks[base64.b64decode(tok)] = int(rank)
    return ranks


def extract_merges(tool: str, outdir: Path) -> list[tuple[str, str]] | None:
    tj = outdir / "tokenizer.json"
    if tj.exists():
        return merges_from_tokenizer_json(tj)
    tk = outdir / "ranks.tiktoken"
    if tk.exists():
        return merges_from_ranks(read_tiktoken(tk))
    return None


def merges_digest(merges: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for left, right in merges:
        h.update(f"{left}\x00{right}\x01".encode("utf-8", errors="surrogatepass"))
    return h.hexdigest()[:16]


def compare_merges(ref: list[tuple[str, str]], got: list[tuple[str, str]]) -> dict[str, Any]:
    n = min(len(ref), len(got))
    first = next((i for i in range(n) if ref[i] != got[i]), None)
    res: dict[str, Any] = {
        "equal": first is None and len(ref) == len(got),
        "first_diff": first if first is not None else (None if len(ref) == len(got) else n),
        "prefix_equal": first is None,
        "n_tool": len(got),
        "n_hf": len(ref),
    }
    if first is not None:
        res["hf_at_diff"] = list(ref[first])
        res["tool_at_diff"] = list(got[first])
    return res
