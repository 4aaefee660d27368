"""Data sets (local cache + checksums), splits, standardization and batching.

    ds = jaxnn.data.digits()              # Dataset(x_train, y_train, x_test, y_test), numpy
    ds = jaxnn.data.mnist()               # needs `jaxnn fetch mnist` once (cached, checksummed)
    train, valid = jaxnn.data.train_valid_split(ds.x_train, ds.y_train, 0.1, key)

The names below are imported when first used, so that ``jaxnn.data.cache`` (and
``jaxnn fetch --list``) works without importing JAX.
"""

import importlib

_EXPORTS = {
    "epoch_indices": "batching", "iterate_batches": "batching",
    "Dataset": "datasets", "breast_cancer": "datasets", "diabetes": "datasets",
    "digits": "datasets", "iris": "datasets", "standardize": "datasets",
    "train_valid_split": "datasets", "wine": "datasets",
    "cache_dir": "cache",
    "fetch_mnist": ("mnist_cache", "fetch"), "mnist": ("mnist_cache", "mnist"),
}


_SUBMODULES = ("cache", "corpora", "text", "synthetic_text")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"jaxnn.data.{name}")
    if name not in _EXPORTS:
        raise AttributeError(f"module 'jaxnn.data' has no attribute {name!r}")
    where = _EXPORTS[name]
    module, attr = where if isinstance(where, tuple) else (where, name)
    value = getattr(importlib.import_module(f"jaxnn.data.{module}"), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS) | set(_SUBMODULES))
