"""The markdown of ``encode_bench.py``: the run's header, one table per mode, loading, the diff.

Ratios are MB per CPU-second over tokkit's and over fastokens' on the same case (above 1: the
row is faster than them). A row whose ids differ from HF's says so, with the counts.
"""

from __future__ import annotations

from typing import Any

from _encode_tools import TOOLS

MODE_TITLES = {
    "single": "One call, the whole text (`encode(text)`)",
    "batch": "The text's lines in one batch call (`encode_batch(lines)`)",
    "lines": "The text's lines, one call each in a Python loop (`[encode(x) for x in lines]`)",
    "count": "Token count of the whole text, no ids (`count_tokens(text)`)",
    "count_batch": "Token counts of the lines in one call (`count_tokens_batch(lines)`)",
    "array": "Ids as an array (`encode_array(text)`; tiktoken `encode_to_numpy`, fastokens "
    "`encode_batch_flat`)",
}


def _ratio(row: dict[str, Any], base: dict[str, Any] | None) -> str:
    return f"{row['mb_per_cpu_s'] / base['mb_per_cpu_s']:.2f}" if base else "-"


def hf_cell(case: dict[str, Any], tool: str, row: dict[str, Any], diff: dict[str, Any]) -> str:
    """The "ids vs HF" cell: the row's own check, with the diff phase's counts when any differ."""
    v = row["vs_hf"]
    if tool == "hf":
        return "reference"
    if not v["checked"]:
        return "not checked"
    noun = "counts differ" if case["mode"].startswith("count") else "ids differ"
    d = diff.get(case["tokenizer"], {}).get(tool, {})
    ln, ch = d.get(f"{case['text']}.lines"), d.get(f"{case['text']}.chunks")
    in_diff = f"; diff: {ln['differ']:,} lines, {ch['differ']:,} chunks" if ln and ch else ""
    if v["same"]:
        return f"yes{in_diff}" if ln and ch and (ln["differ"] or ch["differ"]) else "yes"
    if "cold" in v:
        return f"**{noun}**: " + ", ".join(
            f"{v[w]['differ']:,}/{v[w]['docs']:,} lines ({w})" for w in ("cold", "warm")
        )
    bad = [w for w in ("cold", "warm") if not v[f"{w}_same"]]
    return f"**{noun}** ({' and '.join(bad)} text{in_diff})"


def _header(meta: dict[str, Any]) -> list[str]:
    m = meta["machine"]
    lines = [
        f"- Command: `{meta['command']}`"
        + (" (smoke run: 1 rep, texts a tenth the size)" if meta["quick"] else ""),
        f"- Date: {meta['date']}; {m.get('cpu_model', '?')}, {m['nproc']} CPUs usable; "
        f"Python {m['python']}; the run took {meta['seconds'] / 60:.1f} min",
        "- Versions: " + ", ".join(f"{t} {v}" for t, v in meta["versions"].items()),
        f"- Median of {meta['reps']} fresh processes per row, tools alternating, after one "
        "untimed process per tool on the first case; a row "
        f"{meta['slow_factor']:g}x slower than its case's fastest in the first repetition is "
        'timed once (marked "1 run"). MB = 10^6 bytes of UTF-8; CPU-s = the process\'s CPU '
        "time (all threads) around the call, building the Python result included. Cold = the "
        "process's first call, on text A (the headline); warm = its second call, on a "
        "different text B of the same kind.",
        "- ÷ tokkit, ÷ fastokens: the row's MB per CPU-s over theirs in the same case (above "
        '1: faster than them). "ids vs HF": the same input through HF `tokenizers`.',
        "- Texts:",
        *(f"  - {line}" for line in meta["text_lines"].values()),
    ]
    for s in meta["skipped"]:
        what = s.get("tokenizer") or f"mode {s.get('mode')}"
        lines.append(f"- Not run: {s['tool']} on {what}: {s['why']}")
    return lines


def _mode_tables(payload: dict[str, Any]) -> list[str]:
    reps = payload["meta"]["reps"]
    by_mode: dict[str, list[dict[str, Any]]] = {}
    for c in payload["cases"]:
        by_mode.setdefault(c["case"]["mode"], []).append(c)
    lines: list[str] = []
    for mode, cs in by_mode.items():
        lines += [
            "",
            f"**{MODE_TITLES[mode]}**",
            "",
            "| tokenizer | text | threads | tool | MB/CPU-s | MB/s wall | ÷ tokkit | "
            "÷ fastokens | warm MB/CPU-s | warm MB/s wall | peak RSS MiB | ids vs HF |",
            "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for c in cs:
            case, rows = c["case"], c["tools"]
            for tool, row in rows.items():
                once = " (1 run)" if row["reps"] == 1 < reps else ""
                lines.append(
                    f"| {case['tokenizer']} | {case['text']} | {case['threads']} | {tool}{once} | "
                    f"{row['mb_per_cpu_s']:.1f} | {row['mb_per_wall_s']:.1f} | "
                    f"{_ratio(row, rows.get('tokkit'))} | {_ratio(row, rows.get('fastokens'))} | "
                    f"{row['warm_mb_per_cpu_s']:.1f} | {row['warm_mb_per_wall_s']:.1f} | "
                    f"{row['peak_rss_mib']:.0f} | {hf_cell(case, tool, row, payload['diff'])} |"
                )
    return lines


def _load_table(load: dict[str, Any]) -> list[str]:
    tools = [t for t in TOOLS if any(t in per for per in load.values())]
    lines = [
        "",
        "**Loading** (median seconds of the load call in fresh processes; the module's import "
        "in parentheses)",
        "",
        "| tokenizer | " + " | ".join(tools) + " |",
        "|---|" + "---:|" * len(tools),
    ]
    for tok, per in load.items():
        cells = [
            f"{per[t]['load_s']:.2f} ({per[t]['import_s']:.2f})" if t in per else "-" for t in tools
        ]
        lines.append(f"| {tok} | " + " | ".join(cells) + " |")
    return lines


def _diff_table(diff: dict[str, Any]) -> list[str]:
    tools = [t for t in TOOLS if t != "hf" and any(t in d for d in diff.values())]
    lines = [
        "",
        "**Diff against HF** (documents whose ids differ from HF's: lines · ~8 KB chunks of "
        "each text, A and B)",
        "",
        "| tokenizer | text | " + " | ".join(tools) + " |",
        "|---|---|" + "---|" * len(tools),
    ]
    firsts = []
    for tok, per in diff.items():
        kinds = dict.fromkeys(k.split(".")[0] for d in per.values() for k in d if "." in k)
        for kind in kinds:
            cells = []
            for t in tools:
                d = per.get(t)
                if d is None:
                    cells.append("-")
                elif "error" in d:
                    cells.append("failed")
                else:
                    ln, ch = d[f"{kind}.lines"], d[f"{kind}.chunks"]
                    cell = f"{ln['differ']:,}/{ln['docs']:,} · {ch['differ']:,}/{ch['docs']:,}"
                    cells.append(f"**{cell}**" if ln["differ"] or ch["differ"] else cell)
                    if ln.get("first_text") is not None:
                        firsts.append(f"{t} on {tok}/{kind}: {ln['first_text']!r}")
            lines.append(f"| {tok} | {kind} | " + " | ".join(cells) + " |")
    if firsts:
        lines += ["", "First differing line of each:"]
        lines += ["- `" + f.replace("`", "'") + "`" for f in firsts]
    return lines


def markdown(payload: dict[str, Any]) -> str:
    lines = _header(payload["meta"]) + _mode_tables(payload)
    if payload["load"]:
        lines += _load_table(payload["load"])
    if payload["diff"]:
        lines += _diff_table(payload["diff"])
    lines += ["", "Regenerate with `make bench-encode`."]
    return "\n".join(lines)
