"""The cell protocol (:class:`Cell`), the registry of named cells, and shared helpers.

A cell is a frozen, hashable object (a frozen dataclass), so it can be a static argument of
``jax.jit`` and of the custom VJP. It describes one recurrent step and nothing else; the time
loop, masks, reverse, bidirectional, truncated BPTT and remat live in
:mod:`jaxnn.nn.recurrent`, the backward scan of the hand BPTT in :mod:`jaxnn.nn.recurrent_vjp`.

What a cell says (Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 176: ``h_t = f(h_{t−1}, x_t)``):

- ``gates`` (G) and ``gate_names``: the input projection ``a_t = x_t Wᵀ + b`` has ``G·H``
  features, G blocks of H stacked along the first axis of ``W: (G·H, D)`` and ``b: (G·H,)``.
  The engine computes ``a`` for all steps in one matmul before the scan.
- ``state_names``: ``("h",)`` (the state is the array ``h: (B, H)``) or ``("h", "c")`` (the
  state is the tuple ``(h, c)``). The first part is always ``h``, the step's output.
- ``param_shapes(D, H)``: every parameter's shape (``W``, ``b`` and the recurrent ones);
  :meth:`Cell.init` draws them, :meth:`Cell.init_state` makes the zero state.
- ``step(params, state, a_t) -> (new_state, residuals)``: one step from the hoisted ``a_t``;
  ``residuals`` is what the hand backward needs (None, an array, any pytree).
- optionally ``loop_params(params)``: the parameters as ``step`` and ``backward`` read them,
  built once before the time loop (the default returns them unchanged). The engine passes
  ``step`` and ``backward`` its result, never the raw parameters.
- optionally ``backward(rec, dstate, prev, new, residuals) -> (δa_t, dprev)`` (back through one
  step) and ``weight_grads(rec, δa, prevs, news, residuals, a) -> {name: grad}`` (the gradient
  of the recurrent parameters from the δa of all steps, outside the loop). A cell without
  ``backward`` runs with autodiff only.

``rec`` is ``params`` without ``W`` and ``b`` (:func:`recurrent_params`): the recurrent
parameters, the only ones the custom VJP sees (JAX differentiates the input projection).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError, check_choice
from jaxnn.nn.init import glorot_uniform, orthogonal, zeros

Params = dict[str, jax.Array]
State = Any  # h: (B, H), or a tuple (h, c, ...) of (B, H) arrays
Initializer = Callable[..., jax.Array]  # fn(key, shape, dtype) -> array, as jaxnn.nn.init

INPUT_KEYS = ("W", "b")  # the hoisted input projection a = x Wᵀ + b; the rest is recurrent


@dataclasses.dataclass(frozen=True)
class Cell:
    """Base class of every recurrent cell; subclass it as ``@dataclasses.dataclass(frozen=True)``.

    Attributes:
        kernel_init: per gate block of ``W``, shape ``(H, D)`` (Glorot-uniform).
        recurrent_init: per gate block of ``U``, shape ``(H, H)`` (orthogonal).
        bias_init: ``b``, shape ``(G·H,)`` (zeros).

    These are keyword-only and shared by every cell, each an initializer
    ``fn(key, shape, dtype)`` as in :mod:`jaxnn.nn.init`.

    Class attributes a subclass sets: ``gates`` (G), ``gate_names`` (G names), ``state_names``
    (``("h",)`` or ``("h", "c")``), ``family`` (the name in messages). It implements
    :meth:`step` and, for the hand BPTT, ``backward`` (and :meth:`weight_grads` when it has
    recurrent parameters other than ``U``).
    """

    kernel_init: Initializer = dataclasses.field(default=glorot_uniform, kw_only=True)
    recurrent_init: Initializer = dataclasses.field(default=orthogonal, kw_only=True)
    bias_init: Initializer = dataclasses.field(default=zeros, kw_only=True)

    gates: ClassVar[int] = 1
    gate_names: ClassVar[tuple[str, ...]] = ("h",)
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    family: ClassVar[str] = "cell"
    #: ``backward(rec, dstate, prev, new, residuals) -> (δa_t: (B, G·H), dprev)``, or None
    #: (autodiff only), with ``rec`` = :meth:`loop_params` of the recurrent parameters.
    #: ``dstate`` is ∂J/∂(new state), already zero at padded steps.
    backward: ClassVar[Callable | None] = None

    # --- description -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """A short name for messages (the registry name of the built-in cells)."""
        return self.family

    def extra_shapes(self, hidden_size: int) -> dict[str, tuple[int, ...]]:
        """Recurrent parameters besides ``U`` (e.g. peepholes), name -> shape; none here."""
        del hidden_size
        return {}

    def param_shapes(self, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
        """Every parameter's shape: ``W: (G·H, D)``, ``U: (G·H, H)``, ``b: (G·H,)``, extras."""
        gh = self.gates * hidden_size
        return {"W": (gh, input_size), "U": (gh, hidden_size), "b": (gh,),
                **self.extra_shapes(hidden_size)}

    # --- parameters and state ----------------------------------------------------------------

    def init(self, key: jax.Array, input_size: int, hidden_size: int,
             dtype=jnp.float32) -> Params:
        """Draw the parameters: ``W``, ``U`` per gate block, ``b``, extras zero.

        Args:
            key: PRNG key (split in two: ``W``'s blocks from the first, ``U``'s from the second).
            input_size: D. hidden_size: H. dtype: parameter dtype.

        Returns:
            dict of :meth:`param_shapes` arrays.
        """
        for v, nm in ((input_size, "input_size"), (hidden_size, "hidden_size")):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise JaxnnError(f"{nm} must be a positive int; got {v!r}")
        g, h, d = self.gates, int(hidden_size), int(input_size)
        kw, ku = jax.random.split(key)
        W = jnp.concatenate([self.kernel_init(k, (h, d), dtype) for k in jax.random.split(kw, g)])
        U = jnp.concatenate([self.recurrent_init(k, (h, h), dtype)
                             for k in jax.random.split(ku, g)])
        b = self.bias_init(jax.random.fold_in(key, 2), (g * h,), dtype)
        params = {"W": W, "U": U, "b": b}
        params.update({n: jnp.zeros(s, dtype) for n, s in self.extra_shapes(h).items()})
        return params

    def init_state(self, batch: int, hidden_size: int, dtype=jnp.float32) -> State:
        """The zero state (eq 176: ``h_0 = 0``): ``h: (B, H)`` or ``(h, c)``."""
        z = jnp.zeros((batch, hidden_size), dtype)
        return self.join_state((z,) * len(self.state_names))

    def split_state(self, state: State) -> tuple:
        """The state as a tuple of parts, ``h`` first."""
        return (state,) if len(self.state_names) == 1 else tuple(state)

    def join_state(self, parts) -> State:
        """Inverse of :meth:`split_state`."""
        return parts[0] if len(self.state_names) == 1 else tuple(parts)

    def output(self, state: State) -> jax.Array:
        """``h``, the part of the state the cell emits (also of stacked ``(T, B, H)`` states)."""
        return self.split_state(state)[0]

    # --- the step and its backward -----------------------------------------------------------

    def loop_params(self, params: Params) -> Params:
        """The parameters as :meth:`step` and ``backward`` read them, computed once outside
        the time loop; here ``params`` unchanged.

        A cell whose step reads a slice of a parameter (a gate block of ``U``) takes it here:
        XLA:CPU does not hoist such a slice out of a while loop and copies it at every step.

        Args:
            params: the cell's parameters, or only the recurrent ones (``rec``).

        Returns:
            a dict that :meth:`step` and ``backward`` accept.
        """
        return params

    def step(self, params: Params, state: State, a_t: jax.Array) -> tuple[State, Any]:
        """One step from ``a_t: (B, G·H)`` with ``params`` = :meth:`loop_params`'s result;
        returns ``(new_state, residuals)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement step")

    def recompute(self, rec: Params, a: jax.Array, prevs: State) -> Any:
        """The residuals of every step again, from ``a: (T, B, G·H)`` and the states before."""
        lp = self.loop_params(rec)
        return jax.vmap(lambda a_t, s: self.step(lp, s, a_t)[1])(a, prevs)

    def weight_grads(self, rec: Params, da: jax.Array, prevs: State, news: State,
                     residuals: Any, a: jax.Array) -> Params:
        """∂J/∂rec from the δa of all steps: ``∂J/∂U = Σ_t δa_tᵀ h_{t−1}`` (eq 183 as one sum).

        Args:
            rec: the recurrent parameters. da: ``(T, B, G·H)``. prevs, news: the states before
            and after each step, stacked ``(T, B, H)`` parts. residuals: the stacked residuals
            of :meth:`step`, or None under remat (then :meth:`recompute` them from ``a``).

        Returns:
            a dict with the keys of ``rec``. This default knows ``U`` only.
        """
        del news, residuals, a
        if set(rec) != {"U"}:
            raise JaxnnError(f"cell {self.name!r} has recurrent parameters {sorted(rec)}: it must "
                             "define weight_grads for its hand backward")
        return {"U": jnp.einsum("tbg,tbh->gh", da, self.output(prevs))}


# --- registry -------------------------------------------------------------------------------

_REGISTRY: dict[str, Cell] = {}


def register(name: str, cell: Cell) -> Cell:
    """Make ``cell`` available under ``name`` wherever a cell is accepted; returns it."""
    if not isinstance(cell, Cell):
        raise JaxnnError(f"only Cell instances can be registered; got {type(cell).__name__}")
    _REGISTRY[name] = cell
    return cell


def names() -> tuple[str, ...]:
    """The registered cell names."""
    return tuple(_REGISTRY)


def get(cell: str | Cell, **overrides) -> Cell:
    """The cell object for a name or a cell, with field ``overrides`` applied.

    Args:
        cell: a registered name (``"rnn"``, ``"lstm"``, …) or a :class:`Cell`.
        **overrides: field values (e.g. ``activation="sigmoid"``, ``forget_bias=0.0``); None
            values, and fields the cell does not have, are ignored (``forget_bias`` means
            nothing to a GRU).

    Returns:
        a :class:`Cell`. Raises :class:`JaxnnError` naming an unknown name or a non-cell.
    """
    if isinstance(cell, str):
        check_choice(cell, _REGISTRY, "cell")
        cell = _REGISTRY[cell]
    elif not isinstance(cell, Cell):
        raise JaxnnError(f"cell must be a name ({', '.join(map(repr, _REGISTRY))}) or a "
                         f"jaxnn.nn.cells.Cell; got {type(cell).__name__}")
    fields = {f.name for f in dataclasses.fields(cell)}
    kw = {k: v for k, v in overrides.items() if v is not None and k in fields}
    return dataclasses.replace(cell, **kw) if kw else cell


def recurrent_params(params: Params) -> Params:
    """``params`` without the input projection ``W``, ``b``: what the recurrence reads."""
    return {k: v for k, v in params.items() if k not in INPUT_KEYS}


def check_params(params: Params, cell: Cell, input_size: int | None = None) -> int:
    """Validate the parameter dict of ``cell`` against :meth:`Cell.param_shapes`; return H."""
    if not isinstance(params, dict):
        raise JaxnnError(f"params must be a dict of arrays; got {type(params).__name__}")
    want = set(cell.param_shapes(1, 1))
    if set(params) != want:
        raise JaxnnError(f"params for cell {cell.name!r} must have keys {sorted(want)}; "
                         f"got {sorted(params)}")
    W = params["W"]
    if W.ndim != 2 or W.shape[0] % cell.gates or W.shape[0] == 0:
        raise ShapeError(f"W of cell {cell.name!r} must have shape ({cell.gates}·H, D); "
                         f"got {W.shape}")
    h, d = W.shape[0] // cell.gates, W.shape[1]
    if input_size is not None and d != input_size:
        raise ShapeError(f"x has {input_size} features but W expects {d} (W: {W.shape})")
    for name, shape in cell.param_shapes(d, h).items():
        if tuple(params[name].shape) != tuple(shape):
            raise ShapeError(f"{name} of cell {cell.name!r} must have shape {tuple(shape)}; "
                             f"got {tuple(params[name].shape)}")
    return h


# --- helpers shared by the cell modules -----------------------------------------------------

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


def sig_prime(s: jax.Array) -> jax.Array:
    """σ′ from σ's value: ``s (1 − s)``."""
    return s * (1.0 - s)
