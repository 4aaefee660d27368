"""Backpropagation through time by hand: the simple RNN, the LSTM (with peepholes) and both GRUs.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 178–183. The objective is a sum of per-step
losses, ``J = Σ_t J_t`` (eq 178); here ``J_t = ½‖h_t − y_t‖²`` summed over the batch
(:func:`sequence_loss`), so ``∂J_t/∂h_t = h_t − y_t``.

Simple RNN (eq 177, ``h_t = f(z_t)``, ``z_t = U h_{t−1} + W x_t + b``). With
``δ_t = ∂J/∂z_t`` the chain rule of eq 180–183 becomes a backward recursion:

    ∂J/∂h_t = ∂J_t/∂h_t + Uᵀ δ_{t+1}          (the future reaches h_t only through z_{t+1})
    δ_t     = f′(z_t) ⊙ ∂J/∂h_t
    ∂J/∂U = Σ_t δ_t h_{t−1}ᵀ,   ∂J/∂W = Σ_t δ_t x_tᵀ,   ∂J/∂b = Σ_t δ_t

Unrolling the recursion gives back eq 183's double sum Σ_t Σ_k (∂h_k/∂U)(Π ∂h_i/∂h_{i−1})(∂J_t/∂h_t),
computed literally (O(T²)) by :func:`grad_U_double_sum`. Note on eq 182: the notes write each
factor as ``Uᵀ diag(f′(h_{i−1}))``; the derivative is taken at step i's pre-activation, so in
the notes' denominator layout the factor is ``∂h_i/∂h_{i−1} = Uᵀ diag(f′(z_i))`` (for tanh
``f′(z_i) = 1 − h_i²``, a function of ``h_i``, not of ``h_{i−1}``) — that is what ``jax.grad``
agrees with. The norm of that factor is the γ of the long-term-dependency argument.

The notes then define γ = ‖Uᵀ diag(f′(h_{i−1}))‖ and say the bracketed product of eq 183 "is"
γ^{t−k}. γ depends on the step i, so the product is bounded, not equal:
‖Π_{i=k+1}^t ∂h_i/∂h_{i−1}‖ ≤ Π_i γ_i ≤ (max_i γ_i)^{t−k}, and in float64 the left side is
often orders of magnitude below the right (the ``rnn-gradients`` experiment plots both).

The gated cells follow the same pattern: each cell's module derives and implements its
own step backward — the LSTM with peepholes (eq 187–192) in :mod:`jaxnn.nn.cells.lstm`, both
GRUs (eq 193–196 and reset-after) in :mod:`jaxnn.nn.cells.gru`, the simple RNN's in
:mod:`jaxnn.nn.cells.simple` — and :mod:`jaxnn.nn.recurrent_vjp` runs any of them as one
backward ``lax.scan``.

For every cell ``∂J/∂W = Σ_t δa_t x_tᵀ`` and ``∂J/∂b = Σ_t δa_t``, where ``δa_t`` is the
stacked gate error of step t. These recursions are the fast path of the library: they live in
the cells (``backward``, ``weight_grads``) and :mod:`jaxnn.nn.recurrent_vjp` (the backward
``lax.scan`` emits δa_t and the weight gradients are one matmul each after it); this module
explains them, re-exports them as :func:`grad_sequence`, and adds an independent simple-RNN
implementation (:func:`grad_rnn`) and the literal eq 183
(:func:`grad_U_double_sum`). All are compared with ``jax.grad`` in float64 in the tests.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from jaxnn.errors import check_shape
from jaxnn.nn import cells, recurrent
from jaxnn.nn.cells import activation as _activation
from jaxnn.nn.recurrent_vjp import core_bwd, core_fwd

__all__ = ["sequence_loss", "grad_rnn", "grad_U_double_sum", "grad_sequence"]


def sequence_loss(params, x, y, *, cell="rnn", lengths=None, activation: str | None = None,
                  impl: str = "autodiff"):
    """``J = Σ_t J_t``, ``J_t = ½ Σ_b ‖h_t − y_t‖²`` (eq 178) over the valid steps.

    Args:
        params: cell parameters (``W: (G·H, D)``, ``U``, ``b: (G·H,)``, …).
        x: ``(B, T, D)`` inputs.
        y: ``(B, T, H)`` targets for the states.
        cell, lengths, activation, impl: as in :func:`jaxnn.nn.recurrent.rnn` (``cell`` a
            :class:`jaxnn.nn.cells.Cell` or a name).

    Returns:
        scalar. Padded steps emit zeros; their targets are masked out too.
    """
    hs, _ = recurrent.rnn(params, x, cell=cell, lengths=lengths, activation=activation,
                          impl=impl)
    err = hs - y
    m = recurrent.time_mask(lengths, None, x.shape[0], x.shape[1])
    if m is not None:
        err = jnp.where(jnp.swapaxes(m, 0, 1), err, 0.0)
    return 0.5 * jnp.sum(err * err)


def grad_rnn(params, x, y, *, activation: str = "tanh"):
    """∂J/∂{W, U, b} of the simple RNN by the δ-recursion above (a backward ``lax.scan``).

    Independent of the library's custom VJP.

    Args:
        params: parameters of cell ``"rnn"``: ``W: (H, D)``, ``U: (H, H)``, ``b: (H,)``.
        x: ``(B, T, D)`` inputs.
        y: ``(B, T, H)`` targets.
        activation: ``"tanh"`` or ``"sigmoid"``/``"logistic"``.

    Returns:
        the dict ``jax.grad(sequence_loss)`` returns: ``W: (H, D)``, ``U: (H, H)``, ``b: (H,)``.

    Raises:
        ShapeError: ``y`` not of shape ``(B, T, H)``.
    """
    f = _activation(activation)
    U, W, b = params["U"], params["W"], params["b"]
    B, T, _ = x.shape
    check_shape(y, (B, T, U.shape[0]), "y")
    xs = jnp.swapaxes(x, 0, 1)                                  # (T, B, D)

    def fwd(h, x_t):
        h = f(h @ U.T + x_t @ W.T + b[None, :])
        return h, h

    _, hs = lax.scan(fwd, jnp.zeros((B, U.shape[0]), x.dtype), xs)
    fprime = 1.0 - hs * hs if activation == "tanh" else hs * (1.0 - hs)    # f′(z_t) from h_t
    dJ_dh = hs - jnp.swapaxes(y, 0, 1)

    def bwd(delta_next, inp):
        g_t, fp_t = inp
        delta = fp_t * (g_t + delta_next @ U)                  # δ_t = f′(z_t) ⊙ (∂J_t/∂h_t + Uᵀδ_{t+1})
        return delta, delta

    _, deltas = lax.scan(bwd, jnp.zeros_like(hs[0]), (dJ_dh, fprime), reverse=True)
    h_prev = jnp.concatenate([jnp.zeros_like(hs[:1]), hs[:-1]])
    return {"W": jnp.einsum("tbh,tbd->hd", deltas, xs),
            "U": jnp.einsum("tbh,tbk->hk", deltas, h_prev),
            "b": deltas.sum((0, 1))}


def grad_U_double_sum(params, x, y, *, activation: str = "tanh"):
    """∂J/∂U of the simple RNN as eq 183's double sum, literally (O(T²); for teaching and tests).

    ``Σ_t Σ_{k≤t} (∂h_k/∂U)(Π_{i=k+1}^{t} ∂h_i/∂h_{i−1})(∂J_t/∂h_t)`` with the direct
    ``∂h_k/∂U`` (``h_{k−1}`` held fixed). Python loops over samples and steps (they unroll
    under ``jax.jit``), so keep B and T small.

    Args:
        params, x, y, activation: as in :func:`grad_rnn`.

    Returns:
        ∂J/∂U, shape ``(H, H)``.
    """
    f = _activation(activation)
    U, W, b = params["U"], params["W"], params["b"]
    H = U.shape[0]
    total = jnp.zeros_like(U)
    for xb, yb in zip(x, y):                                    # each sample separately
        hs, h = [], jnp.zeros((H,), x.dtype)
        for x_t in xb:
            z = U @ h + W @ x_t + b
            h = f(z)
            hs.append(h)
        fp = [1.0 - h * h if activation == "tanh" else h * (1.0 - h) for h in hs]  # f′(z_k)
        for t in range(len(hs)):
            g = hs[t] - yb[t]                                   # ∂J_t/∂h_t
            for k in range(t, -1, -1):
                # g = (Π_{i=k+1}^{t} ∂h_i/∂h_{i−1}) ∂J_t/∂h_t, now pushed through h_k = f(z_k):
                dz = fp[k] * g
                h_km1 = hs[k - 1] if k else jnp.zeros((H,), x.dtype)
                total = total + jnp.outer(dz, h_km1)             # (∂h_k/∂U) · g
                g = U.T @ dz                                    # one more factor Uᵀ diag f′(z_k)
    return total


def grad_sequence(params, x, y, *, cell, lengths=None, activation: str | None = None):
    """Hand BPTT for any cell with a ``backward``: the gradient of :func:`sequence_loss`.

    Runs the forward scan with residuals and the backward scan of
    :mod:`jaxnn.nn.recurrent_vjp` directly (no ``jax.grad``), then ``∂J/∂W = Σ δa xᵀ`` and
    ``∂J/∂b = Σ δa`` by hand.

    Args:
        params, x, y, cell, lengths, activation: as in :func:`sequence_loss`.

    Returns:
        the pytree ``jax.grad(sequence_loss)`` returns (each leaf the shape of its parameter).
    """
    c, a, s0, m, _ = recurrent.prepare(params, x, cell=cell, lengths=lengths, impl="custom_vjp",
                                       activation=activation)
    rec = cells.recurrent_params(params)
    static = (c, False, 1, False)
    (states, final), res = core_fwd(*static, rec, a, s0, m)
    hs = states if m is None else jnp.where(m, states, 0.0)
    dhs = hs - jnp.swapaxes(y, 0, 1)
    if m is not None:
        dhs = jnp.where(m, dhs, 0.0)
    dfinal = jax.tree.map(jnp.zeros_like, final)
    drec, da, _, _ = core_bwd(*static, res, (dhs, dfinal))
    xs = jnp.swapaxes(x, 0, 1)
    grads = {"W": jnp.einsum("tbg,tbd->gd", da, xs), "b": da.sum((0, 1)), **drec}
    assert set(grads) == set(params)
    return grads
