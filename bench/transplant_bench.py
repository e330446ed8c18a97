"""Transplant benchmark: every method in both directions between SmolLM2-135M and Gemma-3-270M,
scored by bits per byte on held-out English, Turkish and code; mergekit-tokensurgeon's OMP (the
anchor) side by side with tokkit's on the same pair and k, alternating runs, wall time and peak RSS.

    python bench/transplant_bench.py --out bench/out/transplant.json --markdown docs/benchmarks.md

mergekit runs from its own virtual environment (``--mergekit-venv``; ``make bench-transplant``
creates it from bench/requirements-mergekit.txt, sharing torch with .venv). Every run is a
separate process measured from fork to reap (bench/_measure.py).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import machine_info, run_measured
from _report import write_json, write_section

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def texts(max_bytes: int) -> dict[str, Path]:
    """Held-out English (the benchmark corpus' held-out split, else the shipped sample's tail),
    Turkish and code, each cut to ``max_bytes`` from the end of the file."""
    en = ROOT / "corpora" / "build" / "en-heldout.txt"
    sources = {
        "english": en if en.exists() else ROOT / "corpora" / "en-prose.txt",
        "turkish": ROOT / "corpora" / "tr.txt",
        "code": ROOT / "corpora" / "code.txt",
    }
    out_dir = ROOT / "bench" / "out" / "transplant-texts"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, src in sources.items():
        data = src.read_bytes()
        cut = data[:max_bytes] if name == "english" else data[-max_bytes:]
        text = cut.decode("utf-8", errors="ignore")
        p = out_dir / f"{name}.txt"
        p.write_text(text, encoding="utf-8")
        paths[name] = p
    return paths


def tokkit_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tokkit", *args]


def score(
    model: Path, text_paths: dict[str, Path], env: dict[str, str], logs: Path, *extra: str
) -> dict:
    res = {}
    for name, p in text_paths.items():
        r = run_measured(
            tokkit_cmd("score", "--model", str(model), "--json", *extra, str(p)),
            env,
            3600,
            logs / f"score-{model.name}-{name}",
        )
        if r["status"] != "ok":
            res[name] = None
            continue
        res[name] = json.loads(Path(f"{logs}/score-{model.name}-{name}.stdout").read_text())
    return res


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "transplant.json")
    ap.add_argument("--markdown", type=Path, help="update this file's transplant section")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "transplant-work")
    ap.add_argument("--mergekit-venv", type=Path, default=ROOT / "bench" / ".venv-mergekit")
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--reps", type=int, default=2, help="alternating tokkit/mergekit OMP runs")
    ap.add_argument("--max-bytes", type=int, default=16000)
    ap.add_argument(
        "--methods", nargs="+", default=["omp", "tokenadapt", "mean", "focus", "random"]
    )
    ap.add_argument("--directions", nargs="+", default=["gemma-on-smol", "smol-on-gemma"])
    ap.add_argument("--skip-mergekit", action="store_true")
    ap.add_argument("--skip-base", action="store_true", help="do not score the base models")
    ap.add_argument(
        "--omp-variants",
        default="omp,omp-r16",
        help=(
            "tokkit OMP runs timed against mergekit (omp = exact; suffixes -rT = --omp-refresh T, "
            "-mW = --mix-mean W/100, e.g. omp-r16-m50)"
        ),
    )
    ap.add_argument("--section", default="transplant", help="benchmarks.md section to write")
    ap.add_argument(
        "--title",
        default="Transplantation: bits per byte after a zero-shot transplant",
        help="heading of that section",
    )
    ap.add_argument(
        "--merge",
        action="store_true",
        help=(
            "update --out instead of replacing it: methods run now replace their rows; running "
            "omp replaces every earlier OMP row of that direction (tokkit's variants and "
            "mergekit's are timed together, alternating, so they are never mixed across runs)"
        ),
    )
    args = ap.parse_args()

    import os

    from tokkit import models

    env = {
        **os.environ,
        "TOKKIT_NO_PROGRESS": "1",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    smol, gemma = models.prepare("smollm2-135m"), models.prepare("gemma3-270m")
    models.prepare("minilm-l6")
    pairs = {"gemma-on-smol": (gemma, smol), "smol-on-gemma": (smol, gemma)}
    text_paths = texts(args.max_bytes)
    args.work.mkdir(parents=True, exist_ok=True)
    logs = args.work / "logs"
    logs.mkdir(exist_ok=True)
    command = "python bench/transplant_bench.py " + shlex.join(sys.argv[1:])
    result: dict[str, Any] = {
        "machine": machine_info(),
        "k": args.k,
        "texts": {n: p.stat().st_size for n, p in text_paths.items()},
        "directions": {},
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "commands": [],
    }
    if args.merge and args.out.exists():
        result = merge_base(json.loads(args.out.read_text(encoding="utf-8")), result, args)
    result["commands"].append(f"{command} ({result['started']})")
    mk_bin = args.mergekit_venv / "bin" / "mergekit-tokensurgeon"
    for direction in args.directions:
        base, donor = pairs[direction]
        d = result["directions"].setdefault(
            direction, {"base": base.name, "tokenizer": donor.name, "runs": {}, "scores": {}}
        )
        if not args.skip_base:
            d["scores"]["base"] = score(base, text_paths, env, logs)
            print(direction, "base", d["scores"]["base"], file=sys.stderr, flush=True)
        use_mk = not args.skip_mergekit and mk_bin.exists() and direction == "gemma-on-smol"
        # OMP variants alternate with the anchor; the exact search only where it takes minutes.
        omp_variants = args.omp_variants.split(",")
        if direction == "smol-on-gemma":
            omp_variants = [v for v in omp_variants if v != "omp"] or ["omp-r16"]
        timed = [("tokkit", v) for v in omp_variants if variant(v)[0] in args.methods]
        if use_mk:
            timed.append(("mergekit", "omp"))
        runs: list[tuple[str, str]] = []
        for rep in range(args.reps if use_mk else 1):
            runs += timed if rep % 2 == 0 else timed[::-1]
        runs += [("tokkit", m) for m in args.methods if m != "omp"]
        for tool, method in runs:
            out = args.work / f"{direction}-{tool}-{method}"
            shutil.rmtree(out, ignore_errors=True)
            if tool == "tokkit":
                name, options = variant(method)
                cmd = tokkit_cmd(
                    "transplant",
                    "--model",
                    str(base),
                    "--tokenizer",
                    str(donor),
                    "--method",
                    name,
                    "--k",
                    str(args.k),
                    "--out",
                    str(out),
                    *options,
                )
            else:
                cmd = [str(mk_bin), str(base), str(donor), str(out), "-k", str(args.k), "-a", "omp"]
            r = run_measured(cmd, env, 4 * 3600, logs / f"{direction}-{tool}-{method}")
            key = f"{tool}-{method}"
            d["runs"].setdefault(key, []).append(r)
            print(
                direction,
                key,
                r.get("status"),
                r.get("wall_s"),
                r.get("peak_rss_mib"),
                file=sys.stderr,
                flush=True,
            )
            if r["status"] == "ok" and key not in d["scores"]:
                extra: list[str] = []
                if tool == "mergekit":  # start documents with the row the base expects, as tokkit
                    meta = args.work / f"{direction}-tokkit-{omp_variants[0]}" / "tokkit.json"
                    ctx = (
                        json.loads(meta.read_text()).get("context_token_id")
                        if meta.exists()
                        else None
                    )
                    extra = ["--context-token", str(ctx)] if ctx is not None else []
                d["scores"][key] = score(out, text_paths, env, logs, *extra)
                print(direction, key, d["scores"][key], file=sys.stderr, flush=True)
            write_json(args.out, result)
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    write_json(args.out, result)
    if args.markdown:
        write_section(args.markdown, args.section, markdown(result, args.title))
    return 0


def variant(name: str) -> tuple[str, list[str]]:
    """``omp-r16-m50`` → ``("omp", ["--omp-refresh", "16", "--mix-mean", "0.5"])``: a method,
    then ``rT`` for ``--omp-refresh T`` and ``mW`` for ``--mix-mean W/100``."""
    method, *parts = name.split("-")
    options: list[str] = []
    for part in parts:
        if part[:1] == "r" and part[1:].isdigit():
            options += ["--omp-refresh", part[1:]]
        elif part[:1] == "m" and part[1:].isdigit():
            options += ["--mix-mean", str(int(part[1:]) / 100)]
        else:
            raise SystemExit(f"variant {name!r}: {part!r} is neither rT nor mW")
    return method, options


def merge_base(
    old: dict[str, Any], new: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """The earlier results, less the rows this run will produce again (see ``--merge``)."""
    if old.get("k") != new["k"] or old.get("texts") != new["texts"]:
        raise SystemExit(
            f"--merge: {args.out} was measured with k={old.get('k')} on {old.get('texts')}; "
            f"this run has k={new['k']} on {new['texts']} (pass the same --k and --max-bytes)"
        )
    old.setdefault("commands", [f"python bench/transplant_bench.py ({old.get('started')})"])
    for direction in args.directions:
        d = old["directions"].get(direction)
        if d is None:
            continue
        for table in (d["runs"], d["scores"]):
            for key in list(table):
                if key == "base":
                    stale = not args.skip_base
                else:
                    stale = variant(key.split("-", 1)[1])[0] in args.methods
                if stale:
                    del table[key]
    old["started"] = new["started"]
    old["machine"] = new["machine"]
    return old


def markdown(result: dict[str, Any], title: str) -> str:
    commands = result.get("commands") or [
        f"python bench/transplant_bench.py --markdown docs/benchmarks.md ({result['started']})"
    ]
    lines = [
        f"## {title}",
        "",
        *[f"- `{c}`" for c in commands],
        "",
        f"k={result['k']}; texts: {', '.join(f'{n} {b} B' for n, b in result['texts'].items())}; "
        "2 CPU cores, float32 maths, bf16 weights. Bits per byte (lower is better) of the "
        "model's own tokenization; tokens per byte in brackets. Rows from different commands "
        "were measured in different runs; the OMP rows of a direction (tokkit's and mergekit's) "
        "always come from one run, alternating.",
        "",
    ]
    for direction, d in result["directions"].items():
        lines += [
            f"**{direction}** (base {d['base']}, tokenizer and OMP donor {d['tokenizer']})",
            "",
        ]
        names = list(d["scores"])
        text_names = list(result["texts"])
        lines.append("| model | " + " | ".join(text_names) + " | wall s (median) | peak RSS MiB |")
        lines.append("|---|" + "---|" * (len(text_names) + 2))
        for name in names:
            cells = []
            for t in text_names:
                s = d["scores"][name].get(t)
                cells.append(
                    "n/a" if not s else f"{s['bits_per_byte']:.3f} ({s['tokens_per_byte']:.3f})"
                )
            runs = [r for r in d["runs"].get(name, []) if r.get("status") == "ok"]
            walls = sorted(r["wall_s"] for r in runs)
            wall = f"{walls[len(walls) // 2]:.1f}" if walls else ""
            rss = f"{max(r['peak_rss_mib'] for r in runs):.0f}" if runs else ""
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {wall} | {rss} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
