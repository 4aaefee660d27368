"""Hand backpropagation (Qiu eq 132–141) equals jax.grad of mlp.loss, in float64."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.derivations.backprop import backprop
from jaxnn.errors import JaxnnError
from jaxnn.models import mlp

RTOL = 1e-10
B, N0, NL = 7, 5, 3


def _problem(key, depth, loss, width=6, init="glorot"):
    """An MLP with ``depth`` hidden layers, inputs, and targets fitting ``loss``."""
    kp, kx, ky, kb = jax.random.split(key, 4)
    sizes = (N0,) + (width,) * depth + (NL,)
    params = mlp.init(kp, sizes, init=init, dtype=jnp.float64)
    # non-zero biases so the bias paths are exercised
    params = {k: (v + 0.1 * jax.random.normal(jax.random.fold_in(kb, i), v.shape, v.dtype)
                  if k.startswith("b") else v) for i, (k, v) in enumerate(params.items())}
    x = jax.random.normal(kx, (B, N0), jnp.float64)
    if loss == "cross_entropy":
        y = jax.random.randint(ky, (B,), 0, NL)
    elif loss == "bce":
        y = jax.random.bernoulli(ky, 0.5, (B, NL)).astype(jnp.float64)
    else:
        y = jax.random.uniform(ky, (B, NL), jnp.float64)
    return params, x, y


def _check(params, x, y, **kw):
    auto = jax.grad(mlp.loss)(params, (x, y), **kw)
    hand = backprop(params, x, y, **kw)
    assert jax.tree.structure(hand) == jax.tree.structure(auto)
    chex.assert_trees_all_close(hand, auto, rtol=RTOL, atol=1e-13)


@pytest.mark.parametrize("depth, activation", [
    (1, "sigmoid"), (2, "tanh"), (3, "relu"), (4, "softplus"), (4, "sigmoid"), (2, "relu")])
def test_cross_entropy_softmax(depth, activation, x64, key):
    params, x, y = _problem(jax.random.fold_in(key, depth), depth, "cross_entropy")
    if activation == "relu":
        # keep every pre-activation away from the kink at 0
        zs, _ = mlp.forward(params, x, activations="relu")
        assert min(float(jnp.min(jnp.abs(z))) for z in zs[:-1]) > 1e-6
    _check(params, x, y, activations=activation, output="softmax", loss="cross_entropy")


@pytest.mark.parametrize("depth, l2", [(1, 0.0), (3, 0.3)])
def test_bce_sigmoid(depth, l2, x64, key):
    params, x, y = _problem(key, depth, "bce")
    _check(params, x, y, activations="tanh", output="sigmoid", loss="bce", l2=l2)


@pytest.mark.parametrize("output, l2", [
    ("identity", 0.0), ("sigmoid", 0.05), ("softmax", 0.05), ("tanh", 0.0)])
def test_squared_error(output, l2, x64, key):
    params, x, y = _problem(key, 2, "squared")
    _check(params, x, y, activations="sigmoid", output=output, loss="squared", l2=l2)


def test_per_layer_activations_and_one_hot_labels(x64, key):
    params, x, y = _problem(key, 3, "cross_entropy")
    onehot = jax.nn.one_hot(y, NL, dtype=jnp.float64)
    _check(params, x, onehot, activations=("tanh", "softplus", "sigmoid"), output="identity",
           loss="cross_entropy", l2=0.01)


def test_matches_finite_differences(x64, key):
    """Independent of autodiff: central differences on a few weights."""
    params, x, y = _problem(key, 2, "cross_entropy")
    kw = dict(activations="tanh", output="softmax", loss="cross_entropy", l2=0.1)
    g = backprop(params, x, y, **kw)
    h = 1e-6
    for name, idx in [("W1", (0, 0)), ("W2", (3, 1)), ("b3", (2,)), ("W3", (1, 4))]:
        plus = dict(params, **{name: params[name].at[idx].add(h)})
        minus = dict(params, **{name: params[name].at[idx].add(-h)})
        fd = (mlp.loss(plus, (x, y), **kw) - mlp.loss(minus, (x, y), **kw)) / (2 * h)
        np.testing.assert_allclose(g[name][idx], fd, rtol=1e-7, atol=1e-10)


def test_single_sample_is_outer_product(x64, key):
    """For B = 1, ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ is rank one (eq 136)."""
    params, x, y = _problem(key, 2, "squared")
    g = backprop(params, x[:1], y[:1], activations="sigmoid", output="identity", loss="squared")
    s = np.linalg.svd(np.asarray(g["W2"]), compute_uv=False)
    assert s[1] < 1e-12 * s[0]
    np.testing.assert_allclose(g["W1"], np.outer(g["b1"], x[0]), rtol=1e-12)


def test_bad_arguments(x64, key):
    params, x, y = _problem(key, 1, "cross_entropy")
    with pytest.raises(JaxnnError, match="hinge"):
        backprop(params, x, y, activations="tanh", loss="hinge")
    with pytest.raises(JaxnnError, match="'sigmoid'"):
        backprop(params, x, y, activations="tanh", output="sigmoid", loss="cross_entropy")
    with pytest.raises(JaxnnError, match="-1"):
        backprop(params, x, y, activations="tanh", l2=-1.0)
