"""CNN gradients by hand (Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 160–175) vs jax.grad and
central differences, float64, through :mod:`jaxnn.check`."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn.check as check
from jaxnn.derivations import conv as D
from jaxnn.models import lenet
from jaxnn.nn import conv as C
from jaxnn.nn import pooling as PL

RTOL = 1e-10


def rand(rng, *shape):
    return jnp.asarray(rng.standard_normal(shape))


@pytest.mark.parametrize("table", [None, lenet.lenet5_table()])
def test_filter_and_bias_gradient_eq166_169(x64, table):
    rng = np.random.default_rng(0)
    x, W, b = rand(rng, 3, 6, 9, 8), rand(rng, 16, 6, 3, 4), rand(rng, 16)
    R = rand(rng, 3, 16, 7, 5)                       # J = Σ R ⊙ Z, so δ = R

    def J(W, b):
        return jnp.sum(R * C.conv(x, W, b, table=table))

    check.assert_gradient(lambda W, b: (D.grad_filter(x, R, table), D.grad_bias(R)), J, W, b,
                          argnums=(0, 1), rtol=RTOL, atol=1e-12)


def test_filter_gradient_eq166_literal_sum(x64):
    # eq 166 as a loop: ∂J/∂W_ij = Σ_st X_{s−i+u, t−j+v} δ_st (1-based), one map, one sample
    rng = np.random.default_rng(1)
    X, d = rng.standard_normal((6, 7)), rng.standard_normal((4, 4))   # u = 3, v = 4
    u, v = 3, 4
    want = np.array([[sum(X[s - i + u - 1, t - j + v - 1] * d[s - 1, t - 1]
                          for s in range(1, 5) for t in range(1, 5))
                      for j in range(1, v + 1)] for i in range(1, u + 1)])
    got = D.grad_filter(jnp.asarray(X)[None, None], jnp.asarray(d)[None, None])[0, 0]
    np.testing.assert_allclose(np.asarray(got), want, rtol=RTOL)


def test_error_through_conv_eq170_173(x64):
    rng = np.random.default_rng(2)
    x, W, R = rand(rng, 2, 6, 9, 9), rand(rng, 16, 6, 5, 5), rand(rng, 2, 16, 5, 5)
    T = lenet.lenet5_table()
    check.assert_gradient(lambda x: D.error_through_conv(R, W, T),
                          lambda x: jnp.sum(R * C.conv(x, W, table=T)), x, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("kind", ["avg", "sum"])
def test_delta_of_conv_layer_from_subsampling_eq162_165(x64, kind):
    # layer l: X = tanh(Z) with Z = conv output; layer l+1: Z' = w·down(X) + b; J = Σ R ⊙ Z'
    rng = np.random.default_rng(3)
    Z, w, b, R = rand(rng, 2, 4, 6, 8), rand(rng, 4), rand(rng, 4), rand(rng, 2, 4, 3, 4)

    def J(Z):
        return jnp.sum(R * PL.subsample({"w": w, "b": b}, jnp.tanh(Z), kind=kind))

    check.assert_gradient(
        lambda Z: D.delta_conv_from_subsample(R, Z, w, lambda z: 1 - jnp.tanh(z) ** 2, 2, kind),
        J, Z, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("kind", ["avg", "sum", "max"])
def test_subsampling_weight_gradient_eq174_175(x64, kind):
    rng = np.random.default_rng(4)
    X, R = rand(rng, 3, 5, 8, 6), rand(rng, 3, 5, 4, 3)
    p = {"w": rand(rng, 5), "b": rand(rng, 5)}
    check.assert_gradient(lambda p: D.grad_subsample(X, R, 2, kind),
                          lambda p: jnp.sum(R * PL.subsample(p, X, kind=kind)), p,
                          rtol=RTOL, atol=1e-12)


def test_delta_through_max_pool(x64):
    rng = np.random.default_rng(5)
    X, R = rand(rng, 2, 3, 6, 6), rand(rng, 2, 3, 3, 3)
    J = lambda X: jnp.sum(R * PL.max_pool(X, 2))  # noqa: E731
    check.assert_gradient(lambda X: D.delta_max_pool(R, X, 2), J, X, rtol=RTOL, atol=1e-12)
    g = jax.grad(J)(X)
    # every region sends its whole error to exactly one input
    nz = np.asarray(g != 0).reshape(2, 3, 3, 2, 3, 2).sum(axis=(3, 5))
    assert np.all(nz == 1)


def test_delta_through_max_pool_with_ties(x64):
    X = jnp.asarray(np.kron(np.arange(4.0).reshape(1, 1, 2, 2), np.ones((2, 2))))  # all tied
    R = jnp.asarray(np.random.default_rng(6).standard_normal((1, 1, 2, 2)))
    check.assert_gradient(lambda X: D.delta_max_pool(R, X, 2),
                          lambda X: jnp.sum(R * PL.max_pool(X, 2)), X,
                          rtol=RTOL, atol=1e-12, fd=False)   # ties: a kink in every region


def test_rot180_is_eq168_flip():
    a = jnp.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(np.asarray(D.rot180(a)), np.rot90(np.arange(6.0).reshape(2, 3), 2))


def _batch(rng, B=3):
    x = jnp.asarray(rng.standard_normal((B, 32, 32)))
    y = jnp.asarray(rng.integers(0, 10, B))
    return x, y


@functools.cache
def _jitted(fn, config):
    return jax.jit(functools.partial(fn, config=config))


def _hand_lenet5(params, batch, config):
    return _jitted(D.grad_lenet5, config)(params, batch)


def _check_lenet5(params, batch, config, fd=True, **options):
    """grad_lenet5 vs jax.grad of lenet.loss (rtol 1e-10, atol 1e-13) and central differences.

    With ``fd`` the RBF centres are held out of the differenced parameters: lenet.loss stops
    their gradient, so the loss moves with them while the gradients are 0 (the hand one
    asserted here, autodiff's compared with it by the ``fd=False`` checks)."""
    fixed = {"output": params["output"]} if fd and config.output == "rbf" else {}
    if fixed:
        np.testing.assert_array_equal(_hand_lenet5(params, batch, config)["output"]["centres"], 0.0)
    trained = {k: v for k, v in params.items() if k not in fixed}
    return check.assert_gradient(
        lambda params, batch: {k: v for k, v in _hand_lenet5({**params, **fixed}, batch,
                                                             config).items() if k not in fixed},
        lambda params, batch: _jitted(lenet.loss, config)({**params, **fixed}, batch),
        trained, batch, rtol=RTOL, atol=1e-13, fd=fd, **options)


@pytest.mark.parametrize("config", [
    lenet.LENET5,
    lenet.MODERN,
    lenet.LeNetConfig(activation="tanh", pooling="avg", table="full", output="softmax"),
], ids=["paper-rbf", "modern", "tanh-avgpool-softmax"])
def test_full_hand_backward_lenet5_equals_autodiff(x64, config):
    rng = np.random.default_rng(7)
    params = lenet.init(jax.random.key(1), dataclasses.replace(config, dtype=jnp.float64))
    # perturb the subsampling weights/biases so every term of eq 164 and 174 is exercised
    params = jax.tree.map(lambda a: a + 0.1 * jnp.asarray(rng.standard_normal(a.shape))
                          if a.ndim == 1 else a, params)
    batch = _batch(rng)
    _check_lenet5(params, batch, config, fd=False)  # central differences: the test below
    got = _hand_lenet5(params, batch, config)
    assert any(float(jnp.abs(v).max()) > 1e-6 for v in jax.tree.leaves(got["C1"]))


def test_hand_gradient_matches_finite_differences(x64):
    rng = np.random.default_rng(8)
    config = dataclasses.replace(lenet.LENET5, dtype=jnp.float64)
    params = lenet.init(jax.random.key(2), config)
    batch = _batch(rng, 2)
    # central differences: truncation O(eps²), round-off O(1e-16·|J|/eps). Every coordinate
    # of the small leaves (S2's w and b, C1's b, ...), random directions through the large ones;
    # hand within 1e-10 of jax.grad and jax.grad within 5e-7 (+5e-9) of the differences keep
    # the hand gradient within 1e-6 (+1e-8) of them
    report = _check_lenet5(params, batch, config, fd_eps=1e-5, fd_rtol=5e-7, fd_atol=5e-9)
    coords = {r.path for r in report.leaves if r.fd_method == "coords"}
    assert {"params['S2']['w']", "params['C1']['b']"} <= coords
    # and, as before, C3's filter W[7, 2, 1, 4] (a leaf probed along directions) on its own
    g, loss, eps, idx = _hand_lenet5(params, batch, config), _jitted(lenet.loss, config), 1e-5, (
        7, 2, 1, 4)
    at = lambda h: loss({**params, "C3": {**params["C3"], "W": params["C3"]["W"].at[  # noqa: E731
        idx].add(h)}}, batch)
    np.testing.assert_allclose(float(g["C3"]["W"][idx]), float((at(eps) - at(-eps)) / (2 * eps)),
                               rtol=1e-6, atol=1e-8)
