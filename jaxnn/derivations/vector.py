"""Derivatives of vector functions: elementwise activations and softmax, by hand.

Source: Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 29–44:

- eq 29–31: ∂x/∂x = I, ∂(Ax)/∂x = Aᵀ, ∂(xᵀA)/∂x = A — the notes use the *denominator*
  layout (∂y/∂x has shape (dim x, dim y)); ``jax.jacobian`` uses the numerator layout
  (dim y, dim x), the transpose. The functions here return ``jax.jacobian``'s layout, and say
  so; for the symmetric Jacobians below the two coincide.
- eq 32–34: an elementwise z = f(x) has the diagonal Jacobian diag(f′(x)).
- eq 38: the logistic function's Jacobian diag(σ(x) ⊙ (1 − σ(x))).
- eq 39–44: softmax's Jacobian diag(y) − y yᵀ with y = softmax(x).
- log-softmax (not in the notes): ∂ log y_i / ∂x_j = δ_ij − y_j, i.e. I − 1 yᵀ; this is the
  step from eq 44 to eq 104 (``(diag(ŷ) − ŷŷᵀ) diag(ŷ)⁻¹ = I − ŷ 1ᵀ`` in the notes' layout).

Slips in the notes' math background (autodiff and the shapes decide):

- eq 17: the last row of the Jacobian reads ∂f₁/∂x₂ … ∂f_q/∂x_n; for x ∈ ℝᵖ the matrix is
  p × q and both are x_p.
- eq 30 is printed ∂A/∂x = Aᵀ; the derivative of a constant matrix is 0. What is meant is
  ∂(Ax)/∂x = Aᵀ (``jax.jacobian(lambda x: A @ x)`` is A, the numerator-layout transpose).
- eq 40 sums Σ_{i=1}^K z_k; the index is k.
- eq 43 divides by 1_K exp(x) in its second to fifth lines, and so does the first line of
  eq 44: 1_K is K × 1, so the scalar Σ_k exp(x_k) is 1_Kᵀ exp(x), with the transpose.

These are only compared against ``jax.jacobian`` in tests; no layer uses them.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxnn.errors import check_ndim
from jaxnn.nn.activations import sigmoid_prime, softmax

Array = jax.Array


def jacobian_elementwise(prime: Callable[[Array], Array], x: Array) -> Array:
    """∂f(x)/∂x = diag(f′(x)) for an elementwise f (Qiu eq 33–34).

    Args:
        prime: the closed-form derivative f′ (e.g. ``activations.tanh_prime``).
        x: (K,) input vector, floating dtype.

    Returns:
        (K, K) diagonal matrix, dtype of ``x``.
    """
    check_ndim(x, 1, "x")
    return jnp.diag(prime(x))


def jacobian_sigmoid(x: Array) -> Array:
    """σ′(x) = diag(σ(x) ⊙ (1 − σ(x))) (Qiu eq 38).

    Args:
        x: (K,) input vector, floating dtype.

    Returns:
        (K, K) diagonal matrix, dtype of ``x``.
    """
    return jacobian_elementwise(sigmoid_prime, x)


def jacobian_softmax(x: Array) -> Array:
    """∂softmax(x)/∂x = diag(y) − y yᵀ with y = softmax(x) (Qiu eq 44). Symmetric, so the
    notes' and ``jax.jacobian``'s layouts agree; each row and column sums to 0.

    Args:
        x: (K,) logits, floating dtype.

    Returns:
        (K, K) matrix, dtype of ``x``.
    """
    check_ndim(x, 1, "x")
    y = softmax(x)
    return jnp.diag(y) - jnp.outer(y, y)


def jacobian_log_softmax(x: Array) -> Array:
    """∂ log softmax(x)_i / ∂x_j = δ_ij − y_j, i.e. I − 1 yᵀ (``jax.jacobian``'s layout).

    Args:
        x: (K,) logits, floating dtype.

    Returns:
        (K, K) matrix, dtype of ``x``; every row is e_i − y.
    """
    check_ndim(x, 1, "x")
    y = softmax(x)
    return jnp.eye(x.shape[0], dtype=y.dtype) - y[None, :]
