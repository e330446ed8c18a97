#!/usr/bin/env bash
# The GPU path of `tokkit hypernet train` and `--method zett`, in at most 10 minutes on one CUDA
# device: SmolLM2-135M's hypernetwork at the paper's sampled vocabulary (32,768 pieces) and a
# GPU batch (32 x 128), bf16 autocast, 400 steps; then zero-shot onto the same two tokenizers
# as the CPU run (tokkit SuperBPE, Gemma-3) by mean and zett. Reports seconds per step, peak
# GPU memory and the bits-per-byte table in docs/benchmarks.md (section hypernet-gpu).
#   make dev && bash bench/hypernet_gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'"
exec timeout 600 $PY bench/hypernet_bench.py --device cuda --max-steps 400 --eval-every 100 \
    --extra "--sample-vocab 32768 --batch-size 32" --methods mean,zett \
    --work bench/out/hypernet-gpu --out bench/out/hypernet-gpu.json \
    --markdown docs/benchmarks.md --section hypernet-gpu
