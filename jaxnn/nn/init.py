"""Weight initializers for a layer z = W a + b with W of shape (n_out, n_in).

Every initializer takes the matrix shape in the notes' orientation ``(n_out, n_in)``
(Qiu Xipeng, 《神经网络与深度学习》 (2015), the notation box before eq 121:
W⁽ˡ⁾ ∈ ℝ^{nˡ × nˡ⁻¹}), so fan_in = shape[-1] and fan_out = shape[-2]. Extra leading axes
(e.g. a stack of matrices) are allowed and only scale the sample count, not the fans.

- :func:`uniform` — the notes only say the weights are "randomly generated" (the backprop
  lecture notes, §4: "每个连接上的权值是随机生成的"); we read that as a small uniform
  U(−scale, scale) with a caller-chosen ``scale``.
- :func:`glorot_uniform`, :func:`glorot_normal` — Glorot & Bengio (2010): variance
  2 / (fan_in + fan_out), keeping activations and gradients at the same scale in both
  directions for tanh/sigmoid-like units.
- :func:`he_normal`, :func:`he_uniform` — He et al. (2015): variance 2 / fan_in, for ReLU.
- :func:`orthogonal` — a random (semi-)orthogonal matrix (Saxe et al. 2014), the recurrent
  weights U of the RNN cells: every singular value is 1, so at initialisation U neither shrinks
  nor stretches the state it carries from step to step.
- :func:`zeros` — biases (and the notes' w₀ = 0 for linear models).

All return arrays of ``shape`` and ``dtype`` (float32 by default).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from jaxnn.errors import JaxnnError, check_choice, check_positive

Array = jax.Array


def _fans(shape: Sequence[int]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (..., n_out, n_in); raise on bad shapes."""
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise JaxnnError(f"weight shape must be (n_out, n_in) (or (..., n_out, n_in)); got {shape}")
    if any(s <= 0 for s in shape):
        raise JaxnnError(f"weight shape must have positive sizes; got {shape}")
    return shape[-1], shape[-2]


def _uniform(key: Array, shape: Sequence[int], limit: float, dtype) -> Array:
    return jax.random.uniform(key, tuple(shape), dtype, minval=-limit, maxval=limit)


def _normal(key: Array, shape: Sequence[int], std: float, dtype) -> Array:
    return std * jax.random.normal(key, tuple(shape), dtype)


def uniform(key: Array, shape: Sequence[int], scale: float, dtype=jnp.float32) -> Array:
    """Small uniform weights U(−scale, scale), the notes' "randomly generated" weights.

    Args:
        key: a ``jax.random`` key.
        shape: ``(n_out, n_in)`` (or any shape with at least two positive axes).
        scale: half-width of the interval, > 0 (e.g. 0.05).
        dtype: floating dtype of the result.

    Returns:
        array of ``shape`` and ``dtype`` with entries in [−scale, scale).
    """
    _fans(shape)
    check_positive(scale, "uniform init scale")
    return _uniform(key, shape, scale, dtype)


def glorot_uniform(key: Array, shape: Sequence[int], dtype=jnp.float32) -> Array:
    """Glorot/Xavier uniform: U(−r, r) with r = √(6 / (fan_in + fan_out)).

    Args:
        key: a ``jax.random`` key.
        shape: ``(n_out, n_in)``.
        dtype: floating dtype of the result.

    Returns:
        array of ``shape``, variance 2 / (fan_in + fan_out).
    """
    fan_in, fan_out = _fans(shape)
    return _uniform(key, shape, math.sqrt(6.0 / (fan_in + fan_out)), dtype)


def glorot_normal(key: Array, shape: Sequence[int], dtype=jnp.float32) -> Array:
    """Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out)) (not truncated).

    Args:
        key: a ``jax.random`` key.
        shape: ``(n_out, n_in)``.
        dtype: floating dtype of the result.

    Returns:
        array of ``shape``.
    """
    fan_in, fan_out = _fans(shape)
    return _normal(key, shape, math.sqrt(2.0 / (fan_in + fan_out)), dtype)


def he_normal(key: Array, shape: Sequence[int], dtype=jnp.float32) -> Array:
    """He (Kaiming) normal: N(0, 2 / fan_in) (not truncated), for ReLU layers.

    Args:
        key: a ``jax.random`` key.
        shape: ``(n_out, n_in)``.
        dtype: floating dtype of the result.

    Returns:
        array of ``shape``.
    """
    fan_in, _ = _fans(shape)
    return _normal(key, shape, math.sqrt(2.0 / fan_in), dtype)


def he_uniform(key: Array, shape: Sequence[int], dtype=jnp.float32) -> Array:
    """He (Kaiming) uniform: U(−r, r) with r = √(6 / fan_in), variance 2 / fan_in.

    Args:
        key: a ``jax.random`` key.
        shape: ``(n_out, n_in)``.
        dtype: floating dtype of the result.

    Returns:
        array of ``shape``.
    """
    fan_in, _ = _fans(shape)
    return _uniform(key, shape, math.sqrt(6.0 / fan_in), dtype)


def orthogonal(key: Array, shape: Sequence[int], dtype=jnp.float32) -> Array:
    """Random (semi-)orthogonal matrix: QR of a Gaussian, columns sign-corrected by diag(R).

    Args:
        key: a ``jax.random`` key.
        shape: ``(n_out, n_in)``, exactly two axes.
        dtype: floating dtype of the result.

    Returns:
        array of ``shape`` with orthonormal columns (``n_out ≥ n_in``) or rows (otherwise).
    """
    _fans(shape)
    if len(tuple(shape)) != 2:
        raise JaxnnError(f"orthogonal init needs a matrix shape (n_out, n_in); got {tuple(shape)}")
    n, m = (int(s) for s in shape)
    a = jax.random.normal(key, (max(n, m), min(n, m)), dtype)
    q, r = jnp.linalg.qr(a)
    q = q * jnp.sign(jnp.diagonal(r))[None, :]
    return q if n >= m else q.T


def zeros(key: Array | None, shape: Sequence[int], dtype=jnp.float32) -> Array:
    """All zeros (biases). ``key`` is accepted for a uniform signature and ignored.

    Args:
        key: ignored (may be None).
        shape: any shape.
        dtype: dtype of the result.

    Returns:
        zeros of ``shape`` and ``dtype``.
    """
    del key
    return jnp.zeros(tuple(shape), dtype)


#: Matrix initializers by name, each ``fn(key, shape, dtype)``; ``"uniform"`` needs a scale
#: and is looked up through :func:`get`.
_REGISTRY: dict[str, Callable[..., Array]] = {
    "glorot": glorot_uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "uniform": uniform,
    "zeros": zeros,
}

NAMES: tuple[str, ...] = tuple(_REGISTRY)


def get(name: str, *, scale: float = 0.05) -> Callable[[Array, Sequence[int], object], Array]:
    """Look up a matrix initializer by name as ``fn(key, shape, dtype) -> array``.

    Args:
        name: one of :data:`NAMES` (``"glorot"`` = glorot_uniform, ``"he"`` = he_normal).
        scale: half-width used only by ``"uniform"`` (jaxnn's choice 0.05; the notes give
            no number).

    Returns:
        the initializer.

    Raises:
        JaxnnError: for an unknown name (the message lists the known ones).
    """
    check_choice(name, NAMES, "initializer")
    fn = _REGISTRY[name]
    if name == "uniform":
        return lambda key, shape, dtype=jnp.float32: uniform(key, shape, scale, dtype)
    return fn
