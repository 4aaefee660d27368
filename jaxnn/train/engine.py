"""The one training engine: a jitted ``lax.scan`` of a train step over ``n_steps`` steps.

Every training loop of jaxnn is this scan with a different way of feeding it:

- :func:`jaxnn.train.fit`: an epoch is one scan whose step ``i`` gathers row ``i`` of a
  shuffled index matrix (N // B, B) (:func:`make_epoch_fn`);
- :func:`jaxnn.train.gradient_descent`: every step sees the whole training set
  (batch gradient descent, Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 61–62);
- the recurrent experiments: every step draws a fresh synthetic batch from its own key.

Step ``i`` gets its batch from ``batch_fn(data, i, batch_key_i)`` and calls
``step(params, opt_state, batch, step_key_i)``; a *key schedule* ``step_keys(key, n_steps)``
says how the run's key becomes the per-step pair (:func:`fold_in_keys`, :func:`split_keys`).
The data stay on the device and are passed to the jitted run as an argument (never baked into
the compiled program as constants), so one compilation serves every call with same-shaped data.

The runner checks no values (inside its scan every array is traced): its callers validate the
data once, eagerly, before building it — :func:`jaxnn.train.fit` and
:func:`jaxnn.train.gradient_descent` through :mod:`jaxnn.train.validate`, which also lists
the checks that run inside the step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxnn.data.batching import epoch_indices, take
from jaxnn.errors import JaxnnError

Array = jax.Array
#: ``step(params, opt_state, batch, key) -> (params, opt_state, loss, aux)``
StepFn = Callable[[Any, Any, Any, Any], tuple[Any, Any, Array, Any]]
#: ``batch_fn(data, i, batch_key) -> batch`` (``i`` an int32 scalar, the step number)
BatchFn = Callable[[Any, Array, Any], Any]
#: ``step_keys(key, n_steps) -> (batch_keys, step_keys)``, each (n_steps,) keys or ``None``
StepKeys = Callable[[Any, int], tuple[Any, Any]]


class RunOutput(NamedTuple):
    """What a runner returns.

    Attributes:
        params: parameters after the last step.
        opt_state: optimizer state after the last step.
        losses: float array (n_steps,), each step's loss *before* its update.
        aux: the steps' ``aux`` stacked on a leading (n_steps,) axis (``keep_aux=True``),
            else ``None``.
    """

    params: Any
    opt_state: Any
    losses: Array
    aux: Any


def fold_in_keys(key: Any, n_steps: int) -> tuple[None, Any]:
    """Key schedule of :func:`jaxnn.train.fit`: no batch keys; step ``i`` gets
    ``fold_in(key, i)``.

    Args:
        key: ``jax.random`` key (typed or raw), or ``None`` (no keys at all).
        n_steps: number of steps.

    Returns:
        ``(None, keys)`` with keys (n_steps,) (``(None, None)`` for ``key=None``).
    """
    if key is None:
        return None, None
    return None, jax.vmap(lambda i: jax.random.fold_in(key, i))(
        jnp.arange(n_steps, dtype=jnp.int32))


def split_keys(key: Any, n_steps: int) -> tuple[Any, Any]:
    """Key schedule of the recurrent experiments: ``k_i = split(key, n_steps)[i]``, and
    ``(batch_key_i, step_key_i) = split(k_i)``.

    Args:
        key: ``jax.random`` key (typed or raw).
        n_steps: number of steps.

    Returns:
        ``(batch_keys, step_keys)``, each (n_steps,) keys.
    """
    pairs = jax.vmap(jax.random.split)(jax.random.split(key, n_steps))
    return pairs[:, 0], pairs[:, 1]


def _check_steps(n_steps: Any) -> int:
    if not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool) or n_steps < 1:
        raise JaxnnError(f"n_steps must be a positive integer; got {n_steps!r}")
    return int(n_steps)


def make_runner(step: StepFn, batch_fn: BatchFn, n_steps: int, *,
                step_keys: StepKeys = fold_in_keys, keep_aux: bool = False,
                jit: bool = True) -> Callable[..., RunOutput]:
    """Build ``run(params, opt_state, data, key=None) -> RunOutput``: ``n_steps`` train steps
    as one ``lax.scan``.

    Args:
        step: ``(params, opt_state, batch, key) -> (params, opt_state, loss, aux)``, e.g.
            :func:`jaxnn.train.make_train_step` (jitted or not: inside the scan it is traced
            once).
        batch_fn: ``(data, i, batch_key) -> batch`` for step ``i`` (an int32 scalar;
            ``batch_key`` is ``None`` when the key schedule gives none).
        n_steps: number of steps per call, ≥ 1.
        step_keys: key schedule ``(key, n_steps) -> (batch_keys, step_keys)``; with
            ``key=None`` the run passes ``None`` for both keys.
        keep_aux: stack and return the steps' ``aux`` (else it is dropped, saving memory).
        jit: compile ``run`` with ``jax.jit`` (``False`` to call it inside another jit).

    Returns:
        ``run(params, opt_state, data, key=None)``: ``data`` is any pytree (passed to
        ``batch_fn``), ``key`` the run's PRNG key; returns :class:`RunOutput` with
        ``losses`` (n_steps,).

    Raises:
        JaxnnError: ``n_steps`` not a positive integer.
    """
    n_steps = _check_steps(n_steps)

    def run(params, opt_state, data, key=None):
        batch_keys, keys = (None, None) if key is None else step_keys(key, n_steps)

        def body(carry, xs):
            i, kb, ks = xs
            p, s, loss, aux = step(*carry, batch_fn(data, i, kb), ks)
            return (p, s), (loss, aux if keep_aux else None)

        xs = (jnp.arange(n_steps, dtype=jnp.int32), batch_keys, keys)
        (params, opt_state), (losses, aux) = lax.scan(body, (params, opt_state), xs)
        return RunOutput(params, opt_state, losses, aux)

    return jax.jit(run) if jit else run


def _with_finite_flags(step: StepFn) -> StepFn:
    """``step`` whose aux is (n_leaves,) bools: is each float leaf of the new params finite."""

    def flagged(params, opt_state, batch, key):
        params, opt_state, loss, _ = step(params, opt_state, batch, key)
        flags = [jnp.all(jnp.isfinite(v)) for v in jax.tree.leaves(params)
                 if jnp.issubdtype(v.dtype, jnp.inexact)]
        return params, opt_state, loss, jnp.stack(flags) if flags else jnp.ones((0,), bool)

    return flagged


def make_epoch_fn(step: StepFn, n: int, batch_size: int, *, finite_flags: bool = False
                  ) -> Callable[[Any, Any, Any, Array], tuple[Any, Any, Array]]:
    """One jitted epoch of (mini-)batch steps over a data tuple of N samples.

    The epoch key is split into a permutation key and a step key; the permutation is cut
    into the index matrix (N // B, B) (:func:`jaxnn.data.batching.epoch_indices`; the last
    partial batch is dropped), step ``i`` gathers row ``i`` and gets key
    ``fold_in(step_key, i)``. B = N runs one full-batch step in the natural order.

    Args:
        step: train step ``(params, opt_state, batch, key) -> (params, opt_state, loss, aux)``.
        n: number of samples N.
        batch_size: B, 1 ≤ B ≤ N.
        finite_flags: also return ``flags`` (N // B, n_leaves): after step i, is each float
            leaf of the params finite (how ``fit`` finds the step that broke a run: a replay
            of one epoch, never the hot loop).

    Returns:
        ``epoch(params, opt_state, data, key) -> (params, opt_state, losses)`` with ``data``
        a tuple of arrays (N, ...) and ``losses`` (N // B,) (``(..., losses, flags)`` with
        ``finite_flags``).
    """
    full = batch_size == n
    if finite_flags:
        step = _with_finite_flags(step)

    def batch_fn(d, i, _):
        arrays, idx = d
        return tuple(arrays) if full else take(arrays, idx[i])

    run = make_runner(step, batch_fn, n // batch_size, step_keys=fold_in_keys,
                      keep_aux=finite_flags, jit=False)

    @jax.jit
    def epoch(params, opt_state, data, key):
        perm_key, step_key = jax.random.split(key)
        idx = epoch_indices(None if full else perm_key, n, batch_size)
        out = run(params, opt_state, (tuple(data), idx), step_key)
        if finite_flags:
            return out.params, out.opt_state, out.losses, out.aux
        return out.params, out.opt_state, out.losses

    return epoch
