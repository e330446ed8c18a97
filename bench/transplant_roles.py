"""Where a tied transplant loses: new rows as inputs against new rows as outputs.

Starts from the subword-mean transplant of SmolLM2 onto Gemma-3's tokenizer (made by
``bench/transplant_bench.py``) and replaces only the rows of the new tokens that the texts use
(a few hundred of 215,887, so the softmax over the other rows hardly moves) by their OMP rows,
computed here on the same anchors. Reported per text: nats per token over all targets, over
targets that are new tokens and over shared ones, for

- the subword mean (the starting model);
- OMP rows, tied (what ``tokkit transplant --method omp`` gives), with raw or cosine selection,
  k = 64, 16 or 8, and centred;
- OMP rows as inputs with the subword mean as outputs (head untied).

With ``--untied-from DIR`` it also assembles, from that tied OMP transplant and the subword-mean
one, the model ``tokkit transplant --untie-output mean`` writes for the same OMP run (inputs:
the OMP model's rows; output layer: the mean model's rows), and scores it end to end on the
benchmark texts with ``tokkit score``.

    python bench/transplant_roles.py --markdown docs/benchmarks.md \
        --untied-from bench/out/transplant-work/smol-on-gemma-tokkit-omp-r16
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import write_json, write_section

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "out" / "transplant-work"
TEXTS = ROOT / "bench" / "out" / "transplant-texts"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--start", type=Path, default=WORK / "smol-on-gemma-tokkit-mean")
    ap.add_argument("--chars", type=int, default=2500, help="characters of each text")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "transplant-roles.json")
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--untied-from", type=Path, help="a tied OMP transplant to untie and score")
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tokkit import models
    from tokkit.transplant.omp import omp, transfer
    from tokkit.transplant.pipeline import load_side
    from tokkit.vocab import match_vocabularies

    tok = AutoTokenizer.from_pretrained(args.start)
    ctx = json.loads((args.start / "tokkit.json").read_text())["context_token_id"]
    base = load_side(models.path("smollm2-135m"), device="cpu")
    donor = load_side(models.path("gemma3-270m"), device="cpu")
    m = match_vocabularies(base.vocab, donor.vocab, base_rows=base.rows)
    anchors = sorted(i for i in m.copy if i < donor.rows)
    d_e = donor.model.get_input_embeddings().weight.detach().float()
    b_e = base.model.get_input_embeddings().weight.detach().float()
    a, bm = d_e[anchors], b_e[[m.copy[i] for i in anchors]]
    new = set(m.new)
    texts = {n: (TEXTS / f"{n}.txt").read_text()[: args.chars] for n in ("turkish", "english")}
    ids = {
        n: torch.tensor([[ctx, *tok(t, add_special_tokens=False).input_ids]])
        for n, t in texts.items()
    }
    used = sorted({int(i) for x in ids.values() for i in x[0].tolist()} & new)
    y = d_e[used]

    model = AutoModelForCausalLM.from_pretrained(args.start, dtype=torch.float32).eval()
    emb = model.get_input_embeddings().weight
    mean_rows = emb.data[used].clone()

    def nats(inputs: torch.Tensor, outputs: torch.Tensor) -> dict[str, dict[str, float]]:
        head = emb.data.clone()
        head[used] = outputs
        emb.data[used] = inputs
        res = {}
        for name, x in ids.items():
            with torch.no_grad():
                hidden = model.model(x).last_hidden_state[0, :-1]
                lp = torch.log_softmax(hidden.float() @ head.T, dim=-1)
            tgt = x[0, 1:]
            nll = -lp[torch.arange(len(tgt)), tgt]
            is_new = torch.tensor([int(t) in new for t in tgt])
            res[name] = {
                "all": float(nll.mean()),
                "new": float(nll[is_new].mean()),
                "shared": float(nll[~is_new].mean()),
            }
        emb.data[used] = mean_rows
        return res

    rows: list[dict[str, Any]] = [{"rows": "subword mean", **nats(mean_rows, mean_rows)}]
    for k in (64, 16, 8):
        for select in ("raw", "cosine"):
            o = transfer(omp(a, y, k, select=select), bm)
            rows.append({"rows": f"OMP k={k} {select}, tied", **nats(o, o)})
    mu_a, mu_b = a.mean(0), bm.mean(0)
    o = transfer(omp(a - mu_a, y - mu_a, 64), bm - mu_b) + mu_b
    rows.append({"rows": "OMP k=64 centred, tied", **nats(o, o)})
    o = transfer(omp(a, y, 64), bm)
    rows.append({"rows": "OMP k=64 inputs, subword-mean outputs", **nats(o, mean_rows)})
    result = {
        "command": "python bench/transplant_roles.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "new_tokens_used": len(used),
        "rows": rows,
    }
    if args.untied_from:
        result["untied"] = untied_scores(args.untied_from, args.start)
    for r in rows:
        print(r, file=sys.stderr)
    write_json(args.out, result)
    if args.markdown:
        write_section(args.markdown, "transplant-roles", markdown(result))
    return 0


def untied_scores(omp_dir: Path, mean_dir: Path) -> dict[str, Any]:
    """Bits per byte of ``omp_dir``'s inputs with ``mean_dir``'s rows as an untied head."""
    import shutil
    import subprocess

    import torch
    from transformers import AutoModelForCausalLM

    out = omp_dir.with_name(omp_dir.name + "-untied-mean")
    shutil.rmtree(out, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(omp_dir)
    head = AutoModelForCausalLM.from_pretrained(mean_dir).get_input_embeddings().weight
    model.config.tie_word_embeddings = False
    model.get_output_embeddings().weight = torch.nn.Parameter(head.detach().clone())
    model.save_pretrained(out)
    for f in omp_dir.iterdir():
        if f.suffix in (".json", ".jinja") and not (out / f.name).exists():
            shutil.copy(f, out / f.name)
    scores = {}
    for text in sorted(TEXTS.glob("*.txt")):
        cmd = [sys.executable, "-m", "tokkit", "score", "--model", str(out), "--json", str(text)]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        scores[text.stem] = json.loads(done.stdout)["bits_per_byte"]
    return {"model": str(out), "bits_per_byte": scores}


def markdown(r: dict[str, Any]) -> str:
    lines = [
        "### Where the tied OMP transplant loses (SmolLM2 onto Gemma-3's tokenizer)",
        "",
        f"- Command: `{r['command']}` ({r['date']}); {r['new_tokens_used']} new tokens used by "
        "the texts get the rows below, every other row is the subword-mean transplant's.",
        "- Nats per token (lower is better) over all targets / new-token targets / shared ones.",
        "",
        "| rows of the used new tokens | Turkish | English |",
        "|---|---|---|",
    ]
    for row in r["rows"]:
        cells = [
            f"{row[t]['all']:.2f} / {row[t]['new']:.2f} / {row[t]['shared']:.2f}"
            for t in ("turkish", "english")
        ]
        lines.append(f"| {row['rows']} | " + " | ".join(cells) + " |")
    if "untied" in r:
        bpb = r["untied"]["bits_per_byte"]
        lines += [
            "",
            "End to end, every new row: the OMP transplant's rows as inputs and the subword-mean "
            "transplant's as an untied output layer (what `--untie-output mean` writes), bits "
            "per byte: " + ", ".join(f"{t} {v:.3f}" for t, v in bpb.items()) + ".",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
