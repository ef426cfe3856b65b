"""Process-wide memory allocator settings for the CPU hot loops of train.py and test.py."""
from __future__ import annotations

import ctypes
import sys


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory in the process instead of returning it to the OS (no mmap for large
    blocks, no trimming). Training steps and inference calls allocate and free gigabytes of activations;
    returning them makes every step fault them in again, which made an fp32 CPU training step 4-5x slower and a
    1024x512 inference frame 1.5x slower on our VM (docs/BENCHMARKS.md). Peak memory is about the same.
    Same effect as MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=<large>."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): leave the allocator alone
        return
    m_trim_threshold, m_mmap_max = -1, -4
    libc.mallopt(m_mmap_max, 0)
    libc.mallopt(m_trim_threshold, 2**31 - 1)
