"""A ZeTT hypernetwork for SmolLM2-135M, trained on a CPU, then zero-shot onto two tokenizers
it never saw in training: the evidence of issue 16.

1. The shipped corpora are split: the last --heldout-bytes of en-prose and tr are kept out of
   everything; the rest is the training text.
2. `tokkit hypernet train` on it (defaults: a 3-layer hypernetwork as wide as the model,
   sampled 2,048-piece tokenizers, 4 x 128 tokens a step; --max-steps as the budget allows).
3. Two targets: a tokkit SuperBPE trained on the training text (16k ids, transition at 12k)
   and Gemma-3's 262k tokenizer (prepared gemma3-270m). Neither is among the hypernetwork's
   training tokenizers (all sampled UnigramLMs).
4. SmolLM2 transplanted onto each by mean, TokenAdapt, OMP (Gemma-3 only: its donor is
   Gemma-3-270M; no model speaks the fresh SuperBPE) and zett; each scored in bits per byte on
   the held-out English and Turkish.

    python bench/hypernet_bench.py --max-steps 150 --markdown docs/benchmarks.md
    python bench/hypernet_bench.py --device cuda --extra "--sample-vocab 32768 --batch-size 32" \
        --out bench/out/hypernet-gpu.json --work bench/out/hypernet-gpu --section hypernet-gpu
"""

from __future__ import annotations

import argparse
import json
import shlex
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
GEMMA = "gemma3-270m"
#: In this order, the training's own held-out slice (for its curve) is the end of en-prose.
FILES = ("tr.txt", "code.txt", "en-tech.txt", "en-prose.txt")
HELD = {"en": "en-prose.txt", "tr": "tr.txt"}


def tokkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "tokkit", *args]


def run(cmd: list[str], log: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = round(time.perf_counter() - started, 1)
    log.append({"cmd": " ".join(cmd[2:]), "wall_s": wall})
    return wall


def split(work: Path, heldout_bytes: int) -> tuple[Path, dict[str, str]]:
    """The training text (one file per corpus) and the held-out texts by language."""
    train = work / "train"
    train.mkdir(parents=True, exist_ok=True)
    held: dict[str, str] = {}
    for f in FILES:
        text = (CORPORA / f).read_text(encoding="utf-8")
        lang = next((k for k, v in HELD.items() if v == f), None)
        cut = len(text) if lang is None else text.rfind("\n", 0, len(text) - heldout_bytes) + 1
        (train / f).write_text(text[:cut], encoding="utf-8")
        if lang is not None:
            held[lang] = text[cut:]
    return train, held


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "hypernet")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "hypernet.json")
    ap.add_argument("--max-steps", type=int, default=150)
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--extra", default="", help="more `tokkit hypernet train` flags")
    ap.add_argument("--heldout-bytes", type=int, default=30000)
    ap.add_argument("--score-bytes", type=int, default=20000)
    ap.add_argument("--methods", default="mean,tokenadapt,omp,zett")
    ap.add_argument("--targets", default="superbpe,gemma3")
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--section", default="hypernet")
    ap.add_argument("--render", action="store_true", help="only re-render --out")
    ap.add_argument("--own", action="store_true",
                    help="only add the hypernetwork applied to SmolLM2's own tokenizer to --out")
    args = ap.parse_args()
    if args.render:
        write_section(args.markdown, args.section,
                      markdown(json.loads(args.out.read_text(encoding="utf-8"))))
        return 0

    from tokkit.models import path as model_path
    from tokkit.score import score_model

    work, log = args.work, []
    train, held = split(work, args.heldout_bytes)
    scored = {k: t.encode()[: args.score_bytes].decode(errors="ignore") for k, t in held.items()}
    if args.own:
        result = json.loads(args.out.read_text(encoding="utf-8"))
        result["own"] = own_tokenizer(work / "smol-hn", scored, args.device)
        write_json(args.out, result)
        if args.markdown:
            write_section(args.markdown, args.section, markdown(result))
        return 0

    def bpb(model: str | Path) -> dict[str, float]:
        return {k: round(score_model(str(model), [t], device=args.device).bits_per_byte, 4)
                for k, t in scored.items()}

    hn = work / "smol-hn"
    train_flags = ["--max-steps", str(args.max_steps), "--eval-every", str(args.eval_every),
                   "--device", args.device, *shlex.split(args.extra)]
    result: dict[str, Any] = {"machine": machine_info(), "train_flags": " ".join(train_flags),
                              "score_bytes": args.score_bytes, "log": log}
    if hn.exists() and args.out.exists():  # a rerun keeps the training's record and targets
        before = json.loads(args.out.read_text(encoding="utf-8"))
        log.extend(before.get("log", []))
        for key in ("train_wall_s", "targets", "own"):
            if key in before:
                result[key] = before[key]
    if not hn.exists():
        data = [str(train / f) for f in FILES]
        result["train_wall_s"] = run(tokkit("hypernet", "train", "--model", BASE, "--data",
                                            *data, "--out", str(hn), "--progress", "none",
                                            *train_flags), log)
    rows = [json.loads(x) for x in (hn / "metrics.jsonl").read_text().splitlines()]
    result["curve"] = [{"step": r["step"], "bits_per_byte": round(r["bits_per_byte"], 4)}
                       for r in rows if "bits_per_byte" in r]
    steps = [r for r in rows if "seconds" in r and r.get("phase") != "identity"]
    result["seconds_per_step"] = round(sum(r["seconds"] for r in steps) / max(len(steps), 1), 2)
    peaks = [r["gpu_peak_mib"] for r in rows if "gpu_peak_mib" in r]
    if peaks:
        result["gpu_peak_mib"] = round(max(peaks))
    result["base"] = {"bits_per_byte": bpb(BASE)}
    targets: dict[str, Path | str] = {}
    if "superbpe" in args.targets:
        sb = work / "tok-superbpe"
        if not sb.exists():
            run(tokkit("train", "--algo", "superbpe", "--vocab-size", "16000",
                       "--transition-point", "12000", "--special-tokens", "<|endoftext|>",
                       "--progress", "none", "--out", str(sb), *[str(train / f) for f in FILES]),
                log)
        targets["superbpe"] = sb
    if "gemma3" in args.targets:
        targets["gemma3"] = model_path(GEMMA)
    result.setdefault("targets", {})
    for name, tok in targets.items():
        res: dict[str, Any] = result["targets"].get(name, {})
        for method in args.methods.split(","):
            if method == "omp" and name != "gemma3":
                res[method] = {"skipped": "no model speaks this tokenizer (OMP needs a donor)"}
                continue
            out = work / f"{name}-{method}"
            extra = {"omp": ["--donor", str(tok), "--omp-refresh", "16"],
                     "zett": ["--hypernet", str(hn)]}.get(method, [])
            wall = None
            if not out.exists():
                wall = run(tokkit("transplant", "--model", BASE, "--tokenizer", str(tok),
                                  "--method", method, *extra, "--device", args.device,
                                  "--progress", "none", "--out", str(out)), log)
            res[method] = {"bits_per_byte": bpb(out), "transplant_s": wall}
            print(name, method, res[method], file=sys.stderr)
            result["targets"][name] = res
            write_json(args.out, result)
    write_json(args.out, result)
    if args.markdown:
        write_section(args.markdown, args.section, markdown(result))
    return 0


def own_tokenizer(hn: Path, scored: dict[str, str], device: str) -> dict[str, Any]:
    """The trained hypernetwork applied to SmolLM2's own tokenizer: every regular row predicted
    from its own surface form, compared with the real row (cosine) and scored."""
    import torch

    from tokkit._tokkit import BpeTokenizer
    from tokkit.hypernet import predict
    from tokkit.models import load_causal_lm
    from tokkit.models import path as model_path
    from tokkit.score import score_model

    base = model_path(BASE)
    model, tok = load_causal_lm(base, device=device)
    E = model.get_input_embeddings().weight.detach().float()
    rust = BpeTokenizer.from_file(base / "tokenizer.json")
    specials = {i for _, i, _ in rust.added_tokens()}
    pieces = [b"" if i in specials else rust.token_bytes(i) for i in range(E.shape[0])]
    pred, _ = predict(hn, E, None, pieces, device=device)
    regular = torch.tensor([i for i in range(E.shape[0]) if i not in specials], device=E.device)
    cos = torch.nn.functional.cosine_similarity(pred[regular], E[regular], dim=1)
    with torch.no_grad():
        model.get_input_embeddings().weight[regular] = pred[regular].to(E.dtype)
    bpb = {k: round(score_model(base, [t], device=device, loaded=(model, tok)).bits_per_byte, 4)
           for k, t in scored.items()}
    return {"cosine_mean": round(float(cos.mean()), 4), "cosine_min": round(float(cos.min()), 4),
            "bits_per_byte": bpb}


def markdown(r: dict[str, Any]) -> str:
    """The table of docs/benchmarks.md."""
    lines = [
        f"Hypernetwork: `tokkit hypernet train --model {BASE} {r['train_flags']}` on the shipped "
        f"corpora less the held-out text, {round(r.get('train_wall_s', 0) / 60)} minutes in "
        f"all; {r.get('seconds_per_step')} s per step"
        + (f", peak GPU memory {r['gpu_peak_mib']} MiB" if "gpu_peak_mib" in r else "")
        + f". Bits per byte on {r['score_bytes']:,} held-out bytes of English prose and of "
        "Turkish (lower is better).",
        "",
        "| target tokenizer | method | EN bits/byte | TR bits/byte |",
        "|---|---|---|---|",
        f"| (SmolLM2's own) | base model | {r['base']['bits_per_byte']['en']} | "
        f"{r['base']['bits_per_byte']['tr']} |",
    ]
    if "own" in r:
        o = r["own"]
        lines.append(f"| (SmolLM2's own) | zett: every row predicted (cosine to the real rows "
                     f"{o['cosine_mean']} mean, {o['cosine_min']} min) | "
                     f"{o['bits_per_byte']['en']} | {o['bits_per_byte']['tr']} |")
    for name, res in r["targets"].items():
        for method, cell in res.items():
            if "skipped" in cell:
                lines.append(f"| {name} | {method} | n/a: {cell['skipped']} | |")
            else:
                b = cell["bits_per_byte"]
                lines.append(f"| {name} | {method} | {b['en']} | {b['tr']} |")
    curve = ", ".join(f"{c['step']}: {c['bits_per_byte']}" for c in r.get("curve", []))
    lines += ["", "Held-out bits per byte during training (the end of en-prose's training part, "
              "in the fixed noise-free sampled evaluation tokenizer; step 0 is the subword mean "
              f"on it), step: value: {curve}."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
