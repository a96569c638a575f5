"""Host memory for the CPU backends: keep freed memory in the process for the next step.

Eager NumPy code allocates a fresh array for every op result and frees it a moment later. glibc's
malloc serves arrays of 128 KiB and more with their own ``mmap`` and gives memory at the top of its
heap back to the OS as soon as it is freed; the next training step then touches fresh pages again, and
each page costs a fault and a zeroing in the kernel. On the digits CNN that was ~21,600 page faults per
epoch, a quarter of the epoch's time (PyTorch, with fewer temporaries, took ~450).

``keep_freed_memory()`` raises those two thresholds (``mallopt``), so freed arrays stay in the heap and
are reused: what a caching allocator does on a GPU. The cost: the process keeps up to
``TRIM_THRESHOLD`` of freed memory instead of returning it to the OS. The NumPy backend calls it when it
loads; ``XGRAD_KEEP_FREED_MEMORY=0`` turns it off. Other C libraries (musl, macOS) are left as they are.
"""

from __future__ import annotations

import ctypes
import os

MMAP_THRESHOLD = 32 * 2**20  # glibc's largest: blocks up to this come from the heap, not their own mmap
TRIM_THRESHOLD = 512 * 2**20  # freed memory kept at the heap's top before any is returned to the OS
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)

_state: dict[str, bool] = {}


def keep_freed_memory() -> bool:
    """Raise glibc malloc's mmap and trim thresholds once per process; True where that took effect
    (glibc, and not turned off with ``XGRAD_KEEP_FREED_MEMORY=0``)."""
    if "kept" not in _state:
        _state["kept"] = os.environ.get("XGRAD_KEEP_FREED_MEMORY", "1").strip() != "0" and _mallopt()
    return _state["kept"]


def _mallopt() -> bool:
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt  # glibc only
        libc.gnu_get_libc_version  # noqa: B018  (musl has mallopt as a stub that does nothing)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # setting either turns off glibc's own adjustment of both, so both are set
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
