"""Dense (fully connected) layer, dropout and embedding lookup.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 121–122: a layer computes z = W a + b with W of
shape (n_out, n_in) in the notes' orientation. Batched code computes ``x @ W.T + b`` for x of
shape (..., n_in), which is the same thing row by row. :func:`dense` is the one affine map of
every model in :mod:`jaxnn.models` (MLP layers, LeNet-5's F6 and softmax head, the threshold
net, the linear models and the SVM neuron), so each layer's parameters are ``{"W", "b"}``.

Dropout (Srivastava et al. 2014, the "dropout" of the feedforward chapter's training tricks):
``rate`` is the probability of *dropping* a unit. Kept units are scaled by 1/(1 − rate)
("inverted" dropout) during training so that evaluation needs no rescaling: with
``train=False`` dropout is the identity.

The embedding lookup is the lookup table / projection matrix of the feedforward language
model: row i of ``E`` (shape (|V|, d)) is the vector of word i.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError, check_floating, check_ndim, check_range

Array = jax.Array


def dense(params: dict[str, Array], x: Array) -> Array:
    """Affine layer z = W x + b applied to the last axis (eq 121).

    Args:
        params: ``{"W": (n_out, n_in), "b": (n_out,)}`` floating arrays.
        x: (..., n_in) floating array.

    Returns:
        (..., n_out) array, dtype of ``x @ W.T``.

    Raises:
        ShapeError: W is not 2-D, b is not (n_out,), or x's last axis is not n_in.
    """
    if not isinstance(params, dict) or "W" not in params or "b" not in params:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise JaxnnError(f"dense params must be a dict with keys 'W' and 'b'; got {got}")
    W, b = params["W"], params["b"]
    check_affine(W, b, x)
    z = x @ W.T
    return z + jnp.broadcast_to(b, z.shape)  # explicit: the suite forbids rank promotion


def check_affine(W: Any, b: Any, x: Any, name: str = "dense", w_name: str = "W") -> None:
    """Check the operands of ``x @ W.T + b``: W 2-D (n_out, n_in), b (n_out,), x (..., n_in)
    floating; a :class:`ShapeError` (or :class:`JaxnnError`) names ``name`` and the shapes."""
    check_ndim(W, 2, f"{name} {w_name}")
    n_out, n_in = np.shape(W)
    if np.shape(b) != (n_out,):
        raise ShapeError(f"{name} b must have shape ({n_out},) to match {w_name} "
                         f"{np.shape(W)}; got {tuple(np.shape(b))}")
    if np.ndim(x) < 1 or np.shape(x)[-1] != n_in:
        raise ShapeError(f"{name} input must have last axis {n_in} ({w_name} is "
                         f"{np.shape(W)}); got x of shape {tuple(np.shape(x))}")
    check_floating(x, f"{name} x")


def dropout(x: Array, rate: float, *, key: Any = None, train: bool = False) -> Array:
    """Inverted dropout: zero each entry with probability ``rate``, scale kept ones by 1/(1−rate).

    E[dropout(x)] = x during training; at evaluation (``train=False``) the input is returned
    unchanged, so no test-time rescaling is needed.

    Args:
        x: array of any shape, floating.
        rate: probability of *dropping* a unit, a Python float in [0, 1).
        key: ``jax.random`` key; required when ``train=True`` and ``rate > 0``.
        train: apply the mask (True) or return ``x`` (False).

    Returns:
        array with the shape and dtype of ``x``.

    Raises:
        JaxnnError: ``rate`` outside [0, 1) (NaN included), ``x`` not floating, or
            ``train=True`` with ``rate > 0`` and no key.
    """
    if not isinstance(rate, numbers.Real) or isinstance(rate, (bool, np.bool_)):
        raise JaxnnError(f"dropout rate must be a number in [0.0, 1.0); got {rate!r}")
    rate = float(rate)
    check_range(rate, 0.0, 1.0, "dropout rate")
    if not jnp.issubdtype(jnp.result_type(x), jnp.floating):
        raise JaxnnError("dropout needs a floating array (an integer one cannot hold the "
                         f"1/(1 - rate) scaling); got dtype {jnp.result_type(x)}")
    if not train or rate == 0.0:
        return x
    if key is None:
        raise JaxnnError("dropout with train=True and rate > 0 needs a PRNG key; got key=None")
    if not hasattr(key, "dtype") or not (jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
                                         or (key.dtype == jnp.uint32 and np.shape(key)[-1:] == (2,))):
        raise JaxnnError(f"dropout key must be a jax.random.key; got {key!r:.60}")
    keep = 1.0 - rate
    mask = jax.random.bernoulli(key, keep, jnp.shape(x))
    dtype = jnp.result_type(x)
    return jnp.where(mask, x / jnp.asarray(keep, dtype), jnp.zeros((), dtype))


def embedding(E: Array, ids: Array) -> Array:
    """Look up rows of the embedding (lookup) matrix ``E`` for integer ``ids``.

    Args:
        E: (V, d) floating array; row i is the vector of token i.
        ids: integer array of any shape (...), values in [0, V).

    Returns:
        (..., d) array, dtype of ``E``.

    Raises:
        ShapeError: E is not 2-D.
        JaxnnError: ids are not integers, or (when concrete) fall outside [0, V).
    """
    check_ndim(E, 2, "embedding matrix E")
    if not jnp.issubdtype(jnp.result_type(ids), jnp.integer):
        raise JaxnnError(f"embedding ids must be integers; got dtype {jnp.result_type(ids)}")
    if not isinstance(ids, jax.core.Tracer):
        a = np.asarray(ids)
        V = np.shape(E)[0]
        if a.size and (a.min() < 0 or a.max() >= V):
            raise JaxnnError(f"embedding ids must lie in [0, {V}); got min {a.min()}, "
                             f"max {a.max()}")
    return jnp.take(E, ids, axis=0)
