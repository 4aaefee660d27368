"""Hand backpropagation (Qiu eq 132–141) equals jax.grad of mlp.loss and central
differences, in float64, through :mod:`jaxnn.check`."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn.check as check
from jaxnn.derivations.backprop import backprop
from jaxnn.errors import JaxnnError
from jaxnn.models import mlp

RTOL = 1e-10
FD_EPS = 1e-5
B, N0, NL = 7, 5, 3


def _sizes(depth, width=6):
    return (N0,) + (width,) * depth + (NL,)


def _problem(key, depth, loss, width=6, init="glorot"):
    """An MLP with ``depth`` hidden layers, inputs, and targets fitting ``loss``."""
    kp, kx, ky, kb = jax.random.split(key, 4)
    params = mlp.init(kp, mlp.MLPConfig(_sizes(depth, width), init=init, dtype=jnp.float64))
    # non-zero biases so the bias paths are exercised
    params = {name: dict(p, b=p["b"] + 0.1 * jax.random.normal(jax.random.fold_in(kb, i),
                                                                 p["b"].shape, p["b"].dtype))
              for i, (name, p) in enumerate(params.items())}
    x = jax.random.normal(kx, (B, N0), jnp.float64)
    if loss == "cross_entropy":
        y = jax.random.randint(ky, (B,), 0, NL)
    elif loss == "bce":
        y = jax.random.bernoulli(ky, 0.5, (B, NL)).astype(jnp.float64)
    else:
        y = jax.random.uniform(ky, (B, NL), jnp.float64)
    return params, x, y


def _config(params, **kw):
    """The MLPConfig whose sizes fit ``params``; ``kw`` are the other fields."""
    ws = [params[mlp.layer_name(l)]["W"] for l in range(1, len(params) + 1)]
    return mlp.MLPConfig((ws[0].shape[1],) + tuple(W.shape[0] for W in ws), **kw)


def _check(params, x, y, fd=True, **kw):
    """backprop vs jax.grad (rtol 1e-10, atol 1e-13) and jax.grad vs central differences along
    every coordinate (``fd=False`` at ReLU's kink)."""
    config = _config(params, **kw)
    check.assert_gradient(lambda params, batch: backprop(params, *batch, config=config),
                          functools.partial(mlp.loss, config=config), params, (x, y),
                          rtol=RTOL, atol=1e-13, fd=fd)


@pytest.mark.parametrize("depth, activation", [
    (1, "sigmoid"), (2, "tanh"), (3, "relu"), (4, "softplus"), (4, "sigmoid"), (2, "relu")])
def test_cross_entropy_softmax(depth, activation, x64, key):
    params, x, y = _problem(jax.random.fold_in(key, depth), depth, "cross_entropy")
    if activation == "relu":
        # keep every pre-activation away from the kink at 0
        zs, _ = mlp.forward(params, x, config=_config(params, activation="relu"))
        assert min(float(jnp.min(jnp.abs(z))) for z in zs[:-1]) > 1e-6
    _check(params, x, y, fd=activation != "relu", activation=activation, output="softmax",
           loss="cross_entropy")


@pytest.mark.parametrize("depth, l2", [(1, 0.0), (3, 0.3)])
def test_bce_sigmoid(depth, l2, x64, key):
    params, x, y = _problem(key, depth, "bce")
    _check(params, x, y, activation="tanh", output="sigmoid", loss="bce", l2=l2)


@pytest.mark.parametrize("output, l2", [
    ("identity", 0.0), ("sigmoid", 0.05), ("softmax", 0.05), ("tanh", 0.0)])
def test_squared_error(output, l2, x64, key):
    params, x, y = _problem(key, 2, "squared")
    _check(params, x, y, activation="sigmoid", output=output, loss="squared", l2=l2)


def test_per_layer_activations_and_one_hot_labels(x64, key):
    params, x, y = _problem(key, 3, "cross_entropy")
    onehot = jax.nn.one_hot(y, NL, dtype=jnp.float64)
    _check(params, x, onehot, activation=("tanh", "softplus", "sigmoid"), output="identity",
           loss="cross_entropy", l2=0.01)


def test_matches_finite_differences(x64, key):
    """Central differences on every weight and bias, tight: backprop within 1e-10 of
    jax.grad and jax.grad within 5e-8 (+5e-11) of the differences keep backprop within
    1e-7 (+1e-10) of them."""
    params, x, y = _problem(key, 2, "cross_entropy")
    config = _config(params, activation="tanh", output="softmax", loss="cross_entropy", l2=0.1)
    report = check.assert_gradient(lambda params, batch: backprop(params, *batch, config=config),
                                   functools.partial(mlp.loss, config=config), params, (x, y),
                                   rtol=RTOL, atol=1e-13, fd_rtol=5e-8, fd_atol=5e-11,
                                   fd_eps=FD_EPS)
    assert {r.fd_method for r in report.leaves} == {"coords"}


def test_single_sample_is_outer_product(x64, key):
    """For B = 1, ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ is rank one (eq 136)."""
    params, x, y = _problem(key, 2, "squared")
    config = _config(params, activation="sigmoid", output="identity", loss="squared")
    g = backprop(params, x[:1], y[:1], config=config)
    s = np.linalg.svd(np.asarray(g["layer2"]["W"]), compute_uv=False)
    assert s[1] < 1e-12 * s[0]
    np.testing.assert_allclose(g["layer1"]["W"], np.outer(g["layer1"]["b"], x[0]), rtol=1e-12)


def test_bad_arguments(x64, key):
    params, x, y = _problem(key, 1, "cross_entropy")
    with pytest.raises(JaxnnError, match="hinge"):
        backprop(params, x, y, config=_config(params, activation="tanh", loss="hinge"))
    with pytest.raises(JaxnnError, match="'sigmoid'"):
        backprop(params, x, y, config=_config(params, activation="tanh", output="sigmoid",
                                              loss="cross_entropy"))
    with pytest.raises(JaxnnError, match="-1"):
        backprop(params, x, y, config=_config(params, activation="tanh", l2=-1.0))
