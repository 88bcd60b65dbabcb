"""How the process's host memory allocator hands out large arrays.

A step on the CPU allocates and frees arrays of a tile's size many times (torch tensors are
not pooled on the host). glibc serves blocks above its mmap threshold (128 KiB, rising
with use) by mmap and returns them by munmap, so a fresh array of that size page-faults
on first touch (docs/PERFORMANCE.md, "LLG integrator overhead"). :func:`keep_freed_memory`
raises the mmap threshold to glibc's maximum (32 MiB on 64-bit: a float64 tile of 3
components up to about 1150^2 sites) and the trim threshold to 256 MiB, so freed blocks up
to that size are reused from the heap without page faults; the price is freed memory kept
by the process instead of returned (per malloc arena, per rank). A preloaded allocator
(jemalloc, tcmalloc) ignores the setting; other C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: mallopt parameters of glibc's malloc.h.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: glibc's largest mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX), bytes.
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 256 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Keep freed blocks of up to 32 MiB in the heap (glibc only); True if it was set."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
