"""Layered threshold (step-unit) networks, e.g. the two-layer net of the XOR slide.

aopu's lecture notes 《神经网络》 ("神经网络直观理解之非线性可分") give two hidden step units and
one output step unit with augmented weights (bias first)

    W1 = (−3, 2, 2),  W2 = (−1, 2, 2),  Wz = (1, 2, −2),  h(z) = 1 if z ≥ 0 else 0,

and the truth table x1 x2 → z1 z2 → h = 00→00→1, 01→01→0, 10→01→0, 11→11→1. The table is
right, but the function it shows is **XNOR** (1 when x1 = x2), not XOR: z1 = AND, z2 = OR and
the output fires when z1 ≥ z2 − ½, i.e. "AND or not OR". Negating the output unit
(Wz → (−1, −2, 2)) gives XOR; :func:`notes_params` has both.

Parameters follow the notes' orientation, ``W<l>: (n_out, n_in)``, ``b<l>: (n_out,)``.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, check_choice, check_ndim, check_shape
from jaxnn.nn.activations import binary_step

#: The notes' augmented rows (bias, w_x1, w_x2) of the hidden units and the output unit.
NOTES_W1 = (-3.0, 2.0, 2.0)
NOTES_W2 = (-1.0, 2.0, 2.0)
NOTES_WZ = (1.0, 2.0, -2.0)


def from_augmented(*layers) -> dict[str, jax.Array]:
    """Build params from augmented rows (bias first), one tuple of rows per layer.

    **Arguments:** each layer is a sequence of rows ``(b, w_1, …, w_n)``.

    **Returns:** ``{"W1": (n1, n0), "b1": (n1,), "W2": …}`` float32.
    """
    params = {}
    for i, rows in enumerate(layers, start=1):
        a = jnp.asarray(rows, jnp.float32)
        check_ndim(a, 2, f"layer {i} rows")
        params[f"W{i}"], params[f"b{i}"] = a[:, 1:], a[:, 0]
    return params


def notes_params(which: str = "notes") -> dict[str, jax.Array]:
    """The notes' weights (``"notes"``, computes XNOR) or the same net with the output unit
    negated (``"xor"``). Returns ``{"W1": (2, 2), "b1": (2,), "W2": (1, 2), "b2": (1,)}``."""
    check_choice(which, ("notes", "xor"), "which")
    out = NOTES_WZ if which == "notes" else tuple(-v for v in NOTES_WZ)
    return from_augmented((NOTES_W1, NOTES_W2), (out,))


def init(key: jax.Array, sizes, *, dtype=jnp.float32) -> dict[str, jax.Array]:
    """Random standard-normal weights and biases for layer sizes ``(n0, n1, …, nL)``.

    Threshold units have zero gradient almost everywhere, so this net is not trained by
    gradient descent here; random weights are only for exploring which functions it computes.
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise JaxnnError(f"sizes must list at least two positive layer sizes; got {sizes}")
    keys = jax.random.split(key, len(sizes) - 1)
    params = {}
    for i, (k, n_in, n_out) in enumerate(zip(keys, sizes[:-1], sizes[1:]), start=1):
        kw, kb = jax.random.split(k)
        params[f"W{i}"] = jax.random.normal(kw, (n_out, n_in), dtype)
        params[f"b{i}"] = jax.random.normal(kb, (n_out,), dtype)
    return params


def _n_layers(params) -> int:
    n = sum(1 for k in params if k.startswith("W"))
    missing = [k for i in range(1, n + 1) for k in (f"W{i}", f"b{i}") if k not in params]
    if n == 0 or missing:
        raise JaxnnError(f"params must hold W1, b1, …, WL, bL; missing {missing or ['W1', 'b1']}"
                         f" (got keys {sorted(params)})")
    return n


def layer_outputs(params, x) -> list[jax.Array]:
    """Every layer's step outputs: ``[a1 (N, n1), …, aL (N, nL)]`` for ``x``: (N, n0).

    a_l = h(a_{l−1} W_lᵀ + b_l) with h = ``binary_step`` (1 for z ≥ 0, as in the notes).
    """
    check_ndim(x, 2, "x")
    a = jnp.asarray(x, jnp.result_type(params["W1"].dtype, jnp.float32))
    outs = []
    for i in range(1, _n_layers(params) + 1):
        check_shape(a, (None, params[f"W{i}"].shape[1]), f"input to layer {i}")
        a = binary_step(a @ params[f"W{i}"].T + params[f"b{i}"][None, :])
        outs.append(a)
    return outs


def apply(params, x, *, key=None, train=False) -> jax.Array:
    """Output of the threshold net, (N, nL) of 0/1 for ``x``: (N, n0). `key`, `train` unused."""
    return layer_outputs(params, x)[-1]


def loss(params, batch) -> jax.Array:
    """0-1 loss: fraction of samples whose output vector differs from the target.

    ``batch = (x (N, n0), y (N, nL) or (N,) of 0/1)``; returns a scalar.
    """
    x, y = batch
    out = apply(params, x)
    y = jnp.asarray(y, out.dtype).reshape(out.shape[0], -1)
    check_shape(y, out.shape, "y")
    return jnp.mean(jnp.any(out != y, axis=1).astype(out.dtype))


def binary_inputs(n: int = 2) -> np.ndarray:
    """All 2ⁿ binary input rows in truth-table order (00, 01, 10, 11 for n = 2): (2ⁿ, n)."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)), np.float32)


def truth_table(params) -> np.ndarray:
    """Rows (x1 … xn, hidden units …, outputs …) over all binary inputs, like the notes' table.

    **Returns:** (2ⁿ, n0 + n1 + … + nL) float32 numpy array.
    """
    x = binary_inputs(params["W1"].shape[1])
    cols = [x] + [np.asarray(a) for a in layer_outputs(params, x)]
    return np.concatenate(cols, axis=1)
