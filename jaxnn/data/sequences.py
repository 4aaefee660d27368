"""Sequence data for the recurrent chapter: the adding problem, images read as sequences,
and windows of the yearly sunspot series.

Public API::

    x, y = adding_problem(key, batch_size, T)          # (B, T, 2), (B,)   — jit-friendly
    ADDING_BASELINE_MSE                                # 1/6: MSE of always predicting E[y] = 1
    seq = image_rows(images, side)                     # (N, side, side): one row per step
    seq = image_pixels(images)                         # (N, side·side, 1): one pixel per step
    years, values = sunspots()                         # statsmodels' yearly series, 1700–2008
    x, y = windows(series, window)                     # (N, window, 1), (N,) one-step targets
    split = forecast_split(series, window, test_size)  # scaled train / test windows

The adding problem (Hochreiter & Schmidhuber 1997, experiment 4): each time step carries a pair
(value, marker); values are i.i.d. U[0, 1], exactly two markers are 1 (all others 0) and the
target is the sum of the two marked values. We place the first marker uniformly in the first
half ``[0, ⌊T/2⌋)`` and the second uniformly in the second half ``[⌊T/2⌋, T)`` — the form used
by Le et al. 2015 and Arjovsky et al. 2016; the 1997 paper put the first marker among the first
ten steps. The target is a sum of two independent U[0, 1], so E[y] = 1 and Var[y] = 2 · 1/12 =
1/6: predicting the constant 1 has MSE exactly 1/6 ≈ 0.167, the line a model must get far
below to have learned anything.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError, check_finite, check_ndim, check_positive

__all__ = [
    "ADDING_BASELINE_MSE", "adding_problem", "image_rows", "image_pixels", "sunspots",
    "windows", "ForecastSplit", "forecast_split",
]

#: Var[U1 + U2] for independent U1, U2 ~ U[0, 1]: the MSE of always predicting E[y] = 1.
ADDING_BASELINE_MSE = 1.0 / 6.0


def _check_int(value, lo: int, name: str) -> int:
    """``value`` as an int ≥ ``lo``; :class:`JaxnnError` naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise JaxnnError(f"{name} must be an integer >= {lo}; got {value!r}")
    return int(value)


def adding_problem(key: jax.Array, batch_size: int, T: int, *,
                   dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
    """A fresh batch of the adding problem (see the module docstring).

    Pure JAX, so it can be called inside a jitted training step to draw new data every step.

    Args:
        key: PRNG key.
        batch_size: B ≥ 1, a Python int.
        T: sequence length ≥ 2 (two markers must fit), a Python int.
        dtype: floating dtype of both outputs.

    Returns:
        ``(x, y)``: ``x: (B, T, 2)`` with ``x[..., 0]`` the values in [0, 1) and ``x[..., 1]``
        the markers (exactly two ones per sequence, one in each half); ``y: (B,)`` the sum of
        the two marked values.
    """
    B = _check_int(batch_size, 1, "batch_size")
    T = _check_int(T, 2, "T (sequence length of the adding problem)")
    kv, k1, k2 = jax.random.split(key, 3)
    half = T // 2
    values = jax.random.uniform(kv, (B, T), dtype)
    first = jax.random.randint(k1, (B,), 0, half)
    second = jax.random.randint(k2, (B,), half, T)
    steps = jnp.arange(T)[None, :]
    markers = ((steps == first[:, None]) | (steps == second[:, None])).astype(dtype)
    y = jnp.sum(values * markers, axis=1)
    return jnp.stack([values, markers], axis=-1), y


def _square_side(shape: tuple, name: str) -> int:
    n_pixels = int(np.prod(shape[1:]))
    side = int(round(np.sqrt(n_pixels)))
    if side * side != n_pixels or (len(shape) == 3 and shape[1] != shape[2]):
        raise ShapeError(f"{name} of shape {shape} are not square images "
                         f"({n_pixels} pixels per image)")
    return side


def image_rows(images, side: int | None = None) -> np.ndarray:
    """Read square images row by row: one row of pixels per time step.

    Args:
        images: ``(N, side·side)`` flattened or ``(N, side, side)`` images (any numeric dtype).
        side: image side; inferred from the pixel count when None.

    Returns:
        ``(N, side, side)`` array, same dtype: ``T = side`` steps of ``D = side`` features
        (MNIST: 28 steps of 28; the 8×8 digits: 8 steps of 8).
    """
    a = np.asarray(images)
    check_ndim(a, (2, 3), "images")
    s = _square_side(a.shape, "images")
    if side is not None and _check_int(side, 1, "side") != s:
        raise ShapeError(f"images of shape {a.shape} do not have side {side}")
    return a.reshape(a.shape[0], s, s)


def image_pixels(images) -> np.ndarray:
    """Read images pixel by pixel (scan-line order): one scalar pixel per time step.

    Args:
        images: ``(N, P)`` flattened or ``(N, H, W)`` images.

    Returns:
        ``(N, P, 1)`` array (MNIST: 784 steps of 1 feature, the long-horizon task).
    """
    a = np.asarray(images)
    check_ndim(a, (2, 3), "images")
    return a.reshape(a.shape[0], -1, 1)


def sunspots() -> tuple[np.ndarray, np.ndarray]:
    """The yearly mean sunspot numbers bundled with statsmodels (1700–2008, 309 values).

    Returns:
        ``(years, values)``: two ``(309,)`` float64 arrays.
    """
    from statsmodels.datasets import sunspots as _ss

    df = _ss.load_pandas().data
    return df["YEAR"].to_numpy(np.float64), df["SUNACTIVITY"].to_numpy(np.float64)


def windows(series, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows for one-step-ahead forecasting.

    Args:
        series: ``(N,)`` float series.
        window: input length w, 1 ≤ w < N.

    Returns:
        ``(x, y)``: ``x: (N − w, w, 1)`` with ``x[i, :, 0] = series[i : i + w]`` and
        ``y: (N − w,)`` with ``y[i] = series[i + w]`` (the next value), dtype of ``series``.
    """
    s = np.asarray(series)
    check_ndim(s, 1, "series")
    check_finite(s, "series")
    w = _check_int(window, 1, "window")
    if w >= s.shape[0]:
        raise JaxnnError(f"window must be shorter than the series ({s.shape[0]}); got {w}")
    idx = np.arange(s.shape[0] - w)[:, None] + np.arange(w)[None, :]
    return s[idx][..., None], s[w:]


class ForecastSplit(NamedTuple):
    """Scaled windows of a series, split in time (the test targets are the last values).

    ``x_*: (n, window, 1)`` and ``y_*: (n,)`` float32, in scaled units ``(v − mean) / std``;
    ``t_test: (n_test,)`` the index in the series of each test target; ``mean`` and ``std``
    come from the training part only (no peeking at the tail).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    t_test: np.ndarray
    mean: float
    std: float


def forecast_split(series, window: int, test_size: int) -> ForecastSplit:
    """Hold out the last ``test_size`` values of ``series`` as one-step forecasting targets.

    Args:
        series: ``(N,)`` float series.
        window: input length w ≥ 1.
        test_size: number of held-out targets, 1 ≤ test_size ≤ N − w − 1 (at least one
            training window must remain).

    Returns:
        :class:`ForecastSplit`. A test window may read inputs from the training part (they
        are past values, known at forecast time); no training target lies in the tail.
    """
    s = np.asarray(series, np.float64)
    check_ndim(s, 1, "series")
    w = _check_int(window, 1, "window")
    n_test = _check_int(test_size, 1, "test_size")
    if n_test > s.shape[0] - w - 1:
        raise JaxnnError(f"test_size {n_test} leaves no training window "
                         f"(series of {s.shape[0]} values, window {w})")
    n_train_values = s.shape[0] - n_test
    mean = float(s[:n_train_values].mean())
    std = float(s[:n_train_values].std())
    check_positive(std, "std of the training part of the series")
    x, y = windows((s - mean) / std, w)
    cut = x.shape[0] - n_test
    f32 = np.float32
    return ForecastSplit(x[:cut].astype(f32), y[:cut].astype(f32), x[cut:].astype(f32),
                         y[cut:].astype(f32), np.arange(s.shape[0] - n_test, s.shape[0]),
                         mean, std)
