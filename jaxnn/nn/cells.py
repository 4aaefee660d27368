"""Recurrent cells of Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 176–196, with fused gates.

Five cells, one parameter layout. Every cell keeps one fused input projection ``W: (G·H, D)``,
one fused recurrent projection ``U: (G·H, H)`` and one bias ``b: (G·H,)``; the ``G`` gate blocks
of size ``H`` are stacked along the first axis in the order below (``W[k*H:(k+1)*H]`` is block
``k``). The notes write the gates without biases; we add ``b`` (initialised to zero except the
LSTM forget gate, see ``forget_bias``), as every framework does.

- ``"rnn"``: G = 1, block (h̃,).
- ``"lstm"``: G = 4, blocks (i, f, g = c̃, o) — the order of PyTorch and Flax.
- ``"lstm_peephole"``: as ``"lstm"`` plus diagonal peepholes ``V_i, V_f, V_o: (H,)``.
- ``"gru"``: G = 3, blocks (r, z, n = h̃).
- ``"gru_reset_after"``: as ``"gru"`` plus ``bU: (H,)``, the recurrent bias of the candidate.

With ``a_t = W x_t + b`` (hoisted out of the time loop by :func:`jaxnn.nn.recurrent.rnn`):

- ``rnn`` (eq 177): ``h_t = f(U h_{t−1} + a_t)``, ``f`` = tanh or the logistic function.
- ``lstm_peephole`` (eq 187–192): ``i = σ(a_i + U_i h + V_i⊙c_{t−1})``,
  ``f = σ(a_f + U_f h + V_f⊙c_{t−1})``, ``c̃ = tanh(a_g + U_g h)``,
  ``c_t = f⊙c_{t−1} + i⊙c̃``, ``o = σ(a_o + U_o h + V_o⊙c_t)`` (o sees the *new* cell),
  ``h_t = o⊙tanh(c_t)``. ``lstm`` is the same without the ``V`` terms (Flax, PyTorch).
- ``gru`` (eq 193–196, reset *before* U): ``r = σ(a_r + U_r h)``, ``z = σ(a_z + U_z h)``,
  ``h̃ = tanh(a_n + U_n (r⊙h))``, ``h_t = z⊙h_{t−1} + (1−z)⊙h̃``.
- ``gru_reset_after`` (cuDNN, PyTorch, Flax): ``h̃ = tanh(a_n + r⊙(U_n h + bU))``; the rest
  as ``gru``. From PyTorch: ``b = b_ih + [b_hh_r; b_hh_z; 0]``, ``bU = b_hh_n``.

Initialisation: ``W`` per gate block Glorot-uniform (:func:`jaxnn.nn.init.glorot_uniform`),
``U`` per gate block orthogonal (a local helper, :func:`orthogonal`: ``jaxnn.nn.init`` has
none), biases zero, the LSTM forget-gate bias ``forget_bias`` (default 1.0, Gers et al. 2000
and Jozefowicz et al. 2015; pass 0.0 for the notes' bias-free gates at
initialisation), peepholes zero.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxnn.errors import JaxnnError, ShapeError, check_choice, check_positive
from jaxnn.nn.init import glorot_uniform

Params = dict[str, jax.Array]
State = Any  # h: (B, H) for rnn/gru, (h, c) for the LSTMs


class CellSpec(NamedTuple):
    """Static description of a cell: gate count, gate names, state arity, extra parameters."""

    gates: int
    gate_names: tuple[str, ...]
    lstm: bool
    extra: tuple[str, ...]


CELLS: dict[str, CellSpec] = {
    "rnn": CellSpec(1, ("h",), False, ()),
    "lstm": CellSpec(4, ("i", "f", "g", "o"), True, ()),
    "lstm_peephole": CellSpec(4, ("i", "f", "g", "o"), True, ("V_i", "V_f", "V_o")),
    "gru": CellSpec(3, ("r", "z", "n"), False, ()),
    "gru_reset_after": CellSpec(3, ("r", "z", "n"), False, ("bU",)),
}
ACTIVATIONS = {"tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "logistic": jax.nn.sigmoid}


def spec(cell: str) -> CellSpec:
    """The :class:`CellSpec` of ``cell``; :class:`JaxnnError` naming it when unknown."""
    check_choice(cell, CELLS, "cell")
    return CELLS[cell]


def activation(name: str):
    """The simple RNN's f (eq 177): ``"tanh"`` or ``"sigmoid"``/``"logistic"``."""
    check_choice(name, ACTIVATIONS, "activation")
    return ACTIVATIONS[name]


def orthogonal(key: jax.Array, shape: tuple[int, int], dtype=jnp.float32) -> jax.Array:
    """Random (semi-)orthogonal matrix of ``shape`` (QR of a Gaussian, sign-corrected).

    Local helper: ``jaxnn.nn.init`` has no orthogonal initialiser.
    """
    n, m = shape
    a = jax.random.normal(key, (max(n, m), min(n, m)), dtype)
    q, r = jnp.linalg.qr(a)
    q = q * jnp.sign(jnp.diagonal(r))[None, :]
    return q if n >= m else q.T


def init(key: jax.Array, cell: str, input_size: int, hidden_size: int, *,
         forget_bias: float = 1.0, activation: str = "tanh", dtype=jnp.float32) -> Params:
    """Parameters of one recurrent cell (layout and gate order in the module docstring).

    Args:
        key: PRNG key.
        cell: ``"rnn"``, ``"lstm"``, ``"lstm_peephole"``, ``"gru"`` or ``"gru_reset_after"``.
        input_size: D, features per time step.
        hidden_size: H, state size.
        forget_bias: initial value of the LSTM forget-gate bias ``b[H:2H]`` (unused by the
            other cells). Default 1.0; the notes' gates have no bias (use 0.0 to match them).
        activation: the simple RNN's f, ``"tanh"`` or ``"sigmoid"`` (validated here; pass the
            same name to :func:`jaxnn.nn.recurrent.rnn`, since params hold arrays only).
        dtype: parameter dtype (float32).

    Returns:
        dict with ``W: (G·H, D)``, ``U: (G·H, H)``, ``b: (G·H,)`` and, for ``lstm_peephole``,
        ``V_i, V_f, V_o: (H,)``; for ``gru_reset_after`` ``bU: (H,)``.
    """
    sp = spec(cell)
    check_choice(activation, ACTIVATIONS, "activation")
    check_positive(input_size, "input_size")
    check_positive(hidden_size, "hidden_size")
    g, h, d = sp.gates, int(hidden_size), int(input_size)
    kw, ku = jax.random.split(key)
    W = jnp.concatenate([glorot_uniform(k, (h, d), dtype) for k in jax.random.split(kw, g)])
    U = jnp.concatenate([orthogonal(k, (h, h), dtype) for k in jax.random.split(ku, g)])
    b = jnp.zeros((g * h,), dtype)
    if sp.lstm:
        b = b.at[h:2 * h].set(forget_bias)
    params = {"W": W, "U": U, "b": b}
    params.update({name: jnp.zeros((h,), dtype) for name in sp.extra})
    return params


def check_params(params: Params, cell: str, input_size: int | None = None) -> int:
    """Validate the parameter dict of ``cell``; return H. Names the bad key or shape."""
    sp = spec(cell)
    if not isinstance(params, dict):
        raise JaxnnError(f"params must be a dict of arrays; got {type(params).__name__}")
    want = {"W", "U", "b", *sp.extra}
    if set(params) != want:
        raise JaxnnError(f"params for cell {cell!r} must have keys {sorted(want)}; "
                         f"got {sorted(params)}")
    gh = params["U"].shape[0] if params["U"].ndim == 2 else -1
    if params["U"].ndim != 2 or gh % sp.gates or params["U"].shape[1] * sp.gates != gh:
        raise ShapeError(f"U of cell {cell!r} must have shape ({sp.gates}·H, H); "
                         f"got {params['U'].shape}")
    h = gh // sp.gates
    if params["W"].ndim != 2 or params["W"].shape[0] != gh:
        raise ShapeError(f"W must have shape ({gh}, D); got {params['W'].shape}")
    if input_size is not None and params["W"].shape[1] != input_size:
        raise ShapeError(f"x has {input_size} features but W expects {params['W'].shape[1]} "
                         f"(W: {params['W'].shape})")
    if params["b"].shape != (gh,):
        raise ShapeError(f"b must have shape ({gh},); got {params['b'].shape}")
    for name in sp.extra:
        if params[name].shape != (h,):
            raise ShapeError(f"{name} must have shape ({h},); got {params[name].shape}")
    return h


def forward(params: Params, cell: str, state: State, a_t: jax.Array, *,
            act: str = "tanh") -> tuple[State, jax.Array | None]:
    """One recurrent step from the hoisted input projection ``a_t = x_t W^T + b``.

    Args:
        params: cell parameters (only ``U`` and the extras are read here).
        cell: the cell name.
        state: ``h: (B, H)``, or ``(h, c)`` for the LSTMs.
        a_t: ``(B, G·H)`` input projection of this step.
        act: the simple RNN's f.

    Returns:
        ``(new_state, gates)``: the new state (same structure and shapes as ``state``) and the
        gate values the hand BPTT needs — None for ``rnn``; ``(B, 4H)`` = (i, f, c̃, o) for the
        LSTMs; ``(B, 3H)`` = (r, z, h̃) for ``gru``; ``(B, 4H)`` = (r, z, h̃, U_n h + bU) for
        ``gru_reset_after``. Autodiff callers drop ``gates`` (XLA removes the dead code).
    """
    sp = CELLS[cell]
    U = params["U"]
    if cell == "rnn":
        return activation(act)(a_t + state @ U.T), None
    B = a_t.shape[0]
    if sp.lstm:
        h, c = state
        H = h.shape[-1]
        z = (a_t + h @ U.T).reshape(B, 4, H)
        if cell == "lstm_peephole":
            z = z + blocks([params["V_i"][None, :] * c, params["V_f"][None, :] * c, 0.0, 0.0])
        s, t = lstm_gate_scale(H, z.dtype)
        gates = s * jnp.tanh(s * z) + t               # σ(x) = ½·tanh(½x) + ½: one tanh, 4 gates
        i, f, g, o = gates[:, 0], gates[:, 1], gates[:, 2], gates[:, 3]
        c_new = f * c + i * g
        if cell == "lstm_peephole":
            o = jax.nn.sigmoid(z[:, 3] + params["V_o"][None, :] * c_new)
            gates = blocks([i, f, g, o])
        return (o * jnp.tanh(c_new), c_new), gates.reshape(B, 4 * H)
    h = state
    H = h.shape[-1]
    a3 = a_t.reshape(B, 3, H)
    if cell == "gru":
        uh = (h @ U[:2 * H].T).reshape(B, 2, H)
        r, z = jax.nn.sigmoid(a3[:, 0] + uh[:, 0]), jax.nn.sigmoid(a3[:, 1] + uh[:, 1])
        n = jnp.tanh(a3[:, 2] + (r * h) @ U[2 * H:].T)
        gates = blocks([r, z, n])
    else:  # gru_reset_after
        uh = (h @ U.T).reshape(B, 3, H)
        r, z = jax.nn.sigmoid(a3[:, 0] + uh[:, 0]), jax.nn.sigmoid(a3[:, 1] + uh[:, 1])
        hn = uh[:, 2] + params["bU"][None, :]
        n = jnp.tanh(a3[:, 2] + r * hn)
        gates = blocks([r, z, n, hn])
    return z * h + (1.0 - z) * n, gates.reshape(B, -1)


def blocks(parts: list) -> jax.Array:
    """Stack k arrays of shape (B, H) (or scalars) into (B, k, H) with selects, not a concat.

    XLA on CPU does not fuse ``concatenate`` into elementwise kernels, but it does fuse a
    select on a broadcast iota; inside a scan body that saves one kernel per step.
    """
    shape = next(jnp.shape(p) for p in parts if jnp.ndim(p))
    dtype = next(p.dtype for p in parts if jnp.ndim(p))
    blk = jax.lax.broadcasted_iota(jnp.int32, (1, len(parts), 1), 1)
    out = jnp.broadcast_to(jnp.asarray(parts[-1], dtype), shape)[:, None, :]
    for k in range(len(parts) - 2, -1, -1):
        out = jnp.where(blk == k, jnp.broadcast_to(jnp.asarray(parts[k], dtype), shape)[:, None, :],
                        out)
    return out


def lstm_gate_scale(H: int, dtype) -> tuple[jax.Array, jax.Array]:
    """``(s, t)`` of shape (1, 4, H): gate = s·tanh(s·z) + t is σ for i, f, o and tanh for c̃."""
    s = jnp.asarray([0.5, 0.5, 1.0, 0.5], dtype)[None, :, None]
    t = jnp.asarray([0.5, 0.5, 0.0, 0.5], dtype)[None, :, None]
    return jnp.broadcast_to(s, (1, 4, H)), jnp.broadcast_to(t, (1, 4, H))


def step(params: Params, cell: str, state: State, a_t: jax.Array, *,
         act: str = "tanh") -> State:
    """:func:`forward` without the gate values: the new state only."""
    return forward(params, cell, state, a_t, act=act)[0]


def cell_step(params: Params, cell: str, state: State, x_t: jax.Array, *,
              activation: str = "tanh") -> tuple[State, jax.Array]:
    """One step of ``cell`` on raw input ``x_t: (B, D)``; returns ``(new_state, h_t: (B, H))``."""
    h = check_params(params, cell, x_t.shape[-1])
    sp = CELLS[cell]
    h0 = state[0] if sp.lstm else state
    if jnp.shape(h0)[-1] != h:
        raise ShapeError(f"state h must have last dimension {h}; got shape {jnp.shape(h0)}")
    new = step(params, cell, state, x_t @ params["W"].T + params["b"][None, :], act=activation)
    return new, (new[0] if sp.lstm else new)
