"""Rosenblatt's perceptron: AND/OR learned, XOR not, mistakes against Novikoff's bound.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 113–114, the two-class perceptron algorithm box and
Novikoff's theorem K ≤ R²/γ². Data: the AND/OR/XOR truth tables (labels ±1), generated
2-D points separated by a known line with a guaranteed gap, and iris setosa vs the other two
species on petal length/width (scikit-learn's bundled copy; separable). For iris the margin γ
is that of the max-margin line (a hard-margin linear SVM), which gives the tightest bound.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from . import _style
from ._base import Result, savefig
from jaxnn.models import perceptron as pc

TITLE = "Perceptron: AND/OR learned, XOR not, mistakes vs Novikoff's bound R²/γ²"
HEADLINE = ("and_mistakes", "or_mistakes", "xor_separable", "separable_mistakes")
QUICK = {"max_epochs": 100, "n_separable": 200, "gap": 0.2}
FULL = {"max_epochs": 2000, "n_separable": 5000, "gap": 0.02}

_X4 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
_GATES = {"and": np.array([-1, -1, -1, 1.0], np.float32),
          "or": np.array([-1, 1, 1, 1.0], np.float32),
          "xor": np.array([-1, 1, 1, -1.0], np.float32)}
# Hand separators for the gates (AND: x1 + x2 = 1.5, OR: x1 + x2 = 0.5), augmented (w, b).
_GATE_U = {"and": np.array([1.0, 1.0, -1.5]), "or": np.array([1.0, 1.0, -0.5])}


def _separable(key, n: int, gap: float):
    """n points in [−2, 2]² at least ``gap`` (in uᵀx̂ units) from the line uᵀ(x, 1) = 0."""
    u = np.array([1.0, -2.0, 0.5])
    x = np.asarray(jax.random.uniform(key, (8 * n, 2), minval=-2.0, maxval=2.0), np.float64)
    s = np.hstack([x, np.ones((len(x), 1))]) @ u
    keep = np.abs(s) >= gap
    return x[keep][:n].astype(np.float32), np.sign(s[keep][:n]).astype(np.float32), u


def _iris():
    from sklearn.datasets import load_iris
    from sklearn.svm import SVC

    d = load_iris()
    x = d.data[:, 2:4].astype(np.float32)  # petal length, petal width (cm)
    y = np.where(d.target == 0, 1.0, -1.0).astype(np.float32)  # setosa vs the rest
    svm = SVC(kernel="linear", C=1e6).fit(x, y)
    return x, y, np.concatenate([svm.coef_[0], svm.intercept_])


def _line(ax, w, lo, hi, **kw):
    """Draw w1 x1 + w2 x2 + b = 0 over x1 in [lo, hi]."""
    w = np.asarray(w, np.float64)
    xs = np.linspace(lo, hi, 2)
    if abs(w[1]) > 1e-12:
        ax.plot(xs, -(w[0] * xs + w[2]) / w[1], **kw)
    elif abs(w[0]) > 1e-12:
        ax.axvline(-w[2] / w[0], **kw)


def _scatter(ax, x, y, title):
    ax.scatter(x[y > 0, 0], x[y > 0, 1], marker="o", c="tab:red", label="+1", zorder=3)
    ax.scatter(x[y < 0, 0], x[y < 0, 1], marker="x", c="tab:blue", label="−1", zorder=3)
    ax.set_title(title, fontsize=9)


def run(config: dict, out: Path, seed: int) -> Result:
    """Train on every data set; write decision-line, mistakes and XOR-failure plots."""
    max_epochs = int(config["max_epochs"])
    key = jax.random.key(seed)
    sets = {g: (_X4, y, _GATE_U.get(g)) for g, y in _GATES.items()}
    sets["separable"] = _separable(key, int(config["n_separable"]), float(config["gap"]))
    sets["iris"] = _iris()

    metrics, fits, extra = {}, {}, {}
    for name, (x, y, u) in sets.items():
        model = pc.PerceptronConfig(np.shape(x)[1], max_epochs=max_epochs)
        fit = pc.fit(x, y, config=model)
        fits[name] = fit
        acc = float(jnp.mean(pc.apply(fit.params, x, config=model) == y))
        metrics.update({f"{name}_mistakes": int(fit.mistakes), f"{name}_epochs": int(fit.epochs),
                        f"{name}_converged": float(fit.converged),
                        f"{name}_train_accuracy": acc})
        if u is not None:
            nb = pc.novikoff_bound(x, y, jnp.asarray(u, jnp.float32))
            metrics.update({f"{name}_R": float(nb.R), f"{name}_gamma": float(nb.gamma),
                            f"{name}_novikoff_bound": float(nb.bound),
                            f"{name}_mistakes_over_bound": int(fit.mistakes) / float(nb.bound)})
        cert = pc.separability_certificate(x, y)
        metrics[f"{name}_separable"] = float(cert is None)
        if cert is not None:
            extra[f"{name}_gordan_certificate"] = np.round(cert, 6).tolist()
        extra[f"{name}_mistakes_per_epoch"] = np.asarray(
            fit.mistakes_per_epoch[: int(fit.epochs)]).tolist()
        extra[f"{name}_w"] = np.asarray(fit.params["w"]).tolist()

    plots = [savefig(_plot_gates(fits), out, "perceptron_gates.png"),
             savefig(_plot_mistakes(fits, metrics), out, "perceptron_mistakes.png"),
             savefig(_plot_data(sets, fits), out, "perceptron_separable.png"),
             savefig(_plot_xor(), out, "perceptron_xor.png")]
    notes = (
        f"AND and OR converge after {metrics['and_mistakes']} and {metrics['or_mistakes']} "
        f"updates (Novikoff bounds {metrics['and_novikoff_bound']:.1f} and "
        f"{metrics['or_novikoff_bound']:.1f} for the hand separators x1+x2 = 1.5 / 0.5). "
        f"XOR never converges in {max_epochs} epochs (every sample of every epoch is a "
        "mistake and ŵ returns to 0 after each epoch); the LP finds a Gordan certificate "
        f"(λ = {extra.get('xor_gordan_certificate')}), a proof that no line separates it. "
        f"Generated separable data: {metrics['separable_mistakes']} mistakes ≤ bound "
        f"{metrics['separable_novikoff_bound']:.0f}; iris setosa vs rest: "
        f"{metrics['iris_mistakes']} ≤ {metrics['iris_novikoff_bound']:.0f} (max-margin γ). "
        "The algorithm box's test 'wᵀ(y x) < 0' never fires from w₀ = 0: it must be ≤ 0."
    )
    return Result(
        metrics=metrics,
        reference={"and_train_accuracy": 1.0, "or_train_accuracy": 1.0,
                   "xor_train_accuracy": 0.75, "xor_separable": 0.0},
        reference_source=("AND/OR separable (XOR lecture notes: w = [1, 1], b = −1 / 0); "
                          "XOR: no line is right on more than 3 of the 4 points (0.75 is an "
                          "upper bound); Novikoff (1963) via Qiu Xipeng (2015): K ≤ R²/γ²"),
        plots=plots, notes=notes, extra=extra,
    )


def _plot_gates(fits):
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.2), layout="constrained")
    for ax, g in zip(axes, ("and", "or", "xor")):
        _scatter(ax, _X4, _GATES[g], f"{g.upper()}: converged={bool(fits[g].converged)}, "
                                     f"{int(fits[g].mistakes)} updates")
        # the learned line wide and pale underneath: where the two coincide both show
        _line(ax, fits[g].params["w"], -0.5, 1.5, color="k", lw=3.5, alpha=0.35,
              label="learned")
        if g in _GATE_U:
            _line(ax, _GATE_U[g], -0.5, 1.5, color="k", ls=":", lw=1.4, label="hand separator")
        ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xlabel="x1", ylabel="x2")
    _style.legend(fig, ncols=4)
    return fig


def _plot_mistakes(fits, metrics):
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, fit in fits.items():
        k = np.asarray(fit.mistakes_per_epoch[: int(fit.epochs)])
        ax.plot(np.arange(1, len(k) + 1), k, "o-" if len(k) < 30 else "-", ms=3,
                label=f"{name} (K={int(fit.mistakes)}"
                      + (f", bound {metrics[name + '_novikoff_bound']:.0f})"
                         if name + "_novikoff_bound" in metrics else ")"))
    ax.set(xlabel="epoch", ylabel="mistakes in the epoch", xscale="log",
           title="mistakes per epoch (stops at the first mistake-free epoch)")
    ax.legend(fontsize=7)
    return fig


def _plot_data(sets, fits):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, name in zip(axes, ("separable", "iris")):
        x, y, u = sets[name]
        _scatter(ax, x, y, f"{name}: {int(fits[name].mistakes)} mistakes")
        lo, hi = float(x[:, 0].min()), float(x[:, 0].max())
        _line(ax, fits[name].params["w"], lo, hi, color="k", label="perceptron")
        _line(ax, u, lo, hi, color="gray", ls=":", label="reference separator u")
        ax.set_ylim(float(x[:, 1].min()) - 0.3, float(x[:, 1].max()) + 0.3)
        ax.legend(fontsize=7)
    axes[0].set(xlabel="x1", ylabel="x2")
    axes[1].set(xlabel="petal length (cm)", ylabel="petal width (cm)")
    return fig


def _plot_xor():
    """Regions after each update of XOR's first epoch: the epoch ends back at ŵ = 0."""
    model = pc.PerceptronConfig(2)
    ws, wrong = pc.epoch_trace(pc.init(None, model), _X4, _GATES["xor"])
    g = np.linspace(-0.5, 1.5, 101, dtype=np.float32)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    fig, axes = plt.subplots(1, 4, figsize=(13, 4), sharey=True, layout="constrained")
    for i, (ax, w) in enumerate(zip(axes, np.asarray(ws)), start=1):
        pred = np.asarray(pc.apply({"w": jnp.asarray(w)}, grid, config=model)).reshape(len(g),
                                                                                    len(g))
        ax.contourf(g, g, pred, levels=[-2, 0, 2], colors=["#d6e4f5", "#f7d6d6"])
        _scatter(ax, _X4, _GATES["xor"], f"after sample {i} ({'update' if wrong[i - 1] else 'ok'})"
                 f": ŵ = {w.tolist()}")
        ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xlabel="x1")
    axes[0].set_ylabel("x2  (shaded red: predicted +1)")
    _style.legend(fig, ncols=2)
    fig.suptitle("XOR: every sample of the epoch is a mistake and ŵ returns to 0 — "
                 "the perceptron cycles forever", fontsize=10)
    return fig
