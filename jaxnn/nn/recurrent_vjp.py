"""Hand-written BPTT for every cell of :mod:`jaxnn.nn.cells`, as a ``jax.custom_vjp``.

The custom VJP covers the recurrent part only: the map ``(U, V…, bU, a, state0) -> (states,
final state)`` where ``a: (T, B, G·H)`` is the input projection ``x W^T + b`` hoisted out of the
scan. JAX differentiates that projection itself, so ``∂J/∂W = Σ_t δa_tᵀ x_t`` and
``∂J/∂b = Σ_t δa_t`` come out as one big matmul and one reduction. Likewise here ``∂J/∂U`` is
*one* ``(G·H, T·B) @ (T·B, H)`` matmul after the backward scan rather than T small
accumulations inside it (Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 178–183: the double sum
over t and k becomes a single sum over k of ``δa_k h_{k−1}ᵀ`` once the backward scan has
accumulated the δ of every step). The backward scan carries only ``(∂J/∂h, ∂J/∂c)`` and emits
``δa_t``; the per-cell local derivatives are derived in :mod:`jaxnn.derivations.bptt`.

Padded steps (``m_t`` False): ``h_t = h_{t−1}`` there, so the backward scan passes ``∂J/∂h``
straight through and emits ``δa_t = 0``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from jaxnn.nn.cells import CELLS, blocks, forward, lstm_gate_scale

_REC_KEYS = ("U", "V_i", "V_f", "V_o", "bU")


def _sig_prime(s):
    return s * (1.0 - s)


def _local_backward(rec, cell, act, dh, dc, h_prev, c_prev, h_new, c_new, gates):
    """Back through one step. Inputs dh/dc are ∂J/∂(new state), already zero where masked.

    Returns ``(δa_t: (B, G·H), ∂J/∂h_{t−1} via the cell, ∂J/∂c_{t−1} via the cell or None)``.
    """
    U = rec["U"]
    if cell == "rnn":
        fp = 1.0 - h_new * h_new if act == "tanh" else _sig_prime(h_new)
        da = dh * fp
        return da, da @ U, None
    B, H = dh.shape
    if CELLS[cell].lstm:
        g3 = gates.reshape(B, 4, H)
        i, f, o = g3[:, 0], g3[:, 1], g3[:, 3]
        tc = jnp.tanh(c_new)
        dct = dc + dh * o * (1.0 - tc * tc)
        if cell == "lstm_peephole":
            dct = dct + dh * tc * _sig_prime(o) * rec["V_o"][None, :]
        s, t = lstm_gate_scale(H, dh.dtype)
        # δa = (∂J/∂gate) ⊙ gate′, with gate′ = s² − (gate − t)² for σ and tanh alike.
        da = (blocks([dct, dct, dct, dh]) * blocks([g3[:, 2], c_prev, i, tc])
              * (s * s - (g3 - t) ** 2))
        dcp = dct * f
        if cell == "lstm_peephole":
            dcp = dcp + da[:, 0] * rec["V_i"][None, :] + da[:, 1] * rec["V_f"][None, :]
        da = da.reshape(B, 4 * H)
        return da, da @ U, dcp
    g3 = gates.reshape(B, -1, H)
    r, z, n = g3[:, 0], g3[:, 1], g3[:, 2]
    dzz = dh * (h_prev - n) * _sig_prime(z)
    dzn = dh * (1.0 - z) * (1.0 - n * n)
    if cell == "gru":
        dr_h = dzn @ U[2 * H:]                         # ∂J/∂(r⊙h_{t−1})
        dzr = dr_h * h_prev * _sig_prime(r)
        drz = blocks([dzr, dzz]).reshape(B, 2 * H)
        dhp = dh * z + dr_h * r + drz @ U[:2 * H]
        return blocks([dzr, dzz, dzn]).reshape(B, 3 * H), dhp, None
    dzr = dzn * g3[:, 3] * _sig_prime(r)
    duh = blocks([dzr, dzz, dzn * r]).reshape(B, 3 * H)  # ∂J/∂(U h_{t−1})
    return blocks([dzr, dzz, dzn]).reshape(B, 3 * H), dh * z + duh @ U, None


def _shift(states, s0, reverse):
    """The state *before* each step: (T, B, H) from the states after each step and state0."""
    if reverse:
        return jnp.concatenate([states[1:], s0[None]], axis=0)
    return jnp.concatenate([s0[None], states[:-1]], axis=0)


def _run_forward(rec, cell, act, reverse, unroll, a, state0, m, keep_gates):
    lstm = CELLS[cell].lstm

    def body(carry, inp):
        a_t, m_t = inp
        new, gates = forward(rec, cell, carry, a_t, act=act)
        if m_t is not None:
            new = jax.tree.map(lambda n, o: jnp.where(m_t, n, o), new, carry)
        ys = (new if lstm else (new,)) + ((gates,) if keep_gates else ())
        return new, ys

    return lax.scan(body, state0, (a, m), reverse=reverse, unroll=unroll)


@partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2, 3, 4))
def _core(cell, act, reverse, unroll, remat, rec, a, state0, m):
    final, ys = _run_forward(rec, cell, act, reverse, unroll, a, state0, m, False)
    return ys[0], final


def core_fwd(cell, act, reverse, unroll, remat, rec, a, state0, m):
    """Forward scan keeping what the hand backward needs.

    Args: static ``cell, act, reverse, unroll, remat``; ``rec`` the recurrent parameters
    (``U`` and extras), ``a: (T, B, G·H)`` input projections, ``state0``, ``m: (T, B, 1)`` bool
    or None. Returns ``((states (T, B, H), final state), residuals)``.
    """
    final, ys = _run_forward(rec, cell, act, reverse, unroll, a, state0, m, not remat)
    return (ys[0], final), (rec, a, state0, m, ys)


def core_bwd(cell, act, reverse, unroll, remat, res, cts):
    """Backward scan (BPTT): cotangents ``(∂J/∂states (T, B, H), ∂J/∂final state)`` in,
    ``(∂J/∂rec, ∂J/∂a (T, B, G·H), ∂J/∂state0, None)`` out."""
    rec, a, state0, m, ys = res
    dstates, dfinal = cts
    lstm = CELLS[cell].lstm
    hs = ys[0]
    cs = ys[1] if lstm else None
    h0, c0 = state0 if lstm else (state0, None)
    hp = _shift(hs, h0, reverse)
    cp = _shift(cs, c0, reverse) if lstm else None
    gs = None if remat or cell == "rnn" else ys[-1]

    def body(carry, inp):
        dh, dc = carry
        ds_t, m_t, hp_t, cp_t, h_t, c_t, g_t, a_t = inp
        dh = dh + ds_t
        if remat and cell != "rnn":                  # recompute this step's gates
            g_t = forward(rec, cell, (hp_t, cp_t) if lstm else hp_t, a_t, act=act)[1]
        if m_t is not None:
            dh_n = jnp.where(m_t, dh, 0.0)
            dc_n = None if dc is None else jnp.where(m_t, dc, 0.0)
        else:
            dh_n, dc_n = dh, dc
        da, dhp, dcp = _local_backward(rec, cell, act, dh_n, dc_n, hp_t, cp_t, h_t, c_t, g_t)
        if m_t is not None:
            dhp = dhp + jnp.where(m_t, 0.0, dh)
            if lstm:
                dcp = dcp + jnp.where(m_t, 0.0, dc)
        return (dhp, dcp), da

    init = tuple(dfinal) if lstm else (dfinal, None)
    xs = (dstates, m, hp, cp, hs, cs, gs, a if remat else None)
    (dh0, dc0), da = lax.scan(body, init, xs, reverse=not reverse, unroll=unroll)

    # Weight gradients: one contraction over (T, B) each, outside the loop.
    H = hs.shape[-1]
    if remat and cell in ("gru", "gru_reset_after"):
        gs = jax.vmap(lambda a_t, hp_t: forward(rec, cell, hp_t, a_t, act=act)[1])(a, hp)
    drec = {}
    if cell == "gru":
        r = gs[..., :H]
        drec["U"] = jnp.concatenate([
            jnp.einsum("tbg,tbh->gh", da[..., :2 * H], hp),
            jnp.einsum("tbg,tbh->gh", da[..., 2 * H:], r * hp)])
    elif cell == "gru_reset_after":
        r = gs[..., :H]
        dzn_r = da[..., 2 * H:] * r
        drec["U"] = jnp.einsum("tbg,tbh->gh", jnp.concatenate([da[..., :2 * H], dzn_r], -1), hp)
        drec["bU"] = dzn_r.sum((0, 1))
    else:
        drec["U"] = jnp.einsum("tbg,tbh->gh", da, hp)
    if cell == "lstm_peephole":
        drec["V_i"] = (da[..., :H] * cp).sum((0, 1))
        drec["V_f"] = (da[..., H:2 * H] * cp).sum((0, 1))
        drec["V_o"] = (da[..., 3 * H:] * cs).sum((0, 1))
    dstate0 = (dh0, dc0) if lstm else dh0
    return drec, da, dstate0, None


_core.defvjp(core_fwd, core_bwd)


def scan_custom_vjp(params, cell, a, state0, m, reverse, unroll, remat, act):
    """Drop-in for the autodiff scan of :mod:`jaxnn.nn.recurrent`: ``(states (T, B, H), final)``.

    ``remat=True`` keeps only the states from the forward pass and recomputes the gates in the
    backward scan.
    """
    rec = {k: params[k] for k in _REC_KEYS if k in params}
    if CELLS[cell].lstm:
        state0 = tuple(state0)
    return _core(cell, act, reverse, unroll, bool(remat), rec, a, state0, m)
