"""The training engine: one scan over steps equals the same steps dispatched one by one, under
each key schedule; aux, key-less runs, and the wrappers built on it (gradient descent, the
recurrent chunk runner)."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn.errors import JaxnnError
from jaxnn.train import fold_in_keys, make_runner, make_train_step, split_keys


def _loss(params, batch, key):
    x, y = batch
    noise = 0.01 * jax.random.normal(key, y.shape)  # the step key reaches the loss
    r = x @ params["W"].T + params["b"][None, :] - y - noise
    return jnp.mean(r * r)


def _sample(data, i, key):
    x = jax.random.normal(key, (8, 3))
    return x, x @ data


def _params():
    return {"W": jnp.zeros((1, 3)), "b": jnp.zeros(1)}


TRUE_W = jnp.array([[1.0], [-2.0], [0.5]])


def test_split_keys_run_equals_a_python_loop_of_steps():
    # the recurrent experiments' schedule: k_i = split(key, n)[i]; (batch, step) = split(k_i)
    opt = optax.adam(1e-2)
    step = make_train_step(_loss, opt)
    run = make_runner(step, _sample, 7, step_keys=split_keys)
    key = jax.random.key(3)
    out = run(_params(), opt.init(_params()), TRUE_W, key)
    p, s, losses = _params(), opt.init(_params()), []
    for k in jax.random.split(key, 7):
        kb, ks = jax.random.split(k)
        p, s, loss, _ = step(p, s, _sample(TRUE_W, None, kb), ks)
        losses.append(loss)
    chex.assert_trees_all_close(out.params, p, rtol=1e-6)
    chex.assert_trees_all_close(out.opt_state, s, rtol=1e-6)
    np.testing.assert_allclose(out.losses, losses, rtol=1e-6)
    assert out.losses.shape == (7,) and out.aux is None


def test_fold_in_keys_give_step_i_fold_in_key_i():
    batch_keys, keys = fold_in_keys(jax.random.key(5), 4)
    assert batch_keys is None and keys.shape == (4,)
    for i in range(4):
        np.testing.assert_array_equal(jax.random.key_data(keys[i]),
                                      jax.random.key_data(jax.random.fold_in(jax.random.key(5), i)))
    assert fold_in_keys(None, 4) == (None, None)


def test_keep_aux_stacks_the_steps_aux_and_a_keyless_run_passes_none():
    seen = []

    def step(p, s, batch, key):
        seen.append((batch[1], key))   # trace time: the step number and the key
        p = jax.tree.map(lambda a: a - 0.1, p)
        return p, s, jnp.sum(p["W"]), {"W": p["W"]}

    run = make_runner(step, lambda data, i, key: (data, i), 3, keep_aux=True)
    out = run(_params(), None, jnp.ones(2))
    assert seen[0][1] is None
    np.testing.assert_allclose(out.aux["W"][:, 0, 0], [-0.1, -0.2, -0.3], rtol=1e-6)
    np.testing.assert_allclose(out.losses, [-0.3, -0.6, -0.9], rtol=1e-6)


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_bad_step_counts_raise(n):
    with pytest.raises(JaxnnError, match="n_steps"):
        make_runner(lambda *a: a, lambda d, i, k: d, n)


def test_gradient_descent_is_the_engine_with_the_whole_set_each_step():
    from jaxnn.models import linear
    from jaxnn.train import gradient_descent

    cfg = linear.LinearConfig(3)
    loss_fn = functools.partial(linear.loss, config=cfg)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 3)).astype(np.float32)
    y = x @ np.array([1.0, -1.0, 2.0], np.float32)
    res = gradient_descent(loss_fn, linear.init(None, cfg), (x, y), steps=5,
                           learning_rate=0.1, record=lambda p: p["b"])
    p, losses, trace = linear.init(None, cfg), [], []
    for _ in range(5):
        loss, g = jax.value_and_grad(loss_fn)(p, (x, y))
        p = jax.tree.map(lambda a, b: a - 0.1 * b, p, g)
        losses.append(loss)
        trace.append(p["b"])
    chex.assert_trees_all_close(res.params, p, rtol=1e-6)
    np.testing.assert_allclose(res.losses, losses, rtol=1e-6)
    np.testing.assert_allclose(res.trace, np.stack(trace), rtol=1e-6)


def test_chunk_runner_is_the_engine_with_clipping_in_the_chain():
    from jaxnn_experiments._recurrent import adam_schedule, make_chunk_runner

    opt = adam_schedule(1e-2, 20, "cosine", clip_norm=0.5)
    sample = lambda k, d: _sample(d, None, k)  # noqa: E731
    run = make_chunk_runner(_loss, sample, opt, 5)
    key = jax.random.key(9)
    p, s, losses = run(_params(), opt.init(_params()), key, TRUE_W)
    engine = make_runner(make_train_step(_loss, opt), _sample, 5, step_keys=split_keys)
    out = engine(_params(), opt.init(_params()), TRUE_W, key)
    chex.assert_trees_all_equal(p, out.params)
    np.testing.assert_array_equal(losses, out.losses)
    assert len(opt.init(_params())) == 2  # (clip_by_global_norm, adam)
