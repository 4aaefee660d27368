"""GPU benchmark: the LSTM training step, jaxnn vs Flax ``nn.RNN`` vs ``torch.nn.LSTM`` (cuDNN).

Opt-in (not part of a plain ``jaxnn bench``, see :data:`jaxnn_experiments.bench.OPT_IN`)::

    jaxnn bench --only gpu --out results/bench/gpu          # on a machine with a CUDA GPU

The same step as :mod:`jaxnn_experiments.bench.rnn` (loss = mean of h² over all outputs, its
gradient and an SGD update; float32), at the sizes of :data:`SIZES`, timed in interleaved
rounds (:func:`jaxnn_experiments.bench._timing.compare`). Without a GPU it does nothing but
return one ``missing`` row per size saying so (so it skips cleanly on a CPU-only machine); a
torch without CUDA gives ``missing`` torch rows and the JAX rows still run.
"""

from __future__ import annotations

from ._timing import block, compare, missing_row, stat_rows, torch_or_none
from .rnn import _jax_steps, gates

#: (B, D, H, T) of the LSTM steps; quick keeps the first only.
SIZES = ((32, 64, 256, 100), (64, 128, 512, 1000))
LR = 1e-3


def jax_gpu() -> str | None:
    """The name of JAX's first GPU device, or None when JAX has no GPU backend."""
    import jax

    try:
        devs = jax.devices("gpu")
    except RuntimeError:
        return None
    return str(devs[0]) if devs else None


def _device():
    """The device the JAX rows run on (the first GPU)."""
    import jax

    return jax.devices("gpu")[0]


def torch_cuda():
    """``torch`` when it is installed and sees a CUDA device, else None."""
    torch = torch_or_none()
    return torch if torch is not None and torch.cuda.is_available() else None


def _torch_step(torch, B: int, D: int, H: int, T: int):
    """A synchronised ``torch.nn.LSTM`` training step on ``cuda`` (cuDNN)."""
    torch.backends.cudnn.enabled = True
    torch.manual_seed(0)
    net = torch.nn.LSTM(D, H, batch_first=True).cuda()
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    x = torch.randn(B, T, D, device="cuda")

    def step():
        opt.zero_grad()
        loss = (net(x)[0] ** 2).mean()
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
    return step


def bench_size(B: int, D: int, H: int, T: int, *, rounds: int = 5, per_round: int = 5,
               torch=None) -> list[dict]:
    """Rows for one size on the GPU: jaxnn (custom VJP and autodiff), Flax, torch cuDNN."""
    import jax

    config = f"B={B} D={D} H={H} T={T}"
    steps, x = _jax_steps("lstm", B, D, H, T, ["custom_vjp", "autodiff"])
    names = {"custom_vjp": "jaxnn", "autodiff": "jaxnn[autodiff]", "flax": "flax"}
    dev = _device()
    x = jax.device_put(x, dev)
    fns = {}
    for k, (step, p) in steps.items():
        p = jax.device_put(p, dev)
        block(step(p, x))
        fns[names[k]] = (lambda step=step, p=p: block(step(p, x)))
    rows = []
    if torch is not None:
        fns["torch[cudnn]"] = _torch_step(torch, B, D, H, T)
    else:
        rows.append(missing_row("lstm gpu", config, "torch[cudnn]", "torch sees no CUDA device"))
    stats = compare(fns, warmup=3, rounds=rounds, per_round=per_round)
    flops = 3 * 2 * gates("lstm") * H * (H + D) * B * T
    return stat_rows("lstm gpu", config, stats, flops=flops,
                     meta={k: {"note": str(dev)} for k in fns}) + rows


def run(quick: bool) -> list[dict]:
    """GPU rows, or one ``missing`` row per size when JAX has no GPU."""
    sizes = SIZES[:1] if quick else SIZES
    if jax_gpu() is None:
        return [missing_row("lstm gpu", f"B={B} D={D} H={H} T={T}", "jaxnn",
                            "no GPU: JAX has no gpu backend here") for B, D, H, T in sizes]
    torch = torch_cuda()
    rows = []
    for B, D, H, T in sizes:
        rows += bench_size(B, D, H, T, torch=torch, rounds=3 if quick else 5)
    return rows


if __name__ == "__main__":  # python -m jaxnn_experiments.bench.gpu [--full]
    import sys

    from . import table_markdown
    from ._timing import matmul_gflops

    print(table_markdown(run("--full" not in sys.argv), matmul_gflops()))
