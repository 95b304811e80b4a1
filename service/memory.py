"""Memory of a process: how much it holds (Linux's /proc; elsewhere the peak, the best the OS
offers), and giving freed memory back to the system."""

from __future__ import annotations

import ctypes
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


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD = 128 * 1024  # glibc's default starting value, kept fixed


def return_freed_memory_promptly() -> bool:
    """Have glibc's malloc give blocks of 128 KiB and more straight back to the system when
    they are freed. By default it raises that threshold (up to 32 MiB) whenever such a block is
    freed; from then on the server's messages of several MB (a model's bytes, a checkpoint) are
    cut from heaps that do not shrink, and a server that has received a few big runs keeps
    their size for good (benchmarks/memory.py, part 4, prints what it holds). Fixing the value
    turns that adjustment off. False where the C library is not glibc (nothing changes)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    except (OSError, AttributeError):
        return False
