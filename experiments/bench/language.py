"""Language-model benchmark: NPLM and LSTM LM training steps, jaxnn vs PyTorch, tokens/s.

Two models at the sizes of the Brown runs (|V| = 17,905, the paper's vocabulary rule):

- the NPLM of Bengio et al. 2003 at the MLP1 shape (n = 5, m = 60, h = 50, direct
  connections; :mod:`jaxnn.models.nplm`), a mini-batch of B windows per step;
- the LSTM LM of :mod:`jaxnn.models.language` (Zaremba et al. 2014's small shape: m = h = 200,
  one layer, T = 35, batch 20), truncated BPTT over one chunk per step.

A training step is the loss (mean NLL), its gradient and a plain SGD update, the same model
written in PyTorch beside it at 1 and at 2 threads (``torch[1t]``, ``torch[2t]``), in one
process, in interleaved rounds (:func:`_timing.compare`, as the other benches): each round
times every implementation (median of ``repeat`` calls); a row reports the median over rounds
with its range, a peer's ratio is the median of its per-round ratios with their range, flagged
where the rounds disagree, and the note gives tokens per second. GFLOP/s counts
the multiply-adds of the forward pass ×3 (forward + two backward products); the table puts it
beside the large-matmul ceiling measured in the same run.
"""

from __future__ import annotations

from ._timing import (block, compare, compile_stats, missing_row, stat_rows, torch_or_none,
                      torch_threads)

LR = 0.1
BROWN_V = 17_905


def nplm_flops(V: int, n: int, m: int, h: int, direct: bool) -> float:
    """Training FLOPs per window: 3 × 2 × (H: h·(n−1)m, U: V·h, W: V·(n−1)m)."""
    x = (n - 1) * m
    return 3 * 2 * (h * x + V * h + (V * x if direct else 0))


def _jax_sgd(loss):
    import jax

    def step(p, batch):
        J, g = jax.value_and_grad(loss)(p, batch)
        return jax.tree.map(lambda a, b: a - LR * b, p, g), J
    return jax.jit(step)


def _nplm_jax(V, n, m, h, B):
    import jax
    import numpy as np

    from jaxnn.models import nplm

    cfg = nplm.NPLMConfig(V, n=n, m=m, h=h, direct=True)
    p = nplm.init(jax.random.key(0), cfg)
    rng = np.random.default_rng(0)
    batch = (rng.integers(0, V, (B, n - 1)).astype(np.int32),
             rng.integers(0, V, (B,)).astype(np.int32))
    step = _jax_sgd(lambda q, b: nplm.loss(q, b, config=cfg))
    return step, p, tuple(map(jax.numpy.asarray, batch))


def _nplm_torch(torch, V, n, m, h, B):
    torch.manual_seed(0)
    nn = torch.nn

    class NPLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.C = nn.Embedding(V, m)
            self.H = nn.Linear((n - 1) * m, h)
            self.U = nn.Linear(h, V)
            self.W = nn.Linear((n - 1) * m, V, bias=False)

        def forward(self, ctx):
            x = self.C(ctx).reshape(ctx.shape[0], -1)
            return self.U(torch.tanh(self.H(x))) + self.W(x)

    net = NPLM()
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    ctx = torch.randint(0, V, (B, n - 1))
    y = torch.randint(0, V, (B,))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(ctx), y)
        loss.backward()
        opt.step()
    return step


def _lstm_jax(V, m, h, T, B):
    import jax
    import numpy as np

    from jaxnn.models import language as lm

    cfg = lm.LMConfig(V, m, h, cell="lstm")
    p = lm.init(jax.random.key(0), cfg)
    rng = np.random.default_rng(0)
    batch = tuple(jax.numpy.asarray(rng.integers(0, V, (B, T)).astype(np.int32))
                  for _ in range(2))
    step = _jax_sgd(lambda q, b: lm.loss(q, b, config=cfg)[0])
    return step, p, batch, lm.flops_per_token(cfg)


def _lstm_torch(torch, V, m, h, T, B):
    torch.manual_seed(0)
    nn = torch.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.C = nn.Embedding(V, m)
            self.rnn = nn.LSTM(m, h, batch_first=True)
            self.out = nn.Linear(h, V)

        def forward(self, ids):
            return self.out(self.rnn(self.C(ids))[0])

    net = LM()
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    x, y = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x).reshape(B * T, V), y.reshape(-1))
        loss.backward()
        opt.step()
    return step


def _rows(model, config, tokens, flops, jax_step, args, make_torch_step, rounds, repeat,
          torch_peer):
    """Interleaved rounds of jaxnn and torch at 1 and 2 threads; rows with tokens/s, GFLOP/s
    and each peer's median per-round ratio with its range (``_timing.compare``).
    ``make_torch_step(torch)`` builds the PyTorch step when the peer is asked for and installed."""
    compile_s, peak = compile_stats(jax_step, *args)
    block(jax_step(*args))
    fns, setup = {"jaxnn": lambda: block(jax_step(*args))}, {}
    torch = torch_or_none() if torch_peer else None
    if torch is not None:
        tf, setup = torch_threads(torch, make_torch_step(torch))
        fns.update(tf)
    stats = compare(fns, setup=setup, warmup=1, rounds=rounds, per_round=repeat)
    meta = {k: {"tokens_per_s": tokens / (st["median_ms"] * 1e-3),
                "note": f"{tokens / (st['median_ms'] * 1e-3):,.0f} tokens/s"}
            for k, st in stats.items()}
    meta["jaxnn"].update(compile_s=compile_s, peak_mb=peak)
    rows = stat_rows(model, config, stats, flops=flops, meta=meta)
    if torch is None and torch_peer:
        rows.append(missing_row(model, config, "torch", "torch not installed"))
    return rows


def bench_nplm(V=BROWN_V, n=5, m=60, h=50, B=256, *, rounds=3, repeat=10,
               torch_peer=True) -> list[dict]:
    """Rows for the NPLM (MLP1 shape by default) training step, B windows per step."""
    step, p, batch = _nplm_jax(V, n, m, h, B)
    return _rows("nplm", f"V={V} n={n} m={m} h={h} B={B}", B, B * nplm_flops(V, n, m, h, True),
                 step, (p, batch), lambda torch: _nplm_torch(torch, V, n, m, h, B), rounds,
                 repeat, torch_peer)


def bench_lstm_lm(V=BROWN_V, m=200, h=200, T=35, B=20, *, rounds=3, repeat=10,
                  torch_peer=True) -> list[dict]:
    """Rows for the one-layer LSTM LM training step over a (B, T) chunk."""
    step, p, batch, fpt = _lstm_jax(V, m, h, T, B)
    return _rows("lstm-lm", f"V={V} m={m} h={h} T={T} B={B}", B * T, 3 * B * T * fpt,
                 step, (p, batch), lambda torch: _lstm_torch(torch, V, m, h, T, B), rounds,
                 repeat, torch_peer)


def run(quick: bool) -> list[dict]:
    """Benchmark rows (see :mod:`experiments.bench._timing`); quick: fewer rounds."""
    r, k = (3, 5) if quick else (5, 10)
    return bench_nplm(rounds=r, repeat=k) + bench_lstm_lm(rounds=r, repeat=k)


if __name__ == "__main__":  # python -m jaxnn_experiments.bench.language [--full]
    import sys

    from . import table_markdown
    from ._timing import matmul_gflops

    print(table_markdown(run("--full" not in sys.argv), matmul_gflops()))
