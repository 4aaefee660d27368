"""LeNet-5 (LeCun et al. 1998; Qiu Xipeng, 《神经网络与深度学习》 (2015), LeNet-5 slides)."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn.check as check
from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models import lenet

# The published per-layer numbers (paper section II.B; the slides print 122,304 for S2).
GOLDEN = {"C1": (156, 122_304), "S2": (12, 5_880), "C3": (1_516, 151_600),
          "S4": (32, 2_000), "C5": (48_120, 48_120), "F6": (10_164, 10_164)}


@pytest.fixture(scope="module")
def params():
    return lenet.init(jax.random.key(0), lenet.LENET5)


def test_golden_parameter_and_connection_counts(params, capsys):
    rows = {r.name: r for r in lenet.layer_counts(params, config=lenet.LENET5)}
    for name, (n_params, conns) in GOLDEN.items():
        assert (rows[name].params, rows[name].connections) == (n_params, conns), name
    # the trainable parameters the counts claim are the ones init actually creates
    for name in GOLDEN:
        W = params[name].get("W")
        leaves = sum(int(np.count_nonzero(np.asarray(W))) if k == "W" else np.size(v)
                     for k, v in params[name].items())
        assert leaves == rows[name].params, name
    assert rows["output"].params == 840 and not rows["output"].trainable
    text = lenet.summary(params, config=lenet.LENET5)
    assert "5,880" in text and "60,000" in capsys.readouterr().out


def test_shapes_of_every_layer(params):
    x = jnp.zeros((2, 32, 32))
    f = jax.jit(functools.partial(lenet.features, config=lenet.LENET5))(params, x)
    want = {"C1": (2, 6, 28, 28), "S2": (2, 6, 14, 14), "C3": (2, 16, 10, 10),
            "S4": (2, 16, 5, 5), "C5": (2, 120), "F6": (2, 84)}
    for name, shape in want.items():
        assert f[name]["z"].shape == f[name]["a"].shape == shape
    assert lenet.apply(params, x[:, None], config=lenet.LENET5).shape == (2, 10)


def test_scaled_tanh_maps_one_to_one():
    act = lenet.activation(lenet.LENET5)
    np.testing.assert_allclose(float(act.fn(jnp.asarray(1.0))), 1.0, atol=2e-4)
    np.testing.assert_allclose(float(act.fn(jnp.asarray(1e3))), 1.7159, rtol=1e-6)
    # the closed-form f′ against jax.grad and central differences, at 0.3 and four more points
    check.assert_gradient(act.prime, act.fn, 0.3, n_random=4, rtol=1e-6, atol=0)


def test_rbf_codes_are_distinct_pm1_bitmaps():
    c = lenet.rbf_codes()
    assert c.shape == (10, 84) and set(np.unique(c)) == {-1.0, 1.0}
    d = ((c[:, None] - c[None]) ** 2).sum(-1)
    assert d[~np.eye(10, dtype=bool)].min() >= 4 * 8   # every pair differs in ≥ 8 pixels


def test_rbf_score_is_minus_squared_distance(params):
    # an F6 output exactly equal to code 3 has penalty 0 for class 3, ≥ 32 for every other
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((2, 32, 32)), jnp.float32)
    f = jax.jit(functools.partial(lenet.features, config=lenet.LENET5))(params, x)
    a6, s = np.asarray(f["F6"]["a"]), np.asarray(f["output"]["z"])
    want = -((a6[:, None] - lenet.rbf_codes()[None]) ** 2).sum(-1)
    np.testing.assert_allclose(s, want, rtol=1e-5)


@pytest.mark.parametrize("config", [lenet.LENET5, lenet.MODERN], ids=["paper", "modern"])
def test_jit_equals_no_jit_and_loss_is_finite(config):
    p = lenet.init(jax.random.key(1), config)
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((3, 32, 32)), jnp.float32)
    y = jnp.asarray([0, 4, 9])
    ap = functools.partial(lenet.apply, config=config)
    np.testing.assert_allclose(np.asarray(jax.jit(ap)(p, x)), np.asarray(ap(p, x)),
                               rtol=1e-5, atol=1e-5)
    ls = functools.partial(lenet.loss, config=config)
    l_jit, l_eager = float(jax.jit(ls)(p, (x, y))), float(ls(p, (x, y)))
    assert np.isfinite(l_jit) and abs(l_jit - l_eager) <= 1e-5 * abs(l_eager)


def test_rbf_loss_is_paper_map_criterion(params):
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.standard_normal((4, 32, 32)), jnp.float32)
    y = np.array([1, 2, 3, 4])
    pen = -np.asarray(jax.jit(functools.partial(lenet.apply, config=lenet.LENET5))(params, x),
                      np.float64)          # y_i ≥ 0
    j = lenet.LENET5.map_j
    want = np.mean(pen[np.arange(4), y] + np.log(np.exp(-j) + np.exp(-pen).sum(1)))
    np.testing.assert_allclose(float(jax.jit(functools.partial(lenet.loss, config=lenet.LENET5))(
        params, (x, jnp.asarray(y)))), want,
                               rtol=1e-5)


def test_table_keeps_unconnected_filters_zero_under_training(params):
    rng = np.random.default_rng(3)
    batch = (jnp.asarray(rng.standard_normal((2, 32, 32)), jnp.float32), jnp.asarray([3, 7]))
    g = jax.jit(jax.grad(functools.partial(lenet.loss, config=lenet.LENET5)))(params, batch)
    off = ~lenet.c3_table(lenet.LENET5).T
    assert np.all(np.asarray(g["C3"]["W"])[off] == 0)
    assert np.all(np.asarray(g["output"]["centres"]) == 0)      # the RBF centres are fixed


def test_bad_input():
    p = lenet.init(jax.random.key(0), lenet.LENET5)
    with pytest.raises(ShapeError, match=r"32×32.*\(2, 28, 28\)"):
        lenet.apply(p, jnp.zeros((2, 28, 28)), config=lenet.LENET5)
    with pytest.raises(JaxnnError, match="pooling.*'median'"):
        lenet.init(jax.random.key(0), lenet.LeNetConfig(pooling="median"))
    with pytest.raises(JaxnnError, match="table.*'sparse'"):
        lenet.init(jax.random.key(0), lenet.LeNetConfig(table="sparse"))
    with pytest.raises(JaxnnError, match="num_classes=7"):
        lenet.LeNetConfig(num_classes=7)
    with pytest.raises(JaxnnError, match="scale.*-1"):
        lenet.LeNetConfig(scale=-1.0)


def test_config_is_frozen_hashable_and_not_a_pytree():
    c = dataclasses.replace(lenet.LENET5, conv_method="xla")
    assert c != lenet.LENET5 and c.conv_method == "xla"
    assert hash(c) == hash(lenet.LeNetConfig(conv_method="xla"))
    assert jax.tree.leaves(c) == [c]                      # one static leaf, never flattened
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.output = "softmax"
    assert lenet.LeNetConfig(dtype=jnp.float64).dtype == "float64"

