"""Process settings that make CPU training faster; each call is explicit and idempotent.

Why ``keep_freed_memory``: a supernet step allocates and frees hundreds of activation-sized
buffers (several MiB each). glibc's malloc serves blocks above its mmap threshold with fresh
``mmap`` calls and returns them on ``free``, so every step touches brand-new pages: about 60,000
page faults per DARTS search step at the paper's settings, and the kernel zeroing each page costs
seconds. Raising the mmap threshold and disabling trimming keeps freed memory in the heap for
reuse. The setting belongs to the process (as ``torch.set_num_threads`` does), not to an object.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import torch

# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc caps M_MMAP_THRESHOLD at 32 MiB on 64-bit (HEAP_MAX/2); larger blocks still use mmap.
MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 2**31 - 1


def keep_freed_memory(device: torch.device) -> bool:
    """For work on ``device``: on CPU, ask glibc's malloc to keep freed blocks for reuse instead
    of returning them to the OS.

    Returns True where the setting took effect (a CPU device, Linux with glibc), False elsewhere,
    where it is a no-op. Peak memory is unchanged; resident memory no longer shrinks between steps.
    """
    if device.type != "cpu" or not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    return mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1 and ok
