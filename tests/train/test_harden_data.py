"""Training never trains on bad data: fit's and the train step's one eager data check, the
non-finite-step stop, checkify's opt-in checks, clear errors for bad keys, opt states and
arguments."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import optim
from jaxnn.errors import JaxnnError, NonFiniteError, ShapeError
from jaxnn.models import mlp
from jaxnn.train import Checkpointer, fit, make_train_step

KEY = jax.random.key(0)
CFG = mlp.MLPConfig((4, 6, 3), activation="relu")
LOSS = functools.partial(mlp.loss, config=CFG)


def _data(n=16):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 4)).astype(np.float32), (np.arange(n) % 3).astype(np.int32)


def _fit(data, **kw):
    args = dict(epochs=1, batch_size=4, key=KEY, progress=False)
    args.update(kw)
    return fit(mlp.init(KEY, CFG), LOSS, optim.sgd(0.1), data, **args)


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize("bad", [-1, 3, 12])
def test_fit_refuses_labels_outside_the_classes_naming_value_and_index(bad):
    x, y = _data()
    y[7] = bad  # -1 used to train silently as class C - 1; 12 gave a NaN loss, no word of labels
    with pytest.raises(JaxnnError, match=rf"train_data\[1\]\[7\] = {bad}.*\[0, 3\)"):
        _fit((x, y))


def test_fit_refuses_bad_labels_in_valid_data():
    x, y = _data()
    yv = y.copy()
    yv[5] = 10  # used to give a NaN validation loss every epoch, driving early stopping
    with pytest.raises(JaxnnError, match=r"valid_data\[1\]\[5\] = 10"):
        _fit((x, y), valid_data=(x, yv), patience=2)


def test_fit_refuses_float_labels_for_integer_class_targets():
    x, y = _data()
    with pytest.raises(JaxnnError):
        _fit((x, y.astype(np.float32) + 0.5))


def test_train_step_checks_its_first_batch_labels():
    x, y = _data()
    y[2] = -1
    opt = optim.sgd(0.1)
    step = make_train_step(LOSS, opt)
    p = mlp.init(KEY, CFG)
    with pytest.raises(JaxnnError, match=r"batch\[1\]\[2\] = -1"):
        step(p, opt.init(p), (x, y), KEY)


# --------------------------------------------------------------------------- finite data


def test_fit_refuses_one_nan_pixel_naming_its_position():
    # a ReLU model used to map the NaN to 0, finish, and save NaN weights
    x, y = _data()
    x[3, 2] = np.nan
    with pytest.raises(JaxnnError, match=r"train_data\[0\].*nan at index \(3, 2\)"):
        _fit((x, y))
    with pytest.raises(JaxnnError, match=r"valid_data\[0\].*index \(3, 2\)"):
        _fit(_data(), valid_data=(x, y))


def test_fit_refuses_nan_in_device_arrays_too():
    x, y = _data()
    x[0, 0] = np.inf
    with pytest.raises(JaxnnError, match=r"inf at index \(0, 0\)"):
        _fit((jnp.asarray(x), jnp.asarray(y)))


def test_train_step_refuses_nan_and_empty_first_batch():
    x, y = _data()
    opt = optim.sgd(0.1)
    p = mlp.init(KEY, CFG)
    xn = x.copy()
    xn[1, 1] = np.nan
    with pytest.raises(JaxnnError, match=r"batch\[0\].*\(1, 1\)"):
        make_train_step(LOSS, opt)(p, opt.init(p), (xn, y), KEY)
    with pytest.raises(JaxnnError, match="empty"):
        make_train_step(LOSS, opt)(p, opt.init(p), (x[:0], y[:0]), KEY)


def test_fit_refuses_empty_validation_data():
    x, y = _data()
    with pytest.raises(JaxnnError, match="valid_data is empty"):
        _fit((x, y), valid_data=(x[:0], y[:0]))


# --------------------------------------------------------------------------- shapes / params


def test_fit_names_the_missing_parameter_and_the_shapes():
    p = mlp.init(KEY, CFG)
    del p["layer2"]["b"]
    with pytest.raises(ShapeError, match=r"layer2.*'b': \(3,\).*got \{'W': \(3, 6\)\}"):
        fit(p, LOSS, optim.sgd(0.1), _data(), epochs=1, key=KEY, progress=False)


def test_fit_names_input_shape_mismatch():
    x, y = _data()
    with pytest.raises(ShapeError, match=r"\(B, 4\)"):
        _fit((np.ones((16, 5), np.float32), y))


def test_fit_refuses_integer_inputs_where_floats_belong():
    x, y = _data()
    with pytest.raises(JaxnnError, match="floating"):
        _fit((np.round(x).astype(np.int32), y))


def test_optimizer_state_for_other_params_is_named_as_such():
    p = mlp.init(KEY, CFG)
    opt = optim.momentum(0.1)
    other = opt.init({"a": jnp.ones(3)})
    with pytest.raises(JaxnnError, match="optimizer state built for other parameters"):
        make_train_step(LOSS, opt)(p, other, _data(), KEY)
    with pytest.raises(JaxnnError, match=r"opt_state.*other parameters"):
        fit(p, LOSS, opt, _data(), epochs=1, key=KEY, progress=False, opt_state=other)
    wrong = opt.init(jax.tree.map(lambda w: jnp.zeros(w.shape + (1,)), p))
    with pytest.raises(ShapeError, match=r"opt_state.delta\['layer1'\]\['W'\] has shape "
                                         r"\(6, 4, 1\); expected \(6, 4\)"):
        fit(p, LOSS, opt, _data(), epochs=1, key=KEY, progress=False, opt_state=wrong)


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("key", [None, 3, np.zeros(3, np.uint32), jnp.ones(2, jnp.float32)])
def test_fit_refuses_what_is_not_a_prng_key(key):
    with pytest.raises(JaxnnError, match="key must be one jax.random key"):
        _fit(_data(), key=key)


def test_fit_accepts_a_raw_prngkey():
    res = _fit(_data(), key=jax.random.PRNGKey(0))
    assert np.isfinite(res.history[-1]["train_loss"])


def test_eval_batch_size_zero_names_eval_batch_size():
    x, y = _data()
    with pytest.raises(JaxnnError, match="eval_batch_size"):
        _fit((x, y), valid_data=(x, y), eval_batch_size=0)


# --------------------------------------------------------------------------- non-finite steps


def _crossing_loss(params, batch):
    # value ½W², finite everywhere; the gradient of the 0·√max(W − 2, 0) term is 0·∞ = NaN
    # once W ≤ 2, so the parameters break while the loss stays finite
    w = params["W"]
    return 0.5 * jnp.sum(w * w) + 0.0 * jnp.sum(jnp.sqrt(jnp.maximum(w - 2.0, 0.0))) \
        + 0.0 * jnp.sum(batch[0])


def test_non_finite_params_stop_the_run_naming_step_and_leaf(tmp_path):
    # W ← 0.9 W: 3 → 2.7 → 2.43 → 2.187 → 1.968 after step 4, then step 5's gradient is NaN;
    # with two steps per epoch that is epoch 3, step 1. The loss never becomes NaN, so the run
    # used to finish and checkpoint NaN weights.
    data = (np.ones((4, 1), np.float32),)
    p = {"W": jnp.full((2,), 3.0)}
    with pytest.raises(NonFiniteError, match=r"NaN/inf at epoch 3, step 1 of 2: "
                                             r"params\['W'\] holds NaN/inf after") as info:
        fit(p, _crossing_loss, optim.sgd(0.1), data, epochs=5, batch_size=2, key=KEY,
            progress=False, checkpoint_dir=tmp_path / "ck")
    err = info.value
    assert (err.epoch, err.step, err.leaf) == (3, 1, "params['W']")
    np.testing.assert_allclose(err.params["W"], 3.0 * 0.9 ** 4, rtol=1e-6)
    assert Checkpointer(tmp_path / "ck").latest_epoch() == 2


def test_non_finite_loss_names_the_loss_and_keeps_initial_params():
    data = (np.ones((4, 1), np.float32),)
    p = {"W": jnp.full((2,), 3.0)}
    with pytest.raises(NonFiniteError, match=r"epoch 1, step 1 of 1: the loss is") as info:
        fit(p, lambda q, b: jnp.sum(jnp.log(-q["W"])), optim.sgd(0.1), data, epochs=2,
            key=KEY, progress=False)
    assert info.value.leaf == "loss"
    chex.assert_trees_all_equal(info.value.params, p)


# --------------------------------------------------------------------------- checks=True


def test_checks_true_catches_nan_inside_a_jitted_step():
    # a NaN that enters after the first call, inside a jitted step: only checkify sees it
    opt = optim.sgd(0.1)
    p = mlp.init(KEY, CFG)
    x, y = _data()
    step = make_train_step(LOSS, opt, checks=True)
    p1, s1, loss, _ = step(p, opt.init(p), (x, y), KEY)
    assert np.isfinite(loss)
    x[0, 0] = np.nan
    with pytest.raises(JaxnnError, match=r"batch\[0\] holds NaN/inf"):
        step(p1, s1, (x, y), KEY)


def test_checks_true_in_fit_names_the_broken_params_and_changes_no_number():
    data = (np.ones((4, 1), np.float32),)
    p = {"W": jnp.full((2,), 3.0)}
    with pytest.raises(JaxnnError, match=r"params\['W'\] holds NaN/inf after the update"):
        fit(p, _crossing_loss, optim.sgd(0.1), data, epochs=5, batch_size=2, key=KEY,
            progress=False, checks=True)
    plain = _fit(_data(), epochs=2)
    checked = _fit(_data(), epochs=2, checks=True)
    chex.assert_trees_all_equal(plain.params, checked.params)


def test_checks_need_jit():
    with pytest.raises(JaxnnError, match="jit=True"):
        make_train_step(LOSS, optim.sgd(0.1), jit=False, checks=True)


def test_fit_probes_every_label_value_not_only_the_extremes():
    # ±1 float targets of the SVM: a 0.5 in the middle is neither the min nor the max
    from jaxnn.models import svm

    c = svm.SVMConfig(2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 2)).astype(np.float32)
    y = np.where(np.arange(8) % 2 == 0, 1.0, -1.0).astype(np.float32)
    y[5] = 0.5
    with pytest.raises(JaxnnError, match=r"train_data\[1\]\[5\] = 0.5"):
        fit(svm.init(KEY, c), functools.partial(svm.loss, config=c), optim.sgd(0.1), (x, y),
            epochs=1, key=KEY, progress=False)


def test_gradient_descent_refuses_non_finite_data():
    from jaxnn.models import linear
    from jaxnn.train import gradient_descent

    c = linear.LinearConfig(2)
    x = np.ones((4, 2), np.float32)
    y = np.ones(4, np.float32)
    y[2] = np.nan  # the target: linear.loss checks x only
    with pytest.raises(JaxnnError, match=r"batch\[1\].*nan at index \(2,\)"):
        gradient_descent(functools.partial(linear.loss, config=c), linear.init(None, c),
                         (x, y), steps=2, learning_rate=0.1)


def test_fit_refuses_integer_or_non_finite_params_naming_the_leaf():
    p = mlp.init(KEY, CFG)
    q = {**p, "layer2": {**p["layer2"], "b": jnp.zeros(3, jnp.int32)}}
    with pytest.raises(JaxnnError, match=r"params\['layer2'\]\['b'\] has dtype int32"):
        fit(q, LOSS, optim.sgd(0.1), _data(), epochs=1, key=KEY, progress=False)
    q = {**p, "layer1": {**p["layer1"], "W": p["layer1"]["W"].at[0, 0].set(jnp.nan)}}
    with pytest.raises(JaxnnError, match=r"params\['layer1'\]\['W'\] holds NaN"):
        fit(q, LOSS, optim.sgd(0.1), _data(), epochs=1, key=KEY, progress=False)
