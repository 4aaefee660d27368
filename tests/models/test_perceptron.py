"""Rosenblatt's perceptron (Qiu eq 113-114, algorithm box), Novikoff's bound, AND/OR/XOR."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models import perceptron as pc

X4 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
Y_AND = np.array([-1, -1, -1, 1], np.float32)
Y_OR = np.array([-1, 1, 1, 1], np.float32)
Y_XOR = np.array([-1, 1, 1, -1], np.float32)
C2 = pc.PerceptronConfig(2)


@pytest.fixture(autouse=True, params=["x32", "x64"])
def precision(request):
    """Every test runs twice: with 32-bit and with 64-bit floats enabled."""
    with jax.enable_x64(request.param == "x64"):
        yield


def _reference_perceptron(x, y, max_epochs, strict=False):
    """The algorithm box as a plain Python loop (float64), for comparison."""
    xa = np.hstack([np.asarray(x, np.float64), np.ones((len(x), 1))])
    w = np.zeros(xa.shape[1])
    hist = []
    for _ in range(max_epochs):
        k = 0
        for xi, yi in zip(xa, y):
            m = yi * (w @ xi)
            if (m < 0) if strict else (m <= 0):
                w = w + yi * xi
                k += 1
        hist.append(k)
        if k == 0:
            break
    return w, hist


def _separable(key, n=60, gap=0.3):
    """Points in [-2, 2]^2 at distance >= gap/||u|| from the line u.(x, 1) = 0."""
    u = np.array([1.0, -2.0, 0.5])
    x = np.asarray(jax.random.uniform(key, (4 * n, 2), minval=-2, maxval=2), np.float64)
    s = np.hstack([x, np.ones((len(x), 1))]) @ u
    keep = np.abs(s) >= gap
    return x[keep][:n].astype(np.float32), np.sign(s[keep][:n]).astype(np.float32), u


@pytest.mark.parametrize("y, u", [(Y_AND, [1.0, 1.0, -1.5]), (Y_OR, [1.0, 1.0, -0.5])])
def test_and_or_learned_within_novikoff_bound(y, u):
    fit = pc.fit(X4, y, config=pc.PerceptronConfig(2, max_epochs=50))
    assert bool(fit.converged)
    np.testing.assert_array_equal(pc.apply(fit.params, X4, config=C2), y)
    nb = pc.novikoff_bound(X4, y, jnp.asarray(u))
    assert 0 < int(fit.mistakes) <= float(nb.bound)
    # hand check of R and gamma for the known separator
    assert float(nb.R) == pytest.approx(np.sqrt(3.0))
    assert float(nb.gamma) == pytest.approx(0.5 / np.linalg.norm(u))


def test_fit_counters_are_int32_and_float64_inputs_stay_float64():
    fit = pc.fit(X4.astype(np.float64), Y_AND, config=C2)
    assert fit.mistakes_per_epoch.dtype == fit.mistakes.dtype == fit.epochs.dtype == jnp.int32
    want = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    assert fit.params["w"].dtype == want
    assert bool(fit.converged)


def test_matches_plain_python_algorithm(key):
    x, y, _ = _separable(key)
    fit = pc.fit(x, y, config=pc.PerceptronConfig(2, max_epochs=100))
    w_ref, hist = _reference_perceptron(x, y, 100)
    np.testing.assert_allclose(np.asarray(fit.params["w"]), w_ref, rtol=1e-5, atol=1e-5)
    assert int(fit.epochs) == len(hist)
    np.testing.assert_array_equal(np.asarray(fit.mistakes_per_epoch[: len(hist)]), hist)
    assert int(jnp.sum(fit.mistakes_per_epoch[len(hist):])) == 0


def test_novikoff_bound_on_separable_data(key):
    for k in jax.random.split(key, 3):
        x, y, u = _separable(k)
        fit = pc.fit(x, y, config=pc.PerceptronConfig(2, max_epochs=1000))
        nb = pc.novikoff_bound(x, y, jnp.asarray(u))
        xa = np.hstack([x, np.ones((len(x), 1))])
        gamma = np.min(y * (xa @ u)) / np.linalg.norm(u)
        assert float(nb.gamma) == pytest.approx(gamma, rel=1e-5)
        assert float(nb.R) == pytest.approx(np.max(np.linalg.norm(xa, axis=1)), rel=1e-5)
        assert bool(fit.converged)
        assert int(fit.mistakes) <= float(nb.bound)
        assert bool(jnp.all(pc.apply(fit.params, x, config=C2) == y))


def test_xor_not_learnable():
    fit = pc.fit(X4, Y_XOR, config=pc.PerceptronConfig(2, max_epochs=200))
    assert not bool(fit.converged) and int(fit.epochs) == 200
    assert bool(jnp.all(fit.mistakes_per_epoch > 0))  # every single epoch errs
    assert int(jnp.sum(pc.apply(fit.params, X4, config=C2) != Y_XOR)) >= 1
    # Proof that no separator exists (Gordan): equal weights on the four corners give
    # sum_i lambda_i y_i x_hat_i = 0, checked here by hand, independent of the LP.
    xa = np.hstack([X4, np.ones((4, 1))])
    np.testing.assert_array_equal((np.full(4, 0.25) * Y_XOR) @ xa, np.zeros(3))
    lam = pc.separability_certificate(X4, Y_XOR)
    assert lam is not None and np.all(lam >= -1e-12) and lam.sum() == pytest.approx(1.0)
    np.testing.assert_allclose((lam * Y_XOR) @ xa, 0.0, atol=1e-9)
    assert pc.separability_certificate(X4, Y_AND) is None
    assert pc.separability_certificate(X4, Y_OR) is None


def test_algorithm_box_strict_test_is_a_slip():
    # With w0 = 0 and the box's "< 0" test nothing is ever updated.
    w, hist = _reference_perceptron(X4, Y_AND, 10, strict=True)
    assert np.all(w == 0) and hist == [0]
    w, _ = _reference_perceptron(X4, Y_AND, 10, strict=False)
    assert np.all(np.where(np.hstack([X4, np.ones((4, 1))]) @ w > 0, 1, -1) == Y_AND)


def test_notes_and_or_weights():
    # The XOR lecture's hand-set neurons: AND w = [1, 1], b = -1; OR w = [1, 1], b = 0.
    np.testing.assert_array_equal(pc.apply({"w": jnp.array([1.0, 1.0, -1.0])}, X4, config=C2), Y_AND)
    np.testing.assert_array_equal(pc.apply({"w": jnp.array([1.0, 1.0, 0.0])}, X4, config=C2), Y_OR)


def test_apply_zero_predicts_minus_one_and_jit_matches():
    p = pc.init(None, C2)
    np.testing.assert_array_equal(pc.apply(p, X4, config=C2), -np.ones(4))  # eq 114: w.x <= 0 -> -1
    p = {"w": jnp.array([0.5, -1.0, 0.2])}
    ap = functools.partial(pc.apply, config=C2)
    np.testing.assert_array_equal(jax.jit(ap)(p, X4), ap(p, X4))
    ls = functools.partial(pc.loss, config=C2)
    assert float(jax.jit(ls)(p, (X4, Y_XOR))) == pytest.approx(float(ls(p, (X4, Y_XOR))))


def test_loss_subgradient_is_rosenblatt_update():
    p = {"w": jnp.array([0.5, -1.0, 0.2])}
    x, y = X4[1:2], Y_XOR[1:2]  # 0.5*0 - 1 + 0.2 < 0 but y = +1: a mistake
    g = jax.grad(pc.loss)(p, (x, y), config=C2)["w"]
    np.testing.assert_allclose(g, -y[0] * np.array([0.0, 1.0, 1.0]))


def test_bad_inputs_raise():
    with pytest.raises(JaxnnError, match="0"):
        pc.fit(X4, np.array([0, 0, 0, 1.0]), config=C2)
    with pytest.raises(ShapeError, match=r"\(4, 3\)"):
        pc.apply(pc.init(None, C2), np.ones((4, 3)), config=C2)
    with pytest.raises(ShapeError):
        pc.fit(X4, Y_AND[:3], config=C2)
    with pytest.raises(ShapeError, match=r"\(\*, 3\); got \(4, 2\)"):
        pc.fit(X4, Y_AND, config=pc.PerceptronConfig(3))
    with pytest.raises(ShapeError, match=r"params.*\(4\); got \(3,\)"):
        pc.apply({"w": jnp.zeros(3)}, X4, config=pc.PerceptronConfig(3))
    with pytest.raises(JaxnnError, match="gamma"):
        pc.novikoff_bound(X4, Y_XOR, jnp.array([1.0, 1.0, -1.5]))
    with pytest.raises(JaxnnError, match=r"max_epochs .*got 0"):
        pc.PerceptronConfig(2, max_epochs=0)
    with pytest.raises(JaxnnError, match=r"n_in .*got 1\.5"):
        pc.PerceptronConfig(1.5)


def test_epoch_trace_xor_cycles_back_to_zero():
    ws, wrong = pc.epoch_trace(pc.init(None, C2), X4, Y_XOR)
    np.testing.assert_array_equal(wrong, [1, 1, 1, 1])
    np.testing.assert_array_equal(ws, [[0, 0, -1], [0, 1, 0], [1, 1, 1], [0, 0, 0]])
    w_ref, _ = _reference_perceptron(X4, Y_XOR, 1)
    np.testing.assert_array_equal(ws[-1], w_ref)
