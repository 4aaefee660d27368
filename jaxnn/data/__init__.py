"""Data sets (local cache + checksums), splits, standardization and batching.

    ds = jaxnn.data.digits()              # Dataset(x_train, y_train, x_test, y_test), numpy
    ds = jaxnn.data.mnist()               # needs `jaxnn fetch mnist` once (cached, checksummed)
    train, valid = jaxnn.data.train_valid_split(ds.x_train, ds.y_train, 0.1, key)
"""

from jaxnn.data.batching import epoch_indices, iterate_batches  # noqa: F401
from jaxnn.data.datasets import (  # noqa: F401
    Dataset,
    breast_cancer,
    diabetes,
    digits,
    iris,
    standardize,
    train_valid_split,
    wine,
)
from jaxnn.data.mnist_cache import cache_dir, fetch as fetch_mnist, mnist  # noqa: F401
from jaxnn.data import synthetic_text, text  # noqa: F401,E402
