"""Closed-form gradients of the losses in :mod:`jaxnn.nn.losses`, as ``jax.grad`` returns them.

Each ``grad_<loss>(prediction, target, ...)`` is ∂loss/∂prediction for the *mean-reduced* loss
(N = number of elements, or of positions for the class losses), so it equals
``jax.grad(loss)(prediction, target)`` exactly; the tests check that in float64.

======================================  ============================================
loss                                    gradient with respect to the first argument
======================================  ============================================
squared_error, ``half_sum``             ŷ − y
squared_error, ``sum`` / ``mean``       2(ŷ − y) / 2(ŷ − y)/N
binary_cross_entropy(p, y)              (p − y) / (p(1 − p)) / N   (backprop notes eq 16)
binary_cross_entropy_with_logits(z, y)  (σ(z) − y) / N
cross_entropy(z, labels)                (softmax(z) − onehot(y)) / N   (Qiu eq 104)
nll(log p, labels)                      −onehot(y) / N
hinge(f, y)                             −y · I(y f < 1) / N   (0 at the kink y f = 1)
l2_penalty(params, mask)                θ on the masked leaves (the W), 0 elsewhere
l1_penalty(params, mask)                sign(θ) (0 at θ = 0) on them, 0 elsewhere
======================================  ============================================

Slips in the feed-forward lecture notes (the ones that also sketch the computation graph):
they write L_CE = log P(y|x) and then −{y log σ(wx + b) − (1 − y) log[1 − σ(wx + b)]}: both
lose a minus sign (the correct form is −[y log σ + (1 − y) log(1 − σ)], whose gradient
(σ − y)x they then state correctly). For the multiclass case they write
∂L/∂w_k = (I{y = k} − P(y = k|x)) x_k, which is the gradient of the log-likelihood, not of
the loss: autodiff gives −(I{y = k} − P(y = k|x)) x = (P − I)x, as :func:`grad_cross_entropy`
(times x) and Qiu eq 104 (which keeps the minus) do. They also let x_k multiply only
P(y = k|x); it multiplies the whole difference. Their update rule
w^{t+1} = w^t − η d/dw f(x; w) differentiates the model f, not the loss: ``jax.grad`` of
L_CE gives (σ(wx + b) − y)x, the gradient they state next, while d/dw f = σ′(wx + b)x.

Qiu eq 104 itself sums i = 1 … C where the samples run i = 1 … N, and has a 1/N that its own
eq 98 lacks.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.nn import losses as L
from jaxnn.nn.activations import sigmoid, softmax

Array = jax.Array


def grad_squared_error(y_hat: Array, y: Array, reduction: str = "half_sum") -> Array:
    """∂ squared_error / ∂ŷ: ŷ − y (half_sum), 2(ŷ − y) (sum), 2(ŷ − y)/N (mean).

    Args:
        y_hat: predictions, any shape, floating dtype.
        y: targets, same shape.
        reduction: as in :func:`jaxnn.nn.losses.squared_error`.

    Returns:
        array of the shape and dtype of ``y_hat``.
    """
    L.squared_error(y_hat, y, reduction)  # validates shapes, values and the reduction
    scale = {"half_sum": 1.0, "sum": 2.0, "mean": 2.0 / max(np.size(y_hat), 1)}[reduction]
    return scale * (y_hat - y)


def grad_binary_cross_entropy(p: Array, y: Array) -> Array:
    """∂BCE/∂p = (−y/p + (1 − y)/(1 − p))/N = (p − y)/(p(1 − p))/N, for 0 < p < 1.

    Args:
        p: probabilities in (0, 1), any shape.
        y: targets in [0, 1], same shape.

    Returns:
        array of the shape and dtype of ``p``.
    """
    L.binary_cross_entropy(p, y)
    return (p - y) / (p * (1.0 - p)) / np.size(p)


def grad_binary_cross_entropy_with_logits(z: Array, y: Array) -> Array:
    """∂BCE/∂z = (σ(z) − y)/N: the (ŷ − y) of logistic regression before the factor x.

    Args:
        z: logits, any shape.
        y: targets in [0, 1], same shape.

    Returns:
        array of the shape and dtype of ``z``.
    """
    L.binary_cross_entropy_with_logits(z, y)
    return (sigmoid(z) - y) / np.size(z)


def _onehot(labels: Array, like: Array) -> Array:
    if jnp.issubdtype(jnp.result_type(labels), jnp.integer):
        return jax.nn.one_hot(labels, like.shape[-1], dtype=like.dtype)
    return labels


def grad_cross_entropy(logits: Array, labels: Array) -> Array:
    """∂CE/∂z = (softmax(z) − onehot(y))/N (Qiu eq 104 before the factor x).

    Derivation: ∂(−yᵀ log softmax(z))/∂z = −(I − 1 ŷᵀ)ᵀ y = ŷ (1ᵀy) − y = ŷ − y.

    Args:
        logits: (..., C) logits.
        labels: integer (...) or one-hot (..., C), as in :func:`jaxnn.nn.losses.cross_entropy`.

    Returns:
        (..., C) array, dtype of ``logits``.
    """
    L.cross_entropy(logits, labels)
    n = np.size(logits) // logits.shape[-1]
    return (softmax(logits) - _onehot(labels, logits)) / n


def grad_nll(log_probs: Array, labels: Array) -> Array:
    """∂NLL/∂(log p) = −onehot(y)/N.

    Args:
        log_probs: (..., C) log-probabilities.
        labels: integer (...) or one-hot (..., C).

    Returns:
        (..., C) array, dtype of ``log_probs``.
    """
    L.nll(log_probs, labels)
    n = np.size(log_probs) // log_probs.shape[-1]
    return -_onehot(labels, log_probs) / n


def grad_hinge(f: Array, y: Array) -> Array:
    """Subgradient ∂hinge/∂f = −y · I(y f < 1)/N; 0 at the kink y f = 1 (as ``jax.grad``).

    Args:
        f: scores, any shape.
        y: targets in {−1, +1}, same shape.

    Returns:
        array of the shape and dtype of ``f``.
    """
    L.hinge(f, y)
    return jnp.where(y * f < 1.0, -y, jnp.zeros_like(f)) / np.size(f)


def _per_leaf(params: Any, fn, mask: L.Mask) -> Any:
    """Apply ``fn`` to the leaves ``mask`` selects and zero the others, keeping the structure."""
    marks = L.resolve_mask(params, mask)
    return jax.tree.map(lambda leaf, m: fn(leaf) if m else jnp.zeros_like(leaf), params, marks)


def grad_l2_penalty(params: Any, mask: L.Mask = None) -> Any:
    """∂(½ Σ‖θ‖²)/∂params: θ on the leaves ``mask`` selects, zeros elsewhere.

    Args:
        params: parameter pytree.
        mask: which leaves are penalised, as in :func:`jaxnn.nn.losses.resolve_mask`
            (``None``: every leaf).

    Returns:
        pytree with the structure, shapes and dtypes of ``params``.
    """
    return _per_leaf(params, lambda w: w, mask)


def grad_l1_penalty(params: Any, mask: L.Mask = None) -> Any:
    """∂(Σ|θ|)/∂params: sign(θ) (0 at θ = 0) on the leaves ``mask`` selects, zeros elsewhere.

    Args:
        params: parameter pytree.
        mask: which leaves are penalised, as in :func:`jaxnn.nn.losses.resolve_mask`
            (``None``: every leaf).

    Returns:
        pytree with the structure, shapes and dtypes of ``params``.
    """
    return _per_leaf(params, jnp.sign, mask)
