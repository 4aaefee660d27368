"""Many-to-one sequence models: a recurrent core read out by one dense layer.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 176–177 (simple RNN), 187–192 (LSTM with peepholes),
193–196 (GRU): the core runs the whole sequence with :func:`jaxnn.nn.recurrent.rnn` and only
its last (valid) hidden state ``h_T`` is read out,

    y = W h_T + b,        W: (O, H),  b: (O,),

— a regression value (the adding problem, one-step forecasts) or class logits (sequential
MNIST). Parameters: ``{"rnn": <cell params of jaxnn.nn.recurrent.init>, "W": (O, H),
"b": (O,)}``; ``W`` is Glorot-uniform, ``b`` zero.

The losses are the batch mean: ``"mse"`` — mean over the batch of (ŷ − y)² summed over the
O outputs (for O = 1 this is the usual MSE, the number the adding problem is judged by; note
it is twice the notes' ½(ŷ − y)² of eq 53); ``"cross_entropy"`` — eq 56 from the logits.
The cell name, the simple RNN's activation and the scan options are static keywords, not
parameters (params hold arrays only, so they pass through ``jax.grad`` and optax untouched).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxnn.errors import JaxnnError, ShapeError, check_choice, check_ndim, check_positive
from jaxnn.nn import losses
from jaxnn.nn import recurrent

__all__ = ["TASKS", "init", "apply", "loss", "readout"]

TASKS = ("mse", "cross_entropy")


def _glorot(key: jax.Array, shape: tuple[int, int]) -> jax.Array:
    try:
        from jaxnn.nn.init import glorot_uniform
    except ImportError:  # pragma: no cover - the shared initialisers are not there yet
        lim = jnp.sqrt(6.0 / (shape[0] + shape[1]))
        return jax.random.uniform(key, shape, jnp.float32, -lim, lim)
    return glorot_uniform(key, shape)


def init(key: jax.Array, cell: str, input_size: int, hidden_size: int, output_size: int, *,
         forget_bias: float = 1.0, activation: str = "tanh") -> dict:
    """Parameters of a recurrent core plus a dense readout.

    Args:
        key: PRNG key.
        cell: ``"rnn"``, ``"lstm"``, ``"lstm_peephole"``, ``"gru"`` or ``"gru_reset_after"``.
        input_size: D, features per time step.
        hidden_size: H, state size.
        output_size: O, outputs (1 for regression, C classes for classification).
        forget_bias: LSTM forget-gate bias at init (see :func:`jaxnn.nn.recurrent.init`).
        activation: the simple RNN's f, ``"tanh"`` or ``"sigmoid"``.

    Returns:
        ``{"rnn": cell params, "W": (O, H) float32, "b": (O,) float32}``.
    """
    check_positive(output_size, "output_size")
    k_rnn, k_out = jax.random.split(key)
    core = recurrent.init(k_rnn, cell, input_size, hidden_size, forget_bias=forget_bias,
                          activation=activation)
    return {"rnn": core, "W": _glorot(k_out, (int(output_size), int(hidden_size))),
            "b": jnp.zeros((int(output_size),), jnp.float32)}


def _check_model(params) -> None:
    if not isinstance(params, dict) or set(params) != {"rnn", "W", "b"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise JaxnnError(f"sequence-model params must have keys ['W', 'b', 'rnn']; got {got}")


def readout(params: dict, h: jax.Array) -> jax.Array:
    """The dense output layer ``h W^T + b``: ``h: (B, H)`` -> ``(B, O)``."""
    _check_model(params)
    if h.shape[-1] != params["W"].shape[1]:
        raise ShapeError(f"hidden state has {h.shape[-1]} features but W expects "
                         f"{params['W'].shape[1]} (W: {params['W'].shape})")
    return h @ params["W"].T + params["b"][None, :]


def apply(params: dict, x: jax.Array, *, cell: str, activation: str = "tanh", lengths=None,
          impl: str = recurrent.DEFAULT_IMPL, unroll: int | bool = 1, remat: bool = False,
          key: jax.Array | None = None, train: bool = False) -> jax.Array:
    """Run the core over ``x`` and read out its last (valid) hidden state.

    Args:
        params: from :func:`init` with the same ``cell``.
        x: ``(B, T, D)`` float inputs, T ≥ 1.
        cell: the cell name used at :func:`init`.
        activation: the simple RNN's f (ignored by the gated cells).
        lengths: optional ``(B,)`` ints: valid steps per sequence; the readout then sees each
            sequence's own last valid state.
        impl, unroll, remat: passed to :func:`jaxnn.nn.recurrent.rnn`.
        key, train: unused (no dropout); kept for the shared ``apply`` signature.

    Returns:
        ``(B, O)`` outputs (regression values or class logits), dtype of ``x``.
    """
    del key, train
    _check_model(params)
    check_ndim(x, 3, "x (batch, time, features)")
    _, state = recurrent.rnn(params["rnn"], x, cell=cell, lengths=lengths, impl=impl,
                             unroll=unroll, remat=remat, activation=activation)
    h = state[0] if isinstance(state, tuple) else state
    return readout(params, h)


def loss(params: dict, batch: tuple, *, cell: str, task: str = "mse", **kw) -> jax.Array:
    """Batch-mean loss of the many-to-one model.

    Args:
        params: from :func:`init`.
        batch: ``(x, y)`` with ``x: (B, T, D)`` and, for ``task="mse"``, ``y: (B, O)`` or
            ``(B,)`` when O = 1; for ``task="cross_entropy"``, integer labels ``y: (B,)``.
        cell: the cell name.
        task: ``"mse"`` (mean over the batch of the squared error summed over outputs) or
            ``"cross_entropy"`` (softmax cross-entropy of the logits, eq 56).
        **kw: ``activation``, ``lengths``, ``impl``, ``unroll``, ``remat`` for :func:`apply`.

    Returns:
        scalar float32.
    """
    check_choice(task, TASKS, "task")
    x, y = batch
    out = apply(params, x, cell=cell, **kw)
    if task == "cross_entropy":
        return losses.cross_entropy(out, y)
    if y.ndim == 1:
        if out.shape[1] != 1:
            raise ShapeError(f"targets y of shape {y.shape} need a model with 1 output; "
                             f"it has {out.shape[1]}")
        y = y[:, None]
    if y.shape != out.shape:
        raise ShapeError(f"targets y must have shape {out.shape}; got {y.shape}")
    return losses.squared_error(out, y.astype(out.dtype), "sum") / out.shape[0]
