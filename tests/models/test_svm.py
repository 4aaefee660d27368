"""The hinge-loss neuron: subgradient vs autodiff, L2 as gradual forgetting, support vectors."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxnn.check as check
from jaxnn.derivations import linear as dl
from jaxnn.errors import JaxnnError
from jaxnn.models import svm
from jaxnn.train import gradient_descent


def cfg(lam=0.0):
    return svm.SVMConfig(2, lam=lam)


def _toy(n=40, seed=0, gap=1.0):
    """Two separable 2-D clouds, labels ±1."""
    rng = np.random.default_rng(seed)
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    x = rng.normal(scale=0.6, size=(n, 2)) + (gap + 1.0) * y[:, None] * np.array([1.0, 0.5])
    return x, y


@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_grad_hinge_matches_autodiff(x64, lam):
    x, y = _toy()
    p = {"W": jnp.array([[0.5, 0.2]]), "b": jnp.array([0.05])}
    assert 0 < np.mean(y * svm.decision(p, x) < 1) < 1  # both hinge branches present
    check.assert_gradient(lambda params, batch: dl.grad_hinge(params, batch, config=cfg(lam)),
                          lambda params, batch: svm.loss(params, batch, config=cfg(lam)),
                          p, (x, y), rtol=1e-10, atol=1e-15)


def test_grad_hinge_at_the_kink(x64):
    """A sample with y f(x) = 1 exactly contributes 0 to the subgradient, as autodiff says."""
    p = {"W": jnp.array([[1.0, 0.0]]), "b": jnp.array([0.0])}
    x, y = np.array([[1.0, 3.0], [0.5, 2.0]]), np.array([1.0, 1.0])  # y f = 1 and 0.5
    g = dl.grad_hinge(p, (x, y), config=cfg())
    check.assert_gradient(lambda params, batch: dl.grad_hinge(params, batch, config=cfg()),
                          lambda params, batch: svm.loss(params, batch, config=cfg()),
                          p, (x, y), rtol=1e-12, atol=1e-15, fd=False)  # at the kink
    np.testing.assert_allclose(g["W"], [[-0.25, -1.0]])  # only the second sample, / N = 2


def test_forgetting_step_is_sgd_on_the_regularized_loss(x64):
    x, y = _toy()
    p = {"W": jnp.array([[0.7, -0.4]]), "b": jnp.array([0.3])}
    eta, lam = 0.1, 0.5
    mine = svm.forgetting_step(p, (x, y), config=cfg(lam), learning_rate=eta)
    g = jax.grad(svm.loss)(p, (x, y), config=cfg(lam))
    sgd = jax.tree.map(lambda w, gw: w - eta * gw, p, g)
    chex.assert_trees_all_close(mine, sgd, rtol=1e-12)
    # = optax weight decay on W only (the "forgetting"), then SGD on the hinge alone
    opt = optax.chain(optax.add_decayed_weights(lam, mask=svm.PENALTY_MASK), optax.sgd(eta))
    upd, _ = opt.update(jax.grad(svm.loss)(p, (x, y), config=cfg()), opt.init(p), p)
    chex.assert_trees_all_close(optax.apply_updates(p, upd), mine, rtol=1e-12)


def test_weights_decay_geometrically_without_data_gradient(x64):
    """All samples far outside the margin: the hinge is silent and W_t = (1 − ηλ)^t W_0."""
    x, y = _toy(gap=6.0)
    p0 = {"W": jnp.array([[2.0, 1.0]]), "b": jnp.array([0.1])}
    eta, lam, t = 0.05, 0.2, 30
    pt, _, w_t = gradient_descent(lambda p, b: svm.loss(p, b, config=cfg(lam)), p0, (x, y), steps=t,
                                         learning_rate=eta, record=lambda p: p["W"])
    assert np.all(y * svm.decision(pt, x) > 1)  # still silent at the end
    factors = (1 - eta * lam) ** np.arange(1, t + 1)
    np.testing.assert_allclose(w_t, factors[:, None, None] * np.asarray(p0["W"]), rtol=1e-12)
    np.testing.assert_allclose(pt["b"], p0["b"], rtol=1e-12)  # the bias does not forget


def test_trained_neuron_separates_and_finds_support_vectors(key):
    x, y = _toy()
    x = x.astype(np.float32)
    y = y.astype(np.float32)
    p, losses_, _ = gradient_descent(lambda p, b: svm.loss(p, b, config=cfg(0.01)),
                                            svm.init(key, cfg(0.01)), (x, y),
                                            steps=500, learning_rate=0.1)
    assert np.all(svm.apply(p, x, config=cfg(0.01)) == y)
    sv = np.asarray(svm.support_vectors(p, x, y))
    assert 1 <= sv.sum() < len(y)  # a few points on/inside the margin, not all
    margins = y * np.asarray(svm.decision(p, x))
    assert margins[~sv].min() > margins[sv].max()
    assert float(svm.margin_width(p)) > 0


def test_jit_matches_eager():
    x, y = _toy()
    x, y = x.astype(np.float32), y.astype(np.float32)
    p = {"W": jnp.array([[0.2, -0.1]]), "b": jnp.array([0.05])}
    ap = lambda p, x: svm.apply(p, x, config=cfg())  # noqa: E731
    np.testing.assert_array_equal(jax.jit(ap)(p, x), ap(p, x))
    loss = lambda p, b: svm.loss(p, b, config=cfg(0.1))  # noqa: E731
    np.testing.assert_allclose(jax.jit(loss)(p, (x, y)), loss(p, (x, y)), rtol=1e-6)


def test_bad_inputs():
    x, y = _toy()
    p = svm.init(None, cfg())
    with pytest.raises(JaxnnError, match=r"-1 or 1; got \[0\.0, "):
        svm.loss(p, (x, np.where(y < 0, 0.0, y)), config=cfg())
    with pytest.raises(JaxnnError, match=r"SVMConfig\.lam .*got -0\.1"):
        cfg(-0.1)
    with pytest.raises(JaxnnError, match=r"SVMConfig\.n_in .*got 2\.0"):
        svm.SVMConfig(2.0)
    with pytest.raises(JaxnnError, match=r"\(\*, 2\); got \(40, 3\)"):
        svm.apply(p, np.ones((40, 3)), config=cfg())
    with pytest.raises(JaxnnError, match=r"\(1, 3\)"):
        svm.apply(p, np.ones((40, 2)), config=svm.SVMConfig(3))
    x_nan = x.copy()
    x_nan[0, 0] = np.nan
    with pytest.raises(JaxnnError, match="non-finite"):
        svm.loss(p, (x_nan, y), config=cfg())
