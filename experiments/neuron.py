"""The neuron's activation functions and their derivatives (figure 15 of the backprop notes).

Plots each activation of :mod:`jaxnn.nn.activations` with its closed-form derivative, checks
each derivative against ``jax.grad`` on a grid (float64), checks tanh(x) = 2σ(2x) − 1
(Qiu eq 118 remark) and softplus′ = σ (eq 120 remark), and shows the bound σ′ ≤ 1/4
(Qiu eq 143) with what it means for a chain of n sigmoid layers: at most (1/4)ⁿ.

The one disagreement with the notes is the ReLU derivative at 0: figure 15 writes 1
(x ≥ 0), ``jax.grad`` (and we) give 0 — both are subgradients; the metric ``relu_prime_at_0``
is printed beside the notes' value.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from . import _style
from ._base import Result, savefig
from jaxnn.nn import activations as A

TITLE = "Neuron activations and derivatives (figure 15), tanh = 2σ(2x) − 1, σ′ ≤ 1/4"
HEADLINE = ("sigmoid_prime_max", "tanh_prime_max", "sigmoid_chain_grad_max_*_layers")
QUICK = {"points": 401, "x_max": 6.0, "depth": 10}
FULL = {"points": 4001, "x_max": 8.0, "depth": 20}

_SOURCE = ("backprop lecture notes, figure 15 (ReLU′(0) = 1 for x ≥ 0); Qiu Xipeng, "
           "《神经网络与深度学习》 (2015), eq 36 and 143 (σ′ = σ(1 − σ) ∈ [0, 0.25]), eq 118 remark "
           "(tanh(x) = 2σ(2x) − 1), eq 120 remark (softplus′ = σ); tanh′ = 1 − tanh² ≤ 1")


@jax.jit
def _checks(grid: jax.Array) -> dict[str, jax.Array]:
    """Every check on ``grid`` (which contains 0) in one compiled function."""
    x = jnp.where(grid == 0, 1.0, grid)  # away from the kinks; x = 0 is checked on its own
    dgrad = lambda f: jax.vmap(jax.grad(f))  # noqa: E731
    zero = jnp.zeros((), grid.dtype)
    m = {
        "sigmoid_prime_max": jnp.max(A.sigmoid_prime(grid)),
        "tanh_prime_max": jnp.max(A.tanh_prime(grid)),
        "tanh_identity_max_abs_err": jnp.max(jnp.abs(A.tanh(x) - (2 * A.sigmoid(2 * x) - 1))),
        "softplus_prime_minus_sigmoid_max_abs_err": jnp.max(jnp.abs(dgrad(A.softplus)(x) - A.sigmoid(x))),
    }
    for name in A.NAMES:  # max |closed-form f′ − jax.grad f|
        act = A.get(name)
        m[f"{name}_prime_vs_autodiff_max_abs_err"] = jnp.max(jnp.abs(act.prime(x) - dgrad(act.fn)(x)))
    m["relu_prime_at_0"] = A.relu_prime(zero)
    m["relu_prime_at_0_jax_grad"] = jax.grad(A.relu)(zero)
    return m


@partial(jax.jit, static_argnums=1)
def _chain_grad_max(grid: jax.Array, depth: int) -> jax.Array:
    """max over ``grid`` of |d/dx σ(σ(…σ(x)))| for n = 1 … depth nested sigmoids, by autodiff."""
    def chain(x, n):
        for _ in range(n):
            x = A.sigmoid(x)
        return x

    return jnp.stack([jnp.max(jnp.abs(jax.vmap(jax.grad(lambda t, n=n: chain(t, n)))(grid)))
                      for n in range(1, depth + 1)])


@jax.jit
def _curves(x: jax.Array) -> dict[str, tuple[jax.Array, jax.Array]]:
    return {name: (A.get(name).fn(x), A.get(name).prime(x)) for name in A.NAMES}


def _plot_activations(x: np.ndarray, out: Path) -> str:
    fig, axes = plt.subplots(2, 5, figsize=(15, 6), sharex=True, sharey=True,
                             layout="constrained")
    curves = _curves(jnp.asarray(x))
    for ax, name in zip(axes.ravel(), A.NAMES):
        f, fp = curves[name]
        ax.plot(x, np.asarray(f), label="f(x)")
        ax.plot(x, np.asarray(fp), "--", label="f′(x)")
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_title(name)
        ax.set_ylim(-1.6, 2.2)
    for ax in axes[-1]:
        ax.set_xlabel("x (pre-activation)")
    for ax in axes[:, 0]:
        ax.set_ylabel("f(x), f′(x)")
    _style.legend(fig, ncols=2)
    fig.suptitle("Activations and their closed-form derivatives (kinks: value of jax.grad at 0)")
    return savefig(fig, out, "neuron_activations.png")


def _plot_bounds(x: np.ndarray, chain_max: np.ndarray, out: Path) -> str:
    s = 1 / (1 + np.exp(-x))  # numpy, as the notes write them
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(12, 4))
    a0.plot(x, s * (1 - s), label="σ′(x) = σ(1 − σ)")
    a0.plot(x, 1 - np.tanh(x) ** 2, label="tanh′(x) = 1 − tanh²")
    a0.axhline(0.25, color="C0", ls=":", label="1/4 (Qiu eq 143)")
    a0.axhline(1.0, color="C1", ls=":", label="1")
    a0.set(xlabel="x", ylabel="derivative", title="derivative bounds")
    a0.legend()
    n = np.arange(1, len(chain_max) + 1)
    a1.semilogy(n, 0.25**n, "o-", label="(1/4)ⁿ: σ′ bound through n layers")
    a1.semilogy(n, chain_max, "s--", label="measured max |d σ∘…∘σ / dx| (jax.grad)")
    a1.set(xlabel="layers n", ylabel="max gradient factor", title="why sigmoid chains vanish")
    a1.legend()
    return savefig(fig, out, "neuron_derivative_bounds.png")


def run(config: dict, out: Path, seed: int) -> Result:
    """Check and plot every activation; ``points`` grid points on [−x_max, x_max]."""
    del seed  # deterministic
    points, x_max, depth = int(config["points"]), float(config["x_max"]), int(config["depth"])
    with jax.enable_x64(True):
        grid = jnp.concatenate([jnp.linspace(-x_max, x_max, points, dtype=jnp.float64),
                                jnp.zeros(1, jnp.float64)])
        metrics = {k: float(v) for k, v in _checks(grid).items()}
        chain_max = np.asarray(_chain_grad_max(grid, depth))
    metrics[f"sigmoid_chain_bound_{depth}_layers"] = 0.25**depth
    metrics[f"sigmoid_chain_grad_max_{depth}_layers"] = float(chain_max[-1])
    xs = np.linspace(-x_max, x_max, points, dtype=np.float32)
    plots = [_plot_activations(xs, out), _plot_bounds(xs, chain_max, out)]
    worst = max(v for k, v in metrics.items() if k.endswith("_vs_autodiff_max_abs_err"))
    print(f"max |closed-form derivative − jax.grad| over all activations: {worst:.3g}")
    reference = {"sigmoid_prime_max": 0.25, "tanh_prime_max": 1.0, "tanh_identity_max_abs_err": 0.0,
                 "softplus_prime_minus_sigmoid_max_abs_err": 0.0, "relu_prime_at_0": 1.0}
    notes = (
        f"Every closed-form derivative agrees with jax.grad to {worst:.1g} (float64). "
        "σ′ peaks at exactly 1/4 and tanh′ at 1, both at x = 0; a chain of "
        f"{depth} sigmoid layers can pass at most (1/4)^{depth} = {0.25**depth:.2g} of the "
        f"gradient (times the weights); σ∘…∘σ ({depth} deep) measures {chain_max[-1]:.2g}. tanh(x) = 2σ(2x) − 1 and softplus′ = σ hold to rounding. "
        "ReLU′(0): the notes' figure 15 says 1, autodiff and jaxnn use 0 (a subgradient too)."
    )
    return Result(metrics=metrics, reference=reference, reference_source=_SOURCE, plots=plots,
                  notes=notes)
