"""Host memory: keep freed memory in the process instead of handing it back to the OS.

XLA's CPU backend allocates each executable's temporaries as one block per call (the LSTM
training step at B = 32, H = 256, T = 100 needs 60 MB; at T = 1000, 312 MB) and frees it after.
glibc's ``malloc`` serves a block that large with fresh pages from ``mmap`` and unmaps it on
``free``, so every call first-touches, page-faults and zeroes the whole block again: 14,600
minor page faults per LSTM step, about a fifth of its CPU time on the machine where it was
measured. :func:`keep_freed_memory` tells glibc (``mallopt``) never to serve an allocation from
``mmap`` and never to trim the heap, so the second call reuses the first call's pages. The cost:
the process keeps its peak heap until it exits.

``jaxnn run`` and ``jaxnn bench`` call it at start (set ``JAXNN_KEEP_FREED_MEMORY=0`` to
leave ``malloc`` as it is); a script of your own calls it once before training. It changes
how memory is obtained, never a computed value.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["keep_freed_memory", "ENV"]

ENV = "JAXNN_KEEP_FREED_MEMORY"

# mallopt parameters of glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4

_applied = False


def keep_freed_memory() -> bool:
    """Make glibc's ``malloc`` keep freed memory for reuse (module docstring).

    Returns:
        True when the setting is in effect (now or from an earlier call); False where it
        cannot apply: not Linux, a C library other than glibc (musl), or ``mallopt`` refused.
        Never raises.
    """
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _applied


def apply_from_environment() -> bool:
    """:func:`keep_freed_memory` unless ``$JAXNN_KEEP_FREED_MEMORY`` is ``0`` (the CLI's call)."""
    if os.environ.get(ENV, "1").strip() == "0":
        return False
    return keep_freed_memory()
