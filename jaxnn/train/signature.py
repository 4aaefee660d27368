"""Signatures and checksums of training state: what a checkpoint stores to be verified.

- :func:`param_signature`: every leaf's path, shape and dtype (the model's parameters),
- :func:`tree_checksum`: sha256 over a pytree's leaves (path, dtype, shape, bytes) in
  ``jax.tree_util`` order, verified when a checkpoint is read back,
- :func:`fingerprint` / :func:`run_signature`: what besides the parameters decides a training
  trajectory: the optimizer's hyperparameters, read from the values its ``init``/``update``
  closures captured (where optax keeps them: ``optax.adam(1e-3)``'s learning rate is the
  ``step_size`` cell of ``scale``'s ``update_fn``), the optimizer state's structure, and the
  training config (batch size, N, the PRNG key).

Chosen over a user-supplied tag because it needs nothing from the caller and names the
differing hyperparameter; its limit: code changes inside a function with the same name and
captured values (a hand-edited loss) are not seen.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import types
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def param_signature(params: Any) -> dict[str, list]:
    """``{leaf path: [shape, dtype]}`` of a pytree (what must match to restore into it)."""
    flat, _ = jax.tree_util.tree_flatten_with_path(params)
    return {jax.tree_util.keystr(p): [list(np.shape(x)), str(jnp.result_type(x))]
            for p, x in flat}


def diff(stored: dict[str, list], given: dict[str, list], limit: int = 5) -> list[str]:
    out = [f"{k}: stored {stored[k][0]} {stored[k][1]}, given {given[k][0]} {given[k][1]}"
           for k in stored if k in given and stored[k] != given[k]]
    out += [f"{k}: only in the checkpoint" for k in stored if k not in given]
    out += [f"{k}: not in the checkpoint" for k in given if k not in stored]
    return out[:limit]


def is_typed_key(key: Any) -> bool:
    return hasattr(key, "dtype") and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)


# --------------------------------------------------------------------------- checksums


def tree_checksum(tree: Any) -> str | None:
    """sha256 (hex) of a pytree of arrays: each leaf's path, dtype, shape and bytes, in order.

    Args:
        tree: pytree of arrays (a typed PRNG key is hashed as its ``key_data``).

    Returns:
        64 hex digits; ``None`` when a leaf is not fully addressable from this process
        (a multi-host sharded array: its bytes are not all here, it cannot be verified).
    """
    h = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if is_typed_key(leaf):
            leaf = jax.random.key_data(leaf)
        if not getattr(leaf, "is_fully_addressable", True):
            return None
        a = np.ascontiguousarray(np.asarray(leaf))
        h.update(f"{jax.tree_util.keystr(path)}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def first_non_finite(tree: Any, name: str = "") -> str | None:
    """Path (prefixed by ``name``) and count of the first float leaf holding NaN/inf, or None."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if is_typed_key(leaf) or not getattr(leaf, "is_fully_addressable", True):
            continue
        a = np.asarray(leaf)
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            bad = int(a.size - np.count_nonzero(np.isfinite(a)))
            return f"{name}{jax.tree_util.keystr(path)} ({bad} of {a.size} values NaN/inf)"
    return None


# --------------------------------------------------------------------------- run signature


def _fingerprint(obj: Any, path: str, out: dict[str, str], seen: set[int], depth: int) -> None:
    """Flatten what decides ``obj``'s behaviour into ``out`` (``path -> repr``).

    Functions contribute their qualified name, defaults and the values their closures
    captured (this is where optax keeps hyperparameters: ``optax.adam(1e-3)``'s learning
    rate is a closure cell of ``scale``'s ``update_fn``); containers, NamedTuples,
    dataclasses and plain objects are walked; arrays contribute a sha256 of their bytes.
    """
    if depth > 12:
        out[path] = f"<{type(obj).__qualname__}>"
        return
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        out[path] = repr(obj)
        return
    if isinstance(obj, (np.generic, np.dtype)):
        out[path] = f"{obj!r}"
        return
    if isinstance(obj, enum.Enum):
        out[path] = f"{type(obj).__qualname__}.{obj.name}"
        return
    if isinstance(obj, (jax.Array, np.ndarray)):
        if is_typed_key(obj):
            obj = jax.random.key_data(obj)
        out[path] = f"array{tuple(np.shape(obj))} {obj.dtype} " + (
            tree_checksum(obj) or "unaddressable")[:16]
        return
    if isinstance(obj, (type, types.ModuleType, types.BuiltinFunctionType)):
        out[path] = f"<{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', obj)}>"
        return
    if id(obj) in seen:
        out[path] = "<cycle>"
        return
    seen = seen | {id(obj)}
    rec = functools.partial(_fingerprint, out=out, seen=seen, depth=depth + 1)
    if isinstance(obj, functools.partial):
        rec(obj.func, f"{path}.func")
        rec(obj.args, f"{path}.args")
        rec(obj.keywords, f"{path}.keywords")
    elif isinstance(obj, types.MethodType):
        rec(obj.__func__, f"{path}.__func__")
        rec(obj.__self__, f"{path}.__self__")
    elif isinstance(obj, types.FunctionType):
        out[path] = f"<function {obj.__module__}.{obj.__qualname__}>"
        for name in ("__defaults__", "__kwdefaults__"):
            if getattr(obj, name) is not None:
                rec(getattr(obj, name), f"{path}.{name}")
        for name, cell in zip(obj.__code__.co_freevars, obj.__closure__ or ()):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            rec(value, f"{path}.{name}")
    elif isinstance(obj, tuple) and hasattr(obj, "_fields"):
        out[path] = f"<{type(obj).__qualname__}>"
        for name, value in zip(obj._fields, obj):
            rec(value, f"{path}.{name}")
    elif isinstance(obj, (list, tuple)):
        out[path] = f"<{type(obj).__name__} of {len(obj)}>"
        for i, value in enumerate(obj):
            rec(value, f"{path}[{i}]")
    elif isinstance(obj, (set, frozenset)):
        out[path] = repr(sorted(repr(v) for v in obj))
    elif isinstance(obj, dict):
        out[path] = f"<dict of {len(obj)}>"
        for k in sorted(obj, key=repr):
            rec(obj[k], f"{path}[{k!r}]")
    elif dataclasses.is_dataclass(obj):
        out[path] = f"<{type(obj).__qualname__}>"
        for f in dataclasses.fields(obj):
            rec(getattr(obj, f.name), f"{path}.{f.name}")
    elif callable(obj) and hasattr(obj, "__wrapped__"):
        rec(obj.__wrapped__, f"{path}.__wrapped__")
    elif hasattr(obj, "__dict__"):
        out[path] = f"<{type(obj).__module__}.{type(obj).__qualname__}>"
        for k in sorted(vars(obj)):
            if not k.startswith("__"):
                rec(vars(obj)[k], f"{path}.{k}")
    else:
        out[path] = f"<{type(obj).__qualname__}>"


def fingerprint(obj: Any, name: str = "") -> dict[str, str]:
    """What decides the behaviour of ``obj`` (an optax optimizer, a config, a function).

    Args:
        obj: any Python value; for an ``optax.GradientTransformation`` the result holds every
            hyperparameter its ``init``/``update`` closures captured (learning rate, betas,
            eps, schedules' constants, chained transforms in order).
        name: prefix of every path.

    Returns:
        ``{path: repr}``, deterministic across processes for the same value; two optimizers
        that differ only in a hyperparameter differ in one path (the message names it).
    """
    out: dict[str, str] = {}
    _fingerprint(obj, name, out, set(), 0)
    return out


def run_signature(optimizer: Any, opt_state: Any, **config: Any) -> dict[str, Any]:
    """What besides the parameters decides a training run's trajectory (stored, compared).

    Args:
        optimizer: the optax optimizer (its hyperparameters, see :func:`fingerprint`).
        opt_state: its state (leaf paths, shapes and dtypes).
        **config: JSON-friendly training settings that change the trajectory
            (``batch_size``, ``n``, the PRNG ``key``'s data, ...); arrays become lists.

    Returns:
        a JSON-serialisable dict; a resumed run must present an equal one.
    """
    def plain(v):
        if is_typed_key(v):
            v = jax.random.key_data(v)
        return np.asarray(v).tolist() if hasattr(v, "shape") else v

    return {"optimizer": fingerprint(optimizer, "optimizer"),
            "opt_state": param_signature(opt_state),
            **{k: plain(v) for k, v in sorted(config.items())}}


def run_diff(stored: dict[str, Any], given: dict[str, Any], limit: int = 4) -> list[str]:
    out = []
    for k in sorted(set(stored) | set(given)):
        s, g = stored.get(k), given.get(k)
        if s == g:
            continue
        if isinstance(s, dict) and isinstance(g, dict):
            if k == "opt_state":
                out += [f"optimizer state {d}" for d in diff(s, g, 2)]
            else:
                out += [f"{p}: stored {s.get(p, '(absent)')}, given {g.get(p, '(absent)')}"
                        for p in sorted(set(s) | set(g)) if s.get(p) != g.get(p)][:2]
        else:
            out.append(f"{k}: stored {s}, given {g}")
    return out[:limit]
