"""How much of the subword mean to blend into OMP's rows (``tokkit transplant --mix-mean W``).

Takes a direction's OMP transplant and its subword-mean transplant, both made by
``bench/transplant_bench.py``, writes ``(1 - W) · OMP row + W · mean row`` into every new row
(the rows where the two differ; shared rows are the same bit for bit in both) for each W, and
scores the result on the benchmark texts as ``tokkit score`` does. W = 0 reproduces the OMP
transplant's figures and W = 1 the mean's, which checks the assembly; ``tokkit transplant
--mix-mean`` blends in float32 before rounding to the model's dtype, so its figures can differ
from these in the third decimal. With ``--shrink W`` it also blends OMP's rows with the base
model's *global* mean row instead (the same weight in every row), to tell a prior shift or a
shrinkage apart from what each token's own pieces bring.

    python bench/transplant_mix.py --weights 0,0.3,0.4,0.5,0.6,0.7,1 --shrink 0.5 \
        --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import write_json, write_section
from transplant_roles import ROOT, TEXTS, WORK


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--direction", nargs="+", default=["smol-on-gemma", "gemma-on-smol"])
    ap.add_argument("--omp", default="omp-r16", help="the OMP variant's name in the work folder")
    ap.add_argument("--weights", default="0,0.3,0.4,0.5,0.6,0.7,1")
    ap.add_argument("--shrink", type=float, help="also blend with the global mean row at this W")
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "transplant-sweep.json")
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args()

    import torch

    from tokkit import models
    from tokkit.transplant.pipeline import mix, stored_dtype

    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(TEXTS.glob("*.txt"))}
    weights = [float(w) for w in args.weights.split(",")]
    result: dict[str, Any] = {
        "command": "python bench/transplant_mix.py " + shlex.join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "directions": {},
    }
    for direction in args.direction:
        omp_dir = args.work / f"{direction}-tokkit-{args.omp}"
        mean_dir = args.work / f"{direction}-tokkit-mean"
        lm, tok = models.load_causal_lm(omp_dir)
        emb = lm.get_input_embeddings().weight
        e_omp = emb.detach().float().clone()
        e_mean = models.load_causal_lm(mean_dir)[0].get_input_embeddings().weight.detach().float()
        new = (e_omp != e_mean).any(dim=1)

        # Blended as `tokkit transplant --mix-mean` does, then rounded as a saved model is.
        stored = getattr(torch, stored_dtype(omp_dir))
        omp_new = e_omp[new]
        rows: dict[str, Any] = {"new_rows": int(new.sum()), "scores": {}}
        for w in weights:
            with torch.no_grad():
                emb[new] = mix(omp_new, e_mean[new], w).to(stored).to(emb.dtype)
            scores = score_texts(omp_dir, (lm, tok), texts)
            rows["scores"][str(w)] = scores
            print(direction, w, scores, file=sys.stderr, flush=True)
        if args.shrink is not None:
            w = args.shrink
            base = json.loads((omp_dir / "tokkit.json").read_text())["base_model"]["path"]
            glob = (
                models.load_causal_lm(base)[0]
                .get_input_embeddings()
                .weight.detach()
                .float()
                .mean(0)
            )
            with torch.no_grad():
                emb[new] = mix(omp_new, glob.expand_as(omp_new), w).to(stored).to(emb.dtype)
            rows["shrink"] = {"w": w, "scores": score_texts(omp_dir, (lm, tok), texts)}
            print(direction, "shrink", rows["shrink"], file=sys.stderr, flush=True)
        result["directions"][direction] = rows
        write_json(args.out, result)
    if args.markdown:
        write_section(args.markdown, "transplant-mix-sweep", markdown(result))
    return 0


def score_texts(model_dir: Path, loaded: Any, texts: dict[str, str]) -> dict[str, float]:
    """Bits per byte of an in-memory model on each text, as ``tokkit score`` computes it."""
    from tokkit.score import score_model

    return {
        name: score_model(model_dir, [text], loaded=loaded).bits_per_byte
        for name, text in texts.items()
    }


def markdown(r: dict[str, Any]) -> str:
    lines = [
        "### Blend weight of the subword mean in OMP's rows",
        "",
        f"- Command: `{r['command']}` ({r['date']}). Every new row of the `omp-r16` transplant "
        "is blended with the subword-mean transplant's, `(1 - W) · OMP + W · mean`; W = 0 is "
        "OMP, W = 1 the mean. Bits per byte (lower is better).",
        "",
    ]
    for direction, d in r["directions"].items():
        names = list(next(iter(d["scores"].values())))
        lines += [
            f"**{direction}** ({d['new_rows']:,} new rows)",
            "",
            "| W | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for w, s in d["scores"].items():
            lines.append(f"| {w} | " + " | ".join(f"{s[n]:.3f}" for n in names) + " |")
        if "shrink" in d:
            s, w = d["shrink"]["scores"], d["shrink"]["w"]
            cells = " | ".join(f"{s[n]:.3f}" for n in names)
            lines.append(f"| {w}, toward the global mean row instead | {cells} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
