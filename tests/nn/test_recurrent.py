"""Recurrent cells and scan unrolling: equations, loop equivalence, masks, options, bad input."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.nn import cells, recurrent as R
from jaxnn.nn import init as init_lib

CELLS = ("rnn", "lstm", "lstm_peephole", "gru", "gru_reset_after")
B, T, D, H = 3, 6, 4, 5


def _params(cell, key, dtype=jnp.float32):
    """init, then perturb every array so zero biases/peepholes do not hide mistakes."""
    p = R.init(key, cell, D, H, dtype=dtype)
    keys = jax.random.split(jax.random.key(7), len(p))
    return {k: v + 0.3 * jax.random.normal(kk, v.shape, v.dtype)
            for kk, (k, v) in zip(keys, sorted(p.items()))}


def _zeros_state(cell, b=B):
    z = jnp.zeros((b, H))
    return (z, z) if cell.startswith("lstm") else z


@pytest.fixture
def x():
    return jax.random.normal(jax.random.key(1), (B, T, D))


@pytest.mark.parametrize("cell,shapes", [
    ("rnn", {"W": (5, 4), "U": (5, 5), "b": (5,)}),
    ("lstm", {"W": (20, 4), "U": (20, 5), "b": (20,)}),
    ("lstm_peephole", {"W": (20, 4), "U": (20, 5), "b": (20,), "V_i": (5,), "V_f": (5,),
                       "V_o": (5,)}),
    ("gru", {"W": (15, 4), "U": (15, 5), "b": (15,)}),
    ("gru_reset_after", {"W": (15, 4), "U": (15, 5), "b": (15,), "bU": (5,)}),
])
def test_golden_parameter_shapes(cell, shapes, key):
    p = R.init(key, cell, D, H)
    assert {k: v.shape for k, v in p.items()} == shapes


def test_forget_bias_is_explicit_and_U_blocks_orthogonal(key):
    p = R.init(key, "lstm", D, H, forget_bias=2.5)
    np.testing.assert_array_equal(p["b"][H:2 * H], 2.5)
    np.testing.assert_array_equal(np.delete(np.asarray(p["b"]), np.s_[H:2 * H]), 0.0)
    for k in range(4):
        blk = p["U"][k * H:(k + 1) * H]
        np.testing.assert_allclose(blk @ blk.T, np.eye(H), atol=1e-5)


def test_chrono_init_spreads_the_forget_gate_time_scales(key):
    """Tallec & Ollivier 2018: b_f = log u, u ~ U[1, T_max - 1], b_i = -b_f, the rest as
    without it; the forget gate sigma(b_f) then lies in [1/2, 1 - 1/T_max]."""
    T = 500
    cell = cells.LSTM(chrono=T)
    hid = 64
    p = cell.init(key, D, hid)
    b_i, b_f, rest = p["b"][:hid], p["b"][hid:2 * hid], p["b"][2 * hid:]
    np.testing.assert_array_equal(b_i, -b_f)
    np.testing.assert_array_equal(rest, 0.0)
    assert float(jnp.min(b_f)) >= 0.0 and float(jnp.max(b_f)) <= np.log(T - 1) + 1e-6
    assert float(jnp.max(b_f)) > np.log(T / 4)                 # the long time scales drawn
    assert len(np.unique(np.asarray(b_f))) == hid               # one scale per unit
    chex.assert_trees_all_equal(
        {k: v for k, v in p.items() if k != "b"},
        {k: v for k, v in cells.LSTM().init(key, D, hid).items() if k != "b"})
    assert cells.get("lstm", chrono=T) == cell
    assert cells.get("gru", chrono=T) == cells.get("gru")       # not a GRU field: ignored
    for bad in (1, 0, 2.5, True, "500"):
        with pytest.raises(JaxnnError, match=f"got {bad!r}"):
            cells.LSTM(chrono=bad)


# --- the cells against the notes' equations written out gate by gate ---------------------

def _sig(v):
    return 1 / (1 + jnp.exp(-v))


def _blocks(m, g):
    return [m[k * H:(k + 1) * H] for k in range(g)]


def _reference_step(p, cell, state, x_t, act="tanh"):
    """Eq 177, 187–192, 193–196 and the reset-after GRU, one gate matrix at a time."""
    if cell == "rnn":
        f = jnp.tanh if act == "tanh" else _sig
        return f(state @ p["U"].T + x_t @ p["W"].T + p["b"]), None
    if cell.startswith("lstm"):
        h, c = state
        (Wi, Wf, Wc, Wo), (Ui, Uf, Uc, Uo) = _blocks(p["W"], 4), _blocks(p["U"], 4)
        bi, bf, bc, bo = _blocks(p["b"], 4)
        Vi, Vf, Vo = (p.get(n, jnp.zeros(H)) for n in ("V_i", "V_f", "V_o"))
        i = _sig(x_t @ Wi.T + h @ Ui.T + bi + c * Vi)            # eq 187
        f = _sig(x_t @ Wf.T + h @ Uf.T + bf + c * Vf)            # eq 188
        c_tilde = jnp.tanh(x_t @ Wc.T + h @ Uc.T + bc)           # eq 190
        c_new = f * c + i * c_tilde                              # eq 191
        o = _sig(x_t @ Wo.T + h @ Uo.T + bo + c_new * Vo)        # eq 189: o sees c_t
        return o * jnp.tanh(c_new), c_new                        # eq 192
    h = state
    (Wr, Wz, Wn), (Ur, Uz, Un), (br, bz, bn) = (_blocks(p[k], 3) for k in ("W", "U", "b"))
    r = _sig(x_t @ Wr.T + h @ Ur.T + br)                         # eq 193
    z = _sig(x_t @ Wz.T + h @ Uz.T + bz)                         # eq 194
    if cell == "gru":
        n = jnp.tanh(x_t @ Wn.T + (r * h) @ Un.T + bn)           # eq 195
    else:
        n = jnp.tanh(x_t @ Wn.T + r * (h @ Un.T + p["bU"]) + bn)
    return z * h + (1 - z) * n, None                             # eq 196


@pytest.mark.parametrize("cell,act", [(c, "tanh") for c in CELLS] + [("rnn", "sigmoid")])
def test_cell_step_matches_the_equations(cell, act, key):
    p = _params(cell, key)
    x_t = jax.random.normal(jax.random.key(3), (B, D))
    h = jax.random.normal(jax.random.key(4), (B, H))
    state = (h, -0.5 * h) if cell.startswith("lstm") else h
    with jax.numpy_rank_promotion("allow"):
        want_h, want_c = jax.jit(_reference_step, static_argnums=(1, 4))(p, cell, state, x_t, act)
    new, h_t = jax.jit(R.cell_step, static_argnums=1, static_argnames="activation")(
        p, cell, state, x_t, activation=act)
    np.testing.assert_allclose(h_t, want_h, rtol=1e-5, atol=1e-6)
    if want_c is not None:
        np.testing.assert_allclose(new[1], want_c, rtol=1e-5, atol=1e-6)


# --- scan -----------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
def test_scan_equals_python_loop_and_unroll_is_invisible(cell, key, x):
    p = _params(cell, key)
    state, hs_loop = _zeros_state(cell), []
    step = jax.jit(R.cell_step, static_argnums=1)
    for t in range(T):
        state, h_t = step(p, cell, state, x[:, t])
        hs_loop.append(h_t)
    hs, final = R.rnn(p, x, cell=cell)
    np.testing.assert_allclose(hs, jnp.stack(hs_loop, 1), rtol=1e-5, atol=1e-6)
    chex.assert_trees_all_close(final, state, rtol=1e-5, atol=1e-6)
    if cell not in ("lstm_peephole", "gru"):   # unroll is cell-independent: two cells suffice
        return
    for unroll in (2, T):
        hs_u, final_u = R.rnn(p, x, cell=cell, unroll=unroll)
        np.testing.assert_allclose(hs_u, hs, rtol=1e-6, atol=1e-6)
        chex.assert_trees_all_close(final_u, final, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cell,reverse", [(c, False) for c in CELLS]
                         + [("lstm", True), ("gru_reset_after", True)])
def test_masked_padded_batch_equals_sequences_one_by_one(cell, reverse, key, x):
    p = _params(cell, key)
    lengths = np.array([T, 2, 4])
    hs, final = R.rnn(p, x, cell=cell, lengths=jnp.asarray(lengths), reverse=reverse)
    hs_m, final_m = R.rnn(p, x, cell=cell, mask=np.arange(T)[None] < lengths[:, None],
                          reverse=reverse)
    np.testing.assert_array_equal(hs_m, hs)
    for b, n in enumerate(lengths):
        hs_b, final_b = R.rnn(p, x[b:b + 1, :n], cell=cell, reverse=reverse)
        np.testing.assert_allclose(hs[b, :n], hs_b[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(hs[b, n:], 0.0)
        chex.assert_trees_all_close(jax.tree.map(lambda s: s[b], final),
                                    jax.tree.map(lambda s: s[0], final_b), rtol=1e-5, atol=1e-6)


def test_bidirectional_halves_are_forward_and_reverse_runs(key, x):
    p = {"fwd": _params("gru", key), "bwd": _params("gru", jax.random.key(9))}
    lengths = jnp.array([T, 3, 5])
    hs, (sf, sb) = R.bidirectional(p, x, cell="gru", lengths=lengths)
    assert hs.shape == (B, T, 2 * H)
    hf, sf2 = R.rnn(p["fwd"], x, cell="gru", lengths=lengths)
    hb, sb2 = R.rnn(p["bwd"], x, cell="gru", lengths=lengths, reverse=True)
    np.testing.assert_array_equal(hs[..., :H], hf)
    np.testing.assert_array_equal(hs[..., H:], hb)
    # The backward half of sequence 1 starts at its own last step, index 2.
    _, last = R.cell_step(p["bwd"], "gru", jnp.zeros((1, H)), x[1:2, 2])
    np.testing.assert_allclose(hs[1, 2, H:], last[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("impl", R.IMPLS)
def test_remat_and_jit_change_nothing(impl, key, x):
    p = _params("lstm_peephole", key)

    def loss(p, remat):
        hs, (h, c) = R.rnn(p, x, cell="lstm_peephole", remat=remat, impl=impl)
        return jnp.sum(hs ** 2) + jnp.sum(c)

    grad = jax.jit(jax.grad(loss), static_argnums=1)
    chex.assert_trees_all_close(grad(p, True), grad(p, False), rtol=1e-5, atol=1e-6)
    hs_jit, _ = jax.jit(lambda p, x: R.rnn(p, x, cell="lstm_peephole", impl=impl))(p, x)
    np.testing.assert_allclose(hs_jit, R.rnn(p, x, cell="lstm_peephole", impl=impl)[0],
                               rtol=1e-6, atol=1e-6)


def test_truncated_bptt_same_values_cut_gradients(key, x):
    p = _params("lstm", key)
    hs, final = R.rnn(p, x, cell="lstm")
    hs_t, final_t = R.truncated_rnn(p, x, cell="lstm", chunk=3)
    np.testing.assert_allclose(hs_t, hs, rtol=1e-6, atol=1e-6)

    def last_step(x, fn, **kw):        # depends on x[:, :3] only through the chunk boundary
        return jnp.sum(fn(p, x, cell="lstm", **kw)[0][:, -1])

    g_full = jax.grad(last_step)(x, R.rnn)
    g_trunc = jax.grad(last_step)(x, R.truncated_rnn, chunk=3)
    assert np.abs(g_full[:, :3]).max() > 1e-4
    np.testing.assert_array_equal(g_trunc[:, :3], 0.0)
    np.testing.assert_allclose(g_trunc[:, 3:], g_full[:, 3:], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("impl", ["autodiff", "custom_vjp"])
@pytest.mark.parametrize("cell", CELLS)
def test_truncated_bptt_equals_a_loop_over_detached_chunks(cell, impl, key, x):
    """Only the states handed between chunks are detached: state0 still gets its gradient."""
    p = _params(cell, key)
    h0 = jax.random.normal(jax.random.key(4), (B, H))
    s0 = (h0, -0.5 * h0) if cell.startswith("lstm") else h0
    lengths = jnp.array([T, 2, 5])
    chunk = 2

    def score(hs, final):
        return jnp.sum(jnp.sin(hs)) + sum(jnp.sum(v ** 2) for v in jax.tree.leaves(final))

    def loss_trunc(p, s0):
        return score(*R.truncated_rnn(p, x, cell=cell, chunk=chunk, state0=s0, impl=impl,
                                      lengths=lengths))

    def loss_loop(p, s0):
        state, outs = s0, []
        for k in range(T // chunk):
            if k:
                state = jax.tree.map(jax.lax.stop_gradient, state)
            hs, state = R.rnn(p, x[:, k * chunk:(k + 1) * chunk], cell=cell, state0=state,
                              impl=impl, lengths=jnp.clip(lengths - k * chunk, 0, chunk))
            outs.append(hs)
        return score(jnp.concatenate(outs, 1), state)

    g_trunc = jax.jit(jax.grad(loss_trunc, (0, 1)))(p, s0)
    g_loop = jax.jit(jax.grad(loss_loop, (0, 1)))(p, s0)
    chex.assert_trees_all_close(g_trunc, g_loop, rtol=1e-5, atol=1e-6)
    assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(g_trunc[1])) > 1e-3


def test_impl_auto_is_the_default_and_picks_the_hand_backward(key, x):
    assert R.DEFAULT_IMPL == "auto"
    for cell in CELLS:
        assert R.resolve_impl(cells.get(cell), "auto") == "custom_vjp"
    p = _params("gru", key)
    f = lambda p, impl: jnp.sum(R.rnn(p, x, cell="gru", impl=impl)[0] ** 2)  # noqa: E731
    chex.assert_trees_all_equal(jax.grad(f)(p, "auto"), jax.grad(f)(p, "custom_vjp"))
    with pytest.raises(JaxnnError, match="'fast'"):
        R.rnn(p, x, cell="gru", impl="fast")


def test_cell_objects_and_names_are_the_same_cells(key, x):
    assert cells.get("lstm_peephole") == cells.LSTM(peephole=True)
    assert cells.get("gru_reset_after") == cells.GRU(reset_after=True)
    assert cells.get("rnn", activation="sigmoid") == cells.SimpleRNN(activation="sigmoid")
    assert hash(cells.LSTM(forget_bias=2.5)) == hash(cells.get("lstm", forget_bias=2.5))
    # the string keywords stay thin aliases of the fields
    chex.assert_trees_all_equal(R.init(key, "lstm", D, H, forget_bias=2.5),
                                cells.LSTM(forget_bias=2.5).init(key, D, H))
    p = _params("rnn", key)
    np.testing.assert_array_equal(R.rnn(p, x, cell="rnn", activation="sigmoid")[0],
                                  R.rnn(p, x, cell=cells.SimpleRNN(activation="sigmoid"))[0])
    with pytest.raises(JaxnnError, match="'relu'"):
        cells.SimpleRNN(activation="relu")


def test_orthogonal_init_is_public_and_the_U_default(key):
    q = init_lib.orthogonal(key, (6, 4))
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)
    np.testing.assert_allclose(init_lib.orthogonal(key, (3, 5)) @ init_lib.orthogonal(
        key, (3, 5)).T, np.eye(3), atol=1e-5)
    _, ku = jax.random.split(key)
    U0 = init_lib.orthogonal(jax.random.split(ku, 3)[0], (H, H))
    np.testing.assert_array_equal(R.init(key, "gru", D, H)["U"][:H], U0)


def test_time_mask_from_lengths_or_mask():
    m = R.time_mask(jnp.array([2, 0, 3]), None, 3, 3)
    assert m.shape == (3, 3, 1) and m.dtype == jnp.bool_
    np.testing.assert_array_equal(m[..., 0].T, [[1, 1, 0], [0, 0, 0], [1, 1, 1]])
    np.testing.assert_array_equal(R.time_mask(None, m[..., 0].T, 3, 3), m)
    assert R.time_mask(None, None, 3, 3) is None


def test_state0_is_used(key, x):
    p = _params("gru", key)
    h0 = jnp.ones((B, H))
    hs, _ = R.rnn(p, x, cell="gru", state0=h0)
    _, h1 = R.cell_step(p, "gru", h0, x[:, 0])
    np.testing.assert_allclose(hs[:, 0], h1, rtol=1e-5, atol=1e-6)


# --- bad input ----------------------------------------------------------------------------

def test_bad_input_raises_with_the_value(key, x):
    p = R.init(key, "lstm", D, H)
    with pytest.raises(JaxnnError, match="'lstmm'"):
        R.init(key, "lstmm", D, H)
    with pytest.raises(JaxnnError, match="'gru_reset_middle'"):
        R.rnn(R.init(key, "gru", D, H), x, cell="gru_reset_middle")
    with pytest.raises(ShapeError, match=r"\(3, 0, 4\)"):
        R.rnn(p, x[:, :0], cell="lstm")
    with pytest.raises(JaxnnError, match=r"\[7\]"):
        R.rnn(p, x, cell="lstm", lengths=jnp.array([6, 7, 1]))
    with pytest.raises(JaxnnError, match=r"\[-1\]"):
        R.rnn(p, x, cell="lstm", lengths=jnp.array([6, -1, 1]))
    with pytest.raises(ShapeError, match=r"\(3, 4\)"):
        R.rnn(p, x, cell="lstm", state0=(jnp.zeros((B, H)), jnp.zeros((B, H - 1))))
    with pytest.raises(ShapeError, match="pair"):
        R.rnn(p, x, cell="lstm", state0=jnp.zeros((B, H)))
    with pytest.raises(ShapeError, match=r"\(3, 7\)"):
        R.cell_step(R.init(key, "gru", D, H), "gru", jnp.zeros((B, H + 2)), x[:, 0])
    with pytest.raises(ShapeError, match="x has 2 features"):
        R.rnn(p, x[..., :2], cell="lstm")
    with pytest.raises(JaxnnError, match="keys"):
        R.rnn(p, x, cell="lstm_peephole")
    with pytest.raises(JaxnnError, match="not both"):
        R.rnn(p, x, cell="lstm", lengths=jnp.array([1, 2, 3]), mask=jnp.ones((B, T), bool))
    with pytest.raises(JaxnnError, match="chunk 4"):
        R.truncated_rnn(p, x, cell="lstm", chunk=4)
    with pytest.raises(JaxnnError, match="'relu'"):
        R.rnn(R.init(key, "rnn", D, H), x, cell="rnn", activation="relu")
