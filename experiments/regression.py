"""Linear, logistic and softmax regression, and the generative (shared-Gaussian) view.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 70–81 (least squares vs gradient descent; eq 81's
sign corrected), eq 83–91 (logistic regression, gradient (ŷ − y)x), eq 93–104 (softmax
regression, gradient −x(1{y = c} − p)); the generative view: Gaussian classes with a shared
covariance give p(C_k | x) = softmax(w_kᵀx + w_k0), w_k = Σ⁻¹u_k, w_k0 = −½u_kᵀΣ⁻¹u_k + ln p(C_k).

Data (scikit-learn's bundled copies, split by ``jaxnn.data`` with the run's seed, inputs
standardized with training statistics): diabetes (regression, 10 features), breast cancer
(binary), digits 8×8 and iris (softmax), iris and wine (generative vs discriminative).

The reference column is *not* published numbers: it is scikit-learn's own estimators on the very
same split (LinearRegression, LogisticRegression with a negligible penalty,
LinearDiscriminantAnalysis), an independent implementation of the same models. The least-squares
part runs in float64 (``x64``), so that the distance between the closed form and gradient
descent measures convergence, not float32 round-off.
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
from ._classify import standardized
from jaxnn import data, metrics
from jaxnn.errors import JaxnnError
from jaxnn.models import generative
from jaxnn.models import linear as lm
from jaxnn.optim import sgd
from jaxnn.train import gradient_descent

TITLE = "Regression: least squares vs GD, logistic, softmax, shared-Gaussian generative classifier"
HEADLINE = ("ls_test_mse", "logistic_test_accuracy", "softmax_digits_test_accuracy")
QUICK = {"gd_steps": 3000, "gd_lr": 0.1, "cls_steps": 500, "cls_lr": 0.5, "x64": True}
FULL = {"gd_steps": 50000, "gd_lr": 0.1, "cls_steps": 5000, "cls_lr": 0.5, "x64": True}


def train_classifier(model: lm.LinearConfig, ds: data.Dataset, config: dict, y_train=None):
    """Full-batch GD from zero with ``jaxnn.optim.sgd`` on ``lm.loss``; returns the GDResult."""
    y = ds.y_train if y_train is None else y_train
    params = lm.init(None, model)
    return gradient_descent(functools.partial(lm.loss, config=model), params, (ds.x_train, y),
                               steps=config["cls_steps"], optimizer=sgd(config["cls_lr"]))


def _softmax_model(ds: data.Dataset, c: int) -> lm.LinearConfig:
    return lm.LinearConfig(ds.x_train.shape[1], c, kind="softmax", dtype=ds.x_train.dtype)


def _sklearn_logreg(ds: data.Dataset) -> float:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1e6, max_iter=20000).fit(ds.x_train, ds.y_train)
    return float(clf.score(ds.x_test, ds.y_test))


def _least_squares_part(config: dict, seed: int, metrics_: dict, reference: dict, extra: dict):
    ds = standardized("diabetes", seed, np.float64 if config["x64"] else np.float32)
    y_train, y_test = ds.y_train.astype(ds.x_train.dtype), ds.y_test.astype(ds.x_train.dtype)
    model = lm.LinearConfig(ds.x_train.shape[1], dtype=ds.x_train.dtype)
    loss = functools.partial(lm.loss, config=model)
    mse = lambda p, x, y: float(loss(p, (x, y)))  # noqa: E731
    p_normal = lm.least_squares(ds.x_train, y_train, method="normal")
    p_lstsq = lm.least_squares(ds.x_train, y_train, method="lstsq")
    gd = gradient_descent(loss, lm.init(None, model),
                             (ds.x_train, y_train), steps=config["gd_steps"], optimizer=sgd(config["gd_lr"]))
    flat = lambda p: np.concatenate([np.ravel(p["b"]), np.ravel(p["W"])])  # noqa: E731
    X = np.asarray(lm.design_matrix(ds.x_train))
    metrics_.update(
        ls_train_mse=mse(p_normal, ds.x_train, y_train), ls_test_mse=mse(p_normal, ds.x_test, y_test),
        lstsq_test_mse=mse(p_lstsq, ds.x_test, y_test), gd_test_mse=mse(gd.params, ds.x_test, y_test),
        gd_train_mse=mse(gd.params, ds.x_train, y_train),
        gd_ls_distance=float(np.linalg.norm(flat(gd.params) - flat(p_normal))),
        normal_lstsq_distance=float(np.linalg.norm(flat(p_lstsq) - flat(p_normal))),
        gram_condition_number=float(np.linalg.cond(X @ X.T)))
    try:  # a duplicated feature makes XXᵀ singular: the normal equations must refuse
        lm.least_squares(np.concatenate([ds.x_train, 2 * ds.x_train[:, :1]], 1), y_train)
        metrics_["singular_gram_detected"] = 0.0
    except JaxnnError as err:
        metrics_["singular_gram_detected"] = 1.0
        extra["singular_gram_error"] = str(err)
    from sklearn.linear_model import LinearRegression

    sk = LinearRegression().fit(ds.x_train, y_train)
    reference["ls_test_mse"] = float(np.mean((sk.predict(ds.x_test) - y_test) ** 2))
    extra["gd_train_mse_curve"] = np.asarray(gd.losses)[:: max(1, config["gd_steps"] // 200)].tolist()
    return gd.losses, metrics_["ls_train_mse"]


def _plot_gd(losses, ls_mse, config, out) -> str:
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    excess = np.maximum(np.asarray(losses, np.float64) - ls_mse, 1e-16)
    ax.semilogy(np.arange(len(excess)), excess)
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("train MSE − least-squares MSE")
    ax.set_title(f"diabetes: GD (λ = {config['gd_lr']}) → (XXᵀ)⁻¹Xy")
    return savefig(fig, out, "regression_gd_convergence.png")


def _plot_confusions(cms: dict, out) -> str:
    fig, axes = plt.subplots(1, len(cms), figsize=(5.6 * len(cms), 4.4))
    for ax, (name, cm) in zip(np.atleast_1d(axes), cms.items()):
        _style.heatmap(ax, cm, title=f"softmax regression, {name} (test)",
                       xlabel="predicted class", ylabel="true class",
                       colorbar_label="test samples")
    return savefig(fig, out, "softmax_confusion.png")


def _softmax_part(config, seed, metrics_, reference) -> dict:
    cms = {}
    for name in ("digits", "iris"):
        ds = standardized(name, seed)
        c = int(ds.y_train.max()) + 1
        res = train_classifier(_softmax_model(ds, c), ds, config)
        pred = jnp.argmax(lm.softmax_logits(res.params, ds.x_test), axis=1)
        metrics_[f"softmax_{name}_test_accuracy"] = float(metrics.accuracy(pred, ds.y_test))
        metrics_[f"softmax_{name}_final_train_loss"] = float(res.losses[-1])
        cms[name] = np.asarray(metrics.confusion_matrix(pred, jnp.asarray(ds.y_test), c))
        reference[f"softmax_{name}_test_accuracy"] = _sklearn_logreg(ds)
    return cms


def _generative_part(config, seed, metrics_, reference, extra):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    for name in ("iris", "wine"):
        ds = standardized(name, seed, np.float64)
        c = int(ds.y_train.max()) + 1
        gc = generative.GenerativeConfig(ds.x_train.shape[1], c)
        gp = generative.fit(ds.x_train, ds.y_train, config=gc)
        post = generative.apply(gp, ds.x_test, config=gc)
        metrics_[f"generative_{name}_test_accuracy"] = float(metrics.accuracy(post, jnp.asarray(ds.y_test)))
        metrics_[f"generative_{name}_bayes_max_abs_diff"] = float(
            jnp.max(jnp.abs(post - generative.bayes_posterior(gp, ds.x_test))))
        res = train_classifier(_softmax_model(ds, c), ds, config)
        metrics_[f"discriminative_{name}_test_accuracy"] = float(
            metrics.accuracy(lm.softmax_logits(res.params, ds.x_test), jnp.asarray(ds.y_test)))
        lda = LinearDiscriminantAnalysis(solver="lsqr").fit(ds.x_train, ds.y_train)
        reference[f"generative_{name}_test_accuracy"] = float(lda.score(ds.x_test, ds.y_test))
        extra[f"generative_{name}_lda_max_proba_diff"] = float(
            np.max(np.abs(np.asarray(post) - lda.predict_proba(ds.x_test))))


def run(config: dict, out: Path, seed: int) -> Result:
    m: dict[str, float] = {}
    ref: dict[str, float] = {}
    extra: dict = {}
    plots = []
    parts = tqdm(["least squares vs GD", "logistic", "softmax", "generative"], desc="regression")
    for part in parts:
        parts.set_postfix_str(part)
        if part == "least squares vs GD":
            with jax.enable_x64(config["x64"]):
                losses, ls_mse = _least_squares_part(config, seed, m, ref, extra)
            plots.append(_plot_gd(losses, ls_mse, config, out))
        elif part == "logistic":
            ds = standardized("breast_cancer", seed)
            model = lm.LinearConfig(ds.x_train.shape[1], kind="logistic", dtype=ds.x_train.dtype)
            res = train_classifier(model, ds, config, y_train=ds.y_train.astype(np.float32))
            prob = lm.apply(res.params, ds.x_test, config=model)
            m["logistic_test_accuracy"] = float(np.mean((np.asarray(prob) > 0.5) == (ds.y_test == 1)))
            m["logistic_final_train_loss"] = float(res.losses[-1])
            ref["logistic_test_accuracy"] = _sklearn_logreg(ds)
        elif part == "softmax":
            plots.append(_plot_confusions(_softmax_part(config, seed, m, ref), out))
        else:
            with jax.enable_x64(True):
                _generative_part(config, seed, m, ref, extra)
    notes = (
        f"Least squares on diabetes: test MSE {m['ls_test_mse']:.1f} (normal equations) and "
        f"{m['lstsq_test_mse']:.1f} (lstsq); {config['gd_steps']} GD steps reach "
        f"{m['gd_test_mse']:.1f}, at distance {m['gd_ls_distance']:.2e} from (XXᵀ)⁻¹Xy "
        f"(cond(XXᵀ) = {m['gram_condition_number']:.0f}). Logistic regression on breast cancer: "
        f"test accuracy {m['logistic_test_accuracy']:.3f}. Softmax regression: digits "
        f"{m['softmax_digits_test_accuracy']:.3f}, iris {m['softmax_iris_test_accuracy']:.3f}. "
        f"The shared-covariance Gaussian posterior written as a linear softmax equals Bayes' rule "
        f"to {max(m['generative_iris_bayes_max_abs_diff'], m['generative_wine_bayes_max_abs_diff']):.1e}"
        f" (float64); generative vs discriminative test accuracy: iris "
        f"{m['generative_iris_test_accuracy']:.3f} vs {m['discriminative_iris_test_accuracy']:.3f}, wine "
        f"{m['generative_wine_test_accuracy']:.3f} vs {m['discriminative_wine_test_accuracy']:.3f}.")
    return Result(metrics=m, reference=ref, plots=plots, notes=notes, extra=extra,
                  reference_source="scikit-learn 1.9 estimators fitted on the same split "
                  "(LinearRegression, LogisticRegression C=1e6, LinearDiscriminantAnalysis lsqr); "
                  "not published numbers")
