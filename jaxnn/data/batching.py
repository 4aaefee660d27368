"""Shuffling and batching with explicit PRNG keys: full-batch, mini-batch and per-sample.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 61–63: batch gradient descent averages the
gradient over all N samples, stochastic gradient descent uses one sample per step, mini-batch
SGD a small random batch. Here that is only a choice of ``batch_size`` (``None`` = N, 1 =
per-sample); the same permutation code serves the jitted epoch scan of
:func:`jaxnn.train.fit` and the Python iterator :func:`iterate_batches`.

The last partial batch: with N not a multiple of ``batch_size`` the N mod batch_size samples
left over after the permutation are *dropped* for that epoch (every step then has the same
shape, so the step compiles once and an epoch is one ``lax.scan``). As the permutation changes
every epoch, a different few samples sit out each time; nothing is dropped for ``None`` or 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, check_same_leading

Array = jax.Array


def check_data(data: Any, name: str) -> int:
    """Validate a data tuple ``(x, y, ...)`` of arrays sharing the leading axis; return N.

    Args:
        data: tuple or list of arrays (numpy or jax), each of shape (N, ...).
        name: what to call it in error messages (e.g. ``"train_data"``).

    Returns:
        N, the common leading size (> 0).

    Raises:
        JaxnnError: not a tuple/list of arrays, a 0-d array, or N = 0.
        ShapeError: the leading sizes differ (the message lists each shape).
    """
    if not isinstance(data, (tuple, list)) or not data:
        raise JaxnnError(f"{name} must be a non-empty tuple of arrays (x, y, ...); "
                         f"got {type(data).__name__}")
    for i, a in enumerate(data):
        if np.ndim(a) == 0:
            raise JaxnnError(f"{name}[{i}] must have a leading (sample) axis; got a scalar")
    check_same_leading({f"{name}[{i}]": a for i, a in enumerate(data)})
    n = int(np.shape(data[0])[0])
    if n == 0:
        raise JaxnnError(f"{name} is empty (0 samples)")
    return n


def resolve_batch_size(n: int, batch_size: int | None) -> int:
    """The effective batch size: N for ``None`` (full batch), else ``batch_size`` ≤ N.

    Raises:
        JaxnnError: batch_size < 1 or > N.
    """
    if batch_size is None:
        return n
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise JaxnnError(f"batch_size must be a positive integer or None; got {batch_size!r}")
    if batch_size > n:
        raise JaxnnError(f"batch_size {batch_size} exceeds the number of samples {n}")
    return int(batch_size)


def epoch_indices(key: Array | None, n: int, batch_size: int) -> Array:
    """Sample indices of one epoch, shuffled with ``key`` and cut into full batches.

    Args:
        key: ``jax.random`` key, or ``None`` for the natural order 0 … N−1.
        n: number of samples N.
        batch_size: B with 1 ≤ B ≤ N.

    Returns:
        int32 array (N // B, B); the N mod B remaining samples are dropped.
    """
    nb = n // batch_size
    idx = jnp.arange(n, dtype=jnp.int32) if key is None else jax.random.permutation(key, n)
    return idx[: nb * batch_size].reshape(nb, batch_size).astype(jnp.int32)


def take(data: Sequence[Any], idx: Array) -> tuple[Any, ...]:
    """``tuple(a[idx] for a in data)`` (works on numpy and jax arrays, inside jit too)."""
    return tuple(jnp.take(a, idx, axis=0) for a in data)


def iterate_batches(data: Sequence[Any], batch_size: int | None, key: Array | None = None
                    ) -> Iterator[tuple[Any, ...]]:
    """Yield the batches of one epoch (same order as the epoch scan of ``fit``).

    Args:
        data: tuple of arrays (N, ...).
        batch_size: B, or ``None`` for one full batch.
        key: shuffling key, or ``None`` to keep the order.

    Yields:
        tuples of arrays (B, ...); the last partial batch is dropped (module docstring).
    """
    n = check_data(data, "data")
    bs = resolve_batch_size(n, batch_size)
    for row in np.asarray(epoch_indices(key, n, bs)):
        yield tuple(np.asarray(a)[row] for a in data)
