"""The MLP of Qiu eq 121–125: shapes, the forward equations, losses, jit, dropout, errors."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError
from jaxnn.models import mlp

SIZES = (4, 6, 5, 3)


def cfg(**kw):
    return mlp.MLPConfig(kw.pop("sizes", SIZES), **kw)


@pytest.fixture
def setup(key):
    kp, kx, ky = jax.random.split(key, 3)
    params = mlp.init(kp, cfg())
    x = jax.random.normal(kx, (8, 4))
    y = jax.random.randint(ky, (8,), 0, 3)
    return params, x, y


def test_init_shapes_follow_notes_orientation(key):
    config = mlp.MLPConfig((7, 9, 2), init="he")
    params = mlp.init(key, config)
    assert jax.tree.map(jnp.shape, params) == {
        "layer1": {"W": (9, 7), "b": (9,)}, "layer2": {"W": (2, 9), "b": (2,)}}
    assert not np.any(np.asarray(params["layer1"]["b"]))
    assert config.num_layers == 2


def test_config_is_frozen_hashable_and_not_a_pytree():
    c = cfg(activation=["tanh", "sigmoid"])
    assert c.activation == ("tanh", "sigmoid")            # lists become tuples
    assert hash(c) == hash(cfg(activation=("tanh", "sigmoid")))
    assert jax.tree.leaves(c) == [c]                      # one static leaf, never flattened
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.l2 = 1.0
    assert dataclasses.replace(c, l2=0.5).l2 == 0.5
    assert mlp.MLPConfig((2, 3), dtype=jnp.float64).dtype == "float64"


def test_forward_is_eq_121_122_in_numpy(setup):
    params, x, _ = setup
    p = jax.tree.map(lambda v: np.asarray(v, np.float64), params)
    a = np.asarray(x, np.float64)
    expected_z, expected_a = [], [a]
    for l, g in [(1, np.tanh), (2, lambda z: 1 / (1 + np.exp(-z))), (3, lambda z: z)]:
        W, b = p[f"layer{l}"]["W"], p[f"layer{l}"]["b"]
        z = np.stack([W @ row + b for row in a])  # one sample at a time
        a = g(z)
        expected_z.append(z)
        expected_a.append(a)
    zs, as_ = mlp.forward(params, x, config=cfg(activation=("tanh", "sigmoid"),
                                                  output="identity"))
    assert len(zs) == 3 and len(as_) == 4
    for got, want in zip(zs + as_, expected_z + expected_a):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_softmax_output_rows_sum_to_one(setup):
    params, x, _ = setup
    p = mlp.apply(params, x, config=cfg(activation="relu", output="softmax"))
    np.testing.assert_allclose(np.sum(p, axis=1), 1.0, rtol=1e-6)
    logits = mlp.apply(params, x, config=cfg(activation="relu"))
    np.testing.assert_allclose(p, jax.nn.softmax(logits), rtol=1e-6)


def test_loss_values_match_numpy(setup):
    params, x, y = setup
    logits = np.asarray(mlp.apply(params, x, config=cfg(activation="tanh")), np.float64)
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    ce = -np.mean(logp[np.arange(8), np.asarray(y)])
    wsq = sum(float(np.sum(np.asarray(p["W"], np.float64) ** 2)) for p in params.values())
    got = mlp.loss(params, (x, y), config=cfg(activation="tanh", output="softmax", l2=0.1))
    np.testing.assert_allclose(got, ce + 0.05 * wsq, rtol=1e-5)
    # the model's own mask: every layer's W, no b, with the structure of the params
    assert mlp.penalty_mask(cfg()) == jax.tree.map(lambda a: a.ndim == 2, params)

    t = np.asarray(jax.nn.one_hot(y, 3))
    sq = 0.5 * np.sum((logits - t) ** 2) / 8
    np.testing.assert_allclose(mlp.loss(params, (x, t), config=cfg(activation="tanh",
                                                                   loss="squared")),
                               sq, rtol=1e-5)
    pr = 1 / (1 + np.exp(-logits))
    bce = -np.sum(t * np.log(pr) + (1 - t) * np.log(1 - pr)) / 8
    np.testing.assert_allclose(mlp.loss(params, (x, t), config=cfg(
        activation="tanh", output="sigmoid", loss="bce")), bce, rtol=1e-5)


def test_jit_equals_no_jit(setup, key):
    params, x, y = setup
    kw = dict(activation="sigmoid", output="softmax")
    ap = functools.partial(mlp.apply, config=cfg(**kw))
    np.testing.assert_allclose(jax.jit(ap)(params, x), ap(params, x), rtol=1e-6)
    ls = functools.partial(mlp.loss, config=cfg(**kw, l2=0.01))
    np.testing.assert_allclose(jax.jit(ls)(params, (x, y)), ls(params, (x, y)), rtol=1e-6)
    # the config as a jit static argument
    lj = jax.jit(mlp.loss, static_argnames="config")
    np.testing.assert_allclose(lj(params, (x, y), config=cfg(**kw, l2=0.01)), ls(params, (x, y)),
                               rtol=1e-6)
    dr = functools.partial(mlp.apply, config=cfg(activation="relu", dropout=0.5), train=True)
    np.testing.assert_allclose(jax.jit(dr)(params, x, key=key), dr(params, x, key=key), rtol=1e-6)


def test_dropout_only_in_training(setup, key):
    params, x, y = setup
    clean = mlp.apply(params, x, config=cfg(activation="relu"))
    drop = cfg(activation="relu", dropout=0.5)
    np.testing.assert_array_equal(mlp.apply(params, x, config=drop, key=key), clean)
    noisy = mlp.apply(params, x, config=drop, train=True, key=key)
    assert not np.allclose(noisy, clean)
    _, as_ = mlp.forward(params, x, config=drop, train=True, key=key)
    zero_frac = np.mean(np.asarray(as_[1]) == 0)
    assert 0.3 < zero_frac < 0.95
    with pytest.raises(JaxnnError, match="key"):
        mlp.apply(params, x, config=drop, train=True)
    # loss: a key means training (dropout on), no key means evaluation (dropout off)
    np.testing.assert_array_equal(mlp.loss(params, (x, y), config=drop),
                                  mlp.loss(params, (x, y), config=cfg(activation="relu")))
    assert mlp.loss(params, (x, y), config=drop, key=key) != mlp.loss(params, (x, y), config=drop)


def test_one_hidden_and_no_hidden_layer(key):
    x = jnp.ones((2, 3))
    c0 = mlp.MLPConfig((3, 2), activation=())  # softmax regression: no hidden layer
    p0 = mlp.init(key, c0)
    assert mlp.apply(p0, x, config=c0).shape == (2, 2)
    c1 = mlp.MLPConfig((3, 7, 2), activation=["softplus"])
    p1 = mlp.init(key, c1)
    assert mlp.apply(p1, x, config=c1).shape == (2, 2)


@pytest.mark.parametrize("call, match", [
    (lambda p, x, y: mlp.init(jax.random.key(0), cfg(sizes=(4, 0, 3))), "0"),
    (lambda p, x, y: cfg(sizes=(8, 2.5, 3)), r"sizes.*2\.5"),
    (lambda p, x, y: cfg(sizes=(8,)), "sizes"),
    (lambda p, x, y: mlp.apply(p, x[:, :3], config=cfg(activation="tanh")), r"\(8, 3\)"),
    (lambda p, x, y: mlp.apply(p, x, config=cfg(sizes=(4, 6, 3))), "layer"),
    (lambda p, x, y: mlp.loss(p, (x, y[:5]), config=cfg(activation="tanh")), r"\(5,\)"),
    (lambda p, x, y: cfg(activation="swish"), "swish"),
    (lambda p, x, y: cfg(activation=("tanh",)), "2"),
    (lambda p, x, y: cfg(activation="tanh", output="cube"), "cube"),
    (lambda p, x, y: cfg(activation="tanh", loss="hinge"), "hinge"),
    (lambda p, x, y: mlp.loss(p, (x, y), config=cfg(activation="tanh", loss="bce")), r"\(8,\)"),
    (lambda p, x, y: cfg(activation="tanh", l2=-0.5), r"l2.*-0\.5"),
    (lambda p, x, y: cfg(dropout=1.0), r"dropout.*1\.0"),
    (lambda p, x, y: cfg(dtype=jnp.int32), "dtype"),
    (lambda p, x, y: mlp.loss(p, (x, y + 3), config=cfg(activation="tanh")), "out of range"),
    (lambda p, x, y: cfg(sizes=(4, 3), init="lecun"), "lecun"),
])
def test_bad_input_raises(setup, call, match):
    params, x, y = setup
    with pytest.raises(JaxnnError, match=match):
        call(params, x, y)
