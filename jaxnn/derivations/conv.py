"""CNN gradients by hand (Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 160–175), for tests.

Notation as in the notes: layer l has pre-activations Z^(l) and activations X^(l) = f(Z^(l));
δ^(l) = ∂J/∂Z^(l) (eq 160). Arrays are batched, (B, maps, *spatial); the closed forms sum
over the batch where the notes have one sample. Each function returns exactly what
``jax.grad`` / ``jax.vjp`` returns for the same quantity, so tests compare them with
``chex.assert_trees_all_close`` in float64.

What autodiff shows beside the notes:

* eq 164–165 (δ of a convolution layer followed by subsampling) hold as written when
  down() *adds* the region (LeCun 1998). With the average the notes use for LeNet-5
  (eq 159 and the S2 slide), every region member gets ``1/|R|`` of the up-sampled error:
  ``δ^(l,k) = (w^(l+1,k)/|R|)·f′(Z^(l,k)) ⊙ up(δ^(l+1,k))``. :func:`delta_conv_from_subsample`
  includes that factor.
* eq 174 writes ``down(X^(l−1,k))`` for the input of the subsampling layer; with l the
  subsampling layer this is the previous layer's activation X^(l−1,k), as coded here.
* eq 145 sums k = 1 … n, the signal's length; the filter f has m taps, so the sum runs to m
  (then y is the narrow convolution, ``np.convolve(x, f, "valid")``).
* eq 153 and the sentence before it write X^(l,p), layer l's own maps, as the input of layer
  l's map k; as in eq 152 the input is X^(l−1,p).
* eq 167 indexes the input as X^(l−1,p)_{(u−i)−s,(v−j)−t}: for s = 1 … w_l that index runs from
  u − 1 − w_l up to u − 2 (for u = 3, w_l = 4: −4 … 1), out of the map's range. eq 168,
  ∂J/∂W = rot180(X^(l−1,p) ⊗ rot180(δ^(l,k))) with ⊗ the notes' narrow convolution, is right:
  it equals ``jax.grad`` (:func:`grad_filter` computes it).
* δ through max pooling: the whole error goes to the arg-max of each region. On ties
  ``jax.grad`` splits it equally among the tied inputs; :func:`delta_max_pool` does the same.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxnn.models import lenet
from jaxnn.nn.conv import conv, table_mask
from jaxnn.nn.pooling import down, upsample


def rot180(a: jax.Array) -> jax.Array:
    """Flip the last two (spatial) axes: rot180 of eq 167–168. Shape unchanged."""
    return a[..., ::-1, ::-1]


def grad_filter(x_prev: jax.Array, delta: jax.Array, table=None) -> jax.Array:
    """∂J/∂W^(l,k,p) = rot180(X^(l−1,p) ⊗ rot180(δ^(l,k))), eq 168 (⊗ = narrow convolution).

    Args:
        x_prev: (B, P, H, W) input maps X^(l−1) of the convolution layer.
        delta: (B, K, H−u+1, W−v+1) its error terms δ^(l).
        table: optional (P, K) connection table; unconnected filters get 0 (as autodiff).

    Returns:
        (K, P, u, v), summed over the batch.
    """
    # batch as the contracted "channel" axis: (P, B, H, W) ⊗ (K, B, h, w) -> (P, K, u, v)
    g = conv(jnp.swapaxes(x_prev, 0, 1), rot180(jnp.swapaxes(delta, 0, 1)))
    g = rot180(jnp.swapaxes(g, 0, 1))
    return g * table_mask(table, g.shape[1], g.shape[0], g.ndim - 2, g.dtype)


def grad_bias(delta: jax.Array) -> jax.Array:
    """∂J/∂b^(l,k) = Σ_ij δ^(l,k)_ij, eq 169 and 175, summed over the batch too: (B, K, ...) -> (K,)."""
    return delta.sum(axis=(0,) + tuple(range(2, delta.ndim)))


def grad_subsample(x_prev: jax.Array, delta: jax.Array, size: int = 2,
                   kind: str = "avg") -> dict:
    """Gradient of a trainable subsampling layer (eq 174–175).

    Args:
        x_prev: (B, P, H, W) the maps being subsampled (X^(l−1)).
        delta: (B, P, H/size, W/size) the layer's δ^(l) = ∂J/∂Z^(l).
        size, kind: as in :func:`jaxnn.nn.pooling.subsample`.

    Returns:
        {"w": Σ down(X^(l−1,k)) ⊙ δ^(l,k) (P,), "b": Σ δ^(l,k) (P,)}.
    """
    return {"w": grad_bias(down(x_prev, size, kind) * delta), "b": grad_bias(delta)}


def error_through_down(delta_next: jax.Array, w: jax.Array, size: int = 2,
                       kind: str = "avg") -> jax.Array:
    """∂J/∂X^(l) below ``Z^(l+1) = w·down(X^(l)) + b``: ``up(w δ^(l+1)) / |R|`` (|R| for "avg").

    Args:
        delta_next: (B, P, h, w) δ^(l+1). w: (P,) subsampling weights. size: region side.
        kind: "avg" or "sum" (for "max" use :func:`delta_max_pool`).

    Returns:
        (B, P, h·size, w·size).
    """
    scale = 1.0 / size**2 if kind == "avg" else 1.0
    return upsample(delta_next * (scale * w).reshape((1, -1, 1, 1)), size)


def delta_conv_from_subsample(delta_next: jax.Array, z: jax.Array, w: jax.Array,
                              f_prime: Callable, size: int = 2, kind: str = "avg") -> jax.Array:
    """δ of a convolution layer l followed by subsampling layer l+1, eq 162–165.

    ``δ^(l,k) = (w^(l+1,k)/|R|) · f′(Z^(l,k)) ⊙ up(δ^(l+1,k))`` (drop 1/|R| for kind="sum").

    Args:
        delta_next: (B, P, h, w) δ^(l+1). z: (B, P, h·size, w·size) Z^(l).
        w: (P,) the subsampling weights w^(l+1). f_prime: f′ of layer l.

    Returns:
        δ^(l), shape of ``z``.
    """
    return f_prime(z) * error_through_down(delta_next, w, size, kind)


def delta_max_pool(delta_next: jax.Array, x: jax.Array, size: int = 2) -> jax.Array:
    """∂J/∂X through non-overlapping max pooling: each region's error goes to its maximum.

    Args:
        delta_next: (B, P, h, w) ∂J/∂(pooled). x: (B, P, h·size, w·size) the pooled input.

    Returns:
        (B, P, h·size, w·size); ties share the error equally (as ``jax.grad`` does).
    """
    hit = (x == upsample(down(x, size, "max"), size)).astype(x.dtype)
    count = upsample(down(hit, size, "sum"), size)
    return upsample(delta_next, size) * hit / count


def error_through_conv(delta_next: jax.Array, W: jax.Array, table=None) -> jax.Array:
    """∂J/∂X^(l) below ``Z^(l+1,k) = Σ_p W^(l+1,k,p) ⊗ X^(l,p) + b`` (eq 170–173).

    ``Σ_{k: T[p,k]=1} δ^(l+1,k) ⊗̃ rot180(W^(l+1,k,p))`` with ⊗̃ the *wide* convolution.

    Args:
        delta_next: (B, K, h, w) δ^(l+1). W: (K, P, u, v) filters. table: (P, K) or None.

    Returns:
        (B, P, h+u−1, w+v−1).
    """
    mask = table_mask(table, W.shape[1], W.shape[0], W.ndim - 2, W.dtype)
    Wt = jnp.swapaxes(rot180(W * mask), 0, 1)                  # (P, K, u, v)
    return conv(delta_next, Wt, padding="full")


def grad_lenet5(params: dict, batch: tuple, *, config: lenet.LeNetConfig) -> dict:
    """∂loss/∂params of :func:`jaxnn.models.lenet.loss` by hand: a full backward pass.

    Output head, then F6 (eq 161), C5 (a convolution to 1×1 maps, eq 168–169), S4 (eq 174–175
    or max pooling), C3 with its table (δ from S4 by up-sampling, eq 162–165; filters eq 168),
    S2 (δ from C3 by wide convolution, eq 170–173), C1.

    Args:
        params: LeNet-5 parameters. batch: (x (B, 32, 32) or (B, 1, 32, 32), y (B,) int).
        config: :class:`jaxnn.models.lenet.LeNetConfig`.

    Returns:
        the pytree ``jax.grad(lenet.loss)(params, batch, config=config)`` returns (RBF centres
        get zeros: they are fixed).
    """
    x, y = batch
    feats = lenet.features(params, x, config=config)
    f_prime = lenet.activation(config).prime
    scores = feats["output"]["z"]
    B, C = scores.shape
    if config.output == "rbf":
        scores = jnp.concatenate([scores, jnp.full((B, 1), -config.map_j, scores.dtype)], 1)
    onehot = jax.nn.one_hot(y, scores.shape[1], dtype=scores.dtype)
    g = ((jax.nn.softmax(scores, axis=-1) - onehot) / B)[:, :C]   # ∂J/∂scores, (B, C)
    head, a6 = params["output"], feats["F6"]["a"]
    grads: dict = {}
    if config.output == "rbf":      # scores_i = −Σ_j (a_j − c_ij)²
        c = head["centres"]
        err = -2.0 * (g.sum(axis=1, keepdims=True) * a6 - g @ c)
        grads["output"] = {"centres": jnp.zeros_like(c)}
    else:
        err = g @ head["W"]
        grads["output"] = {"W": g.T @ a6, "b": g.sum(axis=0)}
    # err = ∂J/∂a of the layer being visited; walk LAYERS backwards
    for i in range(len(lenet.LAYERS) - 1, -1, -1):
        name, kind, _, size = lenet.LAYERS[i]
        p, z = params[name], feats[name]["z"]
        a_prev = feats[lenet.LAYERS[i - 1][0] if i else "input"]["a"]
        if kind == "pool" and config.pooling != "subsample":
            grads[name] = {}
            err = (delta_max_pool(err, a_prev, size) if config.pooling == "max"
                   else error_through_down(err, jnp.ones(z.shape[1], z.dtype), size, "avg"))
            continue
        delta = f_prime(z) * err                                   # eq 161 / 164 / 172
        if kind == "dense":
            grads[name] = {"W": delta.T @ a_prev, "b": delta.sum(axis=0)}
            err = delta @ p["W"]
        elif kind == "pool":
            grads[name] = grad_subsample(a_prev, delta, size, config.down)
            err = error_through_down(delta, p["w"], size, config.down)
        else:
            delta = delta.reshape(delta.shape + (1, 1)) if delta.ndim == 2 else delta
            table = lenet.c3_table(config) if name == "C3" else None
            grads[name] = {"W": grad_filter(a_prev, delta, table), "b": grad_bias(delta)}
            err = error_through_conv(delta, p["W"], table) if i else None
    return grads

