"""The host allocator keeps freed tile-sized blocks (distllg.host_memory): a freed 16 MiB
array stays in the heap for the next one instead of going back to the kernel."""

import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, ctypes.util, numpy as np
from distllg.host_memory import keep_freed_memory
if {keep}:
    assert keep_freed_memory()
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = Info
block = np.ones(2 * 1024 * 1024)
del block
print(libc.mallinfo2().fordblks)
"""


def free_heap_after_a_freed_block(keep: bool) -> int:
    """Bytes free in the heap of a fresh process after one 16 MiB array came and went."""
    environment = {k: v for k, v in os.environ.items()  # glibc's defaults, whatever is set
                   if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "LD_PRELOAD")}
    out = subprocess.run([sys.executable, "-c", PROBE.format(keep=keep)], check=True,
                         capture_output=True, text=True, env=environment).stdout
    return int(out.split()[-1])


def test_freed_blocks_stay_in_the_heap():
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("not glibc >= 2.33")
    block = 16 * 1024 * 1024
    assert free_heap_after_a_freed_block(False) < block  # glibc's default: munmap
    assert free_heap_after_a_freed_block(True) >= block
