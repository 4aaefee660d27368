"""Helpers shared by the classification chapters (so no experiment imports another).

- :func:`standardized`: a bundled data set, inputs standardized with the training statistics
  (regression, svm);
- :func:`load`: the (train, valid, test) split of ``digits`` or ``mnist`` (mlp_mnist, optimizers);
- :func:`classifier`: the ``(loss_fn, eval_fn)`` pair of an MLP classifier for
  ``jaxnn.train.fit`` (mlp_mnist, optimizers).
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from jaxnn import data, metrics
from jaxnn.models import mlp


def standardized(name: str, seed: int, dtype=np.float32) -> data.Dataset:
    """A bundled data set from :mod:`jaxnn.data`, inputs standardized with train statistics.

    Args:
        name: a loader of :mod:`jaxnn.data` (``"diabetes"``, ``"breast_cancer"``, ``"iris"``, …).
        seed: the split's seed.
        dtype: float dtype of the inputs.

    Returns:
        ``Dataset(x_train (N, d), y_train (N,), x_test (M, d), y_test (M,))``.
    """
    ds = getattr(data, name)(seed=seed)
    x_train, x_test = data.standardize(ds.x_train, ds.x_test)
    return data.Dataset(x_train.astype(dtype), ds.y_train, x_test.astype(dtype), ds.y_test)


def load(name: str, valid_fraction: float, seed: int):
    """(train, valid, test) tuples of (x (N, 784 or 64), y (N,)) numpy arrays for ``digits`` or
    ``mnist``; the validation rows are split off the training set with ``key(seed)``."""
    ds = data.mnist() if name == "mnist" else data.digits(seed=seed)
    train, valid = data.train_valid_split(ds.x_train, ds.y_train, valid_fraction,
                                          jax.random.key(seed))
    return train, valid, (ds.x_test, ds.y_test)


def classifier(config: mlp.MLPConfig):
    """(loss_fn, eval_fn) of an MLP classifier, for ``jaxnn.train.fit``.

    Args:
        config: :class:`jaxnn.models.mlp.MLPConfig` with a cross-entropy loss.

    Returns:
        ``loss_fn(params, batch, key=None) -> scalar``, the batch-mean cross-entropy, with
        dropout when a key is given (training) and without it when ``key`` is None
        (validation); ``eval_fn(params, batch) -> {"valid_error": scalar}`` from the logits.
    """
    logits = dataclasses.replace(config, output="identity")

    def loss_fn(params, batch, key=None):
        return mlp.loss(params, batch, config=config, key=key)

    def eval_fn(params, batch):
        z = mlp.apply(params, batch[0], config=logits)
        return {"valid_error": 1.0 - metrics.accuracy(z, batch[1])}

    return loss_fn, eval_fn
