"""The back-propagation worked example of aopu's lecture notes 《神经网络》 ("BP算法例子"), by hand.

A 2-3-2 sigmoid network with one shared bias per layer::

    net_h1 = w1·i1 + w2·i2 + b1      net_o1 = w7·out_h1 + w9·out_h2 + w11·out_h3 + b2
    net_h2 = w3·i1 + w4·i2 + b1      net_o2 = w8·out_h1 + w10·out_h2 + w12·out_h3 + b2
    net_h3 = w5·i1 + w6·i2 + b1      out = σ(net),   E = ½ Σ_k (target_k − out_ok)²

inputs (i1, i2) = (5, 10), targets (0.01, 0.99), w1 … w12 = 0.10, 0.15, …, 0.65,
b1 = 0.35, b2 = 0.65 (never updated), learning rate η = 0.5. In the notes' orientation
(W: (n_out, n_in)) this is ``W1 = [[w1, w2], [w3, w4], [w5, w6]]`` and
``W2 = [[w7, w9, w11], [w8, w10, w12]]`` — the output weights interleave.

Parameters nest per layer like :mod:`jaxnn.models.mlp`'s::

    {"layer1": {"W": (3, 2), "b": ()}, "layer2": {"W": (2, 3), "b": ()}}

``b`` is the layer's one shared bias, a scalar (shape ``()``): the notes have one number per
layer, not one per unit, so there is nothing to keep in sync. The forward pass broadcasts it to
every unit of the layer explicitly and goes through :func:`jaxnn.nn.layers.dense` (which takes
a per-unit ``(n_out,)`` bias); the value added is the same. The transpose of that broadcast
is a sum, so ``jax.grad`` gives ∂E/∂b = Σ_j δ_j over the layer's units — the gradient of a
shared parameter — and :func:`grad_bp_example` returns the same.
The notes never update the biases: :func:`update` leaves ``b`` as it is (its gradients still
report ∂E/∂b). The settings of a run (η and the update order) live in the frozen, hashable
:class:`BPExampleConfig`, a ``jit`` static argument. :func:`forward` is jitted, so an eager
call computes the dot products exactly as they are computed inside :func:`update` and
:func:`train`, and :func:`train` reads each recorded state off the forward pass its update
starts from (one forward pass per step).

Two update orders, sharing :func:`grad_output` and :func:`grad_hidden` (the hidden-layer
gradient takes the output weights as an argument):

- ``"simultaneous"`` — standard back-propagation: both layers' gradients at the *old*
  weights, i.e. gradient descent on E in the weights (the biases held fixed):
  :func:`grad_bp_example` equals ``jax.grad(loss)`` exactly.
- ``"output_first"`` — update the output layer first, then back-propagate δ through the
  *updated* output weights. **This is the order the notes used**: they plug
  w7 = 0.360968 (the updated w7) into ∂E_o1/∂out_h1 = 0.030866, and their w1⁺ … w12⁺ and the
  outputs after 100 and 1000 iterations are reproduced to 6 decimals only by this order.
  It is not gradient descent on E (the hidden step uses a "look-ahead" weight).

Slips in the notes (what they print → what the arithmetic gives):

- The general BP slides before the example write the input-layer error with
  f(Σ_{i=1}^n v_ij x_i), no bias term, but update v_ij for i = 0, 1, …, n: as written E does
  not depend on v_0j (``jax.grad`` gives 0 there), so the sum must start at i = 0 with
  x_0 = 1, as the output sum Σ_{j=0}^m w_jk y_j does.
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

import dataclasses
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxnn.derivations.bp_notes import (  # noqa: F401  (the notes' printed numbers)
    NOTES_DECIMALS,
    NOTES_PRINTED,
    NOTES_ROWS,
    NOTES_SLIPS,
    decimals,
)
from jaxnn.errors import JaxnnError, check_positive, check_shape
from jaxnn.models import _config as cfgcheck
from jaxnn.nn.activations import sigmoid, sigmoid_prime
from jaxnn.nn.layers import dense

Array = jax.Array
Params = dict[str, dict[str, Array]]
Batch = tuple[Array, Array]

#: The notes' inputs (i1, i2), targets, weights w1 … w12, shared biases and learning rate.
NOTES_X = (5.0, 10.0)
NOTES_TARGET = (0.01, 0.99)
NOTES_W12 = (0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65)
NOTES_B1 = 0.35
NOTES_B2 = 0.65
NOTES_LR = 0.5

ORDERS = ("simultaneous", "output_first")

#: Shape of every parameter (layer -> name -> shape); ``b`` is the layer's shared scalar.
SHAPES = {"layer1": {"W": (3, 2), "b": ()}, "layer2": {"W": (2, 3), "b": ()}}


@dataclasses.dataclass(frozen=True)
class BPExampleConfig:
    """Settings of a run (frozen and hashable: a ``jit`` static argument, never traced).

    Attributes:
        lr: learning rate η > 0 (notes: 0.5).
        order: one of :data:`ORDERS`: ``"output_first"`` (the notes' order, the default so
            that the notes' numbers come out) or ``"simultaneous"`` (standard backprop).
    """

    lr: float = NOTES_LR
    order: str = "output_first"

    def __post_init__(self):
        cfgcheck.float_field(self, "lr", lo=0.0, lo_open=True)
        cfgcheck.choice_field(self, "order", ORDERS)


#: The notes' settings: η = 0.5, output layer first.
NOTES_CONFIG = BPExampleConfig()


class Forward(NamedTuple):
    """Every intermediate value of one forward pass (shapes for the 2-3-2 net)."""

    net_h: Array  # (3,)
    out_h: Array  # (3,)
    net_o: Array  # (2,)
    out_o: Array  # (2,)


def _check_params(params: Params) -> None:
    if not (isinstance(params, dict) and set(params) == set(SHAPES)
            and all(isinstance(params[k], dict) and set(params[k]) == {"W", "b"}
                    for k in SHAPES)):
        raise JaxnnError(f"params must be {SHAPES} (W, b per layer); got "
                         f"{jax.tree.map(jnp.shape, params)}")
    for layer, shapes in SHAPES.items():
        for name, shape in shapes.items():
            check_shape(params[layer][name], shape, f"params[{layer!r}][{name!r}]")


def _check_batch(batch: Batch) -> tuple[Array, Array]:
    x, target = batch
    check_shape(x, (2,), "x")
    check_shape(target, (2,), "target")
    return x, target


def from_w12(w: Array, *, b1: Any = NOTES_B1, b2: Any = NOTES_B2) -> Params:
    """Arrange the notes' w1 … w12 and the two shared biases into per-layer parameters.

    Args:
        w: (12,) float, w1 … w12 in the notes' numbering.
        b1, b2: scalars, the hidden and output layers' shared biases (notes: 0.35, 0.65).

    Returns:
        :data:`SHAPES`-shaped params of ``w``'s dtype: ``W1[j] = (w_{2j+1}, w_{2j+2})``,
        ``W2[k, j] = w_{7+2j+k}`` (``W2[0] = (w7, w9, w11)``, ``W2[1] = (w8, w10, w12)``).

    Raises:
        ShapeError: ``w`` is not (12,) or a bias is not a scalar.
    """
    w = jnp.asarray(w)
    check_shape(w, (12,), "w")
    b1, b2 = jnp.asarray(b1, w.dtype), jnp.asarray(b2, w.dtype)
    check_shape(b1, (), "b1")
    check_shape(b2, (), "b2")
    return {"layer1": {"W": w[:6].reshape(3, 2), "b": b1},
            "layer2": {"W": w[6:].reshape(3, 2).T, "b": b2}}


def to_w12(params: Params) -> Array:
    """Inverse of :func:`from_w12` on the weights: params (as :func:`forward`) -> (12,) w1 … w12.

    Raises:
        JaxnnError: params not of the layout :data:`SHAPES`.
    """
    _check_params(params)
    return jnp.concatenate([params["layer1"]["W"].reshape(-1),
                            params["layer2"]["W"].T.reshape(-1)])


def notes_params(dtype: Any = None) -> Params:
    """The notes' start, w1 … w12 = 0.10 … 0.65, b1 = 0.35, b2 = 0.65, as :func:`from_w12`.

    ``dtype``: floating dtype of the parameters (``None``: JAX's default float).
    """
    return from_w12(jnp.asarray(NOTES_W12, dtype=dtype))


def _affine(layer: dict[str, Array], a: Array) -> Array:
    """net = W a + b through :func:`dense`, the shared scalar b broadcast to every unit."""
    W = layer["W"]
    return dense({"W": W, "b": jnp.broadcast_to(layer["b"], W.shape[:1])}, a)


@jax.jit
def forward(params: Params, x: Array) -> Forward:
    """Forward pass of the 2-3-2 network for one input, keeping every intermediate value.

    Args:
        params: ``{"layer1": {"W": (3, 2), "b": ()}, "layer2": {"W": (2, 3), "b": ()}}``.
        x: (2,) float, the inputs (i1, i2).

    Returns:
        :class:`Forward` with net_h, out_h (3,) and net_o, out_o (2,).

    Raises:
        JaxnnError: params not of that layout, or x not (2,).
    """
    _check_params(params)
    check_shape(x, (2,), "x")
    net_h = _affine(params["layer1"], x)
    out_h = sigmoid(net_h)
    net_o = _affine(params["layer2"], out_h)
    return Forward(net_h, out_h, net_o, sigmoid(net_o))


def apply(params: Params, x: Array, *, config: BPExampleConfig = NOTES_CONFIG,
          key: Array | None = None, train: bool = False) -> Array:
    """The output out_o (2,) for one input x (2,); params as :func:`forward`.

    ``config`` (which the output does not depend on), ``key`` and ``train`` keep the shared
    model signature; the net has no randomness. Raises as :func:`forward`.
    """
    return forward(params, x).out_o


def loss(params: Params, batch: Batch, *, config: BPExampleConfig = NOTES_CONFIG,
         key: Array | None = None) -> Array:
    """E_total = ½ Σ_k (target_k − out_ok)², a scalar of the parameters' dtype.

    Args:
        params: as :func:`forward`.
        batch: ``(x (2,), target (2,))``, the notes' one training pair.
        config, key: the shared model signature; E depends on neither.

    Raises:
        JaxnnError: params not of the layout :data:`SHAPES`, or x or target not (2,).
    """
    x, target = _check_batch(batch)
    out = forward(params, x).out_o
    return 0.5 * jnp.sum((target - out) ** 2)


def grad_output(fwd: Forward, target: Array) -> tuple[Array, dict[str, Array]]:
    """Output layer: δ_o = −(target − out_o) ⊙ out_o(1 − out_o), ∂E/∂W2 = δ_o out_hᵀ.

    ∂E/∂b2 = Σ_k δ_ok, b2 being shared by both output units. (The notes: ∂E/∂w7 =
    0.88109 · 0.097049 · 0.912934 = 0.078064.)

    Args:
        fwd: :class:`Forward` of the current parameters.
        target: (2,) float.

    Returns:
        ``(delta_o (2,), {"W": ∂E/∂W2 (2, 3), "b": ∂E/∂b2 ()})``.
    """
    delta_o = -(target - fwd.out_o) * sigmoid_prime(fwd.net_o)
    return delta_o, {"W": jnp.outer(delta_o, fwd.out_h), "b": jnp.sum(delta_o)}


def grad_hidden(fwd: Forward, x: Array, delta_o: Array,
                W2: Array) -> tuple[Array, dict[str, Array]]:
    """Hidden-layer step: δ_h = σ′(net_h) ⊙ (W2ᵀ δ_o), ∂E/∂W1 = δ_h xᵀ, ∂E/∂b1 = Σ_j δ_hj.

    ``W2`` is an argument so that the same code serves both update orders: the current
    output weights (true gradient) or the already-updated ones (the notes' order).

    Args:
        fwd: :class:`Forward` of the current parameters.
        x: (2,) inputs.
        delta_o: (2,) output error term from :func:`grad_output`.
        W2: (2, 3) output weights to back-propagate through.

    Returns:
        ``(delta_h (3,), {"W": ∂E/∂W1 (3, 2), "b": ∂E/∂b1 ()})``.
    """
    delta_h = sigmoid_prime(fwd.net_h) * (W2.T @ delta_o)
    return delta_h, {"W": jnp.outer(delta_h, x), "b": jnp.sum(delta_h)}


def grad_bp_example(params: Params, batch: Batch, *,
                    config: BPExampleConfig = NOTES_CONFIG) -> Params:
    """Closed-form ∂E/∂params, the same pytree as ``jax.grad(loss)(params, batch)``.

    Args and raises as :func:`loss` (``config`` is not used); returns
    ``{"layer1": {"W": (3, 2), "b": ()}, "layer2": {"W": (2, 3), "b": ()}}``.
    """
    x, target = _check_batch(batch)
    fwd = forward(params, x)
    delta_o, g2 = grad_output(fwd, target)
    _, g1 = grad_hidden(fwd, x, delta_o, params["layer2"]["W"])
    return {"layer1": g1, "layer2": g2}


def _step(params: Params, x: Array, target: Array,
          config: BPExampleConfig) -> tuple[Params, Params, Forward]:
    """One update of the weights; also returns the forward pass it started from."""
    fwd = forward(params, x)
    delta_o, g2 = grad_output(fwd, target)
    W2_new = params["layer2"]["W"] - config.lr * g2["W"]
    W2_for_hidden = W2_new if config.order == "output_first" else params["layer2"]["W"]
    _, g1 = grad_hidden(fwd, x, delta_o, W2_for_hidden)
    new = {"layer1": {"W": params["layer1"]["W"] - config.lr * g1["W"],
                      "b": params["layer1"]["b"]},
           "layer2": {"W": W2_new, "b": params["layer2"]["b"]}}
    return new, {"layer1": g1, "layer2": g2}, fwd


@partial(jax.jit, static_argnames=("config",))
def update(params: Params, batch: Batch, *,
           config: BPExampleConfig = NOTES_CONFIG) -> tuple[Params, Params]:
    """One gradient step on the weights in ``config.order`` (jitted; the biases stay fixed).

    Args:
        params: as :func:`forward`.
        batch: ``(x (2,), target (2,))``.
        config: :class:`BPExampleConfig`: η and the update order.

    Returns:
        ``(new_params, grads)``, both shaped as :data:`SHAPES`: W1, W2 stepped (b1, b2 as
        given) and the gradients used (the hidden one through the updated W2 under
        ``"output_first"``). Raises as :func:`loss`.
    """
    x, target = _check_batch(batch)
    new, grads, _ = _step(params, x, target, config)
    return new, grads


class Trajectory(NamedTuple):
    """Outputs and weights after 0, 1, …, steps updates."""

    out_o: Array  # (steps + 1, 2)
    error: Array  # (steps + 1,)
    w12: Array  # (steps + 1, 12)


def train(params: Params, batch: Batch, *, steps: int,
          config: BPExampleConfig = NOTES_CONFIG) -> Trajectory:
    """Repeat :func:`update` ``steps`` times with ``lax.scan``; keep every state.

    Args:
        params: as :func:`forward`.
        batch: ``(x (2,), target (2,))``.
        steps: int > 0, number of updates.
        config: :class:`BPExampleConfig`: η and the update order.

    Returns:
        :class:`Trajectory`; row ``t`` is the state after ``t`` updates (row 0 the start).
        The notes' "after n iterations" is row n (n = 100, 1000), except their "10th
        iteration" output, which is row 9, and their "w¹⁰⁰⁰", which is row 1001.
        Raises :class:`JaxnnError` for ``steps`` not > 0, or inputs as in :func:`loss`.
    """
    check_positive(steps, "steps")
    x, target = _check_batch(tuple(jnp.asarray(a) for a in batch))
    _check_params(params)
    return _train(params, x, target, steps=int(steps), config=config)


@partial(jax.jit, static_argnames=("steps", "config"))
def _train(params: Params, x: Array, target: Array, *, steps: int,
           config: BPExampleConfig) -> Trajectory:
    # Row t is read off the forward pass that update t + 1 starts from; the update after
    # the last row is not kept.
    def body(p, _):
        new, _, fwd = _step(p, x, target, config)
        return new, (fwd.out_o, 0.5 * jnp.sum((target - fwd.out_o) ** 2), to_w12(p))

    _, rows = lax.scan(body, params, None, length=steps + 1)
    return Trajectory(*rows)


# ----------------------------------------------------------------- the notes' numbers, reproduced


def worked_example(config: BPExampleConfig = NOTES_CONFIG, *,
                   steps: int = 1001) -> dict[str, float]:
    """Every quantity the notes print, computed under ``config``, keyed like :data:`NOTES_PRINTED`.

    Iteration results whose trajectory row (:data:`NOTES_ROWS`) exceeds ``steps`` are left
    out. Run under ``jax.enable_x64(True)`` to compare 6-decimal numbers safely.

    Args:
        config: :class:`BPExampleConfig` (the notes' numbers come out of the default).
        steps: int > 0, number of updates to run for the iteration results.

    Returns: flat dict name -> Python float.
    """
    batch = (jnp.asarray(NOTES_X), jnp.asarray(NOTES_TARGET))
    x, t = batch
    p = notes_params()
    f = forward(p, x)
    delta_o, g2 = grad_output(f, t)
    new, g = update(p, batch, config=config)
    W2_used = new["layer2"]["W"] if config.order == "output_first" else p["layer2"]["W"]
    vals = {
        "net_h1": f.net_h[0], "out_h1": f.out_h[0], "out_h2": f.out_h[1],
        "out_h3": f.out_h[2], "net_o1": f.net_o[0], "out_o1": f.out_o[0], "out_o2": f.out_o[1],
        "E_total": loss(p, batch), "dE_dout_o1": -(t[0] - f.out_o[0]),
        "dout_o1_dnet_o1": sigmoid_prime(f.net_o[0]), "dE_dw7": g2["W"][0, 0],
        "dEo1_dout_h1": delta_o[0] * W2_used[0, 0], "dE_dw1": g["layer1"]["W"][0, 0],
    }
    vals.update({f"w{i}_plus": v for i, v in enumerate(to_w12(new), start=1)})
    traj = train(p, batch, steps=steps, config=config)
    for label in ("iter10", "iter100", "iter1000"):
        if NOTES_ROWS[label] <= steps:
            o = traj.out_o[NOTES_ROWS[label]]
            vals[f"out_o1_{label}"], vals[f"out_o2_{label}"] = o[0], o[1]
    if NOTES_ROWS["w_iter1000"] <= steps:
        w = traj.w12[NOTES_ROWS["w_iter1000"]]
        vals.update({f"w{i}_iter1000": v for i, v in enumerate(w, start=1)})
    return {k: float(v) for k, v in vals.items()}
