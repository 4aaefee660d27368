"""What machine a run or a benchmark ran on: CPU model, cores, vector extensions, versions.

Speed ratios depend on the hardware as much as on the code (the same NPLM step measured 0.82×
PyTorch on one 2-core machine and 1.2–1.7× on another with AVX-512), so every ``bench.json``
and ``results.json`` names the machine it was measured on.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata

__all__ = ["describe", "summary"]

#: Vector extensions worth naming (x86 and Arm), reported in this order where present.
_SIMD = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "asimd", "sve")


def _cpuinfo(path: str = "/proc/cpuinfo") -> tuple[str, list[str]]:
    """(model name, flags) of the first CPU in ``path``; ("", []) where there is none (macOS)."""
    model, flags = "", []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key == "model name" and not model:
                    model = value.strip()
                elif key in ("flags", "features") and not flags:
                    flags = value.split()
                if model and flags:
                    break
    except OSError:
        pass
    return model, flags


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def describe() -> dict:
    """The machine as a JSON-ready dict.

    Returns:
        ``{"cpu": str, "cores": int, "simd": [str, ...], "python": str, "jax": str | None,
        "jaxlib": str | None, "torch": str | None}``; ``cores`` counts the cores this process
        may run on (its affinity), not the machine's.
    """
    model, flags = _cpuinfo()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return {"cpu": model or platform.processor() or platform.machine(), "cores": cores,
            "simd": [s for s in _SIMD if s in flags], "python": platform.python_version(),
            **{d: _version(d) for d in ("jax", "jaxlib", "torch")}}


def summary(d: dict | None = None) -> str:
    """One line for a report: ``"AMD EPYC, 2 cores (avx2 fma avx512f ...), jax 0.10.2, ..."``."""
    d = describe() if d is None else d
    simd = f" ({' '.join(d['simd'])})" if d["simd"] else ""
    versions = ", ".join(f"{k} {d[k]}" for k in ("jax", "jaxlib", "torch") if d.get(k))
    return f"{d['cpu']}, {d['cores']} cores{simd}, {versions}"
