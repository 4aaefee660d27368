"""Training helpers shared by the recurrent experiments (adding problem, sequential MNIST,
sunspots, gradient flow): fresh batches drawn inside a jitted ``lax.scan`` of train steps."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from jax import lax
from tqdm.auto import tqdm

from jaxnn.errors import check_choice
from jaxnn.nn.cells import NAMES
from jaxnn.train import make_train_step

CELLS = NAMES  # the built-in cells of jaxnn.nn.cells


def adam_schedule(lr: float, steps: int, schedule: str = "constant"):
    """Adam with a constant learning rate or one cosine-decayed to 0 over ``steps``."""
    check_choice(schedule, ("constant", "cosine"), "lr schedule")
    rate = optax.cosine_decay_schedule(lr, steps) if schedule == "cosine" else lr
    return optax.adam(rate)


def make_chunk_runner(loss_fn: Callable, sample: Callable, optimizer, chunk: int, *,
                      clip_norm: float | None = None) -> Callable:
    """A jitted ``run(params, opt_state, key, data) -> (params, opt_state, losses: (chunk,))``.

    Args:
        loss_fn: ``loss_fn(params, batch, key) -> scalar``.
        sample: ``sample(key, data) -> batch``: draws one training batch (fresh synthetic data,
            or random rows of the arrays in ``data``) inside the jitted loop.
        optimizer: optax transformation.
        chunk: training steps per call, run by ``lax.scan``.
        clip_norm: clip the global gradient norm to this value before the optimizer.
    """
    step = make_train_step(loss_fn, optimizer, clip_norm=clip_norm)

    @jax.jit
    def run(params, opt_state, key, data):
        def body(carry, k):
            p, s = carry
            kb, ks = jax.random.split(k)
            p, s, value, _ = step(p, s, sample(kb, data), ks)
            return (p, s), value

        (params, opt_state), values = lax.scan(body, (params, opt_state),
                                               jax.random.split(key, chunk))
        return params, opt_state, values

    return run


def train_chunks(run: Callable, params, opt_state, key, n_chunks: int, data=None, *,
                 desc: str = "") -> tuple:
    """Call ``run`` ``n_chunks`` times with fresh keys; return (params, opt_state, losses).

    ``losses`` is a list of the mean training loss of each chunk (a tqdm bar shows the last).
    """
    losses = []
    bar = tqdm(range(n_chunks), desc=desc, leave=False, mininterval=2.0)
    for _ in bar:
        key, k = jax.random.split(key)
        params, opt_state, values = run(params, opt_state, k, data)
        losses.append(float(jnp.mean(values)))
        bar.set_postfix(loss=f"{losses[-1]:.4g}")
        if not math.isfinite(losses[-1]):
            break
    return params, opt_state, losses
