"""Shared-covariance Gaussian classes: the linear-softmax posterior equals Bayes' rule."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models import generative, linear


def _cfg(x, num_classes, **kw):
    return generative.GenerativeConfig(np.shape(x)[1], num_classes, **kw)


def _blobs(n=60, d=3, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    means = rng.normal(scale=2.0, size=(c, d))
    a = rng.normal(size=(d, d))
    x = means[y] + rng.normal(size=(n, d)) @ a.T
    return x, y


def test_fit_is_the_ml_estimate(x64):
    x, y = _blobs()
    p = generative.fit(x, y, config=_cfg(x, 3))
    for k in range(3):
        np.testing.assert_allclose(p["u"][k], x[y == k].mean(0), rtol=1e-12)
    centred = x - np.asarray(p["u"])[y]
    np.testing.assert_allclose(p["Sigma"], centred.T @ centred / len(x), rtol=1e-12)
    np.testing.assert_allclose(p["prior"], np.bincount(y) / len(y), rtol=1e-12)
    # the ML estimate is a stationary point of the mean negative log-likelihood in u and Σ
    g = jax.grad(generative.loss)(p, (x, y), config=_cfg(x, 3))
    assert float(jnp.max(jnp.abs(g["u"]))) < 1e-10
    assert float(jnp.max(jnp.abs(g["Sigma"]))) < 1e-10


@pytest.mark.parametrize("data", ["blobs", "iris"])
def test_linear_softmax_form_equals_bayes_rule(x64, data):
    x, y = _blobs() if data == "blobs" else load_iris(return_X_y=True)
    p = generative.fit(x, y, config=_cfg(x, int(y.max()) + 1))
    c = _cfg(x, int(y.max()) + 1)
    post_linear = generative.apply(p, x, config=c)
    post_bayes = generative.bayes_posterior(p, x)
    np.testing.assert_allclose(post_linear, post_bayes, rtol=0, atol=1e-10)
    # Bayes' rule once more, from scipy-free plain numpy densities p(x|C_k) p(C_k)
    u, s, pri = (np.asarray(p[k]) for k in ("u", "Sigma", "prior"))
    inv, det = np.linalg.inv(s), np.linalg.det(s)
    diff = x[:, None, :] - u[None]
    maha = np.einsum("nci,ij,ncj->nc", diff, inv, diff)
    dens = np.exp(-0.5 * maha) / np.sqrt((2 * np.pi) ** x.shape[1] * det)
    joint = dens * pri
    np.testing.assert_allclose(post_linear, joint / joint.sum(1, keepdims=True), rtol=0, atol=1e-10)


def test_to_linear_weights_are_the_textbook_formulas(x64):
    x, y = _blobs()
    p = generative.fit(x, y, config=_cfg(x, 3))
    lin = generative.to_linear(p)
    inv = np.linalg.inv(np.asarray(p["Sigma"]))
    for k in range(3):
        uk = np.asarray(p["u"][k])
        np.testing.assert_allclose(lin["W"][k], inv @ uk, rtol=1e-10)
        np.testing.assert_allclose(lin["b"][k], -0.5 * uk @ inv @ uk + np.log(p["prior"][k]), rtol=1e-10)


def test_matches_scikit_learn_lda(x64):
    x, y = load_iris(return_X_y=True)
    p = generative.fit(x, y, config=_cfg(x, 3))
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(x, y)
    np.testing.assert_allclose(generative.apply(p, x, config=_cfg(x, 3)), lda.predict_proba(x),
                               atol=1e-8)


def test_jit_matches_eager():
    x, y = _blobs()
    x = x.astype(np.float32)
    p = generative.fit(x, y, config=_cfg(x, 3))
    c = _cfg(x, 3)
    ap = functools.partial(generative.apply, config=c)
    ls = functools.partial(generative.loss, config=c)
    np.testing.assert_allclose(jax.jit(ap)(p, x), ap(p, x), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(jax.jit(ls)(p, (x, y)), ls(p, (x, y)), rtol=1e-6)
    lin = generative.to_linear(p)
    lap = functools.partial(linear.apply, config=c.softmax_config)
    np.testing.assert_allclose(jax.jit(lap)(lin, x), ap(p, x), rtol=1e-5, atol=1e-7)
    # init: a neutral start, every posterior uniform
    np.testing.assert_allclose(ap(generative.init(None, c), x), 1.0 / 3, rtol=1e-6)


def test_bad_inputs():
    x, y = _blobs()
    with pytest.raises(JaxnnError, match=r"classes \[3\] have none"):
        generative.fit(x, y, config=_cfg(x, 4))
    with pytest.raises(JaxnnError, match=r"\[0, 2\); got \[2, "):
        generative.fit(x, y, config=_cfg(x, 2))
    x_const = np.concatenate([x, np.ones((len(x), 1))], 1)
    with pytest.raises(JaxnnError, match=r"singular: rank 3 < d = 4, condition number"):
        generative.fit(x_const, y, config=_cfg(x_const, 3))
    generative.fit(x_const, y, config=_cfg(x_const, 3, ridge=1e-3))  # the way out the message names
    x_inf = x.copy()
    x_inf[0, 0] = np.inf
    with pytest.raises(JaxnnError, match="non-finite"):
        generative.fit(x_inf, y, config=_cfg(x_inf, 3))
    p = generative.fit(x, y, config=_cfg(x, 3))
    with pytest.raises(ShapeError, match=r"\(\*, 3\); got \(60, 2\)"):
        generative.apply(p, x[:, :2], config=_cfg(x, 3))
    with pytest.raises(ShapeError, match="batch sizes differ"):
        generative.loss(p, (x, y[:5]), config=_cfg(x, 3))
    with pytest.raises(JaxnnError, match=r"\(4, 3\)"):
        generative.apply(p, x, config=_cfg(x, 4))
    with pytest.raises(ShapeError, match=r"\(\*, 4\)"):
        generative.fit(x, y, config=generative.GenerativeConfig(4, 3))
    with pytest.raises(JaxnnError, match=r"num_classes .*got 1"):
        _cfg(x, 1)
    with pytest.raises(JaxnnError, match=r"ridge .*got -1"):
        _cfg(x, 3, ridge=-1)
