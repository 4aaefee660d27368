"""The gradient of an embedding lookup is a scatter-add into the rows used: the closed form
against jax.grad and central differences, float64, through jaxnn.check."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn.check as check
from jaxnn.derivations.embedding import grad_lookup
from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.nn.layers import embedding

TIGHT = {"rtol": 1e-10, "atol": 1e-13}


@pytest.fixture
def setup(x64):
    rng = np.random.default_rng(0)
    C = jnp.asarray(rng.normal(size=(7, 3)))
    ids = jnp.array([[1, 4, 1], [0, 4, 4]], jnp.int32)  # rows 1 and 4 repeated; 2, 3, 5, 6 unused
    T = jnp.asarray(rng.normal(size=(2, 3, 3)))
    return C, ids, T


def test_squared_loss(setup):
    C, ids, T = setup

    def f(C, ids, T):
        return 0.5 * jnp.sum((embedding(C, ids) - T) ** 2)

    def closed(C, ids, T):
        return grad_lookup(C.shape, ids, embedding(C, ids) - T)  # upstream ∂L/∂X = X − T

    check.assert_gradient(closed, f, C, ids, T, n_random=2, **TIGHT)


def test_softmax_head_over_concatenated_window(setup):
    """An NPLM-like downstream: x = concat of the window's vectors, logits = x W, mean CE."""
    C, ids, _ = setup
    rng = np.random.default_rng(1)
    W = jnp.asarray(rng.normal(size=(9, 5)))
    y = jnp.array([2, 4])

    def f(C, ids, W, y):
        x = embedding(C, ids).reshape(2, 9)
        return -jnp.mean(jax.nn.log_softmax(x @ W)[jnp.arange(2), y])

    def closed(C, ids, W, y):
        x = embedding(C, ids).reshape(2, 9)
        dlogits = (jax.nn.softmax(x @ W) - jax.nn.one_hot(y, 5)) / 2
        return grad_lookup(C.shape, ids, (dlogits @ W.T).reshape(2, 3, 3))

    check.assert_gradient(closed, f, C, ids, W, y, n_random=1, **TIGHT)


def test_rows_sum_and_unused_rows_zero(setup):
    C, ids, T = setup
    G = jnp.ones((2, 3, 3)) * jnp.arange(1.0, 7.0).reshape(2, 3, 1)  # position i carries i+1
    g = grad_lookup(C.shape, ids, G)
    np.testing.assert_array_equal(g[1], 1 + 3)  # positions 0 and 2
    np.testing.assert_array_equal(g[4], 2 + 5 + 6)
    np.testing.assert_array_equal(g[0], 4)
    np.testing.assert_array_equal(g[jnp.array([2, 3, 5, 6])], 0.0)
    auto = jax.grad(lambda C: jnp.sum(embedding(C, ids) * G))(C)
    np.testing.assert_array_equal(g, auto)


def test_bad_inputs(setup):
    C, ids, T = setup
    with pytest.raises(JaxnnError, match="id 7 is outside"):
        grad_lookup(C.shape, jnp.array([7]), jnp.ones((1, 3)))
    with pytest.raises(JaxnnError, match="id -1 is outside"):
        grad_lookup(C.shape, jnp.array([-1]), jnp.ones((1, 3)))
    with pytest.raises(ShapeError, match="upstream"):
        grad_lookup(C.shape, ids, jnp.ones((2, 3)))
    with pytest.raises(ShapeError, match="C_shape"):
        grad_lookup((7,), ids, T)
    with pytest.raises(JaxnnError, match="integers"):
        grad_lookup(C.shape, jnp.array([1.0]), jnp.ones((1, 3)))
