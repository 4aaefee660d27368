"""Recurrent cells of Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 176–196, behind one protocol.

A cell is a frozen, hashable :class:`Cell` object (a frozen dataclass, after Flax linen and
Haiku): it says its gate count, its state (``h`` or ``(h, c)``), how to initialise its
parameters and its state, and its step from the hoisted input projection
``a_t = x_t Wᵀ + b``; optionally its hand-derived backward and weight-gradient recipe.
:func:`jaxnn.nn.recurrent.rnn` runs any cell (lengths, masks, reverse, bidirectional, truncated
BPTT, remat); ``impl="auto"`` uses the hand backward where the cell has one, autodiff otherwise.

Built-in cells, one module per family (init, step, backward and derivation side by side),
also reachable by name everywhere a cell is accepted:

=====================  ==================================  ========  ==============
name                   object                              gates     state
=====================  ==================================  ========  ==============
``"rnn"``              ``SimpleRNN()`` (eq 177)            (h̃,)      h
``"lstm"``             ``LSTM()`` (eq 187–192, no V)       (i,f,g,o) (h, c)
``"lstm_peephole"``    ``LSTM(peephole=True)``             (i,f,g,o) (h, c)
``"gru"``              ``GRU()`` (eq 193–196)              (r,z,n)   h
``"gru_reset_after"``  ``GRU(reset_after=True)``           (r,z,n)   h
=====================  ==================================  ========  ==============

Parameter layout: ``W: (G·H, D)``, ``U: (G·H, H)``, ``b: (G·H,)``, the G gate blocks of size H
stacked along the first axis in the order above; peepholes ``V_i, V_f, V_o: (H,)``,
reset-after recurrent bias ``bU: (H,)``. Initialisers are fields (``kernel_init`` Glorot-uniform
per block, ``recurrent_init`` :func:`jaxnn.nn.init.orthogonal` per block, ``bias_init`` zeros;
``LSTM.forget_bias`` 1.0; ``SimpleRNN.activation`` ``"tanh"``).

Writing a cell: subclass :class:`Cell` as a frozen dataclass, set ``gates`` (and
``state_names`` for a state other than ``h``), implement ``step``; that is enough for the
autodiff engine. Add ``backward`` (and ``weight_grads`` for recurrent parameters other than
``U``) for the hand BPTT. For example the additive recurrence ``h_t = h_{t−1} + tanh(U h_{t−1}
+ W x_t + b)`` (eq 184–186)::

    import dataclasses
    import jax.numpy as jnp
    from jaxnn.nn import cells, recurrent

    @dataclasses.dataclass(frozen=True)
    class Additive(cells.Cell):
        gates = 1
        family = "additive"

        def step(self, params, h, a_t):                 # a_t = x_t Wᵀ + b: (B, H)
            g = jnp.tanh(a_t + h @ params["U"].T)
            return h + g, g                              # (new state, residuals)

        def backward(self, rec, dh, h_prev, h_new, g):   # optional: the hand BPTT
            da = dh * (1.0 - g * g)
            return da, dh + da @ rec["U"]                # (δa_t, ∂J/∂h_{t−1})

    params = Additive().init(key, D, H)                  # W, U, b as every cell
    hs, h_T = recurrent.rnn(params, x, cell=Additive(), lengths=lengths)
    cells.register("additive", Additive())               # optional: usable by name
"""

from jaxnn.nn.cells.base import (INPUT_KEYS, Cell, Initializer, Params, State, blocks,
                                 check_params, get, names, recurrent_params, register,
                                 sig_prime)
from jaxnn.nn.cells.gru import GRU
from jaxnn.nn.cells.lstm import LSTM, lstm_gate_scale
from jaxnn.nn.cells.simple import ACTIVATIONS, SimpleRNN, activation

__all__ = ["Cell", "SimpleRNN", "LSTM", "GRU", "register", "get", "names", "NAMES", "init",
           "check_params", "recurrent_params", "activation", "ACTIVATIONS", "blocks",
           "sig_prime", "lstm_gate_scale", "INPUT_KEYS", "Params", "State", "Initializer",
           "has_backward"]

register("rnn", SimpleRNN())
register("lstm", LSTM())
register("lstm_peephole", LSTM(peephole=True))
register("gru", GRU())
register("gru_reset_after", GRU(reset_after=True))

#: The built-in cell names.
NAMES: tuple[str, ...] = names()


def has_backward(cell) -> bool:
    """Whether ``cell`` (a name or a :class:`Cell`) has a hand-derived backward."""
    return get(cell).backward is not None


def init(key, cell, input_size: int, hidden_size: int, *, forget_bias: float | None = None,
         activation: str | None = None, dtype=None) -> Params:
    """Parameters of one cell: ``get(cell, forget_bias=…, activation=…).init(key, D, H, dtype)``.

    Args:
        key: PRNG key.
        cell: a name (``"rnn"``, ``"lstm"``, ``"lstm_peephole"``, ``"gru"``,
            ``"gru_reset_after"``) or a :class:`Cell`.
        input_size: D. hidden_size: H.
        forget_bias: overrides an LSTM's ``forget_bias`` (ignored by the other cells).
        activation: overrides the simple RNN's ``activation`` (validated; ignored by the
            gated cells). Pass the same cell (or activation) to :func:`jaxnn.nn.recurrent.rnn`:
            params hold arrays only.
        dtype: parameter dtype (float32 when None).

    Returns:
        dict of the cell's :meth:`Cell.param_shapes` arrays.
    """
    import jax.numpy as jnp

    c = get(cell, forget_bias=forget_bias, activation=activation)
    return c.init(key, input_size, hidden_size, jnp.float32 if dtype is None else dtype)
