"""Convolution layers as the notes define them, and connection tables.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 145–153:

* 1-D convolution (eq 145) ``y_t = Σ_k f_k · x_{t−k+1}`` and 2-D convolution (eq 146)
  ``y_ij = Σ_uv f_uv · x_{i−u+1, j−v+1}`` flip the filter: this is *true* convolution.
  Deep-learning frameworks compute cross-correlation (no flip). :func:`conv` does both;
  ``kind="convolution"`` (the notes' default) or ``kind="correlation"`` is the one switch.
* narrow ("valid", output n−m+1, the notes' default), wide ("full", output n+m−1, zero
  padding) and "same" (output n: the centred slice of the wide result, as ``numpy.convolve``
  and ``scipy.signal`` do; for even filters the extra zero goes on the *low* side).
* K output feature maps from P input maps (eq 152): ``Z^(k) = Σ_p W^(k,p) ⊗ X^(p) + b^(k)``,
  and a connection table ``T`` of shape (P, K) (eq 153) with ``T[p, k] = 1`` when output map k
  reads input map p. The table is applied as a mask on the dense filter bank, so filters of
  unconnected pairs get zero gradient and never change.

Layout: inputs ``x`` are (B, P, *spatial) ("NCHW"), filter banks ``W`` are (K, P, *kernel) —
the notes' (n_out, n_in) orientation — and biases ``b`` are (K,). The sum itself is one call
to ``lax.conv_general_dilated`` (``method="xla"``) or, for small 1-D/2-D layers on CPU, one
matrix product with a row-Toeplitz filter matrix (``method="toeplitz"``, see
:mod:`jaxnn.nn.conv_toeplitz`), or, for 1-D layers, one product of the unfolded windows
(im2col, ``method="unfold"``: (B·L_out, w·P) × (w·P, K), no zeros multiplied);
``method="auto"`` (default) picks per layer. All give the same numbers up to float rounding.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxnn.errors import (JaxnnError, ShapeError, check_choice, check_floating,
                          check_positive, check_shape)
from jaxnn.nn.conv_toeplitz import toeplitz_correlation, use_toeplitz

KINDS = ("convolution", "correlation")
METHODS = ("auto", "xla", "toeplitz", "unfold")
_MODE_ALIASES = {"valid": "valid", "narrow": "valid", "full": "full", "wide": "full",
                 "same": "same"}

Padding = str | int | Sequence[int] | Sequence[tuple[int, int]]


def as_tuple(v: int | Sequence[int], nd: int, name: str) -> tuple[int, ...]:
    """``v`` as ``nd`` positive ints (an int is repeated); JaxnnError naming ``v`` otherwise."""
    t = (v,) * nd if np.ndim(v) == 0 else tuple(v)
    if (len(t) != nd or any(not isinstance(a, (numbers.Integral, np.integer))
                            or isinstance(a, bool) for a in t) or any(a < 1 for a in t)):
        raise JaxnnError(f"{name} must be a positive int or {nd} positive ints; got {v!r}")
    return t


def pad_pairs(padding: Padding, kernel: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Zero padding ``((lo, hi), ...)`` per spatial axis for a padding spec and a kernel size.

    Args:
        padding: "valid"/"narrow" (none), "full"/"wide" (m−1 each side), "same" (m−1 in all,
            ``m−1−(m−1)//2`` low and ``(m−1)//2`` high: the centred slice of "full"), an int
            (that many zeros each side of every axis), one int per axis, or (lo, hi) per axis.
        kernel: the filter's spatial size, one int per axis.

    Returns:
        tuple of ``(lo, hi)`` int pairs, one per spatial axis.
    """
    nd = len(kernel)
    if isinstance(padding, str):
        check_choice(padding, _MODE_ALIASES, "padding mode")
        mode = _MODE_ALIASES[padding]
        if mode == "valid":
            return ((0, 0),) * nd
        if mode == "full":
            return tuple((m - 1, m - 1) for m in kernel)
        return tuple((m - 1 - (m - 1) // 2, (m - 1) // 2) for m in kernel)
    if np.ndim(padding) == 0:
        pairs = ((int(padding), int(padding)),) * nd
    elif all(np.ndim(p) == 0 for p in padding):
        pairs = tuple((int(p), int(p)) for p in padding)
    else:
        pairs = tuple((int(lo), int(hi)) for lo, hi in padding)
    if len(pairs) != nd or any(p < 0 for pair in pairs for p in pair):
        raise JaxnnError(f"padding must give {nd} non-negative (lo, hi) pairs; got {padding!r}")
    return pairs


def output_size(n: Sequence[int], kernel: Sequence[int], padding: Padding = "valid",
                stride: int | Sequence[int] = 1) -> tuple[int, ...]:
    """Spatial output size ``floor((n + lo + hi − m) / s) + 1`` per axis (ints in, ints out)."""
    kernel = as_tuple(tuple(kernel), len(tuple(kernel)), "kernel")
    pairs = pad_pairs(padding, kernel)
    s = as_tuple(stride, len(kernel), "stride")
    out = tuple((a + lo + hi - m) // st + 1 for a, m, (lo, hi), st in zip(n, kernel, pairs, s))
    if any(o < 1 for o in out):
        raise ShapeError(f"kernel {kernel} is larger than the (padded) input {tuple(n)}")
    return out


def check_table(table: Any, num_in: int, num_out: int) -> np.ndarray:
    """Validate a connection table (eq 153) and return it as a (P, K) bool numpy array.

    Args:
        table: array-like (P, K) of 0/1 or bool; ``table[p, k]`` = output map k reads input p.
        num_in: P, the number of input maps.
        num_out: K, the number of output maps.

    Raises:
        ShapeError: the table is not (P, K); JaxnnError: an output map is fed by no input map.
    """
    t = np.asarray(table)
    check_shape(t, (num_in, num_out), "connection table (input maps P, output maps K)")
    t = t.astype(bool)
    dead = np.flatnonzero(~t.any(axis=0))
    if dead.size:
        raise JaxnnError(f"connection table of shape {t.shape}: output map(s) "
                         f"{dead.tolist()} are fed by no input map")
    return t


def table_mask(table: Any, num_in: int, num_out: int, nd: int, dtype: Any) -> jax.Array:
    """The connection table as a filter-bank mask to multiply a (K, P, *kernel) filter bank by.

    Args:
        table: (P, K) connection table (see :func:`check_table`), or None for full connections.
        num_in: P. num_out: K. nd: number of spatial axes of the filters. dtype: mask dtype.

    Returns:
        (K, P, 1, …, 1) (``nd`` ones) 0/1 array, or the scalar 1 when ``table`` is None.
    """
    if table is None:
        return jnp.ones((), dtype)
    t = check_table(table, num_in, num_out)
    return jnp.asarray(t.T.reshape(t.T.shape + (1,) * nd), dtype)


def _dimension_numbers(nd: int, channels_last: bool) -> tuple[str, str, str]:
    sp = "DHW"[3 - nd:] if nd <= 3 else None
    if sp is None:
        raise ShapeError(f"only 1-, 2- or 3-D convolution is supported; got {nd} spatial axes")
    io = "N" + sp + "C" if channels_last else "NC" + sp
    return (io, "OI" + sp, io)


def map_axis(channels_last: bool) -> int:
    """Axis of the feature maps: 1 for (B, P, *spatial), −1 for (B, *spatial, P)."""
    return -1 if channels_last else 1


def spatial_shape(x: Any, channels_last: bool) -> tuple[int, ...]:
    """The spatial sizes of a batch of feature maps in either layout."""
    shape = tuple(np.shape(x))
    return shape[1:-1] if channels_last else shape[2:]


def conv(x: jax.Array, W: jax.Array, b: jax.Array | None = None, *,
         padding: Padding = "valid", kind: str = "convolution",
         stride: int | Sequence[int] = 1, table: Any = None,
         channels_last: bool = False, method: str = "auto") -> jax.Array:
    """K output feature maps from P input maps (eq 152, with table eq 153), pre-activation.

    ``Z[:, k] = Σ_{p: T[p,k]=1} W[k, p] ⊗ X[:, p] + b[k]``, where ⊗ is true convolution
    (eq 145–146, filter flipped) or cross-correlation, per ``kind``.

    Args:
        x: (B, P, *spatial) float input maps; 1 to 3 spatial axes.
        W: (K, P, *kernel) filter bank, same float dtype; ``W[k, p]`` is the notes' W^(l,k,p).
        b: optional (K,) bias, one per output map.
        padding: "valid"/"narrow" (default, as in the notes), "full"/"wide", "same", or
            explicit zeros (see :func:`pad_pairs`).
        kind: "convolution" (flip the filter, the notes' definition; default) or
            "correlation" (no flip, what frameworks call convolution).
        stride: int or one int per spatial axis; the output is the stride-1 output sampled
            every ``stride`` positions starting at 0.
        table: optional (P, K) connection table (eq 153), a concrete (NumPy) array, not a
            traced one; None = every output reads every input.
        channels_last: x and the result are (B, *spatial, P) / (B, *out, K) instead ("NHWC",
            the layout XLA's CPU convolutions use internally: no transposes between layers).
        method: "xla" (``lax.conv_general_dilated``), "toeplitz" (one matrix product with a
            row-Toeplitz filter matrix; 1-D and 2-D only), "unfold" (1-D only: the w shifted
            copies of the input side by side times the (w·P, K) filter matrix) or "auto"
            (default: on CPU "unfold" for every 1-D layer, "toeplitz" for small 2-D layers
            such as LeNet-5's, see :func:`jaxnn.nn.conv_toeplitz.use_toeplitz`, else "xla").
            "toeplitz" has a custom reverse-mode gradient only: pass "xla" for
            ``jax.jvp``/``jax.jacfwd``/Hessians.

    Returns:
        (B, K, *out) array, ``out`` = :func:`output_size` of the spatial size.

    Raises:
        ShapeError: ranks differ, P of ``x`` and ``W`` differ, ``b`` is not (K,), the table is
        not (P, K), or the filter is larger than the (padded) input.
    """
    check_choice(kind, KINDS, "convolution kind")
    check_choice(method, METHODS, "convolution method")
    check_floating(x, "conv x")
    nd = np.ndim(W) - 2
    if nd < 1 or np.ndim(x) != nd + 2:
        raise ShapeError(f"x must be (B, P, *spatial) and W (K, P, *kernel) with the same number "
                         f"of spatial axes; got x {tuple(np.shape(x))}, W {tuple(np.shape(W))}")
    K, P, *kernel = W.shape
    ax = map_axis(channels_last)
    spatial = spatial_shape(x, channels_last)
    if x.shape[ax] != P:
        raise ShapeError(f"channel mismatch: x has {x.shape[ax]} input maps (shape "
                         f"{tuple(x.shape)}) but W expects {P} (shape {tuple(W.shape)})")
    pairs = pad_pairs(padding, kernel)
    strides = as_tuple(stride, nd, "stride")
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pairs))
    if any(m > n for m, n in zip(kernel, padded)):
        raise ShapeError(f"filter {tuple(kernel)} is larger than the input {spatial}"
                         f" padded by {pairs} (padding={padding!r}); got x {tuple(x.shape)}, "
                         f"W {tuple(W.shape)}")
    if b is not None:
        check_shape(b, (K,), "bias b (one per output map K)")
    if table is not None:
        W = W * table_mask(table, P, K, nd, W.dtype)
    if kind == "convolution":
        W = jnp.flip(W, axis=tuple(range(2, nd + 2)))
    if method == "auto":
        method = ("unfold" if nd == 1 and jax.default_backend() == "cpu" else
                  "toeplitz" if use_toeplitz(padded, P, kernel, K, strides) else "xla")
    if method == "unfold":
        if nd != 1:
            raise JaxnnError(f"method='unfold' handles 1-D convolution; got {nd} spatial axes "
                             f"(W {tuple(W.shape)}): use method='xla' or 'toeplitz'")
        xl = x if channels_last else jnp.moveaxis(x, 1, -1)
        z = unfold_correlation(jnp.pad(xl, ((0, 0),) + pairs + ((0, 0),)), W, strides[0])
        z = z if channels_last else jnp.moveaxis(z, -1, 1)
    elif method == "toeplitz":
        if nd > 2:
            raise JaxnnError(f"method='toeplitz' handles 1-D and 2-D convolution; got {nd} "
                             f"spatial axes (W {tuple(W.shape)}): use method='xla'")
        xl = x if channels_last else jnp.moveaxis(x, 1, -1)
        z = toeplitz_correlation(jnp.pad(xl, ((0, 0),) + pairs + ((0, 0),)), W, strides, b)
        z = z if channels_last else jnp.moveaxis(z, -1, 1)
        b = None                                           # added inside the product
    else:
        z = lax.conv_general_dilated(x, W, strides, pairs,
                                     dimension_numbers=_dimension_numbers(nd, channels_last))
    if b is not None:
        z = z + (b.reshape((1,) * (nd + 1) + (K,)) if channels_last
                 else b.reshape((1, K) + (1,) * nd))
    return z


def unfold_correlation(x: jax.Array, W: jax.Array, stride: int = 1) -> jax.Array:
    """Valid 1-D cross-correlation of channels-last maps as one product of unfolded windows.

    ``Z[b, t, k] = Σ_{u,p} X[b, s·t + u, p] · W[k, p, u]``: the w shifted (strided) copies of
    X side by side form the windows (B, L_out, w·P) ("im2col"), multiplied by the filter bank
    as a (w·P, K) matrix. Unlike the Toeplitz product no zero is multiplied; reverse-mode and
    forward-mode gradients are JAX's own (slices, a concatenation, a matrix product).

    Args:
        x: (B, L, P) already zero-padded input maps.
        W: (K, P, w) filter bank, applied without flipping.
        stride: s ≥ 1.

    Returns:
        (B, L_out, K), L_out = (L − w)//s + 1.
    """
    K, P, w = W.shape
    out = (x.shape[1] - w) // stride + 1
    cols = jnp.concatenate([x[:, u:u + stride * (out - 1) + 1:stride] for u in range(w)],
                           axis=-1)                                      # (B, L_out, w·P)
    return cols @ jnp.transpose(W, (2, 1, 0)).reshape(w * P, K)


def convolve(x: jax.Array, f: jax.Array, padding: Padding = "valid", *,
             kind: str = "convolution", stride: int | Sequence[int] = 1,
             method: str = "auto") -> jax.Array:
    """One signal and one filter, as in eq 145 (1-D) and eq 146 (2-D).

    Args:
        x: (n,) signal or (M, N) image, float.
        f: (m,) or (m, n) filter with the same number of axes.
        padding, kind, stride, method: as in :func:`conv`.

    Returns:
        (n_out,) or (M_out, N_out): e.g. n−m+1 for "valid", n+m−1 for "full".
    """
    if np.ndim(x) != np.ndim(f) or np.ndim(x) not in (1, 2, 3):
        raise ShapeError(f"x and f must have the same number (1, 2 or 3) of axes; got x "
                         f"{tuple(np.shape(x))}, f {tuple(np.shape(f))}")
    x, f = jnp.asarray(x), jnp.asarray(f)
    return conv(x[None, None], f[None, None], padding=padding, kind=kind, stride=stride,
                method=method)[0, 0]


def init_conv(key: jax.Array, num_in: int, num_out: int, kernel: Sequence[int], *,
              table: Any = None, scale: float | None = 2.4, dtype: Any = jnp.float32) -> dict:
    """Filter bank ``{"W": (K, P, *kernel), "b": (K,)}`` with LeCun et al. (1998)'s init.

    Weights are uniform in ±``scale``/F_in with F_in the fan-in of a unit (connected input maps
    times filter size, so it differs per output map under a connection table); biases are 0.
    Filters of unconnected pairs are zero. ``scale=None`` uses Glorot/Xavier uniform instead
    (limit √(6/(F_in+F_out))).

    Args:
        key: PRNG key. num_in: P. num_out: K. kernel: spatial filter size.
        table: optional (P, K) connection table. scale: LeCun's 2.4 by default.
        dtype: parameter dtype.

    Returns:
        dict with "W" (K, P, *kernel) and "b" (K,).
    """
    kernel = as_tuple(tuple(kernel), len(tuple(kernel)), "kernel")
    for v, nm in ((num_in, "num_in"), (num_out, "num_out")):
        if not isinstance(v, (numbers.Integral, np.integer)) or isinstance(v, bool) or v < 1:
            raise JaxnnError(f"{nm} must be a positive int; got {v!r}")
    if scale is not None:
        check_positive(scale, "scale")
    t = np.ones((num_in, num_out), bool) if table is None else check_table(table, num_in,
                                                                         num_out)
    size = int(np.prod(kernel))
    fan_in = t.sum(axis=0) * size                                  # (K,)
    if scale is None:
        fan_out = t.sum(axis=1).mean() * size
        limit = np.sqrt(6.0 / (fan_in + fan_out))
    else:
        limit = scale / fan_in
    shape = (num_out, num_in) + kernel
    # drawn flat: XLA compiles a flat threefry ~6× faster than a 4-D one on CPU
    u = jax.random.uniform(key, (int(np.prod(shape)),), dtype, -1.0, 1.0).reshape(shape)
    mask = jnp.asarray(t.T.reshape(t.T.shape + (1,) * len(kernel)), dtype)
    W = u * jnp.asarray(limit, dtype).reshape((num_out,) + (1,) * (len(kernel) + 1)) * mask
    return {"W": W, "b": jnp.zeros((num_out,), dtype)}
