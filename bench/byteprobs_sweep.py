"""Byte-exact scoring swept over real text: every shipped corpus file, in windows, by every
model, in exact and fast mode (issue 20).

A window is a stretch of a corpus file cut at character boundaries and scored as its own
document, as ``tokkit score --byte-exact`` (or ``--fast``) scores a file holding just it. A
failure is any error while scoring (a byte the model is said to give probability 0). Each
window's byte-level bits per byte is set against the canonical token-level score of the same
bytes: the byte-level probability sums over every tokenization, the canonical one among them,
so it can only be higher (up to pruning of covers below 1e-12 of the best, and float error).

    python bench/byteprobs_sweep.py --windows 4 --window-bytes 200 \\
        --out bench/out/byteprobs-sweep.json --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import machine_info
from _report import write_json, write_section

ROOT = Path(__file__).resolve().parent.parent
FILES = ["en-prose.txt", "en-tech.txt", "code.txt", "tr.txt", "unicode-edge.txt"]
MODELS = ["smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b"]
#: Byte-level bits per byte may exceed the canonical score by this much (float error).
TOLERANCE = 1e-6


def windows(data: bytes, count: int, size: int) -> list[bytes]:
    """``count`` windows of at most ``size`` bytes, spread evenly over ``data``, each starting
    and ending at a character boundary."""
    out = []
    for k in range(count):
        start = k * max(len(data) - size, 0) // max(count - 1, 1)
        while start < len(data) and data[start] & 0xC0 == 0x80:
            start += 1
        chunk = data[start : start + size]
        out.append(chunk.decode("utf-8", errors="ignore").encode("utf-8"))
    return out


def sweep_model(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    from tokkit.byteprobs import ByteLM, score_bytes
    from tokkit.byteprobs.lm import HFTokenLM
    from tokkit.byteprobs.model import load_vocab
    from tokkit.score import score_model

    lm = HFTokenLM(name)
    vocab = load_vocab(lm.path)
    modes = {"byte-exact": ByteLM(lm, vocab, exact=True), "fast": ByteLM(lm, vocab, exact=False)}
    sizes = {
        "byte-exact": (args.windows, args.window_bytes),
        "fast": (args.fast_windows or args.windows, args.fast_window_bytes or args.window_bytes),
    }
    rows = []
    for file in args.files:
        data = (ROOT / "corpora" / file).read_bytes()
        for mode, model in modes.items():
            parts = windows(data, *sizes[mode])
            canon = [
                score_model(lm.path, [w.decode()], loaded=(lm.model, lm.tokenizer)) for w in parts
            ]
            row: dict[str, Any] = {"model": name, "file": file, "mode": mode}
            row.update(windows=len(parts), window_bytes=sizes[mode][1], bytes=0, failures=[])
            row.update(lm_calls=0)
            row.update(seconds=0.0, lm_seconds=0.0)
            nll = canon_bits = 0.0
            above = 0
            for i, (w, c) in enumerate(zip(parts, canon, strict=True)):
                try:
                    s = score_bytes(model, w)
                except Exception as e:  # every error is a failure to report
                    row["failures"].append(f"window {i}: {type(e).__name__}: {e}")
                    continue
                row["bytes"] += s.bytes
                row["lm_calls"] += s.lm_calls
                row["seconds"] += s.seconds
                row["lm_seconds"] += s.lm_seconds
                nll += s.nll_bits
                canon_bits += c.bits_per_byte * c.bytes
                above += s.bits_per_byte > c.bits_per_byte + TOLERANCE
            row["bits_per_byte"] = nll / max(row["bytes"], 1)
            row["canonical_bits_per_byte"] = canon_bits / max(row["bytes"], 1)
            row["windows_above_canonical"] = above
            row["lm_calls_per_byte"] = row["lm_calls"] / max(row["bytes"], 1)
            row["outside_lm_share"] = (
                1 - row["lm_seconds"] / row["seconds"] if row["seconds"] else 0
            )
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    return rows


def markdown(result: dict[str, Any]) -> str:
    rows = result["rows"]
    m = result["machine"]
    fails = sum(len(r["failures"]) for r in rows)
    lines = [
        " and ".join(f"`{c}`" for c in result["commands"])
        + f" ({result['date']}; {m.get('cpu_model', '?')}, {m['nproc']} cores, CPU, "
        f"float32; {result['seconds'] / 60:.0f} min, peak RSS "
        f"{result['peak_rss_mib']:.0f} MiB). Every shipped corpus file in windows spread over "
        "the file, each scored as a separate document (fast mode keeps every cover the validity "
        "mask would drop and so calls the model many times more often: its windows are "
        "shorter where the table says so); canonical is the token-level score of the same "
        "bytes.",
        "",
        f"**{fails} failures** in {sum(r['windows'] for r in rows)} window scorings "
        f"({sum(r['bytes'] for r in rows)} bytes).",
        "",
        "| model | file | mode | windows | window bytes | bytes | failures | LM calls / byte "
        "| outside-LM share | bits/byte | canonical | windows above canonical |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['file']} | {r['mode']} | {r['windows']} | {r['window_bytes']} "
            f"| {r['bytes']} | "
            f"{len(r['failures'])} | {r['lm_calls_per_byte']:.2f} | "
            f"{100 * r['outside_lm_share']:.1f}% | {r['bits_per_byte']:.3f} | "
            f"{r['canonical_bits_per_byte']:.3f} | {r['windows_above_canonical']} |"
        )
    for r in rows:
        lines += [f"- {r['model']} {r['file']} {r['mode']}: {f}" for f in r["failures"]]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--windows", type=int, default=4, help="windows per file (default: 4)")
    p.add_argument("--window-bytes", type=int, default=200, help="bytes per window (default: 200)")
    p.add_argument(
        "--fast-windows", type=int, help="windows per file in fast mode (default: --windows)"
    )
    p.add_argument(
        "--fast-window-bytes",
        type=int,
        help="bytes per window in fast mode (default: --window-bytes)",
    )
    p.add_argument("--models", nargs="+", default=MODELS, metavar="NAME")
    p.add_argument("--files", nargs="+", default=FILES, metavar="FILE", help="in corpora/")
    p.add_argument("--out", type=Path, default=Path("bench/out/byteprobs-sweep.json"))
    p.add_argument("--markdown", type=Path, help="write the section into this markdown file")
    p.add_argument(
        "--merge", action="store_true", help="keep the other models' rows of an earlier --out"
    )
    args = p.parse_args()

    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    command = "python bench/byteprobs_sweep.py " + " ".join(sys.argv[1:])
    commands = [command]
    seconds = 0.0
    if args.merge and args.out.exists():
        old = json.loads(args.out.read_text(encoding="utf-8"))
        commands = old.get("commands", [old["command"]]) + commands
        seconds = old["seconds"]
        rows = [r for r in old["rows"] if r["model"] not in args.models]
        for r in rows:  # rows written before the column existed
            r.setdefault("window_bytes", old["window_bytes"])
    result: dict[str, Any] = {}
    for name in args.models:
        rows += sweep_model(name, args)
        result = {
            "commands": commands,
            "date": time.strftime("%Y-%m-%d"),
            "machine": machine_info(),
            "windows": args.windows,
            "window_bytes": args.window_bytes,
            "seconds": seconds + time.perf_counter() - t0,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rows": sorted(rows, key=lambda r: MODELS.index(r["model"])),
        }
        write_json(args.out, result)  # after each model: a long sweep can be resumed
    if args.markdown:
        write_section(args.markdown, "byteprobs-sweep", markdown(result))
    rows = result["rows"]
    fails = sum(len(r["failures"]) for r in rows)
    print(f"{fails} failures", file=sys.stderr)
    return 1 if fails or any(math.isnan(r["bits_per_byte"]) for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
