"""The cell protocol proven from outside the library: a cell defined here, with no library code,
runs through every option of jaxnn.nn.recurrent; its hand backward meets autodiff in float64.

The cell is the additive recurrence of Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 184–186:
``h_t = h_{t−1} + g(x_t, h_{t−1}; θ)`` with ``g = tanh(U h_{t−1} + W x_t + b)``. Its step
backward, with ``dh = ∂J/∂h_t`` and ``g_t`` kept from the forward pass::

    δa_t = dh ⊙ (1 − g_t²),       ∂J/∂h_{t−1} = dh + Uᵀ δa_t,       ∂J/∂U = Σ_t δa_t h_{t−1}ᵀ
"""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.extend.core import jaxprs_in_params

from jaxnn.errors import JaxnnError
from jaxnn.nn import cells
from jaxnn.nn import recurrent as R
from jaxnn.nn.cells import base

B, T, D, H = 3, 6, 4, 5
TOL64 = dict(rtol=1e-10, atol=1e-12)


@dataclasses.dataclass(frozen=True)
class Additive(cells.Cell):
    """h_t = h_{t−1} + tanh(a_t + U h_{t−1}) (eq 184–186); autodiff only."""

    gates = 1
    family = "additive"

    def step(self, params, h, a_t):
        g = jnp.tanh(a_t + h @ params["U"].T)
        return h + g, g


@dataclasses.dataclass(frozen=True)
class AdditiveHand(Additive):
    """The same cell with its hand backward (module docstring)."""

    def backward(self, rec, dh, h_prev, h_new, g):
        da = dh * (1.0 - g * g)
        return da, dh + da @ rec["U"]


@dataclasses.dataclass(frozen=True)
class GatedAdditive(AdditiveHand):
    """A recurrent parameter besides U (a diagonal gain V) but no weight_grads recipe."""

    def extra_shapes(self, hidden_size):
        return {"V": (hidden_size,)}

    def step(self, params, h, a_t):
        g = jnp.tanh(a_t + h @ params["U"].T + params["V"][None, :] * h)
        return h + g, g


def _params(cell, key=jax.random.key(0), dtype=jnp.float32):
    p = cell.init(key, D, H, dtype)
    keys = jax.random.split(jax.random.key(7), len(p))
    return {k: v + 0.3 * jax.random.normal(kk, v.shape, v.dtype)
            for kk, (k, v) in zip(keys, sorted(p.items()))}


def _x(dtype=jnp.float32):
    return jax.random.normal(jax.random.key(1), (B, T, D), dtype)


def _by_equation(p, x, h0=None):
    """eq 184–186 written out, one step at a time (independent of the protocol)."""
    h = jnp.zeros((x.shape[0], H), x.dtype) if h0 is None else h0
    hs = []
    for t in range(x.shape[1]):
        h = h + jnp.tanh(h @ p["U"].T + x[:, t] @ p["W"].T + p["b"][None, :])
        hs.append(h)
    return jnp.stack(hs, 1), h


def test_protocol_basics():
    cell = Additive()
    assert hash(cell) == hash(Additive()) and cell == Additive()
    assert {k: v.shape for k, v in cell.init(jax.random.key(0), D, H).items()} == {
        "W": (H, D), "U": (H, H), "b": (H,)}
    assert R.resolve_impl(cell, "auto") == "autodiff"
    assert R.resolve_impl(AdditiveHand(), "auto") == "custom_vjp"
    assert not cells.has_backward(cell) and cells.has_backward(AdditiveHand())
    with pytest.raises(JaxnnError, match="'additive' has none"):
        R.rnn(_params(cell), _x(), cell=cell, impl="custom_vjp")
    with pytest.raises(JaxnnError, match="Cell; got int"):
        R.rnn(_params(cell), _x(), cell=3)


@pytest.mark.parametrize("cell", [Additive(), AdditiveHand()], ids=["autodiff", "hand"])
def test_scan_equals_the_equations_and_a_python_loop(cell):
    p, x = _params(cell), _x()
    hs, final = R.rnn(p, x, cell=cell)
    want_hs, want_final = _by_equation(p, x)
    np.testing.assert_allclose(hs, want_hs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(final, want_final, rtol=1e-5, atol=1e-6)
    state, loop = cell.init_state(B, H), []
    for t in range(T):
        state, h_t = R.cell_step(p, cell, state, x[:, t])
        loop.append(h_t)
    np.testing.assert_allclose(hs, jnp.stack(loop, 1), rtol=1e-5, atol=1e-6)
    hs_u, _ = R.rnn(p, x, cell=cell, unroll=3)
    np.testing.assert_allclose(hs_u, hs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", cells.NAMES)
def test_builtin_cell_objects_scan_equals_a_python_loop(name):
    cell = cells.get(name)
    p, x = _params(cell), _x()
    state, loop = cell.init_state(B, H), []
    step = jax.jit(R.cell_step, static_argnums=1)
    for t in range(T):
        state, h_t = step(p, cell, state, x[:, t])
        loop.append(h_t)
    for impl in ("autodiff", "custom_vjp"):
        hs, final = R.rnn(p, x, cell=cell, impl=impl)
        np.testing.assert_allclose(hs, jnp.stack(loop, 1), rtol=1e-5, atol=1e-6)
        chex.assert_trees_all_close(final, state, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(R.rnn(p, x, cell=name)[0], R.rnn(p, x, cell=cell)[0])


@pytest.mark.parametrize("reverse", [False, True])
def test_lengths_mask_reverse(reverse):
    cell = AdditiveHand()
    p, x = _params(cell), _x()
    lengths = np.array([T, 2, 4])
    hs, final = R.rnn(p, x, cell=cell, lengths=jnp.asarray(lengths), reverse=reverse)
    hs_m, final_m = R.rnn(p, x, cell=cell, mask=np.arange(T)[None] < lengths[:, None],
                          reverse=reverse)
    np.testing.assert_array_equal(hs_m, hs)
    np.testing.assert_array_equal(final_m, final)
    for b, n in enumerate(lengths):
        xb = x[b:b + 1, :n]
        want, want_final = _by_equation(p, xb[:, ::-1] if reverse else xb)
        want = want[:, ::-1] if reverse else want
        np.testing.assert_allclose(hs[b, :n], want[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(hs[b, n:], 0.0)
        np.testing.assert_allclose(final[b], want_final[0], rtol=1e-5, atol=1e-6)


def test_bidirectional():
    cell = Additive()
    p = {"fwd": _params(cell), "bwd": _params(cell, jax.random.key(9))}
    x, lengths = _x(), jnp.array([T, 3, 5])
    hs, (sf, sb) = R.bidirectional(p, x, cell=cell, lengths=lengths)
    np.testing.assert_array_equal(hs[..., :H], R.rnn(p["fwd"], x, cell=cell, lengths=lengths)[0])
    np.testing.assert_array_equal(
        hs[..., H:], R.rnn(p["bwd"], x, cell=cell, lengths=lengths, reverse=True)[0])
    _, last = R.cell_step(p["bwd"], cell, jnp.zeros((1, H)), x[1:2, 2])
    np.testing.assert_allclose(hs[1, 2, H:], last[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", [Additive(), AdditiveHand()], ids=["autodiff", "hand"])
def test_truncated_bptt_equals_a_loop_over_detached_chunks(x64, cell):
    p, x = _params(cell, dtype=jnp.float64), _x(jnp.float64)
    h0 = jax.random.normal(jax.random.key(4), (B, H), jnp.float64)
    chunk = 2

    def loss_trunc(p, h0):
        hs, final = R.truncated_rnn(p, x, cell=cell, chunk=chunk, state0=h0)
        return jnp.sum(jnp.sin(hs)) + jnp.sum(final ** 2)

    def loss_loop(p, h0):
        h, outs = h0, []
        for k in range(T // chunk):
            if k:
                h = lax.stop_gradient(h)
            hs, h = R.rnn(p, x[:, k * chunk:(k + 1) * chunk], cell=cell, state0=h)
            outs.append(hs)
        return jnp.sum(jnp.sin(jnp.concatenate(outs, 1))) + jnp.sum(h ** 2)

    np.testing.assert_allclose(loss_trunc(p, h0), loss_loop(p, h0), **TOL64)
    g_t = jax.grad(loss_trunc, (0, 1))(p, h0)
    g_l = jax.grad(loss_loop, (0, 1))(p, h0)
    chex.assert_trees_all_close(g_t, g_l, **TOL64)
    assert float(jnp.abs(g_t[1]).max()) > 1e-3          # state0 reaches chunk 0


@pytest.mark.parametrize("remat", [False, True])
def test_hand_backward_equals_autodiff(x64, remat):
    """Every option through the hand BPTT, including state0, x and final-state cotangents."""
    cell = AdditiveHand()
    p, x = _params(cell, dtype=jnp.float64), _x(jnp.float64)
    h0 = jax.random.normal(jax.random.key(4), (B, H), jnp.float64)

    def loss(p, h0, x, impl, **kw):
        hs, final = R.rnn(p, x, cell=cell, state0=h0, impl=impl, remat=remat, **kw)
        return jnp.sum(jnp.sin(hs)) + jnp.sum(final ** 2)

    grad = jax.jit(jax.grad(loss, (0, 1, 2)), static_argnums=3, static_argnames="reverse")
    for kw in ({}, {"lengths": jnp.array([T, 3, 0]), "reverse": True},
               {"mask": jnp.asarray(np.arange(T)[None] < np.array([[2], [T], [4]]))}):
        g_hand = grad(p, h0, x, "custom_vjp", **kw)
        g_auto = grad(p, h0, x, "autodiff", **kw)
        chex.assert_trees_all_close(g_hand, g_auto, **TOL64)
    # remat changes nothing in the autodiff-only cell either
    plain = Additive()
    g1 = jax.grad(lambda p: jnp.sum(R.rnn(p, x, cell=plain, remat=remat)[0] ** 2))(p)
    g2 = jax.grad(lambda p: jnp.sum(R.rnn(p, x, cell=plain)[0] ** 2))(p)
    chex.assert_trees_all_close(g1, g2, **TOL64)


def test_missing_weight_grads_is_a_clear_error():
    cell = GatedAdditive()
    p, x = _params(cell), _x()
    g = jax.grad(lambda p: jnp.sum(R.rnn(p, x, cell=cell, impl="autodiff")[0]))(p)
    assert set(g) == {"W", "U", "b", "V"}
    with pytest.raises(JaxnnError, match="must define weight_grads"):
        jax.grad(lambda p: jnp.sum(R.rnn(p, x, cell=cell)[0]))(p)


def test_registered_by_name(monkeypatch):
    monkeypatch.setitem(base._REGISTRY, "additive", AdditiveHand())
    p, x = _params(AdditiveHand()), _x()
    np.testing.assert_array_equal(R.rnn(p, x, cell="additive")[0],
                                  R.rnn(p, x, cell=AdditiveHand())[0])
    assert "additive" in cells.names()


def _scan_body_eqns(jaxpr, inside=False):
    """(primitive name, input shapes) of every equation inside a scan body, nested calls too."""
    found = []
    for eqn in jaxpr.eqns:
        if inside:
            found.append((eqn.primitive.name, [tuple(v.aval.shape) for v in eqn.invars]))
        for sub in jaxprs_in_params(eqn.params):
            found += _scan_body_eqns(sub, inside or eqn.primitive.name == "scan")
    return found


@dataclasses.dataclass(frozen=True)
class AdditiveLoopForm(AdditiveHand):
    """The additive cell reading ``Uᵀ`` that ``loop_params`` builds once outside the loop."""

    def loop_params(self, params):
        return {**params, "U_T": params["U"].T}

    def step(self, params, h, a_t):
        g = jnp.tanh(a_t + h @ params["U_T"])
        return h + g, g

    def backward(self, rec, dh, h_prev, h_new, g):
        da = dh * (1.0 - g * g)
        return da, dh + da @ rec["U"]


@pytest.mark.parametrize("remat", [False, True])
def test_loop_params_are_built_once_outside_the_loop(x64, remat):
    cell, plain = AdditiveLoopForm(), AdditiveHand()
    p, x = _params(cell, dtype=jnp.float64), _x(jnp.float64)
    h0 = jax.random.normal(jax.random.key(4), (B, H), jnp.float64)
    np.testing.assert_allclose(R.rnn(p, x, cell=cell)[0], R.rnn(p, x, cell=plain)[0], **TOL64)
    _, h1 = R.cell_step(p, cell, h0, x[:, 0])
    np.testing.assert_allclose(h1, R.cell_step(p, plain, h0, x[:, 0])[1], **TOL64)
    g_plain = jax.grad(lambda p: jnp.sum(jnp.sin(R.rnn(p, x, cell=plain)[0])))(p)
    for impl in ("custom_vjp", "autodiff"):
        def loss(p, impl=impl):
            return jnp.sum(jnp.sin(R.rnn(p, x, cell=cell, impl=impl, remat=remat)[0]))
        chex.assert_trees_all_close(jax.grad(loss)(p), g_plain, **TOL64)
    # the forward scan's body reads U_T and never transposes U itself
    for impl in ("custom_vjp", "autodiff"):
        body = _scan_body_eqns(jax.make_jaxpr(lambda p: R.rnn(p, x, cell=cell, impl=impl))(p)
                               .jaxpr)
        assert any(name == "dot_general" for name, _ in body)
        assert not any(name == "transpose" for name, _ in body)


@pytest.mark.parametrize("impl", ["custom_vjp", "autodiff"])
def test_the_reset_before_gru_splits_U_once_outside_its_loops(impl):
    # U_rz and U_n sliced inside the scan bodies made XLA:CPU copy both blocks at every step
    p, x = R.init(jax.random.key(0), "gru", D, H), _x()
    grad = jax.grad(lambda p: jnp.sum(R.rnn(p, x, cell="gru", impl=impl)[0] ** 2))
    body = _scan_body_eqns(jax.make_jaxpr(grad)(p).jaxpr)
    # the body's products read the (2H, H) block (or its transpose), never a slice of U
    assert any(n == "dot_general" and {(2 * H, H), (H, 2 * H)} & set(s) for n, s in body)
    assert not any(n == "slice" and (3 * H, H) in s for n, s in body)
