"""Recurrent benchmark: LSTM, GRU and simple-RNN training steps, jaxnn vs Flax ``nn.RNN`` vs
PyTorch.

One process, side by side, interleaved rounds (each round times every implementation
``repeat`` times in turn; a row reports the median over rounds, the ratio to jaxnn as the median
of the per-round ratios, their ranges, and a flag where the rounds disagree; PyTorch at 1 and at
2 threads). A training step is loss = mean(h²) over all outputs, its gradient and an SGD update.
FLOPs: a fused LSTM costs 2·4H·(H+D) = 8·H·(H+D) per token forward (GRU: 6·H·(H+D), simple
RNN: 2·H·(H+D)), a training step about 3× that. The peers of each kind: ``"lstm"``: Flax
``OptimizedLSTMCell``, ``torch.nn.LSTM``; ``"gru"`` (jaxnn's ``gru_reset_after``, the form both
peers use): ``GRUCell``, ``torch.nn.GRU``; ``"rnn"`` (tanh): ``SimpleCell``, ``torch.nn.RNN``.
Compile time of the jaxnn step is reported for T = 10, 100, 1000: ``lax.scan`` keeps it flat
in T. In its own process (``jaxnn bench``) the host CPU is split into one JAX device per core
first, and each size gets a second set of rows: jaxnn's step with the batch sharded over those
devices (what ``jaxnn run NAME --cpu-devices N`` trains with), against the same peers in the
same rounds.
"""

from __future__ import annotations

import os

from ._timing import (block, compile_seconds, interleaved_rounds, missing_row, round_stats,
                      stat_rows, torch_or_none, torch_threads)

LR = 1e-3
#: in the rows of the step sharded over the host CPU split into one device per core
#: (``jaxnn.train.parallel.split_host_cpu``), the name of jaxnn's step on one device
ONE_DEVICE = "jaxnn[1 device]"


def setup_process() -> None:
    """Split the host CPU into one JAX device per core of this process (before JAX starts), so
    :func:`bench_cell` can also time the step sharded over them."""
    from jaxnn.train import parallel

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if cores and cores > 1:
        parallel.split_host_cpu(cores)


def _split_step(step, p, x):
    """``(N, call, (ps, xs))``: the number of CPU devices, a timed-call closure of ``step`` on
    ``(p, x)`` placed over them, and those placed arguments (p replicated, x split on its batch
    axis); None where there is one CPU device or the batch does not divide over them."""
    import jax

    from jaxnn.train import parallel

    devices = jax.devices("cpu")
    if len(devices) < 2 or x.shape[0] % len(devices):
        return None
    mesh = parallel.make_mesh(devices=devices)
    ps, xs = parallel.replicate(p, mesh), parallel.shard_batch(x, mesh)
    block(step(ps, xs))
    return len(devices), (lambda: block(step(ps, xs))), (ps, xs)
#: bench kind -> the jaxnn cell that Flax's and PyTorch's cell of that kind compute
CELL = {"lstm": "lstm", "gru": "gru_reset_after", "rnn": "rnn"}
_FLAX = {"lstm": "OptimizedLSTMCell", "gru": "GRUCell", "rnn": "SimpleCell"}
_TORCH = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def gates(kind: str) -> int:
    """G of the benchmarked cell, from the cell protocol (4 for the LSTM, 3 for the GRU, 1 for
    the simple RNN)."""
    from jaxnn.nn import cells

    return cells.get(CELL[kind]).gates


def _jax_steps(kind: str, B: int, D: int, H: int, T: int, impls, cell: str | None = None):
    """Jitted SGD steps ``{name: (step, params)}`` for jaxnn impls and Flax, plus x; with
    ``cell`` (a jaxnn cell name) jaxnn runs that cell instead of the kind's and Flax is left
    out (e.g. ``"gru"``, the reset-before GRU, which neither peer has)."""
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    from jaxnn.nn import recurrent as R

    peers, cell = cell is None, cell or CELL[kind]
    key = jax.random.key(0)
    x = jax.random.normal(key, (B, T, D))

    def sgd(loss):
        def step(p, x):
            l, g = jax.value_and_grad(loss)(p, x)
            return jax.tree.map(lambda a, b: a - LR * b, p, g), l
        return jax.jit(step)

    steps = {}
    p = R.init(key, cell, D, H)
    for impl in impls:
        def loss(p, x, impl=impl):
            return jnp.mean(R.rnn(p, x, cell=cell, impl=impl)[0] ** 2)
        steps[impl] = (sgd(loss), p)
    if peers:
        model = nn.RNN(getattr(nn, _FLAX[kind])(H))
        steps["flax"] = (sgd(lambda fp, x: jnp.mean(model.apply(fp, x) ** 2)),
                         model.init(key, x))
    return steps, x


def _torch_step(torch, kind: str, B: int, D: int, H: int, T: int):
    torch.manual_seed(0)
    net = getattr(torch.nn, _TORCH[kind])(D, H, batch_first=True)
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    x = torch.randn(B, T, D)

    def step():
        opt.zero_grad()
        out, _ = net(x)
        loss = (out ** 2).mean()
        loss.backward()
        opt.step()
    return step


def bench_cell(kind: str, B: int, D: int, H: int, T: int, *, rounds: int = 5, repeat: int = 5,
               torch_peer: bool = True) -> list[dict]:
    """Rows for one (cell, size): jaxnn's default impl (what ``impl="auto"`` picks for the
    cell), the other jaxnn impl, Flax, PyTorch; where the process has several CPU devices
    (:func:`setup_process`) also the rows of config ``"…, batch over N CPU devices"``: jaxnn's
    step sharded over them against the same peers and against itself on one device
    (:data:`ONE_DEVICE`), timed in the same interleaved rounds."""
    from jaxnn.nn import cells
    from jaxnn.nn import recurrent as R

    default = R.resolve_impl(cells.get(CELL[kind]), R.DEFAULT_IMPL)
    other = [i for i in ("custom_vjp", "autodiff") if i != default]
    steps, x = _jax_steps(kind, B, D, H, T, [default, *other])
    names = {default: "jaxnn", **{i: f"jaxnn[{i}]" for i in other}, "flax": "flax"}
    fns = {}
    for k, (step, p) in steps.items():
        block(step(p, x))
        fns[names[k]] = (lambda step=step, p=p: block(step(p, x)))
    split = _split_step(*steps[default], x)
    if split is not None:
        fns["split"] = split[1]
    torch = torch_or_none() if torch_peer else None
    setup = {}
    if torch is not None:
        tf, setup = torch_threads(torch, _torch_step(torch, kind, B, D, H, T))
        fns.update(tf)
    times = interleaved_rounds(fns, setup=setup, warmup=1, rounds=rounds, per_round=repeat)
    config = f"B={B} D={D} H={H} T={T}"
    flops = 3 * 2 * gates(kind) * H * (H + D) * B * T
    split_ms = times.pop("split", None)
    rows = stat_rows(kind, config, round_stats(times), flops=flops)
    if split_ms is not None:
        peers = {k: v for k, v in times.items() if k in ("flax", "torch[1t]", "torch[2t]")}
        rows += stat_rows(kind, f"{config}, batch over {split[0]} CPU devices",
                          round_stats({"jaxnn": split_ms, ONE_DEVICE: times["jaxnn"], **peers}),
                          flops=flops)
    if torch is None and torch_peer:
        rows.append(missing_row(kind, config, "torch", "torch not installed"))
    return rows


def compile_rows(kind: str, B: int, D: int, H: int, Ts=(10, 100, 1000)) -> list[dict]:
    """Compile seconds of the jaxnn and Flax training steps for each T (flat with scan)."""
    rows = []
    for T in Ts:
        steps, x = _jax_steps(kind, B, D, H, T, ["autodiff", "custom_vjp"])
        for k, (step, p) in steps.items():
            impl = {"flax": "flax"}.get(k, f"jaxnn[{k}]")
            rows.append({"model": f"{kind} compile", "config": f"B={B} D={D} H={H} T={T}",
                         "impl": impl, "median_ms": None,
                         "compile_s": compile_seconds(step, p, x)})
    return rows


def run(quick: bool) -> list[dict]:
    """Benchmark rows (see :mod:`experiments.bench._timing`); quick: one small size each."""
    if quick:
        rows = bench_cell("lstm", 32, 64, 256, 100, rounds=5, repeat=3)
        rows += bench_cell("gru", 32, 64, 256, 100, rounds=5, repeat=3)
        rows += bench_cell("rnn", 32, 64, 256, 100, rounds=5, repeat=3)
        return rows + compile_rows("lstm", 32, 64, 256, Ts=(10, 100))
    rows = bench_cell("lstm", 32, 64, 256, 100)
    rows += bench_cell("lstm", 32, 64, 128, 1000, rounds=5, repeat=2)
    rows += bench_cell("gru", 32, 64, 256, 100)
    rows += bench_cell("gru", 32, 64, 128, 1000, rounds=5, repeat=2)
    rows += bench_cell("rnn", 32, 64, 256, 100)
    rows += bench_cell("rnn", 32, 64, 128, 1000, rounds=5, repeat=2)
    return rows + compile_rows("lstm", 32, 64, 256) + compile_rows("gru", 32, 64, 256)


if __name__ == "__main__":  # python -m experiments.bench.rnn [--full]
    import sys

    setup_process()

    from . import table_markdown
    from ._timing import matmul_gflops

    print(table_markdown(run("--full" not in sys.argv), matmul_gflops()))
