"""LeNet-5 training step: jaxnn vs Flax NNX vs PyTorch (CPU, one process, medians).

All three build the paper's layer shapes — C1 6@5×5, S2 trainable subsampling (w·avg + b per
map), C3 16@5×5 with the 6×16 connection table (a mask on the dense filter bank for the peers),
S4, C5 120@5×5, F6 84, scaled tanh 1.7159·tanh(2a/3) — with a softmax output and
cross-entropy (the RBF head is left out so every peer has the same, standard loss), and take one
SGD-with-momentum step (lr 0.01, 0.9) on a batch of 32×32 images.

``jaxnn`` is the default (``conv_method="auto"``: the row-Toeplitz matrix product on CPU);
``jaxnn-xla-conv`` is the same model on ``lax.conv_general_dilated``, the primitive Flax uses.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._timing import (block, compare, compile_seconds, missing_row, stat_rows,
                      torch_or_none, torch_threads)
from jaxnn.models import lenet

MODEL = "lenet5"
CONFIG = lenet.LeNetConfig(output="softmax")
LR, MOMENTUM = 0.01, 0.9
A, S = 1.7159, 2.0 / 3.0


def _flops(batch: int) -> float:
    """Multiply-adds of the forward pass ×2, ×3 for forward + backward."""
    macs = 6 * 28 * 28 * 25 + 60 * 100 * 25 + 120 * 16 * 25 + 84 * 120 + 10 * 84
    return 3 * 2 * macs * batch


def _data(batch: int):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((batch, 1, 32, 32)).astype(np.float32),
            rng.integers(0, 10, batch).astype(np.int32))


def bench_jaxnn(batch: int, conv_method: str = "auto"):
    """(step closure, compile seconds) of one jaxnn training step."""
    from jaxnn.train import make_train_step

    config = dataclasses.replace(CONFIG, conv_method=conv_method)
    params = lenet.init(jax.random.key(0), config)
    opt = optax.sgd(LR, momentum=MOMENTUM)
    step = make_train_step(functools.partial(lenet.loss, config=config), opt)
    state = opt.init(params)
    x, y = map(jnp.asarray, _data(batch))
    key = jax.random.key(1)
    cs = compile_seconds(step, params, state, (x, y), key)
    return (lambda: block(step(params, state, (x, y), key))), cs


def bench_flax(batch: int):
    """(step closure, compile seconds) of the Flax NNX peer (split/merge inside one jit)."""
    from flax import nnx

    mask = jnp.asarray(lenet.lenet5_table(), jnp.float32)[None, None]      # (1, 1, 6, 16) HWIO

    def act(z):
        return A * jnp.tanh(S * z)

    class Subsample(nnx.Module):
        def __init__(self, maps):
            self.w = nnx.Param(jnp.ones((maps,)))
            self.b = nnx.Param(jnp.zeros((maps,)))

        def __call__(self, x):                    # NHWC
            B, H, W, C = x.shape
            d = x.reshape(B, H // 2, 2, W // 2, 2, C).mean(axis=(2, 4))
            return d * self.w[...] + self.b[...]

    class LeNet(nnx.Module):
        def __init__(self, rngs):
            self.c1 = nnx.Conv(1, 6, (5, 5), padding="VALID", rngs=rngs)
            self.s2 = Subsample(6)
            self.c3 = nnx.Conv(6, 16, (5, 5), padding="VALID", rngs=rngs)
            self.s4 = Subsample(16)
            self.c5 = nnx.Conv(16, 120, (5, 5), padding="VALID", rngs=rngs)
            self.f6 = nnx.Linear(120, 84, rngs=rngs)
            self.out = nnx.Linear(84, 10, rngs=rngs)

        def __call__(self, x):
            x = act(self.c1(x))
            x = act(self.s2(x))
            k = self.c3.kernel[...] * mask           # the connection table as a mask
            x = jax.lax.conv_general_dilated(x, k, (1, 1), "VALID",
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
            x = act(x + self.c3.bias[...])
            x = act(self.s4(x))
            x = act(self.c5(x)).reshape(x.shape[0], -1)
            return self.out(act(self.f6(x)))

    model = LeNet(nnx.Rngs(0))
    graphdef, params = nnx.split(model, nnx.Param)
    opt = optax.sgd(LR, momentum=MOMENTUM)
    state = opt.init(params)

    @jax.jit
    def step(params, state, x, y):
        def loss_fn(p):
            logits = nnx.merge(graphdef, p)(x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        loss, g = jax.value_and_grad(loss_fn)(params)
        upd, state = opt.update(g, state, params)
        return optax.apply_updates(params, upd), state, loss

    xn, yn = _data(batch)
    x, y = jnp.asarray(xn.transpose(0, 2, 3, 1)), jnp.asarray(yn)
    cs = compile_seconds(step, params, state, x, y)
    return (lambda: block(step(params, state, x, y))), cs


def bench_torch(torch, batch: int):
    """(step closure, None) of the PyTorch peer (eager, SGD with momentum)."""
    F = torch.nn.functional
    mask = torch.tensor(lenet.lenet5_table().T[:, :, None, None].astype(np.float32))   # (16, 6, 1, 1)

    class Subsample(torch.nn.Module):
        def __init__(self, maps):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(maps))
            self.b = torch.nn.Parameter(torch.zeros(maps))

        def forward(self, x):
            return F.avg_pool2d(x, 2) * self.w[None, :, None, None] + self.b[None, :, None, None]

    class LeNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(1, 6, 5)
            self.s2 = Subsample(6)
            self.c3 = torch.nn.Conv2d(6, 16, 5)
            self.s4 = Subsample(16)
            self.c5 = torch.nn.Conv2d(16, 120, 5)
            self.f6 = torch.nn.Linear(120, 84)
            self.out = torch.nn.Linear(84, 10)

        def forward(self, x):
            def act(z):
                return A * torch.tanh(S * z)

            x = act(self.s2(act(self.c1(x))))
            x = act(F.conv2d(x, self.c3.weight * mask, self.c3.bias))
            x = act(self.c5(act(self.s4(x)))).flatten(1)
            return self.out(act(self.f6(x)))

    model = LeNet()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xn, yn = _data(batch)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn.astype(np.int64))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step, None


def run(quick: bool) -> list[dict]:
    """One row per (batch size, implementation), timed in interleaved rounds (so load that
    drifts hits every implementation alike); peers missing from the venv are reported."""
    rows = []
    torch = torch_or_none()
    for batch in (128, 256):
        config = f"B={batch}"
        built = {"jaxnn": bench_jaxnn(batch), "jaxnn-xla-conv": bench_jaxnn(batch, "xla")}
        try:
            import flax.nnx  # noqa: F401
            built["flax"] = bench_flax(batch)
        except ImportError as exc:
            rows.append(missing_row(MODEL, config, "flax", f"flax missing ({exc})"))
        fns = {k: fn for k, (fn, _) in built.items()}
        meta = {k: {"compile_s": cs} for k, (_, cs) in built.items()}
        setup = {}
        if torch is not None:
            tf, setup = torch_threads(torch, bench_torch(torch, batch)[0])
            fns.update(tf)
        else:
            rows.append(missing_row(MODEL, config, "torch", "torch not installed"))
        stats = compare(fns, setup=setup, rounds=5 if quick else 7, per_round=3 if quick else 5)
        rows += stat_rows(MODEL, config, stats, flops=_flops(batch), meta=meta)
    return rows


if __name__ == "__main__":
    from . import table_markdown
    from ._timing import matmul_gflops

    print(table_markdown(run(True), matmul_gflops()))
