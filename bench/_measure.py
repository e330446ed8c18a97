"""Measuring: one process's wall time, peak RSS and CPU time; the machine and corpus.

``run_measured`` starts a command under a tiny launcher process that times it
from fork to reap and reads its ``ru_maxrss`` with ``os.wait4``.
``machine_info`` and ``corpus_info`` describe what the numbers were measured
on (``corpus_info`` also warms the page cache).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


# Launcher run as `python -S -I -c LAUNCHER`. It exists because on Linux a
# child's ru_maxrss starts from the RSS of the process that forked it (exec
# records the old address space's high-water mark), so forking the tools from
# this (growing) benchmark process would inflate their peak RSS. The launcher
# is ~10 MiB, below any tool's real peak; it forks the tool, times it from fork
# to reap, enforces the timeout on the tool's process group, and prints JSON.
LAUNCHER = r"""
import json, os, resource, signal, sys, time
cmd, timeout, out, err = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
timed_out = []
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.setpgid(0, 0)
        fd0 = os.open(os.devnull, os.O_RDONLY)
        fd1 = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        fd2 = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd0, 0); os.dup2(fd1, 1); os.dup2(fd2, 2)
        os.execvp(cmd[0], cmd)
    except BaseException as e:
        os.write(2, repr(e).encode()); os._exit(127)
try:
    os.setpgid(pid, pid)
except OSError:
    pass
def on_alarm(*_):
    timed_out.append(1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, timeout)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
signal.setitimer(signal.ITIMER_REAL, 0)
print(json.dumps({"wall_s": wall, "maxrss_kib": ru.ru_maxrss, "floor_kib": floor,
                  "cpu_s": ru.ru_utime + ru.ru_stime,
                  "returncode": os.waitstatus_to_exitcode(status),
                  "timed_out": bool(timed_out)}))
"""


def run_measured(
    cmd: list[str], env: dict[str, str], timeout: float, log_prefix: Path
) -> dict[str, Any]:
    """Run ``cmd`` under the launcher; return wall time, peak RSS, CPU time and status."""
    launcher = [
        sys.executable,
        "-S",
        "-I",
        "-c",
        LAUNCHER,
        json.dumps(cmd),
        str(timeout),
        f"{log_prefix}.stdout",
        f"{log_prefix}.stderr",
    ]
    try:
        r = subprocess.run(
            launcher,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout + 120,
            check=False,
            start_new_session=True,
        )
        m = json.loads(r.stdout)
    except (subprocess.TimeoutExpired, json.JSONDecodeError) as e:
        return {"status": "error", "wall_s": None, "error": f"launcher failed: {e!r}"}
    res: dict[str, Any] = {
        "wall_s": round(m["wall_s"], 4),
        "peak_rss_mib": round(m["maxrss_kib"] / 1024, 1),  # Linux: KiB
        "rss_floor_mib": round(m["floor_kib"] / 1024, 1),
        "cpu_s": round(m["cpu_s"], 3),
        "returncode": m["returncode"],
    }
    if m["timed_out"]:
        res.update(status="timeout", wall_s=None)
    elif m["returncode"] != 0:
        err = Path(f"{log_prefix}.stderr").read_text(errors="replace")
        res.update(status="error", error=err[-2000:])
    else:
        res["status"] = "ok"
    return res


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gib"] = round(int(line.split()[1]) / MIB, 1)
                break
    except OSError:
        pass
    return info


def corpus_info(path: Path) -> dict[str, Any]:
    """Read the whole corpus once (warms the page cache for every tool) and hash it."""
    h = hashlib.sha256()
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            h.update(chunk)
            lines += chunk.count(b"\n")
    size = path.stat().st_size
    return {
        "path": str(path),
        "bytes": size,
        "mb": round(size / 1e6, 1),
        "lines": lines,
        "sha256": h.hexdigest(),
    }
