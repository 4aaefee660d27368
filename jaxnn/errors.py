"""Early, readable input validation shared by every module.

Each checker raises *before* anything is traced deep into XLA, and names the offending
value or shape in the message. Checks run on concrete (non-traced) values only; inside
``jax.jit`` the shape checks still work (shapes are static) while value checks such as
:func:`check_finite` are skipped for tracers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import jax
import numpy as np


class JaxnnError(ValueError):
    """Base class of jaxnn's input errors (a ``ValueError``, so ``except ValueError`` works)."""


class ShapeError(JaxnnError):
    """An array has the wrong rank or shape."""


def _is_tracer(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def check_ndim(x: Any, ndims: int | Sequence[int], name: str) -> None:
    """Raise :class:`ShapeError` unless ``x.ndim`` is one of ``ndims``."""
    allowed = (ndims,) if isinstance(ndims, int) else tuple(ndims)
    nd = np.ndim(x)
    if nd not in allowed:
        want = " or ".join(str(a) for a in allowed)
        raise ShapeError(f"{name} must have {want} dimension(s); got shape {tuple(np.shape(x))}")


def check_shape(x: Any, shape: Sequence[int | None], name: str) -> None:
    """Raise :class:`ShapeError` unless ``x.shape`` matches ``shape`` (``None`` = any size)."""
    got = tuple(np.shape(x))
    if len(got) != len(shape) or any(s is not None and s != g for s, g in zip(shape, got)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ShapeError(f"{name} must have shape {want}; got {got}")


def check_same_leading(arrays: dict[str, Any]) -> None:
    """Raise :class:`ShapeError` unless all arrays share their first (batch) dimension."""
    sizes = {k: np.shape(v)[0] if np.ndim(v) else None for k, v in arrays.items()}
    if len(set(sizes.values())) > 1:
        desc = ", ".join(f"{k}: {tuple(np.shape(v))}" for k, v in arrays.items())
        raise ShapeError(f"batch sizes differ ({desc})")


def check_finite(x: Any, name: str) -> None:
    """Raise :class:`JaxnnError` if a concrete array holds NaN or inf (no-op under jit)."""
    if _is_tracer(x):
        return
    a = np.asarray(x)
    if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise JaxnnError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")


def check_labels(y: Any, num_classes: int, name: str = "labels") -> None:
    """Raise :class:`JaxnnError` unless integer labels lie in ``[0, num_classes)``."""
    if _is_tracer(y):
        return
    a = np.asarray(y)
    if a.dtype.kind not in "iu":
        raise JaxnnError(f"{name} must be integers in [0, {num_classes}); got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        bad = a[(a < 0) | (a >= num_classes)]
        raise JaxnnError(
            f"{name} must lie in [0, {num_classes}); got {bad.ravel()[:5].tolist()}"
            f" ({bad.size} out of range)"
        )


def check_choice(value: Any, options: Iterable[str], name: str) -> None:
    """Raise :class:`JaxnnError` unless ``value`` is one of ``options``."""
    opts = sorted(options)
    if value not in opts:
        raise JaxnnError(f"unknown {name} {value!r}; choose one of {', '.join(map(repr, opts))}")


def check_positive(value: float, name: str, *, strict: bool = True) -> None:
    """Raise :class:`JaxnnError` unless ``value`` > 0 (or >= 0 when ``strict=False``)."""
    ok = value > 0 if strict else value >= 0
    if not ok:
        rel = ">" if strict else ">="
        raise JaxnnError(f"{name} must be {rel} 0; got {value!r}")


def check_range(value: float, lo: float, hi: float, name: str, *, hi_open: bool = True) -> None:
    """Raise :class:`JaxnnError` unless ``lo <= value < hi`` (``<= hi`` when ``hi_open=False``)."""
    ok = lo <= value < hi if hi_open else lo <= value <= hi
    if not ok:
        bracket = ")" if hi_open else "]"
        raise JaxnnError(f"{name} must lie in [{lo}, {hi}{bracket}; got {value!r}")
