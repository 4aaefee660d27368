"""Full-batch gradient descent as the training engine: every step sees the whole set.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 61–62 (batch gradient descent) and eq 81 with the
sign corrected (the slides add the gradient): ``w ← w − λ ∇R(w)``. The linear models of the
regression chapter, the SVM neuron and any small full-batch problem train with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import optax

from jaxnn.errors import JaxnnError, check_positive
from jaxnn.train.engine import make_runner
from jaxnn.train.step import make_train_step
from jaxnn.train.validate import check_training_data

Array = jax.Array
Params = Any
Batch = Any


class GDResult(NamedTuple):
    """What :func:`gradient_descent` returns.

    Attributes:
        params: the final parameters (the structure and shapes of the start ``params``).
        losses: (steps,) the loss *before* each update.
        trace: ``record(params)`` after each update, stacked on a leading (steps,) axis; or
            None without ``record``.
    """

    params: Params
    losses: Array
    trace: Any


def gradient_descent(loss_fn: Callable[[Params, Batch], Array], params: Params, batch: Batch, *,
                     steps: int, learning_rate: float | None = None,
                     optimizer: optax.GradientTransformation | None = None,
                     record: Callable[[Params], Any] | None = None) -> GDResult:
    """Full-batch gradient descent w ← w − λ ∇R(w) (eq 81 with the sign corrected): the
    training engine's jitted ``lax.scan`` (:func:`jaxnn.train.engine.make_runner`) with every
    step on the whole set.

    Args:
        loss_fn: ``loss_fn(params, batch) -> ()`` scalar (e.g.
            ``functools.partial(jaxnn.models.linear.loss, config=c)``).
        params: start pytree (e.g. :func:`jaxnn.models.linear.init`'s zeros).
        batch: ``(x, y)`` arrays, the whole training set (e.g. x (N, d), y (N,)).
        steps: int ≥ 1, number of updates.
        learning_rate: λ > 0 for plain ``optax.sgd``; or give ``optimizer`` instead.
        optimizer: any ``optax.GradientTransformation`` (e.g. ``jaxnn.optim.sgd``).
        record: optional ``params -> pytree`` evaluated after every update (e.g. the weights).

    Returns:
        :class:`GDResult` ``(params, losses (steps,), trace)``.

    Raises:
        JaxnnError: ``steps`` < 1, a non-positive ``learning_rate``, not exactly one of
            ``learning_rate`` and ``optimizer``, an empty or non-finite ``batch`` (the first
            bad index named), or whatever the model's loss refuses on it.
    """
    check_positive(steps, "steps")
    if (learning_rate is None) == (optimizer is None):
        raise JaxnnError("give exactly one of learning_rate and optimizer")
    if optimizer is None:
        check_positive(learning_rate, "learning_rate")
        optimizer = optax.sgd(learning_rate)
    if isinstance(batch, (tuple, list)):  # finite, non-empty arrays sharing N
        check_training_data(batch, "batch")
    loss_fn(params, batch)  # the model's own checks, eagerly on the whole set, before tracing
    train = make_train_step(lambda p, b, _key: loss_fn(p, b), optimizer, jit=False)

    def step(p, state, b, key):
        p, state, value, _ = train(p, state, b, key)
        return p, state, value, None if record is None else record(p)

    run = make_runner(step, lambda data, i, _key: data, int(steps), keep_aux=record is not None)
    out = run(params, optimizer.init(params), batch)
    return GDResult(out.params, out.losses, out.aux)
