"""Activation functions of a neuron ``a = f(z)`` and their closed-form derivatives.

Sources: Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 35–38 (logistic), 39–44 (softmax),
115–120 (neuron, logistic, tanh, rectifier, softplus); the backprop lecture notes' figure 15
(binary step, logistic, tanh, ReLU with their derivatives); the perceptron's ``sign``.
Leaky ReLU, ELU and GELU are extras the notes do not cover.

Every scalar activation is elementwise: ``x`` of any shape and floating dtype in, an array of
the same shape and dtype out. Each has a derivative ``<name>_prime(x)`` written out in closed
form (never via autodiff); the tests compare each against ``jax.grad``.

NaN propagates: every function and every closed-form derivative returns NaN where ``x`` is
NaN (a comparison alone would map NaN to 0 or 1 and hide a poisoned input, so ``relu``,
``binary_step`` and the constant derivatives select ``x`` itself at NaN); for every other
input the values are those of the plain formulas, bit for bit.

Derivatives at kinks (where the notes leave a ``?``) follow what ``jax.grad`` of the function
returns, so a hand backprop and autodiff agree bit for bit. At x = 0:

- ``relu_prime`` is 0, as ``jax.grad`` of ``jax.nn.relu`` (``jnp.maximum(x, 0)`` would give
  0.5); figure 15 of the backprop notes writes 1 (x ≥ 0); any value in [0, 1] is a subgradient.
- ``leaky_relu_prime`` is ``negative_slope``, consistent with ``relu`` (slope 0 gives relu).
- ``binary_step_prime`` is 0 (the notes write ``?``; the step is 1 for x ≥ 0), ``sign_prime``
  is 0 (``sign(0) = 0``).

The vector activations :func:`softmax` and :func:`log_softmax` subtract the maximum first, so
logits of any size give finite values. Their Jacobian ``diag(y) − y yᵀ`` (eq 44) lives in
:mod:`jaxnn.derivations.vector`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfc

from jaxnn.errors import JaxnnError, check_choice

Array = jax.Array

_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715  # Hendrycks & Gimpel (2016), tanh approximation


# --------------------------------------------------------------------------- functions

def sigmoid(x: Array) -> Array:
    """Logistic function σ(x) = 1 / (1 + e^{−x}) (Qiu eq 35, 117).

    Computed with ``jax.nn.sigmoid`` (``lax.logistic``): the literal formula overflows
    ``e^{−x}`` for x ≲ −89 in float32 and its autodiff gradient becomes inf/inf = NaN there.

    Args:
        x: array of any shape, floating dtype.

    Returns:
        σ(x), same shape and dtype as ``x``, values in [0, 1].
    """
    return jax.nn.sigmoid(x)


def sigmoid_prime(x: Array) -> Array:
    """σ′(x) = σ(x)(1 − σ(x)) (Qiu eq 36); at most 1/4, reached at x = 0.

    Args:
        x: array of any shape, floating dtype.

    Returns:
        σ′(x), same shape and dtype as ``x``.
    """
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x: Array) -> Array:
    """Hyperbolic tangent (e^x − e^{−x}) / (e^x + e^{−x}) = 2σ(2x) − 1 (Qiu eq 118).

    Args:
        x: array of any shape, floating dtype.

    Returns:
        tanh(x), same shape and dtype as ``x``, values in [−1, 1].
    """
    return jnp.tanh(x)


def tanh_prime(x: Array) -> Array:
    """tanh′(x) = 1 − tanh(x)²; at most 1, reached at x = 0.

    Args:
        x: array of any shape, floating dtype.

    Returns:
        tanh′(x), same shape and dtype as ``x``.
    """
    t = jnp.tanh(x)
    return 1.0 - t * t


def _nan_to_nan(x: Array, y: Array) -> Array:
    """``y`` where ``x`` is a number, NaN (``x`` itself) where ``x`` is NaN."""
    return jnp.where(jnp.isnan(x), x, y)


def relu(x: Array) -> Array:
    """Rectifier max(0, x) (Qiu eq 119), as ``where(x <= 0, 0, x)``: ``jax.grad`` at 0 is 0
    and NaN stays NaN.

    Args:
        x: array of any shape, floating dtype.

    Returns:
        max(0, x), same shape and dtype as ``x``.
    """
    return jnp.where(x <= 0, jnp.zeros_like(x), x)


def relu_prime(x: Array) -> Array:
    """ReLU derivative: 1 for x > 0, 0 for x ≤ 0 (0 at the kink, as ``jax.grad``).

    Args:
        x: array of any shape, floating dtype.

    Returns:
        0/1 array (NaN where ``x`` is NaN), same shape and dtype as ``x``.
    """
    return _nan_to_nan(x, (x > 0).astype(x.dtype))


def softplus(x: Array) -> Array:
    """softplus(x) = log(1 + e^x) (Qiu eq 120), a smooth ReLU; ``logaddexp(x, 0)``, so no inf.

    Args:
        x: array of any shape, floating dtype.

    Returns:
        softplus(x), same shape and dtype as ``x``, values > 0.
    """
    return jnp.logaddexp(x, jnp.zeros_like(x))


def softplus_prime(x: Array) -> Array:
    """softplus′(x) = e^x / (1 + e^x) = σ(x): "its derivative is exactly the logistic function".

    Args:
        x: array of any shape, floating dtype.

    Returns:
        σ(x), same shape and dtype as ``x``.
    """
    return sigmoid(x)


def binary_step(x: Array) -> Array:
    """Heaviside step: 1 for x ≥ 0, 0 for x < 0 (backprop notes, figure 15).

    Args:
        x: array of any shape, floating dtype.

    Returns:
        0/1 array (NaN where ``x`` is NaN), same shape and dtype as ``x``.
    """
    return _nan_to_nan(x, (x >= 0).astype(x.dtype))


def binary_step_prime(x: Array) -> Array:
    """Derivative of the step: 0 (the notes leave x = 0 as "?"; 0 is what ``jax.grad`` gives).

    Args:
        x: array of any shape, floating dtype.

    Returns:
        zeros (NaN where ``x`` is NaN), same shape and dtype as ``x``.
    """
    return _nan_to_nan(x, jnp.zeros_like(x))


def sign(x: Array) -> Array:
    """Sign function of the perceptron f(x) = sign(w·x + b): −1, 0 or +1.

    Args:
        x: array of any shape, floating dtype.

    Returns:
        sign(x), same shape and dtype as ``x`` (sign(0) = 0).
    """
    return jnp.sign(x)


def sign_prime(x: Array) -> Array:
    """Derivative of sign: 0 (undefined at 0, where it is 0 as ``jax.grad`` returns).

    Args:
        x: array of any shape, floating dtype.

    Returns:
        zeros (NaN where ``x`` is NaN), same shape and dtype as ``x``.
    """
    return _nan_to_nan(x, jnp.zeros_like(x))


def leaky_relu(x: Array, negative_slope: float = 0.01) -> Array:
    """Leaky ReLU: x for x > 0, ``negative_slope``·x otherwise (Maas et al. 2013; not in notes).

    Args:
        x: array of any shape, floating dtype.
        negative_slope: slope for x ≤ 0 (default 0.01, as in Maas et al. and ``jax.nn``).

    Returns:
        same shape and dtype as ``x``.
    """
    return jnp.where(x > 0, x, negative_slope * x)


def leaky_relu_prime(x: Array, negative_slope: float = 0.01) -> Array:
    """Leaky ReLU derivative: 1 for x > 0, ``negative_slope`` for x ≤ 0 (at 0 too, as jax.grad).

    Args:
        x: array of any shape, floating dtype.
        negative_slope: slope for x ≤ 0.

    Returns:
        same shape and dtype as ``x``.
    """
    return _nan_to_nan(x, jnp.where(x > 0, jnp.ones_like(x), jnp.full_like(x, negative_slope)))


def elu(x: Array, alpha: float = 1.0) -> Array:
    """ELU: x for x > 0, α(e^x − 1) otherwise (Clevert et al. 2016; not in the notes).

    e^x is evaluated on the non-positive part only, so large x cannot poison the gradient.

    Args:
        x: array of any shape, floating dtype.
        alpha: saturation value −α for x → −∞ (default 1.0).

    Returns:
        same shape and dtype as ``x``.
    """
    neg = jnp.where(x > 0, jnp.zeros_like(x), x)
    return jnp.where(x > 0, x, alpha * jnp.expm1(neg))


def elu_prime(x: Array, alpha: float = 1.0) -> Array:
    """ELU derivative: 1 for x > 0, α e^x for x ≤ 0 (α at 0, as ``jax.grad``).

    Args:
        x: array of any shape, floating dtype.
        alpha: as in :func:`elu`.

    Returns:
        same shape and dtype as ``x``.
    """
    neg = jnp.where(x > 0, jnp.zeros_like(x), x)
    return jnp.where(x > 0, jnp.ones_like(x), alpha * jnp.exp(neg))


def gelu(x: Array, approximate: bool = False) -> Array:
    """GELU x·Φ(x) (Hendrycks & Gimpel 2016; not in the notes).

    Exact (the default, unlike ``jax.nn.gelu``): ``0.5 x (1 + erf(x/√2))`` as ``0.5 x
    erfc(−x/√2)``, without 1 + erf's cancellation for x ≪ 0; with ``approximate=True``
    ``0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³)))``.

    Args:
        x: array of any shape, floating dtype.
        approximate: use the tanh approximation.

    Returns:
        same shape and dtype as ``x``.
    """
    if approximate:
        u = _SQRT_2_OVER_PI * (x + _GELU_CUBIC * x**3)
        return 0.5 * x * (1.0 + jnp.tanh(u))
    return 0.5 * x * erfc(-x / _SQRT_2)


def gelu_prime(x: Array, approximate: bool = False) -> Array:
    """GELU derivative: Φ(x) + x φ(x), φ(x) = e^{−x²/2}/√(2π); with ``approximate=True``
    ``0.5(1 + t) + 0.5 x (1 − t²) √(2/π)(1 + 3·0.044715 x²)``, t = tanh(u).

    Args:
        x: array of any shape, floating dtype.
        approximate: as in :func:`gelu`.

    Returns:
        same shape and dtype as ``x``.
    """
    if approximate:
        t = jnp.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x**3))
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * x**2)
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du
    cdf = 0.5 * erfc(-x / _SQRT_2)
    pdf = jnp.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


def identity(x: Array) -> Array:
    """Identity f(x) = x (linear output units, regression).

    Args:
        x: array of any shape.

    Returns:
        ``x`` unchanged.
    """
    return x


def identity_prime(x: Array) -> Array:
    """Derivative of the identity: 1 everywhere.

    Args:
        x: array of any shape.

    Returns:
        ones (NaN where ``x`` is NaN), same shape and dtype as ``x``.
    """
    return _nan_to_nan(x, jnp.ones_like(x))


# --------------------------------------------------------------------------- vector

def _check_axis(z: Array, axis: int) -> None:
    nd = np.ndim(z)
    if nd == 0 or not -nd <= axis < nd:
        raise JaxnnError(f"axis {axis} is out of range for an array of shape {tuple(np.shape(z))}")


def log_softmax(z: Array, axis: int = -1) -> Array:
    """log softmax(z)_k = z_k − log Σ_i e^{z_i}, as (z − m) − log Σ e^{z − m} with m = max z.

    Args:
        z: logits, any shape with at least one dimension, floating dtype.
        axis: the class axis (default last).

    Returns:
        log-probabilities, same shape and dtype as ``z``; finite for any finite ``z``.
    """
    _check_axis(z, axis)
    shifted = z - jax.lax.stop_gradient(jnp.max(z, axis=axis, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=axis, keepdims=True))


def softmax(z: Array, axis: int = -1) -> Array:
    """softmax(z)_k = e^{z_k} / Σ_i e^{z_i} (Qiu eq 39–42), with the maximum subtracted first.

    Args:
        z: logits, any shape with at least one dimension, floating dtype.
        axis: the class axis (default last).

    Returns:
        probabilities in [0, 1] summing to 1 along ``axis``; same shape and dtype as ``z``.
    """
    _check_axis(z, axis)
    e = jnp.exp(z - jax.lax.stop_gradient(jnp.max(z, axis=axis, keepdims=True)))
    return e / jnp.sum(e, axis=axis, keepdims=True)


# --------------------------------------------------------------------------- registry

class Activation(NamedTuple):
    """An elementwise activation and its closed-form derivative."""

    name: str
    fn: Callable[[Array], Array]
    prime: Callable[[Array], Array]


_REGISTRY: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", sigmoid, sigmoid_prime),
        Activation("tanh", tanh, tanh_prime),
        Activation("relu", relu, relu_prime),
        Activation("softplus", softplus, softplus_prime),
        Activation("binary_step", binary_step, binary_step_prime),
        Activation("sign", sign, sign_prime),
        Activation("leaky_relu", leaky_relu, leaky_relu_prime),
        Activation("elu", elu, elu_prime),
        Activation("gelu", gelu, gelu_prime),
        Activation("identity", identity, identity_prime),
    )
}

#: Names accepted by :func:`get`, in the order above.
NAMES: tuple[str, ...] = tuple(_REGISTRY)


def get(name: str) -> Activation:
    """Look up an elementwise activation by name.

    Args:
        name: one of :data:`NAMES`.

    Returns:
        ``Activation(name, fn, prime)`` with the textbook default parameters.

    Raises:
        JaxnnError: for an unknown name (the message lists the known ones).
    """
    check_choice(name, NAMES, "activation")
    return _REGISTRY[name]
