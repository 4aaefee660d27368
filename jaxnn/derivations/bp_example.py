"""The back-propagation worked example of aopu's lecture notes 《神经网络》 ("BP算法例子"), by hand.

A 2-3-2 sigmoid network with one shared bias per layer::

    net_h1 = w1·i1 + w2·i2 + b1      net_o1 = w7·out_h1 + w9·out_h2 + w11·out_h3 + b2
    net_h2 = w3·i1 + w4·i2 + b1      net_o2 = w8·out_h1 + w10·out_h2 + w12·out_h3 + b2
    net_h3 = w5·i1 + w6·i2 + b1      out = σ(net),   E = ½ Σ_k (target_k − out_ok)²

inputs (i1, i2) = (5, 10), targets (0.01, 0.99), w1 … w12 = 0.10, 0.15, …, 0.65,
b1 = 0.35, b2 = 0.65 (never updated), learning rate η = 0.5. In the notes' orientation
(W: (n_out, n_in)) this is ``W1 = [[w1, w2], [w3, w4], [w5, w6]]`` and
``W2 = [[w7, w9, w11], [w8, w10, w12]]`` — the output weights interleave.

Two update orders, sharing :func:`grad_output` and :func:`grad_hidden` (the hidden-layer
gradient takes the output weights as an argument):

- ``"simultaneous"`` — standard back-propagation: both layers' gradients at the *old*
  weights. :func:`grad_bp_example` (this order) equals ``jax.grad(error)`` exactly.
- ``"output_first"`` — update the output layer first, then back-propagate δ through the
  *updated* output weights. **This is the order the notes used**: they plug
  w7 = 0.360968 (the updated w7) into ∂E_o1/∂out_h1 = 0.030866, and their w1⁺ … w12⁺ and the
  outputs after 100 and 1000 iterations are reproduced to 6 decimals only by this order.
  It is not gradient descent on E (the hidden step uses a "look-ahead" weight).

Slips in the notes (what they print → what the arithmetic gives):

- σ′ written as ``x/(1−x)``; it is σ(1−σ) (which the notes then use correctly: 0.097049).
- ``out_h2 = 0.979164   out_h2 = 0.995275``: the second is out_h3, and σ(5.35) =
  0.99527429… → 0.995274, not 0.995275.
- ``net_o1 = 0.4·0.912934 + 0.5·0.979164 + 0.6·0.995275 = 2.1019206`` drops the
  ``+ 0.65·1`` bias term from the sum as written (the result includes it), and sums the
  rounded hidden outputs: unrounded, net_o1 = 2.1019201 (7 decimals). out_o1 = 0.891090
  either way.
- ∂E/∂w1 = 0.011204: neither order gives it. It is what one gets by using the updated
  w7⁺ = 0.360968 also in ∂E_o2/∂out_h1 (which needs w8⁺ = 0.453383). The correct value is
  0.010931 under the notes' order (consistent with their own w1⁺ = 0.094534 = 0.1 − 0.5·0.010931),
  0.012268 under simultaneous back-propagation.
- w5⁺ = 0.299497 and w9⁺ = 0.458137: last digit; the values are 0.29949648… → 0.299496 and
  0.45813646… → 0.458136.
- "第10次迭代" O = (0.662866, 0.908195) is the output after **9** updates (the forward pass of
  the 10th iteration, before its update); after 10 updates it is (0.618249, 0.909857).
  The outputs at 100 and 1000 are after 100 and 1000 updates.
- O after 100 updates: the notes print 0.945864 for out_o2; it is 0.94586491… → 0.945865
  (truncated, not rounded).
- w¹⁰⁰⁰ is the weight vector after **1001** updates (one more than its label), printed partly to
  5 decimals; w7 is printed as −1.48972 but is −1.4897277… → −1.48973 (truncated).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxnn.errors import check_choice, check_positive, check_shape
from jaxnn.nn.activations import sigmoid, sigmoid_prime

#: The notes' inputs (i1, i2), targets, weights w1 … w12, shared biases and learning rate.
NOTES_X = (5.0, 10.0)
NOTES_TARGET = (0.01, 0.99)
NOTES_W12 = (0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65)
NOTES_B1 = 0.35
NOTES_B2 = 0.65
NOTES_LR = 0.5

ORDERS = ("simultaneous", "output_first")


class Forward(NamedTuple):
    """Every intermediate value of one forward pass (shapes for the 2-3-2 net)."""

    net_h: jax.Array  # (3,)
    out_h: jax.Array  # (3,)
    net_o: jax.Array  # (2,)
    out_o: jax.Array  # (2,)


def from_w12(w: jax.Array) -> dict[str, jax.Array]:
    """Arrange the notes' w1 … w12 into the weight matrices.

    **Arguments:**

    - `w`: (12,) float, w1 … w12 in the notes' numbering.

    **Returns:** ``{"W1": (3, 2), "W2": (2, 3)}`` with ``W1[j] = (w_{2j+1}, w_{2j+2})`` and
    ``W2[k, j] = w_{7+2j+k}`` (so ``W2[0] = (w7, w9, w11)``, ``W2[1] = (w8, w10, w12)``).
    """
    w = jnp.asarray(w)
    check_shape(w, (12,), "w")
    return {"W1": w[:6].reshape(3, 2), "W2": w[6:].reshape(3, 2).T}


def to_w12(params: dict[str, jax.Array]) -> jax.Array:
    """Inverse of :func:`from_w12`: ``{"W1": (3, 2), "W2": (2, 3)}`` -> (12,) w1 … w12."""
    check_shape(params["W1"], (3, 2), "W1")
    check_shape(params["W2"], (2, 3), "W2")
    return jnp.concatenate([params["W1"].reshape(-1), params["W2"].T.reshape(-1)])


def notes_params(dtype=None) -> dict[str, jax.Array]:
    """The notes' starting weights w1 … w12 = 0.10 … 0.65 as ``{"W1": (3, 2), "W2": (2, 3)}``."""
    return from_w12(jnp.asarray(NOTES_W12, dtype=dtype))


def forward(params, x, *, b1=NOTES_B1, b2=NOTES_B2) -> Forward:
    """Forward pass of the 2-3-2 network for one input.

    **Arguments:**

    - `params`: ``{"W1": (3, 2), "W2": (2, 3)}`` float.
    - `x`: (2,) float, the inputs (i1, i2).
    - `b1`, `b2`: scalars, the shared hidden / output biases (notes: 0.35, 0.65).

    **Returns:** :class:`Forward` with net_h, out_h (3,) and net_o, out_o (2,).
    """
    check_shape(x, (2,), "x")
    net_h = params["W1"] @ x + b1
    out_h = sigmoid(net_h)
    net_o = params["W2"] @ out_h + b2
    return Forward(net_h, out_h, net_o, sigmoid(net_o))


def error(params, x, target, *, b1=NOTES_B1, b2=NOTES_B2) -> jax.Array:
    """E_total = ½ Σ_k (target_k − out_ok)², a scalar. ``x``, ``target``: (2,)."""
    check_shape(target, (2,), "target")
    out = forward(params, x, b1=b1, b2=b2).out_o
    return 0.5 * jnp.sum((target - out) ** 2)


def grad_output(fwd: Forward, target) -> tuple[jax.Array, jax.Array]:
    """Output-layer step of back-propagation.

    δ_o = ∂E/∂net_o = −(target − out_o) ⊙ out_o(1 − out_o) and ∂E/∂W2 = δ_o out_hᵀ
    (the notes: ∂E/∂w7 = 0.88109 · 0.097049 · 0.912934 = 0.078064).

    **Arguments:** `fwd`: :class:`Forward`; `target`: (2,) float.

    **Returns:** ``(delta_o (2,), dE_dW2 (2, 3))``.
    """
    delta_o = -(target - fwd.out_o) * sigmoid_prime(fwd.net_o)
    return delta_o, jnp.outer(delta_o, fwd.out_h)


def grad_hidden(fwd: Forward, x, delta_o, W2) -> jax.Array:
    """Hidden-layer step: δ_h = σ′(net_h) ⊙ (W2ᵀ δ_o), ∂E/∂W1 = δ_h xᵀ.

    ``W2`` is an argument so that the same code serves both update orders: the current
    output weights (true gradient) or the already-updated ones (the notes' order).

    **Arguments:** `fwd`: :class:`Forward`; `x`: (2,); `delta_o`: (2,); `W2`: (2, 3).

    **Returns:** ∂E/∂W1, shape (3, 2).
    """
    delta_h = sigmoid_prime(fwd.net_h) * (W2.T @ delta_o)
    return jnp.outer(delta_h, x)


def grad_bp_example(params, x, target, *, b1=NOTES_B1, b2=NOTES_B2) -> dict[str, jax.Array]:
    """Closed-form ∂E/∂params, the same pytree as ``jax.grad(error)(params, x, target)``.

    **Returns:** ``{"W1": (3, 2), "W2": (2, 3)}``.
    """
    fwd = forward(params, x, b1=b1, b2=b2)
    delta_o, g2 = grad_output(fwd, target)
    return {"W1": grad_hidden(fwd, x, delta_o, params["W2"]), "W2": g2}


def _check_order(order: str) -> None:
    check_choice(order, ORDERS, "order")


@partial(jax.jit, static_argnames=("order",))
def update(params, x, target, *, lr=NOTES_LR, order="output_first", b1=NOTES_B1, b2=NOTES_B2):
    """One gradient step in either update order (jitted).

    **Arguments:**

    - `params`: ``{"W1": (3, 2), "W2": (2, 3)}``; `x`, `target`: (2,).
    - `lr`: learning rate η (notes: 0.5).
    - `order`: ``"output_first"`` (the notes' order, default so that the notes' numbers come
      out) or ``"simultaneous"`` (standard back-propagation).

    **Returns:** ``(new_params, grads)``: the updated weights and the gradients used
    (``{"W1": (3, 2), "W2": (2, 3)}`` each).
    """
    _check_order(order)
    fwd = forward(params, x, b1=b1, b2=b2)
    delta_o, g2 = grad_output(fwd, target)
    W2_new = params["W2"] - lr * g2
    W2_for_hidden = W2_new if order == "output_first" else params["W2"]
    g1 = grad_hidden(fwd, x, delta_o, W2_for_hidden)
    grads = {"W1": g1, "W2": g2}
    return {"W1": params["W1"] - lr * g1, "W2": W2_new}, grads


class Trajectory(NamedTuple):
    """Outputs and weights after 0, 1, …, steps updates."""

    out_o: jax.Array  # (steps + 1, 2)
    error: jax.Array  # (steps + 1,)
    w12: jax.Array  # (steps + 1, 12)


def train(params, x, target, *, steps, lr=NOTES_LR, order="output_first",
          b1=NOTES_B1, b2=NOTES_B2) -> Trajectory:
    """Repeat :func:`update` ``steps`` times with ``lax.scan``; keep every state.

    **Arguments:** as :func:`update`; `steps`: int > 0, number of updates.

    **Returns:** :class:`Trajectory`; row ``t`` is the state after ``t`` updates (row 0 the
    start). The notes' "after n iterations" is row n (n = 100, 1000), except their
    "10th iteration" output, which is row 9, and their "w¹⁰⁰⁰", which is row 1001.
    """
    check_positive(steps, "steps")
    _check_order(order)
    x = jnp.asarray(x)
    target = jnp.asarray(target)
    check_shape(x, (2,), "x")
    check_shape(target, (2,), "target")
    return _train(params, x, target, steps=int(steps), lr=lr, order=order, b1=b1, b2=b2)


@partial(jax.jit, static_argnames=("steps", "order"))
def _train(params, x, target, *, steps, lr, order, b1, b2) -> Trajectory:
    def record(p):
        fwd = forward(p, x, b1=b1, b2=b2)
        return fwd.out_o, 0.5 * jnp.sum((target - fwd.out_o) ** 2), to_w12(p)

    def body(p, _):
        p, _ = update(p, x, target, lr=lr, order=order, b1=b1, b2=b2)
        return p, record(p)

    _, (outs, errs, ws) = lax.scan(body, params, None, length=steps)
    o0, e0, w0 = record(params)
    return Trajectory(
        jnp.concatenate([o0[None], outs]),
        jnp.concatenate([e0[None], errs]),
        jnp.concatenate([w0[None], ws]),
    )


# ----------------------------------------------------------------- the notes' printed numbers

#: Every number the notes print, keyed as :func:`worked_example` returns them.
NOTES_PRINTED: dict[str, float] = {
    "net_h1": 2.35, "out_h1": 0.912934, "out_h2": 0.979164, "out_h3": 0.995275,
    "net_o1": 2.1019206, "out_o1": 0.891090, "out_o2": 0.904330, "E_total": 0.391829,
    "dE_dout_o1": 0.88109, "dout_o1_dnet_o1": 0.097049, "dE_dw7": 0.078064,
    "dEo1_dout_h1": 0.030866, "dE_dw1": 0.011204,
    **{f"w{i}_plus": v for i, v in enumerate(
        (0.094534, 0.139069, 0.198211, 0.246422, 0.299497, 0.348993,
         0.360968, 0.453383, 0.458137, 0.553629, 0.557448, 0.653688), start=1)},
    "out_o1_iter10": 0.662866, "out_o2_iter10": 0.908195,
    "out_o1_iter100": 0.073889, "out_o2_iter100": 0.945864,
    "out_o1_iter1000": 0.022971, "out_o2_iter1000": 0.977675,
    **{f"w{i}_iter1000": v for i, v in enumerate(
        (0.214925, 0.379850, 0.262855, 0.375711, 0.323201, 0.396402,
         -1.48972, 0.941715, -1.50182, 1.049019, -1.42756, 1.151881), start=1)},
}

#: Printed numbers that neither order reproduces -> the value the arithmetic gives in the
#: notes' order, rounded to the printed number of decimals (see the module docstring).
NOTES_SLIPS: dict[str, float] = {
    "out_h3": 0.995274, "net_o1": 2.1019201, "dE_dw1": 0.010931, "w5_plus": 0.299496,
    "w9_plus": 0.458136, "out_o2_iter100": 0.945865, "w7_iter1000": -1.48973,
}

#: Trajectory row (number of updates) behind each of the notes' "after n iterations" labels.
NOTES_ROWS = {"iter10": 9, "iter100": 100, "iter1000": 1000, "w_iter1000": 1001}


#: Decimals the notes print; 6 unless listed (trailing zeros such as 0.904330 count).
NOTES_DECIMALS = {"net_h1": 2, "net_o1": 7, "w7_iter1000": 5, "w9_iter1000": 5,
                  "w11_iter1000": 5}


def decimals(name: str) -> int:
    """Number of decimals the notes print for ``name`` (a key of :data:`NOTES_PRINTED`)."""
    return NOTES_DECIMALS.get(name, 6)


def worked_example(order: str = "output_first", *, steps: int = 1001) -> dict[str, float]:
    """Every quantity the notes print, computed in ``order``, keyed like :data:`NOTES_PRINTED`.

    Iteration results whose trajectory row (:data:`NOTES_ROWS`) exceeds ``steps`` are left
    out. Run under ``jax.enable_x64(True)`` to compare 6-decimal numbers safely.

    **Returns:** flat dict name -> Python float.
    """
    _check_order(order)
    x, t = jnp.asarray(NOTES_X), jnp.asarray(NOTES_TARGET)
    p = notes_params()
    f = forward(p, x)
    delta_o, g2 = grad_output(f, t)
    new, g = update(p, x, t, order=order)
    W2_used = new["W2"] if order == "output_first" else p["W2"]
    vals = {
        "net_h1": f.net_h[0], "out_h1": f.out_h[0], "out_h2": f.out_h[1],
        "out_h3": f.out_h[2], "net_o1": f.net_o[0], "out_o1": f.out_o[0], "out_o2": f.out_o[1],
        "E_total": error(p, x, t), "dE_dout_o1": -(t[0] - f.out_o[0]),
        "dout_o1_dnet_o1": sigmoid_prime(f.net_o[0]), "dE_dw7": g2[0, 0],
        "dEo1_dout_h1": delta_o[0] * W2_used[0, 0], "dE_dw1": g["W1"][0, 0],
    }
    vals.update({f"w{i}_plus": v for i, v in enumerate(to_w12(new), start=1)})
    traj = train(p, x, t, steps=steps, order=order)
    for label in ("iter10", "iter100", "iter1000"):
        if NOTES_ROWS[label] <= steps:
            o = traj.out_o[NOTES_ROWS[label]]
            vals[f"out_o1_{label}"], vals[f"out_o2_{label}"] = o[0], o[1]
    if NOTES_ROWS["w_iter1000"] <= steps:
        w = traj.w12[NOTES_ROWS["w_iter1000"]]
        vals.update({f"w{i}_iter1000": v for i, v in enumerate(w, start=1)})
    return {k: float(v) for k, v in vals.items()}
