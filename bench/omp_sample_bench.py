"""OMP on a sample of the rows of a large transplant: tokkit's searches against
mergekit-tokensurgeon's ``batch_omp`` on the same dictionary, targets and k.

SmolLM2-135M onto Gemma-3's tokenizer has 215,887 new rows; mergekit would need hours for all of
them on this machine, so the anchor is compared on a random sample: every search gets the same
anchors (the donor rows of the tokens both vocabularies share, by tokkit's byte identity) and
the same targets (donor rows of sampled new tokens). Reported per search: mean relative residual
``‖y - A c‖ / ‖y‖`` (what OMP minimises; lower is better), seconds, and the time extrapolated to
every new row. mergekit runs in its own virtual environment (``--mergekit-venv``), in a
subprocess that reads and writes safetensors.

    python bench/omp_sample_bench.py --rows 2000 --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import machine_info
from _report import write_json, write_section

ROOT = Path(__file__).resolve().parent.parent

MERGEKIT = """
import sys, time, torch
from safetensors.torch import load_file, save_file
from mergekit.tokensurgeon import batch_omp
torch.set_num_threads(int(sys.argv[3]))
t = load_file(sys.argv[1])
t0 = time.perf_counter()
idx, coef = batch_omp(t["targets"], t["anchors"], int(sys.argv[4]))
save_file({"indices": idx.contiguous(), "coefs": coef.float().contiguous(),
           "seconds": torch.tensor([time.perf_counter() - t0])}, sys.argv[2])
"""


def problem(base: str, donor: str, rows: int, seed: int) -> dict[str, Any]:
    """Anchors and sampled targets in the donor's embedding space."""
    import torch

    from tokkit import models
    from tokkit.transplant.pipeline import load_side
    from tokkit.vocab import match_vocabularies

    b = load_side(models.path(base), device="cpu")
    d = load_side(models.path(donor), device="cpu")
    m = match_vocabularies(b.vocab, d.vocab, base_rows=b.rows)
    e = d.model.get_input_embeddings().weight.detach().float()
    anchors = [i for i in sorted(m.copy) if i < e.shape[0]]
    new = [i for i in m.new if i < e.shape[0]]
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(new), generator=g)[:rows]
    return {
        "anchors": e[torch.tensor(anchors)].contiguous(),
        "targets": e[torch.tensor(new)[pick]].contiguous(),
        "new_rows": len(new),
        "anchor_rows": len(anchors),
    }


def rel_residual(p: dict[str, Any], indices: Any, coefs: Any) -> float:
    from tokkit.transplant.omp import OmpResult, transfer

    rec = transfer(OmpResult(indices=indices, coefs=coefs, k=indices.shape[1]), p["anchors"])
    y = p["targets"]
    return float(((rec - y).norm(dim=1) / y.norm(dim=1)).mean())


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--base", default="smollm2-135m")
    ap.add_argument("--donor", default="gemma3-270m", help="OMP donor (speaks the new tokenizer)")
    ap.add_argument("--rows", type=int, default=2000, help="new rows sampled")
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--refresh", default="1,16", help="tokkit --omp-refresh values to run")
    ap.add_argument("--mergekit-venv", type=Path, default=ROOT / "bench" / ".venv-mergekit")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "omp-sample.json")
    ap.add_argument("--markdown", type=Path, help="update this file's omp-sample section")
    args = ap.parse_args()

    import torch
    from safetensors.torch import load_file, save_file

    from tokkit.transplant.omp import omp

    p = problem(args.base, args.donor, args.rows, args.seed)
    threads = torch.get_num_threads()
    result: dict[str, Any] = {
        "command": "python bench/omp_sample_bench.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine_info(),
        "base": args.base,
        "donor": args.donor,
        "k": args.k,
        "rows": int(p["targets"].shape[0]),
        "new_rows": p["new_rows"],
        "anchor_rows": p["anchor_rows"],
        "runs": [],
    }

    def record(name: str, seconds: float, residual: float) -> None:
        per_row = seconds / result["rows"]
        run = {
            "search": name,
            "seconds": seconds,
            "rel_residual": residual,
            "all_rows_minutes": per_row * result["new_rows"] / 60,
        }
        result["runs"].append(run)
        print(run, file=sys.stderr, flush=True)

    for refresh in (int(r) for r in args.refresh.split(",")):
        t0 = time.perf_counter()
        res = omp(p["anchors"], p["targets"], args.k, refresh=refresh)
        name = "tokkit exact (screened)" if refresh == 1 else f"tokkit --omp-refresh {refresh}"
        record(name, time.perf_counter() - t0, rel_residual(p, res.indices, res.coefs))

    python = args.mergekit_venv / "bin" / "python"
    if python.exists():
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "in.safetensors", Path(tmp) / "out.safetensors"
            save_file({"anchors": p["anchors"], "targets": p["targets"]}, str(src))
            cmd = [str(python), "-c", MERGEKIT, str(src), str(dst), str(threads), str(args.k)]
            subprocess.run(cmd, check=True)
            out = load_file(str(dst))
            record(
                "mergekit batch_omp",
                float(out["seconds"][0]),
                rel_residual(p, out["indices"], out["coefs"]),
            )
    else:
        print(f"no mergekit venv at {args.mergekit_venv}; anchor skipped", file=sys.stderr)

    write_json(args.out, result)
    if args.markdown:
        write_section(args.markdown, "transplant-omp-sample", markdown(result))
    return 0


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"### OMP on a sample of {r['base']} onto {r['donor']}'s tokenizer",
        "",
        f"- Command: `{r['command']}` ({r['date']}; {r['machine'].get('nproc')} CPUs)",
        f"- {r['rows']:,} of {r['new_rows']:,} new rows sampled (seed fixed); "
        f"{r['anchor_rows']:,} anchors; k = {r['k']}; donor embeddings in float32. Time is "
        "the OMP call alone (no loading); the last column extrapolates it to every new row.",
        "",
        "| search | mean relative residual | seconds | all rows, minutes |",
        "|---|---:|---:|---:|",
    ]
    for run in r["runs"]:
        lines.append(
            f"| {run['search']} | {run['rel_residual']:.4f} | {run['seconds']:.1f} "
            f"| {run['all_rows_minutes']:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
