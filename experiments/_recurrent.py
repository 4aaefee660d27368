"""Training helpers shared by the recurrent experiments (adding problem, sequential MNIST,
sunspots, gradient flow): fresh batches drawn inside a jitted ``lax.scan`` of train steps, and
the adding-problem trainer that both the adding-problem and the gradient-flow experiments use."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from jaxnn.train.progress import tqdm

from jaxnn.data import sequences
from jaxnn.errors import check_choice, check_positive
from jaxnn.models import sequence as model
from jaxnn.nn.cells import NAMES
from jaxnn.train import make_runner, make_train_step, split_keys

CELLS = NAMES  # the built-in cells of jaxnn.nn.cells


def adam_schedule(lr: float, steps: int, schedule: str = "constant", *,
                  clip_norm: float | None = None) -> optax.GradientTransformation:
    """Adam with a constant learning rate or one cosine-decayed to 0 over ``steps``, after
    clipping the gradient to global norm ``clip_norm`` (``optax.clip_by_global_norm``) if given.
    """
    check_choice(schedule, ("constant", "cosine"), "lr schedule")
    rate = optax.cosine_decay_schedule(lr, steps) if schedule == "cosine" else lr
    if clip_norm is None:
        return optax.adam(rate)
    check_positive(clip_norm, "clip_norm")
    return optax.chain(optax.clip_by_global_norm(float(clip_norm)), optax.adam(rate))


def make_chunk_runner(loss_fn: Callable, sample: Callable, optimizer, chunk: int) -> Callable:
    """A jitted ``run(params, opt_state, key, data) -> (params, opt_state, losses: (chunk,))``:
    the training engine (:func:`jaxnn.train.make_runner`) with a fresh batch every step.

    Step ``i`` of a call takes ``k_i = split(key, chunk)[i]`` and splits it into the batch key
    and the step key (:func:`jaxnn.train.split_keys`).

    Args:
        loss_fn: ``loss_fn(params, batch, key) -> scalar``.
        sample: ``sample(key, data) -> batch``: draws one training batch (fresh synthetic data,
            or random rows of the arrays in ``data``) inside the jitted loop.
        optimizer: optax transformation (clipping chained in, see :func:`adam_schedule`).
        chunk: training steps per call, run by ``lax.scan``.
    """
    engine_run = make_runner(make_train_step(loss_fn, optimizer),
                             lambda data, i, k: sample(k, data), chunk, step_keys=split_keys)

    def run(params, opt_state, key, data):
        out = engine_run(params, opt_state, data, key)
        return out.params, out.opt_state, out.losses

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


def adding_config(cell: str, T: int, config: dict) -> model.SequenceConfig:
    """The adding-problem model of ``cell`` at length ``T``: 2 inputs, ``config["hidden"]``
    units, one output, MSE; with ``config["chrono"]`` an LSTM gets the chrono initialisation for
    dependencies up to ``T`` steps (:class:`jaxnn.nn.cells.LSTM`)."""
    return model.SequenceConfig(cell, 2, config["hidden"], 1, task="mse",
                                chrono=T if config.get("chrono") else None)


def train_adding(cell: str, T: int, config: dict, key: jax.Array,
                 params: dict | None = None) -> tuple[dict, list[float]]:
    """Train ``cell`` on fresh adding-problem batches of length ``T``; return params, losses.

    ``config`` needs hidden, batch, lr, clip, steps, chunk, and may set ``chrono``
    (:func:`adding_config`); ``params`` (a
    :func:`jaxnn.models.sequence.init` dict) is the starting point, fresh from ``key`` if None.
    """
    k_init, k_train = jax.random.split(key)
    cfg = adding_config(cell, T, config)
    if params is None:
        params = model.init(k_init, cfg)
    B = config["batch"]

    def loss_fn(p, batch, _key):
        return model.loss(p, batch, config=cfg)

    opt = adam_schedule(config["lr"], config["steps"], clip_norm=config["clip"])
    run = make_chunk_runner(loss_fn, lambda k, _: sequences.adding_problem(k, B, T), opt,
                            config["chunk"])
    n_chunks = max(1, -(-config["steps"] // config["chunk"]))
    params, _, losses = train_chunks(run, params, opt.init(params), k_train, n_chunks,
                                     desc=f"{cell} T={T}")
    return params, losses
