"""The two-layer threshold net of the XOR slide: the table is right, the function is XNOR."""

import jax
import numpy as np
import pytest

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models import threshold as th

# The notes' table, copied by hand: x1 x2 z1 z2 h(x)
NOTES_TABLE = np.array([[0, 0, 0, 0, 1],
                        [0, 1, 0, 1, 0],
                        [1, 0, 0, 1, 0],
                        [1, 1, 1, 1, 1]], np.float32)


def test_notes_weights_reproduce_the_table():
    p = th.notes_params()
    np.testing.assert_array_equal(p["W1"], [[2, 2], [2, 2]])
    np.testing.assert_array_equal(p["b1"], [-3, -1])
    np.testing.assert_array_equal(p["W2"], [[2, -2]])
    np.testing.assert_array_equal(p["b2"], [1])
    np.testing.assert_array_equal(th.truth_table(p), NOTES_TABLE)


def test_notes_net_is_xnor_not_xor():
    x = th.binary_inputs(2)
    out = np.asarray(th.apply(th.notes_params(), x))[:, 0]
    xnor = (x[:, 0] == x[:, 1]).astype(np.float32)
    np.testing.assert_array_equal(out, xnor)
    assert np.all(out != np.logical_xor(x[:, 0], x[:, 1]))
    assert float(th.loss(th.notes_params(), (x, 1 - xnor))) == 1.0  # wrong on every XOR row
    assert float(th.loss(th.notes_params(), (x, xnor))) == 0.0
    # hidden units are AND and OR
    np.testing.assert_array_equal(NOTES_TABLE[:, 2], np.logical_and(x[:, 0], x[:, 1]))
    np.testing.assert_array_equal(NOTES_TABLE[:, 3], np.logical_or(x[:, 0], x[:, 1]))


def test_negated_output_unit_gives_xor():
    x = th.binary_inputs(2)
    out = np.asarray(th.apply(th.notes_params("xor"), x))[:, 0]
    np.testing.assert_array_equal(out, np.logical_xor(x[:, 0], x[:, 1]))


def test_step_at_zero_is_one():
    # h(z) = 1 for z >= 0: a unit whose net input is exactly 0 fires.
    p = th.from_augmented(((0.0, 1.0),))
    np.testing.assert_array_equal(th.apply(p, np.array([[0.0], [-1.0]]))[:, 0], [1, 0])


def test_jit_matches_and_random_init(key):
    p = th.init(key, (3, 4, 2))
    assert p["W1"].shape == (4, 3) and p["b2"].shape == (2,)
    x = th.binary_inputs(3)
    np.testing.assert_array_equal(jax.jit(th.apply)(p, x), th.apply(p, x))
    assert set(np.unique(np.asarray(th.apply(p, x)))) <= {0.0, 1.0}


def test_bad_inputs_raise(key):
    p = th.notes_params()
    with pytest.raises(JaxnnError, match="xnor"):
        th.notes_params("xnor")
    with pytest.raises(ShapeError, match=r"\(4, 3\)"):
        th.apply(p, np.ones((4, 3)))
    with pytest.raises(JaxnnError, match="b2"):
        th.apply({"W1": p["W1"], "b1": p["b1"], "W2": p["W2"]}, np.ones((4, 2)))
    with pytest.raises(JaxnnError, match=r"\(2, 0\)"):
        th.init(key, (2, 0))


def test_loss_jit_matches():
    x = th.binary_inputs(2)
    y = np.array([0, 1, 1, 0], np.float32)
    p = th.notes_params("xor")
    assert float(jax.jit(th.loss)(p, (x, y))) == float(th.loss(p, (x, y))) == 0.0
    assert float(th.loss(p, (x, 1 - y))) == 1.0
