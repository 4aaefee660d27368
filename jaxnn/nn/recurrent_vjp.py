"""Hand-written BPTT, as a ``jax.custom_vjp``, for any cell of :mod:`jaxnn.nn.cells` with a
``backward``.

The custom VJP covers the recurrent part only: the map ``(rec, a, state0) -> (states, final
state)`` where ``rec`` holds the recurrent parameters (``params`` without ``W``, ``b``) and
``a: (T, B, G·H)`` is the input projection ``x W^T + b`` hoisted out of the scan. JAX
differentiates that projection itself, so ``∂J/∂W = Σ_t δa_tᵀ x_t`` and ``∂J/∂b = Σ_t δa_t``
come out as one big matmul and one reduction. Likewise ``∂J/∂U`` is *one*
``(G·H, T·B) @ (T·B, H)`` matmul after the backward scan rather than T small accumulations
inside it (Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 178–183: the double sum over t and k
becomes a single sum over k of ``δa_k h_{k−1}ᵀ`` once the backward scan has accumulated the δ of
every step). The backward scan carries only ∂J/∂state (``dh``, or ``(dh, dc)``) and emits
``δa_t``; the local derivatives are each cell's ``backward`` and the weight sums its
``weight_grads`` (derived in the cell modules' docstrings).

Padded steps (``m_t`` False): ``h_t = h_{t−1}`` there, so the backward scan passes ∂J/∂state
straight through and emits ``δa_t = 0``.

Public pieces (used by :mod:`jaxnn.derivations.bptt` to run the hand BPTT without
``jax.grad``): :func:`core_fwd` (the forward scan keeping residuals), :func:`core_bwd` (the
backward scan and weight sums), :func:`scan_custom_vjp` (both wired as a ``custom_vjp``).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from jaxnn.errors import JaxnnError
from jaxnn.nn.cells import recurrent_params


def _shift(states, s0, reverse):
    """The state *before* each step: (T, B, H) from the states after each step and state0."""
    if reverse:
        return jnp.concatenate([states[1:], s0[None]], axis=0)
    return jnp.concatenate([s0[None], states[:-1]], axis=0)


def _run_forward(cell, rec, reverse, unroll, a, state0, m, keep_residuals):
    lp = cell.loop_params(rec)                       # once, outside the loop

    def body(carry, inp):
        a_t, m_t = inp
        new, res = cell.step(lp, carry, a_t)
        if m_t is not None:
            new = jax.tree.map(lambda n, o: jnp.where(m_t, n, o), new, carry)
        return new, (new, res if keep_residuals else None)

    return lax.scan(body, state0, (a, m), reverse=reverse, unroll=unroll)


@partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2, 3))
def _core(cell, reverse, unroll, remat, rec, a, state0, m):
    final, (news, _) = _run_forward(cell, rec, reverse, unroll, a, state0, m, False)
    return cell.output(news), final


def core_fwd(cell, reverse, unroll, remat, rec, a, state0, m):
    """Forward scan keeping what the hand backward needs.

    Args:
        cell: static, a :class:`jaxnn.nn.cells.Cell` with a ``backward``.
        reverse, unroll, remat: static, as in :func:`jaxnn.nn.recurrent.rnn`.
        rec: the recurrent parameters.
        a: ``(T, B, G·H)`` input projections, time-major.
        state0: the initial state, ``h: (B, H)`` or ``(h, c)``.
        m: ``(T, B, 1)`` bool mask, or None.

    Returns:
        ``((states (T, B, H), final state), residuals)``; with ``remat`` the step residuals
        are not kept.
    """
    final, ys = _run_forward(cell, rec, reverse, unroll, a, state0, m, not remat)
    return (cell.output(ys[0]), final), (rec, a, state0, m, ys)


def core_bwd(cell, reverse, unroll, remat, res, cts):
    """Backward scan (BPTT).

    Args:
        cell, reverse, unroll, remat: static, as in :func:`core_fwd`.
        res: the residuals :func:`core_fwd` returned.
        cts: cotangents ``(∂J/∂states (T, B, H), ∂J/∂final state)``.

    Returns:
        ``(∂J/∂rec, ∂J/∂a (T, B, G·H), ∂J/∂state0, None)``.
    """
    rec, a, state0, m, (news, saved) = res
    dstates, dfinal = cts
    prevs = jax.tree.map(lambda s, s0: _shift(s, s0, reverse), news, state0)

    T, B, GH = a.shape
    lp = cell.loop_params(rec)                       # once, outside the loop

    def body(carry, inp):
        dstate, buf = carry
        t, ds_t, m_t, prev_t, new_t, res_t, a_t = inp
        parts = cell.split_state(dstate)
        dstate = cell.join_state((parts[0] + ds_t, *parts[1:]))
        if remat:                                    # recompute this step's residuals
            res_t = cell.step(lp, prev_t, a_t)[1]
        if m_t is not None:
            dn = jax.tree.map(lambda d: jnp.where(m_t, d, 0.0), dstate)
        else:
            dn = dstate
        da, dprev = cell.backward(lp, dn, prev_t, new_t, res_t)
        if m_t is not None:
            dprev = jax.tree.map(lambda p, d: p + jnp.where(m_t, 0.0, d), dprev, dstate)
        # δa_t goes into column block t of a (G·H, T, B) buffer: the weight contractions
        # below then read it as a plain (G·H, T·B) matrix, with no transpose of the whole
        # (T, B, G·H) stack (two such copies were 25–30% of the LSTM step on XLA:CPU).
        return (dprev, lax.dynamic_update_slice(buf, da.T[:, None, :], (0, t, 0))), None

    init = (cell.join_state(cell.split_state(dfinal)), jnp.zeros((GH, T, B), a.dtype))
    xs = (jnp.arange(T), dstates, m, prevs, news, saved, a if remat else None)
    (dstate0, buf), _ = lax.scan(body, init, xs, reverse=not reverse, unroll=unroll)
    da = buf.transpose(1, 2, 0)                      # (T, B, G·H), a layout change only

    # Weight gradients: one contraction over (T, B) each, outside the loop.
    drec = cell.weight_grads(rec, da, prevs, news, saved, a)
    if set(drec) != set(rec):
        raise JaxnnError(f"weight_grads of cell {cell.name!r} returned {sorted(drec)}; "
                         f"the recurrent parameters are {sorted(rec)}")
    return drec, da, dstate0, None


_core.defvjp(core_fwd, core_bwd)


def scan_custom_vjp(params, cell, a, state0, m, reverse, unroll, remat):
    """Drop-in for the autodiff scan of :mod:`jaxnn.nn.recurrent`: ``(states (T, B, H), final)``.

    ``remat=True`` keeps only the states from the forward pass and recomputes the residuals
    in the backward scan.
    """
    if cell.backward is None:
        raise JaxnnError(f"cell {cell.name!r} has no hand backward; use impl='autodiff'")
    state0 = cell.join_state(cell.split_state(state0))
    return _core(cell, reverse, unroll, bool(remat), recurrent_params(params), a, state0, m)
