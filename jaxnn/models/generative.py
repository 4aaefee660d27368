"""The generative view of softmax regression: Gaussian classes with one shared covariance.

Source: the lecture notes 《神经元》 (neuron and feed-forward networks), section on multiclass
logistic regression: P(C_k | x) = P(x | C_k)P(C_k) / Σ_j P(x | C_j)P(C_j) = exp(a_k) / Σ_j exp(a_j)
with a_k = ln p(x | C_k)p(C_k) (:func:`log_joint`), simplified to a linear a_k(x) = w_kᵀx + w_k0
for Gaussian classes with a shared covariance. Its discriminative counterpart is Qiu Xipeng,
《神经网络与深度学习》 (2015), eq 93–104 (:func:`jaxnn.models.linear.loss` with ``kind="softmax"``).

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

Parameters: ``{"u": (C, d) class means, "Sigma": (d, d) shared covariance, "prior": (C,)}``;
the sizes and the ridge live in one frozen :class:`GenerativeConfig`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from jaxnn.errors import (
    JaxnnError,
    check_finite,
    check_labels,
    check_ndim,
    check_same_leading,
    check_shape,
)
from jaxnn.models import _config as cfgcheck
from jaxnn.models import linear

Array = jax.Array
Params = dict[str, Array]


@dataclasses.dataclass(frozen=True)
class GenerativeConfig:
    """Static choices of the shared-covariance Gaussian class model (frozen, hashable).

    Attributes:
        n_in: d, the number of input features (integer ≥ 1).
        num_classes: C ≥ 2.
        ridge: ≥ 0 added to Σ's diagonal by :func:`fit` (default 0: the plain ML estimate).
        dtype: floating dtype of :func:`init`'s parameters (stored as its name).
    """

    n_in: int
    num_classes: int
    ridge: float = 0.0
    dtype: Any = "float32"

    def __post_init__(self):
        cfgcheck.int_field(self, "n_in")
        cfgcheck.int_field(self, "num_classes", minimum=2)
        cfgcheck.float_field(self, "ridge", lo=0.0)
        cfgcheck.dtype_field(self, "dtype")

    @property
    def softmax_config(self) -> linear.LinearConfig:
        """The softmax-regression config of :func:`to_linear`'s parameters."""
        return linear.LinearConfig(self.n_in, self.num_classes, kind="softmax", dtype=self.dtype)


def _check_params(params: Params, x: Array | None = None,
                  config: GenerativeConfig | None = None) -> None:
    if not isinstance(params, dict) or set(params) != {"u", "Sigma", "prior"}:
        raise JaxnnError(f"params must be {{'u', 'Sigma', 'prior'}}; got keys {sorted(params)}")
    check_ndim(params["u"], 2, "params['u']")
    c, d = params["u"].shape
    if config is not None and (c, d) != (config.num_classes, config.n_in):
        raise JaxnnError(f"params['u'] must have shape ({config.num_classes}, {config.n_in}) "
                         f"for {config}; got {(c, d)}")
    check_shape(params["Sigma"], (d, d), "params['Sigma']")
    check_shape(params["prior"], (c,), "params['prior']")
    if x is not None:
        check_ndim(x, 2, "x")
        check_shape(x, (None, d), "x")
        check_finite(x, "x")


def init(key: Array | None, config: GenerativeConfig) -> Params:
    """A neutral start: u_k = 0, Σ = I, p(C_k) = 1/C (every posterior uniform).

    Args:
        key: unused (kept for the common ``init(key, config)`` contract).
        config: :class:`GenerativeConfig`.

    Returns:
        ``{"u": (C, d) zeros, "Sigma": (d, d) identity, "prior": (C,) of 1/C}``.
    """
    del key
    cfgcheck.require_config(config, GenerativeConfig, "generative.init")
    c, d, dtype = config.num_classes, config.n_in, config.dtype
    return {"u": jnp.zeros((c, d), dtype), "Sigma": jnp.eye(d, dtype=dtype),
            "prior": jnp.full((c,), 1.0 / c, dtype)}


def fit(x: Array, y: Array, *, config: GenerativeConfig) -> Params:
    """Maximum-likelihood estimates of the shared-covariance Gaussian class model.

    u_k = mean of the class-k rows; Σ = (1/N) Σᵢ (xᵢ − u_{yᵢ})(xᵢ − u_{yᵢ})ᵀ (+ ridge·I);
    p(C_k) = N_k / N.

    Args:
        x: (N, d) float, d = ``config.n_in``.
        y: (N,) int labels in [0, C); every class must occur.
        config: :class:`GenerativeConfig` (C = ``num_classes``, ``ridge``).

    Returns:
        ``{"u": (C, d), "Sigma": (d, d), "prior": (C,)}`` in the dtype of ``x``.

    Raises:
        JaxnnError: for a class without samples, for a singular Σ (naming its rank and
            condition number), bad labels, shapes or non-finite values.
    """
    num_classes, ridge = config.num_classes, config.ridge
    check_ndim(x, 2, "x")
    check_shape(x, (None, config.n_in), "x")
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

    Args:
        params: ``{"u": (C, d), "Sigma": (d, d), "prior": (C,)}``.

    Returns:
        ``{"W": (C, d), "b": (C,)}`` for :func:`jaxnn.models.linear.apply` with
        ``config=GenerativeConfig.softmax_config``.
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


def apply(params: Params, x: Array, *, config: GenerativeConfig, key: Array | None = None,
          train: bool = False) -> Array:
    """Posterior p(C_k | x) through the linear-softmax form.

    Args:
        params: as :func:`fit` returns.
        x: (B, d) float.
        config: :class:`GenerativeConfig`.
        key, train: unused (kept for the shared model contract).

    Returns:
        (B, C) posteriors, rows summing to 1.
    """
    _check_params(params, x, config)
    return linear.apply(to_linear(params), x, config=config.softmax_config)


def log_joint(params: Params, x: Array) -> Array:
    """The notes' a_k = ln p(x | C_k)p(C_k) = ln N(x; u_k, Σ) + ln p(C_k), straight from the
    Gaussian density (Cholesky factor of Σ, no cancellation used).

    Args:
        params: as :func:`fit` returns.
        x: (B, d) float.

    Returns:
        (B, C) log joint densities.
    """
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

    Args:
        params: as :func:`fit` returns.
        x: (B, d) float.

    Returns:
        (B, C) posteriors, rows summing to 1.
    """
    lj = log_joint(params, x)
    return jnp.exp(lj - logsumexp(lj, axis=1, keepdims=True))


def loss(params: Params, batch, *, config: GenerativeConfig, key: Array | None = None) -> Array:
    """Negative mean joint log-likelihood −(1/N) Σᵢ ln p(xᵢ, C_{yᵢ}); :func:`fit` minimises it.

    Args:
        params: as :func:`fit` returns.
        batch: ``(x (N, d), y (N,) int in [0, C))``.
        config: :class:`GenerativeConfig`.
        key: unused.

    Returns:
        scalar.
    """
    x, y = batch
    _check_params(params, x, config)
    check_ndim(y, 1, "y")
    check_same_leading({"x": x, "y": y})
    check_labels(y, params["u"].shape[0], "y")
    lj = log_joint(params, x)
    return -jnp.mean(jnp.take_along_axis(lj, y[:, None], axis=1))
