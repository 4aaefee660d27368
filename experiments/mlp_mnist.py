"""Softmax regression and an MLP on MNIST, beside the published test errors.

The feedforward network of Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 121–125, trained by
mini-batch gradient descent with the notes' momentum (eq 64), early stopping on a validation
split (the notes' "Early-Stop"), and cross-entropy on a softmax output.

- softmax regression = the MLP with no hidden layer (784 → 10);
- MLP = 784 → 800 → 10, Simard et al. (2003)'s 800-hidden-unit network without distortions
  (1.6% test error); we use ReLU units, He initialisation, dropout on the hidden layer and a
  cosine-decayed learning rate, none of which Simard used.

QUICK runs on scikit-learn's 8×8 digits (no download); FULL on the 60k/10k MNIST from the
local cache (``jaxnn fetch mnist``). The test set is only used once, at the parameters with
the lowest validation loss.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

from . import _style
from ._base import Result, savefig
from ._classify import classifier, load
from jaxnn import metrics, optim
from jaxnn.models import mlp
from jaxnn.train import evaluate, fit, plot_history

TITLE = "Softmax regression and an 800-unit MLP on MNIST (QUICK: 8×8 digits)"
HEADLINE = ("linear_test_error", "mlp_test_error")

QUICK = {"dataset": "digits", "hidden": 100, "activation": "relu", "init": "he",
         "epochs_linear": 30, "epochs_mlp": 40, "batch_size": 32, "lr_linear": 0.1,
         "lr_mlp": 0.05, "rho": 0.9, "l2": 1e-4, "dropout": 0.2, "valid_fraction": 0.15,
         "patience": None}
FULL = {"dataset": "mnist", "hidden": 800, "activation": "relu", "init": "he",
        "epochs_linear": 20, "epochs_mlp": 40, "batch_size": 128, "lr_linear": 0.1,
        "lr_mlp": 0.05, "rho": 0.9, "l2": 1e-5, "dropout": 0.5, "valid_fraction": 1 / 12,
        "patience": None}

REFERENCE = {"linear_test_error": 0.12, "linear_test_error_best": 0.076, "mlp_test_error": 0.016}
REFERENCE_SOURCE = ("LeCun et al. (1998), fig. 9: linear classifier (1-layer net) 12.0%, "
                    "pairwise linear classifier on deslanted inputs 7.6%; Simard, Steinkraus & "
                    "Platt (2003), table 1: MLP 800 HU, cross-entropy, no distortions 1.6%")


# --------------------------------------------------------------------------- helpers


def cosine_momentum(lr: float, rho: float, epochs: int, n_train: int, batch_size: int):
    """The notes' momentum (eq 64) with a cosine-decayed rate over all steps."""
    steps = max(1, epochs * (n_train // batch_size))
    return optim.momentum(optax.cosine_decay_schedule(lr, steps), rho=rho)


def _predict(params, x, config):
    return jnp.argmax(mlp.apply(params, x, config=config), axis=-1)


def predictions(params, x, config: mlp.MLPConfig, chunk: int = 4096) -> np.ndarray:
    """Predicted classes for all rows of ``x`` (N, n⁰) in jitted chunks: (N,) ints."""
    f = jax.jit(functools.partial(_predict, config=config))
    return np.concatenate([np.asarray(f(params, x[i:i + chunk])) for i in range(0, len(x), chunk)])


# --------------------------------------------------------------------------- plots


def plot_confusion(cm: np.ndarray, out: Path, filename: str, title: str) -> str:
    fig, ax = plt.subplots(figsize=(5.8, 5))
    _style.heatmap(ax, cm, title=title, xlabel="predicted class", ylabel="true class",
                   colorbar_label="test images (log scale)", log=True, fontsize=6)
    return savefig(fig, out, filename)


def plot_misclassified(x: np.ndarray, y: np.ndarray, pred: np.ndarray, out: Path,
                       filename: str, n: int = 24) -> str:
    wrong = np.flatnonzero(pred != y)
    side = int(round(np.sqrt(x.shape[1])))
    shown = wrong[:n]
    fig = _style.thumbnails([x[i].reshape(side, side) for i in shown],
                            [f"{y[i]}→{pred[i]}" for i in shown],
                            suptitle=f"misclassified test digits (true→predicted): {len(wrong)} "
                                     f"of {len(y)}" + (f", first {len(shown)} shown"
                                                       if len(shown) < len(wrong) else ""))
    return savefig(fig, out, filename)


# --------------------------------------------------------------------------- run


def _train(name: str, sizes, cfg: dict, train, valid, test, key, progress=True) -> dict:
    hidden = len(sizes) > 2
    model = mlp.MLPConfig(sizes, activation=cfg["activation"] if hidden else (),
                          output="softmax", loss="cross_entropy",
                          dropout=cfg["dropout"] if hidden else 0.0,
                          init=cfg["init"] if hidden else "zeros")
    loss_fn, eval_fn = classifier(model)
    epochs = cfg["epochs_mlp" if hidden else "epochs_linear"]
    lr = cfg["lr_mlp" if hidden else "lr_linear"]
    kinit, kfit = jax.random.split(key)
    params = mlp.init(kinit, model)
    # L2 on the weight matrices (ndim >= 2), not the biases: ½λΣ‖W‖² of eq 125
    decay = optim.l2(cfg["l2"], mask=lambda p: optim.mask_leaves(p, lambda _, w: w.ndim >= 2))
    res = fit(params, loss_fn, optax.chain(decay, cosine_momentum(
                  lr, cfg["rho"], epochs, len(train[0]), cfg["batch_size"])),
              train, epochs=epochs, batch_size=cfg["batch_size"], key=kfit, valid_data=valid,
              eval_fn=eval_fn, patience=cfg["patience"],
              progress=(name or True) if progress else False)
    logits = dataclasses.replace(model, output="identity")
    err = 1.0 - evaluate(lambda p, b: metrics.accuracy(
        mlp.apply(p, b[0], config=logits), b[1]), res.best_params, test, 4096)
    return {"result": res, "test_error": err, "model": logits}


def run(config: dict, out: Path, seed: int) -> Result:
    train, valid, test = load(config["dataset"], config["valid_fraction"], seed)
    n0 = train[0].shape[1]
    key = jax.random.key(seed)
    lin = _train("softmax regression", (n0, 10), config, train, valid, test,
                 jax.random.fold_in(key, 1))
    net = _train(f"MLP {config['hidden']} HU", (n0, config["hidden"], 10), config, train, valid,
                 test, jax.random.fold_in(key, 2))

    plots = []
    for tag, r in (("linear", lin), ("mlp", net)):
        name = "softmax regression" if tag == "linear" else f"MLP {config['hidden']} HU"
        plots.append(savefig(plot_history(r["result"].history, None,
                                          title=f"{name}: loss and validation error"),
                             out, f"curves_{tag}.png"))
    pred = predictions(net["result"].best_params, test[0], net["model"])
    cm = np.asarray(metrics.confusion_matrix(jnp.asarray(pred), jnp.asarray(test[1]), 10))
    plots.append(plot_confusion(cm, out, "confusion_mlp.png", "MLP test confusion matrix"))
    plots.append(plot_misclassified(test[0], test[1], pred, out, "misclassified_mlp.png"))

    m = {
        "linear_test_error": lin["test_error"],
        "mlp_test_error": net["test_error"],
        "linear_best_epoch": lin["result"].best_epoch,
        "mlp_best_epoch": net["result"].best_epoch,
        "mlp_final_train_loss": net["result"].history[-1]["train_loss"],
        "mlp_seconds_per_epoch": float(np.median([h["time_s"] for h in net["result"].history])),
        "n_train": len(train[0]),
        "n_test": len(test[0]),
    }
    on_digits = config["dataset"] != "mnist"
    notes = (f"Test error: softmax regression {m['linear_test_error']:.2%}, MLP "
             f"{config['hidden']} HU {m['mlp_test_error']:.2%} (published on MNIST: linear "
             f"7.6–12%, MLP 800 HU 1.6%)."
             + (" QUICK mode trains on the 8×8 digits, whose numbers do not compare with MNIST."
                if on_digits else ""))
    extra = {"history_linear": lin["result"].history, "history_mlp": net["result"].history,
             "confusion_mlp": cm.tolist()}
    return Result(metrics=m, reference=REFERENCE, reference_source=REFERENCE_SOURCE,
                  plots=plots, notes=notes, extra=extra)
