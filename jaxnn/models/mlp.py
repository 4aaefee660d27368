"""Multilayer perceptron (feedforward network) of any depth and width.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 121–124: with a⁽⁰⁾ = x,

    z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾,    a⁽ˡ⁾ = g⁽ˡ⁾(z⁽ˡ⁾),    l = 1 … L,

and the network's output is a⁽ᴸ⁾. W⁽ˡ⁾ has the notes' shape (nˡ, nˡ⁻¹); batched code computes
``a @ W.T + b`` for a of shape (B, nˡ⁻¹). Parameters are ``{"W1", "b1", …, "WL", "bL"}``.

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

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError, check_choice, check_ndim, check_range
from jaxnn.nn import activations as act
from jaxnn.nn import init as initializers
from jaxnn.nn import losses
from jaxnn.nn.layers import dropout

Array = jax.Array
Params = dict[str, Array]

#: Output activations accepted by :func:`apply` (the elementwise ones plus softmax).
OUTPUTS: tuple[str, ...] = act.NAMES + ("softmax",)
#: Losses accepted by :func:`loss`, with the output activations each allows.
LOSSES: dict[str, tuple[str, ...] | None] = {
    "cross_entropy": ("identity", "softmax"),
    "bce": ("identity", "sigmoid"),
    "squared": None,  # any output
}


# --------------------------------------------------------------------------- helpers


def num_layers(params: Params) -> int:
    """Number L of weight layers in ``params`` (keys W1 … WL)."""
    n = 0
    while f"W{n + 1}" in params:
        n += 1
    if n == 0:
        raise JaxnnError(f"params hold no W1; got keys {sorted(params)}")
    return n


def hidden_activations(activations: str | Sequence[str], n_hidden: int) -> tuple[str, ...]:
    """Expand ``activations`` (one name, or one per hidden layer) to a tuple of n_hidden names.

    Raises:
        JaxnnError: unknown name, or a sequence whose length is not ``n_hidden``.
    """
    names = (activations,) * n_hidden if isinstance(activations, str) else tuple(activations)
    if len(names) != n_hidden:
        raise JaxnnError(
            f"activations must be one name or {n_hidden} names (one per hidden layer); "
            f"got {len(names)}: {names!r}")
    for name in names:
        check_choice(name, act.NAMES, "activation")
    return names


def output_fn(output: str):
    """The output activation g⁽ᴸ⁾ by name: any of :data:`OUTPUTS`."""
    check_choice(output, OUTPUTS, "output activation")
    return act.softmax if output == "softmax" else act.get(output).fn


def _check_input(params: Params, x: Any) -> int:
    check_ndim(x, 2, "x")
    n0 = params["W1"].shape[1]
    if np.shape(x)[1] != n0:
        raise ShapeError(f"x must have shape (B, {n0}) to match W1 {tuple(params['W1'].shape)}; "
                         f"got {tuple(np.shape(x))}")
    return num_layers(params)


# --------------------------------------------------------------------------- init / forward


def init(key: Array, sizes: Sequence[int], *, init: str = "glorot", scale: float = 0.05,
         dtype=jnp.float32) -> Params:
    """Initialise an MLP with layer sizes (n⁰, n¹, …, nᴸ).

    Args:
        key: a ``jax.random`` key.
        sizes: layer widths, input first, at least two entries, all > 0.
        init: weight initializer name from :data:`jaxnn.nn.init.NAMES` (``"glorot"`` =
            Glorot uniform, ``"he"`` = He normal, ``"uniform"`` = U(−scale, scale));
            biases start at 0.
        scale: half-width for ``init="uniform"`` only.
        dtype: floating dtype of the parameters.

    Returns:
        ``{"W1": (n¹, n⁰), "b1": (n¹,), …, "WL": (nᴸ, nᴸ⁻¹), "bL": (nᴸ,)}``.

    Raises:
        JaxnnError: fewer than two sizes, a size ≤ 0, or an unknown initializer.
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2:
        raise JaxnnError(f"sizes must list at least input and output widths; got {sizes}")
    bad = [s for s in sizes if s <= 0]
    if bad:
        raise JaxnnError(f"layer sizes must be > 0; got {sizes} (bad: {bad})")
    make = initializers.get(init, scale=scale)
    keys = jax.random.split(key, len(sizes) - 1)
    params: Params = {}
    for l, (k, n_in, n_out) in enumerate(zip(keys, sizes[:-1], sizes[1:]), start=1):
        params[f"W{l}"] = make(k, (n_out, n_in), dtype)
        params[f"b{l}"] = jnp.zeros((n_out,), dtype)
    return params


def forward(params: Params, x: Array, *, activations: str | Sequence[str],
            output: str = "identity", key: Array | None = None, train: bool = False,
            dropout_rate: float = 0.0) -> tuple[list[Array], list[Array]]:
    """The forward pass of eq 121–124, keeping every z⁽ˡ⁾ and a⁽ˡ⁾ (backprop's cache).

    Args:
        params: from :func:`init`.
        x: (B, n⁰) inputs, floating dtype.
        activations: hidden activation name, or one name per hidden layer (L − 1 names).
        output: output activation g⁽ᴸ⁾, one of :data:`OUTPUTS`.
        key, train, dropout_rate: dropout on the hidden activations a⁽¹⁾ … a⁽ᴸ⁻¹⁾ (never on
            the input or output), active only when ``train`` and ``dropout_rate > 0``;
            ``key`` is then required. ``dropout_rate`` is the probability of dropping.

    Returns:
        ``(zs, as_)``: ``zs[l - 1]`` = z⁽ˡ⁾ of shape (B, nˡ) for l = 1 … L, and
        ``as_[l]`` = a⁽ˡ⁾ for l = 0 … L (``as_[0]`` is x, ``as_[L]`` the output).
        With dropout, ``as_[l]`` is the dropped-out activation the next layer sees.
    """
    L = _check_input(params, x)
    names = hidden_activations(activations, L - 1)
    g_out = output_fn(output)
    check_range(dropout_rate, 0.0, 1.0, "dropout_rate")
    drop = train and dropout_rate > 0.0
    if drop and key is None:
        raise JaxnnError("dropout with train=True and dropout_rate > 0 needs a key; got key=None")
    keys = jax.random.split(key, max(L - 1, 1)) if drop else [None] * L
    zs, as_ = [], [x]
    for l in range(1, L + 1):
        z = as_[-1] @ params[f"W{l}"].T + params[f"b{l}"][None, :]
        a = act.get(names[l - 1]).fn(z) if l < L else g_out(z)
        if drop and l < L:
            a = dropout(a, dropout_rate, key=keys[l - 1], train=True)
        zs.append(z)
        as_.append(a)
    return zs, as_


def apply(params: Params, x: Array, *, activations: str | Sequence[str],
          output: str = "identity", key: Array | None = None, train: bool = False,
          dropout_rate: float = 0.0) -> Array:
    """Network output a⁽ᴸ⁾ for a batch.

    Args:
        params: from :func:`init`.
        x: (B, n⁰) inputs, floating dtype.
        activations: hidden activation name, or one per hidden layer.
        output: output activation, one of :data:`OUTPUTS` (``"identity"`` returns logits).
        key: PRNG key, needed only for dropout in training.
        train: dropout is applied only when True.
        dropout_rate: probability of dropping a hidden unit (inverted scaling).

    Returns:
        (B, nᴸ) outputs, dtype of the parameters.
    """
    _, as_ = forward(params, x, activations=activations, output=output, key=key,
                     train=train, dropout_rate=dropout_rate)
    return as_[-1]


# --------------------------------------------------------------------------- loss


def check_loss_args(loss: str, output: str) -> None:
    """Raise :class:`JaxnnError` for an unknown loss or one that does not fit ``output``."""
    check_choice(loss, LOSSES, "loss")
    check_choice(output, OUTPUTS, "output activation")
    allowed = LOSSES[loss]
    if allowed is not None and output not in allowed:
        raise JaxnnError(f"loss {loss!r} needs output in {allowed}; got output {output!r}")


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


def loss(params: Params, batch: tuple[Array, Array], *, activations: str | Sequence[str],
         output: str = "identity", loss: str = "cross_entropy", l2: float = 0.0,
         key: Array | None = None, train: bool = False, dropout_rate: float = 0.0) -> Array:
    """Objective J = mean over the batch of L(y, f(x)) + ½ λ Σ ‖W⁽ˡ⁾‖²_F (eq 125, mean form).

    Args:
        params: from :func:`init`.
        batch: ``(x, y)`` with x (B, n⁰); y integer labels (B,) or one-hot (B, nᴸ) for
            ``"cross_entropy"``, targets (B, nᴸ) in [0, 1] for ``"bce"`` (summed over the
            nᴸ independent outputs, averaged over the batch), real targets (B, nᴸ) for
            ``"squared"`` (½‖a⁽ᴸ⁾ − y‖² per sample, averaged over the batch).
        activations: hidden activation name, or one per hidden layer.
        output: output activation; see the table in the module docstring.
        loss: ``"cross_entropy"``, ``"bce"`` or ``"squared"``.
        l2: λ ≥ 0 of the weight penalty (weights only, not biases).
        key, train, dropout_rate: as in :func:`apply`.

    Returns:
        scalar J, dtype of the parameters.

    Raises:
        JaxnnError: unknown loss/activation/output, a loss that does not fit the output,
            λ < 0, or x and y with different batch sizes.
    """
    x, y = batch
    check_loss_args(loss, output)
    if l2 < 0:
        raise JaxnnError(f"l2 must be >= 0; got {l2!r}")
    check_ndim(y, (1, 2), "y")
    if np.shape(x)[0] != np.shape(y)[0]:
        raise ShapeError(f"x and y must share the batch size; got x {tuple(np.shape(x))} "
                         f"and y {tuple(np.shape(y))}")
    zs, as_ = forward(params, x, activations=activations, output=output, key=key,
                      train=train, dropout_rate=dropout_rate)
    J = data_loss(zs[-1], as_[-1], y, loss)
    if l2:
        J = J + l2 * losses.l2_penalty(params)
    return J
