"""Rosenblatt's two-class perceptron on augmented vectors, compiled with ``lax`` control flow.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 113–114 and the algorithm box "两类感知器算法":
with the augmented input x̂ = (x, 1) and weight ŵ = (w, b), the prediction is
ŷ = +1 if ŵᵀx̂ > 0 else −1 (eq 114). Starting from ŵ₀ = 0, every sample with
y ŵᵀx̂ ≤ 0 is a mistake and triggers ŵ ← ŵ + y x̂.

Slip in the notes' algorithm box: it tests ``ŵᵀ(y x̂) < 0``. From ŵ₀ = 0 every product is
0, so that test never fires and the algorithm would return ŵ = 0; the update must fire on
``≤ 0`` (which is also what eq 114 calls a wrong prediction: ŵᵀx̂ = 0 predicts −1).

Novikoff (1963), as quoted by Qiu: if some unit vector u separates the data with margin
γ = minᵢ yᵢ uᵀx̂ᵢ > 0 and R = maxᵢ ‖x̂ᵢ‖, the number of mistakes is K ≤ R²/γ²
(:func:`novikoff_bound`; the notes write a strict "<", the proof gives "≤": one sample x̂ = 1
makes K = 1 = R²/γ²). The slide never defines γ, and its model slide says the perceptron
outputs 0 or 1 while eq 113–114 use ±1 (as the code does).

Parameters: ``{"w": (n + 1,)}``, the notes' augmented ŵ = (w, b) (the bias last), so the
algorithm box's update ŵ ← ŵ + y x̂ is one line. The sizes and the epoch budget T live in one
frozen :class:`PerceptronConfig`. Every function works with 32- and 64-bit floats (the mistake
counters are int32 either way).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxnn.errors import (JaxnnError, check_finite, check_floating, check_ndim, check_same_leading,
                          check_shape)
from jaxnn.models import _config as cfgcheck


@dataclasses.dataclass(frozen=True)
class PerceptronConfig:
    """Static choices of Rosenblatt's perceptron (frozen, hashable).

    Attributes:
        n_in: n, the number of raw input features (integer ≥ 1).
        max_epochs: T, the most passes :func:`fit` runs (integer ≥ 1).
        dtype: floating dtype of :func:`init`'s ŵ₀ (stored as its name).
    """

    n_in: int
    max_epochs: int = 100
    dtype: Any = "float32"

    def __post_init__(self):
        cfgcheck.int_field(self, "n_in")
        cfgcheck.int_field(self, "max_epochs")
        cfgcheck.dtype_field(self, "dtype")


def augment(x: jax.Array) -> jax.Array:
    """Append the constant 1 to each input, x̂ = (x, 1) (eq 114).

    Args:
        x: (N, n) inputs.

    Returns:
        (N, n + 1), dtype of ``x``.
    """
    check_ndim(x, 2, "x")
    x = jnp.asarray(x)
    return jnp.concatenate([x, jnp.ones((x.shape[0], 1), x.dtype)], axis=1)


def init(key: jax.Array | None, config: PerceptronConfig) -> dict[str, jax.Array]:
    """The algorithm box's start ŵ₀ = 0.

    Args:
        key: unused (the notes start from zero); kept for the common ``init(key, config)``
            contract.
        config: :class:`PerceptronConfig`.

    Returns:
        ``{"w": (n_in + 1,)}`` zeros; the last entry is the bias b.
    """
    del key
    cfgcheck.require_config(config, PerceptronConfig, "perceptron.init")
    return {"w": jnp.zeros((config.n_in + 1,), config.dtype)}


def _check_x(params, x) -> None:
    check_ndim(x, 2, "x")
    check_floating(x, "x")
    n = params["w"].shape[0] - 1
    check_shape(x, (None, n), "x")


def _check_params(params, config: PerceptronConfig) -> None:
    cfgcheck.require_config(config, PerceptronConfig, "perceptron")
    if not isinstance(params, dict) or set(params) != {"w"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise JaxnnError(f"params must be {{'w': ({config.n_in + 1},)}} (the weights with the "
                         f"bias appended); got {got}")
    check_shape(params["w"], (config.n_in + 1,), "params['w'] (n_in + 1 with the bias)")


def decision(params, x) -> jax.Array:
    """ŵᵀx̂ for each row.

    Args:
        params: ``{"w": (n + 1,)}``.
        x: (N, n) float.

    Returns:
        (N,) float.
    """
    _check_x(params, x)
    return augment(x) @ params["w"]


def apply(params, x, *, config: PerceptronConfig, key=None, train=False) -> jax.Array:
    """Predictions of eq 114: +1 where ŵᵀx̂ > 0, −1 where ŵᵀx̂ ≤ 0.

    (Not ``jaxnn.nn.activations.sign``, which maps 0 to 0: eq 114 assigns ŵᵀx̂ = 0 to −1,
    so the start ŵ₀ = 0 predicts −1 everywhere.)

    Args:
        params: ``{"w": (n + 1,)}``.
        x: (N, n) float.
        config: :class:`PerceptronConfig`.
        key, train: unused (kept for the shared model contract).

    Returns:
        (N,) array of ±1 in ``x``'s float dtype.
    """
    _check_params(params, config)
    z = decision(params, x)
    return jnp.where(z > 0, 1.0, -1.0).astype(z.dtype)


def loss(params, batch, *, config: PerceptronConfig, key=None) -> jax.Array:
    """The perceptron criterion, mean over the batch of max(0, −y ŵᵀx̂).

    Its subgradient at a mistaken sample is −y x̂, so SGD with step 1 on it is Rosenblatt's
    update.

    Args:
        params: ``{"w": (n + 1,)}``.
        batch: ``(x (N, n), y (N,) in {−1, +1})``.
        config: :class:`PerceptronConfig`.
        key: unused.

    Returns:
        scalar.
    """
    _check_params(params, config)
    x, y = batch
    _check_labels(y)
    check_same_leading({"x": x, "y": y})
    return jnp.mean(jnp.maximum(0.0, -y * decision(params, x)))


def _check_labels(y) -> None:
    check_ndim(y, 1, "y")
    if isinstance(y, jax.core.Tracer):
        return
    a = np.asarray(y)
    bad = a[(a != 1) & (a != -1)]
    if bad.size:
        raise JaxnnError(f"perceptron labels must be -1 or +1; got {bad[:5].tolist()}")


class PerceptronFit(NamedTuple):
    """What :func:`fit` returns."""

    params: dict  # {"w": (n + 1,)}
    mistakes_per_epoch: jax.Array  # (max_epochs,) int32; zero after the last epoch run
    epochs: jax.Array  # int32 scalar, epochs run (including the final mistake-free one)
    converged: jax.Array  # bool scalar: the last epoch made no mistake
    mistakes: jax.Array  # int32 scalar, K = total number of updates


def fit(x, y, *, config: PerceptronConfig, params=None) -> PerceptronFit:
    """Rosenblatt's algorithm: epochs of one pass over the samples in order, until an
    epoch makes no mistake or ``config.max_epochs`` passes have run.

    Compiled as a ``lax.while_loop`` over epochs around a ``lax.scan`` over samples; runs in
    ``x``'s float dtype (float32 for integer inputs).

    Args:
        x: (N, n) float inputs (not augmented).
        y: (N,) labels in {−1, +1}.
        config: :class:`PerceptronConfig` (n = ``n_in``, T = ``max_epochs``).
        params: optional start ``{"w": (n + 1,)}``; default ŵ₀ = 0 as in the notes.

    Returns:
        :class:`PerceptronFit`.
    """
    check_finite(x, "x")
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.float32)
    check_ndim(x, 2, "x")
    _check_labels(y)
    check_same_leading({"x": x, "y": y})
    if params is None:
        params = {"w": jnp.zeros((config.n_in + 1,), x.dtype)}
    _check_params(params, config)
    _check_x(params, x)
    return _fit(params, augment(x), jnp.asarray(y, x.dtype), max_epochs=config.max_epochs)


def _sample(w, xy):
    """One step of the algorithm box: update on a mistake (y ŵᵀx̂ ≤ 0)."""
    xi, yi = xy
    wrong = yi * (w @ xi) <= 0
    return jnp.where(wrong, w + yi * xi, w), wrong.astype(jnp.int32)


@partial(jax.jit, static_argnames=("max_epochs",))
def _fit(params, xa, y, *, max_epochs):
    def epoch(state):
        w, hist, t, _ = state
        w, wrong = lax.scan(_sample, w, (xa, y))
        k = jnp.sum(wrong, dtype=jnp.int32)  # int32 under x64 too: the carry's type
        return w, hist.at[t].set(k), t + 1, k

    def more(state):
        _, _, t, k = state
        return (t < max_epochs) & (k > 0)

    hist0 = jnp.zeros((max_epochs,), jnp.int32)
    start = (params["w"], hist0, jnp.int32(0), jnp.int32(1))
    w, hist, t, k = lax.while_loop(more, epoch, start)
    return PerceptronFit({"w": w}, hist, t, k == 0, jnp.sum(hist, dtype=jnp.int32))


def epoch_trace(params, x, y) -> tuple[jax.Array, jax.Array]:
    """One epoch of the algorithm, keeping ŵ after every sample (for plots and checks).

    Args:
        params: ``{"w": (n + 1,)}``.
        x: (N, n) float.
        y: (N,) ±1.

    Returns:
        ``(w_after (N, n + 1), mistake (N,) int32)``.
    """
    _check_x(params, x)
    _check_labels(y)
    check_same_leading({"x": x, "y": y})
    xa = augment(jnp.asarray(x, params["w"].dtype))

    def body(w, xy):
        w, wrong = _sample(w, xy)
        return w, (w, wrong)

    _, (ws, wrong) = lax.scan(body, params["w"], (xa, jnp.asarray(y, xa.dtype)))
    return ws, wrong


class Novikoff(NamedTuple):
    """Radius, margin and mistake bound of Novikoff's theorem (all float scalars)."""

    R: jax.Array  # max ‖x̂ᵢ‖
    gamma: jax.Array  # min yᵢ uᵀx̂ᵢ / ‖u‖
    bound: jax.Array  # R² / γ²


def novikoff_bound(x, y, u) -> Novikoff:
    """Novikoff's bound K ≤ R²/γ² for a given separating (augmented) direction ``u``.

    Args:
        x: (N, n) raw inputs.
        y: (N,) ±1.
        u: (n + 1,) any separator of the augmented data (normalised here).

    Returns:
        :class:`Novikoff` of float scalars.

    Raises:
        JaxnnError: if ``u`` does not separate the data (γ ≤ 0), since the bound then says
            nothing.
    """
    check_ndim(x, 2, "x")
    _check_labels(y)
    check_same_leading({"x": x, "y": y})
    check_shape(u, (np.shape(x)[1] + 1,), "u")
    xa = augment(jnp.asarray(x))
    u = jnp.asarray(u, xa.dtype)
    gamma = jnp.min(jnp.asarray(y, xa.dtype) * (xa @ u)) / jnp.linalg.norm(u)
    if not isinstance(gamma, jax.core.Tracer) and float(gamma) <= 0:
        raise JaxnnError(f"u does not separate the data: margin gamma = {float(gamma):.6g} <= 0")
    R = jnp.max(jnp.linalg.norm(xa, axis=1))
    return Novikoff(R, gamma, (R / gamma) ** 2)


def separability_certificate(x, y) -> np.ndarray | None:
    """A proof that no augmented linear separator exists, or ``None`` if one does.

    Gordan's theorem: there is no ŵ with yᵢ ŵᵀx̂ᵢ > 0 for all i exactly when some λ ≥ 0,
    λ ≠ 0 has Σᵢ λᵢ yᵢ x̂ᵢ = 0 (then Σ λᵢ yᵢ ŵᵀx̂ᵢ = 0 for every ŵ, so not all terms are > 0).
    Solved as a small linear program (scipy, outside jit).

    Args:
        x: (N, n) inputs.
        y: (N,) ±1.

    Returns:
        λ, (N,) float64 with Σλ = 1, or ``None`` when the data are separable. For XOR,
        λ = (¼, ¼, ¼, ¼): the two positive and two negative corners share a centroid.
    """
    from scipy.optimize import linprog

    _check_labels(y)
    check_same_leading({"x": x, "y": y})
    check_ndim(x, 2, "x")
    x = np.asarray(x, np.float64)
    xa = np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)
    a = (np.asarray(y, np.float64)[:, None] * xa).T  # (n + 1, N)
    n_s = a.shape[1]
    a_eq = np.vstack([a, np.ones((1, n_s))])
    b_eq = np.concatenate([np.zeros(a.shape[0]), [1.0]])
    res = linprog(np.zeros(n_s), A_eq=a_eq, b_eq=b_eq, bounds=[(0, None)] * n_s, method="highs")
    return res.x if res.status == 0 else None
