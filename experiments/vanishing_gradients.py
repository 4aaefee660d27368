"""Vanishing gradients: per-layer gradient norms of deep MLPs at initialisation.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 142–144: the error term is multiplied by the
activation's derivative at every layer on its way back,

    δ⁽ˡ⁾ = f′(z⁽ˡ⁾) ⊙ (W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾),   σ′(x) ∈ [0, 0.25],   tanh′(x) ∈ [0, 1],

so ‖δ⁽ˡ⁾‖ ≤ max|f′(z⁽ˡ⁾)| · ‖W⁽ˡ⁺¹⁾‖₂ · ‖δ⁽ˡ⁺¹⁾‖ and, for the logistic function,

    ‖δ⁽ˡ⁾‖ ≤ 0.25^{L−l} · Π_{k=l+1}^{L} ‖W⁽ᵏ⁾‖₂ · ‖δ⁽ᴸ⁾‖.

We measure ‖∂J/∂W⁽ˡ⁾‖_F layer by layer for depth 2 … 20 hidden layers with sigmoid, tanh and
ReLU units under two initialisations (Glorot uniform, He normal), on a batch of real digits, and
check the bound above sample by sample for the deepest sigmoid network. The derivative bounds
themselves (the notes' figure of the activations' derivatives) are plotted as well.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from jaxnn.train.progress import tqdm

from . import _style
from ._base import Result, savefig
from jaxnn import data
from jaxnn.models import mlp
from jaxnn.nn import activations as act

TITLE = "Vanishing gradients: per-layer gradient norms vs depth, activation and initialisation"
HEADLINE = ("sigmoid_glorot_first_over_last_depth20", "relu_he_first_over_last_depth20")

QUICK = {"dataset": "digits", "depths": [2, 5, 10, 15, 20], "width": 64, "batch": 128,
         "activations": ["sigmoid", "tanh", "relu"], "inits": ["glorot", "he"]}
FULL = {"dataset": "mnist", "depths": list(range(2, 21)), "width": 128, "batch": 512,
        "activations": ["sigmoid", "tanh", "relu"], "inits": ["glorot", "he"]}


def model(n0: int, width: int, depth: int, activation: str, init: str = "glorot"
          ) -> mlp.MLPConfig:
    """The softmax classifier n0 → width × depth → 10 with one hidden activation."""
    return mlp.MLPConfig((n0,) + (width,) * depth + (10,), activation=activation,
                         output="softmax", loss="cross_entropy", init=init)


def _loss(params, x, y, config):
    return mlp.loss(params, (x, y), config=config)


@functools.partial(jax.jit, static_argnames="config")
def layer_grad_norms(params, x, y, config):
    """‖∂J/∂W⁽ˡ⁾‖_F for l = 1 … L, as a (L,) array (``config``: the :class:`MLPConfig`)."""
    g = jax.grad(_loss)(params, x, y, config)
    return jnp.stack([jnp.linalg.norm(g[mlp.layer_name(l)]["W"])
                      for l in range(1, config.num_layers + 1)])


@functools.partial(jax.jit, static_argnames="config")
def per_sample_deltas(params, x, y, config):
    """Per-sample ‖δ⁽ˡ⁾‖ (B, L) — ∂Jᵢ/∂b⁽ˡ⁾ = δᵢ⁽ˡ⁾ — and max|f′(z⁽ˡ⁾)| (B, L − 1)."""
    L = config.num_layers

    def one(xi, yi):
        g = jax.grad(_loss)(params, xi[None], yi[None], config)
        return jnp.stack([jnp.linalg.norm(g[mlp.layer_name(l)]["b"]) for l in range(1, L + 1)])

    deltas = jax.vmap(one)(x, y)
    zs, _ = mlp.forward(params, x, config=config)
    fmax = jnp.stack([jnp.max(jnp.abs(act.get(a).prime(z)), axis=1)
                      for a, z in zip(config.hidden_activations, zs[:-1])], axis=1)
    return deltas, fmax


def sigmoid_bound(params, deltas: np.ndarray, fmax: np.ndarray) -> dict[str, np.ndarray]:
    """Both bounds on ‖δ⁽ˡ⁾‖ from ‖δ⁽ᴸ⁾‖, per sample: the tight one with max|σ′(z)| and the
    notes' one with σ′ ≤ 0.25.

    Args:
        params: the MLP's per-layer parameters (``W⁽ˡ⁾: (nˡ, nˡ⁻¹)``).
        deltas: (B, L) per-sample ‖δ⁽ˡ⁾‖, from :func:`per_sample_deltas`.
        fmax: (B, L − 1) per-sample max|f′(z⁽ˡ⁾)| of the hidden layers, from the same.

    Returns:
        ``{"tight": (B, L), "loose": (B, L)}`` float64 bounds (layer L is ‖δ⁽ᴸ⁾‖ itself).
    """
    L = deltas.shape[1]
    norms = np.array([np.linalg.norm(np.asarray(params[mlp.layer_name(l)]["W"], np.float64), 2)
                      for l in range(1, L + 1)])
    tight = np.empty_like(deltas, dtype=np.float64)
    loose = np.empty_like(tight)
    tight[:, -1] = loose[:, -1] = deltas[:, -1]
    for l in range(L - 2, -1, -1):      # layer l + 1 in the notes' 1-based numbering
        tight[:, l] = fmax[:, l] * norms[l + 1] * tight[:, l + 1]
        loose[:, l] = 0.25 * norms[l + 1] * loose[:, l + 1]
    return {"tight": tight, "loose": loose}


def _batch(cfg, seed):
    ds = data.mnist() if cfg["dataset"] == "mnist" else data.digits(seed=seed)
    x, y = data.standardize(ds.x_train)[0][: cfg["batch"]], ds.y_train[: cfg["batch"]]
    return jnp.asarray(x), jnp.asarray(y)


def _plot_derivatives(out: Path) -> str:
    z = jnp.linspace(-6, 6, 601)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in ("sigmoid", "tanh", "relu"):
        ax.plot(z, act.get(name).prime(z), label=f"{name}′")
    ax.axhline(0.25, color="gray", ls=":", label="0.25 = max σ′ (eq 143)")
    ax.set(xlabel="z", ylabel="f′(z)", title="derivatives of the activations", ylim=(-0.05, 1.1))
    ax.legend(fontsize=8)
    return savefig(fig, out, "derivatives.png")


def run(config: dict, out: Path, seed: int) -> Result:
    cfg = config
    x, y = _batch(cfg, seed)
    n0, key = x.shape[1], jax.random.key(seed)
    norms: dict[tuple[str, str, int], np.ndarray] = {}
    jobs = [(a, i, d) for a in cfg["activations"] for i in cfg["inits"] for d in cfg["depths"]]
    for a, i, d in tqdm(jobs, desc="depth × activation × init"):
        c = model(n0, cfg["width"], d, a, i)
        params = mlp.init(jax.random.fold_in(key, d), c)
        norms[(a, i, d)] = np.asarray(layer_grad_norms(params, x, y, c))

    plots = [_plot_derivatives(out)]
    deepest = max(cfg["depths"])
    fig, axes = plt.subplots(1, len(cfg["inits"]), figsize=(6 * len(cfg["inits"]), 4.5),
                             squeeze=False)
    for ax, i in zip(axes[0], cfg["inits"]):
        for a in cfg["activations"]:
            n = norms[(a, i, deepest)]
            ax.semilogy(np.arange(1, len(n) + 1), n, label=a,
                        **_style.series(cfg["activations"].index(a), len(cfg["activations"])))
        ax.set(xlabel="layer l (1 = next to the input)", ylabel="‖∂J/∂W⁽ˡ⁾‖_F",
               title=f"{deepest} hidden layers, {i} init")
        ax.legend(fontsize=8)
    plots.append(savefig(fig, out, "layer_norms.png"))

    m: dict[str, float] = {}
    pairs = [(a, i) for a in cfg["activations"] for i in cfg["inits"]]
    ratios = {}
    for a, i in pairs:
        ratios[(a, i)] = [norms[(a, i, d)][0] / norms[(a, i, d)][-1] for d in cfg["depths"]]
        for d, r in zip(cfg["depths"], ratios[(a, i)]):
            if d in (min(cfg["depths"]), deepest):
                m[f"{a}_{i}_first_over_last_depth{d}"] = float(r)
    # right: the curves that stay near 1 (they lie on top of each other in the full range)
    near = [v for r in ratios.values() if min(r) > 1e-2 for v in r]
    fig, axes = plt.subplots(1, 2 if near else 1, figsize=(12 if near else 6.5, 4.6),
                             squeeze=False, layout="constrained")
    for ax in axes[0]:
        for k, (pair, ratio) in enumerate(ratios.items()):  # a colour, dash and hollow marker
            ax.semilogy(cfg["depths"], ratio, label=", ".join(pair),  # each; the first drawn
                        **_style.series(k, len(pairs)))               # widest, underneath
        ax.set(xlabel="hidden layers (depth)",
               ylabel="‖∂J/∂W⁽¹⁾‖ / ‖∂J/∂W⁽ᴸ⁾‖ (log scale)")
    axes[0, 0].set_title("gradient reaching the first layer, relative to the last")
    if near:
        axes[0, 1].set_ylim(min(near) / 1.5, max(near) * 1.5)
        axes[0, 1].set_title("zoom on the curves that do not vanish")
    _style.legend(fig, ncols=6)
    plots.append(savefig(fig, out, "ratio_vs_depth.png"))

    # the σ′ ≤ 0.25 bound, sample by sample, for the deepest sigmoid net
    c = model(n0, cfg["width"], deepest, "sigmoid", cfg["inits"][0])
    params = mlp.init(jax.random.fold_in(key, deepest), c)
    deltas, fmax = (np.asarray(v, np.float64) for v in per_sample_deltas(params, x, y, c))
    bounds = sigmoid_bound(params, deltas, fmax)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    layers = np.arange(1, deltas.shape[1] + 1)
    ax.semilogy(layers, deltas.mean(0), "o-", label="measured mean ‖δ⁽ˡ⁾‖")
    ax.semilogy(layers, bounds["tight"].mean(0), "s--", label="max|σ′(z⁽ˡ⁾)| · ‖W⁽ˡ⁺¹⁾‖₂ · …")
    ax.semilogy(layers, bounds["loose"].mean(0), "^:", label="0.25^(L−l) · Π‖W‖₂ · ‖δ⁽ᴸ⁾‖")
    ax.set(xlabel="layer l", ylabel="‖δ⁽ˡ⁾‖ (batch mean, log scale)", title=f"σ′ ≤ 0.25 bounds δ ({deepest} sigmoid layers)")
    ax.legend(fontsize=8)
    plots.append(savefig(fig, out, "sigmoid_bound.png"))
    rel = 1 + 1e-9
    m.update({
        "sigmoid_max_derivative_seen": float(fmax.max()),
        "sigmoid_bound_holds": float(np.all(deltas <= bounds["tight"] * rel)
                                     and np.all(bounds["tight"] <= bounds["loose"] * rel)),
        "sigmoid_delta1_over_deltaL": float(np.mean(deltas[:, 0] / deltas[:, -1])),
        "sigmoid_bound_0.25_delta1_over_deltaL": float(np.mean(bounds["loose"][:, 0]
                                                               / deltas[:, -1])),
    })
    notes = (f"At {deepest} hidden layers the gradient reaching layer 1 is "
             + ", ".join(f"{a}/{i}: {m[f'{a}_{i}_first_over_last_depth{deepest}']:.1e}×"
                         for a in cfg["activations"] for i in cfg["inits"])
             + " the last layer's. σ′ never exceeded "
             f"{m['sigmoid_max_derivative_seen']:.3f} ≤ 0.25, and the layer-by-layer bound held "
             f"for every sample: {bool(m['sigmoid_bound_holds'])}.")
    extra = {"layer_norms": {f"{a}/{i}/{d}": v.tolist() for (a, i, d), v in norms.items()}}
    return Result(metrics=m, reference={"sigmoid_max_derivative_seen": 0.25},
                  reference_source="Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 143: "
                                   "σ′(x) = σ(x)(1 − σ(x)) ∈ [0, 0.25]",
                  plots=plots, notes=notes, extra=extra)
