"""Recurrent layers: the cells of :mod:`jaxnn.nn.cells` unrolled over time with ``lax.scan``.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 176: ``h_t = f(h_{t−1}, x_t)`` with ``h_0 = 0``.

Public API::

    params = init(key, cell, input_size, hidden_size, *, forget_bias=1.0, activation="tanh")
    hs, state = rnn(params, x, *, cell, state0=None, lengths=None, mask=None, reverse=False,
                    unroll=1, remat=False, impl=DEFAULT_IMPL, activation="tanh")
    hs, (state_fwd, state_bwd) = bidirectional({"fwd": p1, "bwd": p2}, x, *, cell, ...)
    hs, state = truncated_rnn(params, x, *, cell, chunk, ...)   # truncated BPTT
    state, h_t = cell_step(params, cell, state, x_t)            # one step

Cells, gate order and parameter layout: see :mod:`jaxnn.nn.cells` (``"rnn"``, ``"lstm"``,
``"lstm_peephole"``, ``"gru"``, ``"gru_reset_after"``; ``W: (G·H, D)``, ``U: (G·H, H)``,
``b: (G·H,)``, peepholes ``V_i, V_f, V_o: (H,)``, reset-after recurrent bias ``bU: (H,)``).

How the unrolling works: ``x`` is batch-first ``(B, T, D)``; it is turned time-major and the
input projection ``a = x W^T + b`` of all steps is one matmul before the scan, so each step does
only the recurrent matmul and the gate arithmetic. Variable-length batches: with ``lengths`` or
a ``mask``, a padded step leaves the state unchanged and emits zeros, so the returned state is
the last valid one (with ``reverse=True`` the padded tail is crossed first, unchanged, and the
valid part runs backwards from its own last element). ``impl="custom_vjp"`` uses the hand BPTT
of :mod:`jaxnn.nn.recurrent_vjp` (weight gradients as one matmul after the backward scan);
``impl="autodiff"`` differentiates the scan with JAX.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxnn.errors import JaxnnError, ShapeError, check_choice, check_ndim, check_positive
from jaxnn.nn.cells import CELLS, activation as _activation, cell_step, check_params, init, spec
from jaxnn.nn.cells import step as _step

__all__ = ["init", "rnn", "bidirectional", "truncated_rnn", "cell_step", "IMPLS", "DEFAULT_IMPL"]

IMPLS = ("autodiff", "custom_vjp")
# Measured side by side in one process (experiments/bench/rnn.py; shared 2-core machine, noisy):
# the hand BPTT runs 9 XLA kernels per step forward and 9 backward against autodiff's 20 and 15
# (which also accumulates dU inside the loop), and was faster in every interleaved comparison
# at T=1000 (≈1.2×) and in the median at T=100; so it is the default.
DEFAULT_IMPL = "custom_vjp"


def _is_tracer(x) -> bool:
    return isinstance(x, jax.core.Tracer)


def _time_mask(lengths, mask, B: int, T: int):
    """(T, B, 1) boolean mask from ``lengths: (B,)`` or ``mask: (B, T)``; None when neither."""
    if lengths is not None and mask is not None:
        raise JaxnnError("give lengths or mask, not both")
    if lengths is not None:
        if jnp.shape(lengths) != (B,):
            raise ShapeError(f"lengths must have shape ({B},); got {jnp.shape(lengths)}")
        if not _is_tracer(lengths):
            ln = np.asarray(lengths)
            if ln.dtype.kind not in "iu":
                raise JaxnnError(f"lengths must be integers; got dtype {ln.dtype}")
            bad = ln[(ln < 0) | (ln > T)]
            if bad.size:
                raise JaxnnError(f"lengths must lie in [0, {T}] (the padded time axis); "
                                 f"got {bad[:5].tolist()}")
        return (jnp.arange(T)[:, None] < jnp.asarray(lengths)[None, :])[:, :, None]
    if mask is not None:
        if jnp.shape(mask) != (B, T):
            raise ShapeError(f"mask must have shape ({B}, {T}) like x's (B, T); "
                             f"got {jnp.shape(mask)}")
        return jnp.swapaxes(jnp.asarray(mask), 0, 1).astype(bool)[:, :, None]
    return None


def _prepare(params, x, cell, state0, lengths, mask, unroll, impl, act):
    """Validate everything; return (a: (T, B, G·H), state0, mask (T, B, 1) or None)."""
    sp = spec(cell)
    check_choice(impl, IMPLS, "impl")
    _activation(act)
    check_ndim(x, 3, "x (batch, time, features)")
    B, T, D = x.shape
    if T < 1:
        raise ShapeError(f"sequences must have at least 1 time step; got x of shape {x.shape}")
    H = check_params(params, cell, D)
    if not isinstance(unroll, bool):
        check_positive(unroll, "unroll")
    m = _time_mask(lengths, mask, B, T)
    a = jnp.swapaxes(x, 0, 1) @ params["W"].T + params["b"][None, None, :]
    if state0 is None:
        z = jnp.zeros((B, H), a.dtype)
        state0 = (z, z) if sp.lstm else z
    else:
        parts = state0 if sp.lstm else (state0,)
        if sp.lstm and (not isinstance(state0, (tuple, list)) or len(state0) != 2):
            raise ShapeError(f"state0 of cell {cell!r} must be a pair (h, c)")
        for name, s in zip(("h", "c"), parts):
            if jnp.shape(s) != (B, H):
                raise ShapeError(f"state0 {name} must have shape ({B}, {H}); "
                                 f"got {jnp.shape(s)}")
        state0 = tuple(parts) if sp.lstm else state0
    return a, state0, m


def _scan_autodiff(params, cell, a, state0, m, reverse, unroll, remat, act):
    """Plain scan: returns (states (T, B, H) = h after each step, final state)."""
    lstm = CELLS[cell].lstm

    def body(carry, inp):
        a_t, m_t = inp
        new = _step(params, cell, carry, a_t, act=act)
        if m_t is not None:
            new = jax.tree.map(lambda n, o: jnp.where(m_t, n, o), new, carry)
        return new, (new[0] if lstm else new)

    if remat:
        body = jax.checkpoint(body)
    final, states = lax.scan(body, state0, (a, m), reverse=reverse, unroll=unroll)
    return states, final


def _scan(params, cell, a, state0, m, reverse, unroll, remat, impl, act):
    if impl == "custom_vjp":
        from jaxnn.nn.recurrent_vjp import scan_custom_vjp

        return scan_custom_vjp(params, cell, a, state0, m, reverse, unroll, remat, act)
    return _scan_autodiff(params, cell, a, state0, m, reverse, unroll, remat, act)


def rnn(params, x, *, cell: str, state0=None, lengths=None, mask=None, reverse: bool = False,
        unroll: int | bool = 1, remat: bool = False, impl: str = DEFAULT_IMPL,
        activation: str = "tanh"):
    """Run ``cell`` over a batch of sequences with ``lax.scan``.

    Args:
        params: parameters from :func:`init` for the same ``cell``.
        x: ``(B, T, D)`` float inputs, batch first, ``T ≥ 1``.
        cell: ``"rnn"``, ``"lstm"``, ``"lstm_peephole"``, ``"gru"`` or ``"gru_reset_after"``.
        state0: initial state, ``h: (B, H)`` or ``(h, c)`` for the LSTMs; zeros when None
            (eq 176: ``h_0 = 0``).
        lengths: optional ``(B,)`` ints in ``[0, T]``: valid steps per sequence (a prefix).
        mask: optional ``(B, T)`` booleans instead of ``lengths`` (True = valid step).
        reverse: run from the last step to the first.
        unroll: steps per scan iteration (``lax.scan``'s ``unroll``; True = all).
        remat: ``jax.checkpoint`` each step (recompute in the backward pass; saves memory).
        impl: ``"custom_vjp"`` (hand BPTT, the default, see :data:`DEFAULT_IMPL`) or
            ``"autodiff"``. A ``custom_vjp`` supports reverse mode only (``grad``, ``vjp``,
            ``jacrev``, with ``vmap``); use ``"autodiff"`` for ``jvp``/``jacfwd``/Hessians.
        activation: the simple RNN's f, ``"tanh"`` or ``"sigmoid"`` (eq 177).

    Returns:
        ``(hs, state)``: ``hs: (B, T, H)`` the hidden state at every step (zeros at padded
        steps) and the final state — ``h: (B, H)``, or ``(h, c)`` for the LSTMs — which is
        the last *valid* state of each sequence.
    """
    a, s0, m = _prepare(params, x, cell, state0, lengths, mask, unroll, impl, activation)
    states, final = _scan(params, cell, a, s0, m, reverse, unroll, remat, impl, activation)
    hs = states if m is None else jnp.where(m, states, jnp.zeros((), states.dtype))
    return jnp.swapaxes(hs, 0, 1), final


def bidirectional(params, x, *, cell: str, lengths=None, mask=None, **kw):
    """Forward and backward :func:`rnn` over ``x``, outputs concatenated on features.

    Args:
        params: ``{"fwd": p, "bwd": q}``, two parameter dicts of the same ``cell``.
        x: ``(B, T, D)``; ``lengths``/``mask`` as in :func:`rnn` (the backward direction then
            starts at each sequence's own last valid step).
        **kw: ``unroll``, ``remat``, ``impl``, ``activation`` as in :func:`rnn`.

    Returns:
        ``(hs: (B, T, 2H), (state_fwd, state_bwd))``; ``hs[..., :H]`` is the forward pass.
    """
    if not isinstance(params, dict) or set(params) != {"fwd", "bwd"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise JaxnnError(f"bidirectional params must be {{'fwd': ..., 'bwd': ...}}; got {got}")
    hf, sf = rnn(params["fwd"], x, cell=cell, lengths=lengths, mask=mask, **kw)
    hb, sb = rnn(params["bwd"], x, cell=cell, lengths=lengths, mask=mask, reverse=True, **kw)
    return jnp.concatenate([hf, hb], axis=-1), (sf, sb)


def truncated_rnn(params, x, *, cell: str, chunk: int, state0=None, lengths=None, mask=None,
                  unroll: int | bool = 1, remat: bool = False, impl: str = DEFAULT_IMPL,
                  activation: str = "tanh"):
    """:func:`rnn` with truncated BPTT: gradients stop at the state between chunks.

    The forward values equal :func:`rnn`'s exactly; only the backward pass is cut: the state
    handed from chunk ``k`` to chunk ``k+1`` passes through ``lax.stop_gradient``, so the
    gradient reaches back at most ``chunk`` steps (the weights still collect gradients from
    every chunk).

    Args:
        chunk: steps per chunk; must divide T.
        other arguments: as in :func:`rnn` (forward direction only).

    Returns:
        ``(hs: (B, T, H), state)`` as :func:`rnn`.
    """
    a, s0, m = _prepare(params, x, cell, state0, lengths, mask, unroll, impl, activation)
    T, B = a.shape[:2]
    check_positive(chunk, "chunk")
    if T % chunk:
        raise JaxnnError(f"chunk {chunk} must divide the number of time steps T = {T}")
    n = T // chunk
    ac = a.reshape(n, chunk, *a.shape[1:])
    mc = None if m is None else m.reshape(n, chunk, B, 1)

    def outer(state, inp):
        a_k, m_k = inp
        states, final = _scan(params, cell, a_k, lax.stop_gradient(state), m_k, False,
                              unroll, remat, impl, activation)
        return final, states

    final, states = lax.scan(outer, s0, (ac, mc))
    states = states.reshape(T, *states.shape[2:])
    hs = states if m is None else jnp.where(m, states, jnp.zeros((), states.dtype))
    return jnp.swapaxes(hs, 0, 1), final
