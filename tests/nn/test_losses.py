"""Losses and penalties: values against the textbook formulas, stability, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.nn import losses as L


def _np_log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def test_squared_error_reductions():
    y_hat = jnp.array([[1.0, 2.0], [3.0, 5.0]])
    y = jnp.array([[0.0, 2.0], [1.0, 1.0]])
    sq = np.array([1.0, 0.0, 4.0, 16.0])
    assert float(L.squared_error(y_hat, y)) == pytest.approx(0.5 * sq.sum())  # default ½Σ
    assert float(L.squared_error(y_hat, y, "sum")) == pytest.approx(sq.sum())
    assert float(L.squared_error(y_hat, y, "mean")) == pytest.approx(sq.mean())


def test_binary_cross_entropy_values():
    p = jnp.array([0.9, 0.2, 1.0, 0.0])
    y = jnp.array([1.0, 0.0, 1.0, 0.0])
    want = -np.mean([np.log(0.9), np.log(0.8), 0.0, 0.0])  # 0·log 0 = 0
    assert float(L.binary_cross_entropy(p, y)) == pytest.approx(want, rel=1e-6)


def test_bce_with_logits_equals_bce_of_sigmoid(x64):
    z = jnp.linspace(-8, 8, 17, dtype=jnp.float64)
    y = (jnp.arange(17) % 2).astype(jnp.float64)
    np.testing.assert_allclose(L.binary_cross_entropy_with_logits(z, y),
                               L.binary_cross_entropy(jax.nn.sigmoid(z), y), rtol=1e-12)


def test_cross_entropy_int_and_onehot_agree_with_numpy():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 1, 2])
    want = -np.mean(_np_log_softmax(z)[np.arange(5), labels])
    onehot = np.eye(4, dtype=np.float32)[labels]
    assert float(L.cross_entropy(jnp.asarray(z), jnp.asarray(labels))) == pytest.approx(want, rel=1e-5)
    assert float(L.cross_entropy(jnp.asarray(z), jnp.asarray(onehot))) == pytest.approx(want, rel=1e-5)
    log_p = jnp.asarray(_np_log_softmax(z))
    assert float(L.nll(log_p, jnp.asarray(labels))) == pytest.approx(want, rel=1e-5)
    assert float(L.nll(log_p, jnp.asarray(onehot))) == pytest.approx(want, rel=1e-5)


def test_cross_entropy_with_leading_time_axis():
    z = jnp.asarray(np.random.default_rng(1).normal(size=(2, 3, 5)), jnp.float32)
    labels = jnp.array([[0, 1, 4], [2, 2, 3]])
    flat = L.cross_entropy(z.reshape(6, 5), labels.reshape(6))
    assert float(L.cross_entropy(z, labels)) == pytest.approx(float(flat), rel=1e-6)


def test_nll_accepts_log_zero_of_other_classes():
    log_p = jnp.log(jnp.array([[0.0, 1.0], [0.5, 0.5]]))
    assert float(L.nll(log_p, jnp.array([1, 0]))) == pytest.approx(0.5 * np.log(2.0))


def test_hinge_and_zero_one():
    f = jnp.array([2.0, 0.5, -0.3, 1.0])
    y = jnp.array([1.0, 1.0, 1.0, -1.0])
    want = np.mean([0.0, 0.5, 1.3, 2.0])
    assert float(L.hinge(f, y)) == pytest.approx(want)
    # eq 52: I(y != f(x)); eq 51 of the notes has the cases swapped
    assert float(L.zero_one(jnp.array([0, 1, 2, 2]), jnp.array([0, 1, 1, 0]))) == 0.5
    assert float(L.zero_one(jnp.array([3, 3]), jnp.array([3, 3]))) == 0.0


def test_penalties_and_structural_risk():
    params = {"W1": jnp.array([[1.0, -2.0]]), "b1": jnp.array([5.0]),
              "cell": {"U": jnp.array([3.0]), "b": jnp.array([7.0])}, "out": {"kernel": jnp.ones(2)}}
    mask = {"W1": True, "b1": False, "cell": {"U": True, "b": False}, "out": {"kernel": True}}
    assert float(L.l2_penalty(params, mask)) == pytest.approx(0.5 * (1 + 4 + 9 + 2))
    assert float(L.l1_penalty(params, mask)) == pytest.approx(1 + 2 + 3 + 2)
    assert float(L.l2_penalty(params, lambda p: mask)) == pytest.approx(0.5 * 16)  # callable
    assert float(L.l2_penalty(params)) == pytest.approx(0.5 * (16 + 25 + 49))  # None: every leaf
    assert float(L.l1_penalty(params)) == pytest.approx(8 + 5 + 7)
    # eq 50: R + λ‖θ‖² with no ½
    assert float(L.structural_risk(jnp.asarray(1.5), params, 0.1, mask=mask)) == pytest.approx(
        1.5 + 0.1 * 16)
    assert float(L.structural_risk(jnp.asarray(1.5), params, 0.1, "l1", mask)) == pytest.approx(
        1.5 + 0.8)
    assert float(L.empirical_risk(jnp.array([1.0, 2.0, 6.0]))) == pytest.approx(3.0)
    assert float(L.l2_penalty({"b": jnp.ones(3)}, {"b": False})) == 0.0


def test_an_explicit_mask_selects_exactly_the_marked_leaves():
    """The mask, not a name, decides: an embedding matrix C is penalised when marked (a rule on
    name prefixes W…, U…, kernel would have let it escape) and a W is spared when not."""
    params = {"C": jnp.array([[1.0, 2.0], [3.0, 4.0]]), "W": jnp.array([[10.0]]),
              "b": jnp.array([100.0])}
    assert float(L.l2_penalty(params, {"C": True, "W": False, "b": False})) == 0.5 * 30.0
    assert float(L.l1_penalty(params, {"C": True, "W": True, "b": False})) == 20.0
    assert float(L.l2_penalty(params, {"C": False, "W": False, "b": False})) == 0.0
    full = {"C": True, "W": False, "b": True}
    assert L.resolve_mask(params, full) == full
    assert L.resolve_mask(params, lambda p: {k: v.ndim == 2 for k, v in p.items()}) == {
        "C": True, "W": True, "b": False}
    assert L.resolve_mask(params, None) == {"C": True, "W": True, "b": True}
    nested = {"layer1": {"W": jnp.ones((2, 2)), "b": jnp.ones(2)}, "E": jnp.ones((3, 2))}
    assert L.resolve_mask(nested, {"layer1": False, "E": True}) == {  # a prefix mask
        "layer1": {"W": False, "b": False}, "E": True}
    assert float(L.l2_penalty(nested, {"layer1": {"W": True, "b": False}, "E": True})) == 5.0


def test_a_mask_that_does_not_fit_the_params_is_rejected():
    params = {"W": jnp.ones((2, 2)), "b": jnp.ones(2)}
    with pytest.raises(JaxnnError, match="structure of params"):
        L.l2_penalty(params, {"W": True})
    with pytest.raises(JaxnnError, match="structure of params"):
        L.l1_penalty(params, {"W": True, "b": False, "C": True})
    with pytest.raises(JaxnnError, match="bools; got 'yes'"):
        L.l2_penalty(params, {"W": "yes", "b": False})


def test_extreme_logits_float32_finite_losses_and_grads():
    z = jnp.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], jnp.float32)
    labels = jnp.array([1, 1])
    loss, g = jax.value_and_grad(L.cross_entropy)(z, labels)
    assert jnp.isfinite(loss) and jnp.all(jnp.isfinite(g))
    assert float(loss) == pytest.approx(1e4, rel=1e-6)  # (2e4 + 0) / 2
    zb = jnp.array([1e4, -1e4, 1e4, -1e4], jnp.float32)
    yb = jnp.array([1.0, 0.0, 0.0, 1.0])
    loss, g = jax.value_and_grad(L.binary_cross_entropy_with_logits)(zb, yb)
    assert jnp.isfinite(loss) and jnp.all(jnp.isfinite(g))
    assert float(loss) == pytest.approx(5e3, rel=1e-6)
    np.testing.assert_allclose(g, [0.0, 0.0, 0.25, -0.25])


def test_jit_equals_eager():
    z = jnp.asarray(np.random.default_rng(2).normal(size=(4, 3)), jnp.float32)
    labels = jnp.array([0, 2, 1, 1])
    for fn, args in [(L.cross_entropy, (z, labels)),
                     (L.binary_cross_entropy_with_logits, (z, (z > 0).astype(jnp.float32))),
                     (L.hinge, (z, jnp.sign(z))),
                     (L.squared_error, (z, 2 * z))]:
        np.testing.assert_allclose(jax.jit(fn)(*args), fn(*args), rtol=1e-6)


# --------------------------------------------------------------------------- bad input


def test_shape_mismatch_is_not_broadcast():
    with pytest.raises(ShapeError, match=r"\(3,\) and \(3, 1\)"):
        L.squared_error(jnp.ones(3), jnp.ones((3, 1)))
    with pytest.raises(ShapeError, match=r"\(4,\)"):
        L.cross_entropy(jnp.ones((3, 5)), jnp.zeros(4, jnp.int32))
    with pytest.raises(ShapeError, match=r"\(3, 4\)"):
        L.cross_entropy(jnp.ones((3, 5)), jnp.ones((3, 4)) / 4)
    with pytest.raises(ShapeError, match=r"one-hot labels must be floating point"):
        L.cross_entropy(jnp.ones((3, 5)), jnp.eye(5, dtype=jnp.int32)[:3])
    with pytest.raises(ShapeError, match=r"class axis.*got shape \(\)"):
        L.nll(jnp.zeros(()), jnp.zeros((), jnp.int32))


def test_labels_out_of_range():
    with pytest.raises(JaxnnError, match=r"\[0, 5\).*\[5, -1\]"):
        L.cross_entropy(jnp.ones((3, 5)), jnp.array([5, 0, -1]))


def test_non_finite_inputs():
    with pytest.raises(JaxnnError, match="logits contains 1 non-finite"):
        L.cross_entropy(jnp.array([[0.0, jnp.nan]]), jnp.array([0]))
    with pytest.raises(JaxnnError, match="y_hat contains"):
        L.squared_error(jnp.array([jnp.inf]), jnp.zeros(1))
    with pytest.raises(JaxnnError, match="log_probs contains"):
        L.nll(jnp.array([[jnp.nan, 0.0]]), jnp.array([1]))


def test_bad_value_ranges():
    with pytest.raises(JaxnnError, match=r"probabilities p.*1\.5"):
        L.binary_cross_entropy(jnp.array([0.5, 1.5]), jnp.array([0.0, 1.0]))
    with pytest.raises(JaxnnError, match=r"hinge targets.*0\.0"):
        L.hinge(jnp.ones(2), jnp.array([1.0, 0.0]))
    with pytest.raises(JaxnnError, match="sum to 1; got a row summing to 2"):
        L.cross_entropy(jnp.ones((1, 2)), jnp.ones((1, 2)))
    with pytest.raises(JaxnnError, match="lam must be >= 0; got -1"):
        L.structural_risk(jnp.zeros(()), {}, -1.0)


def test_unknown_names():
    with pytest.raises(JaxnnError, match="'mae'"):
        L.get("mae")
    with pytest.raises(JaxnnError, match="'avg'"):
        L.squared_error(jnp.ones(2), jnp.ones(2), reduction="avg")
    assert L.get("hinge") is L.hinge
