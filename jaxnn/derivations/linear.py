"""Closed-form gradients of the linear models, as ``jax.grad`` returns them.

Each ``grad_<model>(params, batch, *, config)`` returns the pytree ``{"W": (n_out, d),
"b": (n_out,)}`` of ``jax.grad(loss)(params, batch, config=config)`` for the losses in
:mod:`jaxnn.models.linear` and :mod:`jaxnn.models.svm` (batch means). With e = residual or error signal per sample, all of
them have the same shape, ∂J/∂W = eᵀx / N-style outer products and ∂J/∂b = Σ e / N:

=========================  ===========================================================
loss (batch mean)          gradient w.r.t. (w, b)  (x̂ = (x, 1), N samples)
=========================  ===========================================================
squared, ``mean``          (2/N) Σᵢ (f(xᵢ) − yᵢ) x̂ᵢ   (eq 78 over N, with the factor 2)
squared, ``sum``           2 Σᵢ (f(xᵢ) − yᵢ) x̂ᵢ       (eq 78 drops the 2)
squared, ``half_sum``      Σᵢ (f(xᵢ) − yᵢ) x̂ᵢ          (eq 78 exactly)
logistic cross-entropy     (1/N) Σᵢ (σ(wᵀxᵢ + b) − yᵢ) x̂ᵢ   (eq 91 over N)
softmax cross-entropy      row c: −(1/N) Σᵢ (1{yᵢ = c} − p_c(xᵢ)) x̂ᵢ   (eq 104)
hinge + λ·½‖W‖²            −(1/N) Σᵢ yᵢ 1{yᵢ f(xᵢ) < 1} x̂ᵢ + λ (W; 0 for b)  (a subgradient;
                           at the kink yᵢ f(xᵢ) = 1 the sample contributes 0, as autodiff)
=========================  ===========================================================

Slip in the softmax-regression derivation between eq 102 and eq 104 (eq 103): its first
line differentiates −(y⁽ⁱ⁾)ᵀ log(softmax(ŷ⁽ⁱ⁾)), softmax applied a second time to ŷ = softmax(z)
(eq 98 has log ŷ), the numerator lacks its ∂, and the last two lines are identical (the
simplification 1_Kᵀ y⁽ⁱ⁾ = 1, giving −Σᵢ M(x⁽ⁱ⁾, c)(y⁽ⁱ⁾ − ŷ⁽ⁱ⁾), is never written). With the
softmax applied twice ``jax.grad`` gives another gradient than eq 104's; the row above is the
gradient of eq 98 (the 1/N and the sum's bound of eq 104 are in :mod:`jaxnn.derivations.losses`).

Sources: Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 77–78, 88–91, 98–104; the SVM neuron's
hinge loss and L2 "gradual forgetting" from the supplementary notes on the neuron as a classifier.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxnn.models import linear, svm
from jaxnn.nn.activations import sigmoid, softmax

Array = jax.Array
Params = dict[str, Array]


def _outer(e: Array, x: Array) -> Params:
    """{"W": eᵀx, "b": Σᵢ eᵢ} for per-sample error signals e: (N, n_out) and inputs x: (N, d)."""
    return {"W": e.T @ x, "b": jnp.sum(e, axis=0)}


def grad_linear_regression(params: Params, batch, *, config: linear.LinearConfig) -> Params:
    """∂/∂(W, b) of :func:`jaxnn.models.linear.loss` for ``kind="regression"`` (eq 77–78,
    factor 2 restored).

    Args:
        params: ``{"W": (1, d), "b": (1,)}``.
        batch: ``(x (N, d), y (N,))``.
        config: :class:`jaxnn.models.linear.LinearConfig` (its ``reduction``).

    Returns:
        ``{"W": (1, d), "b": (1,)}``.
    """
    x, y = batch
    linear.loss(params, batch, config=config)  # validation
    r = linear.apply(params, x, config=config) - y  # (N,) residuals Xᵀŵ − y
    scale = {"half_sum": 1.0, "sum": 2.0, "mean": 2.0 / x.shape[0]}[config.reduction]
    return _outer(scale * r[:, None], x)


def grad_logistic(params: Params, batch, *, config: linear.LinearConfig) -> Params:
    """∂/∂(W, b) of :func:`jaxnn.models.linear.loss` for ``kind="logistic"``:
    (1/N) Σ (ŷᵢ − yᵢ) x̂ᵢ (eq 91).

    Args:
        params: ``{"W": (1, d), "b": (1,)}``.
        batch: ``(x (N, d), y (N,) in {0, 1})``.
        config: :class:`jaxnn.models.linear.LinearConfig`.

    Returns:
        ``{"W": (1, d), "b": (1,)}``.
    """
    x, y = batch
    linear.loss(params, batch, config=config)
    e = sigmoid(linear.score(params, x)) - y  # ŷ − y
    return _outer(e[:, None] / x.shape[0], x)


def grad_softmax(params: Params, batch, *, config: linear.LinearConfig) -> Params:
    """∂/∂(W, b) of :func:`jaxnn.models.linear.loss` for ``kind="softmax"``:
    −(1/N) Σᵢ x̂ᵢ (1{yᵢ = c} − p_c) (eq 104).

    Args:
        params: ``{"W": (C, d), "b": (C,)}``.
        batch: ``(x (N, d), y (N,) int)``.
        config: :class:`jaxnn.models.linear.LinearConfig`.

    Returns:
        ``{"W": (C, d), "b": (C,)}``; row c is ∂J/∂w_c.
    """
    x, y = batch
    linear.loss(params, batch, config=config)
    p = softmax(linear.softmax_logits(params, x), axis=-1)  # (N, C)
    onehot = jax.nn.one_hot(y, p.shape[1], dtype=p.dtype)
    return _outer(-(onehot - p) / x.shape[0], x)


def grad_hinge(params: Params, batch, *, config: svm.SVMConfig) -> Params:
    """The subgradient ``jax.grad`` returns for :func:`jaxnn.models.svm.loss`.

    −(1/N) Σᵢ yᵢ 1{yᵢ f(xᵢ) < 1} x̂ᵢ from the hinge, plus λW from λ·½‖W‖² (not on b).

    Args:
        params: ``{"W": (1, d), "b": (1,)}``.
        batch: ``(x (N, d), y (N,) in {−1, +1})``.
        config: :class:`jaxnn.models.svm.SVMConfig` (λ = ``config.lam``).

    Returns:
        ``{"W": (1, d), "b": (1,)}``.
    """
    x, y = batch
    svm.loss(params, batch, config=config)
    lam = config.lam
    f = linear.score(params, x)
    active = (y * f < 1.0).astype(f.dtype)  # inside the margin or misclassified
    g = _outer((-y * active)[:, None] / x.shape[0], x)
    return {"W": g["W"] + lam * params["W"], "b": g["b"]}
