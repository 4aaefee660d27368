"""The recurrent language model: shapes, the scan against a loop of cell steps, dropout,
truncated BPTT state carry, gradients in float64, learning, scoring, sampling steps, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import check
from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models import language as lm
from jaxnn.nn import recurrent

V = 11
# jitted once per config (eager calls would compile every scan again); the bad-input test
# calls the unjitted functions, whose id checks need concrete arrays
apply = jax.jit(lm.apply, static_argnames=("config", "train"))


def _ids(shape, seed=0, v=V):
    return jnp.asarray(np.random.default_rng(seed).integers(0, v, shape), jnp.int32)


@pytest.mark.parametrize("cell,layers,tie", [("lstm", 1, False), ("gru", 2, True)])
def test_shapes(cell, layers, tie):
    cfg = lm.LMConfig(vocab_size=V, m=6, h=6, layers=layers, cell=cell, tie=tie)
    p = lm.init(jax.random.key(0), cfg)
    assert p["C"].shape == (V, 6) and len(p["rnn"]) == layers
    assert p["output"]["b"].shape == (V,)
    assert ("U" in p["output"]) is not tie
    logits, state = apply(p, _ids((3, 7)), config=cfg)
    assert logits.shape == (3, 7, V) and logits.dtype == jnp.float32
    zero = lm.initial_state(cfg, 3)
    assert jax.tree.structure(state) == jax.tree.structure(zero)
    assert all(s.shape == (3, 6) for s in jax.tree.leaves(state))
    J, _ = jax.jit(lm.loss, static_argnames="config")(p, (_ids((3, 7)), _ids((3, 7), 1)),
                                                       config=cfg)
    assert J.shape == () and abs(float(J) - np.log(V)) < 1.0      # near uniform at init


def test_init_scale_draws_everything_uniformly():
    cfg = lm.LMConfig(vocab_size=V, m=4, h=5, cell="gru", init_scale=0.05)
    leaves = jax.tree.leaves(lm.init(jax.random.key(0), cfg))
    assert all(float(jnp.max(jnp.abs(x))) <= 0.05 for x in leaves)
    assert all(float(jnp.std(x)) > 0.01 for x in leaves)          # biases drawn too
    b = lm.init(jax.random.key(0), lm.LMConfig(V, 4, 5, init_scale=0.05))["rnn"][0]["b"]
    np.testing.assert_array_equal(b[5:10], 1.0)                   # the LSTM's forget bias


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_scan_equals_a_python_loop_of_cell_steps(cell):
    cfg = lm.LMConfig(vocab_size=V, m=4, h=5, layers=2, cell=cell)
    p = lm.init(jax.random.key(1), cfg)
    ids = _ids((2, 6), 3)
    logits, final = apply(p, ids, config=cfg)
    state = list(lm.initial_state(cfg, 2))
    for t in range(ids.shape[1]):
        x = p["C"][ids[:, t]]
        for i, lp in enumerate(p["rnn"]):
            state[i], x = recurrent.cell_step(lp, cell, state[i], x)
        want = x @ p["output"]["U"].T + p["output"]["b"][None, :]
        np.testing.assert_allclose(logits[:, t], want, rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree.leaves(final), jax.tree.leaves(tuple(state))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_dropout_only_when_training():
    cfg = lm.LMConfig(vocab_size=V, m=8, h=8, layers=2, dropout=0.5)
    p = lm.init(jax.random.key(0), cfg)
    ids = _ids((4, 5))
    plain, _ = apply(p, ids, config=cfg)
    evaluated, _ = apply(p, ids, config=cfg, key=jax.random.key(1), train=False)
    np.testing.assert_array_equal(plain, evaluated)
    t1, _ = apply(p, ids, config=cfg, key=jax.random.key(1), train=True)
    t1b, _ = apply(p, ids, config=cfg, key=jax.random.key(1), train=True)
    t2, _ = apply(p, ids, config=cfg, key=jax.random.key(2), train=True)
    np.testing.assert_array_equal(t1, t1b)                          # reproducible from the key
    assert float(jnp.max(jnp.abs(t1 - plain))) > 1e-3
    assert float(jnp.max(jnp.abs(t1 - t2))) > 1e-3
    with pytest.raises(JaxnnError, match="key"):
        apply(p, ids, config=cfg, train=True)
    no_drop = lm.LMConfig(vocab_size=V, m=8, h=8, layers=2)
    same, _ = apply(p, ids, config=no_drop, key=jax.random.key(1), train=True)
    np.testing.assert_array_equal(same, plain)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_state_carry_across_two_chunks_equals_one_long_chunk(cell):
    cfg = lm.LMConfig(vocab_size=V, m=4, h=5, layers=2, cell=cell)
    p = lm.init(jax.random.key(2), cfg)
    ids = _ids((3, 10), 4)
    whole, s_whole = apply(p, ids, config=cfg)
    first, s1 = apply(p, ids[:, :4], config=cfg)
    second, s2 = apply(p, ids[:, 4:], config=cfg, state=s1)
    np.testing.assert_allclose(jnp.concatenate([first, second], 1), whole, rtol=1e-5, atol=1e-6)
    for a, b in zip(jax.tree.leaves(s2), jax.tree.leaves(s_whole)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the loss stops the gradient at the carried state: d loss / d state = 0
    y = _ids((3, 6), 5)
    g = jax.grad(lambda s: lm.loss(p, (ids[:, 4:], y), config=cfg, state=s)[0])(s1)
    assert all(float(jnp.max(jnp.abs(x))) == 0.0 for x in jax.tree.leaves(g))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gradient_hand_bptt_autodiff_and_finite_differences_agree(x64, cell):
    # closed form: jax.grad through the cells' hand BPTT (custom VJP); f: the same loss with
    # autodiff through the scan; the checker also compares against central differences
    cfg_hand = lm.LMConfig(vocab_size=7, m=3, h=4, layers=2, cell=cell, impl="custom_vjp",
                           dtype="float64")
    cfg_auto = lm.LMConfig(vocab_size=7, m=3, h=4, layers=2, cell=cell, impl="autodiff",
                           dtype="float64")
    p = lm.init(jax.random.key(0), cfg_hand)
    batch = (_ids((2, 5), 1, 7), _ids((2, 5), 2, 7))
    state = jax.tree.map(lambda z: z + 0.3, lm.initial_state(cfg_hand, 2))

    def J(params, cfg):
        return lm.loss(params, batch, config=cfg, state=state)[0]

    check.assert_gradient(jax.jit(jax.grad(lambda q: J(q, cfg_hand))),
                          lambda q: J(q, cfg_auto), p, rtol=1e-9, atol=1e-11, fd_directions=3)


def test_the_model_learns_a_deterministic_sequence():
    from jaxnn.data.text import stream_batches

    stream = np.tile(np.array([0, 3, 1, 4, 1, 2], np.int32), 200)   # next id fixed by two
    cfg = lm.LMConfig(vocab_size=5, m=8, h=16, cell="lstm")
    p = lm.init(jax.random.key(0), cfg)
    opt = optax.adam(3e-2)
    x, y = stream_batches(stream, 4, 12)
    run = lm.make_stream_trainer(cfg, opt)
    o, s = opt.init(p), lm.initial_state(cfg, 4)
    losses = []
    for epoch in range(12):
        p, o, s, ls = run(p, o, s, x, y, jax.random.key(epoch))
        losses += list(np.asarray(ls))
    assert losses[0] > 1.0 and losses[-1] < 0.05
    lp = lm.logprob(p, stream[:60], 6, config=cfg)
    assert lp.shape == (54,) and float(np.exp(lp).min()) > 0.9     # every next id is right


def test_logprob_counts_every_token_and_matches_apply():
    cfg = lm.LMConfig(vocab_size=V, m=4, h=5, layers=2, cell="gru")
    p = lm.init(jax.random.key(3), cfg)
    stream = np.asarray(_ids((80,), 6))
    logits, _ = apply(p, stream[None, :-1], config=cfg)
    want = np.asarray(jax.nn.log_softmax(logits[0]))[np.arange(79), stream[1:]]
    full = lm.logprob(p, stream, config=cfg, chunk=7)
    assert full.shape == (79,) and full.dtype == np.float64
    np.testing.assert_allclose(full, want, atol=1e-5)
    part = lm.logprob(p, stream, 30, 71, config=cfg, chunk=7)      # history from the stream
    np.testing.assert_allclose(part, want[29:70], atol=1e-5)
    rows = lm.logprob(p, stream, 30, 71, config=cfg, chunk=7, rows=4, context=100)
    np.testing.assert_allclose(rows, want[29:70], atol=1e-5)
    short = lm.logprob(p, stream, 30, 71, config=cfg, chunk=7, rows=4, context=4)
    assert short.shape == (41,) and np.all(short < 0)
    with pytest.raises(JaxnnError, match="start"):
        lm.logprob(p, stream, 0, config=cfg)
    with pytest.raises(JaxnnError, match="context"):
        lm.logprob(p, stream, 5, config=cfg, rows=2)


def test_step_fn_reproduces_apply_token_by_token():
    cfg = lm.LMConfig(vocab_size=V, m=4, h=5, layers=2)
    p = lm.init(jax.random.key(4), cfg)
    ids = np.asarray(_ids((6,), 7))
    logits, _ = apply(p, ids[None, :], config=cfg)
    step = jax.jit(lm.make_step_fn(p, config=cfg))
    state = lm.initial_state(cfg, 1)
    for t, tok in enumerate(ids):
        out, state = step(state, tok)
        assert out.shape == (V,)
        np.testing.assert_allclose(out, logits[0, t], rtol=1e-5, atol=1e-6)


def test_bad_input():
    cfg = lm.LMConfig(vocab_size=V, m=4, h=4)
    p = lm.init(jax.random.key(0), cfg)
    with pytest.raises(JaxnnError, match=r"token id 11 .*\[0, 11\)"):
        lm.apply(p, jnp.asarray([[1, 11, 2]]), config=cfg)
    with pytest.raises(JaxnnError, match="token id -1"):
        lm.loss(p, (jnp.asarray([[1, 2]]), jnp.asarray([[2, -1]])), config=cfg)
    with pytest.raises(ShapeError, match="batch, time"):
        lm.apply(p, jnp.asarray([1, 2, 3]), config=cfg)
    with pytest.raises(JaxnnError, match="integer"):
        lm.apply(p, jnp.ones((1, 3)), config=cfg)
    with pytest.raises(ShapeError, match="targets"):
        lm.loss(p, (jnp.ones((2, 3), jnp.int32), jnp.ones((2, 4), jnp.int32)), config=cfg)
    with pytest.raises(JaxnnError, match="token id 20"):
        lm.logprob(p, np.array([1, 2, 20]), config=cfg)
    with pytest.raises(JaxnnError, match="tie"):
        lm.LMConfig(vocab_size=V, m=4, h=5, tie=True)
    with pytest.raises(JaxnnError, match="dropout"):
        lm.LMConfig(vocab_size=V, m=4, h=4, dropout=1.0)
    with pytest.raises(JaxnnError, match="cell"):
        lm.LMConfig(vocab_size=V, m=4, h=4, cell="transformer")
    with pytest.raises(JaxnnError, match="layers"):
        lm.apply(p, jnp.ones((1, 3), jnp.int32), config=lm.LMConfig(V, 4, 4, layers=2))
