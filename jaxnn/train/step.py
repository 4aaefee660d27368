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
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import optax

from jaxnn.train import parallel
from jaxnn.train.engine import StepFn

Array = jax.Array
__all__ = ["StepFn", "as_keyed", "make_train_step"]


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


def make_train_step(loss_fn: Callable[..., Any], optimizer: optax.GradientTransformation, *,
                    has_aux: bool = False, jit: bool = True, donate: bool = False,
                    mesh: Any = None) -> StepFn:
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

    Returns:
        ``step(params, opt_state, batch, key) -> (params, opt_state, loss, aux)``: new params
        and optimizer state (same pytrees), the scalar data loss of this batch before the
        update, and ``aux`` (``None`` without ``has_aux``).
    """
    keyed = as_keyed(loss_fn)

    def objective(params, batch, key):
        out = keyed(params, batch, key)
        loss, aux = out if has_aux else (out, None)
        return loss, aux

    grad_fn = jax.value_and_grad(objective, has_aux=True)

    def step(params, opt_state, batch, key):
        (loss, aux), grads = grad_fn(params, batch, key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, loss, aux

    mesh = parallel.default_mesh() if mesh is None else mesh
    if mesh is not None:
        step = parallel.constrain_step(step, mesh)
    if not jit:
        return step
    return jax.jit(step, donate_argnums=(0, 1) if donate else ())
