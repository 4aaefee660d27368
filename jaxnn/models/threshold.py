"""Layered threshold (step-unit) networks, e.g. the two-layer net of the XOR slide.

aopu's lecture notes 《神经网络》 ("神经网络直观理解之非线性可分") give two hidden step units and
one output step unit with augmented weights (bias first)

    W1 = (−3, 2, 2),  W2 = (−1, 2, 2),  Wz = (1, 2, −2),  h(z) = 1 if z ≥ 0 else 0,

and the truth table x1 x2 → z1 z2 → h = 00→00→1, 01→01→0, 10→01→0, 11→11→1. The table is
right, but the function it shows is **XNOR** (1 when x1 = x2), not XOR: z1 = AND, z2 = OR and
the output fires when z1 ≥ z2 − ½, i.e. "AND or not OR". Negating the output unit
(Wz → (−1, −2, 2)) gives XOR; :func:`notes_params` has both.

Parameters follow the notes' orientation and nest per layer,
``{"layer1": {"W": (n¹, n⁰), "b": (n¹,)}, …}``; the widths live in :class:`ThresholdConfig`.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError, check_choice, check_ndim, check_shape
from jaxnn.models import _config as cfgcheck
from jaxnn.nn.activations import binary_step
from jaxnn.nn.layers import dense

Array = jax.Array
Params = dict[str, dict[str, Array]]

#: The notes' augmented rows (bias, w_x1, w_x2) of the hidden units and the output unit.
NOTES_W1 = (-3.0, 2.0, 2.0)
NOTES_W2 = (-1.0, 2.0, 2.0)
NOTES_WZ = (1.0, 2.0, -2.0)


@dataclasses.dataclass(frozen=True)
class ThresholdConfig:
    """Static choices of a threshold net (frozen, hashable).

    Attributes:
        sizes: layer widths (n⁰, n¹, …, nᴸ), input first, integers > 0; default the notes'
            2-2-1 XOR net.
        dtype: floating dtype of :func:`init`'s parameters (stored as its name).
    """

    sizes: tuple[int, ...] = (2, 2, 1)
    dtype: Any = "float32"

    def __post_init__(self):
        cfgcheck.sizes_field(self, "sizes")
        cfgcheck.dtype_field(self, "dtype")


#: The notes' 2-2-1 net.
NOTES = ThresholdConfig()


def from_augmented(*layers) -> Params:
    """Build params from augmented rows (bias first), one tuple of rows per layer.

    Args:
        *layers: each a sequence of rows ``(b, w_1, …, w_n)``, one row per unit.

    Returns:
        ``{"layer1": {"W": (n¹, n⁰), "b": (n¹,)}, "layer2": …}`` float32.
    """
    params = {}
    for i, rows in enumerate(layers, start=1):
        a = jnp.asarray(rows, jnp.float32)
        check_ndim(a, 2, f"layer {i} rows")
        params[f"layer{i}"] = {"W": a[:, 1:], "b": a[:, 0]}
    return params


def notes_params(which: str = "notes") -> Params:
    """The notes' weights (``"notes"``, computes XNOR) or the same net with the output unit
    negated (``"xor"``), for ``config=NOTES``.

    Args:
        which: ``"notes"`` or ``"xor"``.

    Returns:
        ``{"layer1": {"W": (2, 2), "b": (2,)}, "layer2": {"W": (1, 2), "b": (1,)}}``.
    """
    check_choice(which, ("notes", "xor"), "which")
    out = NOTES_WZ if which == "notes" else tuple(-v for v in NOTES_WZ)
    return from_augmented((NOTES_W1, NOTES_W2), (out,))


def init(key: Array, config: ThresholdConfig) -> Params:
    """Random standard-normal weights and biases for layer sizes ``config.sizes``.

    Threshold units have zero gradient almost everywhere, so this net is not trained by
    gradient descent here; random weights are only for exploring which functions it computes.

    Args:
        key: PRNG key (split into one key per layer, then into W and b).
        config: :class:`ThresholdConfig`.

    Returns:
        ``{"layer<l>": {"W": (nˡ, nˡ⁻¹), "b": (nˡ,)}}`` for l = 1 … L.
    """
    cfgcheck.require_config(config, ThresholdConfig, "threshold.init")
    sizes, dtype = config.sizes, config.dtype
    keys = jax.random.split(key, len(sizes) - 1)
    params = {}
    for i, (k, n_in, n_out) in enumerate(zip(keys, sizes[:-1], sizes[1:]), start=1):
        kw, kb = jax.random.split(k)
        params[f"layer{i}"] = {"W": jax.random.normal(kw, (n_out, n_in), dtype),
                               "b": jax.random.normal(kb, (n_out,), dtype)}
    return params


def _check_params(params: Params, config: ThresholdConfig) -> None:
    L = len(config.sizes) - 1
    want = [f"layer{i}" for i in range(1, L + 1)]
    if not isinstance(params, dict) or sorted(params) != sorted(want):
        raise JaxnnError(f"params must hold {want} for sizes {config.sizes}; got "
                         f"{sorted(params) if isinstance(params, dict) else params!r}")
    for i, (n_in, n_out) in enumerate(zip(config.sizes[:-1], config.sizes[1:]), start=1):
        p = params[f"layer{i}"]
        if np.shape(p.get("W")) != (n_out, n_in) or np.shape(p.get("b")) != (n_out,):
            raise ShapeError(f"params['layer{i}'] must be {{'W': ({n_out}, {n_in}), "
                             f"'b': ({n_out},)}} for sizes {config.sizes}; got "
                             f"{ {k: tuple(np.shape(v)) for k, v in p.items()} }")


def layer_outputs(params: Params, x: Array, *, config: ThresholdConfig) -> list[Array]:
    """Every layer's step outputs, a⁽ˡ⁾ = h(W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾) with h = ``binary_step``
    (1 for z ≥ 0, as in the notes).

    Args:
        params: from :func:`init`, :func:`from_augmented` or :func:`notes_params`.
        x: (N, n⁰) inputs.
        config: :class:`ThresholdConfig`.

    Returns:
        ``[a⁽¹⁾ (N, n¹), …, a⁽ᴸ⁾ (N, nᴸ)]`` of 0/1.
    """
    _check_params(params, config)
    check_ndim(x, 2, "x")
    a = jnp.asarray(x, jnp.result_type(params["layer1"]["W"].dtype, jnp.float32))
    outs = []
    for i in range(1, len(config.sizes)):
        check_shape(a, (None, config.sizes[i - 1]), f"input to layer {i}")
        a = binary_step(dense(params[f"layer{i}"], a))
        outs.append(a)
    return outs


def apply(params: Params, x: Array, *, config: ThresholdConfig, key: Array | None = None,
          train: bool = False) -> Array:
    """Output of the threshold net.

    Args:
        params: as in :func:`layer_outputs`.
        x: (N, n⁰) inputs.
        config: :class:`ThresholdConfig`.
        key, train: unused (kept for the shared model contract).

    Returns:
        (N, nᴸ) of 0/1.
    """
    return layer_outputs(params, x, config=config)[-1]


def loss(params: Params, batch: tuple[Array, Array], *, config: ThresholdConfig,
         key: Array | None = None) -> Array:
    """0-1 loss: fraction of samples whose output vector differs from the target.

    Args:
        params: as in :func:`layer_outputs`.
        batch: ``(x (N, n⁰), y (N, nᴸ) or (N,) of 0/1)``.
        config: :class:`ThresholdConfig`.
        key: unused.

    Returns:
        scalar in [0, 1].
    """
    x, y = batch
    out = apply(params, x, config=config)
    y = jnp.asarray(y, out.dtype).reshape(out.shape[0], -1)
    check_shape(y, out.shape, "y")
    return jnp.mean(jnp.any(out != y, axis=1).astype(out.dtype))


def binary_inputs(n: int = 2) -> np.ndarray:
    """All 2ⁿ binary input rows in truth-table order (00, 01, 10, 11 for n = 2): (2ⁿ, n)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise JaxnnError(f"binary_inputs needs n >= 1 inputs; got n={n!r}")
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)), np.float32)


def truth_table(params: Params, *, config: ThresholdConfig) -> np.ndarray:
    """Rows (x1 … xn, hidden units …, outputs …) over all binary inputs, like the notes' table.

    Args:
        params: as in :func:`layer_outputs`.
        config: :class:`ThresholdConfig`.

    Returns:
        (2ⁿ, n⁰ + n¹ + … + nᴸ) float32 numpy array.
    """
    x = binary_inputs(config.sizes[0])
    cols = [x] + [np.asarray(a) for a in layer_outputs(params, x, config=config)]
    return np.concatenate(cols, axis=1)
