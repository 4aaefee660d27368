"""Learning-rate decay when the validation score stops improving.

A run that evaluates on a validation split every so often lowers its step size when an
evaluation fails to beat the best so far ("reduce on plateau"; the schedule Zaremba, Sutskever
& Vinyals 2014 and most recurrent language models use, and PyTorch's ``ReduceLROnPlateau``).
The decision is made outside the jitted steps, between evaluations, so it must reach the
optimizer through its *state*, not through a new optimizer (which would retrace the step):

    opt = optax.chain(optax.clip_by_global_norm(5.0), optax.adam(2e-3), scale_by_plateau())
    state = opt.init(params)
    ...                                   # train, evaluate
    if not improved:
        state = decay(state, 0.5)          # every later update is half as long

:func:`scale_by_plateau` multiplies every update by a scalar its state holds (1 at the start);
for any rule whose update is linear in its learning rate (SGD, momentum, Adam, RMSProp) that is
the learning rate times the scale. Put it last in the chain. :func:`decay` multiplies the
scale in a state by a factor and returns the new state; :func:`scale` reads it back. The scale
is a float32 leaf of the state, so it is checkpointed and restored with it.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxnn.errors import JaxnnError

__all__ = ["ScaleState", "scale_by_plateau", "decay", "scale", "check_factor",
           "check_threshold", "after_evaluation"]


class ScaleState(NamedTuple):
    """State of :func:`scale_by_plateau`: ``scale``, a () float32 array (1 at init)."""

    scale: jax.Array


def scale_by_plateau() -> optax.GradientTransformation:
    """Multiply every update by the scale held in the state (1 until :func:`decay` lowers it).

    Returns:
        a ``GradientTransformation``; ``update(updates, state, params=None)`` returns updates
        with the pytree, shapes and dtypes of ``updates``, each leaf times the scale.
    """

    def init(params):
        del params
        return ScaleState(jnp.ones((), jnp.float32))

    def update(updates, state, params=None):
        del params
        return jax.tree.map(lambda u: u * state.scale.astype(u.dtype), updates), state

    return optax.GradientTransformation(init, update)


def _is_scale(x: Any) -> bool:
    return isinstance(x, ScaleState)


def _scales(opt_state: Any) -> list[ScaleState]:
    return [x for x in jax.tree.leaves(opt_state, is_leaf=_is_scale) if _is_scale(x)]


def check_factor(factor: Any, name: str = "plateau decay factor") -> float:
    """``factor`` as a float if it is a finite number in (0, 1] (1: the rate stays constant).

    Raises:
        JaxnnError: anything else (bools and strings included), naming ``name`` and the value.
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) \
            or not math.isfinite(factor) or not 0.0 < factor <= 1.0:
        raise JaxnnError(f"{name} must be a float in (0, 1] (1: a constant rate); "
                         f"got {factor!r}")
    return float(factor)


def check_threshold(threshold: Any, name: str = "plateau threshold") -> float:
    """``threshold`` as a float if it is a number in [0, 1) (0: any improvement counts).

    Raises:
        JaxnnError: anything else (bools and strings included), naming ``name`` and the value.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
            or not 0.0 <= threshold < 1.0:
        raise JaxnnError(f"{name} must be a float in [0, 1); got {threshold!r}")
    return float(threshold)


def after_evaluation(opt_state: Any, value: float, best: float, factor: float,
                     threshold: float = 0.0) -> Any:
    """The optimizer state after an evaluation scored ``value`` (lower is better).

    Decays the scale by ``factor`` (:func:`decay`) unless ``value`` beats ``best``, the best
    score before this evaluation, by more than the relative ``threshold``:
    ``value < best · (1 − threshold)`` (PyTorch's ``ReduceLROnPlateau`` in its relative mode).
    A NaN value counts as no improvement; ``factor`` 1 leaves the state as it is.
    """
    if value < best * (1.0 - threshold) or factor == 1.0:
        return opt_state
    return decay(opt_state, factor)


def decay(opt_state: Any, factor: float) -> Any:
    """The optimizer state with every :func:`scale_by_plateau` scale multiplied by ``factor``.

    Args:
        opt_state: the state of a chain that contains :func:`scale_by_plateau`.
        factor: a finite float in (0, 1] (1 leaves the state as it is).

    Returns:
        a state of the same structure.

    Raises:
        JaxnnError: ``factor`` outside (0, 1]; a state with no :func:`scale_by_plateau` in it.
    """
    factor = check_factor(factor)
    if not _scales(opt_state):
        raise JaxnnError("decay needs an optimizer state with scale_by_plateau() in its chain; "
                         "found none")
    return jax.tree.map(
        lambda x: ScaleState(x.scale * jnp.float32(factor)) if _is_scale(x) else x,
        opt_state, is_leaf=_is_scale)


def scale(opt_state: Any) -> float:
    """The current scale of the (first) :func:`scale_by_plateau` in ``opt_state``.

    Raises:
        JaxnnError: no :func:`scale_by_plateau` in the state.
    """
    found = _scales(opt_state)
    if not found:
        raise JaxnnError("no scale_by_plateau() state in this optimizer state")
    return float(found[0].scale)
