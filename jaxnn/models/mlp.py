"""Multilayer perceptron (feedforward network) of any depth and width.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 121–124: with a⁽⁰⁾ = x,

    z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾,    a⁽ˡ⁾ = g⁽ˡ⁾(z⁽ˡ⁾),    l = 1 … L,

and the network's output is a⁽ᴸ⁾. W⁽ˡ⁾ has the notes' shape (nˡ, nˡ⁻¹); batched code computes
``a @ W.T + b`` for a of shape (B, nˡ⁻¹) (:func:`jaxnn.nn.layers.dense`). Parameters nest per
layer: ``{"layer1": {"W": (n¹, n⁰), "b": (n¹,)}, …, "layerL": {"W": (nᴸ, nᴸ⁻¹), "b": (nᴸ,)}}``.
Every static choice (widths, activations, output, loss, λ, dropout, initializer, dtype) lives in
one frozen, hashable :class:`MLPConfig`.

The objective is eq 125 with the sum over samples replaced by the batch *mean* (so the learning
rate does not scale with the batch size):

    J = (1/B) Σᵢ L(yᵢ, f(xᵢ)) + ½ λ Σₗ ‖W⁽ˡ⁾‖²_F    (biases are not penalised).

Losses and the output layer:

============================  ===========================  ==================================
``loss``                       allowed ``output``           computed from
============================  ===========================  ==================================
``"cross_entropy"``            ``"identity"``, ``"softmax"``  the logits z⁽ᴸ⁾ (stable log-softmax)
``"bce"``                      ``"identity"``, ``"sigmoid"``  the logits z⁽ᴸ⁾ (softplus form)
``"squared"``                  any                          a⁽ᴸ⁾: ½‖a⁽ᴸ⁾ − y‖² per sample
============================  ===========================  ==================================

For cross-entropy and BCE the output activation only changes what :func:`apply` returns
(logits vs probabilities); the loss is the same. The hand-derived gradient of :func:`loss` is
:func:`jaxnn.derivations.backprop.backprop`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError, check_finite, check_floating, check_ndim
from jaxnn.models import _config as cfgcheck
from jaxnn.nn import activations as act
from jaxnn.nn import init as initializers
from jaxnn.nn import losses
from jaxnn.nn.layers import dense, dropout

Array = jax.Array
Params = dict[str, dict[str, Array]]

#: Output activations accepted by :class:`MLPConfig` (the elementwise ones plus softmax).
OUTPUTS: tuple[str, ...] = act.NAMES + ("softmax",)
#: Losses accepted by :class:`MLPConfig`, with the output activations each allows.
LOSSES: dict[str, tuple[str, ...] | None] = {
    "cross_entropy": ("identity", "softmax"),
    "bce": ("identity", "sigmoid"),
    "squared": None,  # any output
}


@dataclasses.dataclass(frozen=True)
class MLPConfig:
    """Static choices of an MLP (frozen and hashable: a ``jit`` static argument, never traced).

    Attributes:
        sizes: layer widths (n⁰, n¹, …, nᴸ), input first, at least two, integers > 0.
        activation: hidden activation g⁽ˡ⁾, one name of :mod:`jaxnn.nn.activations` for every
            hidden layer or a tuple of L − 1 names (default the notes' logistic σ).
        output: output activation g⁽ᴸ⁾, one of :data:`OUTPUTS` (``"identity"``: logits).
        loss: ``"cross_entropy"``, ``"bce"`` or ``"squared"`` (see the module table).
        l2: λ ≥ 0 of eq 125's ½λΣ‖W⁽ˡ⁾‖²_F (weights only). Part of the objective, for the
            closed-form checks; weight decay in training belongs in the optimizer chain.
        dropout: probability in [0, 1) of dropping a hidden unit a⁽¹⁾ … a⁽ᴸ⁻¹⁾ in training.
        init: weight initializer of :data:`jaxnn.nn.init.NAMES` (biases start at 0).
        scale: half-width of ``init="uniform"`` only.
        dtype: floating dtype of the parameters (stored as its name).
    """

    sizes: tuple[int, ...]
    activation: str | tuple[str, ...] = "sigmoid"
    output: str = "identity"
    loss: str = "cross_entropy"
    l2: float = 0.0
    dropout: float = 0.0
    init: str = "glorot"
    scale: float = 0.05
    dtype: Any = "float32"

    def __post_init__(self):
        cfgcheck.sizes_field(self, "sizes")
        n_hidden = len(self.sizes) - 2
        a = self.activation
        names = (a,) * n_hidden if isinstance(a, str) else a
        try:
            names = tuple(names)
        except TypeError:
            raise JaxnnError(f"MLPConfig.activation must be a name or a tuple of names; "
                             f"got {a!r}") from None
        if len(names) != n_hidden or any(n not in act.NAMES for n in names):
            raise JaxnnError(
                f"MLPConfig.activation must be one name or {n_hidden} names (one per hidden "
                f"layer) of {', '.join(map(repr, act.NAMES))}; got {a!r}")
        if not isinstance(a, str):
            cfgcheck.set_field(self, "activation", names)
        cfgcheck.choice_field(self, "output", OUTPUTS)
        cfgcheck.choice_field(self, "loss", LOSSES)
        allowed = LOSSES[self.loss]
        if allowed is not None and self.output not in allowed:
            raise JaxnnError(f"MLPConfig.loss {self.loss!r} needs output in {allowed}; got "
                             f"MLPConfig.output {self.output!r}")
        cfgcheck.float_field(self, "l2", lo=0.0)
        cfgcheck.float_field(self, "dropout", lo=0.0, hi=1.0, hi_open=True)
        cfgcheck.choice_field(self, "init", initializers.NAMES)
        cfgcheck.float_field(self, "scale", lo=0.0, lo_open=True)
        cfgcheck.dtype_field(self, "dtype")

    @property
    def num_layers(self) -> int:
        """L, the number of weight layers."""
        return len(self.sizes) - 1

    @property
    def hidden_activations(self) -> tuple[str, ...]:
        """The L − 1 hidden activation names."""
        a = self.activation
        return (a,) * (self.num_layers - 1) if isinstance(a, str) else a


# --------------------------------------------------------------------------- helpers


def layer_name(l: int) -> str:
    """Key of layer l (1-based) in the params: ``"layer<l>"``."""
    return f"layer{l}"


def output_fn(output: str):
    """The output activation g⁽ᴸ⁾ by name: any of :data:`OUTPUTS`."""
    return act.softmax if output == "softmax" else act.get(output).fn


def _check_params(params: Params, config: MLPConfig) -> None:
    want = {layer_name(l) for l in range(1, config.num_layers + 1)}
    if not isinstance(params, dict) or set(params) != want:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise JaxnnError(f"params must hold {sorted(want)} for sizes {config.sizes}; got {got}")
    for l, (n_in, n_out) in enumerate(zip(config.sizes[:-1], config.sizes[1:]), start=1):
        p = params[layer_name(l)]
        if np.shape(p.get("W")) != (n_out, n_in) or np.shape(p.get("b")) != (n_out,):
            raise ShapeError(f"params[{layer_name(l)!r}] must be {{'W': ({n_out}, {n_in}), "
                             f"'b': ({n_out},)}} for sizes {config.sizes}; got "
                             f"{ {k: tuple(np.shape(v)) for k, v in p.items()} }")


def _check_input(params: Params, x: Any, config: MLPConfig) -> None:
    cfgcheck.require_config(config, MLPConfig, "mlp")
    _check_params(params, config)
    check_ndim(x, 2, "x")
    check_floating(x, "x")
    check_finite(x, "x")
    n0 = config.sizes[0]
    if np.shape(x)[1] != n0:
        raise ShapeError(f"x must have shape (B, {n0}) to match sizes {config.sizes}; "
                         f"got {tuple(np.shape(x))}")


# --------------------------------------------------------------------------- init / forward


def init(key: Array, config: MLPConfig) -> Params:
    """Initialise an MLP with layer sizes ``config.sizes`` = (n⁰, n¹, …, nᴸ).

    Args:
        key: a ``jax.random`` key (split into L layer keys).
        config: :class:`MLPConfig` (``init``, ``scale`` and ``dtype`` are used).

    Returns:
        ``{"layer1": {"W": (n¹, n⁰), "b": (n¹,)}, …, "layerL": {"W": (nᴸ, nᴸ⁻¹),
        "b": (nᴸ,)}}``; biases are zeros.
    """
    cfgcheck.require_config(config, MLPConfig, "mlp.init")
    sizes, dtype = config.sizes, config.dtype
    make = initializers.get(config.init, scale=config.scale)
    keys = jax.random.split(key, len(sizes) - 1)
    params: Params = {}
    for l, (k, n_in, n_out) in enumerate(zip(keys, sizes[:-1], sizes[1:]), start=1):
        params[layer_name(l)] = {"W": make(k, (n_out, n_in), dtype),
                                 "b": jnp.zeros((n_out,), dtype)}
    return params


def forward(params: Params, x: Array, *, config: MLPConfig, key: Array | None = None,
            train: bool = False) -> tuple[list[Array], list[Array]]:
    """The forward pass of eq 121–124, keeping every z⁽ˡ⁾ and a⁽ˡ⁾ (backprop's cache).

    Args:
        params: from :func:`init`.
        x: (B, n⁰) inputs, floating dtype.
        config: :class:`MLPConfig`.
        key, train: dropout on the hidden activations a⁽¹⁾ … a⁽ᴸ⁻¹⁾ (never on the input or
            output), active only when ``train`` and ``config.dropout > 0``; ``key`` is then
            required.

    Returns:
        ``(zs, as_)``: ``zs[l - 1]`` = z⁽ˡ⁾ of shape (B, nˡ) for l = 1 … L, and
        ``as_[l]`` = a⁽ˡ⁾ for l = 0 … L (``as_[0]`` is x, ``as_[L]`` the output).
        With dropout, ``as_[l]`` is the dropped-out activation the next layer sees.

    Raises:
        JaxnnError: params that do not fit ``config``, x not (B, n⁰), or dropout without a key.
    """
    _check_input(params, x, config)
    L = config.num_layers
    names = config.hidden_activations
    g_out = output_fn(config.output)
    rate = config.dropout
    drop = train and rate > 0.0
    if drop and key is None:
        raise JaxnnError("dropout with train=True and MLPConfig.dropout > 0 needs a key; "
                         "got key=None")
    keys = jax.random.split(key, max(L - 1, 1)) if drop else [None] * L
    zs, as_ = [], [x]
    for l in range(1, L + 1):
        z = dense(params[layer_name(l)], as_[-1])
        a = act.get(names[l - 1]).fn(z) if l < L else g_out(z)
        if drop and l < L:
            a = dropout(a, rate, key=keys[l - 1], train=True)
        zs.append(z)
        as_.append(a)
    return zs, as_


def apply(params: Params, x: Array, *, config: MLPConfig, key: Array | None = None,
          train: bool = False) -> Array:
    """Network output a⁽ᴸ⁾ for a batch.

    Args:
        params: from :func:`init`.
        x: (B, n⁰) inputs, floating dtype.
        config: :class:`MLPConfig` (``output="identity"`` returns logits).
        key: PRNG key, needed only for dropout in training.
        train: dropout is applied only when True (and ``config.dropout > 0``).

    Returns:
        (B, nᴸ) outputs, dtype of the parameters.
    """
    _, as_ = forward(params, x, config=config, key=key, train=train)
    return as_[-1]


# --------------------------------------------------------------------------- loss


def data_loss(z_out: Array, a_out: Array, y: Array, loss: str) -> Array:
    """Batch-mean data term of J from the last layer's z⁽ᴸ⁾ and a⁽ᴸ⁾ (both (B, nᴸ)).

    Args:
        z_out: (B, nᴸ) logits.
        a_out: (B, nᴸ) outputs g⁽ᴸ⁾(z⁽ᴸ⁾).
        y: integer labels (B,) or one-hot (B, nᴸ) for cross-entropy; (B, nᴸ) targets else.
        loss: one of :data:`LOSSES`.

    Returns:
        scalar.
    """
    if loss == "cross_entropy":
        return losses.cross_entropy(z_out, y)
    if np.shape(y) != np.shape(a_out):
        raise ShapeError(f"targets y must have the output's shape {tuple(np.shape(a_out))} for "
                         f"loss {loss!r}; got {tuple(np.shape(y))}")
    if loss == "bce":
        return losses.binary_cross_entropy_with_logits(z_out, y) * a_out.shape[1]
    return losses.squared_error(a_out, y, reduction="half_sum") / a_out.shape[0]


def penalty_mask(config: MLPConfig) -> dict[str, dict[str, bool]]:
    """Which leaves the L2 term of eq 125 penalises: every layer's W, no bias b.

    Args:
        config: :class:`MLPConfig` (``sizes`` gives the L layers).

    Returns:
        ``{"layer1": {"W": True, "b": False}, …, "layerL": {"W": True, "b": False}}``, the
        structure of :func:`init`'s params; a mask for ``jaxnn.nn.losses.l2_penalty`` and
        ``jaxnn.optim.l2``.
    """
    return {layer_name(l): {"W": True, "b": False} for l in range(1, config.num_layers + 1)}


def loss(params: Params, batch: tuple[Array, Array], *, config: MLPConfig,
         key: Array | None = None) -> Array:
    """Objective J = mean over the batch of L(y, f(x)) + ½ λ Σ ‖W⁽ˡ⁾‖²_F (eq 125, mean form).

    Args:
        params: from :func:`init`.
        batch: ``(x, y)`` with x (B, n⁰); y integer labels (B,) or one-hot (B, nᴸ) for
            ``"cross_entropy"``, targets (B, nᴸ) in [0, 1] for ``"bce"`` (summed over the
            nᴸ independent outputs, averaged over the batch), real targets (B, nᴸ) for
            ``"squared"`` (½‖a⁽ᴸ⁾ − y‖² per sample, averaged over the batch).
        config: :class:`MLPConfig` (``loss``, ``output``, ``l2``, ``dropout``).
        key: PRNG key. Given (training), dropout is applied when ``config.dropout > 0``;
            ``None`` (evaluation) disables it.

    Returns:
        scalar J, dtype of the parameters.

    Raises:
        JaxnnError: params that do not fit ``config``, or x and y with different batch sizes.
    """
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise JaxnnError(f"mlp.loss batch must be the pair (x, y); got {type(batch).__name__}")
    x, y = batch
    check_ndim(y, (1, 2), "y")
    if np.shape(x)[0] != np.shape(y)[0]:
        raise ShapeError(f"x and y must share the batch size; got x {tuple(np.shape(x))} "
                         f"and y {tuple(np.shape(y))}")
    zs, as_ = forward(params, x, config=config, key=key, train=key is not None)
    J = data_loss(zs[-1], as_[-1], y, config.loss)
    if config.l2:
        J = J + config.l2 * losses.l2_penalty(params, penalty_mask(config))
    return J
