"""One fresh process of ``encode_bench.py``: load one tool, then time it or dump its ids.

    python bench/_encode_worker.py '<json spec>'

Task ``time``: import the tool's module, load the vocabulary (both timed), then time the cold
call on text A and the warm call on text B (``time.process_time`` and ``time.perf_counter``
around each call, building the Python result and a collection of the young generation
included) and print one JSON line.

Task ``diff``: encode the lines and the ~8 KB chunks of each given text, A and B (the tool's
batch call, or a loop of single calls where it has none), and write per-document files:
``PREFIX.len`` (uint32 token counts) and ``PREFIX.hash`` (8-byte blake2b of each document's ids
as uint32), so that the parent compares any tool with HF without holding ids in memory.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import json
import sys
import time
from array import array
from pathlib import Path
from typing import Any

from _encode_tools import call, load

BATCH_MODES = ("batch", "lines", "count_batch")
CHUNK = 8192
MODULES = {
    "tokkit": "tokkit._tokkit",
    "fastokens": "fastokens",
    "tokie": "tokie",
    "tiktoken": "tiktoken",
    "bpe-openai": "bpe_openai",
    "hf": "tokenizers",
}


def lines_of(text: str) -> list[str]:
    """The text's lines, each with its "\\n" (only "\\n" ends a line)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def chunks_of(text: str, size: int = CHUNK) -> list[str]:
    """Whole lines gathered into documents of at least ``size`` bytes (the last may be less)."""
    docs: list[str] = []
    current: list[str] = []
    n = 0
    for line in lines_of(text):
        current.append(line)
        n += len(line.encode("utf-8"))
        if n >= size:
            docs.append("".join(current))
            current, n = [], 0
    if current:
        docs.append("".join(current))
    return docs


def diff_docs(paths: list[str]) -> dict[str, list[str]]:
    """The diff's documents of a text: the lines of each file, and its ~8 KB chunks."""
    texts = [Path(p).read_text(encoding="utf-8") for p in paths]
    return {
        "lines": [line for t in texts for line in lines_of(t)],
        "chunks": [chunk for t in texts for chunk in chunks_of(t)],
    }


def _ids_bytes(ids: Any) -> bytes:
    if hasattr(ids, "dtype"):
        return bytes(ids.astype("<u4").tobytes())
    return array("I", ids).tobytes()


def _digest(ids: Any) -> bytes:
    return hashlib.blake2b(_ids_bytes(ids), digest_size=8).digest()


def write_docs(prefix: str, docs: list[Any], counts_only: bool) -> None:
    """Per-document token counts (``.len``) and, unless only counts exist, id hashes."""
    lens = array("I", docs if counts_only else (len(d) for d in docs))
    Path(prefix + ".len").write_bytes(lens.tobytes())
    if not counts_only:
        Path(prefix + ".hash").write_bytes(b"".join(_digest(d) for d in docs))


def read_docs(prefix: str) -> tuple[array[int], list[bytes] | None]:
    lens = array("I")
    lens.frombytes(Path(prefix + ".len").read_bytes())
    hp = Path(prefix + ".hash")
    if not hp.exists():
        return lens, None
    raw = hp.read_bytes()
    return lens, [raw[i : i + 8] for i in range(0, len(raw), 8)]


def compare_docs(prefix: str, ref_prefix: str) -> dict[str, Any]:
    """How many documents' ids (or counts, where one side has only counts) differ from the
    reference's; ``first`` is the index of the first that does."""
    lens, hashes = read_docs(prefix)
    ref_lens, ref_hashes = read_docs(ref_prefix)
    if len(lens) != len(ref_lens):
        return {"docs": len(ref_lens), "differ": len(ref_lens), "first": 0}
    if hashes is not None and ref_hashes is not None:
        bad = [i for i, (a, b) in enumerate(zip(hashes, ref_hashes, strict=True)) if a != b]
    else:
        bad = [i for i, (a, b) in enumerate(zip(lens, ref_lens, strict=True)) if a != b]
    return {"docs": len(ref_lens), "differ": len(bad), "first": bad[0] if bad else None}


def summarize(result: Any, mode: str, prefix: str | None) -> dict[str, Any]:
    """Token count and sha256 of one call's result; per-document files for batch modes."""
    if mode == "count":
        return {"tokens": int(result)}
    if mode in BATCH_MODES:
        counts_only = mode == "count_batch"
        if prefix:
            write_docs(prefix, list(result), counts_only)
        if counts_only:
            return {"tokens": sum(result), "sha": hashlib.sha256(_ids_bytes(result)).hexdigest()}
        h = hashlib.sha256()
        for ids in result:
            h.update(_digest(ids))
        return {"tokens": sum(len(ids) for ids in result), "sha": h.hexdigest()}
    return {"tokens": len(result), "sha": hashlib.sha256(_ids_bytes(result)).hexdigest()}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    tool, tokenizer, mode = spec["tool"], spec["tokenizer"], spec.get("mode", "single")
    t0 = time.perf_counter()
    importlib.import_module(MODULES[tool])
    t1 = time.perf_counter()
    enc = load(tool, tokenizer, Path(spec["path"]), mode)
    t2 = time.perf_counter()
    out: dict[str, Any] = {"import_s": t1 - t0, "load_s": t2 - t1}
    if spec["task"] == "diff":
        batch = call(tool, enc, "batch", spec["threads"]) if spec["batch"] else None
        single = call(tool, enc, "single", 1)
        for kind, paths in spec["texts"].items():
            for unit, docs in diff_docs(paths).items():
                start = time.perf_counter()
                ids = batch(docs) if batch else [single(d) for d in docs]
                out[f"{kind}.{unit}"] = {"docs": len(docs), "seconds": time.perf_counter() - start}
                write_docs(f"{spec['out']}.{kind}.{unit}", ids, False)
        return out
    if mode == "array":
        # Whoever asks for arrays has numpy loaded; an encoder that imports it lazily must not be
        # charged the import inside its first timed call.
        importlib.import_module("numpy")
    fn = call(tool, enc, mode, spec["threads"])
    inputs = []
    for which in ("A", "B"):
        text = Path(spec[which]).read_text(encoding="utf-8")
        inputs.append(lines_of(text) if mode in BATCH_MODES else text)
    results = []
    for inp in inputs:
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn(inp)
        # The young collection of the objects the call made, charged to the call: a tool that
        # pauses the collector while it makes many lists (tokkit) would otherwise hand it to
        # the next call (60 ms of the warm batch call on 265k lists), and one that does not
        # pays it inside its own call.
        gc.collect(1)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        results.append((result, {"cpu_s": cpu, "wall_s": wall}))
    for which, (result, timing) in zip(("cold", "warm"), results, strict=True):
        prefix = f"{spec['docs']}.{which}" if spec.get("docs") else None
        out[which] = {**timing, **summarize(result, mode, prefix)}
    return out


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
