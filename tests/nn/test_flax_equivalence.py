"""Our LSTM / reset-after GRU with parameters copied into flax.linen cells: same outputs and
gradients (the copy is a re-layout — transposes and concatenations — so gradients map back
through the same re-layout)."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.nn import recurrent as R

B, T, D, H = 3, 5, 4, 6
TOL = dict(rtol=2e-5, atol=2e-6)


def _lstm_to_flax(p):
    W, U, b = (jnp.split(p[k], 4) for k in ("W", "U", "b"))
    out = {}
    for k, g in enumerate("ifgo"):
        out[f"i{g}"] = {"kernel": W[k].T}
        out[f"h{g}"] = {"kernel": U[k].T, "bias": b[k]}
    return {"params": {"cell": out}}


def _lstm_from_flax(fp):
    q = fp["params"]["cell"]
    return {"W": jnp.concatenate([q[f"i{g}"]["kernel"].T for g in "ifgo"]),
            "U": jnp.concatenate([q[f"h{g}"]["kernel"].T for g in "ifgo"]),
            "b": jnp.concatenate([q[f"h{g}"]["bias"] for g in "ifgo"])}


def _gru_to_flax(p):
    W, U, b = (jnp.split(p[k], 3) for k in ("W", "U", "b"))
    out = {f"i{g}": {"kernel": W[k].T, "bias": b[k]} for k, g in enumerate("rzn")}
    out.update({f"h{g}": {"kernel": U[k].T} for k, g in enumerate("rz")})
    out["hn"] = {"kernel": U[2].T, "bias": p["bU"]}
    return {"params": {"cell": out}}


def _gru_from_flax(fp):
    q = fp["params"]["cell"]
    return {"W": jnp.concatenate([q[f"i{g}"]["kernel"].T for g in "rzn"]),
            "U": jnp.concatenate([q[f"h{g}"]["kernel"].T for g in "rzn"]),
            "b": jnp.concatenate([q[f"i{g}"]["bias"] for g in "rzn"]),
            "bU": q["hn"]["bias"]}


CASES = {
    "LSTMCell": (nn.LSTMCell, "lstm", _lstm_to_flax, _lstm_from_flax),
    "OptimizedLSTMCell": (nn.OptimizedLSTMCell, "lstm", _lstm_to_flax, _lstm_from_flax),
    "GRUCell": (nn.GRUCell, "gru_reset_after", _gru_to_flax, _gru_from_flax),
}


# autodiff == custom_vjp is checked in float64 in test_bptt.py; here each Flax cell meets one or both.
@pytest.mark.parametrize("name,impl", [("LSTMCell", "autodiff"), ("OptimizedLSTMCell", "custom_vjp"),
                                       ("GRUCell", "autodiff"), ("GRUCell", "custom_vjp")])
def test_same_outputs_and_gradients_as_flax(name, impl):
    flax_cell, cell, to_flax, from_flax = CASES[name]
    p = R.init(jax.random.key(0), cell, D, H)
    p = {k: v + 0.2 * jax.random.normal(jax.random.key(1), v.shape) for k, v in p.items()}
    x = jax.random.normal(jax.random.key(2), (B, T, D))
    rnn = nn.RNN(flax_cell(H))
    fp = to_flax(p)
    # the copy uses exactly Flax's parameter tree
    flax_shapes = jax.tree.map(jnp.shape, rnn.init(jax.random.key(3), x))
    assert jax.tree.map(jnp.shape, fp) == flax_shapes

    def ours(p):
        hs, _ = R.rnn(p, x, cell=cell, impl=impl)
        return jnp.sum(jnp.tanh(hs) * jnp.arange(H)[None, None, :])

    def theirs(fp):
        return jnp.sum(jnp.tanh(rnn.apply(fp, x)) * jnp.arange(H)[None, None, :])

    np.testing.assert_allclose(R.rnn(p, x, cell=cell, impl=impl)[0], rnn.apply(fp, x), **TOL)
    g_ours = jax.grad(ours)(p)
    g_flax = from_flax(jax.grad(theirs)(fp))
    chex.assert_trees_all_close(g_ours, g_flax, **TOL)
    assert float(jnp.abs(g_ours["U"]).max()) > 1e-3
