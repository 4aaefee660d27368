"""Hand BPTT (jaxnn.derivations.bptt, jaxnn.nn.recurrent_vjp) against jax.grad and central
differences in float64, through :mod:`jaxnn.check`."""

import jax
import jax.numpy as jnp
import pytest

import jaxnn.check as check
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
    loss = lambda params, x, y: bptt.sequence_loss(params, x, y, activation=act)  # noqa: E731
    check.assert_gradient(lambda params, x, y: bptt.grad_rnn(params, x, y, activation=act),
                          loss, p, x, y, **TOL)
    # eq 183's double sum for U alone (W, b held at p's)
    check.assert_gradient(
        lambda U, x, y: bptt.grad_U_double_sum({**p, "U": U}, x, y, activation=act),
        lambda U, x, y: loss({**p, "U": U}, x, y), p["U"], x, y, **TOL, fd=False)


def test_simple_rnn_against_finite_differences(x64):
    """Every coordinate of W, U, b: grad_rnn within 1e-10 of jax.grad and jax.grad within
    5e-8 of the differences keep grad_rnn within 1e-7 of them."""
    p, x, y = _data("rnn")
    report = check.assert_gradient(bptt.grad_rnn, bptt.sequence_loss, p, x, y, **TOL,
                                   fd_eps=1e-5, fd_rtol=5e-8, fd_atol=0)
    assert {r.fd_method for r in report.leaves} == {"coords"}


@pytest.mark.parametrize("cell", CELLS)
def test_grad_sequence_equals_jax_grad(x64, cell):
    p, x, y = _data(cell)
    lengths = jnp.array([T, 2])
    check.assert_gradient(
        lambda params, x, y, lengths: bptt.grad_sequence(params, x, y, cell=cell, lengths=lengths),
        lambda params, x, y, lengths: bptt.sequence_loss(params, x, y, cell=cell, lengths=lengths),
        p, x, y, lengths, **TOL)


@pytest.mark.parametrize("cell", CELLS)
def test_custom_vjp_equals_autodiff(x64, cell):
    """Every option through the custom VJP, including the state0 and final-state cotangents."""
    p, x, _ = _data(cell)
    h0 = jax.random.normal(jax.random.key(4), (B, H), jnp.float64)
    s0 = (h0, -h0) if cell.startswith("lstm") else h0

    def loss(p, s0, x, impl, **kw):
        hs, final = R.rnn(p, x, cell=cell, state0=s0, impl=impl, **kw)
        return jnp.sum(jnp.sin(hs)) + sum(jnp.sum(v ** 2) for v in jax.tree.leaves(final))

    configs = [{}]
    if cell in ("lstm_peephole", "gru", "gru_reset_after"):   # the cells with gate recompute
        configs.append({"lengths": jnp.array([T, 3]), "reverse": True, "remat": True})
    for kw in configs:
        check.assert_gradient(
            jax.grad(lambda params, s0, x: loss(params, s0, x, "custom_vjp", **kw), (0, 1, 2)),
            lambda params, s0, x: loss(params, s0, x, "autodiff", **kw), p, s0, x,
            argnums=(0, 1, 2), **TOL)
