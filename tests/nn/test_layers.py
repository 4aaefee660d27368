"""dense, dropout (rate = probability of dropping, inverted scaling) and embedding."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.nn.layers import dense, dropout, embedding


def _params(key, n_out=3, n_in=4):
    k1, k2 = jax.random.split(key)
    return {"W": jax.random.normal(k1, (n_out, n_in)), "b": jax.random.normal(k2, (n_out,))}


def test_dense_is_Wx_plus_b_per_sample(key, x64):
    p = _params(key)
    x = jax.random.normal(jax.random.key(1), (5, 4))
    W, b = np.asarray(p["W"]), np.asarray(p["b"])
    want = np.stack([W @ np.asarray(xi) + b for xi in x])  # the notes' z = W a + b, one by one
    np.testing.assert_allclose(dense(p, x), want, rtol=1e-12)
    np.testing.assert_allclose(dense(p, x[0]), want[0], rtol=1e-12)
    chex.assert_trees_all_close(jax.jit(dense)(p, x), dense(p, x), rtol=1e-12)


def test_dense_shape_errors_name_the_shapes(key):
    p = _params(key)
    with pytest.raises(ShapeError, match=r"last axis 4.*\(5, 3\)"):
        dense(p, jnp.ones((5, 3)))
    with pytest.raises(ShapeError, match=r"\(3,\).*\(2,\)"):
        dense({"W": p["W"], "b": jnp.zeros(2)}, jnp.ones((5, 4)))


def test_dropout_is_identity_at_evaluation(key):
    x = jax.random.normal(key, (7, 9))
    assert dropout(x, 0.5, key=key, train=False) is x
    assert dropout(x, 0.5) is x  # train defaults to False
    np.testing.assert_array_equal(dropout(x, 0.0, key=key, train=True), x)


def test_dropout_rate_is_drop_probability_with_inverted_scaling(key):
    rate = 0.3
    x = jnp.full((400, 500), 2.0)
    y = np.asarray(dropout(x, rate, key=key, train=True))
    kept = y != 0
    # kept entries are exactly x / (1 - rate)
    np.testing.assert_allclose(y[kept], 2.0 / (1 - rate), rtol=1e-6)
    # dropped fraction ≈ rate (200k Bernoulli draws: sd ≈ 0.001)
    assert abs((~kept).mean() - rate) < 0.005
    # expectation preserved: E[y] = x
    assert abs(y.mean() - 2.0) < 0.02


def test_dropout_depends_on_key_and_matches_under_jit(key):
    x = jnp.ones((50,))
    a = dropout(x, 0.5, key=jax.random.key(1), train=True)
    b = dropout(x, 0.5, key=jax.random.key(2), train=True)
    assert not np.array_equal(a, b)
    f = jax.jit(lambda x, k: dropout(x, 0.5, key=k, train=True))
    np.testing.assert_array_equal(f(x, jax.random.key(1)), a)


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_dropout_rate_outside_unit_interval_raises(rate, key):
    with pytest.raises(JaxnnError, match=str(rate)):
        dropout(jnp.ones(3), rate, key=key, train=True)


def test_dropout_needs_key_in_training():
    with pytest.raises(JaxnnError, match="key"):
        dropout(jnp.ones(3), 0.5, train=True)


def test_embedding_looks_up_rows(key):
    E = jax.random.normal(key, (6, 3))
    ids = jnp.array([[0, 5], [2, 2]])
    out = embedding(E, ids)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[0, 1], E[5])
    np.testing.assert_array_equal(out[1, 0], E[2])
    np.testing.assert_array_equal(jax.jit(embedding)(E, ids), out)


def test_embedding_bad_ids_raise(key):
    E = jnp.zeros((6, 3))
    with pytest.raises(JaxnnError, match=r"\[0, 6\).*max 6"):
        embedding(E, jnp.array([0, 6]))
    with pytest.raises(JaxnnError, match="float32"):
        embedding(E, jnp.array([0.0, 1.0]))
