"""Resident memory of a process (Linux's /proc; elsewhere the peak, the best the OS offers)."""

from __future__ import annotations

import os
import resource
import sys


def rss_mb(pid: int | None = None) -> float | None:
    """Resident set size of process `pid` (this one by default) in MB, or None if unknown."""
    try:
        with open(f"/proc/{pid or os.getpid()}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if pid in (None, os.getpid()):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (2**20 if sys.platform == "darwin" else 1024)
    return None
