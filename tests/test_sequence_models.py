"""jaxnn.models.sequence: recurrent core + dense readout, many-to-one."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models import sequence as M
from jaxnn.nn import recurrent

CELLS = ["rnn", "lstm", "lstm_peephole", "gru", "gru_reset_after"]


def _last_h(params, cell, x):
    """h_T by stepping the cell in a Python loop (independent of the scan in apply)."""
    B, T, _ = x.shape
    H = params["rnn"]["U"].shape[1]
    z = jnp.zeros((B, H), x.dtype)
    state = (z, z) if cell.startswith("lstm") else z
    for t in range(T):
        state, h = recurrent.cell_step(params["rnn"], cell, state, x[:, t])
    return h


@pytest.mark.parametrize("cell", CELLS)
def test_apply_reads_out_the_last_state(key, cell):
    params = M.init(key, cell, 3, 5, 2)
    assert params["W"].shape == (2, 5) and params["b"].shape == (2,)
    x = jax.random.normal(jax.random.key(1), (4, 6, 3))
    out = M.apply(params, x, cell=cell)
    assert out.shape == (4, 2)
    h = _last_h(params, cell, x)
    np.testing.assert_allclose(out, h @ params["W"].T + params["b"][None, :], rtol=1e-5, atol=1e-6)


def test_lengths_use_each_sequences_last_valid_state(key):
    params = M.init(key, "gru", 2, 4, 1)
    x = jax.random.normal(jax.random.key(2), (3, 7, 2))
    lengths = jnp.array([7, 3, 1])
    out = M.apply(params, x, cell="gru", lengths=lengths)
    for b, n in enumerate([7, 3, 1]):
        alone = M.apply(params, x[b:b + 1, :n], cell="gru")
        np.testing.assert_allclose(out[b], alone[0], rtol=1e-5, atol=1e-6)


def test_losses_match_their_definitions(key):
    params = M.init(key, "lstm", 2, 4, 3)
    x = jax.random.normal(jax.random.key(3), (5, 4, 2))
    out = np.asarray(M.apply(params, x, cell="lstm"), np.float64)
    y = np.asarray(jax.random.normal(jax.random.key(4), (5, 3)))
    mse = M.loss(params, (x, y), cell="lstm", task="mse")
    assert float(mse) == pytest.approx(np.sum((out - y) ** 2) / 5, rel=1e-5)
    labels = np.array([0, 2, 1, 1, 0])
    logp = out - np.log(np.exp(out).sum(1, keepdims=True))
    ce = M.loss(params, (x, labels), cell="lstm", task="cross_entropy")
    assert float(ce) == pytest.approx(-logp[np.arange(5), labels].mean(), rel=1e-5)


def test_scalar_targets_for_one_output(key):
    params = M.init(key, "rnn", 2, 4, 1)
    x = jax.random.normal(jax.random.key(3), (5, 4, 2))
    y = jnp.arange(5.0)
    a = M.loss(params, (x, y), cell="rnn")
    b = M.loss(params, (x, y[:, None]), cell="rnn")
    assert float(a) == pytest.approx(float(b))


def test_readout_gradient_closed_form(x64, key):
    # J = (1/B) Σ_b ‖W h_b + b − y_b‖²  ⇒  ∂J/∂W = (2/B) Σ_b (ŷ_b − y_b) h_bᵀ,
    # ∂J/∂b = (2/B) Σ_b (ŷ_b − y_b)
    params = jax.tree.map(lambda a: a.astype(jnp.float64), M.init(key, "gru", 3, 4, 2))
    x = jax.random.normal(jax.random.key(5), (6, 5, 3), jnp.float64)
    y = jax.random.normal(jax.random.key(6), (6, 2), jnp.float64)
    g = jax.grad(M.loss)(params, (x, y), cell="gru")
    h = _last_h(params, "gru", x)
    r = h @ params["W"].T + params["b"][None, :] - y
    np.testing.assert_allclose(g["W"], 2 / 6 * r.T @ h, rtol=1e-10)
    np.testing.assert_allclose(g["b"], 2 / 6 * r.sum(0), rtol=1e-10)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_jit_equals_no_jit(key, cell):
    params = M.init(key, cell, 2, 3, 2)
    x = jax.random.normal(jax.random.key(7), (4, 5, 2))
    labels = jnp.array([0, 1, 1, 0])
    chex.assert_trees_all_close(jax.jit(M.apply, static_argnames="cell")(params, x, cell=cell),
                                M.apply(params, x, cell=cell), rtol=1e-6)
    lf = lambda p, b: M.loss(p, b, cell=cell, task="cross_entropy")  # noqa: E731
    chex.assert_trees_all_close(jax.jit(lf)(params, (x, labels)), lf(params, (x, labels)),
                                rtol=1e-6)
    chex.assert_trees_all_close(jax.jit(jax.grad(lf))(params, (x, labels)),
                                jax.grad(lf)(params, (x, labels)), rtol=1e-5, atol=1e-7)


def test_bad_input(key):
    with pytest.raises(JaxnnError, match="'elman'"):
        M.init(key, "elman", 2, 3, 1)
    with pytest.raises(JaxnnError, match="output_size.*0"):
        M.init(key, "rnn", 2, 3, 0)
    params = M.init(key, "lstm", 2, 3, 1)
    with pytest.raises(ShapeError, match=r"\(4, 2\)"):
        M.apply(params, jnp.zeros((4, 2)), cell="lstm")
    with pytest.raises(ShapeError, match="3 features"):
        M.apply(params, jnp.zeros((4, 5, 3)), cell="lstm")
    with pytest.raises(JaxnnError, match="'gru'"):  # params of another cell
        M.apply(params, jnp.zeros((4, 5, 2)), cell="gru")
    with pytest.raises(JaxnnError, match="'rnn_params'"):
        M.apply({"rnn_params": params["rnn"], "W": params["W"], "b": params["b"]},
                jnp.zeros((4, 5, 2)), cell="lstm")
    with pytest.raises(ShapeError, match=r"\(4, 3\)"):
        M.loss(params, (jnp.zeros((4, 5, 2)), jnp.zeros((4, 3))), cell="lstm")
    with pytest.raises(JaxnnError, match="'hinge'"):
        M.loss(params, (jnp.zeros((4, 5, 2)), jnp.zeros((4,))), cell="lstm", task="hinge")
    with pytest.raises(ShapeError, match="at least 1 time step"):
        M.apply(params, jnp.zeros((4, 0, 2)), cell="lstm")
