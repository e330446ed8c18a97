"""µs per ``ByteVocab.valid_extensions`` call on real vocabularies: all candidates and the ~2k
most frequent ones, for contexts cut from the corpora (fast path vs the plain oracle).

    TOKKIT_CACHE=... python bench/validity_bench.py [--contexts 12] [--reference]
"""

from __future__ import annotations

import argparse
import collections
import random
import time
from pathlib import Path

import numpy as np

from tokkit._tokkit import ByteVocab

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b"]


def contexts(vocab: ByteVocab, count: int, rng: random.Random) -> list[tuple[str, list[int]]]:
    """Tails (1-12 tokens) of canonical encodings of corpus snippets, labelled by their end."""
    text = (ROOT / "corpora" / "code.txt").read_text(encoding="utf-8")[:40000]
    text += (ROOT / "corpora" / "en-prose.txt").read_text(encoding="utf-8")[:20000]
    text += (ROOT / "corpora" / "unicode-edge.txt").read_text(encoding="utf-8")[:5000]
    out = []
    while len(out) < count:
        start = rng.randrange(len(text) - 300)
        ids = vocab.encode(text[start : start + 200].encode()).tolist()
        k = rng.randrange(len(ids) // 2, len(ids))
        ctx = ids[max(0, k - rng.randrange(1, 13)) : k]
        if not vocab.is_valid(ctx):
            continue
        tail = vocab.token_bytes(ctx[-1])
        label = "ws" if tail[-1:].isspace() else "alpha" if tail[-1:].isalpha() else "other"
        out.append((label, ctx))
    return out


def frequent(vocab: ByteVocab, n: int) -> np.ndarray:
    text = (ROOT / "corpora" / "code.txt").read_text(encoding="utf-8")[:200000]
    counts = collections.Counter(vocab.encode(text.encode()).tolist())
    return np.array(sorted(t for t, _ in counts.most_common(n)), dtype=np.uint32)


def timed(f, ctx, cands) -> tuple[float, np.ndarray]:
    t = time.perf_counter()
    mask = f(ctx, cands)
    return (time.perf_counter() - t) * 1e6, mask


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contexts", type=int, default=12)
    ap.add_argument("--reference", action="store_true", help="also time the plain oracle")
    ap.add_argument("--models", nargs="*", default=MODELS)
    args = ap.parse_args()
    from tests._models import prepared

    for name in args.models:
        vocab = ByteVocab.from_file(prepared(name) / "tokenizer.json")
        everything = np.arange(vocab.vocab_size, dtype=np.uint32)
        top = frequent(vocab, 2048)
        rng = random.Random(0)
        rows = collections.defaultdict(list)
        for _label, ctx in contexts(vocab, args.contexts, rng):
            for kind, cands in (("all", everything), ("top2k", top)):
                vocab._clear_memo()
                us, mask = timed(vocab.valid_extensions, ctx, cands)
                rows[kind, "fast"].append(us)
                rows[kind, "invalid"].append(int((~mask).sum()))
                if args.reference:
                    us_ref, ref = timed(vocab._valid_extensions_reference, ctx, cands)
                    rows[kind, "ref"].append(us_ref)
                    assert (ref == mask).all(), (name, ctx)
        for kind in ("all", "top2k"):
            fast = np.median(rows[kind, "fast"])
            worst = max(rows[kind, "fast"])
            line = f"{name:20s} {kind:6s} fast median {fast:10.0f} µs  max {worst:10.0f}"
            if args.reference:
                ref = np.median(rows[kind, "ref"])
                line += f"  | oracle median {ref:10.0f} µs  max {max(rows[kind, 'ref']):10.0f}"
                line += f"  | x{ref / fast:5.1f}"
            line += f"  (median invalid {np.median(rows[kind, 'invalid']):.0f})"
            print(line, flush=True)


if __name__ == "__main__":
    main()
