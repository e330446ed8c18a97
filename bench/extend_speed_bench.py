#!/usr/bin/env python3
"""Benchmark `tokkit train --extend` against `bpe-continue` and against training from scratch.

Three (four) trainers on one corpus, each run a fresh process timed from fork to reap by
``_measure.run_measured`` (wall time, CPU seconds user+sys, peak RSS via ``wait4``):

* ``tokkit-extend``: ``tokkit train --extend BASE --vocab-size V --out DIR CORPUS``
* ``bpe-continue``: ``bpe-continue BASE OUT CORPUS --vocab-size V --quiet`` (PyPI
  ``bpe-continue==0.1.0``: HF ``tokenizers``' BpeTrainer, modified to seed its vocabulary and
  merges from a trained model)
* ``tokkit-scratch``: ``tokkit train --vocab-size V --special-tokens '<|endoftext|>'``
* ``hf-scratch`` (optional): HF ``BpeTrainer`` from scratch, ByteLevel(add_prefix_space=False),
  the full byte alphabet and ``<|endoftext|>``

Runs alternate (``for rep: for tool in rotate(tools, rep)``). Threads: every tool's default
(all cores). After the timed runs the merges of ``tokkit-extend`` and ``bpe-continue`` are
compared in order (the new ones, after the base's); at the first rank where they differ the
two candidate pairs are counted over the corpus encoded with the merges both agree on, which
says whether the difference is one of counting or of tie-breaking. Old-token ids and HF
loading are checked for both extensions.

``--small-check`` runs the "training had gone on" check on a small corpus: a tokkit BPE of
V0 from scratch, extended to V1 by both tools on the same corpus, against tokkit and HF
trained from scratch to V1.

Usage::

    python bench/extend_speed_bench.py --corpus corpora/build/en-100mb.txt \
        --base .cache/tokkit/models/smollm2-135m/tokenizer.json --extra 8192 --reps 2 \
        --tools tokkit-extend bpe-continue tokkit-scratch --out bench/out/extend-speed.json

    python bench/extend_speed_bench.py --small-check corpora/en-prose.txt
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import corpus_info, machine_info, run_measured

TOOLS = ("tokkit-extend", "bpe-continue", "tokkit-scratch", "hf-scratch")
EOT = "<|endoftext|>"

HF_SCRATCH = r"""
import sys
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
corpus, v, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tr = trainers.BpeTrainer(vocab_size=v, min_frequency=0, show_progress=False,
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                         special_tokens=[sys.argv[4]])
tok.train([corpus], tr)
tok.save(out)
"""


def _bin(name: str) -> str:
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else (shutil.which(name) or name)


def command(tool: str, base: Path, corpus: Path, vocab: int, out: Path) -> tuple[list[str], Path]:
    """The command of one run and the tokenizer.json it writes."""
    if tool == "tokkit-extend":
        cmd = [_bin("tokkit"), "train", "--extend", str(base), "--vocab-size", str(vocab),
               "--progress", "none", "--force", "--out", str(out), str(corpus)]
        return cmd, out / "tokenizer.json"
    if tool == "bpe-continue":
        out.mkdir(parents=True, exist_ok=True)
        cmd = [_bin("bpe-continue"), str(base), str(out / "tokenizer.json"), str(corpus),
               "--vocab-size", str(vocab), "--quiet"]
        return cmd, out / "tokenizer.json"
    if tool == "tokkit-scratch":
        cmd = [_bin("tokkit"), "train", "--vocab-size", str(vocab), "--progress", "none",
               "--force", "--out", str(out), str(corpus), "--special-tokens", EOT]
        return cmd, out / "tokenizer.json"
    if tool == "hf-scratch":
        out.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-c", HF_SCRATCH, str(corpus), str(vocab),
               str(out / "tokenizer.json"), EOT]
        return cmd, out / "tokenizer.json"
    raise ValueError(tool)


# -- merges -----------------------------------------------------------------


def load_json(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def merges_of(tj: dict[str, Any]) -> list[tuple[str, str]]:
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1))  # type: ignore[misc]
            for m in tj["model"]["merges"]]


def pair_counts_at(tj: dict[str, Any], n_merges: int, corpus: Path,
                   pairs: list[tuple[str, str]], split_added: bool
                   ) -> dict[tuple[str, str], int]:
    """Counts of ``pairs`` over the corpus pre-tokenized by ``tj``'s pre-tokenizer (line by
    line, as both trainers read files) and encoded with its first ``n_merges`` merges.

    ``split_added``: cut each line at the base's added tokens first, as the tokenizer does when
    it encodes (tokkit's extension); without it added tokens' text is ordinary text, as HF's
    ``Tokenizer.train`` feeds its trainer (normalize + pre-tokenize, no added-token split)."""
    import re

    from tokenizers import Tokenizer

    trunc = json.loads(json.dumps(tj))
    trunc["model"]["merges"] = trunc["model"]["merges"][:n_merges]
    tok = Tokenizer.from_str(json.dumps(trunc))
    pre = tok.pre_tokenizer
    words: collections.Counter[str] = collections.Counter()
    with open(corpus, encoding="utf-8", errors="replace") as f:
        added = sorted((t["content"] for t in tj.get("added_tokens", [])), key=len, reverse=True)
        cut = re.compile("|".join(map(re.escape, added))) if split_added and added else None
        for line in f:
            for part in cut.split(line) if cut else (line,):
                if part:
                    words.update(w for w, _ in pre.pre_tokenize_str(part))
    want = set(pairs)
    counts = dict.fromkeys(pairs, 0)
    model = tok.model
    for w, c in words.items():
        toks = [t.value for t in model.tokenize(w)]
        for a, b in itertools.pairwise(toks):
            if (a, b) in want:
                counts[(a, b)] += c
    return counts


def compare_extensions(a_path: Path, b_path: Path, base_path: Path, corpus: Path | None,
                       names: tuple[str, str]) -> dict[str, Any]:
    """Merges, ids and HF loading of two extensions of one base."""
    from tokenizers import Tokenizer

    base, a, b = load_json(base_path), load_json(a_path), load_json(b_path)
    nb = len(base["model"]["merges"])
    ma, mb = merges_of(a), merges_of(b)
    res: dict[str, Any] = {
        "base_merges": nb,
        "merges": {names[0]: len(ma) - nb, names[1]: len(mb) - nb},
        "base_merges_kept": {names[0]: ma[:nb] == merges_of(base),
                             names[1]: mb[:nb] == merges_of(base)},
    }
    na, nbb = ma[nb:], mb[nb:]
    n = min(len(na), len(nbb))
    first = next((i for i in range(n) if na[i] != nbb[i]), None)
    res["identical_prefix"] = n if first is None else first
    res["same_position"] = sum(x == y for x, y in zip(na, nbb, strict=False))
    res["common_set"] = len(set(na) & set(nbb))
    if first is not None:
        res["first_diff"] = {"new_rank": first, "rank": nb + first,
                             names[0]: na[first], names[1]: nbb[first]}
        if corpus is not None:
            pa, pb = tuple(na[first]), tuple(nbb[first])
            va = a["model"]["vocab"]
            for how, split in (("added_tokens_split", True), ("added_tokens_as_text", False)):
                c = pair_counts_at(a, nb + first, corpus, [pa, pb], split)
                res["first_diff"].setdefault("counts", {})[how] = {names[0]: c[pa],
                                                                   names[1]: c[pb]}
            res["first_diff"]["ids"] = {names[0]: [va.get(x) for x in pa],
                                        names[1]: [va.get(x) for x in pb]}
    # ids of the base's tokens and added tokens
    bv = base["model"]["vocab"]
    badd = {t["content"]: t["id"] for t in base.get("added_tokens", [])}
    for name, tj, path in ((names[0], a, a_path), (names[1], b, b_path)):
        tv = tj["model"]["vocab"]
        add = {t["content"]: t["id"] for t in tj.get("added_tokens", [])}
        tok = Tokenizer.from_file(str(path))
        full = tok.get_vocab(with_added_tokens=True)
        res.setdefault("ids", {})[name] = {
            "vocab_size": tok.get_vocab_size(with_added_tokens=True),
            "base_vocab_ids_kept": all(tv.get(k) == v for k, v in bv.items()),
            "base_added_ids_kept": all(add.get(k) == v for k, v in badd.items()),
            "loaded_ids_kept": all(full.get(k) == v for k, v in {**bv, **badd}.items()),
            "new_ids_from": min((v for k, v in tv.items() if k not in bv), default=None),
        }
    return res


# -- small check ---------------------------------------------------------------


def small_check(corpus: Path, v0: int, v1: int, work: Path, env: dict[str, str]) -> dict[str, Any]:
    import subprocess

    tk = _bin("tokkit")
    base = work / "base"
    runs = {
        "base": [tk, "train", "--vocab-size", str(v0), "--progress", "none", "--force",
                 "--out", str(base), str(corpus), "--special-tokens", EOT],
    }
    for cmd in runs.values():
        subprocess.run(cmd, check=True, env=env, capture_output=True)
    outs = {}
    for tool in ("tokkit-scratch", "hf-scratch", "tokkit-extend", "bpe-continue"):
        b = base / "tokenizer.json" if tool == "bpe-continue" else base
        cmd, tj = command(tool, b, corpus, v1, work / tool)
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        outs[tool] = merges_of(load_json(tj))
    ref = outs["hf-scratch"]
    res: dict[str, Any] = {"corpus": str(corpus), "v0": v0, "v1": v1,
                           "base_merges": len(merges_of(load_json(base / "tokenizer.json")))}
    for tool, m in outs.items():
        n = min(len(m), len(ref))
        first = next((i for i in range(n) if m[i] != ref[i]), None)
        res[tool] = {"merges": len(m), "equal_to_hf_scratch": m == ref,
                     "first_diff": first}
    return res


# -- main ----------------------------------------------------------------------


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path)
    p.add_argument("--base", type=Path,
                   default=Path(".cache/tokkit/models/smollm2-135m/tokenizer.json"))
    p.add_argument("--extra", type=int, default=8192, help="tokens to add (default 8192)")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--tools", nargs="+", choices=TOOLS,
                   default=["tokkit-extend", "bpe-continue", "tokkit-scratch"])
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--keep", type=Path, help="keep the outputs here (default: a temp dir)")
    p.add_argument("--out", type=Path, help="JSON results")
    p.add_argument("--no-compare", action="store_true")
    p.add_argument("--no-counts", action="store_true",
                   help="do not count pairs at the first difference (a pass over the corpus)")
    p.add_argument("--small-check", type=Path, metavar="CORPUS")
    p.add_argument("--small-v", type=int, nargs=2, default=[1500, 2500], metavar=("V0", "V1"))
    a = p.parse_args(argv)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("PYTHONPATH", None)
    work = a.keep or Path(tempfile.mkdtemp(prefix="tokkit-extend-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"machine": machine_info()}

    if a.small_check:
        r = small_check(a.small_check, a.small_v[0], a.small_v[1], work / "small", env)
        print(json.dumps(r, indent=1))
        result["small_check"] = r
    if a.corpus:
        from tokenizers import Tokenizer

        base_size = Tokenizer.from_file(str(a.base)).get_vocab_size(with_added_tokens=True)
        vocab = base_size + a.extra
        result.update(corpus=corpus_info(a.corpus), base=str(a.base), base_size=base_size,
                      vocab=vocab, runs=[])
        print(f"[info] base {base_size} ids, target {vocab}; work dir {work}", file=sys.stderr)
        for rep in range(a.reps):
            k = rep % len(a.tools)
            for tool in a.tools[k:] + a.tools[:k]:
                out = work / f"{tool}-{rep}"
                cmd, tj = command(tool, a.base, a.corpus, vocab, out)
                r = run_measured(cmd, env, a.timeout, work / f"{tool}-{rep}.log")
                r.update(tool=tool, rep=rep, cmd=cmd, tokenizer=str(tj))
                if r["status"] == "ok":
                    r["vocab_out"] = len(load_json(tj)["model"]["vocab"])
                result["runs"].append(r)
                print(json.dumps({k2: r.get(k2) for k2 in
                                  ("tool", "rep", "status", "wall_s", "cpu_s", "peak_rss_mib",
                                   "error")}), file=sys.stderr)
                if a.out:
                    a.out.parent.mkdir(parents=True, exist_ok=True)
                    a.out.write_text(json.dumps(result, indent=1))
        ok = {r["tool"]: Path(r["tokenizer"]) for r in result["runs"] if r["status"] == "ok"}
        if not a.no_compare and "tokkit-extend" in ok and "bpe-continue" in ok:
            result["compare"] = compare_extensions(
                ok["tokkit-extend"], ok["bpe-continue"], a.base,
                None if a.no_counts else a.corpus, ("tokkit-extend", "bpe-continue"))
            print(json.dumps(result["compare"], indent=1))
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
