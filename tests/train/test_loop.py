"""fit: batch / mini-batch / per-sample modes, scan == loop, shuffling, early stopping, L2,
logs and plots, NaN stop, bad input."""

import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import optim
from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.train import evaluate, fit, plot_history, read_jsonl


def _loss(params, batch, key=None):
    x, y = batch
    r = x @ params["W"].T + params["b"][None, :] - y
    return 0.5 * jnp.mean(jnp.sum(r * r, axis=-1))


def _data(n=10, seed=0, sign=1.0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = sign * x @ np.array([[1.0, -2.0, 0.5]], np.float32).T
    return x, y.astype(np.float32)


def _params():
    return {"W": jnp.zeros((1, 3)), "b": jnp.zeros(1)}


def _fit(**kw):
    args = dict(epochs=3, batch_size=4, key=jax.random.key(0), progress=False)
    args.update(kw)
    return fit(kw.pop("params", _params()), _loss, kw.pop("opt", optax.sgd(0.05)), _data(), **{
        k: v for k, v in args.items() if k not in ("params", "opt")})


@pytest.mark.parametrize("batch_size, steps", [(None, 1), (4, 2), (3, 3), (1, 10)])
def test_steps_per_epoch_full_mini_and_per_sample(batch_size, steps):
    res = _fit(opt=optax.adam(1e-3), batch_size=batch_size, epochs=2)
    assert int(res.opt_state[0].count) == 2 * steps  # N=10: partial last batch dropped


def test_full_batch_equals_plain_gradient_descent():
    res = _fit(batch_size=None, epochs=3)
    p = _params()
    for _ in range(3):  # no shuffling needed for full batch: the same three steps by hand
        g = jax.grad(_loss)(p, tuple(map(jnp.asarray, _data())))
        p = jax.tree.map(lambda a, b: a - 0.05 * b, p, g)
    chex.assert_trees_all_close(res.params, p, rtol=1e-6)


def test_scanned_epochs_equal_a_python_loop_of_steps():
    # the engine's epoch scan against one jitted step per batch, dispatched from Python, over
    # the permutation and per-step keys the module docstring promises
    from jaxnn.data.batching import epoch_indices
    from jaxnn.train import make_train_step

    opt = optax.sgd(0.05, momentum=0.9)
    a = _fit(opt=opt)
    step = make_train_step(_loss, opt)
    p, s, key, losses = _params(), opt.init(_params()), jax.random.key(0), []
    x, y = map(jnp.asarray, _data())
    for epoch in range(1, 4):
        perm_key, step_key = jax.random.split(jax.random.fold_in(key, epoch))
        idx = epoch_indices(perm_key, 10, 4)
        epoch_losses = []
        for i, row in enumerate(idx):
            p, s, loss, _ = step(p, s, (x[row], y[row]), jax.random.fold_in(step_key, i))
            epoch_losses.append(float(loss))
        losses.append(np.mean(np.float32(epoch_losses)))
    chex.assert_trees_all_close(a.params, p, rtol=1e-6)
    chex.assert_trees_all_close(a.opt_state, s, rtol=1e-6)
    np.testing.assert_allclose([r["train_loss"] for r in a.history], losses, rtol=1e-6)


def test_shuffling_follows_the_key():
    a, b = _fit(key=jax.random.key(0)), _fit(key=jax.random.key(0))
    c = _fit(key=jax.random.key(1))
    chex.assert_trees_all_equal(a.params, b.params)
    assert not np.allclose(a.params["W"], c.params["W"])


def test_l2_is_weight_decay_on_weights_only():
    # zero data loss: each full-batch step is W ← (1 − lr·λ) W, b unchanged
    p0 = {"W": jnp.full((1, 3), 2.0), "b": jnp.full((1,), 3.0)}
    zero = lambda p, b: 0.0 * jnp.sum(b[0])  # noqa: E731
    opt = optax.chain(optim.l2(0.5, mask={"W": True, "b": False}), optax.sgd(0.1))
    res = fit(p0, zero, opt, _data(), epochs=4, key=jax.random.key(0), progress=False)
    np.testing.assert_allclose(res.params["W"], 2.0 * (1 - 0.1 * 0.5) ** 4, rtol=1e-6)
    np.testing.assert_allclose(res.params["b"], 3.0)


def test_early_stopping_keeps_best_parameters(tmp_path):
    # validation targets have the opposite sign: the valid loss rises from the first epoch on
    valid = _data(8, seed=1, sign=-1.0)
    res = _fit(valid_data=valid, patience=2, epochs=20, batch_size=None,
               log_path=tmp_path / "log.jsonl")
    assert res.stopped_early and len(res.history) == 3 and res.best_epoch == 1
    first = _fit(valid_data=valid, epochs=1, batch_size=None)
    chex.assert_trees_all_close(res.best_params, first.params)
    losses = [r["valid_loss"] for r in res.history]
    assert losses[0] < losses[1] < losses[2]
    logged = read_jsonl(tmp_path / "log.jsonl")
    assert [r["epoch"] for r in logged] == [1, 2, 3]
    np.testing.assert_allclose([r["valid_loss"] for r in logged], losses)


def test_eval_fn_metrics_are_recorded_plotted_and_shown(tmp_path, capsys):
    ev = lambda p, b: {"abs_error": jnp.mean(jnp.abs(b[0] @ p["W"].T - b[1]))}  # noqa: E731
    res = _fit(valid_data=_data(8, seed=1), eval_fn=ev, epochs=3, progress="demo")
    bar = capsys.readouterr().err  # the tqdm bar: label, epochs done, loss and metric
    assert "demo" in bar and "3/3" in bar and "valid_loss" in bar and "abs_error" in bar
    assert all({"epoch", "train_loss", "valid_loss", "abs_error"} <= set(r) for r in res.history)
    png = plot_history(res.history, tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(JaxnnError, match="accuracy"):
        plot_history(res.history, tmp_path / "x.png", keys=["accuracy"])


def test_evaluate_in_chunks_equals_whole_set():
    x, y = _data(10)
    p = {"W": jnp.ones((1, 3)), "b": jnp.zeros(1)}
    whole = float(_loss(p, (x, y)))
    np.testing.assert_allclose(evaluate(_loss, p, (x, y), batch_size=3), whole, rtol=1e-6)


def test_nan_loss_stops_with_message_and_keeps_last_good_checkpoint(tmp_path):
    # gradient descent with a far too large rate: |W| grows ×~100 per epoch until it overflows
    from jaxnn.train import Checkpointer

    with pytest.raises(JaxnnError, match=r"NaN/inf.*epoch (\d+)") as info:
        _fit(opt=optax.sgd(50.0), batch_size=None, epochs=60, checkpoint_dir=tmp_path / "ck")
    bad_epoch = int(re.search(r"epoch (\d+)", str(info.value)).group(1))
    last = Checkpointer(tmp_path / "ck").latest_epoch()
    assert last == bad_epoch - 1
    state, meta = Checkpointer(tmp_path / "ck").restore(
        {"params": _params(), "opt_state": optax.sgd(50.0).init(_params()),
         "best_params": _params(), "key": jax.random.key(0)})
    assert np.all(np.isfinite(state["params"]["W"])) and meta["epoch"] == last


def test_mismatched_batch_sizes_raise():
    x, y = _data()
    with pytest.raises(ShapeError, match=r"\(10, 3\).*\(9, 1\)"):
        fit(_params(), _loss, optax.sgd(0.1), (x, y[:9]), epochs=1, key=jax.random.key(0),
            progress=False)
    with pytest.raises(ShapeError, match="valid_data"):
        _fit(valid_data=(x[:5], y[:4]))


def test_negative_learning_rate_raises():
    with pytest.raises(JaxnnError, match="negative learning rate"):
        _fit(opt=optax.sgd(-0.1))


@pytest.mark.parametrize("kw, msg", [({"batch_size": 0}, "batch_size.*0"),
                                     ({"batch_size": 11}, "11 exceeds"),
                                     ({"epochs": 0}, "epochs.*0"),
                                     ({"patience": 3}, "needs valid_data")])
def test_bad_fit_arguments_raise(kw, msg):
    with pytest.raises(JaxnnError, match=msg):
        _fit(**kw)
