"""The support-vector neuron: one linear unit trained with the hinge loss and L2 "forgetting".

Source: the supplementary lecture notes on the neuron as a classifier (神经网络补充, §2b–c),
and Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 57–58 (hinge loss), eq 49–50 (structural risk).

The neuron computes a decision score f(x) = wᵀx + b (no squashing: a score, not a
probability) and predicts sign(f). It is trained on the max-margin hinge loss

    J(W, b) = (1/N) Σᵢ max(0, 1 − yᵢ f(xᵢ)) + λ · ½‖W‖²,    yᵢ ∈ {−1, +1},

which punishes not only wrong answers but also right answers closer than 1 to the boundary.

**Regularization as gradual forgetting.** The penalty's gradient is λW, so one gradient step
with rate η is

    W ← W − η(∇_W hinge + λW) = (1 − ηλ) W − η ∇_W hinge,

i.e. every step first multiplies the weights by (1 − ηλ) — a synapse that the data stop
reinforcing decays geometrically, W_t = (1 − ηλ)ᵗ W₀ — then adds what the data teach.
:func:`forgetting_step` writes that update out; the tests check it equals one ``optax.sgd`` step
on :func:`loss` and ``optax.add_decayed_weights(λ)`` + SGD on the hinge alone. The bias b is
not penalised (does not forget).

Convention: the notes write the penalty as λ‖w‖² (no ½); its step factor would be (1 − 2ηλ).
We use λ·½‖W‖² (= λ·``jaxnn.nn.losses.l2_penalty(params, PENALTY_MASK)``) so that λ is optax's
weight-decay rate and the factor is (1 − ηλ); the notes' λ equals our λ/2.

Parameters: ``{"W": (1, d), "b": (1,)}`` (one linear unit); the sizes and λ live in one frozen
:class:`SVMConfig`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from jaxnn.errors import ShapeError, check_positive
from jaxnn.models import _config as cfgcheck
from jaxnn.models import linear
from jaxnn.nn import losses

Array = jax.Array
Params = dict[str, Array]

#: Which leaves the λ·½‖W‖² term penalises: W, not the bias b (a mask for
#: ``jaxnn.nn.losses.l2_penalty``, ``jaxnn.optim.l2`` and ``optax.add_decayed_weights``).
PENALTY_MASK: dict[str, bool] = {"W": True, "b": False}


@dataclasses.dataclass(frozen=True)
class SVMConfig:
    """Static choices of the support-vector neuron (frozen, hashable).

    Attributes:
        n_in: d, the number of input features (integer ≥ 1).
        lam: λ ≥ 0 of the λ·½‖W‖² penalty, the forgetting rate per unit learning rate
            (default 0: no penalty).
        dtype: floating dtype of :func:`init`'s parameters (stored as its name).
    """

    n_in: int
    lam: float = 0.0
    dtype: Any = "float32"

    def __post_init__(self):
        cfgcheck.int_field(self, "n_in")
        cfgcheck.float_field(self, "lam", lo=0.0)
        cfgcheck.dtype_field(self, "dtype")


def init(key: Array | None, config: SVMConfig) -> Params:
    """Zero start ``{"W": (1, d), "b": (1,)}`` (:func:`jaxnn.models.linear.init`).

    Args:
        key: unused (kept for the common ``init(key, config)`` contract).
        config: :class:`SVMConfig`.

    Returns:
        ``{"W": (1, n_in) zeros, "b": (1,) zeros}``.
    """
    cfgcheck.require_config(config, SVMConfig, "svm.init")
    return linear.init(key, linear.LinearConfig(config.n_in, 1, dtype=config.dtype))


def decision(params: Params, x: Array) -> Array:
    """Decision score f(x) = wᵀx + b.

    Args:
        params: ``{"W": (1, d), "b": (1,)}``.
        x: (B, d) float.

    Returns:
        (B,) scores.
    """
    return linear.score(params, x)


def _check_params(params: Params, config: SVMConfig) -> None:
    if tuple(jnp.shape(params["W"])) != (1, config.n_in):
        raise ShapeError(f"params['W'] must have shape (1, {config.n_in}) for {config}; got "
                         f"{tuple(jnp.shape(params['W']))}")


def apply(params: Params, x: Array, *, config: SVMConfig, key: Array | None = None,
          train: bool = False) -> Array:
    """Predicted class sign(f(x)) as ±1, with f = 0 assigned to −1 (as Qiu eq 82 and 114).

    Args:
        params: ``{"W": (1, d), "b": (1,)}``.
        x: (B, d) float.
        config: :class:`SVMConfig`.
        key, train: unused (kept for the shared model contract).

    Returns:
        (B,) array of ±1 in the dtype of the score.
    """
    _check_params(params, config)
    f = decision(params, x)
    return jnp.where(f > 0, 1.0, -1.0).astype(f.dtype)


def loss(params: Params, batch, *, config: SVMConfig, key: Array | None = None) -> Array:
    """Mean hinge loss plus λ·½‖W‖² (see the module docstring for the ½).

    Args:
        params: ``{"W": (1, d), "b": (1,)}``.
        batch: ``(x (N, d) float, y (N,) float in {−1, +1})``.
        config: :class:`SVMConfig` (λ = ``config.lam``).
        key: unused.

    Returns:
        scalar.

    Raises:
        JaxnnError: if y has values other than ±1, shapes differ or inputs are non-finite.
    """
    x, y = batch
    linear.check_batch(x, y)
    linear.check_binary(y, (-1, 1), "hinge labels y")
    linear.check_input(params, x, one_output=True)
    _check_params(params, config)
    return _loss(params, x, jnp.asarray(y), config.lam)


@jax.jit
def _loss(params, x, y, lam):  # compiled body; the checks above ran eagerly
    f = decision(params, x)
    return losses.hinge(f, y.astype(f.dtype)) + lam * losses.l2_penalty(params, PENALTY_MASK)


def forgetting_step(params: Params, batch, *, config: SVMConfig,
                    learning_rate: float) -> Params:
    """One explicit SGD step: W ← (1 − ηλ)W − η∇_W hinge, b ← b − η∇_b hinge.

    Args:
        params: ``{"W": (1, d), "b": (1,)}``.
        batch: as in :func:`loss`.
        config: :class:`SVMConfig` (λ = ``config.lam``).
        learning_rate: η > 0.

    Returns:
        the updated ``{"W": (1, d), "b": (1,)}``.
    """
    check_positive(learning_rate, "learning_rate")
    data_only = dataclasses.replace(config, lam=0.0)
    g = jax.grad(loss)(params, batch, config=data_only)  # data term only
    decay = 1.0 - learning_rate * config.lam
    return {"W": decay * params["W"] - learning_rate * g["W"],
            "b": params["b"] - learning_rate * g["b"]}


def support_vectors(params: Params, x: Array, y: Array, *, tol: float = 1e-3) -> Array:
    """Samples on or inside the margin, yᵢ f(xᵢ) ≤ 1 + tol: the only ones with a non-zero
    hinge subgradient, so the only ones that shape the boundary.

    Args:
        params: ``{"W": (1, d), "b": (1,)}``.
        x: (N, d) float.
        y: (N,) in {−1, +1}.
        tol: ≥ 0 slack for "on the margin".

    Returns:
        (N,) bool mask.
    """
    check_positive(tol, "tol", strict=False)
    return y * decision(params, x) <= 1.0 + tol


def margin_width(params: Params) -> Array:
    """Distance 2/‖w‖ between the hyperplanes f = +1 and f = −1.

    Args:
        params: ``{"W": (1, d), "b": (1,)}``.

    Returns:
        scalar.
    """
    return 2.0 / jnp.linalg.norm(params["W"])
