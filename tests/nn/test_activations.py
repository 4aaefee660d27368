"""Activations: closed-form derivatives vs jax.grad and central differences (float64, through
:mod:`jaxnn.check`), identities, kinks, stability."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn.check as check
from jaxnn.errors import JaxnnError
from jaxnn.nn import activations as A

# A grid avoiding the kink at 0 (checked separately below).
GRID = np.concatenate([np.linspace(-6.0, -0.05, 40), np.linspace(0.05, 6.0, 40)])


def _diag(prime):
    """The Jacobian diag(f′(x)) of an elementwise f (Qiu eq 33–34), from its derivative f′."""
    return lambda x: jnp.diag(prime(x))


# Elementwise f: a coordinate step moves one output only, so central differences of the
# (80, 80) Jacobian are exactly the per-point differences (f(x + h) − f(x − h)) / 2h.
EVERY_POINT = {"fd_max_coords": GRID.size}


@pytest.mark.parametrize("name", A.NAMES)
def test_prime_matches_autodiff(x64, name):
    act = A.get(name)
    x = jnp.asarray(GRID, dtype=jnp.float64)
    check.assert_jacobian(_diag(act.prime), act.fn, x, rtol=1e-10, atol=1e-14, fd=False)


@pytest.mark.parametrize(
    "fn, prime, kwargs",
    [
        (A.leaky_relu, A.leaky_relu_prime, {"negative_slope": 0.2}),
        (A.elu, A.elu_prime, {"alpha": 0.5}),
        (A.gelu, A.gelu_prime, {"approximate": True}),
    ],
)
def test_prime_with_parameters_matches_autodiff(x64, fn, prime, kwargs):
    x = jnp.asarray(GRID, dtype=jnp.float64)
    check.assert_jacobian(_diag(lambda t: prime(t, **kwargs)), lambda t: fn(t, **kwargs), x,
                          rtol=1e-10, atol=1e-14, **EVERY_POINT)


@pytest.mark.parametrize("name", A.NAMES)
def test_prime_matches_finite_differences(x64, name):
    """Closed form vs autodiff within rel 1e-10, atol 1e-14 and autodiff vs central differences
    (step 1e-6) within 9e-8, 9e-10: so closed form vs FD stays within the rel 1e-7, atol 1e-9
    this test always asked for."""
    act = A.get(name)
    x = jnp.asarray(GRID, dtype=jnp.float64)
    report = check.assert_jacobian(_diag(act.prime), act.fn, x, rtol=1e-10, atol=1e-14,
                                   fd_eps=1e-6, fd_rtol=9e-8, fd_atol=9e-10, **EVERY_POINT)
    assert report.leaves[0].fd_method == "coords"


@pytest.mark.parametrize("name", A.NAMES)
def test_derivative_at_zero_equals_jax_grad(x64, name):
    """At the kink x = 0 our closed form returns what jax.grad returns (documented choice)."""
    act = A.get(name)
    zero = jnp.zeros((), jnp.float64)
    check.assert_gradient(act.prime, act.fn, zero, rtol=0, atol=0, fd=False)  # bitwise equal


def test_relu_derivative_at_zero_is_zero_like_jax_nn():
    # The backprop notes' figure 15 writes 1 for x >= 0; autodiff's convention is 0.
    assert float(jax.grad(jax.nn.relu)(0.0)) == 0.0
    assert float(A.relu_prime(jnp.zeros(()))) == 0.0
    # jnp.maximum would split the tie: the reason relu is written with where
    assert float(jax.grad(lambda x: jnp.maximum(x, 0.0))(0.0)) == 0.5


def test_values_against_textbook_formulas(x64):
    x = jnp.asarray(GRID, dtype=jnp.float64)
    xn = np.asarray(GRID)
    np.testing.assert_allclose(A.sigmoid(x), 1 / (1 + np.exp(-xn)), rtol=1e-12)
    np.testing.assert_allclose(A.tanh(x), (np.exp(xn) - np.exp(-xn)) / (np.exp(xn) + np.exp(-xn)),
                               rtol=1e-12)
    np.testing.assert_allclose(A.softplus(x), np.log1p(np.exp(xn)), rtol=1e-12)
    np.testing.assert_allclose(A.relu(x), np.maximum(xn, 0.0))
    np.testing.assert_allclose(A.binary_step(x), (xn >= 0).astype(float))
    np.testing.assert_allclose(A.sign(x), np.sign(xn))
    np.testing.assert_allclose(A.elu(x), np.where(xn > 0, xn, np.expm1(xn)), rtol=1e-12)
    np.testing.assert_allclose(A.gelu(x), jax.nn.gelu(x, approximate=False), rtol=1e-12)
    np.testing.assert_allclose(A.gelu(x, approximate=True), jax.nn.gelu(x, approximate=True),
                               rtol=1e-12)
    np.testing.assert_allclose(A.leaky_relu(x), jax.nn.leaky_relu(x), rtol=1e-12)


def test_step_and_sign_at_zero():
    zero = jnp.zeros(3)
    np.testing.assert_array_equal(A.binary_step(zero), 1.0)  # figure 15: 1 for x >= 0
    np.testing.assert_array_equal(A.sign(zero), 0.0)


def test_tanh_is_scaled_shifted_sigmoid(x64):
    """Qiu eq 118 remark: tanh(x) = 2σ(2x) − 1."""
    x = jnp.asarray(GRID, dtype=jnp.float64)
    np.testing.assert_allclose(A.tanh(x), 2 * A.sigmoid(2 * x) - 1, rtol=1e-12, atol=1e-15)


def test_softplus_prime_is_sigmoid(x64):
    x = jnp.asarray(GRID, dtype=jnp.float64)
    check.assert_jacobian(_diag(A.sigmoid), A.softplus, x, rtol=1e-12, atol=0, **EVERY_POINT)


def test_derivative_bounds(x64):
    """σ′ ≤ 1/4 and tanh′ ≤ 1 (Qiu eq 143), both attained at 0."""
    x = jnp.linspace(-10, 10, 2001, dtype=jnp.float64)
    assert float(jnp.max(A.sigmoid_prime(x))) == pytest.approx(0.25, abs=1e-15)
    assert float(jnp.max(A.tanh_prime(x))) == pytest.approx(1.0, abs=1e-15)
    assert float(jnp.min(A.sigmoid_prime(x))) >= 0.0


def test_large_inputs_are_finite_in_float32():
    x = jnp.array([-1e4, -100.0, 0.0, 100.0, 1e4], jnp.float32)
    for name in A.NAMES:
        act = A.get(name)
        outs = jax.jit(lambda t: (act.fn(t), act.prime(t), jax.vmap(jax.grad(act.fn))(t)))(x)
        assert all(bool(jnp.all(jnp.isfinite(o))) for o in outs), name
    np.testing.assert_allclose(A.softplus(x), [0, 0, np.log(2), 100, 1e4], rtol=1e-6)


def test_shape_and_dtype_preserved():
    x = jax.ShapeDtypeStruct((2, 3, 4), jnp.float32)
    for name in A.NAMES:
        act = A.get(name)
        for out in (jax.eval_shape(act.fn, x), jax.eval_shape(act.prime, x)):
            assert out.shape == x.shape and out.dtype == x.dtype, name


def test_jit_equals_eager():
    # float32; fused kernels may round tanh differently by an ulp, and 1 − tanh² turns that
    # into an absolute (not relative) error of ~1e-8 where tanh² ≈ 1: hence the atol.
    x = jnp.asarray(GRID, jnp.float32)
    for name in A.NAMES:
        act = A.get(name)
        np.testing.assert_allclose(jax.jit(act.fn)(x), act.fn(x), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(jax.jit(act.prime)(x), act.prime(x), rtol=1e-6, atol=1e-7)


def test_softmax_and_log_softmax(x64):
    z = jnp.array([[1.0, 2.0, 3.0], [1e4, -1e4, 0.0]], jnp.float64)
    p = A.softmax(z)
    np.testing.assert_allclose(jnp.sum(p, axis=-1), 1.0, rtol=1e-14)
    e = np.exp(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(p[0], e / e.sum(), rtol=1e-14)
    np.testing.assert_allclose(A.log_softmax(z), jnp.log(p).at[1, 1:].set(A.log_softmax(z)[1, 1:]),
                               rtol=1e-14)
    np.testing.assert_allclose(A.log_softmax(z)[1], [0.0, -2e4, -1e4], rtol=1e-14)
    # axis argument
    np.testing.assert_allclose(A.softmax(z.T, axis=0), p.T, rtol=1e-14)


def test_softmax_float32_extreme_logits_finite():
    z = jnp.array([[1e4, -1e4, 0.0]], jnp.float32)
    g = jax.grad(lambda t: A.log_softmax(t)[0, 1])(z)
    assert jnp.all(jnp.isfinite(A.log_softmax(z))) and jnp.all(jnp.isfinite(g))


def test_unknown_activation_raises_with_name():
    with pytest.raises(JaxnnError, match="swish"):
        A.get("swish")


def test_softmax_bad_axis_raises():
    with pytest.raises(JaxnnError, match="axis 2"):
        A.softmax(jnp.ones((2, 3)), axis=2)
    with pytest.raises(JaxnnError, match=r"shape \(\)"):
        A.log_softmax(jnp.ones(()))
