"""Linear, logistic and softmax regression: closed forms vs autodiff, least squares, errors."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxnn.check as check
from jaxnn.derivations import linear as dl
from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models import linear
from jaxnn.train import gradient_descent


def _data(n=23, d=4, c=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    w = rng.normal(size=(d,))
    y_reg = x @ w + 0.5 + 0.1 * rng.normal(size=n)
    y_bin = (x @ w + 0.3 * rng.normal(size=n) > 0).astype(np.float64)
    y_cls = rng.integers(0, c, size=n)
    return x, y_reg, y_bin, y_cls


REG, LOGISTIC, SOFTMAX = (linear.LinearConfig(4), linear.LinearConfig(4, kind="logistic"),
                          linear.LinearConfig(4, 3, kind="softmax"))


def _reg(reduction):
    return linear.LinearConfig(4, reduction=reduction)


def _random_params(d, n_out, seed=1):
    rng = np.random.default_rng(seed)
    return {"W": jnp.asarray(rng.normal(size=(n_out, d))), "b": jnp.asarray(rng.normal(size=(n_out,)))}


# --------------------------------------------------------------------------- closed-form gradients


@pytest.mark.parametrize("reduction", ["mean", "sum", "half_sum"])
def test_grad_linear_regression_matches_autodiff(x64, reduction):
    x, y, _, _ = _data()
    p = _random_params(4, 1)
    config = _reg(reduction)
    check.assert_gradient(functools.partial(dl.grad_linear_regression, config=config),
                          functools.partial(linear.loss, config=config), p, (x, y),
                          rtol=1e-10, atol=0)


def test_eq78_factor_two(x64):
    """Qiu eq 78 writes ∂‖Xᵀw − y‖²/∂w = X(Xᵀw − y); autodiff gives twice that."""
    x, y, _, _ = _data()
    p = _random_params(4, 1)
    X = np.asarray(linear.design_matrix(x))
    w_hat = np.concatenate([np.asarray(p["b"]), np.asarray(p["W"][0])])
    eq78 = X @ (X.T @ w_hat - y)
    check.assert_gradient(lambda params, batch: {"W": 2 * eq78[None, 1:], "b": 2 * eq78[:1]},
                          functools.partial(linear.loss, config=_reg("sum")), p, (x, y),
                          rtol=1e-10, atol=0)


def test_grad_logistic_matches_autodiff_and_finite_differences(x64):
    x, _, y, _ = _data()
    p = _random_params(4, 1)
    # every coordinate: closed within 1e-10 of jax.grad, jax.grad within 5e-8 (+5e-11) of the
    # differences, so closed within 1e-7 (+1e-10) of them
    report = check.assert_gradient(functools.partial(dl.grad_logistic, config=LOGISTIC),
                                   functools.partial(linear.loss, config=LOGISTIC), p, (x, y),
                                   rtol=1e-10, atol=0, fd_eps=1e-5, fd_rtol=5e-8, fd_atol=5e-11)
    assert {r.fd_method for r in report.leaves} == {"coords"}


def test_grad_softmax_matches_autodiff(x64):
    x, _, _, y = _data()
    p = _random_params(4, 3)
    check.assert_gradient(functools.partial(dl.grad_softmax, config=SOFTMAX),
                          functools.partial(linear.loss, config=SOFTMAX), p, (x, y),
                          rtol=1e-10, atol=0)


def test_softmax_apply_is_eq97(x64):
    x, _, _, _ = _data()
    p = _random_params(4, 3)
    z = np.asarray(x) @ np.asarray(p["W"]).T + np.asarray(p["b"])
    expected = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(linear.apply(p, x, config=SOFTMAX), expected, rtol=1e-12)


# --------------------------------------------------------------------------- least squares


def test_least_squares_is_eq79_and_zeroes_the_gradient(x64):
    x, y, _, _ = _data()
    X = np.concatenate([np.ones((len(x), 1)), x], 1).T  # the notes' X, eq 76
    w_hat = np.linalg.inv(X @ X.T) @ X @ y  # eq 79 literally
    for method in ("normal", "lstsq"):
        p = linear.least_squares(x, y, method=method)
        np.testing.assert_allclose(p["b"], w_hat[:1], rtol=1e-10)
        np.testing.assert_allclose(p["W"][0], w_hat[1:], rtol=1e-10)
        g = jax.grad(linear.loss)(p, (x, y), config=REG)
        assert max(float(jnp.max(jnp.abs(v))) for v in jax.tree.leaves(g)) < 1e-10
    np.testing.assert_array_equal(linear.design_matrix(x), X)


def test_singular_gram_raises_and_lstsq_gives_min_norm(x64):
    x, y, _, _ = _data()
    x_dup = np.concatenate([x, 2 * x[:, :1]], axis=1)  # a dependent column
    with pytest.raises(JaxnnError, match=r"rank 5 < 6.*condition number"):
        linear.least_squares(x_dup, y)
    p = linear.least_squares(x_dup, y, method="lstsq")
    X = np.concatenate([np.ones((len(x), 1)), x_dup], 1)
    w_min = np.linalg.pinv(X) @ y
    np.testing.assert_allclose(np.concatenate([p["b"], p["W"][0]]), w_min, rtol=1e-8)


def test_gradient_descent_reaches_least_squares(x64):
    x, y, _, _ = _data()
    p_ls = linear.least_squares(x, y)
    reg64 = linear.LinearConfig(4, dtype=jnp.float64)
    loss = functools.partial(linear.loss, config=reg64)
    p_gd, losses, _ = gradient_descent(loss, linear.init(None, reg64),
                                              (x, y), steps=400, learning_rate=0.1)
    chex.assert_trees_all_close(p_gd, p_ls, rtol=1e-8, atol=1e-8)
    assert losses.shape == (400,) and np.all(np.diff(np.asarray(losses)) <= 1e-12)
    # eq 81 as printed (w + λ∇R) climbs the risk instead
    ascent = optax.sgd(-0.1)
    _, up, _ = gradient_descent(loss, linear.init(None, reg64),
                                       (x, y), steps=20, optimizer=ascent)
    assert up[-1] > 100 * up[0]


def test_logistic_and_softmax_gd_learn(key):
    x, _, yb, yc = _data(n=60)
    x = x.astype(np.float32)
    p, _, _ = gradient_descent(functools.partial(linear.loss, config=LOGISTIC),
                                      linear.init(key, LOGISTIC), (x, yb), steps=300,
                                      learning_rate=0.5)
    assert np.mean((linear.apply(p, x, config=LOGISTIC) > 0.5) == yb) > 0.9
    yc = np.argmax(x[:, :3], axis=1)  # a linearly separable 3-class rule
    p, losses, _ = gradient_descent(functools.partial(linear.loss, config=SOFTMAX),
                                           linear.init(key, SOFTMAX), (x, yc), steps=300,
                                           learning_rate=1.0)
    assert losses[-1] < 0.5 * losses[0]
    assert np.mean(np.argmax(linear.apply(p, x, config=SOFTMAX), 1) == yc) > 0.9


# --------------------------------------------------------------------------- jit == no-jit


@pytest.mark.parametrize("model,n_out,ycol", [("regression", 1, 1), ("logistic", 1, 2), ("softmax", 3, 3)])
def test_jit_matches_eager(model, n_out, ycol):
    data = _data()
    x, y = data[0].astype(np.float32), data[ycol]
    y = y.astype(np.float32) if ycol < 3 else y.astype(np.int32)
    p = jax.tree.map(lambda a: a.astype(jnp.float32), _random_params(4, n_out))
    config = linear.LinearConfig(4, n_out, kind=model)
    apply = functools.partial(linear.apply, config=config)
    loss = functools.partial(linear.loss, config=config)
    np.testing.assert_allclose(jax.jit(apply)(p, x), apply(p, x), rtol=1e-6)
    np.testing.assert_allclose(jax.jit(loss)(p, (x, y)), loss(p, (x, y)), rtol=1e-6)


# --------------------------------------------------------------------------- bad input


def test_bad_inputs():
    x, y, yb, yc = _data()
    p1, p3 = linear.init(None, REG), linear.init(None, SOFTMAX)
    with pytest.raises(ShapeError, match=r"\(\*, 4\); got \(23, 5\)"):
        linear.apply(p1, np.ones((23, 5)), config=REG)
    with pytest.raises(ShapeError, match="batch sizes differ"):
        linear.loss(p1, (x, y[:-1]), config=REG)
    with pytest.raises(JaxnnError, match=r"\[0, 3\); got \[3, "):
        linear.loss(p3, (x, np.where(yc == 0, 3, yc)), config=SOFTMAX)
    with pytest.raises(JaxnnError, match=r"0 or 1; got \[2\.0, "):
        linear.loss(p1, (x, np.where(yb == 0, 2.0, yb)), config=LOGISTIC)
    x_nan = x.copy()
    x_nan[3, 1] = np.nan
    with pytest.raises(JaxnnError, match="non-finite"):
        linear.apply(p1, x_nan, config=LOGISTIC)
    with pytest.raises(JaxnnError, match="non-finite"):
        linear.least_squares(x_nan, y)
    with pytest.raises(JaxnnError, match="'qr'"):
        linear.least_squares(x, y, method="qr")
    with pytest.raises(ShapeError, match=r"\(1, d\)"):
        linear.apply(p3, x, config=LOGISTIC)
    with pytest.raises(ShapeError, match=r"\(1, 5\)"):
        linear.apply(p1, np.ones((23, 4)), config=linear.LinearConfig(5))
    with pytest.raises(JaxnnError, match="exactly one"):
        gradient_descent(functools.partial(linear.loss, config=REG), p1, (x, y), steps=3)
    with pytest.raises(JaxnnError, match=r"n_out .*got 3"):
        linear.LinearConfig(4, 3, kind="logistic")
    with pytest.raises(JaxnnError, match=r"n_out .*got 1"):
        linear.LinearConfig(4, kind="softmax")
    with pytest.raises(JaxnnError, match=r"kind .*'lasso'"):
        linear.LinearConfig(4, kind="lasso")
    with pytest.raises(JaxnnError, match=r"reduction.*'sum'.*'softmax'"):
        linear.LinearConfig(4, 3, kind="softmax", reduction="sum")
    with pytest.raises(JaxnnError, match=r"n_in .*got 0"):
        linear.LinearConfig(0)
