"""Many-to-one sequence models: a recurrent core read out by one dense layer.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 176–177 (simple RNN), 187–192 (LSTM with peepholes),
193–196 (GRU): the core runs the whole sequence with :func:`jaxnn.nn.recurrent.rnn` and only
its last (valid) hidden state ``h_T`` is read out by :func:`jaxnn.nn.layers.dense`,

    y = W h_T + b,        W: (O, H),  b: (O,),

— a regression value (the adding problem, one-step forecasts) or class logits (sequential
MNIST). Parameters nest per layer: ``{"rnn": <cell params>, "readout": {"W": (O, H),
"b": (O,)}}``; ``W`` is Glorot-uniform, ``b`` zero.

The losses are the batch mean: ``"mse"`` — mean over the batch of (ŷ − y)² summed over the
O outputs (for O = 1 this is the usual MSE, the number the adding problem is judged by; note
it is twice the notes' ½(ŷ − y)² of eq 53); ``"cross_entropy"`` — eq 56 from the logits.
Everything static (the cell, sizes, task, scan options) is one frozen, hashable
:class:`SequenceConfig`; params hold arrays only, so they pass through ``jax.grad`` and optax
untouched.

API::

    config = SequenceConfig(cell="lstm", input_size=D, hidden_size=H, output_size=O)
    params = init(key, config)
    y = apply(params, x, config=config, lengths=None)              # (B, O)
    J = loss(params, (x, y), config=config)                        # scalar
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxnn.errors import JaxnnError, ShapeError, check_choice, check_floating, check_ndim
from jaxnn.models import _config as cfgcheck
from jaxnn.nn import cells, layers, losses, recurrent
from jaxnn.nn.init import glorot_uniform

__all__ = ["TASKS", "SequenceConfig", "init", "apply", "loss", "readout"]

TASKS = ("mse", "cross_entropy")


@dataclasses.dataclass(frozen=True)
class SequenceConfig:
    """Static description of a many-to-one model (hashable: a static ``jax.jit`` argument).

    Attributes:
        cell: a :class:`jaxnn.nn.cells.Cell` or a registered name (``"rnn"``, ``"lstm"``,
            ``"lstm_peephole"``, ``"gru"``, ``"gru_reset_after"``).
        input_size: D, features per time step.
        hidden_size: H, state size.
        output_size: O, outputs (1 for regression, C classes for classification).
        task: ``"mse"`` or ``"cross_entropy"``.
        impl, unroll, remat: passed to :func:`jaxnn.nn.recurrent.rnn` (``impl="auto"``: the
            hand BPTT where the cell has one).
        forget_bias: overrides an LSTM cell's forget-gate bias at init (None: the cell's own,
            1.0 by default; ignored by the other cells).
        chrono: ``T_max`` for an LSTM cell's chrono initialisation of its input- and
            forget-gate biases (:class:`jaxnn.nn.cells.LSTM`; Tallec & Ollivier 2018), or None;
            ignored by the other cells.
    """

    cell: str | cells.Cell = "lstm"
    input_size: int = 1
    hidden_size: int = 32
    output_size: int = 1
    task: str = "mse"
    impl: str = recurrent.DEFAULT_IMPL
    unroll: int | bool = 1
    remat: bool = False
    forget_bias: float | None = None
    chrono: int | None = None

    def __post_init__(self):
        cells.get(self.cell)
        for name in ("input_size", "hidden_size", "output_size"):
            cfgcheck.int_field(self, name)
        if not (isinstance(self.unroll, bool)
                or (cfgcheck.is_int(self.unroll) and self.unroll >= 1)):
            raise JaxnnError(f"SequenceConfig.unroll must be an integer >= 1 or a bool; "
                             f"got {self.unroll!r}")
        check_choice(self.task, TASKS, "task")
        check_choice(self.impl, recurrent.IMPLS, "impl")

    @property
    def core(self) -> cells.Cell:
        """The cell object (name resolved, ``forget_bias`` and ``chrono`` applied)."""
        return cells.get(self.cell, forget_bias=self.forget_bias, chrono=self.chrono)


def _check_config(config) -> SequenceConfig:
    return cfgcheck.require_config(config, SequenceConfig, "sequence")


def init(key: jax.Array, config: SequenceConfig) -> dict:
    """Parameters of the recurrent core plus the dense readout.

    Args:
        key: PRNG key (split in two: the core's, the readout's).
        config: :class:`SequenceConfig`.

    Returns:
        ``{"rnn": cell params, "readout": {"W": (O, H) float32, "b": (O,) float32}}``.
    """
    _check_config(config)
    k_rnn, k_out = jax.random.split(key)
    core = config.core.init(k_rnn, config.input_size, config.hidden_size)
    O, H = int(config.output_size), int(config.hidden_size)
    return {"rnn": core, "readout": {"W": glorot_uniform(k_out, (O, H)),
                                     "b": jnp.zeros((O,), jnp.float32)}}


def _check_model(params) -> None:
    if not isinstance(params, dict) or set(params) != {"rnn", "readout"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise JaxnnError(f"sequence-model params must have keys ['readout', 'rnn']; got {got}")


def readout(params: dict, h: jax.Array) -> jax.Array:
    """The dense output layer ``h W^T + b``: ``h: (B, H)`` -> ``(B, O)``."""
    _check_model(params)
    return layers.dense(params["readout"], h)


def apply(params: dict, x: jax.Array, *, config: SequenceConfig, key: jax.Array | None = None,
          train: bool = False, lengths=None) -> jax.Array:
    """Run the core over ``x`` and read out its last (valid) hidden state.

    Args:
        params: from :func:`init` with the same ``config``.
        x: ``(B, T, D)`` float inputs, T ≥ 1.
        config: :class:`SequenceConfig`.
        key, train: unused (no dropout); kept for the shared ``apply`` signature.
        lengths: optional ``(B,)`` ints: valid steps per sequence; the readout then sees each
            sequence's own last valid state.

    Returns:
        ``(B, O)`` outputs (regression values or class logits), dtype of ``x``.
    """
    del key, train
    _check_config(config)
    _check_model(params)
    check_ndim(x, 3, "x (batch, time, features)")
    check_floating(x, "x")
    cell = config.core
    _, state = recurrent.rnn(params["rnn"], x, cell=cell, lengths=lengths, impl=config.impl,
                             unroll=config.unroll, remat=config.remat)
    return readout(params, cell.output(state))


def loss(params: dict, batch: tuple, *, config: SequenceConfig,
         key: jax.Array | None = None) -> jax.Array:
    """Batch-mean loss of the many-to-one model.

    Args:
        params: from :func:`init`.
        batch: ``(x, y)`` or ``(x, y, lengths)`` with ``x: (B, T, D)``, ``lengths: (B,)``
            and, for ``task="mse"``, ``y: (B, O)`` or ``(B,)`` when O = 1; for
            ``task="cross_entropy"``, integer labels ``y: (B,)``.
        config: :class:`SequenceConfig` (``task``: ``"mse"``, the mean over the batch of the
            squared error summed over outputs, or ``"cross_entropy"``, softmax cross-entropy
            of the logits, eq 56).
        key: unused.

    Returns:
        scalar float32.
    """
    del key
    _check_config(config)
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise JaxnnError("batch must be (x, y) or (x, y, lengths)")
    x, y = batch[0], batch[1]
    lengths = batch[2] if len(batch) == 3 else None
    out = apply(params, x, config=config, lengths=lengths)
    if config.task == "cross_entropy":
        return losses.cross_entropy(out, y)
    if y.ndim == 1:
        if out.shape[1] != 1:
            raise ShapeError(f"targets y of shape {y.shape} need a model with 1 output; "
                             f"it has {out.shape[1]}")
        y = y[:, None]
    if y.shape != out.shape:
        raise ShapeError(f"targets y must have shape {out.shape}; got {y.shape}")
    return losses.squared_error(out, y.astype(out.dtype), "sum") / out.shape[0]
