"""The jitted train step, built once and reused for every step (no retracing).

One step of gradient descent on the mean data loss, turned into an update by any optax
chain (Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 61–69). Regularisation and clipping are
links of that chain, not options of the step: the structural risk of eq 125 (data loss +
½λ‖W‖²) has gradient ∇loss + λW, which is exactly what ``jaxnn.optim.l2(λ, mask)`` adds::

    opt = optax.chain(jaxnn.optim.l2(1e-4, mask=jaxnn.optim.mask_leaves(
                          params, lambda path, w: w.ndim >= 2)),
                      optax.clip_by_global_norm(1.0), jaxnn.optim.momentum(0.1))
    step = make_train_step(loss_fn, opt)
    params, opt_state, loss, aux = step(params, opt_state, (x, y), key)

``loss_fn(params, batch, key)`` returns the mean data loss over the batch (or ``(loss, aux)``
with ``has_aux=True``); ``key`` is a fresh PRNG key for this step (dropout) — the training loop
derives it from its own key, so runs are reproducible. A two-argument ``loss_fn(params, batch)``
is accepted too (see :func:`as_keyed`).

The returned step is a ``jax.jit`` function whose Python body runs once per distinct input
shape/dtype: calling it every step with same-shaped batches never retraces (tested with
``chex.assert_max_traces``). It may also be called inside another ``jit`` or ``lax.scan`` —
:mod:`jaxnn.train.engine` scans it over many steps.

Checks (the table of :mod:`jaxnn.train.validate`): at trace time, the optimizer state must
have the structure and shapes of ``optimizer.init(params)`` (else a
:class:`jaxnn.errors.JaxnnError` that says it was built for other parameters). The first
call with concrete arrays validates its batch once, on the host (finite floats, B > 0, and an
eager call of ``loss_fn`` on the rows with each integer array's extremes, so the model's label
and shape checks run); later calls go straight to the compiled step. ``checks=True`` wraps the
step in ``jax.experimental.checkify`` and checks every call (see :func:`add_checks`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.experimental import checkify

from jaxnn.errors import JaxnnError, _path_str
from jaxnn.train import parallel
from jaxnn.train.engine import StepFn
from jaxnn.train.validate import check_opt_state, check_training_data

Array = jax.Array
__all__ = ["StepFn", "add_checks", "as_keyed", "make_train_step", "raise_checks"]

#: what ``checks=True`` lets checkify report: the explicit checks of :func:`add_checks` (no
#: blanket NaN check: a NaN that a ``where`` discards is legitimate; no ``index_checks``: they
#: fail on the scatter in a gather's gradient, jax 0.10). A label ≥ C gives a NaN loss (the
#: gather fills), which the loss check reports; a label −1 wraps and only the eager check
#: before the run sees it.
CHECKIFY_ERRORS = checkify.user_checks


def as_keyed(loss_fn: Callable[..., Any]) -> Callable[[Any, Any, Any], Any]:
    """Return ``loss_fn`` as a three-argument ``(params, batch, key)`` function.

    Functions whose signature has only two positional parameters (``loss(params, batch)``, the
    models' contract) are wrapped to ignore the key; anything else is returned unchanged.

    Args:
        loss_fn: ``(params, batch[, key]) -> loss`` or ``(loss, aux)``.

    Returns:
        ``(params, batch, key) -> ...``.
    """
    try:
        sig = inspect.signature(loss_fn)
    except (TypeError, ValueError):
        return loss_fn
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = list(sig.parameters.values())
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in params):
        return loss_fn
    positional = [p for p in params if p.kind in kinds]
    if len(positional) == 2:
        return lambda p, batch, key: loss_fn(p, batch)
    return loss_fn


def _finite_checks(tree: Any, root: str, when: str) -> None:
    for path, v in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if hasattr(v, "dtype") and jnp.issubdtype(v.dtype, jnp.inexact):
            checkify.check(jnp.all(jnp.isfinite(v)), f"{root}{_path_str(path)} holds NaN/inf {when}")


def add_checks(step: StepFn) -> StepFn:
    """``step`` with ``jax.experimental.checkify`` checks: every float leaf of the batch is
    finite, the loss is finite, every float leaf of the params after the update is finite.

    The checks are functional only under ``checkify.checkify`` (:func:`raise_checks`); the
    returned step computes the same numbers as ``step``.

    Args:
        step: ``(params, opt_state, batch, key) -> (params, opt_state, loss, aux)``.

    Returns:
        a step of the same signature.
    """

    def checked(params, opt_state, batch, key):
        _finite_checks(batch, "batch", "(the data)")
        params, opt_state, loss, aux = step(params, opt_state, batch, key)
        checkify.check(jnp.isfinite(loss), "the loss is NaN/inf")
        _finite_checks(params, "params", "after the update")
        return params, opt_state, loss, aux

    return checked


def raise_checks(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` run under ``checkify.checkify`` (jitted); a failed check raises
    :class:`jaxnn.errors.JaxnnError` with checkify's message after the call returns.

    Args:
        fn: a traceable function whose checks are ``checkify.check`` calls (:func:`add_checks`).

    Returns:
        a function with ``fn``'s signature and outputs.
    """
    checked = jax.jit(checkify.checkify(fn, errors=CHECKIFY_ERRORS))

    def run(*args):
        err, out = checked(*args)
        msg = err.get()
        if msg is not None:
            raise JaxnnError(f"check failed inside the step (checks=True): {msg}")
        return out

    return run


class _FirstCallChecked:
    """A jitted step that validates the batch of its first concrete call (then gets out of the
    way: one flag test per call). Attribute access (``lower``, ``trace``, …) goes to the jitted
    function."""

    def __init__(self, fn, keyed):
        self._fn, self._keyed, self._pending = fn, keyed, True

    def __call__(self, params, opt_state, batch, key):
        if self._pending and not any(isinstance(v, jax.core.Tracer)
                                     for v in jax.tree.leaves((params, batch))):
            if isinstance(batch, (tuple, list)):
                check_training_data(batch, "batch", loss_fn=self._keyed, params=params,
                                    key=key)
            self._pending = False
        return self._fn(params, opt_state, batch, key)

    def __getattr__(self, name):
        return getattr(self._fn, name)


def check_callables(loss_fn: Any, optimizer: Any) -> None:
    """Raise unless ``loss_fn`` is callable and ``optimizer`` an optax transformation."""
    if not callable(loss_fn):
        raise JaxnnError(f"loss_fn must be a function loss_fn(params, batch[, key]); got "
                         f"{loss_fn!r:.60}")
    if not (callable(getattr(optimizer, "init", None))
            and callable(getattr(optimizer, "update", None))):
        raise JaxnnError(f"optimizer must be an optax.GradientTransformation (e.g. "
                         f"optax.sgd(0.1)); got {optimizer!r:.60}")


def make_train_step(loss_fn: Callable[..., Any], optimizer: optax.GradientTransformation, *,
                    has_aux: bool = False, jit: bool = True, donate: bool = False,
                    mesh: Any = None, checks: bool = False) -> StepFn:
    """Build the train step ``step(params, opt_state, batch, key)``.

    The gradient of the data loss goes through ``optimizer`` (weight decay, clipping and the
    update rule are links of that chain; its state is exactly ``optimizer.init(params)``) and
    the update is added to the parameters.

    Args:
        loss_fn: ``(params, batch, key) -> scalar`` (mean loss over the batch) or
            ``(scalar, aux)`` with ``has_aux=True``; two-argument functions are accepted.
        optimizer: any ``optax.GradientTransformation`` (e.g. ``jaxnn.optim.momentum``, or an
            ``optax.chain`` with ``jaxnn.optim.l2`` and ``optax.clip_by_global_norm``).
        has_aux: ``loss_fn`` returns ``(loss, aux)``; aux is passed through.
        jit: compile with ``jax.jit`` (default). ``False`` returns the plain function, e.g. to
            be wrapped by a sharded ``jit`` (``jaxnn.train.parallel``).
        donate: donate ``params`` and ``opt_state`` buffers to the step (saves memory on
            GPU/TPU; the inputs become invalid after the call).
        mesh: a ``jax.sharding.Mesh`` to run the step data-parallel on (batch split over the
            ``"data"`` axis, state replicated; :func:`jaxnn.train.parallel.constrain_step`).
            Default: the mesh of an enclosing ``jaxnn.train.parallel.data_parallel()`` block,
            else none (single device). This is the one place where steps become sharded, so
            ``fit`` and every experiment run data-parallel unchanged inside that block.
        checks: run every call under ``jax.experimental.checkify`` (:func:`add_checks`): a
            NaN/inf in the batch, the loss or the updated params raises
            :class:`jaxnn.errors.JaxnnError` naming the leaf; each call then waits for the device (one sync per step). Needs ``jit=True``.

    Returns:
        ``step(params, opt_state, batch, key) -> (params, opt_state, loss, aux)``: new params
        and optimizer state (same pytrees), the scalar data loss of this batch before the
        update, and ``aux`` (``None`` without ``has_aux``).

    Raises:
        JaxnnError: (at the first call) an optimizer state built for other parameters, a
            batch with NaN/inf or B = 0, labels the model refuses; ``checks=True`` with
            ``jit=False``.
    """
    check_callables(loss_fn, optimizer)
    if checks and not jit:
        raise JaxnnError("checks=True needs jit=True (checkify wraps the compiled step); for "
                         "a step to put inside your own jit, use add_checks and raise_checks")
    keyed = as_keyed(loss_fn)

    def objective(params, batch, key):
        out = keyed(params, batch, key)
        loss, aux = out if has_aux else (out, None)
        return loss, aux

    grad_fn = jax.value_and_grad(objective, has_aux=True)

    def step(params, opt_state, batch, key):
        check_opt_state(optimizer, params, opt_state)  # shapes only: once per trace
        (loss, aux), grads = grad_fn(params, batch, key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, loss, aux

    mesh = parallel.default_mesh() if mesh is None else mesh
    if mesh is not None:
        step = parallel.constrain_step(step, mesh)
    if not jit:
        return step
    if checks:
        return raise_checks(add_checks(step))
    return _FirstCallChecked(jax.jit(step, donate_argnums=(0, 1) if donate else ()), keyed)
