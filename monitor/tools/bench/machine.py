"""The machine a benchmark ran on, as its report states it: the CPU, cores, memory and how busy it was."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpuinfo(key: str) -> str | None:
    """The first value of `key` in /proc/cpuinfo (Linux), or None."""
    path = Path("/proc/cpuinfo")
    if not path.exists():
        return None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(key):
            return line.split(":", 1)[1].strip()
    return None


def memory_total() -> str:
    """The machine's memory (MemTotal of /proc/meminfo), e.g. "23.4 GiB"; "unknown" elsewhere."""
    path = Path("/proc/meminfo")
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    return "unknown"


def basics() -> dict[str, str]:
    """What every benchmark's report says of the machine: load at the end, CPU model, cores, memory, Python."""
    return {
        "load average (1, 5, 15 min) at the end": ", ".join(f"{v:.1f}" for v in os.getloadavg()),
        "cpu": cpuinfo("model name") or platform.processor() or "unknown",
        "cores": str(os.cpu_count()),
        "memory": memory_total(),
        "python": platform.python_version(),
    }
