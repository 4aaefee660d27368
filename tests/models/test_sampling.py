"""Sampling with temperature from a step function (lax.scan), greedy decoding, the NPLM's
step function."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError
from jaxnn.models import nplm, sampling

V = 5


def _cycle(state, token):
    """Next token is (token + 1) mod V with certainty; the state counts the steps."""
    logits = jnp.where(jnp.arange(V) == (token + 1) % V, 0.0, -1e9)
    return logits, state + 1


def test_sample_follows_a_deterministic_model():
    ids = sampling.sample(jax.random.key(0), _cycle, jnp.int32(0), 3, 7)
    assert ids.shape == (7,) and ids.dtype == jnp.int32
    np.testing.assert_array_equal(ids, [4, 0, 1, 2, 3, 4, 0])
    np.testing.assert_array_equal(sampling.greedy(_cycle, jnp.int32(0), 3, 7), ids)


@pytest.mark.parametrize("T", [0.5, 1.0, 2.0])
def test_temperature_rescales_the_distribution(T):
    logits = jnp.log(jnp.array([0.5, 0.25, 0.125, 0.0625, 0.0625]))
    step = lambda s, tok: (logits, s)  # noqa: E731  (independent draws)
    ids = np.asarray(sampling.sample(jax.random.key(1), step, 0, 0, 20000, temperature=T))
    freq = np.bincount(ids, minlength=V) / ids.size
    p = np.asarray(jax.nn.softmax(logits / T))
    se = np.sqrt(p * (1 - p) / ids.size)
    assert np.all(np.abs(freq - p) < 5 * se + 1e-3), (freq, p)


def test_low_temperature_approaches_greedy():
    logits = jnp.array([0.0, 1.0, 0.9, -1.0, 0.0])
    step = lambda s, tok: (logits + 0.1 * tok, s)  # noqa: E731
    cold = sampling.sample(jax.random.key(2), step, 0, 0, 50, temperature=1e-3)
    np.testing.assert_array_equal(cold, sampling.greedy(step, 0, 0, 50))
    hot = sampling.sample(jax.random.key(2), step, 0, 0, 50, temperature=1.0)
    assert len(set(np.asarray(hot).tolist())) > 1


@pytest.mark.parametrize("T", [0.0, -1.0, float("nan"), float("inf"), True])
def test_bad_temperature(T):
    with pytest.raises(JaxnnError, match="temperature"):
        sampling.sample(jax.random.key(0), _cycle, 0, 0, 3, temperature=T)


def test_bad_n():
    with pytest.raises(JaxnnError, match="n"):
        sampling.sample(jax.random.key(0), _cycle, 0, 0, 0)
    with pytest.raises(JaxnnError):
        sampling.greedy(_cycle, 0, 0, 2.5)


def test_nplm_step_fn_slides_the_window():
    cfg = nplm.NPLMConfig(9, n=4, m=3, h=4)
    p = nplm.init(jax.random.key(0), cfg)
    state, first = sampling.nplm_initial_state([5, 1, 2, 7], cfg)
    np.testing.assert_array_equal(state, [5, 1, 2])
    assert int(first) == 7
    step = sampling.nplm_step_fn(p, cfg)
    logits, new = step(state, first)
    np.testing.assert_array_equal(new, [1, 2, 7])
    np.testing.assert_allclose(logits, nplm.apply(p, jnp.array([[1, 2, 7]]), config=cfg)[0],
                               rtol=1e-6)
    # short prompts are padded with their first id
    s2, f2 = sampling.nplm_initial_state([3], cfg)
    np.testing.assert_array_equal(s2, [3, 3, 3])
    assert int(f2) == 3
    with pytest.raises(JaxnnError, match="prompt"):
        sampling.nplm_initial_state([], cfg)
    ids = jax.jit(lambda k: sampling.sample(k, step, state, first, 12, temperature=0.8))(
        jax.random.key(3))
    assert ids.shape == (12,) and int(ids.min()) >= 0 and int(ids.max()) < 9
    # greedy on the NPLM is the argmax chain computed by hand
    g = np.asarray(sampling.greedy(step, state, first, 4))
    window = [1, 2, 7]
    for want in g:
        y = np.asarray(nplm.apply(p, jnp.array([window]), config=cfg)[0])
        assert int(np.argmax(y)) == want
        window = window[1:] + [int(want)]
