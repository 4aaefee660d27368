"""Scaling rows: MLP train step against batch size, LSTM train step against sequence length.

- ``mlp scaling``: one SGD-with-momentum step (lr 0.01, 0.9) of a ReLU MLP
  (``jaxnn.models.mlp.loss``, cross-entropy) through :func:`jaxnn.train.make_train_step`, for
  batch sizes 32 … 4096, beside the same step in PyTorch (a peer only: the row says
  "missing" when torch is not installed). Each batch size is timed in interleaved rounds.
- ``lstm scaling``: one SGD step of loss = mean(h²) over every output of
  :func:`jaxnn.nn.recurrent.rnn` with ``cell="lstm"`` for T = 10, 100, 1000, without and with
  ``remat=True`` (``jax.checkpoint`` of each scan step: the backward pass recomputes the gates
  instead of storing them). The ``jaxnn[remat]`` row's ratio column is remat time / plain time;
  its ``peak_mb`` shows what checkpointing saves, its ``compile_s`` that ``lax.scan`` keeps the
  compile time flat in T.

Every jaxnn row carries ``compile_s`` and ``peak_mb`` from one lower + compile of the step
(:func:`experiments.bench._timing.compile_stats`; XLA's ``memory_analysis``), torch rows the
live set of :func:`experiments.bench._timing.torch_live_mb`.

Sizes come from :data:`QUICK` / :data:`FULL`; ``JAXNN_BENCH_TINY=1`` selects :data:`TINY`
(a seconds-long run for the test suite, no torch).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._timing import (block, compare, compile_stats, missing_row, stat_rows, torch_threads,
                      torch_live_mb, torch_or_none)
from .mlp import step_flops as mlp_step_flops

LR, RHO = 0.01, 0.9
QUICK = {"mlp_sizes": (784, 512, 512, 10), "batches": (32, 256, 4096),
         "lstm": (32, 64, 128), "Ts": (10, 100, 1000), "rounds": 4, "per_round": 1,
         "torch": True}
FULL = {"mlp_sizes": (784, 512, 512, 10), "batches": (32, 64, 128, 256, 512, 1024, 2048, 4096),
        "lstm": (32, 64, 256), "Ts": (10, 100, 1000), "rounds": 5, "per_round": 3,
        "torch": True}
TINY = {"mlp_sizes": (16, 8, 4), "batches": (8, 16), "lstm": (4, 3, 5), "Ts": (3,),
        "rounds": 1, "per_round": 2, "torch": False}


def lstm_step_flops(B: int, D: int, H: int, T: int) -> float:
    """FLOPs of one LSTM train step: ≈ 3 × the fused forward 2·4H·(H + D) per token."""
    return 3 * 2 * 4 * H * (H + D) * B * T


def _mlp_jaxnn(sizes, x, y):
    """Timed closure, compile seconds and peak MB of the jaxnn MLP step."""
    from jaxnn.models import mlp
    from jaxnn.optim import momentum
    from jaxnn.train import make_train_step

    opt = momentum(LR, RHO)
    config = mlp.MLPConfig(tuple(sizes), activation="relu")
    params = mlp.init(jax.random.key(0), config)
    state = opt.init(params)
    step = make_train_step(lambda p, b: mlp.loss(p, b, config=config), opt)
    batch, key = (jnp.asarray(x), jnp.asarray(y)), jax.random.key(1)
    cs, mb = compile_stats(step, params, state, batch, key)
    return (lambda: block(step(params, state, batch, key)[2])), cs, mb


def _mlp_torch(torch, sizes, x, y):
    """Timed closure and live MB of the same step in PyTorch."""
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=RHO)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def forward():
        opt.zero_grad(set_to_none=False)
        return torch.nn.functional.cross_entropy(model(xt), yt)

    def step():
        forward().backward()
        opt.step()

    step()                                   # grads and momentum buffers exist from here on
    persistent = [xt, yt, *model.parameters(), *(p.grad for p in model.parameters()),
                  *(v for s in opt.state.values() for v in s.values()
                    if isinstance(v, torch.Tensor))]
    mb = torch_live_mb(torch, persistent, forward)
    return step, mb, f"{torch.__version__}"


def mlp_rows(cfg: dict) -> list[dict]:
    """One jaxnn and one torch row per batch size of ``cfg["batches"]``."""
    sizes = tuple(cfg["mlp_sizes"])
    torch = torch_or_none() if cfg["torch"] else None
    rows = []
    for B in cfg["batches"]:
        rng = np.random.default_rng(0)
        x = rng.random((B, sizes[0]), dtype=np.float32)
        y = rng.integers(0, sizes[-1], B).astype(np.int32)
        config = f"{'-'.join(map(str, sizes))} B={B}"
        fn, cs, mb = _mlp_jaxnn(sizes, x, y)
        fns, meta = {"jaxnn": fn}, {"jaxnn": {"compile_s": cs, "peak_mb": mb}}
        setup = {}
        if torch is not None:
            fn_t, mb_t, note = _mlp_torch(torch, sizes, x, y)
            tf, setup = torch_threads(torch, fn_t)
            fns.update(tf)
            meta.update({k: {"peak_mb": mb_t, "note": note} for k in tf})
        stats = compare(fns, setup=setup, warmup=1, rounds=cfg["rounds"],
                        per_round=cfg["per_round"])
        rows += stat_rows("mlp scaling", config, stats, flops=mlp_step_flops(sizes, B), meta=meta)
        if torch is None:
            reason = "torch not installed" if cfg["torch"] else "torch not run in this mode"
            rows.append(missing_row("mlp scaling", config, "torch", reason))
    return rows


def _lstm_step(B, D, H, T, remat):
    """Timed closure, compile seconds and peak MB of the jaxnn LSTM step."""
    from jaxnn.nn import recurrent as R
    from jaxnn.train import make_train_step

    key = jax.random.key(0)
    params = R.init(key, "lstm", D, H)
    x = jax.random.normal(key, (B, T, D))
    opt = optax.sgd(LR)
    state = opt.init(params)

    def loss(p, batch):
        return jnp.mean(R.rnn(p, batch[0], cell="lstm", remat=remat)[0] ** 2)

    step = make_train_step(loss, opt)
    batch = (x,)
    cs, mb = compile_stats(step, params, state, batch, key)
    return (lambda: block(step(params, state, batch, key)[2])), cs, mb


def lstm_rows(cfg: dict) -> list[dict]:
    """jaxnn and jaxnn[remat] rows for each T of ``cfg["Ts"]`` at ``cfg["lstm"] = (B, D, H)``."""
    B, D, H = cfg["lstm"]
    rows = []
    for T in cfg["Ts"]:
        fns, meta = {}, {}
        for impl, remat in (("jaxnn", False), ("jaxnn[remat]", True)):
            fns[impl], cs, mb = _lstm_step(B, D, H, T, remat)
            meta[impl] = {"compile_s": cs, "peak_mb": mb}
        stats = compare(fns, warmup=1, rounds=cfg["rounds"], per_round=cfg["per_round"])
        rows += stat_rows("lstm scaling", f"B={B} D={D} H={H} T={T}", stats,
                          flops=lstm_step_flops(B, D, H, T), meta=meta)
    return rows


def run(quick: bool) -> list[dict]:
    """Scaling rows (see the module docstring); ``JAXNN_BENCH_TINY=1`` overrides ``quick``."""
    cfg = TINY if os.environ.get("JAXNN_BENCH_TINY") == "1" else QUICK if quick else FULL
    return mlp_rows(cfg) + lstm_rows(cfg)


if __name__ == "__main__":  # python -m experiments.bench.scaling [--full]
    import sys

    from . import table_markdown
    from ._timing import matmul_gflops

    print(table_markdown(run("--full" not in sys.argv), matmul_gflops()))
