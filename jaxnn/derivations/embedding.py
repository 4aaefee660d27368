"""The gradient of an embedding lookup: a scatter-add into the rows used.

The lookup X = ``nn.layers.embedding(C, ids)`` takes rows of the word-vector matrix C
(V × d): X[i] = C[ids[i]] for every position i of ``ids`` (any shape). Written as a
product with one-hot rows, X[i] = Σ_v 1{ids[i] = v} C[v], so X is linear in C and

    ∂X[i, k] / ∂C[v, j] = 1{ids[i] = v} · 1{k = j}.

For any downstream loss L with upstream gradient G = ∂L/∂X (same shape as X, (..., d)),
the chain rule gives

    ∂L/∂C[v, j] = Σ_i Σ_k G[i, k] ∂X[i, k]/∂C[v, j] = Σ_{i : ids[i] = v} G[i, j],

i.e. ∂L/∂C = Oᵀ G with O the (N, V) one-hot matrix of the N = ids.size positions: each
position's upstream row is *added* into row ids[i] of a zero matrix. A row used twice gets
the sum of its two upstream rows; a row never used gets exactly zero (which is why sparse
updates of C — touching only the rows in the batch — are exact for plain SGD; weight decay
or momentum are not sparse). The cost is O(N·d), never the O(N·V·d) of the one-hot product.

Sources: Bengio et al. 2003, "A Neural Probabilistic Language Model" (JMLR 3): one matrix C
shared by the n−1 positions of the window, so a word seen twice in a window gets both
contributions; Qiu Xipeng, 《神经网络与深度学习》 (2015), text applications (the lookup matrix).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError

__all__ = ["grad_lookup"]


def grad_lookup(C_shape: Sequence[int], ids: jax.Array, upstream: jax.Array) -> jax.Array:
    """∂L/∂C for L = loss(embedding(C, ids)), given the upstream gradient ∂L/∂X.

    Args:
        C_shape: (V, d), the shape of the word-vector matrix C.
        ids: integer array of any shape (...), values in [0, V).
        upstream: (..., d) float array, ∂L/∂X with X = embedding(C, ids).

    Returns:
        (V, d) array, dtype of ``upstream``: row v is Σ_{i: ids[i] = v} upstream[i]; exactly
        what ``jax.grad`` returns for C.

    Raises:
        ShapeError: C_shape is not 2-D, or upstream is not ids.shape + (d,).
        JaxnnError: ids not integers, or outside [0, V) (naming the id).
    """
    if len(C_shape) != 2:
        raise ShapeError(f"C_shape must be (V, d); got {tuple(C_shape)}")
    V, d = (int(s) for s in C_shape)
    ids = jnp.asarray(ids)
    if not jnp.issubdtype(ids.dtype, jnp.integer):
        raise JaxnnError(f"ids must be integers; got dtype {ids.dtype}")
    if tuple(np.shape(upstream)) != tuple(ids.shape) + (d,):
        raise ShapeError(f"upstream must have shape ids.shape + (d,) = {tuple(ids.shape) + (d,)}; "
                         f"got {tuple(np.shape(upstream))}")
    a = np.asarray(ids)
    bad = a[(a < 0) | (a >= V)]
    if bad.size:
        raise JaxnnError(f"id {int(bad.ravel()[0])} is outside the vocabulary [0, {V})")
    G = jnp.reshape(upstream, (-1, d))  # (N, d)
    return jnp.zeros((V, d), G.dtype).at[ids.reshape(-1)].add(G)
