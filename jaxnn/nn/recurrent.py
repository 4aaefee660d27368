"""Recurrent layers: any cell of :mod:`jaxnn.nn.cells` unrolled over time with ``lax.scan``.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 176: ``h_t = f(h_{t−1}, x_t)`` with ``h_0 = 0``.

Public API (``cell`` is a :class:`jaxnn.nn.cells.Cell` or a registered name: ``"rnn"``,
``"lstm"``, ``"lstm_peephole"``, ``"gru"``, ``"gru_reset_after"``)::

    params = init(key, cell, input_size, hidden_size, *, forget_bias=None, activation=None)
    hs, state = rnn(params, x, *, cell, state0=None, lengths=None, mask=None, reverse=False,
                    unroll=1, remat=False, impl="auto", activation=None)
    hs, (state_fwd, state_bwd) = bidirectional({"fwd": p1, "bwd": p2}, x, *, cell, ...)
    hs, state = truncated_rnn(params, x, *, cell, chunk, ...)   # truncated BPTT
    state, h_t = cell_step(params, cell, state, x_t)            # one step
    m = time_mask(lengths, mask, B, T)                          # (T, B, 1) bool or None

How the unrolling works: ``x`` is batch-first ``(B, T, D)``; it is turned time-major and the
input projection ``a = x W^T + b`` of all steps is one matmul before the scan, so each step does
only what :meth:`Cell.step` does (the recurrent matmul and the gate arithmetic). Variable-length
batches: with ``lengths`` or a ``mask``, a padded step leaves the state unchanged and emits
zeros, so the returned state is the last valid one (with ``reverse=True`` the padded tail is
crossed first, unchanged, and the valid part runs backwards from its own last element).
``impl="custom_vjp"`` uses the cell's hand BPTT through :mod:`jaxnn.nn.recurrent_vjp` (weight
gradients as one matmul after the backward scan); ``impl="autodiff"`` differentiates the scan
with JAX; ``impl="auto"`` (the default) is the first where the cell has a ``backward``, the
second otherwise.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxnn.errors import (JaxnnError, ShapeError, check_choice, check_finite, check_floating,
                          check_ndim, check_positive)
from jaxnn.nn import cells as _cells
from jaxnn.nn.cells import Cell, check_params, init

__all__ = ["init", "rnn", "bidirectional", "truncated_rnn", "cell_step", "time_mask",
           "prepare", "resolve_impl", "Prepared", "IMPLS", "DEFAULT_IMPL"]

IMPLS = ("auto", "autodiff", "custom_vjp")
# Measured side by side in one process (experiments/bench/rnn.py; shared 2-core machine, noisy):
# the hand BPTT (LSTM: 9 XLA kernels per step forward, 13 backward, no recomputation; autodiff
# also accumulates dU inside the loop) was faster in every interleaved comparison at T=1000
# (≈1.2×) and in the median at T=100 (1.2× in docs/PERF.md's table); so "auto" picks it
# wherever a cell has one.
DEFAULT_IMPL = "auto"


def _is_tracer(x) -> bool:
    return isinstance(x, jax.core.Tracer)


def time_mask(lengths, mask, B: int, T: int):
    """The (T, B, 1) boolean mask of valid steps, time-major, as the scan consumes it.

    Args:
        lengths: optional ``(B,)`` ints in ``[0, T]``: valid steps per sequence (a prefix).
        mask: optional ``(B, T)`` booleans instead (True = valid step).
        B, T: batch size and the padded time length.

    Returns:
        ``(T, B, 1)`` bool, or None when neither is given. Raises :class:`JaxnnError` for both,
        for concrete lengths out of ``[0, T]`` or not integers, :class:`ShapeError` for shapes.
    """
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


def resolve_impl(cell: Cell, impl: str) -> str:
    """``"autodiff"`` or ``"custom_vjp"``: what ``impl`` means for ``cell``."""
    check_choice(impl, IMPLS, "impl")
    if impl == "auto":
        return "custom_vjp" if cell.backward is not None else "autodiff"
    if impl == "custom_vjp" and cell.backward is None:
        raise JaxnnError(f"impl='custom_vjp' needs a hand backward, and cell {cell.name!r} "
                         "has none; use impl='auto' or 'autodiff'")
    return impl


class Prepared(NamedTuple):
    """What the scan consumes.

    Attributes:
        cell: the cell object.
        a: ``(T, B, G·H)`` the input projection ``x Wᵀ + b``, time-major.
        state0: the initial state, ``h: (B, H)`` or ``(h, c)``.
        mask: ``(T, B, 1)`` bools, or None.
        impl: the concrete implementation (``"custom_vjp"`` or ``"autodiff"``).
    """

    cell: Cell
    a: jax.Array
    state0: object
    mask: jax.Array | None
    impl: str


def _project(params, xt):
    """The input projection of every step, ``a = x Wᵀ + b: (T, B, G·H)``, from ``xt: (T, B, D)``.

    Computed as one product ``[x, 1] · [W, b]ᵀ``: XLA:CPU does not fuse a bias add into a dot,
    and the separate add over the whole ``(T, B, G·H)`` array (and its reduction in the
    backward) cost 4–13% of the LSTM and GRU training steps (docs/PERF.md).
    """
    ones = jnp.ones(xt.shape[:-1] + (1,), xt.dtype)
    Wb = jnp.concatenate([params["W"], params["b"][:, None]], axis=1)
    return jnp.concatenate([xt, ones], axis=-1) @ Wb.T


def prepare(params, x, *, cell, state0=None, lengths=None, mask=None, unroll=1,
            impl: str = DEFAULT_IMPL, activation: str | None = None) -> Prepared:
    """Validate everything :func:`rnn` takes and hoist the input projection.

    Args:
        params, x, cell, state0, lengths, mask, unroll, impl, activation: as in :func:`rnn`.

    Returns:
        a :class:`Prepared`.

    Raises:
        ShapeError: ``x`` not ``(B, T, D)`` with T ≥ 1, or parameters or ``state0`` of the
            wrong shape.
        JaxnnError: a bad ``impl``, ``unroll``, ``lengths`` or ``mask``.
    """
    cell = _cells.get(cell, activation=activation)
    impl = resolve_impl(cell, impl)
    check_ndim(x, 3, "x (batch, time, features)")
    check_floating(x, "x")
    check_finite(x, "x")
    B, T, D = x.shape
    if T < 1:
        raise ShapeError(f"sequences must have at least 1 time step; got x of shape {x.shape}")
    H = check_params(params, cell, D)
    if not isinstance(unroll, bool):
        check_positive(unroll, "unroll")
    m = time_mask(lengths, mask, B, T)
    a = _project(params, jnp.swapaxes(x, 0, 1))
    zero = cell.init_state(B, H, a.dtype)
    if state0 is None:
        return Prepared(cell, a, zero, m, impl)
    _check_state_kind(cell, state0, "state0")
    parts = cell.split_state(state0)
    for name, s, z in zip(cell.state_names, parts, cell.split_state(zero)):
        if jnp.shape(s) != jnp.shape(z):
            raise ShapeError(f"state0 {name} must have shape {jnp.shape(z)}; got {jnp.shape(s)}")
    return Prepared(cell, a, cell.join_state(parts), m, impl)


def _check_state_kind(cell, state, name: str) -> None:
    """Raise :class:`ShapeError` unless ``state`` is a tuple of the cell's parts (a bare array
    for a cell whose state is a pair would otherwise be unpacked along its rows)."""
    n = len(cell.state_names)
    if n > 1 and (not isinstance(state, (tuple, list)) or len(state) != n):
        kind = "pair" if n == 2 else f"tuple of {n}"
        got = (f"a bare array of shape {jnp.shape(state)}" if hasattr(state, "shape")
               else type(state).__name__)
        raise ShapeError(f"{name} of cell {cell.name!r} must be a {kind} "
                         f"({', '.join(cell.state_names)}); got {got}")


def _scan_autodiff(params, cell, a, state0, m, reverse, unroll, remat):
    """Plain scan: returns (states (T, B, H) = h after each step, final state)."""

    lp = cell.loop_params(params)

    def body(carry, inp):
        a_t, m_t = inp
        new = cell.step(lp, carry, a_t)[0]
        if m_t is not None:
            new = jax.tree.map(lambda n, o: jnp.where(m_t, n, o), new, carry)
        return new, cell.output(new)

    if remat:
        body = jax.checkpoint(body)
    final, states = lax.scan(body, state0, (a, m), reverse=reverse, unroll=unroll)
    return states, final


def _scan(params, cell, a, state0, m, reverse, unroll, remat, impl):
    if impl == "custom_vjp":
        from jaxnn.nn.recurrent_vjp import scan_custom_vjp

        return scan_custom_vjp(params, cell, a, state0, m, reverse, unroll, remat)
    return _scan_autodiff(params, cell, a, state0, m, reverse, unroll, remat)


def _emit(states, m):
    """Batch-first outputs, zero at padded steps."""
    hs = states if m is None else jnp.where(m, states, jnp.zeros((), states.dtype))
    return jnp.swapaxes(hs, 0, 1)


def rnn(params, x, *, cell, state0=None, lengths=None, mask=None, reverse: bool = False,
        unroll: int | bool = 1, remat: bool = False, impl: str = DEFAULT_IMPL,
        activation: str | None = None):
    """Run ``cell`` over a batch of sequences with ``lax.scan``.

    Args:
        params: parameters from :func:`init` (or ``cell.init``) for the same cell.
        x: ``(B, T, D)`` float inputs, batch first, ``T ≥ 1``.
        cell: a :class:`jaxnn.nn.cells.Cell` or a registered name (``"rnn"``, ``"lstm"``,
            ``"lstm_peephole"``, ``"gru"``, ``"gru_reset_after"``).
        state0: initial state, ``h: (B, H)`` or ``(h, c)`` for the LSTMs; zeros when None
            (eq 176: ``h_0 = 0``).
        lengths: optional ``(B,)`` ints in ``[0, T]``: valid steps per sequence (a prefix).
        mask: optional ``(B, T)`` booleans instead of ``lengths`` (True = valid step).
        reverse: run from the last step to the first.
        unroll: steps per scan iteration (``lax.scan``'s ``unroll``; True = all).
        remat: ``jax.checkpoint`` each step (recompute in the backward pass; saves memory).
        impl: ``"auto"`` (default: the hand BPTT where the cell has a ``backward``, else
            autodiff), ``"custom_vjp"`` (the hand BPTT; an error for a cell without one) or
            ``"autodiff"``. A ``custom_vjp`` supports reverse mode only (``grad``, ``vjp``,
            ``jacrev``, with ``vmap``); use ``"autodiff"`` for ``jvp``/``jacfwd``/Hessians.
        activation: alias that overrides the simple RNN's ``activation`` field (``"tanh"`` or
            ``"sigmoid"``, eq 177); ignored by cells without that field.

    Returns:
        ``(hs, state)``: ``hs: (B, T, H)`` the hidden state at every step (zeros at padded
        steps) and the final state — ``h: (B, H)``, or ``(h, c)`` for the LSTMs — which is
        the last *valid* state of each sequence.
    """
    c, a, s0, m, impl = prepare(params, x, cell=cell, state0=state0, lengths=lengths, mask=mask,
                                unroll=unroll, impl=impl, activation=activation)
    states, final = _scan(params, c, a, s0, m, reverse, unroll, remat, impl)
    return _emit(states, m), final


def bidirectional(params, x, *, cell, lengths=None, mask=None, **kw):
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


def truncated_rnn(params, x, *, cell, chunk: int, state0=None, lengths=None, mask=None,
                  unroll: int | bool = 1, remat: bool = False, impl: str = DEFAULT_IMPL,
                  activation: str | None = None):
    """:func:`rnn` with truncated BPTT: gradients stop at the state between chunks.

    The forward values equal :func:`rnn`'s exactly; only the backward pass is cut: the state
    handed from chunk ``k`` to chunk ``k+1`` passes through ``lax.stop_gradient``, so the
    gradient reaches back at most ``chunk`` steps (the weights still collect gradients from
    every chunk). ``state0`` enters chunk 0 undetached, so its gradient is that of the first
    chunk's steps.

    Args:
        chunk: steps per chunk; must divide T.
        other arguments: as in :func:`rnn` (forward direction only).

    Returns:
        ``(hs: (B, T, H), state)`` as :func:`rnn`.
    """
    c, a, s0, m, impl = prepare(params, x, cell=cell, state0=state0, lengths=lengths, mask=mask,
                                unroll=unroll, impl=impl, activation=activation)
    T, B = a.shape[:2]
    check_positive(chunk, "chunk")
    if T % chunk:
        raise JaxnnError(f"chunk {chunk} must divide the number of time steps T = {T}")
    n = T // chunk
    ac = a.reshape(n, chunk, *a.shape[1:])
    mc = None if m is None else m.reshape(n, chunk, B, 1)

    def outer(state, inp):
        k, a_k, m_k = inp
        # detach only what a previous chunk handed over, not state0 (k = 0)
        state = jax.tree.map(lambda s: jnp.where(k == 0, s, lax.stop_gradient(s)), state)
        states, final = _scan(params, c, a_k, state, m_k, False, unroll, remat, impl)
        return final, states

    final, states = lax.scan(outer, s0, (jnp.arange(n), ac, mc))
    return _emit(states.reshape(T, *states.shape[2:]), m), final


def cell_step(params, cell, state, x_t: jax.Array, *, activation: str | None = None):
    """One step of ``cell`` on raw input ``x_t: (B, D)``.

    Args:
        params: the cell's parameters. cell: a :class:`Cell` or a name.
        state: ``h: (B, H)`` or ``(h, c)``. x_t: ``(B, D)``.
        activation: as in :func:`rnn`.

    Returns:
        ``(new_state, h_t: (B, H))``.
    """
    c = _cells.get(cell, activation=activation)
    h = check_params(params, c, x_t.shape[-1])
    _check_state_kind(c, state, "state")
    h0 = c.output(state)
    if jnp.shape(h0)[-1] != h:
        raise ShapeError(f"state h must have last dimension {h}; got shape {jnp.shape(h0)}")
    new = c.step(c.loop_params(params), state, x_t @ params["W"].T + params["b"][None, :])[0]
    return new, c.output(new)
