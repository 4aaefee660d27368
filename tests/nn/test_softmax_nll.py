"""The vocabulary-sized softmax NLL: value and closed-form VJP against autodiff of the
log-softmax form (float64), finite differences, shapes and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.nn.losses import cross_entropy
from jaxnn.nn.softmax_nll import softmax_nll


def _plain(y, t):
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(y), t[..., None], axis=-1))


@pytest.mark.parametrize("shape", [(7, 13), (3, 5, 11), (1, 2)])
def test_value_and_gradient_equal_autodiff_of_the_log_softmax(x64, shape):
    rng = np.random.default_rng(0)
    y = jnp.asarray(rng.normal(0, 3, shape))
    t = jnp.asarray(rng.integers(0, shape[-1], shape[:-1]), jnp.int32)
    np.testing.assert_allclose(softmax_nll(y, t), _plain(y, t), rtol=1e-13)
    np.testing.assert_allclose(softmax_nll(y, t), cross_entropy(y, t), rtol=1e-13)
    g = jax.grad(softmax_nll)(y, t)
    np.testing.assert_allclose(g, jax.grad(_plain)(y, t), rtol=1e-11, atol=1e-15)
    # the closed form itself: (softmax − onehot)/N
    N = int(np.prod(shape[:-1]))
    want = (jax.nn.softmax(y) - jax.nn.one_hot(t, shape[-1], dtype=y.dtype)) / N
    np.testing.assert_allclose(g, want, rtol=1e-11, atol=1e-15)


def test_finite_differences_and_a_cotangent_scale(x64):
    rng = np.random.default_rng(1)
    y = jnp.asarray(rng.normal(size=(4, 6)))
    t = jnp.asarray([0, 5, 2, 2], jnp.int32)
    d = jnp.asarray(rng.normal(size=(4, 6)))
    eps = 1e-6
    fd = (softmax_nll(y + eps * d, t) - softmax_nll(y - eps * d, t)) / (2 * eps)
    g = jax.grad(lambda y: 3.0 * softmax_nll(y, t))(y)
    np.testing.assert_allclose(jnp.vdot(g, d), 3.0 * fd, rtol=1e-7)


def test_large_logits_stay_finite():
    y = jnp.asarray([[1e4, 0.0, -1e4], [-3e4, 3e4, 0.0]], jnp.float32)
    t = jnp.asarray([1, 1], jnp.int32)
    J, g = jax.value_and_grad(softmax_nll)(y, t)
    assert np.isclose(float(J), 1e4 / 2, rtol=1e-6)
    assert np.all(np.isfinite(np.asarray(g)))


def test_under_jit_with_the_dtype_of_the_logits():
    y = jnp.zeros((5, 9), jnp.float32)
    t = jnp.arange(5, dtype=jnp.int32)
    J = jax.jit(softmax_nll)(y, t)
    assert J.dtype == jnp.float32 and np.isclose(float(J), np.log(9.0), rtol=1e-6)


def test_bad_input():
    y = jnp.zeros((3, 4))
    with pytest.raises(ShapeError, match=r"targets must have shape"):
        softmax_nll(y, jnp.zeros((4,), jnp.int32))
    with pytest.raises(ShapeError, match="scalar"):
        softmax_nll(jnp.float32(1.0), jnp.zeros((), jnp.int32))
    with pytest.raises(JaxnnError, match="integer ids"):
        softmax_nll(y, jnp.zeros((3,), jnp.float32))
    with pytest.raises(JaxnnError, match="floating"):
        softmax_nll(jnp.zeros((3, 4), jnp.int32), jnp.zeros((3,), jnp.int32))


@pytest.mark.parametrize("xshape", [(6, 5), (2, 3, 5)])
def test_vocab_logits_value_and_gradients_equal_the_dense_layer(x64, xshape):
    from jaxnn.nn.layers import dense
    from jaxnn.nn.softmax_nll import vocab_logits

    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(size=xshape))
    U, b = jnp.asarray(rng.normal(size=(11, 5))), jnp.asarray(rng.normal(size=(11,)))
    w = jnp.asarray(rng.normal(size=xshape[:-1] + (11,)))
    np.testing.assert_allclose(vocab_logits(x, U, b), dense({"W": U, "b": b}, x), rtol=1e-14)
    g1 = jax.grad(lambda x, U, b: jnp.sum(w * vocab_logits(x, U, b)), (0, 1, 2))(x, U, b)
    g2 = jax.grad(lambda x, U, b: jnp.sum(w * dense({"W": U, "b": b}, x)), (0, 1, 2))(x, U, b)
    for a, c in zip(g1, g2):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g1[2], w.reshape(-1, 11).sum(0), rtol=1e-12)


def test_vocab_logits_bad_shapes():
    from jaxnn.nn.softmax_nll import vocab_logits

    x, U, b = jnp.zeros((3, 4)), jnp.zeros((7, 4)), jnp.zeros((7,))
    with pytest.raises(ShapeError, match="vocab_logits U"):
        vocab_logits(x, jnp.zeros((7,)), b)
    with pytest.raises(ShapeError, match="vocab_logits b must have shape"):
        vocab_logits(x, U, jnp.zeros((6,)))
    with pytest.raises(ShapeError, match="last axis 4"):
        vocab_logits(jnp.zeros((3, 5)), U, b)


def test_vocab_logits_gradient_makes_no_transposed_copy_of_delta():
    """With (B, T, h) features, ∂J/∂U contracts over two axes; computed on the (B·T, h) matrix
    XLA keeps δ in its (N, V) layout instead of copying it into a (V, B, T) / (V, N) array."""
    from jaxnn.nn.softmax_nll import vocab_logits

    B, T, h, V = 4, 5, 8, 37
    x, U, b = jnp.ones((B, T, h)), jnp.ones((V, h)), jnp.zeros((V,))
    t = jnp.zeros((B, T), jnp.int32)
    grad = jax.jit(jax.grad(lambda U, b, x: softmax_nll(vocab_logits(x, U, b), t), (0, 1, 2)))
    hlo = grad.lower(U, b, x).compile().as_text()
    for shape in (f"f32[{V},{B * T}]", f"f32[{V},{B},{T}]", f"f32[{V},{T},{B}]"):
        assert shape not in hlo, shape
