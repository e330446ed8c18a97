"""Where an extension's English bits per byte go: the probability mass a transplanted model puts
on the new ids while reading English, and its bits per byte with the softmax over the old ids
only, on the base tokenization of the first 20 kB of extend_bench.py's held-out English (4,000
tokens, one forward pass).

    python bench/extend_mass.py .cache/tokkit/models/smollm2-135m bench/out/extend/tr-mean \
        bench/out/extend/tr-tokenadapt
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE_IDS = 49152


def main() -> int:
    import torch
    from transformers import AutoModelForCausalLM

    import tokkit

    torch.set_num_threads(2)
    held = ROOT / "bench" / "out" / "extend" / "heldout-en.txt"
    text = held.read_text(encoding="utf-8").encode()[:20000].decode(errors="ignore")
    base = tokkit.load(ROOT / ".cache" / "tokkit" / "models" / "smollm2-135m")
    ids = base.encode(text)[:4000]
    bits = math.log(2) * len(base.decode(ids).encode())
    for name in sys.argv[1:]:
        model = AutoModelForCausalLM.from_pretrained(
            name, trust_remote_code=False, dtype=torch.float32
        ).eval()
        x = torch.tensor([ids])
        with torch.no_grad():
            logits = model(x).logits[0, :-1].float()
        target = x[0, 1:, None]
        full = torch.log_softmax(logits, -1).gather(1, target).sum()
        old = torch.log_softmax(logits[:, :BASE_IDS], -1).gather(1, target).sum()
        new_mass = torch.softmax(logits, -1)[:, BASE_IDS:].sum(-1).mean()
        print(
            f"{name}: bits/byte {-full / bits:.4f}, over the old ids only {-old / bits:.4f}, "
            f"mean probability on the new ids {new_mass:.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
