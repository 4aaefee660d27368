"""Hand BPTT (jaxnn.derivations.bptt, jaxnn.nn.recurrent_vjp) against jax.grad in float64."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.derivations import bptt
from jaxnn.nn import recurrent as R

CELLS = ("rnn", "lstm", "lstm_peephole", "gru", "gru_reset_after")
B, T, D, H = 2, 5, 3, 4
TOL = dict(rtol=1e-10, atol=1e-12)


def _data(cell):
    p = R.init(jax.random.key(0), cell, D, H, dtype=jnp.float64)
    keys = jax.random.split(jax.random.key(1), len(p))
    p = {k: v + 0.3 * jax.random.normal(kk, v.shape, v.dtype)
         for kk, (k, v) in zip(keys, sorted(p.items()))}
    x = jax.random.normal(jax.random.key(2), (B, T, D), jnp.float64)
    y = jax.random.normal(jax.random.key(3), (B, T, H), jnp.float64)
    return p, x, y


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_simple_rnn_delta_recursion_and_eq183(x64, act):
    p, x, y = _data("rnn")
    want = jax.jit(jax.grad(bptt.sequence_loss), static_argnames="activation")(
        p, x, y, activation=act)
    got = jax.jit(bptt.grad_rnn, static_argnames="activation")(p, x, y, activation=act)
    chex.assert_trees_all_close(got, want, **TOL)
    double_sum = jax.jit(bptt.grad_U_double_sum, static_argnames="activation")
    np.testing.assert_allclose(double_sum(p, x, y, activation=act), want["U"], **TOL)


def test_simple_rnn_against_finite_differences(x64):
    p, x, y = _data("rnn")
    g = bptt.grad_rnn(p, x, y)
    E = jnp.zeros_like(p["U"]).at[1, 2].set(1.0)
    eps = 1e-6
    fd = (bptt.sequence_loss({**p, "U": p["U"] + eps * E}, x, y)
          - bptt.sequence_loss({**p, "U": p["U"] - eps * E}, x, y)) / (2 * eps)
    np.testing.assert_allclose(g["U"][1, 2], fd, rtol=1e-7)


@pytest.mark.parametrize("cell", CELLS)
def test_grad_sequence_equals_jax_grad(x64, cell):
    p, x, y = _data(cell)
    lengths = jnp.array([T, 2])
    want = jax.jit(jax.grad(bptt.sequence_loss), static_argnames="cell")(
        p, x, y, cell=cell, lengths=lengths)
    got = jax.jit(bptt.grad_sequence, static_argnames="cell")(p, x, y, cell=cell, lengths=lengths)
    chex.assert_trees_all_close(got, want, **TOL)


@pytest.mark.parametrize("cell", CELLS)
def test_custom_vjp_equals_autodiff(x64, cell):
    """Every option through the custom VJP, including the state0 and final-state cotangents."""
    p, x, _ = _data(cell)
    h0 = jax.random.normal(jax.random.key(4), (B, H), jnp.float64)
    s0 = (h0, -h0) if cell.startswith("lstm") else h0

    def loss(p, s0, x, impl, **kw):
        hs, final = R.rnn(p, x, cell=cell, state0=s0, impl=impl, **kw)
        return jnp.sum(jnp.sin(hs)) + sum(jnp.sum(v ** 2) for v in jax.tree.leaves(final))

    grad = jax.jit(jax.grad(loss, (0, 1, 2)), static_argnums=3,
                   static_argnames=("reverse", "remat"))
    configs = [{}]
    if cell in ("lstm_peephole", "gru", "gru_reset_after"):   # the cells with gate recompute
        configs.append({"lengths": jnp.array([T, 3]), "reverse": True, "remat": True})
    for kw in configs:
        g_auto = grad(p, s0, x, "autodiff", **kw)
        g_hand = grad(p, s0, x, "custom_vjp", **kw)
        chex.assert_trees_all_close(g_hand, g_auto, **TOL)
