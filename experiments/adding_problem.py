"""The adding problem (Hochreiter & Schmidhuber 1997): can a recurrent net carry two numbers
across T steps? Simple RNN vs LSTM vs GRU against the 1/6 baseline of predicting the mean.

Each step carries (value ~ U[0, 1], marker); the target is the sum of the two marked values
(:func:`jaxnn.data.sequences.adding_problem`). Predicting the constant E[y] = 1 scores MSE =
Var[y] = 1/6 ≈ 0.167 exactly, so a test MSE near 0.167 means nothing was learned; success is
MSE far below it (we call < 0.01 solved). Every training step draws a fresh batch from its PRNG
key inside the jitted step (``jaxnn.train.make_train_step``), and a ``lax.scan`` runs ``chunk``
steps per dispatch (:mod:`experiments._recurrent`). Adam with gradient clipping.

``chrono`` (default on) starts each LSTM with the chrono initialisation of Tallec & Ollivier
2018 for dependencies up to T steps (:class:`jaxnn.nn.cells.LSTM`): with the usual forget bias
of 1 a unit keeps ``σ(1)^T`` of its cell, nothing at T = 500, and the LSTM never leaves the 1/6
plateau in 4,000 steps (``--set chrono=false`` shows it); the GRU and the simple RNN are not
affected by it.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from . import _style
from ._base import Result, savefig
from ._recurrent import CELLS, adding_config, train_adding
from jaxnn.data import sequences
from jaxnn.errors import JaxnnError, check_choice
from jaxnn.models import sequence as model

TITLE = "Adding problem: simple RNN fails, LSTM and GRU carry two numbers across T steps"
HEADLINE = ("test_mse_lstm_T*", "test_mse_gru_T*", "test_mse_rnn_T*")

QUICK = {"lengths": [50], "cells": ["rnn", "lstm", "gru"], "hidden": 32, "batch": 32,
         "steps": 800, "chunk": 100, "lr": 1e-2, "clip": 1.0, "test_size": 1000,
         "chrono": True}
FULL = {"lengths": [50, 100, 200, 500, 1000], "cells": ["rnn", "lstm", "gru"], "hidden": 32,
        "batch": 32, "steps": 4000, "chunk": 100, "lr": 5e-3, "clip": 1.0, "test_size": 2000,
        "chrono": True}

SOLVED_MSE = 0.01


# --------------------------------------------------------------------------- the experiment


def _check_config(config: dict) -> None:
    for cell in config["cells"]:
        check_choice(cell, CELLS, "cell")
    if not isinstance(config["chrono"], bool):
        raise JaxnnError(f"adding-problem chrono must be true or false; got {config['chrono']!r}")
    for T in config["lengths"]:
        if not isinstance(T, int) or T < 2:
            raise JaxnnError(f"adding-problem lengths must be integers >= 2; got T = {T!r}")


def run(config: dict, out: Path, seed: int) -> Result:
    """Train every cell at every length; test MSE beside the 1/6 baseline; two plots."""
    import matplotlib.pyplot as plt

    _check_config(config)
    key = jax.random.key(seed)
    metrics: dict[str, float] = {"baseline_mse": sequences.ADDING_BASELINE_MSE}
    curves: dict[str, list[float]] = {}
    for T in config["lengths"]:
        x_test, y_test = sequences.adding_problem(jax.random.fold_in(key, 10_000 + T),
                                                  config["test_size"], T)
        metrics[f"baseline_mse_empirical_T{T}"] = float(jnp.mean((y_test - 1.0) ** 2))
        for i, cell in enumerate(config["cells"]):
            params, losses = train_adding(cell, T, config, jax.random.fold_in(key, 100 * T + i))
            cfg = adding_config(cell, T, config)
            pred = jax.jit(lambda p, x, c=cfg: model.apply(p, x, config=c))(params, x_test)[:, 0]
            err = np.asarray(pred - y_test)
            metrics[f"test_mse_{cell}_T{T}"] = float(np.mean(err ** 2))
            # Hochreiter & Schmidhuber's criterion: absolute error below 0.04.
            metrics[f"frac_abs_err_below_0.04_{cell}_T{T}"] = float(np.mean(np.abs(err) < 0.04))
            curves[f"{cell}_T{T}"] = losses
    plots = [_plot_curves(curves, config, out, plt), _plot_final(metrics, config, out, plt)]
    solved = {c: [T for T in config["lengths"] if metrics[f"test_mse_{c}_T{T}"] < SOLVED_MSE]
              for c in config["cells"]}
    notes = ("Test MSE of each cell beside the 1/6 ≈ 0.167 baseline of always predicting E[y] = 1 "
             f"(solved = MSE < {SOLVED_MSE}). Solved lengths: "
             + "; ".join(f"{c}: {v or 'none'}" for c, v in solved.items()) + ".")
    return Result(
        metrics=metrics,
        reference={"baseline_mse": 1.0 / 6.0, "solved_mse": SOLVED_MSE},
        reference_source=("Hochreiter & Schmidhuber 1997, Long Short-Term Memory, exp. 4: LSTM "
                          "solves the adding problem at T = 100, 500, 1000; baseline MSE = Var of "
                          "a sum of two U(0,1) = 1/6"),
        plots=plots, notes=notes,
        extra={"train_loss_per_chunk": curves, "chunk": config["chunk"]})


def _plot_curves(curves: dict, config: dict, out: Path, plt) -> str:
    lengths = config["lengths"]
    fig, axes = plt.subplots(1, len(lengths), figsize=(4.4 * len(lengths), 3.9), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, T in zip(axes[0], lengths):
        for cell in config["cells"]:
            ys = curves[f"{cell}_T{T}"]
            ax.plot(np.arange(1, len(ys) + 1) * config["chunk"], ys, label=cell)
        ax.axhline(1 / 6, color="k", ls="--", lw=1, label="predict mean (1/6)")
        ax.axhline(SOLVED_MSE, color="g", ls=":", lw=1, label=f"solved ({SOLVED_MSE})")
        ax.set_yscale("log")
        ax.set_title(f"T = {T}")
        ax.set_xlabel("training step")
    axes[0][0].set_ylabel("training MSE (chunk mean, log scale)")
    _style.legend(fig, ncols=5)
    fig.suptitle("adding problem: training loss of each cell")
    return savefig(fig, out, "adding_training_curves.png")


def _plot_final(metrics: dict, config: dict, out: Path, plt) -> str:
    lengths, cells = config["lengths"], config["cells"]
    fig, ax = plt.subplots(figsize=(5.8, 4))
    if len(lengths) == 1:      # one length: a bar per cell (a line "versus T" needs several)
        T = lengths[0]
        mse = [metrics[f"test_mse_{c}_T{T}"] for c in cells]
        bars = ax.bar(cells, mse, color=_style.COLORS[:len(cells)])
        ax.bar_label(bars, [f"{v:.2g}" for v in mse], fontsize=8, padding=2)
        ax.set_xlabel("cell")
        ax.set_title(f"adding problem: test MSE at T = {T}")
    else:
        for i, cell in enumerate(cells):
            ax.plot(lengths, [metrics[f"test_mse_{cell}_T{T}"] for T in lengths],
                    label=cell, **_style.series(i, len(cells)))
        ax.set_xscale("log")
        ax.set_xlabel("sequence length T")
        ax.set_title("adding problem: test MSE versus sequence length")
    ax.axhline(1 / 6, color="k", ls="--", lw=1, label="predict mean (1/6)")
    ax.axhline(SOLVED_MSE, color="g", ls=":", lw=1, label=f"solved ({SOLVED_MSE})")
    ax.set_yscale("log")
    ax.set_ylabel("test MSE (log scale)")
    ax.legend(fontsize=8)
    return savefig(fig, out, "adding_test_mse.png")
