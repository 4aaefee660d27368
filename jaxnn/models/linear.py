"""Linear models of the notes: linear regression, logistic regression, softmax regression.

Sources: Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 70–81 (linear regression, least squares,
gradient descent), eq 82–92 (logistic regression), eq 93–104 (softmax regression).

All three share one affine map, stored in the house orientation (the notes' augmented ŵ split
into weight and bias)::

    params = {"W": (n_out, n_in), "b": (n_out,)},    z = x @ W.T + b   for x: (B, n_in)

(:func:`jaxnn.nn.layers.dense`) with n_out = 1 for linear and logistic regression (their
``apply`` returns (B,)) and n_out = C for softmax regression. Which of the three a model is,
and its sizes, live in one frozen :class:`LinearConfig` (``kind``); :func:`init`,
:func:`apply` and :func:`loss` dispatch on it. Qiu's softmax weight W = [w₁ … w_C] (eq 97) is (d, C) with z = Wᵀx;
ours is its transpose, row c = w_c, as in the neuron notes' y = softmax(Wx + b). :func:`init` starts at zero, as the notes do (w₀ = 0, eq 81 and 92).

**Column samples vs row batches.** The notes stack N samples as *columns* of the augmented
X: (d + 1, N) whose first row is all ones (eq 76), and write the risk as ‖Xᵀŵ − y‖² (eq 75)
and the solution ŵ = (XXᵀ)⁻¹Xy (eq 79). Here a batch is x: (N, d) with samples as *rows*, so
the notes' X is ``concatenate([ones(N, 1), x], 1).T`` and ŵ = (b, w). :func:`least_squares`
builds exactly that X and returns ``{"W": w[None, :], "b": [b]}``.

Slips in the notes (the code follows autodiff):

- eq 78: ∂‖Xᵀw − y‖²/∂w is 2X(Xᵀw − y); the notes drop the 2 (right only for ½‖·‖²).
  The zero of the gradient, eq 79, is unaffected.
- eq 81 and 92 *add* the gradient, w ← w + λ ∂R/∂w; that is ascent on the risk. Descent
  subtracts it: w ← w − λ ∂R/∂w (:func:`jaxnn.train.gradient_descent`).
- eq 95 writes softmax as wᵀx / exp(Σ wᵢᵀx); the exponential belongs on the numerator and
  inside the sum: exp(w_cᵀx) / Σᵢ exp(wᵢᵀx) (eq 97 has it right).
- eq 104 carries a 1/N that eq 98 (a sum) lacks and sums "i = 1 … C" over samples; we use the
  batch mean throughout, so ∂J/∂w_c = −(1/N) Σᵢ xᵢ (I(yᵢ = c) − p(yᵢ = c | xᵢ)).

The losses are batch means (empirical risk, eq 47), so learning rates do not scale with N;
:mod:`jaxnn.derivations.linear` holds their closed-form gradients.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import (
    JaxnnError,
    ShapeError,
    check_choice,
    check_finite,
    check_floating,
    check_labels,
    check_ndim,
    check_same_leading,
    check_shape,
)
from jaxnn.models import _config as cfgcheck
from jaxnn.nn import losses
from jaxnn.nn.activations import sigmoid, softmax
from jaxnn.nn.layers import dense

Array = jax.Array
Params = dict[str, Array]
Batch = tuple[Array, Array]

#: The three linear models: linear regression (eq 70–81), logistic (eq 82–92), softmax (93–104).
KINDS: tuple[str, ...] = ("regression", "logistic", "softmax")
#: Reductions of the regression loss (:func:`loss`).
REDUCTIONS: tuple[str, ...] = ("mean", "sum", "half_sum")


@dataclasses.dataclass(frozen=True)
class LinearConfig:
    """Static choices of a linear model (frozen, hashable).

    Attributes:
        n_in: d, the number of input features (integer ≥ 1).
        n_out: 1 for ``"regression"`` and ``"logistic"``, C ≥ 2 classes for ``"softmax"``.
        kind: ``"regression"``, ``"logistic"`` or ``"softmax"``.
        reduction: of the regression loss: ``"mean"`` (MSE, the empirical risk eq 47),
            ``"sum"`` (the notes' R = ‖Xᵀŵ − y‖², eq 75) or ``"half_sum"`` (½‖Xᵀŵ − y‖²,
            whose gradient is eq 78). The other kinds are batch means: only ``"mean"``.
        dtype: floating dtype of :func:`init`'s parameters (stored as its name).
    """

    n_in: int
    n_out: int = 1
    kind: str = "regression"
    reduction: str = "mean"
    dtype: Any = "float32"

    def __post_init__(self):
        cfgcheck.int_field(self, "n_in")
        cfgcheck.int_field(self, "n_out")
        cfgcheck.choice_field(self, "kind", KINDS)
        if self.kind == "softmax" and self.n_out < 2:
            raise JaxnnError(f"LinearConfig.n_out must be the number of classes C >= 2 for "
                             f"kind='softmax'; got {self.n_out}")
        if self.kind != "softmax" and self.n_out != 1:
            raise JaxnnError(f"LinearConfig.n_out must be 1 for kind={self.kind!r}; got "
                             f"{self.n_out}")
        cfgcheck.choice_field(self, "reduction", REDUCTIONS)
        if self.kind != "regression" and self.reduction != "mean":
            raise JaxnnError(f"LinearConfig.reduction applies to kind='regression' only; got "
                             f"reduction={self.reduction!r} for kind={self.kind!r}")
        cfgcheck.dtype_field(self, "dtype")


# --------------------------------------------------------------------------- shared affine map


def init(key: Array | None, config: LinearConfig) -> Params:
    """Zero start w₀ = 0 (Qiu eq 81, 92); the losses here are convex, so zero is a fine start.

    Args:
        key: unused (kept for the common ``init(key, config)`` contract).
        config: :class:`LinearConfig` (``n_in``, ``n_out``, ``dtype``).

    Returns:
        ``{"W": (n_out, n_in) zeros, "b": (n_out,) zeros}``.
    """
    del key
    cfgcheck.require_config(config, LinearConfig, "linear.init")
    n_out, n_in, dtype = config.n_out, config.n_in, config.dtype
    return {"W": jnp.zeros((n_out, n_in), dtype), "b": jnp.zeros((n_out,), dtype)}


def check_input(params: Params, x: Array, *, one_output: bool = False) -> None:
    """Raise early unless ``params`` is ``{"W": (n_out, d), "b": (n_out,)}`` (n_out = 1 when
    ``one_output``) and ``x`` is a finite (B, d) batch."""
    if not isinstance(params, dict) or set(params) != {"W", "b"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise JaxnnError(f"params must be {{'W', 'b'}}; got {got}")
    check_ndim(params["W"], 2, "params['W']")
    check_shape(params["b"], (params["W"].shape[0],), "params['b']")
    if one_output and params["W"].shape[0] != 1:
        raise ShapeError(f"a one-output model needs W of shape (1, d); got {params['W'].shape}")
    check_ndim(x, 2, "x")
    check_shape(x, (None, params["W"].shape[1]), "x")
    check_floating(x, "x")
    check_finite(x, "x")


def _check_config(params: Params, x: Array, config: LinearConfig) -> None:
    check_input(params, x, one_output=config.kind != "softmax")
    if tuple(params["W"].shape) != (config.n_out, config.n_in):
        raise ShapeError(f"params['W'] must have shape ({config.n_out}, {config.n_in}) for "
                         f"{config}; got {tuple(params['W'].shape)}")


def affine(params: Params, x: Array) -> Array:
    """z = x @ Wᵀ + b, the notes' wᵀx + b (eq 70) for a batch of row samples.

    Args:
        params: ``{"W": (n_out, d), "b": (n_out,)}``.
        x: (B, d) float.

    Returns:
        (B, n_out) in the dtype of ``x @ W.T``.
    """
    check_input(params, x)
    return _affine(params, x)


_affine = jax.jit(dense)


def score(params: Params, x: Array) -> Array:
    """The single output f(x) = wᵀx + b of a one-output model.

    Args:
        params: ``{"W": (1, d), "b": (1,)}``.
        x: (B, d) float.

    Returns:
        (B,) scores.
    """
    check_input(params, x, one_output=True)
    return _affine(params, x)[:, 0]


def softmax_logits(params: Params, x: Array) -> Array:
    """z = Wx + b for each row (the notes' z = Wᵀx with W = [w₁ … w_C], eq 97).

    Args:
        params: ``{"W": (C, d), "b": (C,)}``.
        x: (B, d) float.

    Returns:
        (B, C) logits.
    """
    return affine(params, x)


def check_batch(x: Array, y: Array, y_ndim: int = 1) -> None:
    """Raise early unless ``y`` has ``y_ndim`` dims, finite values and ``x``'s batch size."""
    check_ndim(y, y_ndim, "y")
    check_same_leading({"x": x, "y": y})
    check_finite(y, "y")


def check_binary(y: Array, values: tuple[float, float], name: str) -> None:
    """Raise unless concrete ``y`` takes only the two ``values`` (no-op under jit)."""
    if isinstance(y, jax.core.Tracer):
        return
    a = np.asarray(y)
    bad = a[~np.isin(a, values)]
    if bad.size:
        raise JaxnnError(f"{name} must be {values[0]:g} or {values[1]:g}; got {bad[:5].tolist()}"
                         f" ({bad.size} bad)")


# --------------------------------------------------------------------------- apply / loss


def apply(params: Params, x: Array, *, config: LinearConfig, key: Array | None = None,
          train: bool = False) -> Array:
    """The model's prediction for a batch.

    - ``"regression"``: f(x) = wᵀx + b (Qiu eq 70), shape (B,).
    - ``"logistic"``: P(y = 1 | x) = σ(wᵀx + b) (eq 83), shape (B,) probabilities.
    - ``"softmax"``: ŷ = softmax(Wx + b) (eq 97, not eq 95's slip), shape (B, C), rows sum to 1.

    Args:
        params: ``{"W": (n_out, d), "b": (n_out,)}``.
        x: (B, d) float.
        config: :class:`LinearConfig`.
        key, train: unused (kept for the shared model contract).

    Returns:
        (B,) or (B, C) as above.
    """
    _check_config(params, x, config)
    if config.kind == "regression":
        return score(params, x)
    if config.kind == "logistic":
        return sigmoid(score(params, x))
    return softmax(softmax_logits(params, x), axis=-1)


def loss(params: Params, batch: Batch, *, config: LinearConfig, key: Array | None = None
         ) -> Array:
    """The model's risk over the batch.

    - ``"regression"``: squared loss of eq 72–75 with ``config.reduction``.
    - ``"logistic"``: cross-entropy risk of eq 84, batch mean, from the logits (stable); its
      gradient is (1/N) Σᵢ (σ(zᵢ) − yᵢ) x̂ᵢ (eq 91 over N).
    - ``"softmax"``: cross-entropy J(W) of eq 98, batch mean (stable log-softmax); its gradient
      is −(1/N) Σᵢ xᵢ (1{yᵢ = c} − p_c(xᵢ)) (eq 104).

    Args:
        params: ``{"W": (n_out, d), "b": (n_out,)}``.
        batch: ``(x (N, d) float, y (N,))`` with y real targets (regression), 0/1 labels of
            any dtype (logistic) or int classes in [0, C) (softmax).
        config: :class:`LinearConfig`.
        key: unused.

    Returns:
        scalar.

    Raises:
        JaxnnError: bad labels, mismatched shapes, non-finite inputs, params not fitting
            ``config``.
    """
    x, y = batch
    if config.kind == "softmax":
        check_ndim(y, 1, "y")
        check_same_leading({"x": x, "y": y})
        check_labels(y, params["W"].shape[0], "y")
        _check_config(params, x, config)
        return _ce(params, x, y)
    check_batch(x, y)
    if config.kind == "logistic":
        check_binary(y, (0, 1), "logistic labels y")
        _check_config(params, x, config)
        return _bce(params, x, jnp.asarray(y))
    _check_config(params, x, config)
    return _squared(params, x, y, config.reduction)


# The loss bodies run compiled (one XLA program instead of one per operation); every value
# check has already run eagerly above, so nothing is lost by tracing them.
@partial(jax.jit, static_argnames="reduction")
def _squared(params, x, y, reduction):
    return losses.squared_error(score(params, x), y, reduction)


@jax.jit
def _bce(params, x, y):
    z = score(params, x)
    return losses.binary_cross_entropy_with_logits(z, y.astype(z.dtype))


@jax.jit
def _ce(params, x, y):
    return losses.cross_entropy(softmax_logits(params, x), y)


# --------------------------------------------------------------------------- least squares


def design_matrix(x: Array) -> Array:
    """The notes' augmented X of eq 76 from a row batch: (N, d) -> (d + 1, N), first row ones."""
    check_ndim(x, 2, "x")
    x = jnp.asarray(x)
    return jnp.concatenate([jnp.ones((x.shape[0], 1), x.dtype), x], axis=1).T


def least_squares(x: Array, y: Array, *, method: str = "normal", rcond: float | None = None) -> Params:
    """Least-squares estimate ŵ = (XXᵀ)⁻¹Xy (Qiu eq 79–80), or a stable ``lstsq`` solve.

    ``method="normal"`` solves the normal equations XXᵀŵ = Xy (eq 79) and raises if XXᵀ is
    singular (rank < d + 1, i.e. the features plus the constant are linearly dependent, the
    condition eq 80's text states). Forming XXᵀ squares the condition number, so for
    ill-conditioned data ``method="lstsq"`` (SVD of Xᵀ, minimum-norm solution when rank
    deficient) is the stable path.

    Args:
        x: (N, d) float row samples.
        y: (N,) float targets.
        method: ``"normal"`` or ``"lstsq"``.
        rcond: relative cut-off for small singular values, of Xᵀ for ``lstsq`` and of XXᵀ for
            the rank test; None = (matrix size)·eps of the dtype, NumPy's ``matrix_rank`` rule.

    Returns:
        ``{"W": (1, d), "b": (1,)}`` in the dtype of ``x``.

    Raises:
        JaxnnError: naming the rank and condition number when ``method="normal"`` and XXᵀ is
            singular; shape errors for mismatched x, y; errors for non-finite values.
    """
    check_choice(method, ("normal", "lstsq"), "method")
    check_ndim(x, 2, "x")
    check_batch(x, y)
    check_finite(x, "x")
    X = design_matrix(x)  # (d + 1, N)
    if method == "normal":
        gram = X @ X.T  # (d + 1, d + 1) = Σᵢ x̂ᵢ x̂ᵢᵀ, eq 80
        g = np.asarray(gram, np.float64)
        s = np.linalg.svd(g, compute_uv=False)
        rel = max(g.shape) * np.finfo(np.asarray(gram).dtype).eps if rcond is None else rcond
        tol = s[0] * rel
        rank = int(np.sum(s > tol))
        if rank < g.shape[0]:
            cond = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
            raise JaxnnError(
                f"XXᵀ is singular: rank {rank} < {g.shape[0]} (d + 1 with the bias row), condition"
                f" number {cond:.3g}; some features are linearly dependent. Use method='lstsq'"
                " for the minimum-norm solution.")
        w_hat = jnp.linalg.solve(gram, X @ y)
    else:
        w_hat = jnp.linalg.lstsq(X.T, y, rcond=rcond)[0]
    return {"W": w_hat[None, 1:], "b": w_hat[:1]}
