"""The notes' optimizers side by side, batch vs mini-batch vs per-sample SGD, dropout and L2,
and early stopping — on one and the same MLP.

Qiu Xipeng, 《神经网络与深度学习》 (2015): gradient descent in batch / stochastic form
(eq 61–63), momentum (eq 64), AdaGrad (eq 65), AdaDelta (eq 66–69), all from
:mod:`jaxnn.optim`; Adam from optax through the same training API. The L2 penalty is the
½λ‖W‖²_F of eq 125 (the "gradual forgetting" of the SVM notes), dropout as in the
feedforward notes' list of training tricks, and early stopping on a validation split as in
the notes' "Early-Stop" slide.

QUICK: scikit-learn's 8×8 digits. FULL: a 10,000-image subset of MNIST's training set (the
comparison is between optimizers, not a benchmark), tested on the full 10k test set.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import matplotlib.pyplot as plt
import numpy as np
import optax

from . import _style
from ._base import Result, savefig
from ._classify import classifier, load
from jaxnn import metrics, optim
from jaxnn.models import mlp
from jaxnn.train import evaluate, fit

OPTIMIZERS = ("sgd", "momentum", "adagrad", "adadelta", "adam")

TITLE = "SGD / momentum / AdaGrad / AdaDelta / Adam, batch sizes, dropout and L2, early stopping"
HEADLINE = ("sgd_test_error", "momentum_test_error", "adam_test_error")

QUICK = {"dataset": "digits", "n_train": None, "optimizers": list(OPTIMIZERS),
         "batch_modes": ["batch", "minibatch", "per_sample"], "regularization": "grid", "hidden": 64, "activation": "tanh",
         "epochs": 30, "batch_size": 32, "valid_fraction": 0.2,
         "lr": {"sgd": 0.1, "momentum": 0.02, "adagrad": 0.05, "adam": 0.003},
         "adadelta_rho": 0.95, "adadelta_eps": 1e-6, "l2": 1e-3, "dropout": 0.3,
         "overfit_hidden": 256, "overfit_n_train": 300, "overfit_epochs": 100, "patience": 10}
FULL = {"dataset": "mnist", "n_train": 10000, "optimizers": list(OPTIMIZERS),
        "batch_modes": ["batch", "minibatch", "per_sample"], "regularization": "grid", "hidden": 256, "activation": "tanh",
        "epochs": 30, "batch_size": 64, "valid_fraction": 0.1,
        "lr": {"sgd": 0.1, "momentum": 0.01, "adagrad": 0.05, "adam": 0.001},
        "adadelta_rho": 0.95, "adadelta_eps": 1e-6, "l2": 1e-4, "dropout": 0.3,
        "overfit_hidden": 512, "overfit_n_train": 1000, "overfit_epochs": 100, "patience": 10}


def make_optimizer(name: str, cfg: dict) -> optax.GradientTransformation:
    """The named optimizer with the learning rate of ``cfg`` (AdaDelta has none)."""
    if name == "adadelta":
        return optim.adadelta(rho=cfg["adadelta_rho"], eps=cfg["adadelta_eps"])
    if name == "adam":
        return optax.adam(cfg["lr"]["adam"])
    return optim.OPTIMIZERS[name](cfg["lr"][name])


def _train(cfg, train, valid, test, key, *, optimizer, hidden=None, epochs=None,
           batch_size="cfg", l2=0.0, dropout=0.0, patience=None, desc=""):
    """Fit one MLP; return (FitResult, test error at the best-validation parameters)."""
    n0 = train[0].shape[1]
    model = mlp.MLPConfig((n0, hidden or cfg["hidden"], 10), activation=cfg["activation"],
                          output="softmax", loss="cross_entropy", dropout=dropout, init="glorot")
    loss_fn, eval_fn = classifier(model)
    kinit, kfit = jax.random.split(key)
    params = mlp.init(kinit, model)
    # L2 on the weight matrices (ndim >= 2), not the biases: ½λΣ‖W‖² of eq 125
    decay = optim.l2(l2, mask=lambda p: optim.mask_leaves(p, lambda _, w: w.ndim >= 2))
    res = fit(params, loss_fn, optax.chain(decay, optimizer), train, epochs=epochs or cfg["epochs"],
              batch_size=cfg["batch_size"] if batch_size == "cfg" else batch_size, key=kfit,
              valid_data=valid, eval_fn=eval_fn, patience=patience, progress=desc or True)
    logits = dataclasses.replace(model, output="identity")
    acc = evaluate(lambda p, b: metrics.accuracy(
        mlp.apply(p, b[0], config=logits), b[1]), res.best_params, test, 4096)
    return res, 1.0 - acc


_NAMES = {"train_loss": "training loss (cross-entropy)",
          "valid_loss": "validation loss (cross-entropy)",
          "valid_error": "validation error (fraction misclassified)"}


def _curves(ax, runs: dict, key: str, title: str, log: bool = True) -> None:
    for i, (name, (res, _)) in enumerate(runs.items()):
        ep = [h["epoch"] for h in res.history]
        ax.plot(ep, [h[key] for h in res.history], label=name, markevery=0.1,
                **_style.series(i, len(runs)))
    ax.set(xlabel="epoch", ylabel=_NAMES.get(key, key), title=title)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8)


def _plot_regularization(reg_runs: dict, n_train: int) -> plt.Figure:
    """Validation loss, training loss and their gap for each (L2, dropout) setting."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    _curves(axes[0], reg_runs, "valid_loss", "validation loss")
    _curves(axes[1], reg_runs, "train_loss", "training loss")
    for i, (name, (res, _)) in enumerate(reg_runs.items()):
        axes[2].plot([h["epoch"] for h in res.history],
                     [h["valid_loss"] - h["train_loss"] for h in res.history], label=name,
                     markevery=0.1, **_style.series(i, len(reg_runs)))
    axes[2].axhline(0, color="k", lw=0.6)
    late = [h["valid_loss"] - h["train_loss"] for r, _ in reg_runs.values()
            for h in r.history[len(r.history) // 4:]]   # the first epochs' gap is off-scale
    pad = 0.15 * (max(late) - min(late) + 1e-12)
    _style.label(axes[2], "generalisation gap (after the first quarter of the epochs)",
                 "epoch", "validation − training loss", ylim=(min(late) - pad, max(late) + pad))
    axes[2].legend(fontsize=8)
    final = {k: r.history[-1] for k, (r, _) in reg_runs.items()}
    gap = {k: h["valid_loss"] - h["train_loss"] for k, h in final.items()}
    best = min(final, key=lambda k: final[k]["valid_loss"])
    first, last = list(reg_runs)[0], list(reg_runs)[-1]
    fig.suptitle(f"L2 and dropout with momentum, {n_train} training images: final gap "
                 f"{gap[first]:.3f} ({first}) vs {gap[last]:.3f} ({last}); lowest final "
                 f"validation loss: {best}")
    return fig


def _subset(train, n):
    return train if n is None else tuple(a[:n] for a in train)


def run(config: dict, out: Path, seed: int) -> Result:
    cfg = config
    train, valid, test = load(cfg["dataset"], cfg["valid_fraction"], seed)
    train = _subset(train, cfg["n_train"])
    key = jax.random.key(seed)
    m: dict[str, float] = {}
    plots = []

    # 1. the optimizers, same network, same data order
    opt_runs = {name: _train(cfg, train, valid, test, key, optimizer=make_optimizer(name, cfg),
                             desc=name) for name in cfg["optimizers"]}
    for name, (res, err) in opt_runs.items():
        m[f"{name}_final_train_loss"] = res.history[-1]["train_loss"]
        m[f"{name}_test_error"] = err
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    _curves(axes[0], opt_runs, "train_loss", "training loss (same net, same batches)")
    _curves(axes[1], opt_runs, "valid_error", "validation error", log=False)
    plots.append(savefig(fig, out, "optimizers.png"))

    # 2. batch vs mini-batch vs per-sample gradient descent (eq 61–63): same update, same epochs
    modes = {"batch": ("batch (B=N)", None),
             "minibatch": (f"mini-batch (B={cfg['batch_size']})", "cfg"),
             "per_sample": ("per-sample (B=1)", 1)}
    mode_runs = {}
    for tag in cfg["batch_modes"]:
        label, bs = modes[tag]
        mode_runs[label] = _train(cfg, train, valid, test, key, batch_size=bs, desc=label,
                                  optimizer=optim.sgd(cfg["lr"]["sgd"]))
        m[f"sgd_{tag}_final_train_loss"] = mode_runs[label][0].history[-1]["train_loss"]
        m[f"sgd_{tag}_test_error"] = mode_runs[label][1]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    _curves(ax, mode_runs, "train_loss", "SGD: what each step averages over (eq 61–63)")
    plots.append(savefig(fig, out, "batch_modes.png"))

    # 3. dropout and L2 on/off, with momentum
    reg_runs = {}
    settings = [(l2, dr) for l2 in (0.0, cfg["l2"]) for dr in (0.0, cfg["dropout"])]
    if cfg["regularization"] != "grid":  # just off/off and on/on
        settings = [settings[0], settings[-1]]
    for l2, dr in settings:
        label = f"L2={l2:g}, dropout={dr:g}"
        reg_runs[label] = _train(cfg, train, valid, test, key,
                                 optimizer=make_optimizer("momentum", cfg), l2=l2, dropout=dr,
                                 desc=label)
        tag = f"l2_{'on' if l2 else 'off'}_dropout_{'on' if dr else 'off'}"
        res, err = reg_runs[label]
        m[f"{tag}_test_error"] = err
        m[f"{tag}_valid_minus_train_loss"] = (res.history[-1]["valid_loss"]
                                              - res.history[-1]["train_loss"])
    fig = _plot_regularization(reg_runs, len(train[0]))
    plots.append(savefig(fig, out, "regularization.png"))

    # 4. early stopping: a wide net on few samples, trained fast with Adam and no penalty,
    #    overfits; stop when the validation loss has not improved for `patience` epochs
    small = _subset(train, cfg["overfit_n_train"])
    es, es_err = _train(cfg, small, valid, test, key, optimizer=make_optimizer("adam", cfg),
                        hidden=cfg["overfit_hidden"], epochs=cfg["overfit_epochs"],
                        patience=cfg["patience"], desc="early stopping")
    ep = np.array([h["epoch"] for h in es.history])
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(ep, [h["train_loss"] for h in es.history], label="train loss")
    ax.plot(ep, [h["valid_loss"] for h in es.history], label="validation loss")
    ax.axvline(es.best_epoch, color="k", ls="--", label=f"best epoch {es.best_epoch}")
    ax.axvline(ep[-1], color="r", ls=":", label=f"stopped at {ep[-1]} (patience {cfg['patience']})")
    ax.set(xlabel="epoch", ylabel="cross-entropy (log scale)", yscale="log",
           title=f"early stopping ({len(small[0])} training samples)")
    ax.legend(fontsize=8)
    plots.append(savefig(fig, out, "early_stopping.png"))
    es_logits = mlp.MLPConfig((small[0].shape[1], cfg["overfit_hidden"], 10),
                              activation=cfg["activation"])
    final_err = 1.0 - evaluate(lambda p, b: metrics.accuracy(
        mlp.apply(p, b[0], config=es_logits), b[1]), es.params, test, 4096)
    m.update({"early_stop_best_epoch": es.best_epoch, "early_stop_last_epoch": int(ep[-1]),
              "early_stop_stopped": float(es.stopped_early),
              "early_stop_test_error_best": es_err, "early_stop_test_error_last": final_err})

    best_opt = min(cfg["optimizers"], key=lambda n: m[f"{n}_final_train_loss"])
    notes = (f"Lowest final training loss: {best_opt}. Test errors: "
             + ", ".join(f"{n} {m[f'{n}_test_error']:.2%}" for n in cfg["optimizers"])
             + f". Early stopping picked epoch {es.best_epoch} of {int(ep[-1])} run.")
    extra = {"histories": {k: r.history for k, (r, _) in
                           {**opt_runs, **mode_runs, **reg_runs}.items()},
             "early_stopping_history": es.history}
    return Result(metrics=m, reference={}, plots=plots, notes=notes, extra=extra,
                  reference_source="no published numbers for this comparison (qualitative)")
