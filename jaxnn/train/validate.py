"""The one eager check of the training data, run once before the first step.

Inside ``jit`` (and so inside the engine's ``lax.scan``) the models' value checks are skipped:
an array there is a tracer, whose values are unknown. A label −1 would then silently train as
class C − 1 (the gather wraps), a label ≥ C would give NaN, a NaN pixel would poison the
weights. So :func:`jaxnn.train.fit` (for ``train_data`` and ``valid_data`` alike) and the
first concrete call of a step built by :func:`jaxnn.train.make_train_step` run
:func:`check_training_data` on the host, once, before anything is traced.

Which check runs where, and what it costs:

- a tuple of arrays sharing N, N > 0 (B > 0 for a step's batch): here, shapes only;
- every float array finite: here, one pass over the data (numpy, or one reduction on the
  device for ``jax.Array`` s); the message names the first bad index and value;
- no object or string arrays: here, dtypes only;
- the params' structure and shapes, the input's shape and dtype, the label range and dtype
  against the model's classes (``mlp.loss`` refuses labels outside [0, C)), ``lengths`` ≤ T:
  the model's own eager checks, by calling ``loss_fn`` once, eagerly, on a few rows — row 0,
  the first row of every distinct value of each per-sample (N,) array with at most
  :data:`MAX_DISTINCT` of them (labels, ±1 targets, lengths) and the rows of the minimum and
  maximum of every other integer array; a refusal is located by probing those rows one by
  one and re-raised naming the row and the value;
- the optimizer state matches ``optimizer.init(params)``: at trace time of the step
  (:func:`check_opt_state`, shapes only, once per compilation), and eagerly in ``fit`` for a
  given ``opt_state``;
- a NaN/inf loss or parameter after a step: ``fit``, after every epoch (one reduction); a
  broken epoch is replayed once to find the step and the first non-finite leaf.

The label range is checked against the classes "where known": the probe call is what knows
them. A user's loss that checks nothing, or one that is itself ``jax.jit``-ted (its checks
see tracers even in the probe), gets only the generic checks. For checks *inside* a traced
step (a user's own jitted step, data that change every step), pass ``checks=True`` to
``make_train_step`` or ``fit``: the step is then wrapped in ``jax.experimental.checkify``
(user checks that every float batch leaf, the loss and every parameter after the update are
finite; a label ≥ C shows up there as a NaN loss, a label −1 does not — the eager check
catches it), and a failure raises :class:`jaxnn.errors.JaxnnError` after the step, at the
price of one device-to-host sync per step (``make_train_step``) or per epoch (``fit``).

Nothing here changes a number: valid data train bit for bit as without the checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.data.batching import check_data
from jaxnn.errors import JaxnnError, _path_str, check_tree

__all__ = ["check_key", "check_opt_state", "check_params", "check_training_data",
           "first_nonfinite_leaf", "leaf_names"]


def _host(a: Any) -> np.ndarray | None:
    """``a`` on the host, or None for arrays spread over processes (not fully addressable)."""
    if isinstance(a, jax.Array) and not a.is_fully_addressable:
        return None
    return np.asarray(a)


def _dtype(a: Any) -> np.dtype:
    return np.dtype(a.dtype) if hasattr(a, "dtype") else np.asarray(a).dtype


def _check_finite(a: Any, name: str) -> None:
    """Raise naming the first non-finite entry of a float array."""
    if isinstance(a, jax.Array):
        if bool(jnp.all(jnp.isfinite(a))):  # one reduction on the device, no copy
            return
        host = _host(a)
        if host is None:
            raise JaxnnError(f"{name} holds NaN or inf values")
    else:
        host = np.asarray(a)
        if np.all(np.isfinite(host)):
            return
    bad = ~np.isfinite(host)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), host.shape))
    raise JaxnnError(f"{name} holds {int(bad.sum())} non-finite value(s) (NaN or inf); the "
                     f"first is {host[idx]} at index {idx}: the data must be finite to train on")


#: a per-sample array (N,) with at most this many distinct values (labels, ±1 targets,
#: lengths) is probed with one row per value; others with the rows of their min and max
MAX_DISTINCT = 256


def _probe_rows(a: np.ndarray) -> list[tuple[int, tuple, Any]]:
    """(row, index, value) of the entries worth showing the model: the first row of every
    distinct value of a per-sample array with few of them, else the minimum and maximum."""
    if a.ndim == 1:
        values, first = np.unique(a, return_index=True)
        if len(values) <= MAX_DISTINCT:
            return [(int(i), (int(i),), a[int(i)].item()) for i in sorted(first)]
    out = []
    for flat in {int(np.argmin(a)), int(np.argmax(a))}:
        idx = tuple(int(i) for i in np.unravel_index(flat, a.shape))
        out.append((idx[0], idx, a[idx].item()))
    return sorted(out)


def check_training_data(data: Any, name: str, *, loss_fn: Callable[[Any, Any, Any], Any]
                        | None = None, params: Any = None, key: Any = None) -> int:
    """Validate a data tuple once, eagerly, before training on it (see the module table).

    Args:
        data: tuple ``(x, y, ...)`` of arrays (N, ...).
        name: what the messages call it (``"train_data"``, ``"valid_data"``, ``"batch"``).
        loss_fn: ``(params, batch, key) -> loss`` to probe on a few rows (``None``: skip the
            probe); its own checks (shapes against the params, label range) then run on
            concrete values.
        params: the parameters passed to the probe.
        key: the key passed to the probe (``None`` is passed through).

    Returns:
        N, the number of samples.

    Raises:
        JaxnnError: an empty or malformed tuple, a non-finite value (the first one is named
            with its index), an object/string array, or whatever the model's loss refuses on
            the probed rows (a :class:`JaxnnError` re-raised with the same type, naming the
            row and value; any other exception of the probe is left to the real step).
        ShapeError: arrays that disagree on N, or shapes the model refuses.
    """
    n = check_data(data, name)
    rows: dict[int, list[str]] = {0: ["its first sample"]}
    for i, a in enumerate(data):
        dt = _dtype(a)
        where = f"{name}[{i}]"
        is_float = jnp.issubdtype(dt, jnp.inexact)  # bfloat16 too (numpy kind "V")
        if is_float:
            _check_finite(a, where)
        if dt.kind in "iub" or is_float and np.ndim(a) == 1:
            host = _host(a) if loss_fn is not None else None
            if host is not None and host.size:
                for row, idx, value in _probe_rows(host):
                    rows.setdefault(row, []).append(f"{where}{list(idx)} = {value}")
        elif not is_float:
            raise JaxnnError(f"{where} must be a numeric array; got dtype {dt}")
    if loss_fn is None:
        return n
    picked = sorted(rows)
    try:
        loss_fn(params, tuple(_rows(a, picked) for a in data), key)
    except JaxnnError:
        for r in picked:  # locate the row the model refuses
            try:
                loss_fn(params, tuple(_rows(a, [r]) for a in data), key)
            except JaxnnError as e:
                raise type(e)(f"{name} row {r} ({', '.join(rows[r])}): {e}") from e
        raise
    except Exception:  # noqa: BLE001 - a loss that needs the real batch (a fixed B, a mesh):
        pass  # not a verdict on the data; tracing the step with the real batch decides
    return n


def _rows(a: Any, rows: list[int]) -> Any:
    return a[np.asarray(rows)] if len(rows) > 1 else a[rows[0]:rows[0] + 1]


def check_params(params: Any, name: str = "params") -> None:
    """Raise :class:`JaxnnError` unless every leaf of ``params`` is a finite floating array
    (the gradient is taken with respect to every leaf); the message names the first bad leaf.
    """
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    if not leaves:
        raise JaxnnError(f"{name} has no arrays to train; got {params!r:.60}")
    for path, v in leaves:
        dt = _dtype(v)
        if not jnp.issubdtype(dt, jnp.inexact):
            raise JaxnnError(f"{name}{_path_str(path)} has dtype {dt}: parameters must be "
                             "floating arrays (their gradient is taken)")
    bad = first_nonfinite_leaf(params, name)
    if bad is not None:
        raise JaxnnError(f"{bad} holds NaN or inf before training")


def check_key(key: Any, name: str = "key") -> None:
    """Raise :class:`JaxnnError` unless ``key`` is a ``jax.random`` key (typed, or a raw
    uint32 (2,) array as ``jax.random.PRNGKey`` makes); ``None`` and ints are refused."""
    if key is not None and hasattr(key, "dtype"):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            if np.shape(key) == ():
                return
        elif np.dtype(key.dtype) == np.uint32 and np.shape(key) == (2,):
            return
    hint = (f" (e.g. {name}=jax.random.key({key}))" if isinstance(key, (int, np.integer))
            and not isinstance(key, bool) else f" (e.g. {name}=jax.random.key(0))")
    got = (f"{type(key).__name__} {key!r:.40}" if not hasattr(key, "dtype")
           else f"an array of shape {np.shape(key)} and dtype {key.dtype}")
    raise JaxnnError(f"{name} must be one jax.random key{hint}; got {got}")


def check_opt_state(optimizer: Any, params: Any, opt_state: Any) -> None:
    """Raise unless ``opt_state`` has the structure and shapes of ``optimizer.init(params)``.

    Works on concrete arrays and on tracers alike (only shapes are compared), so a step runs
    it once per compilation, at trace time.
    """
    shapes = jax.tree.map(lambda v: jax.ShapeDtypeStruct(np.shape(v), v.dtype), params)
    try:
        want = jax.eval_shape(optimizer.init, shapes)
    except Exception:  # an optimizer whose init cannot be traced abstractly: no check
        return
    check_tree(opt_state, want, "opt_state",
               what="an optimizer state built for other parameters? optimizer.init(params) "
                    "gives the expected one")


def leaf_names(tree: Any, root: str = "params") -> list[str]:
    """``root[...]`` names of the leaves of ``tree``, in ``jax.tree.leaves`` order."""
    return [root + _path_str(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]


@jax.jit
def _finite_leaves(tree: Any) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(v)) for v in jax.tree.leaves(tree)
              if jnp.issubdtype(v.dtype, jnp.inexact)]
    return jnp.stack(leaves) if leaves else jnp.ones((0,), bool)


def first_nonfinite_leaf(tree: Any, root: str = "params") -> str | None:
    """The name of the first leaf of ``tree`` holding NaN/inf, or None (one jitted reduction)."""
    flags = np.asarray(_finite_leaves(tree))
    if flags.all():
        return None
    names = [n for n, v in zip(leaf_names(tree, root), jax.tree.leaves(tree))
             if jnp.issubdtype(v.dtype, jnp.inexact)]
    return names[int(np.argmin(flags))]
