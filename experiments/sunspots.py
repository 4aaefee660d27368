"""One-step forecasting of the yearly sunspot numbers (1700–2008, bundled with statsmodels).

Each model reads the last ``window`` years (scaled with the training part's mean and standard
deviation) and predicts the next year's value: a simple RNN (Qiu Xipeng, 《神经网络与深度学习》
(2015), eq 177), an LSTM (eq 187–192 without peepholes) and a GRU (eq 193–196), each read out
by one dense layer (:mod:`jaxnn.models.sequence`), full-batch Adam on the MSE, stopped early on
the last 20% of the training windows (in time). The last
``test_size`` years are held out; the comparison is the RMSE there, in sunspot units, beside
two baselines fitted on the same training windows: the naive forecast "next year = this year",
and a linear autoregression AR(window) by least squares.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Result, savefig
from ._recurrent import CELLS, adam_schedule, make_chunk_runner, train_chunks
from jaxnn.data import sequences
from jaxnn.errors import check_choice
from jaxnn.models import sequence as model

TITLE = "Sunspots: one-step forecasts by RNN, LSTM and GRU vs the naive last-value baseline"
HEADLINE = ("test_rmse_naive", "test_rmse_ar", "test_rmse_rnn", "test_rmse_lstm", "test_rmse_gru")

QUICK = {"window": 20, "test_size": 50, "valid_fraction": 0.2, "cells": ["rnn", "lstm", "gru"],
         "hidden": 16, "steps": 600, "chunk": 50, "lr": 5e-3, "clip": 1.0, "seeds": 1}
FULL = {"window": 20, "test_size": 50, "valid_fraction": 0.2, "cells": ["rnn", "lstm", "gru"],
        "hidden": 32, "steps": 2000, "chunk": 50, "lr": 5e-3, "clip": 1.0, "seeds": 3}


def ar_least_squares(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """Linear AR(w) forecast: least-squares fit of ``y ≈ [x, 1] β`` on the training windows.

    Args:
        x_train: ``(N, w, 1)`` windows; y_train: ``(N,)`` next values; x_test: ``(M, w, 1)``.

    Returns:
        ``(M,)`` forecasts.
    """
    def design(x):
        return np.concatenate([x[..., 0], np.ones((x.shape[0], 1))], axis=1).astype(np.float64)

    beta, *_ = np.linalg.lstsq(design(x_train), y_train.astype(np.float64), rcond=None)
    return design(x_test) @ beta


def fit_forecaster(cell: str, split: sequences.ForecastSplit, config: dict, key: jax.Array):
    """Full-batch training of one cell with early stopping on a validation tail.

    The last ``valid_fraction`` of the training windows (in time) is held out for validation;
    after every chunk of ``chunk`` steps the validation MSE is measured and the best
    parameters so far are kept (the test tail is never looked at).

    Returns:
        ``(best params, per-chunk training losses, per-chunk validation MSEs)``.
    """
    k_init, k_train = jax.random.split(key)
    cfg = model.SequenceConfig(cell, 1, config["hidden"], 1, task="mse")
    params = model.init(k_init, cfg)
    n_valid = max(1, int(round(config["valid_fraction"] * split.x_train.shape[0])))
    train = (jnp.asarray(split.x_train[:-n_valid]), jnp.asarray(split.y_train[:-n_valid]))
    valid = (jnp.asarray(split.x_train[-n_valid:]), jnp.asarray(split.y_train[-n_valid:]))

    def loss_fn(p, batch, _key=None):
        return model.loss(p, batch, config=cfg)

    opt = adam_schedule(config["lr"], config["steps"], "cosine", clip_norm=config["clip"])
    run = make_chunk_runner(loss_fn, lambda _k, d: d, opt, config["chunk"])
    valid_loss = jax.jit(loss_fn)
    opt_state = opt.init(params)
    best, best_valid, losses, valids = params, float(valid_loss(params, valid)), [], []
    for c in range(max(1, -(-config["steps"] // config["chunk"]))):
        params, opt_state, ls = train_chunks(run, params, opt_state,
                                             jax.random.fold_in(k_train, c), 1, train)
        losses += ls
        valids.append(float(valid_loss(params, valid)))
        if valids[-1] < best_valid:
            best, best_valid = params, valids[-1]
    return best, losses, valids


def run(config: dict, out: Path, seed: int) -> Result:
    """Train each cell (``seeds`` restarts, forecasts averaged); RMSE on the held-out tail."""
    import matplotlib.pyplot as plt

    for cell in config["cells"]:
        check_choice(cell, CELLS, "cell")
    years, values = sequences.sunspots()
    split = sequences.forecast_split(values, config["window"], config["test_size"])
    y_true = values[split.t_test]
    scale = lambda z: np.asarray(z, np.float64) * split.std + split.mean  # noqa: E731

    def rmse(pred):
        return float(np.sqrt(np.mean((pred - y_true) ** 2)))

    forecasts = {"naive (last value)": values[split.t_test - 1],
                 f"AR({config['window']}) least squares":
                     scale(ar_least_squares(split.x_train, split.y_train, split.x_test))}
    metrics = {"test_rmse_naive": rmse(forecasts["naive (last value)"]),
               "test_rmse_ar": rmse(forecasts[f"AR({config['window']}) least squares"])}
    key = jax.random.key(seed)
    curves = {}
    for i, cell in enumerate(config["cells"]):
        preds, per_seed = [], []
        for s in range(config["seeds"]):
            params, losses, valids = fit_forecaster(cell, split, config,
                                                    jax.random.fold_in(key, 10 * i + s))
            cfg = model.SequenceConfig(cell, 1, config["hidden"], 1)
            pred = scale(jax.jit(lambda p, x, c=cfg: model.apply(p, x, config=c))(
                params, jnp.asarray(split.x_test))[:, 0])
            preds.append(pred)
            per_seed.append(rmse(pred))
            curves[f"{cell}_seed{s}"] = {"train": losses, "valid": valids}
        forecasts[cell] = np.mean(preds, axis=0)
        metrics[f"test_rmse_{cell}"] = float(np.mean(per_seed))
        metrics[f"test_rmse_{cell}_seed_std"] = float(np.std(per_seed))
        metrics[f"test_rmse_{cell}_ensemble"] = rmse(forecasts[cell])
        metrics[f"best_valid_mse_scaled_{cell}"] = float(np.mean(
            [min(curves[f"{cell}_seed{s}"]["valid"]) for s in range(config["seeds"])]))
    for cell in config["cells"]:
        metrics[f"rmse_ratio_{cell}_vs_naive"] = (metrics[f"test_rmse_{cell}"]
                                                  / metrics["test_rmse_naive"])
    plot = _plot(years, values, split, forecasts, out, plt)
    best = min(config["cells"], key=lambda c: metrics[f"test_rmse_{c}"])
    notes = (f"One-step RMSE on the last {config['test_size']} years (sunspot units): naive "
             f"{metrics['test_rmse_naive']:.2f}, AR {metrics['test_rmse_ar']:.2f}, best recurrent "
             f"{best} {metrics[f'test_rmse_{best}']:.2f} (mean over {config['seeds']} seed(s)).")
    return Result(metrics=metrics, reference={}, reference_source=(
        "no published number for this exact split; the naive last-value and least-squares AR "
        "forecasts on the same windows are the baselines"),
        plots=[plot], notes=notes,
        extra={"train_loss_per_chunk": curves, "test_years": years[split.t_test].tolist(),
               "forecasts": {k: np.asarray(v).tolist() for k, v in forecasts.items()}})


def _plot(years, values, split, forecasts: dict, out: Path, plt) -> str:
    fig, ax = plt.subplots(figsize=(10, 4))
    start = max(0, split.t_test[0] - 60)
    ax.plot(years[start:], values[start:], color="k", lw=2, label="observed")
    ax.axvline(years[split.t_test[0]] - 0.5, color="gray", ls=":", lw=1,
               label="first held-out year")
    for name, f in forecasts.items():
        ax.plot(years[split.t_test], f, lw=1.2, ls="--" if "naive" in name else "-", label=name)
    ax.set_xlabel("year")
    ax.set_ylabel("yearly mean sunspot number")
    ax.set_title("one-step-ahead forecasts on the held-out tail")
    ax.legend(fontsize=8, ncol=2)
    return savefig(fig, out, "sunspots_forecasts.png")
