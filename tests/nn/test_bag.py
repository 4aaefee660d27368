"""Masked mean and max of word vectors: values, all-masked rows, gradients without NaN."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import ShapeError
from jaxnn.nn.bag import masked_max, masked_mean


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(3, 4, 5)), jnp.float32)
    mask = jnp.array([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]], bool)
    return x, mask


def test_values(data):
    x, mask = data
    mean, mx = masked_mean(x, mask), masked_max(x, mask)
    assert mean.shape == mx.shape == (3, 5)
    np.testing.assert_allclose(mean[0], x[0, :2].mean(0), rtol=1e-6)
    np.testing.assert_allclose(mean[1], x[1].mean(0), rtol=1e-6)
    np.testing.assert_allclose(mx[0], x[0, :2].max(0))
    np.testing.assert_allclose(mx[1], x[1].max(0))
    # all-masked row: zeros, no NaN
    np.testing.assert_array_equal(mean[2], 0.0)
    np.testing.assert_array_equal(mx[2], 0.0)


def test_padding_never_contributes(data):
    x, mask = data
    y = x.at[0, 2:].set(1e6)  # huge values at padded positions
    np.testing.assert_allclose(masked_max(y, mask)[0], masked_max(x, mask)[0])
    np.testing.assert_allclose(masked_mean(y, mask)[0], masked_mean(x, mask)[0])


def test_leading_axes_and_jit(data):
    x, mask = data
    x2, m2 = jnp.stack([x, x]), jnp.stack([mask, mask])
    np.testing.assert_allclose(jax.jit(masked_mean)(x2, m2)[1], masked_mean(x, mask), rtol=1e-6)
    np.testing.assert_allclose(jax.jit(masked_max)(x2, m2)[0], masked_max(x, mask))
    v = masked_mean(x[0], mask[0])  # unbatched (L, d)
    assert v.shape == (5,)


def test_mean_gradient(data):
    x, mask = data
    w = jnp.arange(5.0)
    g = jax.grad(lambda x: jnp.sum(masked_mean(x, mask) @ w))(x)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g[0, :2], jnp.broadcast_to(w / 2, (2, 5)))
    np.testing.assert_array_equal(g[0, 2:], 0.0)
    np.testing.assert_allclose(g[1], jnp.broadcast_to(w / 4, (4, 5)))
    np.testing.assert_array_equal(g[2], 0.0)  # all-masked: zero, not NaN


def test_max_gradient_to_argmax_only(data):
    x, mask = data
    g = jax.grad(lambda x: jnp.sum(masked_max(x, mask)))(x)
    assert np.all(np.isfinite(g))
    np.testing.assert_array_equal(g[2], 0.0)
    for b in (0, 1):
        L = int(mask[b].sum())
        onehot = jax.nn.one_hot(jnp.argmax(x[b, :L], axis=0), 4, axis=0)  # (4, 5)
        np.testing.assert_array_equal(g[b], onehot)
    # ties: the whole gradient goes to the first arg-max, not split
    t = jnp.ones((1, 3, 2))
    gt = jax.grad(lambda t: jnp.sum(masked_max(t, jnp.ones((1, 3), bool))))(t)
    np.testing.assert_array_equal(gt[0], [[1, 1], [0, 0], [0, 0]])


def test_bad_shapes(data):
    x, mask = data
    with pytest.raises(ShapeError, match="mask"):
        masked_mean(x, mask[:, :3])
    with pytest.raises(ShapeError, match="mask"):
        masked_max(x, mask[0])
    with pytest.raises(ShapeError, match="vectors"):
        masked_mean(jnp.ones(3), jnp.ones(3, bool)[:0])
