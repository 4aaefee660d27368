"""Convolution as one matrix product with a row-Toeplitz filter matrix (fast on CPU).

A 2-D cross-correlation ``Z[b, i, j, k] = Σ_{u,v,p} X[b, s·i+u, s·j+v, p] · W[k, p, u, v]``
reads, for output row i, the m input rows ``s·i + u`` (u = 0..m−1). Along a row the sum over
v and p is a product with a banded ("Toeplitz") matrix: for each filter row u,

    T_u[(a, p), (j, k)] = W[k, p, u, a − s·j]   when 0 ≤ a − s·j < n, else 0,

shape (W_in·P, W_out·K). Stacking the m input rows side by side gives, for all outputs at once,

    Z[b, i, :, :] = [X[b, s·i, :, :], …, X[b, s·i+m−1, :, :]] · [T_0; …; T_{m−1}],

one (B·H_out, m·W_in·P) × (m·W_in·P, W_out·K) matrix product. It spends W_in/n times the
multiply-adds of the direct sum (T is mostly zeros), but large dense products are what CPUs
run best: for LeNet-5's small maps (P, K ≤ 16, 5×5 filters) it is 2–6× faster per layer than
XLA's CPU convolution, forward and backward. The backward pass is a custom VJP with two more
products, ``∂T = rowsᵀ·δ`` and ``∂rows = δ·Tᵀ``, whose results go back through the (linear)
construction of T and of the rows by ``jax.vjp``; it builds rowsᵀ straight from the input,
where autodiff would transpose a large δ (a third of LeNet-5's step time). Only reverse mode
is defined (``jax.grad``, ``jax.vjp``). A bias b joins the product as one more input column
of ones and one more row of T (b[k] under every output column (j, k)), as the recurrent layers
fold theirs into the input projection: XLA:CPU ran the add and the bias gradient's reduction
over every output position as kernels of their own. :func:`use_toeplitz` says when
:func:`jaxnn.nn.conv.conv` picks it under ``method="auto"``.

The same lowering covers the 1-D case (a unit row axis) and a filter as large as its input
(LeNet-5's C5: T is the flattened filter bank, and the layer is a dense product).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

# "auto" uses the Toeplitz product on CPU when T has at most this many elements (4 MiB of
# float32) and spends at most this factor more multiply-adds than the direct sum.
MAX_T_ELEMENTS = 1 << 20
MAX_EXTRA_WORK = 8.0


def _out(size: int, k: int, stride: int) -> int:
    """Valid output length of ``size`` inputs under a filter of ``k`` with ``stride``."""
    return (size - k) // stride + 1


def toeplitz_shape(width: int, maps_in: int, kernel: Sequence[int], maps_out: int,
                   stride: int) -> tuple[int, int]:
    """Shape (m·W_in·P, W_out·K) of the stacked Toeplitz matrix of a 2-D layer."""
    m, n = kernel
    return (m * width * maps_in, _out(width, n, stride) * maps_out)


def use_toeplitz(padded: Sequence[int], maps_in: int, kernel: Sequence[int], maps_out: int,
                 stride: Sequence[int]) -> bool:
    """Whether ``method="auto"`` lowers a 1-D or 2-D layer to the Toeplitz product.

    True on the CPU backend when the stacked matrix has at most :data:`MAX_T_ELEMENTS`
    elements and the extra work factor W_in/(n·s) is at most :data:`MAX_EXTRA_WORK`; GPUs and
    TPUs keep XLA's convolution (cuDNN and the MXU are better at it).
    """
    if len(kernel) not in (1, 2) or jax.default_backend() != "cpu":
        return False
    width, n, s = padded[-1], kernel[-1], stride[-1]
    rows = (1,) + tuple(kernel) if len(kernel) == 1 else tuple(kernel)
    size = int(np.prod(toeplitz_shape(width, maps_in, rows, maps_out, s)))
    return size <= MAX_T_ELEMENTS and width / (n * s) <= MAX_EXTRA_WORK


def _selection(width: int, n: int, stride: int, dtype) -> np.ndarray:
    """sel[v, a, j] = 1 where input column a = s·j + v feeds output column j; (n, W_in, W_out)."""
    w_out = _out(width, n, stride)
    sel = np.zeros((n, width, w_out), dtype)
    j = np.arange(w_out)
    for v in range(n):
        sel[v, stride * j + v, j] = 1
    return sel


def _filter_matrix(W: jax.Array, width: int, stride: int) -> jax.Array:
    """The stacked Toeplitz matrix [T_0; …; T_{m−1}] of a (K, P, m, n) bank, (m·W_in·P, W_out·K)."""
    K, P, m, n = W.shape
    sel = jnp.asarray(_selection(width, n, stride, np.dtype(W.dtype)))
    return jnp.einsum("vaj,kpuv->uapjk", sel, W).reshape(m * width * P, sel.shape[-1] * K)


def _row_slices(H: int, m: int, stride: int) -> tuple[int, list[slice]]:
    """H_out and, per filter row u, the input rows s·i + u (i = 0..H_out−1) as a slice."""
    h_out = _out(H, m, stride)
    return h_out, [slice(u, u + stride * (h_out - 1) + 1, stride) for u in range(m)]


def _rows(x: jax.Array, m: int, stride: int) -> jax.Array:
    """The m input rows under each output row, side by side: (B·H_out, m·W_in·P)."""
    B, H, width, P = x.shape
    h_out, slices = _row_slices(H, m, stride)
    return jnp.concatenate([x[:, r].reshape(B * h_out, width * P) for r in slices], axis=-1)


def _rows_transposed(x: jax.Array, m: int, stride: int) -> jax.Array:
    """``_rows(x).T`` built straight from x, (m·W_in·P, B·H_out): the weight gradient's left
    operand in the layout a matrix product wants, so no large transpose runs in the backward."""
    B, H, width, P = x.shape
    h_out, slices = _row_slices(H, m, stride)
    xt = jnp.transpose(x, (2, 3, 0, 1))                                   # (W_in, P, B, H)
    return jnp.concatenate([xt[..., r].reshape(width * P, B * h_out) for r in slices], axis=0)


def _with_ones(a: jax.Array, axis: int) -> jax.Array:
    """a with a row (axis 0) or column (axis −1) of ones appended."""
    shape = (1, a.shape[1]) if axis == 0 else (a.shape[0], 1)
    return jnp.concatenate([a, jnp.ones(shape, a.dtype)], axis=axis)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _product(x: jax.Array, W: jax.Array, b: jax.Array | None, stride: tuple[int, int]) -> jax.Array:
    rows, T = _rows(x, W.shape[2], stride[0]), _filter_matrix(W, x.shape[2], stride[1])
    if b is None:
        return rows @ T
    b_row = jnp.tile(b.astype(T.dtype), T.shape[1] // b.shape[0])[None]   # b[k] at every (j, k)
    return _with_ones(rows, -1) @ jnp.concatenate([T, b_row])


def _product_fwd(x, W, b, stride):
    return _product(x, W, b, stride), (x, W, b)


def _product_bwd(stride, res, g):
    x, W, b = res
    m = W.shape[2]
    T, t_vjp = jax.vjp(lambda W: _filter_matrix(W, x.shape[2], stride[1]), W)
    rows_t = jax.linear_transpose(lambda x: _rows(x, m, stride[0]), x)   # rows is linear in x
    left = _rows_transposed(x, m, stride[0])
    if b is None:
        (dW,) = t_vjp(left @ g)                                          # dT = rowsᵀ g
        db = None
    else:
        dT = _with_ones(left, 0) @ g                                     # [rows, 1]ᵀ g
        (dW,) = t_vjp(dT[:-1].astype(T.dtype))
        db = dT[-1].reshape(-1, b.shape[0]).sum(0).astype(b.dtype)       # Σ over j of row b
    (dx,) = rows_t(g @ T.T)                                              # d rows = g Tᵀ
    return dx, dW, db


_product.defvjp(_product_fwd, _product_bwd)


def toeplitz_correlation(x: jax.Array, W: jax.Array, stride: Sequence[int],
                         b: jax.Array | None = None) -> jax.Array:
    """Valid cross-correlation of channels-last maps by one matrix product.

    Args:
        x: (B, H, W_in, P) already zero-padded input maps (or (B, L, P) for 1-D).
        W: (K, P, m, n) filter bank, applied without flipping (or (K, P, n) for 1-D).
        stride: one int per spatial axis.
        b: optional (K,) bias, added inside the product: a column of ones joins the rows and
            the row ``b[k]`` at every output column (j, k) joins T, so neither the add nor the
            bias gradient's reduction over (B, H_out, W_out) is a pass of its own.

    Returns:
        (B, H_out, W_out, K) (or (B, L_out, K)), H_out = (H − m)//s + 1 and likewise W_out.
        Differentiable (reverse mode: a custom VJP whose weight gradient ``rowsᵀ · δ`` reads
        the input rows in transposed layout directly; ∂J/∂b is the extra row of that product,
        summed over j).
    """
    if W.ndim == 3:                                    # 1-D: a unit row axis
        return toeplitz_correlation(x[:, None], W[:, :, None], (1,) + tuple(stride), b)[:, 0]
    B, H, width, _ = x.shape
    K, _, m, n = W.shape
    sh, sw = (int(s) for s in stride)
    h_out, w_out = _out(H, m, sh), _out(width, n, sw)
    return _product(x, W, b, (sh, sw)).reshape(B, h_out, w_out, K)
