"""MNIST MLP train step: jaxnn vs Flax NNX vs PyTorch (one process, interleaved, medians).

One step = forward, cross-entropy, backward, SGD with momentum 0.9, on a random (B, 784)
float32 batch with integer labels; parameters carried from step to step as in training.

Implementations:

- ``jaxnn``: :func:`jaxnn.train.make_train_step` over ``jaxnn.models.mlp.loss`` (ReLU hidden
  layers, the notes' W (n_out, n_in) orientation) with ``jaxnn.optim.momentum``, params and
  optimizer state donated to the step.
- ``flax-nnx.jit``: an ``nnx.Module`` of ``nnx.Linear`` layers, ``nnx.Optimizer`` and an
  ``nnx.jit`` step (the Flax tutorial's way).
- ``flax-split``: the same model, ``nnx.split`` once and ``nnx.merge`` inside a plain
  ``jax.jit`` step (Flax's recommended fast path).
- ``torch[1t]``, ``torch[2t]``: ``torch.nn.Sequential`` + ``torch.optim.SGD(momentum=0.9)`` at
  1 and at 2 intra-op threads (a peer only; the row says "missing" when torch is not
  installed). On an oversubscribed machine torch's two OpenMP threads spin-wait and one step of
  784-512-512-10 at B 128 took 226 ms instead of 20 ms (measured side by side, load ≈ 20), so
  both are reported; the flag column shows when the rounds disagree.

FLOPs per step (the GFLOP/s column): forward 2·B·P, weight gradients 2·B·P, input gradients
2·B·(P − P₁) (the first layer's input gradient is not needed), with P = Σ n_in·n_out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._timing import (block, compile_seconds, compare, missing_row, stat_rows,
                      torch_or_none, torch_threads)

LR, RHO = 0.01, 0.9
CONFIGS = (((784, 800, 10), 128), ((784, 512, 512, 10), 128), ((784, 800, 10), 1024),
           ((784, 512, 512, 10), 1024))
IMPLS = ("jaxnn", "flax-nnx.jit", "flax-split", "torch")


def step_flops(sizes: Sequence[int], batch: int) -> float:
    """FLOPs of one train step (see the module docstring)."""
    P = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 2.0 * batch * (3 * P - sizes[0] * sizes[1])


def _data(sizes, batch, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int32)
    return x, y


# --------------------------------------------------------------------------- jaxnn


def _jaxnn(sizes, batch) -> tuple[Callable[[], Any], float, str]:
    from jaxnn.models import mlp
    from jaxnn.optim import momentum
    from jaxnn.train import make_train_step

    opt = momentum(LR, RHO)
    config = mlp.MLPConfig(tuple(sizes), activation="relu")
    params = mlp.init(jax.random.key(0), config)
    state = [params, opt.init(params)]
    x, y = (jnp.asarray(a) for a in _data(sizes, batch))
    step = make_train_step(functools.partial(mlp.loss, config=config), opt, donate=True)
    key = jax.random.key(1)
    cs = compile_seconds(step, *state, (x, y), key)

    def run():
        state[0], state[1], loss_v, _ = step(state[0], state[1], (x, y), key)
        block(loss_v)

    return run, cs, "models.mlp"


# --------------------------------------------------------------------------- Flax NNX


def _flax_model(sizes):
    from flax import nnx

    class MLP(nnx.Module):
        def __init__(self, sizes, rngs):
            self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs)
                                    for a, b in zip(sizes[:-1], sizes[1:])])

        def __call__(self, x):
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if i < len(self.layers) - 1:
                    x = jax.nn.relu(x)
            return x

    model = MLP(sizes, nnx.Rngs(0))
    return model, nnx.Optimizer(model, optax.sgd(LR, momentum=RHO), wrt=nnx.Param)


def _ce(logits, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def _flax_nnx_jit(sizes, batch):
    from flax import nnx

    model, optimizer = _flax_model(sizes)
    x, y = (jnp.asarray(a) for a in _data(sizes, batch))

    @nnx.jit
    def step(model, optimizer, x, y):
        loss, grads = nnx.value_and_grad(lambda m: _ce(m(x), y))(model)
        optimizer.update(model, grads)
        return loss

    cs = _timed_first_call(lambda: block(step(model, optimizer, x, y)))
    return (lambda: block(step(model, optimizer, x, y))), cs, ""


def _flax_split(sizes, batch):
    from flax import nnx

    model, optimizer = _flax_model(sizes)
    graphdef, state = nnx.split((model, optimizer))
    x, y = (jnp.asarray(a) for a in _data(sizes, batch))

    @jax.jit
    def step(state, x, y):
        model, optimizer = nnx.merge(graphdef, state)
        loss, grads = nnx.value_and_grad(lambda m: _ce(m(x), y))(model)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), loss

    box = [state]
    cs = compile_seconds(step, state, x, y)

    def run():
        box[0], loss = step(box[0], x, y)
        block(loss)

    return run, cs, ""


# --------------------------------------------------------------------------- PyTorch


def _torch(sizes, batch):
    torch = torch_or_none()
    if torch is None:
        return None
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=RHO)
    xn, yn = _data(sizes, batch)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn.astype(np.int64))
    lossf = torch.nn.CrossEntropyLoss()

    def run():
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return run, None, f"{torch.__version__}"


def _timed_first_call(fn) -> float:
    import time

    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


BUILDERS = {"jaxnn": _jaxnn, "flax-nnx.jit": _flax_nnx_jit, "flax-split": _flax_split,
            "torch": _torch}


def bench_config(sizes: Sequence[int], batch: int, *, impls: Sequence[str] = IMPLS,
                 rounds: int = 7, per_round: int = 5) -> list[dict]:
    """Rows for one (sizes, batch): each implementation's median step time and GFLOP/s.

    The implementations are timed in interleaved rounds (A×k, B×k, … repeated), so load that
    drifts over time hits all of them alike; ratios are per round (``_timing.round_stats``).
    ``"torch"`` in ``impls`` stands for the two rows ``torch[1t]`` and ``torch[2t]``.
    """
    name = "-".join(map(str, sizes))
    config = f"{name} B{batch}"
    rows, fns, meta, setup = [], {}, {}, {}
    for impl in impls:
        built = BUILDERS[impl](tuple(sizes), batch)
        if built is None:
            rows.append(missing_row("mlp", config, impl, "torch is not installed"))
            continue
        if impl == "torch":
            tf, ts = torch_threads(torch_or_none(), built[0])
            fns.update(tf)
            setup.update(ts)
            meta.update({k: {"note": built[2]} for k in tf})
            continue
        fns[impl] = built[0]
        meta[impl] = {"compile_s": built[1], "note": built[2]}
    stats = compare(fns, setup=setup, rounds=rounds, per_round=per_round)
    rows += stat_rows("mlp", config, stats, flops=step_flops(sizes, batch), meta=meta)
    order = {k: i for i, k in enumerate(IMPLS)}
    return sorted(rows, key=lambda r: order.get(r["impl"].split("[")[0], len(order)))


def run(quick: bool) -> list[dict]:
    """All configurations (quick: the two batch-128 ones in fewer rounds).

    A step at B 128 takes 2–6 ms, so each round times 20 calls of each implementation (30 in
    full mode): with 3 per round, the quick table read jaxnn at 0.67–0.81× Flax's split/merge
    step in two reruns where 15 rounds of 20 calls, in one process, read 1.07–1.12×."""
    configs = CONFIGS[:2] if quick else CONFIGS
    rows = []
    for sizes, batch in configs:
        rows += bench_config(sizes, batch, rounds=5 if quick else 9,
                             per_round=20 if quick or batch < 1024 else 30)
    return rows
