"""Early, readable input validation shared by every module.

Each checker raises *before* anything is traced deep into XLA, and names the offending
value or shape in the message. Checks run on concrete (non-traced) values only; inside
``jax.jit`` the shape checks still work (shapes are static) while value checks such as
:func:`check_finite` are skipped for tracers — which is why the training engine validates its
data once, eagerly, before the first step (:mod:`jaxnn.train.validate`).

The exception types, all ``ValueError`` s:

- :class:`JaxnnError`: any bad input (a value, a hyperparameter, a key, a config);
- :class:`ShapeError`: an array of the wrong rank or shape, or a parameter leaf whose shape
  differs from what the model or optimizer expects (:func:`check_tree` names the key path
  and both shapes);
- :class:`NonFiniteError`: training produced a NaN/inf; it carries the epoch, the step, the
  first non-finite leaf and the last good parameters.
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


class NonFiniteError(JaxnnError):
    """Training produced a NaN or inf (:func:`jaxnn.train.fit` stops the run with it).

    Attributes:
        epoch: the epoch (1-based) whose step broke.
        step: that step's number within the epoch (1-based), or None when unknown.
        leaf: what became non-finite first: ``"loss"`` or a parameter leaf such as
            ``"params['layer1']['W']"``.
        params: the last good parameters (those at the start of ``epoch``; also what the
            last checkpoint holds when one was written after every epoch).
        opt_state: the optimizer state that goes with ``params``.
    """

    def __init__(self, message: str, *, epoch: int | None = None, step: int | None = None,
                 leaf: str | None = None, params: Any = None, opt_state: Any = None):
        super().__init__(message)
        self.epoch, self.step, self.leaf = epoch, step, leaf
        self.params, self.opt_state = params, opt_state


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


def check_floating(x: Any, name: str) -> None:
    """Raise :class:`JaxnnError` unless ``x`` has a floating dtype (static: works under jit).

    Models whose inputs are real features (an MLP's x, LeNet-5's images, a linear model's
    features) refuse integer or boolean arrays instead of silently promoting them.
    """
    dt = np.result_type(x) if not hasattr(x, "dtype") else np.dtype(x.dtype)
    if not jax.numpy.issubdtype(dt, jax.numpy.inexact):  # bfloat16 is kind "V" in numpy
        raise JaxnnError(f"{name} must be a floating array (e.g. x.astype(jnp.float32)); "
                         f"got dtype {dt}")


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


def _path_str(path: tuple) -> str:
    return "".join(f"[{getattr(k, 'key', getattr(k, 'idx', getattr(k, 'name', k)))!r}]"
                   if not hasattr(k, "name") else f".{k.name}" for k in path)


def check_tree(tree: Any, like: Any, name: str, *, what: str = "") -> None:
    """Raise unless ``tree`` has the structure and leaf shapes of ``like``.

    ``like`` may hold arrays or ``jax.ShapeDtypeStruct`` s (e.g. ``jax.eval_shape(init, key,
    config)``). The message names the first differing key path and both shapes, instead of a
    ``KeyError`` or a ``dot_general`` ``TypeError`` deep in the model.

    Args:
        tree: the pytree given (parameters, an optimizer state).
        like: the pytree expected.
        name: what ``tree`` is called in the message (e.g. ``"params"``).
        what: a hint appended to the message (e.g. "built for other parameters?").

    Raises:
        JaxnnError: a key (or node) missing or extra; ShapeError: a leaf of another shape.
    """
    hint = f" ({what})" if what else ""
    got = dict(jax.tree_util.tree_flatten_with_path(tree)[0])
    want = dict(jax.tree_util.tree_flatten_with_path(like)[0])
    got_s = {_path_str(p): v for p, v in got.items()}
    want_s = {_path_str(p): v for p, v in want.items()}
    missing = [p for p in want_s if p not in got_s]
    extra = [p for p in got_s if p not in want_s]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {name}{missing[0]} (shape {tuple(np.shape(want_s[missing[0]]))})"
                         + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
        if extra:
            parts.append(f"unexpected {name}{extra[0]} (shape {tuple(np.shape(got_s[extra[0]]))})"
                         + (f" and {len(extra) - 1} more" if len(extra) > 1 else ""))
        raise JaxnnError(f"{name} does not have the expected structure: {'; '.join(parts)}"
                         f"{hint}")
    for p, w in want_s.items():
        g = got_s[p]
        if tuple(np.shape(g)) != tuple(np.shape(w)):
            raise ShapeError(f"{name}{p} has shape {tuple(np.shape(g))}; expected "
                             f"{tuple(np.shape(w))}{hint}")
