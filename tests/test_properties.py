"""Property tests (hypothesis) for the activations, softmax, losses and metrics.

What the notes state, checked on many generated inputs rather than a few hand-picked ones:
finite outputs over wide float32 ranges (logits up to ±1e4), the bounds σ′ ≤ 1/4, tanh′ ≤ 1,
probabilities in [0, 1] summing to 1, losses ≥ 0; the identities σ(−z) = 1 − σ(z) and
tanh(x) = 2σ(2x) − 1 (Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 36, 118); and every closed-form
derivative equal to ``jax.grad`` at random points in float64.

The examples are derandomized (the same inputs on every run) and few (``max_examples`` 50), with
fixed array shapes so each function compiles once.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jaxnn import metrics
from jaxnn.nn import activations as act
from jaxnn.nn import losses

settings.register_profile("jaxnn", max_examples=50, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings.get_profile("jaxnn")

N = 16  # one shape for every generated vector: one compilation per function
B, C = 4, 5


def floats32(lo: float, hi: float):
    return st.floats(lo, hi, width=32, allow_nan=False, allow_infinity=False)


def vec(lo: float = -1e4, hi: float = 1e4, shape=(N,)):
    return arrays(np.float32, shape, elements=floats32(lo, hi))


def vec64(lo: float, hi: float, shape=(N,)):
    return arrays(np.float64, shape,
                  elements=st.floats(lo, hi, allow_nan=False, allow_infinity=False))


# --------------------------------------------------------------------------- activations

@PROFILE
@given(vec())
def test_every_activation_and_derivative_is_finite_over_wide_float32(x):
    for a in act._REGISTRY.values():
        y, dy = np.asarray(a.fn(jnp.asarray(x))), np.asarray(a.prime(jnp.asarray(x)))
        assert y.dtype == np.float32 and y.shape == x.shape, a.name
        assert np.all(np.isfinite(y)), (a.name, x[~np.isfinite(y)])
        assert np.all(np.isfinite(dy)), (a.name, x[~np.isfinite(dy)])


@PROFILE
@given(vec())
def test_derivative_bounds_from_the_notes(x):
    z = jnp.asarray(x)
    s, ds = np.asarray(act.sigmoid(z)), np.asarray(act.sigmoid_prime(z))
    assert np.all((0 <= s) & (s <= 1))
    assert np.all((0 <= ds) & (ds <= 0.25))  # σ′ ≤ 1/4 (Qiu eq 36)
    t, dt = np.asarray(act.tanh(z)), np.asarray(act.tanh_prime(z))
    assert np.all((-1 <= t) & (t <= 1))
    assert np.all((0 <= dt) & (dt <= 1))  # tanh′ ≤ 1
    assert np.all(np.asarray(act.relu(z)) >= 0)
    assert np.all(np.asarray(act.softplus(z)) >= np.asarray(act.relu(z)))  # log(1+e^x) ≥ max(0,x)
    assert set(np.unique(np.asarray(act.binary_step(z)))) <= {0.0, 1.0}
    assert set(np.unique(np.asarray(act.sign(z)))) <= {-1.0, 0.0, 1.0}


@PROFILE
@given(vec64(-50.0, 50.0))
def test_sigmoid_symmetry_and_tanh_identity_float64(x):
    with jax.enable_x64(True):
        z = jnp.asarray(x)
        assert z.dtype == jnp.float64
        np.testing.assert_allclose(act.sigmoid(-z), 1.0 - act.sigmoid(z), rtol=0, atol=1e-15)
        np.testing.assert_allclose(act.tanh(z), 2.0 * act.sigmoid(2.0 * z) - 1.0, rtol=0,
                                   atol=1e-14)
        np.testing.assert_allclose(act.softplus_prime(z), act.sigmoid(z), rtol=1e-15, atol=0)


@PROFILE
@given(vec(-1e4, 1e4))
def test_sigmoid_symmetry_float32_wide(x):
    z = jnp.asarray(x)
    np.testing.assert_allclose(act.sigmoid(-z), 1.0 - act.sigmoid(z), rtol=0, atol=1e-6)


@PROFILE
@given(vec64(-20.0, 20.0))
def test_closed_form_derivatives_equal_autodiff_float64(x):
    with jax.enable_x64(True):
        z = jnp.asarray(x)
        for a in act._REGISTRY.values():
            auto = jax.vmap(jax.grad(a.fn))(z)
            closed = a.prime(z)
            assert closed.dtype == jnp.float64, a.name
            np.testing.assert_allclose(closed, auto, rtol=1e-12, atol=1e-14, err_msg=a.name)
        for alpha in (0.5, 2.0):
            np.testing.assert_allclose(act.elu_prime(z, alpha),
                                       jax.vmap(jax.grad(lambda v: act.elu(v, alpha)))(z),
                                       rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(
                act.leaky_relu_prime(z, alpha / 10),
                jax.vmap(jax.grad(lambda v: act.leaky_relu(v, alpha / 10)))(z),
                rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(act.gelu_prime(z, True),
                                   jax.vmap(jax.grad(lambda v: act.gelu(v, True)))(z),
                                   rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- softmax

@PROFILE
@given(vec(shape=(B, C)))
def test_softmax_is_a_distribution_and_log_softmax_its_log(z):
    p = np.asarray(act.softmax(jnp.asarray(z)))
    lp = np.asarray(act.log_softmax(jnp.asarray(z)))
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp))
    assert np.all((0 <= p) & (p <= 1))
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    assert np.all(lp <= 0)
    np.testing.assert_allclose(np.exp(lp), p, atol=1e-6)
    # the arg max keeps the largest probability
    np.testing.assert_array_equal(p[np.arange(B), z.argmax(-1)], p.max(-1))


@PROFILE
@given(vec(shape=(B, C)), floats32(-1e4, 1e4))
def test_softmax_is_shift_invariant(z, c):
    shifted = np.float32(z + c)
    if not np.all(np.isfinite(shifted)):
        return
    # float32 rounding of z + c: compare probabilities to an absolute tolerance
    np.testing.assert_allclose(act.softmax(jnp.asarray(shifted)), act.softmax(jnp.asarray(z)),
                               atol=2e-2 if abs(c) > 1 else 1e-5)


# --------------------------------------------------------------------------- losses

labels_strategy = arrays(np.int32, (B,), elements=st.integers(0, C - 1))


@PROFILE
@given(vec(shape=(B, C)), labels_strategy)
def test_cross_entropy_is_finite_and_non_negative(z, y):
    ce = float(losses.cross_entropy(jnp.asarray(z), jnp.asarray(y)))
    assert np.isfinite(ce) and ce >= 0
    lp = act.log_softmax(jnp.asarray(z))
    assert np.isclose(float(losses.nll(lp, jnp.asarray(y))), ce, rtol=1e-5, atol=1e-5)
    onehot = jax.nn.one_hot(jnp.asarray(y), C, dtype=jnp.float32)
    assert np.isclose(float(losses.cross_entropy(jnp.asarray(z), onehot)), ce, rtol=1e-5,
                      atol=1e-5)


@PROFILE
@given(vec(), arrays(np.float32, (N,), elements=floats32(0.0, 1.0)))
def test_binary_cross_entropy_with_logits_is_finite_and_non_negative(z, y):
    v = float(losses.binary_cross_entropy_with_logits(jnp.asarray(z), jnp.asarray(y)))
    assert np.isfinite(v) and v >= -1e-6


@PROFILE
@given(arrays(np.float32, (N,), elements=floats32(0.0, 1.0)),
       arrays(np.float32, (N,), elements=st.sampled_from([0.0, 1.0])))
def test_binary_cross_entropy_is_non_negative(p, y):
    v = float(losses.binary_cross_entropy(jnp.asarray(p), jnp.asarray(y)))
    assert v >= 0 and not np.isnan(v)


@PROFILE
@given(vec(-1e3, 1e3), vec(-1e3, 1e3),
       arrays(np.float32, (N,), elements=st.sampled_from([-1.0, 1.0])))
def test_squared_error_and_hinge_are_finite_and_non_negative(a, b, s):
    se = float(losses.squared_error(jnp.asarray(a), jnp.asarray(b)))
    h = float(losses.hinge(jnp.asarray(a), jnp.asarray(s)))
    assert np.isfinite(se) and se >= 0
    assert np.isfinite(h) and h >= 0


# --------------------------------------------------------------------------- metrics

@PROFILE
@given(arrays(np.int32, (N,), elements=st.integers(0, C - 1)),
       arrays(np.int32, (N,), elements=st.integers(0, C - 1)))
def test_classification_metrics_bounds(pred, y):
    acc = float(metrics.accuracy(jnp.asarray(pred), jnp.asarray(y)))
    assert 0 <= acc <= 1 and np.isclose(acc, np.mean(pred == y))
    cm = np.asarray(metrics.confusion_matrix(jnp.asarray(pred), jnp.asarray(y), C))
    assert cm.shape == (C, C) and cm.sum() == N and np.all(cm >= 0)
    assert np.isclose(np.trace(cm) / N, acc)
    prf = metrics.precision_recall_f1(jnp.asarray(pred), jnp.asarray(y), C)
    for v in prf:
        v = np.asarray(v)
        assert np.all(np.isfinite(v)) and np.all((0 <= v) & (v <= 1 + 1e-6))


@PROFILE
@given(vec(shape=(N, C)), arrays(np.int32, (N,), elements=st.integers(0, C - 1)))
def test_accuracy_from_scores_matches_argmax(z, y):
    acc = float(metrics.accuracy(jnp.asarray(z), jnp.asarray(y)))
    assert np.isclose(acc, np.mean(np.asarray(jnp.argmax(jnp.asarray(z), -1)) == y))


@PROFILE
@given(arrays(np.float64, (N,), elements=st.floats(-30.0, 0.0)))
def test_perplexity_is_at_least_one_and_finite(logp):
    ppl = metrics.perplexity(logp)
    assert np.isfinite(ppl) and ppl >= 1.0
    assert np.isclose(ppl, np.exp(-logp.mean()))


@PROFILE
@given(arrays(np.float32, (8, 3), elements=floats32(-1e3, 1e3)), st.integers(0, 7),
       st.integers(1, 7))
def test_nearest_neighbours_similarities_are_cosines(E, i, k):
    nb, sims = metrics.nearest_neighbours(E, np.array([i]), k)
    assert nb.shape == (1, k) and sims.shape == (1, k)
    assert i not in nb[0]
    assert np.all(np.isfinite(sims)) and np.all(np.abs(sims) <= 1 + 1e-9)
    assert np.all(np.diff(sims[0]) <= 1e-12)  # most similar first
