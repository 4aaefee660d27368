"""The two-layer threshold net of the XOR slide: the table is right, the function is XNOR."""

import functools

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
    np.testing.assert_array_equal(p["layer1"]["W"], [[2, 2], [2, 2]])
    np.testing.assert_array_equal(p["layer1"]["b"], [-3, -1])
    np.testing.assert_array_equal(p["layer2"]["W"], [[2, -2]])
    np.testing.assert_array_equal(p["layer2"]["b"], [1])
    np.testing.assert_array_equal(th.truth_table(p, config=th.NOTES), NOTES_TABLE)


def test_notes_net_is_xnor_not_xor():
    x = th.binary_inputs(2)
    out = np.asarray(th.apply(th.notes_params(), x, config=th.NOTES))[:, 0]
    xnor = (x[:, 0] == x[:, 1]).astype(np.float32)
    np.testing.assert_array_equal(out, xnor)
    assert np.all(out != np.logical_xor(x[:, 0], x[:, 1]))
    assert float(th.loss(th.notes_params(), (x, 1 - xnor), config=th.NOTES)) == 1.0  # wrong on every XOR row
    assert float(th.loss(th.notes_params(), (x, xnor), config=th.NOTES)) == 0.0
    # hidden units are AND and OR
    np.testing.assert_array_equal(NOTES_TABLE[:, 2], np.logical_and(x[:, 0], x[:, 1]))
    np.testing.assert_array_equal(NOTES_TABLE[:, 3], np.logical_or(x[:, 0], x[:, 1]))


def test_negated_output_unit_gives_xor():
    x = th.binary_inputs(2)
    out = np.asarray(th.apply(th.notes_params("xor"), x, config=th.NOTES))[:, 0]
    np.testing.assert_array_equal(out, np.logical_xor(x[:, 0], x[:, 1]))


def test_step_at_zero_is_one():
    # h(z) = 1 for z >= 0: a unit whose net input is exactly 0 fires.
    p = th.from_augmented(((0.0, 1.0),))
    c = th.ThresholdConfig((1, 1))
    np.testing.assert_array_equal(th.apply(p, np.array([[0.0], [-1.0]]), config=c)[:, 0], [1, 0])


def test_jit_matches_and_random_init(key):
    c = th.ThresholdConfig((3, 4, 2))
    p = th.init(key, c)
    assert p["layer1"]["W"].shape == (4, 3) and p["layer2"]["b"].shape == (2,)
    x = th.binary_inputs(3)
    ap = functools.partial(th.apply, config=c)
    np.testing.assert_array_equal(jax.jit(ap)(p, x), ap(p, x))
    assert set(np.unique(np.asarray(ap(p, x)))) <= {0.0, 1.0}
    assert th.truth_table(p, config=c).shape == (8, 3 + 4 + 2)


def test_bad_inputs_raise(key):
    p = th.notes_params()
    with pytest.raises(JaxnnError, match="xnor"):
        th.notes_params("xnor")
    with pytest.raises(ShapeError, match=r"\(4, 3\)"):
        th.apply(p, np.ones((4, 3)), config=th.NOTES)
    with pytest.raises(JaxnnError, match="'b': \\(1,\\)"):
        th.apply({"layer1": p["layer1"], "layer2": {"W": p["layer2"]["W"]}}, np.ones((4, 2)),
                 config=th.NOTES)
    with pytest.raises(JaxnnError, match="layer2"):
        th.apply({"layer1": p["layer1"]}, np.ones((4, 2)), config=th.NOTES)
    with pytest.raises(JaxnnError, match=r"\(2, 0\)"):
        th.ThresholdConfig((2, 0))


def test_loss_jit_matches():
    x = th.binary_inputs(2)
    y = np.array([0, 1, 1, 0], np.float32)
    p = th.notes_params("xor")
    ls = functools.partial(th.loss, config=th.NOTES)
    assert float(jax.jit(ls)(p, (x, y))) == float(ls(p, (x, y))) == 0.0
    assert float(ls(p, (x, 1 - y))) == 1.0
