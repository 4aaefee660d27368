"""jaxnn.models.sequence: recurrent core + dense readout, many-to-one."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models import sequence as M
from jaxnn.nn import cells, recurrent
from jaxnn.nn.init import glorot_uniform

CELLS = ["rnn", "lstm", "lstm_peephole", "gru", "gru_reset_after"]


def _cfg(cell, D, H, O, **kw):
    return M.SequenceConfig(cell, D, H, O, **kw)


def _last_h(params, cell, x):
    """h_T by stepping the cell in a Python loop (independent of the scan in apply)."""
    B, T, _ = x.shape
    H = params["rnn"]["U"].shape[1]
    state = cells.get(cell).init_state(B, H, x.dtype)
    for t in range(T):
        state, h = recurrent.cell_step(params["rnn"], cell, state, x[:, t])
    return h


@pytest.mark.parametrize("cell", CELLS)
def test_apply_reads_out_the_last_state(key, cell):
    cfg = _cfg(cell, 3, 5, 2)
    params = M.init(key, cfg)
    ro = params["readout"]
    assert set(params) == {"rnn", "readout"}
    assert ro["W"].shape == (2, 5) and ro["b"].shape == (2,)
    x = jax.random.normal(jax.random.key(1), (4, 6, 3))
    out = M.apply(params, x, config=cfg)
    assert out.shape == (4, 2)
    h = _last_h(params, cell, x)
    np.testing.assert_allclose(out, h @ ro["W"].T + ro["b"][None, :], rtol=1e-5, atol=1e-6)


def test_lengths_use_each_sequences_last_valid_state(key):
    cfg = _cfg("gru", 2, 4, 1)
    params = M.init(key, cfg)
    x = jax.random.normal(jax.random.key(2), (3, 7, 2))
    lengths = jnp.array([7, 3, 1])
    out = M.apply(params, x, config=cfg, lengths=lengths)
    for b, n in enumerate([7, 3, 1]):
        alone = M.apply(params, x[b:b + 1, :n], config=cfg)
        np.testing.assert_allclose(out[b], alone[0], rtol=1e-5, atol=1e-6)
    # lengths also ride in the batch of loss
    y = jnp.arange(3.0)
    with_len = M.loss(params, (x, y, lengths), config=cfg)
    assert float(with_len) == pytest.approx(float(np.mean((np.asarray(out)[:, 0] - y) ** 2)),
                                             rel=1e-5)


def test_losses_match_their_definitions(key):
    cfg = _cfg("lstm", 2, 4, 3)
    params = M.init(key, cfg)
    x = jax.random.normal(jax.random.key(3), (5, 4, 2))
    out = np.asarray(M.apply(params, x, config=cfg), np.float64)
    y = np.asarray(jax.random.normal(jax.random.key(4), (5, 3)))
    mse = M.loss(params, (x, y), config=cfg)
    assert float(mse) == pytest.approx(np.sum((out - y) ** 2) / 5, rel=1e-5)
    labels = np.array([0, 2, 1, 1, 0])
    logp = out - np.log(np.exp(out).sum(1, keepdims=True))
    ce = M.loss(params, (x, labels), config=_cfg("lstm", 2, 4, 3, task="cross_entropy"))
    assert float(ce) == pytest.approx(-logp[np.arange(5), labels].mean(), rel=1e-5)


def test_scalar_targets_for_one_output(key):
    cfg = _cfg("rnn", 2, 4, 1)
    params = M.init(key, cfg)
    x = jax.random.normal(jax.random.key(3), (5, 4, 2))
    y = jnp.arange(5.0)
    a = M.loss(params, (x, y), config=cfg)
    b = M.loss(params, (x, y[:, None]), config=cfg)
    assert float(a) == pytest.approx(float(b))


def test_readout_gradient_closed_form(x64, key):
    # J = (1/B) Σ_b ‖W h_b + b − y_b‖²  ⇒  ∂J/∂W = (2/B) Σ_b (ŷ_b − y_b) h_bᵀ,
    # ∂J/∂b = (2/B) Σ_b (ŷ_b − y_b)
    cfg = _cfg("gru", 3, 4, 2)
    params = jax.tree.map(lambda a: a.astype(jnp.float64), M.init(key, cfg))
    x = jax.random.normal(jax.random.key(5), (6, 5, 3), jnp.float64)
    y = jax.random.normal(jax.random.key(6), (6, 2), jnp.float64)
    g = jax.grad(M.loss)(params, (x, y), config=cfg)["readout"]
    h = _last_h(params, "gru", x)
    ro = params["readout"]
    r = h @ ro["W"].T + ro["b"][None, :] - y
    np.testing.assert_allclose(g["W"], 2 / 6 * r.T @ h, rtol=1e-10)
    np.testing.assert_allclose(g["b"], 2 / 6 * r.sum(0), rtol=1e-10)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_jit_equals_no_jit(key, cell):
    cfg = _cfg(cell, 2, 3, 2, task="cross_entropy")
    params = M.init(key, cfg)
    x = jax.random.normal(jax.random.key(7), (4, 5, 2))
    labels = jnp.array([0, 1, 1, 0])
    chex.assert_trees_all_close(jax.jit(M.apply, static_argnames="config")(params, x, config=cfg),
                                M.apply(params, x, config=cfg), rtol=1e-6)
    lf = lambda p, b: M.loss(p, b, config=cfg)  # noqa: E731
    chex.assert_trees_all_close(jax.jit(lf)(params, (x, labels)), lf(params, (x, labels)),
                                rtol=1e-6)
    chex.assert_trees_all_close(jax.jit(jax.grad(lf))(params, (x, labels)),
                                jax.grad(lf)(params, (x, labels)), rtol=1e-5, atol=1e-7)


def test_bad_input(key):
    with pytest.raises(JaxnnError, match="'elman'"):
        M.init(key, _cfg("elman", 2, 3, 1))
    with pytest.raises(JaxnnError, match="output_size.*0"):
        M.init(key, _cfg("rnn", 2, 3, 0))
    cfg = _cfg("lstm", 2, 3, 1)
    params = M.init(key, cfg)
    with pytest.raises(ShapeError, match=r"\(4, 2\)"):
        M.apply(params, jnp.zeros((4, 2)), config=cfg)
    with pytest.raises(ShapeError, match="3 features"):
        M.apply(params, jnp.zeros((4, 5, 3)), config=cfg)
    with pytest.raises(JaxnnError, match="'gru'"):  # params of another cell
        M.apply(params, jnp.zeros((4, 5, 2)), config=_cfg("gru", 2, 3, 1))
    with pytest.raises(JaxnnError, match="'rnn_params'"):
        M.apply({"rnn_params": params["rnn"], "readout": params["readout"]},
                jnp.zeros((4, 5, 2)), config=cfg)
    with pytest.raises(ShapeError, match=r"\(4, 3\)"):
        M.loss(params, (jnp.zeros((4, 5, 2)), jnp.zeros((4, 3))), config=cfg)
    with pytest.raises(JaxnnError, match="'hinge'"):
        _cfg("lstm", 2, 3, 1, task="hinge")
    with pytest.raises(ShapeError, match="at least 1 time step"):
        M.apply(params, jnp.zeros((4, 0, 2)), config=cfg)
    with pytest.raises(JaxnnError, match="SequenceConfig"):
        M.apply(params, jnp.zeros((4, 5, 2)), config="lstm")


def test_config_is_hashable_and_takes_cell_objects(key):
    cfg = _cfg(cells.LSTM(forget_bias=0.0), 2, 3, 1)
    assert hash(cfg) == hash(_cfg(cells.LSTM(forget_bias=0.0), 2, 3, 1))
    assert _cfg("lstm", 2, 3, 1).core == cells.LSTM()
    p_obj = M.init(key, cfg)
    p_str = M.init(key, _cfg("lstm", 2, 3, 1, forget_bias=0.0))
    chex.assert_trees_all_equal(p_obj, p_str)
    np.testing.assert_array_equal(p_obj["rnn"]["b"], 0.0)
    chrono = M.init(key, _cfg("lstm", 2, 3, 1, chrono=50))["rnn"]
    chex.assert_trees_all_equal(chrono, cells.LSTM(chrono=50).init(jax.random.split(key)[0],
                                                                  2, 3))
    # the readout is jaxnn.nn.init.glorot_uniform on the second key of one split
    _, k_out = jax.random.split(key)
    np.testing.assert_array_equal(p_obj["readout"]["W"], glorot_uniform(k_out, (1, 3)))
    x = jax.random.normal(jax.random.key(8), (2, 4, 2))
    sig = _cfg(cells.SimpleRNN(activation="sigmoid"), 2, 3, 1)
    out = M.apply(M.init(key, sig), x, config=sig)
    h = _last_h(M.init(key, sig), cells.SimpleRNN(activation="sigmoid"), x)
    assert float(jnp.min(h)) > 0.0                        # σ, not tanh
    ro = M.init(key, sig)["readout"]
    np.testing.assert_allclose(out, h @ ro["W"].T + ro["b"][None, :], rtol=1e-5, atol=1e-6)
