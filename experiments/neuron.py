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

from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from experiments._base import Result, savefig
from jaxnn.nn import activations as A

TITLE = "Neuron activations and derivatives (figure 15), tanh = 2σ(2x) − 1, σ′ ≤ 1/4"
QUICK = {"points": 401, "x_max": 6.0, "depth": 10}
FULL = {"points": 4001, "x_max": 8.0, "depth": 20}

_SOURCE = ("backprop lecture notes, figure 15 (ReLU′(0) = 1 for x ≥ 0); Qiu Xipeng, "
           "《神经网络与深度学习》 (2015), eq 36 and 143 (σ′ = σ(1 − σ) ∈ [0, 0.25]), eq 118 remark "
           "(tanh(x) = 2σ(2x) − 1), eq 120 remark (softplus′ = σ); tanh′ = 1 − tanh² ≤ 1")


def _derivative_errors(x: jax.Array) -> dict[str, float]:
    """max |closed-form f′ − jax.grad f| over ``x`` (float64) and at 0, per activation."""
    errs = {}
    for name in A.NAMES:
        act = A.get(name)
        auto = jax.jit(jax.vmap(jax.grad(act.fn)))(x)
        errs[f"{name}_prime_vs_autodiff_max_abs_err"] = float(jnp.max(jnp.abs(act.prime(x) - auto)))
    return errs


def _plot_activations(x: np.ndarray, out: Path) -> str:
    fig, axes = plt.subplots(2, 5, figsize=(16, 6), sharex=True)
    xj = jnp.asarray(x)
    for ax, name in zip(axes.ravel(), A.NAMES):
        act = A.get(name)
        ax.plot(x, np.asarray(act.fn(xj)), label="f(x)")
        ax.plot(x, np.asarray(act.prime(xj)), "--", label="f′(x)")
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_title(name)
        ax.set_ylim(-1.6, 2.2)
    axes[0, 0].legend()
    fig.suptitle("Activations and their closed-form derivatives (kinks: value of jax.grad at 0)")
    return savefig(fig, out, "neuron_activations.png")


def _plot_bounds(x: np.ndarray, depth: int, out: Path) -> str:
    xj = jnp.asarray(x)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(12, 4))
    a0.plot(x, np.asarray(A.sigmoid_prime(xj)), label="σ′(x) = σ(1 − σ)")
    a0.plot(x, np.asarray(A.tanh_prime(xj)), label="tanh′(x) = 1 − tanh²")
    a0.axhline(0.25, color="C0", ls=":", label="1/4 (Qiu eq 143)")
    a0.axhline(1.0, color="C1", ls=":", label="1")
    a0.set(xlabel="x", title="derivative bounds")
    a0.legend()
    n = np.arange(1, depth + 1)
    a1.semilogy(n, 0.25**n, "o-", label="(1/4)ⁿ: σ′ bound through n layers")
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
        x = grid[grid != 0]  # away from the kinks; x = 0 is checked on its own below
        metrics = {
            "sigmoid_prime_max": float(jnp.max(A.sigmoid_prime(grid))),
            "tanh_prime_max": float(jnp.max(A.tanh_prime(grid))),
            "tanh_identity_max_abs_err": float(jnp.max(jnp.abs(A.tanh(x) - (2 * A.sigmoid(2 * x) - 1)))),
            "softplus_prime_minus_sigmoid_max_abs_err": float(
                jnp.max(jnp.abs(jax.vmap(jax.grad(A.softplus))(x) - A.sigmoid(x)))),
        }
        metrics.update(_derivative_errors(x))
        zero = jnp.zeros((), jnp.float64)
        metrics["relu_prime_at_0"] = float(A.relu_prime(zero))
        metrics["relu_prime_at_0_jax_grad"] = float(jax.grad(A.relu)(zero))
        metrics[f"sigmoid_chain_bound_{depth}_layers"] = 0.25**depth
        xs = np.asarray(jnp.linspace(-x_max, x_max, points))
    plots = [_plot_activations(xs, out), _plot_bounds(xs, depth, out)]
    worst = max(v for k, v in metrics.items() if k.endswith("_vs_autodiff_max_abs_err"))
    print(f"max |closed-form derivative − jax.grad| over all activations: {worst:.3g}")
    reference = {"sigmoid_prime_max": 0.25, "tanh_prime_max": 1.0, "tanh_identity_max_abs_err": 0.0,
                 "softplus_prime_minus_sigmoid_max_abs_err": 0.0, "relu_prime_at_0": 1.0}
    notes = (
        f"Every closed-form derivative agrees with jax.grad to {worst:.1g} (float64). "
        "σ′ peaks at exactly 1/4 and tanh′ at 1, both at x = 0; a chain of "
        f"{depth} sigmoid layers can pass at most (1/4)^{depth} = {0.25**depth:.2g} of the "
        "gradient (times the weights). tanh(x) = 2σ(2x) − 1 and softplus′ = σ hold to rounding. "
        "ReLU′(0): the notes' figure 15 says 1, autodiff and jaxnn use 0 (a subgradient too)."
    )
    return Result(metrics=metrics, reference=reference, reference_source=_SOURCE, plots=plots,
                  notes=notes)
