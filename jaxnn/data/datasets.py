"""Small data sets bundled with scikit-learn, splits and standardization.

Every loader returns a :class:`Dataset` of numpy arrays: inputs float32, class labels int32
(regression targets float32). The bundled sets have no official test split, so a fixed
fraction is held out by a seeded permutation (same split every call for the same seed).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np

from jaxnn.errors import JaxnnError, check_range
from jaxnn.data.batching import check_data


class Dataset(NamedTuple):
    """Train/test arrays (numpy): ``x_*`` (N, ...) float32, ``y_*`` (N,) int32 or float32."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def split_arrays(x: Any, y: Any, fraction: float, perm: np.ndarray) -> tuple[tuple, tuple]:
    """Split ``(x, y)`` by ``perm``: the last ``round(fraction·N)`` indices go to the second part.

    Returns:
        ``((x_a, y_a), (x_b, y_b))`` numpy arrays.
    """
    n = check_data((x, y), "(x, y)")
    check_range(fraction, 0.0, 1.0, "split fraction")
    n_b = int(round(fraction * n))
    if n_b == 0 or n_b == n:
        raise JaxnnError(f"split fraction {fraction} of {n} samples leaves an empty part")
    x, y = np.asarray(x), np.asarray(y)
    a, b = perm[: n - n_b], perm[n - n_b:]
    return (x[a], y[a]), (x[b], y[b])


def train_valid_split(x: Any, y: Any, valid_fraction: float, key: jax.Array
                      ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold out a random validation set (for early stopping, eq 125–131's held-out data).

    Args:
        x: (N, ...) inputs; y: (N, ...) targets.
        valid_fraction: share of samples for validation, in (0, 1).
        key: ``jax.random`` key for the permutation.

    Returns:
        ``((x_train, y_train), (x_valid, y_valid))`` numpy arrays, ready for
        ``fit(train_data=..., valid_data=...)``.

    Raises:
        ShapeError: x and y have different leading sizes.
        JaxnnError: the fraction leaves one part empty.
    """
    n = check_data((x, y), "(x, y)")
    perm = np.asarray(jax.random.permutation(key, n))
    return split_arrays(x, y, valid_fraction, perm)


def standardize(x_train: Any, *others: Any, eps: float = 1e-8) -> tuple[np.ndarray, ...]:
    """Zero mean, unit variance per feature, with statistics of ``x_train`` only.

    Args:
        x_train: (N, ...) array whose per-feature mean and std are used.
        *others: further arrays (M, ...) (validation, test) transformed the same way.
        eps: added to the std so constant features (std 0) map to 0, not NaN.

    Returns:
        tuple ``(x_train_std, *others_std)`` of float32 arrays (one entry per input).
    """
    x = np.asarray(x_train, np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0) + eps
    for i, o in enumerate(others):
        if np.shape(o)[1:] != x.shape[1:]:
            raise JaxnnError(f"standardize: others[{i}] has feature shape {np.shape(o)[1:]}, "
                             f"x_train has {x.shape[1:]}")
    return tuple(((np.asarray(a, np.float64) - mean) / std).astype(np.float32)
                 for a in (x_train, *others))


def _sklearn(name: str, test_fraction: float, seed: int, regression: bool = False,
             scale: float = 1.0) -> Dataset:
    from sklearn import datasets as skd

    bunch = getattr(skd, f"load_{name}")()
    x = np.asarray(bunch.data, np.float32) / np.float32(scale)
    y = np.asarray(bunch.target, np.float32 if regression else np.int32)
    perm = np.random.default_rng(seed).permutation(len(x))
    (xa, ya), (xb, yb) = split_arrays(x, y, test_fraction, perm)
    return Dataset(xa, ya, xb, yb)


def digits(test_fraction: float = 0.25, seed: int = 0, flat: bool = True) -> Dataset:
    """scikit-learn's 8×8 handwritten digits (1,797 images, 10 classes).

    Pixels are divided by 16 so inputs lie in [0, 1] (like :func:`jaxnn.data.mnist`).

    Args:
        test_fraction: share held out as the test set, in (0, 1).
        seed: seed of the split permutation.
        flat: inputs (N, 64) if True, else images (N, 8, 8).

    Returns:
        :class:`Dataset` with x float32, y int32 in [0, 10).
    """
    ds = _sklearn("digits", test_fraction, seed, scale=16.0)
    if flat:
        return ds
    return ds._replace(x_train=ds.x_train.reshape(-1, 8, 8), x_test=ds.x_test.reshape(-1, 8, 8))


def iris(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Fisher's iris: 150 samples, 4 features (cm), 3 classes. x float32 (N, 4), y int32."""
    return _sklearn("iris", test_fraction, seed)


def breast_cancer(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Wisconsin breast cancer: 569 samples, 30 raw features, 2 classes (1 = benign).

    x float32 (N, 30) unscaled (use :func:`standardize`), y int32 in {0, 1}.
    """
    return _sklearn("breast_cancer", test_fraction, seed)


def wine(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Wine recognition: 178 samples, 13 raw features, 3 classes. x float32, y int32."""
    return _sklearn("wine", test_fraction, seed)


def diabetes(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Diabetes regression: 442 samples, 10 (already centred, scaled) features.

    x float32 (N, 10); y float32 (N,), disease progression after one year (25 … 346).
    """
    return _sklearn("diabetes", test_fraction, seed, regression=True)
