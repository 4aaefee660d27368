"""Initializers: shapes, bounds, and the variance each formula promises."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError
from jaxnn.nn import init


SHAPE = (300, 500)  # (n_out, n_in): fan_in 500, fan_out 300; 150k samples


@pytest.mark.parametrize("name, fn, var", [
    ("glorot_uniform", init.glorot_uniform, 2.0 / 800),
    ("glorot_normal", init.glorot_normal, 2.0 / 800),
    ("he_normal", init.he_normal, 2.0 / 500),
    ("he_uniform", init.he_uniform, 2.0 / 500),
])
def test_variance_matches_formula(name, fn, var, key):
    w = np.asarray(fn(key, SHAPE))
    assert w.shape == SHAPE and w.dtype == np.float32
    assert abs(w.mean()) < 4 * math.sqrt(var / w.size)
    assert w.var() == pytest.approx(var, rel=0.02), name


def test_uniform_bounds_and_variance(key):
    w = np.asarray(init.uniform(key, SHAPE, 0.05))
    assert w.min() >= -0.05 and w.max() < 0.05
    assert w.var() == pytest.approx(0.05**2 / 3, rel=0.02)


def test_glorot_uniform_limit_uses_both_fans(key):
    w = np.asarray(init.glorot_uniform(key, (10, 2)))
    limit = math.sqrt(6 / 12)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.5 * limit


def test_orientation_fan_in_is_last_axis(key):
    # He scales with fan_in = n_in = shape[-1]: a (4, 10000) matrix has var 2/10000.
    w = np.asarray(init.he_normal(key, (4, 10000)))
    assert w.var() == pytest.approx(2e-4, rel=0.05)


def test_zeros_and_dtype(key):
    z = init.zeros(None, (3, 2), jnp.float16)
    assert z.dtype == jnp.float16 and not np.any(np.asarray(z))
    assert init.glorot_normal(key, (3, 2), jnp.bfloat16).dtype == jnp.bfloat16


def test_get_by_name(key):
    a = init.get("he")(key, (5, 4))
    np.testing.assert_array_equal(a, init.he_normal(key, (5, 4)))
    u = np.asarray(init.get("uniform", scale=0.01)(key, (50, 40)))
    assert np.abs(u).max() <= 0.01


@pytest.mark.parametrize("shape", [(5,), (0, 3), (3, -1)])
def test_bad_shape_raises(shape, key):
    with pytest.raises(JaxnnError, match=str(shape[0]) if len(shape) == 1 else "positive"):
        init.glorot_uniform(key, shape)


def test_bad_scale_and_name(key):
    with pytest.raises(JaxnnError, match="-0.1"):
        init.uniform(key, (2, 2), -0.1)
    with pytest.raises(JaxnnError, match="xavier"):
        init.get("xavier")
