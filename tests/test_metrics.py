"""Metrics against hand-made cases and scikit-learn."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm

from jaxnn import metrics as M
from jaxnn.errors import JaxnnError, ShapeError

# 3 classes, 8 samples, worked out by hand below
LABELS = jnp.array([0, 0, 0, 1, 1, 2, 2, 2])
PRED = jnp.array([0, 1, 0, 1, 2, 2, 2, 0])


def test_hand_case():
    # true\pred  0  1  2
    #   0        2  1  0
    #   1        0  1  1
    #   2        1  0  2
    cm = M.confusion_matrix(PRED, LABELS, 3)
    np.testing.assert_array_equal(cm, [[2, 1, 0], [0, 1, 1], [1, 0, 2]])
    assert float(M.accuracy(PRED, LABELS)) == pytest.approx(5 / 8)
    r = M.precision_recall_f1(PRED, LABELS, 3)
    np.testing.assert_allclose(r.precision, [2 / 3, 1 / 2, 2 / 3], rtol=1e-6)
    np.testing.assert_allclose(r.recall, [2 / 3, 1 / 2, 2 / 3], rtol=1e-6)
    np.testing.assert_allclose(r.f1, [2 / 3, 1 / 2, 2 / 3], rtol=1e-6)
    assert float(r.macro_f1) == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3, rel=1e-6)


def test_precision_differs_from_recall_and_empty_class():
    labels = jnp.array([0, 0, 0, 1])
    pred = jnp.array([0, 0, 1, 1])
    r = M.precision_recall_f1(pred, labels, 3)  # class 2 never occurs nor is predicted
    np.testing.assert_allclose(r.precision, [1.0, 0.5, 0.0])
    np.testing.assert_allclose(r.recall, [2 / 3, 1.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(r.f1, [0.8, 2 / 3, 0.0], rtol=1e-6)


def test_accuracy_from_logits():
    logits = jnp.array([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]])
    assert float(M.accuracy(logits, jnp.array([0, 1, 1]))) == pytest.approx(2 / 3)


def test_against_scikit_learn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=200)
    pred = np.where(rng.random(200) < 0.6, labels, rng.integers(0, 5, size=200))
    pred[pred == 4] = 3  # class 4 never predicted: zero division
    r = M.precision_recall_f1(jnp.asarray(pred), jnp.asarray(labels), 5)
    p, rc, f, _ = skm.precision_recall_fscore_support(labels, pred, labels=range(5), zero_division=0)
    np.testing.assert_allclose(r.precision, p, rtol=1e-6)
    np.testing.assert_allclose(r.recall, rc, rtol=1e-6)
    np.testing.assert_allclose(r.f1, f, rtol=1e-6)
    assert float(r.macro_f1) == pytest.approx(
        skm.f1_score(labels, pred, average="macro", labels=range(5), zero_division=0), rel=1e-6)
    assert float(r.macro_precision) == pytest.approx(
        skm.precision_score(labels, pred, average="macro", labels=range(5), zero_division=0), rel=1e-6)
    np.testing.assert_array_equal(M.confusion_matrix(jnp.asarray(pred), jnp.asarray(labels), 5),
                                  skm.confusion_matrix(labels, pred, labels=range(5)))
    assert float(M.accuracy(jnp.asarray(pred), jnp.asarray(labels))) == pytest.approx(
        skm.accuracy_score(labels, pred))


def test_jit_equals_eager():
    f = jax.jit(M.precision_recall_f1, static_argnums=2)
    a, b = f(PRED, LABELS, 3), M.precision_recall_f1(PRED, LABELS, 3)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y)
    assert float(jax.jit(M.accuracy)(PRED, LABELS)) == float(M.accuracy(PRED, LABELS))


def test_bad_input():
    with pytest.raises(JaxnnError, match=r"labels must lie in \[0, 3\); got \[3\]"):
        M.confusion_matrix(jnp.array([0, 1]), jnp.array([0, 3]), 3)
    with pytest.raises(JaxnnError, match=r"pred must lie in \[0, 2\); got \[-1\]"):
        M.precision_recall_f1(jnp.array([-1, 1]), jnp.array([0, 1]), 2)
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        M.confusion_matrix(jnp.array([0, 1, 1]), jnp.array([0, 1]), 2)
    with pytest.raises(ShapeError, match=r"\(2, 3, 4\)"):
        M.accuracy(jnp.ones((2, 3, 4)), jnp.array([0, 1]))
    with pytest.raises(JaxnnError, match=r"labels must lie in \[0, 2\); got \[2\]"):
        M.accuracy(jnp.ones((2, 2)), jnp.array([0, 2]))
    with pytest.raises(JaxnnError, match="scores contains 1 non-finite"):
        M.accuracy(jnp.array([[0.0, jnp.nan]]), jnp.array([0]))
    with pytest.raises(JaxnnError, match="num_classes must be > 0; got 0"):
        M.confusion_matrix(jnp.array([0]), jnp.array([0]), 0)
