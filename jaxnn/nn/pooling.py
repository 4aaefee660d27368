"""Pooling and LeNet's trainable subsampling, with the up-sampling used by their gradients.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 154–159:

* ``down(R_k)`` summarises a region R_k of a feature map: max pooling (eq 158,
  ``max_{i∈R_k} a_i``) or average pooling (eq 159, ``(1/|R_k|) Σ_{i∈R_k} a_i``).
* The subsampling layer of LeNet-5 is trainable (eq 154–157): ``Z = w · down(X) + b`` and
  ``X^(l+1) = f(Z)``, with one weight w and one bias b per feature map. The notes (and the
  LeNet-5 slides) average the 2×2 region; LeCun et al. (1998) *add* the four inputs. The two
  differ by the constant |R| = 4, absorbed in w; ``down="sum"`` gives the paper's version.

Layout: (B, P, *spatial), pooling over the spatial axes only.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxnn.errors import JaxnnError, ShapeError, check_choice, check_shape
from jaxnn.nn.conv import as_tuple, map_axis, spatial_shape

POOL_KINDS = ("max", "avg", "sum")

# An exact average or sum tiling whose window has at most this many positions is pooled one
# spatial axis at a time: the axis of size n is viewed as (n // m, m) and the m contiguous slices
# along the new axis are added. XLA fuses those slices into the elementwise kernels on either
# side, and their gradient (an edge pad of each slice, then a sum) fuses too. A reduction over
# the whole reshaped view is a separate kernel instead (on XLA:CPU an XNNPACK reduction, the
# slowest kernel of LeNet-5's step), and strided slices x[.., o::m, ..] have a gradient of
# interior pads that XLA:CPU runs as one kernel each. Max pooling keeps the reduction, whose
# gradient splits evenly between tied maxima (a chain of pairwise maxima would not).
MAX_SLICED_WINDOW = 16


def _tiled_by_slices(x: jax.Array, size: tuple[int, ...], kind: str, first: int) -> jax.Array:
    """Sum ("sum") or average ("avg") pool the exact tiling of x's spatial axes ``first, …`` by
    ``size`` windows, one axis at a time: view the axis of length n as (n // m, m) and add the
    m slices along the second part (then divide by ``prod(size)`` for "avg")."""
    for axis, m in zip(range(first, first + len(size)), size):
        view = x.reshape(x.shape[:axis] + (x.shape[axis] // m, m) + x.shape[axis + 1:])
        x = functools.reduce(jnp.add, [lax.index_in_dim(view, o, axis + 1, keepdims=False)
                                       for o in range(m)])
    return x / np.prod(size) if kind == "avg" else x


def pool(x: jax.Array, size: int | Sequence[int] = 2, stride: int | Sequence[int] | None = None,
         *, kind: str = "max", channels_last: bool = False) -> jax.Array:
    """Max (eq 158), average (eq 159) or sum pooling over regions of every feature map.

    Regions are ``size`` windows every ``stride`` positions (default ``stride = size``,
    non-overlapping), without padding; a trailing part that fills no whole window is dropped,
    as frameworks do (use :func:`down` to insist on an exact tiling).

    Args:
        x: (B, P, *spatial) float array, 1 to 3 spatial axes.
        size: window size, int or one per spatial axis.
        stride: step between windows (default: ``size``).
        kind: "max", "avg" or "sum".
        channels_last: x is (B, *spatial, P) (and so is the result).

    Returns:
        (B, P, *out) (or (B, *out, P)) with ``out = (n − size) // stride + 1`` per axis.

    Raises:
        ShapeError: x has fewer than 3 axes or a window is larger than the input.
    """
    check_choice(kind, POOL_KINDS, "pooling kind")
    nd = np.ndim(x) - 2
    if nd < 1:
        raise ShapeError(f"x must be (B, P, *spatial); got shape {tuple(np.shape(x))}")
    size = as_tuple(size, nd, "pooling size")
    stride = size if stride is None else as_tuple(stride, nd, "pooling stride")
    spatial = spatial_shape(x, channels_last)
    lead, tail = ((x.shape[0],), (x.shape[-1],)) if channels_last else (x.shape[:2], ())
    if any(m > n for m, n in zip(size, spatial)):
        raise ShapeError(f"pooling window {size} is larger than the feature maps {spatial} "
                         f"(x shape {tuple(x.shape)})")
    if stride == size and all(n % m == 0 for n, m in zip(spatial, size)):
        if kind != "max" and int(np.prod(size)) <= MAX_SLICED_WINDOW:
            return _tiled_by_slices(x, size, kind, first=len(lead))
        # larger tilings: a reshape and a reduction
        shape = lead + tuple(d for n, m in zip(spatial, size) for d in (n // m, m)) + tail
        axes = tuple(range(len(lead) + 1, len(lead) + 2 * nd, 2))
        r = x.reshape(shape)
        return {"max": r.max, "avg": r.mean, "sum": r.sum}[kind](axis=axes)
    win, st = ((1,) + size + (1,), (1,) + stride + (1,)) if channels_last else \
        ((1, 1) + size, (1, 1) + stride)
    if kind == "max":
        return lax.reduce_window(x, -jnp.inf, lax.max, win, st, "VALID")
    s = lax.reduce_window(x, 0.0, lax.add, win, st, "VALID")
    return s / np.prod(size) if kind == "avg" else s


def max_pool(x: jax.Array, size: int | Sequence[int] = 2,
             stride: int | Sequence[int] | None = None) -> jax.Array:
    """Max pooling, eq 158: ``pool(x, size, stride, kind="max")``; shapes as :func:`pool`."""
    return pool(x, size, stride, kind="max")


def avg_pool(x: jax.Array, size: int | Sequence[int] = 2,
             stride: int | Sequence[int] | None = None) -> jax.Array:
    """Average pooling, eq 159: ``pool(x, size, stride, kind="avg")``; shapes as :func:`pool`."""
    return pool(x, size, stride, kind="avg")


def down(x: jax.Array, size: int | Sequence[int] = 2, kind: str = "avg", *,
         channels_last: bool = False) -> jax.Array:
    """The notes' ``down(X)`` (eq 155, 157): non-overlapping regions that tile X exactly.

    Args:
        x: (B, P, *spatial); every spatial size must be a multiple of ``size``.
        size: region size (2 for LeNet-5's 2×2 subsampling).
        kind: "avg" (the notes' LeNet slides; default), "sum" (LeCun et al. 1998) or "max".
        channels_last: x is (B, *spatial, P).

    Returns:
        (B, P, *spatial // size).

    Raises:
        ShapeError: a spatial size is not a multiple of ``size`` (e.g. 2×2 subsampling of 7×7).
    """
    nd = np.ndim(x) - 2
    if nd < 1:
        raise ShapeError(f"x must be (B, P, *spatial); got shape {tuple(np.shape(x))}")
    sz = as_tuple(size, nd, "subsampling size")
    maps = spatial_shape(x, channels_last)
    if any(n % m for n, m in zip(maps, sz)):
        raise ShapeError(f"{'×'.join(map(str, sz))} subsampling needs feature maps whose sides are"
                         f" multiples of {sz}; got maps {maps} "
                         f"(x shape {tuple(x.shape)})")
    return pool(x, sz, kind=kind, channels_last=channels_last)


def upsample(delta: jax.Array, size: int | Sequence[int] = 2) -> jax.Array:
    """The notes' ``up()`` (eq 164–165): copy every value over its ``size`` region.

    Args:
        delta: (B, P, *spatial).
        size: region size, int or one per spatial axis.

    Returns:
        (B, P, *(spatial · size)), ``up(δ)[.., i, j] = δ[.., i // s, j // s]``.
    """
    nd = np.ndim(delta) - 2
    if nd < 1:
        raise ShapeError(f"delta must be (B, P, *spatial); got shape {tuple(np.shape(delta))}")
    for axis, m in zip(range(2, nd + 2), as_tuple(size, nd, "up-sampling size")):
        delta = jnp.repeat(delta, m, axis=axis)
    return delta


def init_subsample(num_maps: int, *, w: float = 1.0, b: float = 0.0,
                   dtype=jnp.float32) -> dict:
    """Parameters of a trainable subsampling layer: ``{"w": (P,), "b": (P,)}``.

    ``w`` starts at 1 and ``b`` at 0 by default, so the layer starts as plain ``down``.
    """
    if not isinstance(num_maps, (int, np.integer)) or isinstance(num_maps, bool) or num_maps < 1:
        raise JaxnnError(f"num_maps must be a positive int; got {num_maps!r}")
    return {"w": jnp.full((num_maps,), w, dtype), "b": jnp.full((num_maps,), b, dtype)}


def subsample(params: dict, x: jax.Array, *, size: int | Sequence[int] = 2,
              kind: str = "avg", channels_last: bool = False) -> jax.Array:
    """LeNet's trainable subsampling, pre-activation (eq 155, 157): ``Z = w·down(X) + b``.

    Args:
        params: {"w": (P,), "b": (P,)}, one weight and one bias per feature map.
        x: (B, P, *spatial), spatial sizes multiples of ``size``.
        size: region size (2 in LeNet-5).
        kind: ``down`` kind, "avg" (notes, default) or "sum" (LeCun 1998) or "max".
        channels_last: x is (B, *spatial, P) (and so is Z).

    Returns:
        Z, (B, P, *spatial // size); apply the activation f yourself (eq 154, 156).
    """
    P = x.shape[map_axis(channels_last)] if np.ndim(x) >= 2 else None
    check_shape(params["w"], (P,), f"subsampling weight w (one per map of x {tuple(x.shape)})")
    check_shape(params["b"], (P,), f"subsampling bias b (one per map of x {tuple(x.shape)})")
    d = down(x, size, kind, channels_last=channels_last)
    ones = (1,) * (np.ndim(x) - 2)
    bcast = (1,) + ones + (P,) if channels_last else (1, P) + ones
    return params["w"].reshape(bcast) * d + params["b"].reshape(bcast)
