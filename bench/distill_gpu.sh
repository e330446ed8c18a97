#!/usr/bin/env bash
# The GPU path of `tokkit distill`, in at most 10 minutes on one CUDA device: SmolLM2-135M healed
# on its TokenAdapt transplant onto a tokkit 32k BPE (the CPU benchmark's setup), ALM and
# SFT-only at equal steps, bf16 autocast, batch 16 x 256. Reports steps per second (s per step),
# peak GPU memory and held-out bits per byte in docs/benchmarks.md (section distill-gpu).
#   make dev && bash bench/distill_gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'"
exec timeout 600 $PY bench/distill_bench.py --steps 200 --eval-every 50 \
    --extra "--device cuda --batch-size 16 --seq-len 256" \
    --out bench/out/distill-gpu.json --plot bench/out/distill-gpu.png \
    --markdown docs/benchmarks.md --section distill-gpu
