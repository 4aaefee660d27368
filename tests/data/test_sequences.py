"""jaxnn.data.sequences: adding problem, image-as-sequence views, sunspot windows."""

import jax
import numpy as np
import pytest

from jaxnn.data import sequences as S
from jaxnn.errors import JaxnnError, ShapeError


@pytest.mark.parametrize("T", [2, 3, 11, 50])
def test_adding_problem_layout(key, T):
    x, y = S.adding_problem(key, 64, T)
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == (64, T, 2) and y.shape == (64,)
    values, markers = x[..., 0], x[..., 1]
    assert values.min() >= 0.0 and values.max() < 1.0
    assert set(np.unique(markers)) <= {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(1), 2.0)
    half = T // 2
    np.testing.assert_array_equal(markers[:, :half].sum(1), 1.0)  # one marker per half
    np.testing.assert_array_equal(markers[:, half:].sum(1), 1.0)
    pos = np.argwhere(markers == 1.0)  # (2B, 2) rows (b, t), sorted by b
    expected = values[pos[:, 0], pos[:, 1]].reshape(64, 2).sum(1)
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_adding_problem_baseline_is_one_sixth():
    # the constant prediction 1 = E[y] scores Var[y] = 1/6; check on a big sample (4 sigma).
    _, y = S.adding_problem(jax.random.key(3), 200_000, 4)
    y = np.asarray(y, np.float64)
    assert abs(y.mean() - 1.0) < 4 * np.sqrt(1 / 6 / y.size)
    mse = np.mean((y - 1.0) ** 2)
    assert S.ADDING_BASELINE_MSE == pytest.approx(2 / 12)
    # Var of the squared error of a sum of two U(0,1) is below 0.03, so 4 sigma < 0.002
    assert abs(mse - S.ADDING_BASELINE_MSE) < 0.002


def test_adding_problem_jit_matches_eager_and_keys_differ(key):
    f = jax.jit(lambda k: S.adding_problem(k, 8, 20))
    np.testing.assert_array_equal(f(key)[0], S.adding_problem(key, 8, 20)[0])
    assert not np.array_equal(f(key)[1], f(jax.random.key(1))[1])


@pytest.mark.parametrize("T", [1, 0, -3, 2.5])
def test_adding_problem_bad_length(key, T):
    with pytest.raises(JaxnnError, match=str(T)):
        S.adding_problem(key, 4, T)


def test_adding_problem_bad_batch(key):
    with pytest.raises(JaxnnError, match="batch_size.*0"):
        S.adding_problem(key, 0, 10)


def test_image_rows_and_pixels():
    imgs = np.arange(3 * 16).reshape(3, 16)
    rows = S.image_rows(imgs)
    assert rows.shape == (3, 4, 4)
    for t in range(4):  # step t is row t of pixels
        np.testing.assert_array_equal(rows[:, t, :], imgs[:, 4 * t:4 * t + 4])
    np.testing.assert_array_equal(S.image_rows(imgs.reshape(3, 4, 4)), rows)
    px = S.image_pixels(imgs)
    assert px.shape == (3, 16, 1)
    np.testing.assert_array_equal(px[:, :, 0], imgs)


def test_image_rows_bad_input():
    with pytest.raises(ShapeError, match=r"\(2, 10\).*10 pixels"):
        S.image_rows(np.zeros((2, 10)))
    with pytest.raises(ShapeError, match=r"\(2, 3, 4\)"):
        S.image_rows(np.zeros((2, 3, 4)))
    with pytest.raises(ShapeError, match=r"\(5,\)"):
        S.image_rows(np.zeros(5))


def test_windows_are_one_step_ahead():
    s = np.arange(10.0) ** 2
    x, y = S.windows(s, 3)
    assert x.shape == (7, 3, 1) and y.shape == (7,)
    for i in range(7):
        np.testing.assert_array_equal(x[i, :, 0], s[i:i + 3])
        assert y[i] == s[i + 3]


@pytest.mark.parametrize("w", [0, 10, 12])
def test_windows_bad_window(w):
    with pytest.raises(JaxnnError, match=str(w)):
        S.windows(np.arange(10.0), w)


def test_forecast_split_holds_out_the_tail():
    s = np.sin(np.arange(60) / 3.0) * 5 + 7 + np.arange(60) * 0.1
    sp = S.forecast_split(s, window=5, test_size=8)
    assert sp.x_test.shape == (8, 5, 1) and sp.y_test.shape == (8,)
    assert sp.x_train.shape == (60 - 5 - 8, 5, 1)
    np.testing.assert_array_equal(sp.t_test, np.arange(52, 60))
    # statistics of the training part only
    assert sp.mean == pytest.approx(s[:52].mean()) and sp.std == pytest.approx(s[:52].std())
    np.testing.assert_allclose(sp.y_test * sp.std + sp.mean, s[52:], rtol=1e-5)
    np.testing.assert_allclose(sp.x_test[0, :, 0] * sp.std + sp.mean, s[47:52], rtol=1e-5)
    # the last training target is the value just before the tail
    assert sp.y_train[-1] * sp.std + sp.mean == pytest.approx(s[51], rel=1e-5)


def test_forecast_split_bad_test_size():
    with pytest.raises(JaxnnError, match="test_size 55"):
        S.forecast_split(np.arange(60.0), 5, 55)


def test_sunspots_series():
    years, values = S.sunspots()
    assert years.shape == values.shape == (309,)
    assert years[0] == 1700 and years[-1] == 2008
    assert np.all(np.diff(years) == 1) and values.min() >= 0


def test_image_rows_bad_side():
    with pytest.raises(ShapeError, match="side 3"):
        S.image_rows(np.zeros((2, 16)), side=3)
