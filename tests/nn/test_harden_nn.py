"""NaN propagates through every activation (function and closed-form derivative); dropout,
recurrent states and lengths refuse bad input with jaxnn errors."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.nn import activations as act
from jaxnn.nn import recurrent
from jaxnn.nn.layers import dropout

KEY = jax.random.key(0)


@pytest.mark.parametrize("name", act.NAMES)
def test_every_activation_and_its_derivative_propagate_nan(name):
    # relu and binary_step used to map NaN to 0, hiding a poisoned input: the loss stayed
    # finite and training went on; the constant derivatives did the same
    a = act.get(name)
    x = jnp.array([jnp.nan, -1.0, 0.0, 2.0], jnp.float32)
    for f in (a.fn, a.prime):
        out = np.asarray(f(x))
        assert np.isnan(out[0]), (name, f.__name__, out)
        assert np.all(np.isfinite(out[1:])), (name, f.__name__, out)


@pytest.mark.parametrize("name", act.NAMES)
def test_activations_unchanged_on_numbers(name):
    # the NaN guard selects the plain formula's value everywhere else, bit for bit
    reference = {
        "relu": lambda x: jnp.maximum(x, 0.0), "binary_step": lambda x: (x >= 0).astype(x.dtype),
        "identity": lambda x: x, "sign": jnp.sign,
    }
    x = jnp.linspace(-3.0, 3.0, 13, dtype=jnp.float32)
    if name in reference:
        np.testing.assert_array_equal(act.get(name).fn(x), reference[name](x))
    consts = {"relu": (x > 0).astype(x.dtype), "binary_step": jnp.zeros_like(x),
              "sign": jnp.zeros_like(x), "identity": jnp.ones_like(x),
              "leaky_relu": jnp.where(x > 0, 1.0, 0.01).astype(x.dtype)}
    if name in consts:
        np.testing.assert_array_equal(act.get(name).prime(x), consts[name])


def test_relu_gradient_at_zero_stays_zero():
    assert float(jax.grad(lambda v: act.relu(v))(0.0)) == 0.0
    assert float(jax.grad(lambda v: act.relu(v))(2.0)) == 1.0


def test_dropout_refuses_integer_arrays_and_bad_rates():
    # an integer array used to come back with inf entries (x / keep in int arithmetic)
    with pytest.raises(JaxnnError, match="floating"):
        dropout(jnp.arange(4), 0.5, key=KEY, train=True)
    for rate in (float("nan"), -0.1, 1.0, "0.5", True):
        with pytest.raises(JaxnnError, match="dropout rate"):
            dropout(jnp.ones(4), rate, key=KEY, train=True)


def test_cell_step_refuses_a_bare_array_as_lstm_state():
    # tuple(array) used to unpack the rows of a (2, H) array as (h, c)
    p = recurrent.init(KEY, "lstm", 2, 3)
    with pytest.raises(ShapeError, match=r"pair \(h, c\); got a bare array of shape \(2, 3\)"):
        recurrent.cell_step(p, "lstm", jnp.ones((2, 3)), jnp.ones((2, 2)))
    state, h = recurrent.cell_step(p, "lstm", (jnp.ones((2, 3)), jnp.ones((2, 3))),
                                   jnp.ones((2, 2)))
    assert h.shape == (2, 3) and len(state) == 2
    with pytest.raises(ShapeError, match="bare array"):
        recurrent.rnn(p, jnp.ones((2, 4, 2)), cell="lstm", state0=jnp.ones((2, 2, 3)))


def test_lengths_longer_than_t_refused_when_concrete_even_under_jit():
    p = recurrent.init(KEY, "gru", 2, 3)
    x = jnp.ones((2, 4, 2))
    lengths = np.array([5, 2])  # concrete (closed over) inside the jitted function
    f = jax.jit(lambda v: recurrent.rnn(p, v, cell="gru", lengths=lengths)[0])
    with pytest.raises(JaxnnError, match=r"lengths must lie in \[0, 4\]"):
        f(x)
