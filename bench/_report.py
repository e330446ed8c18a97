"""Writing results: the markdown tables (and their sections in a file) and the JSON.

``markdown_train`` renders the tool comparison, ``markdown_scaling`` the
corpus-size sweep; ``write_section`` replaces one marked section of a markdown
file; ``write_json`` saves the raw results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _tools import CONFIG_NOTES, DISTS

SECTION_TRAIN = "train-bpe"
SECTION_SCALING = "train-scaling"


def merges_cell(cmp: dict[str, Any] | None, why_na: str = "n/a") -> str:
    """The "merges == HF" cell for one comparison (``why_na`` when there is none)."""
    if cmp is None:
        return why_na
    if cmp["equal"]:
        return f"yes ({cmp['n_hf']} merges)"
    if cmp["prefix_equal"] and cmp["n_tool"] > cmp["n_hf"]:
        return (
            f"prefix: all {cmp['n_hf']} HF merges equal, in order, then "
            f"{cmp['n_tool'] - cmp['n_hf']} more"
        )
    if cmp["prefix_equal"]:
        n = cmp["n_tool"]
        return f"prefix: its {n} merges equal HF's first {n} (of {cmp['n_hf']})"
    return f"no: first diff at #{cmp['first_diff']} (of {cmp['n_hf']})"


def _fmt_time(row: dict[str, Any], timeout: float) -> str:
    if row["median_timed_out"]:
        return f">{timeout:g} s"
    if row["median_wall_s"] is None:
        return "error" if row["errors"] else "-"
    return f"{row['median_wall_s']:.2f}"


def _fmt_ratio(row: dict[str, Any], key: str, base: dict[str, Any] | None, timeout: float) -> str:
    if key == "time_ratio" and row["median_timed_out"] and base and base.get("median_wall_s"):
        return f">{timeout / base['median_wall_s']:.1f}x"
    return "-" if row[key] is None else f"{row[key]:.2f}x"


def _fmt_runs(row: dict[str, Any], timeout: float) -> str:
    cells = []
    for wall, status in zip(row["wall_s"], row["statuses"], strict=True):
        if status == "ok":
            cells.append(f"{wall:.2f}")
        elif status in ("timeout", "skipped_after_timeout"):
            cells.append(f">{timeout:g}" + ("" if status == "timeout" else " (skipped)"))
        else:
            cells.append(status)
    return ", ".join(cells)


def _header_lines(meta: dict[str, Any]) -> list[str]:
    m = meta["machine"]
    lines = [
        f"- Command: `{meta['command']}`",
        f"- Date: {meta['date']}",
        f"- Machine: {m['nproc']} CPUs usable (of {m['cpu_count']}), "
        f"{m.get('cpu_model', 'unknown CPU')}, {m.get('ram_gib', '?')} GiB RAM; "
        f"{m['platform']}; Python {m['python']}",
        "- Versions: "
        + ", ".join(
            f"{t} {meta['versions'][t]}" + (f" (`{DISTS[t]}`)" if DISTS[t] != t else "")
            for t in meta["versions"]
        ),
        f"- Threads: {meta['threads']}; reps: {meta['reps']}; timeout per run: "
        f"{meta['timeout_s']:g} s",
    ]
    for tool, why in meta["skipped"].items():
        lines.append(f"- Skipped {tool}: {why}")
    return lines


def _method_notes(meta: dict[str, Any]) -> list[str]:
    base = meta["startup_baseline"]
    bl = "; ".join(
        f"{t} {v['wall_s']:.2f} s / {v['peak_rss_mib']:.0f} MiB" for t, v in base.items()
    )
    return [
        "- Each run is a fresh process; tools alternate run by run "
        "(`for corpus: for vocab: for rep: for tool`, starting tool rotated each rep). "
        "The corpus is read once beforehand so every run starts with it in the page cache.",
        "- Wall = fork to reap, median of reps; peak RSS = the process's `ru_maxrss` "
        "(`os.wait4`, collected by a ~10 MiB launcher process so that the benchmark's own "
        "memory cannot leak into the child's figure), median of reps; CPU = user+system "
        "of the process. Wall and RSS include interpreter "
        "start-up, imports, reading the corpus, training and writing the result, for "
        f"every tool. Start-up alone (no training), for scale: {bl or 'not measured'}.",
        f"- Ratios are tool / {meta['baseline']} (>1: slower or larger than "
        f"{meta['baseline']}). A timed-out run counts as +∞ in the median and is shown as "
        f">{meta['timeout_s']:g} s"
        + (
            "; after a timeout the tool's remaining runs at that or a larger "
            "corpus and vocab size are skipped and counted as timeouts."
            if meta["skip_after_timeout"]
            else "."
        ),
        "- merges == HF: the tool's ordered merge list, in GPT-2 byte-to-unicode form "
        "(byte-valued tokens converted; rank files turned back into pairs), against HF "
        "`tokenizers`' list at the same vocab size; special-token ids are ignored. "
        '"first diff at #i" is the 0-based index of the first differing merge.',
    ]


def _config_notes(tools: list[str], meta: dict[str, Any]) -> list[str]:
    lines = ["", "Configuration of each tool (`GPT2_PATTERN` is GPT-2's pre-tokenizer regex):", ""]
    for t in tools:
        cap = meta["spm_sentence_cap"]
        note = CONFIG_NOTES[t].format(
            threads=meta["threads"], spm_cap=cap, spm_max_len=meta["spm_max_sentence_length"]
        )
        if t == "sentencepiece":
            note += (
                f"; input capped at {cap} sentences (lines)"
                if cap
                else "; no sentence cap (all lines used)"
            )
        lines.append(f"- {t}: {note}")
    return lines


def _error_lines(runs: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, list[str]] = {}
    for r in runs:
        if r["status"] == "error":
            lines = [x for x in str(r.get("error", "")).splitlines() if x.strip()]
            msg = lines[-1].strip() if lines else f"exit status {r.get('returncode')}"
            seen.setdefault(f"{r['tool']}: `{msg[:300]}`", []).append(
                f"{Path(r['corpus']).name} V={r['vocab']} rep {r['rep']}"
            )
    if not seen:
        return []
    return ["", "Failed runs (last line of stderr; full text in the JSON):", ""] + [
        f"- {k} ({'; '.join(v)})" for k, v in seen.items()
    ]


def markdown_train(
    meta: dict[str, Any], summary: dict[str, Any], tools: list[str], runs: list[dict[str, Any]]
) -> str:
    corpus = meta["corpora"][0]
    out = [
        "## BPE training: tokkit vs other trainers",
        "",
        "_Generated by `bench/train_bench.py`; edits between the markers are overwritten._",
        "",
        *_header_lines(meta),
        f"- Corpus: `{corpus['path']}`: {corpus['mb']} MB, {corpus['lines']} lines, "
        f"sha256 `{corpus['sha256'][:16]}…`",
        "",
    ]
    timeout = meta["timeout_s"]
    for vocab, rows in summary.items():
        base = rows.get(meta["baseline"])
        out += [
            f"### vocab {vocab}",
            "",
            f"| tool | median wall s | x {meta['baseline']} | median peak RSS MiB | "
            f"RSS x {meta['baseline']} | CPU s | runs (s) | merges == HF |",
            "|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for tool in tools:
            r = rows[tool]
            cmp = r["merges_vs_hf"]
            cell = merges_cell(cmp, r.get("merges_na", "n/a"))
            if tool == "hf" and cmp is not None and cmp["equal"]:
                cell = f"(reference, {cmp['n_hf']} merges)"
            if not r["deterministic"]:
                cell += "; differs between reps"
            rss = "-" if r["median_peak_rss_mib"] is None else f"{r['median_peak_rss_mib']:.0f}"
            cpu = "-" if r["median_cpu_s"] is None else f"{r['median_cpu_s']:.1f}"
            out.append(
                f"| {tool} | {_fmt_time(r, timeout)} | "
                f"{_fmt_ratio(r, 'time_ratio', base, timeout)} | {rss} | "
                f"{_fmt_ratio(r, 'rss_ratio', base, timeout)} | {cpu} | "
                f"{_fmt_runs(r, timeout)} | {cell} |"
            )
        out.append("")
    out += ["Notes:", "", *_method_notes(meta), *_config_notes(tools, meta), *_error_lines(runs)]
    return "\n".join(out)


def markdown_scaling(
    meta: dict[str, Any], summary: dict[str, Any], tools: list[str], runs: list[dict[str, Any]]
) -> str:
    vocab = meta["vocabs"][0]
    b = meta["baseline"]
    other = [t for t in tools if t != b]
    timeout = meta["timeout_s"]
    out = [
        f"## BPE training vs corpus size (vocab {vocab})",
        "",
        "_Generated by `bench/train_bench.py --scaling`; edits between the markers are "
        "overwritten._",
        "",
        *_header_lines(meta),
        "",
    ]
    head = ["corpus", "MB"] + [f"{t} s" for t in tools]
    head += [f"{t} x {b}" for t in other]
    head += [f"{t} RSS MiB" for t in tools]
    head += [f"{t} RSS x {b}" for t in other]
    merge_cols = [f"{t} merges == HF" for t in tools if t != "hf"]
    sep = "|---|" + "---:|" * (len(head) - 1) + "---|" * len(merge_cols)
    out += ["| " + " | ".join(head + merge_cols) + " |", sep]
    for c in meta["corpora"]:
        rows = summary[c["path"]][str(vocab)]
        base = rows.get(b)
        cells = [f"`{Path(c['path']).name}`", f"{c['mb']:g}"]
        cells += [_fmt_time(rows[t], timeout) for t in tools]
        cells += [_fmt_ratio(rows[t], "time_ratio", base, timeout) for t in other]
        cells += [
            "-"
            if rows[t]["median_peak_rss_mib"] is None
            else f"{rows[t]['median_peak_rss_mib']:.0f}"
            for t in tools
        ]
        cells += [_fmt_ratio(rows[t], "rss_ratio", base, timeout) for t in other]
        cells += [
            merges_cell(rows[t]["merges_vs_hf"], rows[t].get("merges_na", "n/a"))
            for t in tools
            if t != "hf"
        ]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "Notes:", "", *_method_notes(meta), *_config_notes(tools, meta)]
    out += _error_lines(runs)
    return "\n".join(out)


def write_section(md_path: Path, name: str, body: str) -> None:
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = md_path.read_text(encoding="utf-8") if md_path.exists() else "# Benchmarks\n"
    i, j = text.find(start), text.find(end)
    if i != -1 and j > i:
        text = text[:i] + block + text[j + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(text, encoding="utf-8")


def write_json(path: Path, result: dict[str, Any]) -> None:
    """Save the raw results, atomically (write a temporary file, then rename it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
