"""Extending SmolLM2-135M's tokenizer, then its model: the evidence of issue 15.

Two extensions of SmolLM2's 49,152-id byte-level BPE, learned by `tokkit train --extend` on the
shipped corpora with the last --heldout-bytes of each file kept out:

* ``tr``: 8,192 new tokens on the Turkish text (tr.txt);
* ``super``: SuperBPE on top of the base, to 65,536 ids, on the English text (en-prose, en-tech).

For each: tokens per byte on held-out Turkish and English, before and after; then SmolLM2
transplanted onto the extension with each method (mean, TokenAdapt, OMP; every old row copied
bit for bit, see docs/design/transplant.md) and scored in bits per byte on both held-out sets;
and for ``tr``, a short heal of the best transplant with `tokkit distill` (teacher: the base).
OMP needs a donor model that speaks the new tokenizer and none exists for a fresh extension, so
the donor is Gemma-3-270M transplanted onto the extension by the subword mean (Gemma knows
Turkish): OMP then writes each new token's Gemma-side vector as a sparse mix of the anchors'
and applies the mix to SmolLM2's rows.

    python bench/extend_bench.py --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import machine_info
from _report import write_json, write_section

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"
BASE = "smollm2-135m"
DONOR = "gemma3-270m"
EXTENSIONS = {
    "tr": (["--vocab-size", str(49152 + 8192)], ["tr.txt"]),
    "super": (["--algo", "superbpe", "--vocab-size", "65536"], ["en-prose.txt", "en-tech.txt"]),
}


def tokkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "tokkit", *args]


def run(cmd: list[str], log: list[dict[str, Any]]) -> None:
    """Run a step (skipped by the caller when its output exists), logging its wall time."""
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    log.append({"cmd": " ".join(cmd[2:]), "wall_s": round(time.perf_counter() - started, 1)})


def split(work: Path, heldout_bytes: int) -> dict[str, Path]:
    """Training text per extension, and the held-out Turkish and English."""
    work.mkdir(parents=True, exist_ok=True)
    held: dict[str, list[str]] = {"tr": [], "en": []}
    out = {}
    for name, (_, files) in EXTENSIONS.items():
        train = []
        for f in files:
            text = (CORPORA / f).read_text(encoding="utf-8")
            cut = text.rfind("\n", 0, len(text) - heldout_bytes // len(files)) + 1
            train.append(text[:cut])
            held["tr" if f == "tr.txt" else "en"].append(text[cut:])
        out[f"train-{name}"] = work / f"train-{name}.txt"
        out[f"train-{name}"].write_text("".join(train), encoding="utf-8")
    for lang, parts in held.items():
        out[f"heldout-{lang}"] = work / f"heldout-{lang}.txt"
        out[f"heldout-{lang}"].write_text("".join(parts), encoding="utf-8")
    return out


def tokens_per_byte(tok: str | Path, text: str) -> float:
    import tokkit

    return len(tokkit.load(tok).encode(text)) / len(text.encode())


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "extend")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "extend.json")
    ap.add_argument("--heldout-bytes", type=int, default=40000)
    ap.add_argument("--score-bytes", type=int, default=20000,
                    help="bits per byte on the first N bytes of each held-out set")
    ap.add_argument("--methods", default="mean,tokenadapt,omp")
    ap.add_argument("--extensions", default="tr,super")
    ap.add_argument("--heal-steps", type=int, default=60, help="0: no heal")
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--section", default="extend")
    ap.add_argument("--render", action="store_true", help="only re-render --out into --markdown")
    args = ap.parse_args()
    if args.render:
        import json

        result = json.loads(args.out.read_text(encoding="utf-8"))
        write_section(args.markdown, args.section, markdown(result))
        return 0

    from tokkit.models import path as model_path
    from tokkit.score import score_model

    work, log = args.work, []
    paths = split(work, args.heldout_bytes)
    held = {
        lang: paths[f"heldout-{lang}"].read_text(encoding="utf-8") for lang in ("tr", "en")
    }
    scored = {lang: text.encode()[: args.score_bytes].decode(errors="ignore")
              for lang, text in held.items()}
    base_tok = model_path(BASE)

    def bpb(model: str | Path) -> dict[str, float]:
        return {lang: round(score_model(str(model), [t]).bits_per_byte, 4)
                for lang, t in scored.items()}

    result: dict[str, Any] = {
        "machine": machine_info(),
        "heldout_bytes": {lang: len(t.encode()) for lang, t in held.items()},
        "score_bytes": args.score_bytes,
        "base": {"tokens_per_byte": {lang: round(tokens_per_byte(base_tok, t), 4)
                                      for lang, t in held.items()},
                 "bits_per_byte": bpb(BASE)},
        "extensions": {},
        "log": log,
    }
    for name in args.extensions.split(","):
        flags, _ = EXTENSIONS[name]
        tok = work / f"tok-{name}"
        if not tok.exists():
            run(tokkit("train", "--extend", BASE, *flags, "--progress", "none", "--out",
                       str(tok), str(paths[f"train-{name}"])), log)
        ext: dict[str, Any] = {
            "flags": " ".join(flags),
            "tokens_per_byte": {lang: round(tokens_per_byte(tok, t), 4)
                                for lang, t in held.items()},
            "methods": {},
        }
        for method in args.methods.split(","):
            out = work / f"{name}-{method}"
            extra = []
            if method == "omp":
                donor = work / f"donor-gemma-{name}"
                if not donor.exists():
                    run(tokkit("transplant", "--model", DONOR, "--tokenizer", str(tok),
                               "--method", "mean", "--progress", "none", "--out", str(donor)),
                        log)
                extra = ["--donor", str(donor), "--omp-refresh", "16"]
            if not out.exists():
                run(tokkit("transplant", "--model", BASE, "--tokenizer", str(tok), "--method",
                           method, *extra, "--progress", "none", "--out", str(out)), log)
            ext["methods"][method] = {"bits_per_byte": bpb(out)}
            print(name, method, ext["methods"][method], file=sys.stderr)
        if name == "tr" and args.heal_steps:
            best = min(ext["methods"], key=lambda m: ext["methods"][m]["bits_per_byte"]["tr"])
            healed = work / f"{name}-{best}-healed"
            if not healed.exists():
                run(tokkit("distill", "--teacher", BASE, "--student", str(work / f"{name}-{best}"),
                           "--data", str(paths["train-tr"]), "--max-steps", str(args.heal_steps),
                           "--eval-every", "0", "--progress", "none", "--out", str(healed)), log)
            ext["healed"] = {"from": best, "steps": args.heal_steps, "bits_per_byte": bpb(healed)}
        result["extensions"][name] = ext
        write_json(args.out, result)
    write_json(args.out, result)
    if args.markdown:
        write_section(args.markdown, args.section, markdown(result))
    return 0


def markdown(r: dict[str, Any]) -> str:
    """The tables of docs/benchmarks.md."""
    base = r["base"]
    lines = [
        f"Held-out: the last {r['heldout_bytes']['tr']:,} bytes of tr.txt and "
        f"{r['heldout_bytes']['en']:,} of en-prose + en-tech (kept out of every training); "
        f"bits per byte on the first {r['score_bytes']:,} bytes of each.",
        "",
        "| tokenizer | ids | tokens/byte TR | tokens/byte EN |",
        "|---|---:|---:|---:|",
        f"| SmolLM2 (base) | 49,152 | {base['tokens_per_byte']['tr']:.4f} | "
        f"{base['tokens_per_byte']['en']:.4f} |",
    ]
    names = {"tr": "+ 8,192 Turkish tokens", "super": "SuperBPE on top (English)"}
    sizes = {"tr": "57,344", "super": "65,536"}
    for name, ext in r["extensions"].items():
        t = ext["tokens_per_byte"]
        lines.append(f"| {names[name]} | {sizes[name]} | {t['tr']:.4f} "
                     f"({t['tr'] / base['tokens_per_byte']['tr'] - 1:+.1%}) | {t['en']:.4f} "
                     f"({t['en'] / base['tokens_per_byte']['en'] - 1:+.1%}) |")
    lines += ["", "| model | bits/byte TR | bits/byte EN | EN vs base |", "|---|---:|---:|---:|"]
    b = base["bits_per_byte"]
    lines.append(f"| SmolLM2 (base tokenizer) | {b['tr']:.4f} | {b['en']:.4f} | |")
    for name, ext in r["extensions"].items():
        rows = [(f"{names[name]}, {m}", v["bits_per_byte"]) for m, v in ext["methods"].items()]
        if "healed" in ext:
            h = ext["healed"]
            rows.append((f"{names[name]}, {h['from']} + {h['steps']} distill steps",
                         h["bits_per_byte"]))
        for label, v in rows:
            lines.append(f"| {label} | {v['tr']:.4f} | {v['en']:.4f} | "
                         f"{v['en'] / b['en'] - 1:+.2%} |")
    lines += ["", "Steps and their wall time (2 cores):", ""]
    lines += [f"- `{e['cmd'].replace(str(ROOT) + '/', '')}`: {e['wall_s']} s" for e in r["log"]]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
