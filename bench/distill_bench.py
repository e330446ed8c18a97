"""Healing a transplant with `tokkit distill`: ALM (the recipe: alm + sft, GradMag) against
plain fine-tuning of the student (sft only), at equal steps, on the shipped corpora.

Setup (made once under --work, reused): a 32k byte-level BPE tokenizer trained by tokkit on
the shipped corpora; the teacher (default SmolLM2-135M) transplanted onto it with TokenAdapt
(the best zero-shot method without a donor model, docs/benchmarks.md); the corpora split into
training text and a held-out set made of the last --heldout-bytes of each file (English prose,
English technical, code, Turkish), so the evaluation covers every kind of text.

Each variant runs as its own `tokkit distill` process (wall time and peak RSS measured);
bits per byte on the held-out set at step 0, every --eval-every steps and at the end. The gap is
the student's step-0 bits per byte minus the teacher's on the same text; "closed" is the share
of it the run removed.

    python bench/distill_bench.py --steps 150 --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import machine_info, run_measured
from _report import write_json, write_section

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"
FILES = ("en-prose.txt", "en-tech.txt", "code.txt", "tr.txt")
VARIANTS = {
    "alm": ["--losses", "alm,sft", "--aggregation", "gradmag"],
    "sft": ["--losses", "sft"],
    "alm-sum": ["--losses", "alm,sft", "--aggregation", "sum"],
    "alm-only": ["--losses", "alm"],
}


def tokkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "tokkit", *args]


def prepare(work: Path, teacher: str, heldout_bytes: int) -> tuple[Path, Path, Path]:
    """(student dir, training text, held-out text), made once."""
    work.mkdir(parents=True, exist_ok=True)
    train, heldout = work / "train.txt", work / "heldout.txt"
    if not heldout.exists():
        train_parts, held_parts = [], []
        for name in FILES:
            text = (CORPORA / name).read_text(encoding="utf-8")
            cut = text.rfind("\n", 0, len(text) - heldout_bytes) + 1
            train_parts.append(text[:cut])
            held_parts.append(text[cut:])
        train.write_text("".join(train_parts), encoding="utf-8")
        heldout.write_text("".join(held_parts), encoding="utf-8")
    tok = work / "tok32k"
    if not tok.exists():
        subprocess.run(tokkit("train", "--vocab-size", "32000", "--special-tokens",
                              "<|endoftext|>", "<|im_start|>", "<|im_end|>", "--progress",
                              "none", "--out", str(tok), *(str(CORPORA / f) for f in FILES)),
                       check=True)
    student = work / "student-tokenadapt"
    if not student.exists():
        subprocess.run(tokkit("transplant", "--model", teacher, "--tokenizer", str(tok),
                              "--method", "tokenadapt", "--progress", "none", "--out",
                              str(student)), check=True)
    return student, train, heldout


def heldout_parts(heldout_bytes: int) -> dict[str, list[str]]:
    """The held-out set by source file, as `tokkit distill` scores it (4 kB segments)."""
    from tokkit.distill.data import eval_segments

    parts = {}
    for name in FILES:
        text = (CORPORA / name).read_text(encoding="utf-8")
        cut = text.rfind("\n", 0, len(text) - heldout_bytes) + 1
        parts[name.removesuffix(".txt")] = eval_segments(text[cut:].splitlines(keepends=True))
    return parts


def per_part(models: dict[str, str], heldout_bytes: int) -> dict[str, dict[str, float]]:
    """Bits per byte of each model on each part of the held-out set."""
    from tokkit.score import score_model

    parts = heldout_parts(heldout_bytes)
    return {
        label: {name: score_model(path, segs).bits_per_byte for name, segs in parts.items()}
        for label, path in models.items()
    }


def teacher_bpb(teacher: str, heldout: Path) -> float:
    from tokkit.corpus import read_documents
    from tokkit.distill.data import eval_segments
    from tokkit.score import score_model

    texts = eval_segments(read_documents(heldout).texts)  # as tokkit distill scores them
    return score_model(teacher, texts).bits_per_byte


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", default="smollm2-135m")
    ap.add_argument("--student", type=Path, help="default: made under --work (see above)")
    ap.add_argument("--variants", default="alm,sft")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--heldout-bytes", type=int, default=5000)
    ap.add_argument("--extra", default="", help="more tokkit distill flags, for every variant")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "distill")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "distill.json")
    ap.add_argument("--plot", type=Path,
                    default=ROOT / "docs" / "guides" / "img" / "distill-heal.png")
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--section", default="distill", help="the section of --markdown to write")
    ap.add_argument("--title", default="Healing a transplant: ALM against fine-tuning the "
                    "student alone")
    ap.add_argument("--student-note", default="the teacher transplanted onto a tokkit 32k BPE "
                    "(trained on the shipped corpora) with TokenAdapt",
                    help="how --student was made, for the report")
    ap.add_argument("--timeout", type=float, default=7200)
    ap.add_argument("--render", action="store_true",
                    help="only redraw --plot and --markdown from the JSON of --out (and add "
                    "the per-part table if it is missing)")
    args = ap.parse_args()
    if args.render:
        result = json.loads(args.out.read_text(encoding="utf-8"))
        result.setdefault("title", args.title)  # JSON of an earlier version of this script
        result.setdefault("student_note", args.student_note)
        if "per_part" not in result:
            result["per_part"] = per_part(models_of(result, args), args.heldout_bytes)
            write_json(args.out, result)
        report(result, args)
        return 0

    student, train, heldout = prepare(args.work, args.teacher, args.heldout_bytes)
    if args.student:
        student = args.student
    base = teacher_bpb(args.teacher, heldout)
    result: dict[str, Any] = {
        "command": "python bench/distill_bench.py " + shlex.join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine_info(),
        "teacher": args.teacher,
        "student": str(student),
        "student_note": args.student_note,
        "title": args.title,
        "teacher_bits_per_byte": base,
        "heldout_bytes": len(heldout.read_bytes()),
        "heldout_bytes_per_part": args.heldout_bytes,
        "variants": {},
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    for name in args.variants.split(","):
        out = args.work / f"healed-{name}"
        cmd = tokkit("distill", "--teacher", args.teacher, "--student", str(student),
                     "--data", str(train), "--eval-data", str(heldout), "--max-steps",
                     str(args.steps), "--eval-every", str(args.eval_every), "--progress", "log",
                     "--force", "--out", str(out), *VARIANTS[name], *shlex.split(args.extra))
        print(f"[{name}] {shlex.join(cmd)}", file=sys.stderr, flush=True)
        run = run_measured(cmd, env, args.timeout, args.work / f"{name}")
        rows = []
        if run["status"] == "ok":
            rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
        evals = [(r["step"], r["bits_per_byte"]) for r in rows if "bits_per_byte" in r]
        entry: dict[str, Any] = {"run": run, "evals": evals, "command": shlex.join(cmd[2:])}
        if evals:
            start, end = evals[0][1], evals[-1][1]
            entry["closed"] = (start - end) / (start - base) if start > base else None
        entry["metrics"] = rows
        result["variants"][name] = entry
        print(f"[{name}] {run['status']} {evals}", file=sys.stderr, flush=True)
    result["per_part"] = per_part(models_of(result, args), args.heldout_bytes)
    write_json(args.out, result)
    report(result, args)
    return 0


def models_of(result: dict[str, Any], args: argparse.Namespace) -> dict[str, str]:
    """Teacher, zero-shot student and each healed student, by label."""
    models = {"teacher": result["teacher"], "student (step 0)": result["student"]}
    for name, v in result["variants"].items():
        if v["run"]["status"] == "ok":
            models[f"{name} (step {v['evals'][-1][0]})"] = str(args.work / f"healed-{name}")
    return models


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    """The PNG of every variant's curves and the markdown section."""
    if args.plot:
        from tokkit.distill.plot import plot_metrics

        plot_metrics([], args.plot, others={
            k: v["metrics"] for k, v in result["variants"].items() if v["metrics"]
        })
    if args.markdown:
        write_section(args.markdown, args.section, markdown(result))


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"## {result['title']}",
        "",
        f"- `{result['command']}` ({result['date']})",
        "",
        f"Teacher {result['teacher']} ({result['teacher_bits_per_byte']:.3f} bits per byte on "
        f"the {result['heldout_bytes']:,}-byte held-out set); student: "
        f"{result['student_note']}. "
        f"{result['machine'].get('nproc')} CPU cores.",
        "",
        "| variant | bits per byte by step | closed | s per step | wall s | peak RSS MiB "
        "| peak GPU MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, v in result["variants"].items():
        curve = ", ".join(f"{s}: {b:.3f}" for s, b in v["evals"]) or v["run"]["status"]
        closed = f"{100 * v['closed']:.0f}%" if v.get("closed") is not None else "n/a"
        steps = [r for r in v["metrics"] if "loss" in r]
        per_step = sorted(r["seconds"] for r in steps)[len(steps) // 2] if steps else None
        gpu = max((r.get("gpu_peak_mib", 0) for r in steps), default=0) or None
        lines.append(
            f"| {name} | {curve} | {closed} | {per_step and round(per_step, 2)} | "
            f"{round(v['run'].get('wall_s') or 0)} | {v['run'].get('peak_rss_mib')} | "
            f"{round(gpu) if gpu else 'n/a'} |"
        )
    table = result.get("per_part")
    if table:
        names = list(next(iter(table.values())))
        lines += [
            "",
            "Bits per byte by part of the held-out set (each file's last lines, from the line "
            f"before its last {result.get('heldout_bytes_per_part', 5000):,} characters); in "
            "brackets the share of "
            "the teacher-to-student gap closed, where the teacher is better:",
            "",
            "| model | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        teacher, start = table["teacher"], table["student (step 0)"]
        for label, row in table.items():
            cells = []
            for n in names:
                cell = f"{row[n]:.3f}"
                gap = start[n] - teacher[n]
                if label not in ("teacher", "student (step 0)") and gap > 0:
                    cell += f" ({100 * (start[n] - row[n]) / gap:.0f}%)"
                cells.append(cell)
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
