"""The generative view of softmax regression: Gaussian classes with one shared covariance.

Source: the lecture notes 《神经元》 (neuron and feed-forward networks), section on multiclass
logistic regression: P(C_k | x) = P(x | C_k)P(C_k) / Σ_j P(x | C_j)P(C_j) = exp(a_k) / Σ_j exp(a_j)
with a_k = ln p(x | C_k)p(C_k) (:func:`log_joint`), simplified to a linear a_k(x) = w_kᵀx + w_k0
for Gaussian classes with a shared covariance. Its discriminative counterpart is Qiu Xipeng,
《神经网络与深度学习》 (2015), eq 93–104 (:func:`jaxnn.models.linear.softmax_loss`).

Model: p(C_k) = π_k and p(x | C_k) = N(x; u_k, Σ) with Σ shared by all C classes. Bayes' rule

    p(C_k | x) = p(x | C_k) p(C_k) / Σ_j p(x | C_j) p(C_j)

has, after the quadratic term −½xᵀΣ⁻¹x and the normalising constant cancel between numerator
and denominator, the form of softmax regression:

    p(C_k | x) = softmax_k(w_kᵀx + w_k0),   w_k = Σ⁻¹u_k,   w_k0 = −½ u_kᵀΣ⁻¹u_k + ln p(C_k).

:func:`fit` finds the maximum-likelihood parameters in closed form (class means, the pooled
covariance with divisor N, class frequencies); :func:`to_linear` turns them into the
``{"W", "b"}`` of :mod:`jaxnn.models.linear`; :func:`bayes_posterior` evaluates Bayes' rule
from the Gaussian log-densities directly, so the two routes can be compared numerically.
This is linear discriminant analysis; scikit-learn's ``LinearDiscriminantAnalysis`` fits the
same model (it divides the pooled covariance by N − C in some solvers, not N).

Parameters: ``{"u": (C, d) class means, "Sigma": (d, d) shared covariance, "prior": (C,)}``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from jaxnn.errors import (
    JaxnnError,
    check_finite,
    check_labels,
    check_ndim,
    check_positive,
    check_same_leading,
    check_shape,
)
from jaxnn.models import linear

Array = jax.Array
Params = dict[str, Array]


def _check_params(params: Params, x: Array | None = None) -> None:
    if not isinstance(params, dict) or set(params) != {"u", "Sigma", "prior"}:
        raise JaxnnError(f"params must be {{'u', 'Sigma', 'prior'}}; got keys {sorted(params)}")
    check_ndim(params["u"], 2, "params['u']")
    c, d = params["u"].shape
    check_shape(params["Sigma"], (d, d), "params['Sigma']")
    check_shape(params["prior"], (c,), "params['prior']")
    if x is not None:
        check_ndim(x, 2, "x")
        check_shape(x, (None, d), "x")
        check_finite(x, "x")


def fit(x: Array, y: Array, num_classes: int, *, ridge: float = 0.0) -> Params:
    """Maximum-likelihood estimates of the shared-covariance Gaussian class model.

    u_k = mean of the class-k rows; Σ = (1/N) Σᵢ (xᵢ − u_{yᵢ})(xᵢ − u_{yᵢ})ᵀ (+ ridge·I);
    p(C_k) = N_k / N.

    **Arguments:**

    - `x`: (N, d) float; `y`: (N,) int labels in [0, C); every class must occur.
    - `num_classes`: C.
    - `ridge`: ≥ 0 added to Σ's diagonal (default 0: the plain ML estimate).

    **Returns:** ``{"u": (C, d), "Sigma": (d, d), "prior": (C,)}`` in the dtype of ``x``.

    **Raises:** :class:`JaxnnError` for a class without samples, for a singular Σ (naming its
    rank and condition number), bad labels, shapes or non-finite values.
    """
    check_positive(num_classes, "num_classes")
    check_positive(ridge, "ridge", strict=False)
    check_ndim(x, 2, "x")
    check_ndim(y, 1, "y")
    check_same_leading({"x": x, "y": y})
    check_finite(x, "x")
    check_labels(y, num_classes, "y")
    counts = np.bincount(np.asarray(y), minlength=num_classes)
    if np.any(counts == 0):
        raise JaxnnError(f"every class needs samples; classes {np.flatnonzero(counts == 0).tolist()}"
                         " have none")
    x = jnp.asarray(x)
    n_k = jnp.asarray(counts, x.dtype)
    u, sigma = _moments(x, jnp.asarray(y), n_k, ridge)
    s = np.linalg.svd(np.asarray(sigma, np.float64), compute_uv=False)
    rank = int(np.sum(s > s[0] * max(sigma.shape) * np.finfo(np.asarray(sigma).dtype).eps))
    if rank < sigma.shape[0]:
        cond = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
        raise JaxnnError(f"the pooled covariance Σ is singular: rank {rank} < d = {sigma.shape[0]},"
                         f" condition number {cond:.3g} (constant or dependent features); pass"
                         " ridge > 0 or drop those features")
    return {"u": u, "Sigma": sigma, "prior": n_k / x.shape[0]}


@jax.jit
def _moments(x, y, n_k, ridge):
    onehot = jax.nn.one_hot(y, n_k.shape[0], dtype=x.dtype)  # (N, C)
    u = (onehot.T @ x) / n_k[:, None]
    centred = x - u[y]
    return u, centred.T @ centred / x.shape[0] + ridge * jnp.eye(x.shape[1], dtype=x.dtype)


def to_linear(params: Params) -> Params:
    """The softmax-regression form: W_k = Σ⁻¹u_k, b_k = −½u_kᵀΣ⁻¹u_k + ln p(C_k).

    **Arguments:** `params` ``{"u": (C, d), "Sigma": (d, d), "prior": (C,)}``.

    **Returns:** ``{"W": (C, d), "b": (C,)}`` for :func:`jaxnn.models.linear.softmax_apply`.
    """
    _check_params(params)
    return _to_linear(params)


@jax.jit
def _to_linear(params):
    u = params["u"]
    chol = jax.scipy.linalg.cho_factor(params["Sigma"], lower=True)
    w = jax.scipy.linalg.cho_solve(chol, u.T).T  # (C, d), row k = Σ⁻¹u_k (Σ symmetric)
    b = -0.5 * jnp.sum(u * w, axis=1) + jnp.log(params["prior"])
    return {"W": w, "b": b}


def apply(params: Params, x: Array, *, key=None, train=False) -> Array:
    """Posterior p(C_k | x) through the linear-softmax form. (B, d) -> (B, C); `key`, `train` unused."""
    _check_params(params, x)
    return linear.softmax_apply(to_linear(params), x)


def log_joint(params: Params, x: Array) -> Array:
    """The notes' a_k = ln p(x | C_k)p(C_k) = ln N(x; u_k, Σ) + ln p(C_k), straight from the
    Gaussian density (Cholesky factor of Σ, no cancellation used): (B, d) -> (B, C)."""
    _check_params(params, x)
    return _log_joint(params, x)


@jax.jit
def _log_joint(params, x):
    d = params["Sigma"].shape[0]
    chol = jnp.linalg.cholesky(params["Sigma"])  # Σ = L Lᵀ
    diff = x[:, None, :] - params["u"][None, :, :]  # (B, C, d)
    z = jax.scipy.linalg.solve_triangular(chol, diff.reshape(-1, d).T, lower=True)  # L⁻¹(x − u_k)
    maha = jnp.sum(z * z, axis=0).reshape(diff.shape[:2])  # (x − u_k)ᵀ Σ⁻¹ (x − u_k)
    log_det = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    log_pdf = -0.5 * (d * jnp.log(2.0 * jnp.pi) + log_det + maha)  # ln N(x; u_k, Σ)
    return log_pdf + jnp.log(params["prior"])[None, :]


def bayes_posterior(params: Params, x: Array) -> Array:
    """Bayes' rule from the Gaussian densities, p(x|C_k)p(C_k) / Σ_j p(x|C_j)p(C_j), evaluated in
    the log domain (ln-densities normalised with logsumexp, so far-out points do not give 0/0).

    **Arguments:** `params` as :func:`fit` returns; `x` (B, d) float.

    **Returns:** (B, C) posteriors, rows summing to 1.
    """
    lj = log_joint(params, x)
    return jnp.exp(lj - logsumexp(lj, axis=1, keepdims=True))


def loss(params: Params, batch) -> Array:
    """Negative mean joint log-likelihood −(1/N) Σᵢ ln p(xᵢ, C_{yᵢ}); :func:`fit` minimises it.

    **Arguments:** `params` as :func:`fit` returns; `batch` ``(x (N, d), y (N,) int in [0, C))``.

    **Returns:** scalar.
    """
    x, y = batch
    check_ndim(y, 1, "y")
    check_same_leading({"x": x, "y": y})
    check_labels(y, params["u"].shape[0], "y")
    lj = log_joint(params, x)
    return -jnp.mean(jnp.take_along_axis(lj, y[:, None], axis=1))
