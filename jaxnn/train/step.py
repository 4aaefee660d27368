"""The jitted train step, built once and reused for every step (no retracing).

One step of gradient descent on the structural risk of Qiu Xipeng, 《神经网络与深度学习》
(2015), eq 125 (data loss + ½λ‖W‖²), followed by any optax update rule (eq 61–69)::

    step = make_train_step(loss_fn, optimizer, l2=1e-4, clip_norm=1.0)
    params, opt_state, loss, aux = step(params, opt_state, (x, y), key)

``loss_fn(params, batch, key)`` returns the mean data loss over the batch (or ``(loss, aux)``
with ``has_aux=True``); ``key`` is a fresh PRNG key for this step (dropout) — the training loop
derives it from its own key, so runs are reproducible. A two-argument ``loss_fn(params, batch)``
is accepted too (see :func:`as_keyed`).

The returned step is a ``jax.jit`` function whose Python body runs once per distinct input
shape/dtype: calling it every step with same-shaped batches never retraces (tested with
``chex.assert_max_traces``). It may also be called inside another ``jit`` or ``lax.scan`` —
:func:`jaxnn.train.loop.fit` scans it over a whole epoch.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import optax

from jaxnn.errors import check_positive
from jaxnn.nn.losses import l1_penalty, l2_penalty
from jaxnn.train import parallel

Array = jax.Array
StepFn = Callable[[Any, Any, Any, Any], tuple[Any, Any, Array, Any]]


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


def regularized(loss_fn: Callable[..., Any], *, has_aux: bool = False, l2: float = 0.0,
                l1: float = 0.0) -> Callable[[Any, Any, Any], tuple[Array, tuple[Array, Any]]]:
    """Objective J = loss + l2·½Σ‖W‖² + l1·Σ|W| (weights only, not biases; eq 49–50, 125).

    Args:
        loss_fn: ``(params, batch, key) -> loss`` or ``(loss, aux)`` (``has_aux=True``).
        has_aux: whether ``loss_fn`` returns ``(loss, aux)``.
        l2: λ of the ½λ‖W‖² penalty, ≥ 0 (``jaxnn.nn.losses.l2_penalty``).
        l1: coefficient of the Σ|W| penalty, ≥ 0.

    Returns:
        ``(params, batch, key) -> (J, (data_loss, aux))`` with scalar J and data_loss;
        ``aux`` is ``None`` without ``has_aux``.
    """
    check_positive(l2, "l2", strict=False)
    check_positive(l1, "l1", strict=False)
    keyed = as_keyed(loss_fn)

    def objective(params, batch, key):
        out = keyed(params, batch, key)
        loss, aux = out if has_aux else (out, None)
        total = loss
        if l2:
            total = total + l2 * l2_penalty(params)
        if l1:
            total = total + l1 * l1_penalty(params)
        return total, (loss, aux)

    return objective


def make_train_step(loss_fn: Callable[..., Any], optimizer: optax.GradientTransformation, *,
                    has_aux: bool = False, clip_norm: float | None = None, l2: float = 0.0,
                    l1: float = 0.0, jit: bool = True, donate: bool = False,
                    mesh: Any = None) -> StepFn:
    """Build the train step ``step(params, opt_state, batch, key)``.

    The gradient is taken of the regularized objective (see :func:`regularized`), optionally
    clipped to global norm ``clip_norm`` (``optax.clip_by_global_norm``; the clipping is applied
    before ``optimizer``, whose state is exactly ``optimizer.init(params)``), and
    ``optimizer`` turns it into the update.

    Args:
        loss_fn: ``(params, batch, key) -> scalar`` (mean loss over the batch) or
            ``(scalar, aux)`` with ``has_aux=True``; two-argument functions are accepted.
        optimizer: any ``optax.GradientTransformation`` (e.g. ``jaxnn.optim.momentum``).
        has_aux: ``loss_fn`` returns ``(loss, aux)``; aux is passed through.
        clip_norm: clip the gradient to this global L2 norm (> 0), or ``None``.
        l2: λ of ½λΣ‖W‖² added to the objective (weights only), ≥ 0.
        l1: coefficient of Σ|W| added to the objective, ≥ 0.
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
        and optimizer state (same pytrees), the scalar *data* loss of this batch before the
        update (without the penalty), and ``aux`` (``None`` without ``has_aux``).

    Raises:
        JaxnnError: negative ``l2``/``l1`` or non-positive ``clip_norm``.
    """
    objective = regularized(loss_fn, has_aux=has_aux, l2=l2, l1=l1)
    clip = None
    if clip_norm is not None:
        check_positive(clip_norm, "clip_norm")
        clip = optax.clip_by_global_norm(float(clip_norm))
    grad_fn = jax.value_and_grad(objective, has_aux=True)

    def step(params, opt_state, batch, key):
        (_, (loss, aux)), grads = grad_fn(params, batch, key)
        if clip is not None:
            grads, _ = clip.update(grads, clip.init(params))
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, loss, aux

    mesh = parallel.default_mesh() if mesh is None else mesh
    if mesh is not None:
        step = parallel.constrain_step(step, mesh)
    if not jit:
        return step
    return jax.jit(step, donate_argnums=(0, 1) if donate else ())
