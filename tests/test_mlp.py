"""The MLP of Qiu eq 121–125: shapes, the forward equations, losses, jit, dropout, errors."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError
from jaxnn.models import mlp

SIZES = (4, 6, 5, 3)


@pytest.fixture
def setup(key):
    kp, kx, ky = jax.random.split(key, 3)
    params = mlp.init(kp, SIZES)
    x = jax.random.normal(kx, (8, 4))
    y = jax.random.randint(ky, (8,), 0, 3)
    return params, x, y


def test_init_shapes_follow_notes_orientation(key):
    params = mlp.init(key, (7, 9, 2), init="he")
    assert {k: v.shape for k, v in params.items()} == {
        "W1": (9, 7), "b1": (9,), "W2": (2, 9), "b2": (2,)}
    assert not np.any(np.asarray(params["b1"]))
    assert mlp.num_layers(params) == 2


def test_forward_is_eq_121_122_in_numpy(setup):
    params, x, _ = setup
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    a = np.asarray(x, np.float64)
    expected_z, expected_a = [], [a]
    for l, g in [(1, np.tanh), (2, lambda z: 1 / (1 + np.exp(-z))), (3, lambda z: z)]:
        z = np.stack([p[f"W{l}"] @ row + p[f"b{l}"] for row in a])  # one sample at a time
        a = g(z)
        expected_z.append(z)
        expected_a.append(a)
    zs, as_ = mlp.forward(params, x, activations=("tanh", "sigmoid"), output="identity")
    assert len(zs) == 3 and len(as_) == 4
    for got, want in zip(zs + as_, expected_z + expected_a):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_softmax_output_rows_sum_to_one(setup):
    params, x, _ = setup
    p = mlp.apply(params, x, activations="relu", output="softmax")
    np.testing.assert_allclose(np.sum(p, axis=1), 1.0, rtol=1e-6)
    logits = mlp.apply(params, x, activations="relu")
    np.testing.assert_allclose(p, jax.nn.softmax(logits), rtol=1e-6)


def test_loss_values_match_numpy(setup):
    params, x, y = setup
    logits = np.asarray(mlp.apply(params, x, activations="tanh"), np.float64)
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    ce = -np.mean(logp[np.arange(8), np.asarray(y)])
    wsq = sum(float(np.sum(np.asarray(v, np.float64) ** 2)) for k, v in params.items() if k[0] == "W")
    got = mlp.loss(params, (x, y), activations="tanh", output="softmax", l2=0.1)
    np.testing.assert_allclose(got, ce + 0.05 * wsq, rtol=1e-5)

    t = np.asarray(jax.nn.one_hot(y, 3))
    sq = 0.5 * np.sum((logits - t) ** 2) / 8
    np.testing.assert_allclose(mlp.loss(params, (x, t), activations="tanh", loss="squared"),
                               sq, rtol=1e-5)
    pr = 1 / (1 + np.exp(-logits))
    bce = -np.sum(t * np.log(pr) + (1 - t) * np.log(1 - pr)) / 8
    np.testing.assert_allclose(mlp.loss(params, (x, t), activations="tanh", output="sigmoid",
                                        loss="bce"), bce, rtol=1e-5)


def test_jit_equals_no_jit(setup, key):
    params, x, y = setup
    kw = dict(activations="sigmoid", output="softmax")
    ap = functools.partial(mlp.apply, **kw)
    np.testing.assert_allclose(jax.jit(ap)(params, x), ap(params, x), rtol=1e-6)
    ls = functools.partial(mlp.loss, **kw, l2=0.01)
    np.testing.assert_allclose(jax.jit(ls)(params, (x, y)), ls(params, (x, y)), rtol=1e-6)
    dr = functools.partial(mlp.apply, activations="relu", train=True, dropout_rate=0.5)
    np.testing.assert_allclose(jax.jit(dr)(params, x, key=key), dr(params, x, key=key), rtol=1e-6)


def test_dropout_only_in_training(setup, key):
    params, x, _ = setup
    clean = mlp.apply(params, x, activations="relu")
    np.testing.assert_array_equal(
        mlp.apply(params, x, activations="relu", dropout_rate=0.5, key=key), clean)
    noisy = mlp.apply(params, x, activations="relu", train=True, dropout_rate=0.5, key=key)
    assert not np.allclose(noisy, clean)
    _, as_ = mlp.forward(params, x, activations="relu", train=True, dropout_rate=0.5, key=key)
    zero_frac = np.mean(np.asarray(as_[1]) == 0)
    assert 0.3 < zero_frac < 0.95
    with pytest.raises(JaxnnError, match="key"):
        mlp.apply(params, x, activations="relu", train=True, dropout_rate=0.5)


def test_one_hidden_and_no_hidden_layer(key):
    x = jnp.ones((2, 3))
    p0 = mlp.init(key, (3, 2))  # softmax regression: no hidden layer, activations unused
    assert mlp.apply(p0, x, activations=()).shape == (2, 2)
    p1 = mlp.init(key, (3, 7, 2))
    assert mlp.apply(p1, x, activations=["softplus"]).shape == (2, 2)


@pytest.mark.parametrize("call, match", [
    (lambda p, x, y: mlp.init(jax.random.key(0), (4, 0, 3)), "0"),
    (lambda p, x, y: mlp.apply(p, x[:, :3], activations="tanh"), r"\(8, 3\)"),
    (lambda p, x, y: mlp.loss(p, (x, y[:5]), activations="tanh"), r"\(5,\)"),
    (lambda p, x, y: mlp.apply(p, x, activations="swish"), "swish"),
    (lambda p, x, y: mlp.apply(p, x, activations=("tanh",)), "2"),
    (lambda p, x, y: mlp.apply(p, x, activations="tanh", output="cube"), "cube"),
    (lambda p, x, y: mlp.loss(p, (x, y), activations="tanh", loss="hinge"), "hinge"),
    (lambda p, x, y: mlp.loss(p, (x, y), activations="tanh", loss="bce"), r"\(8,\)"),
    (lambda p, x, y: mlp.loss(p, (x, y), activations="tanh", l2=-0.5), "-0.5"),
    (lambda p, x, y: mlp.loss(p, (x, y + 3), activations="tanh"), "out of range"),
    (lambda p, x, y: mlp.init(jax.random.key(0), (4, 3), init="lecun"), "lecun"),
])
def test_bad_input_raises(setup, call, match):
    params, x, y = setup
    with pytest.raises(JaxnnError, match=match):
        call(params, x, y)
