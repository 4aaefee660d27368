"""Backpropagation by hand for the MLP of :mod:`jaxnn.models.mlp`.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 132–141. With the error term
δ⁽ˡ⁾ = ∂J/∂z⁽ˡ⁾ (eq 138):

    δ⁽ˡ⁾ = f′ₗ(z⁽ˡ⁾) ⊙ (W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾)                 (eq 141)
    ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ,   ∂J/∂b⁽ˡ⁾ = δ⁽ˡ⁾               (eq 136, 137)

plus λW⁽ˡ⁾ from the ½λ‖W‖²_F term of eq 125 (the update of eq 128 writes "− λW" outside the
learning rate α; as a gradient of eq 125 the term is λW⁽ˡ⁾ and is scaled by α like the rest —
that is what ``jax.grad`` shows and what we return). A step therefore shrinks W by the
factor 1 − αλ, not 1 − λ; the algorithm box repeats eq 128's form.

Other slips in this part of the notes (the code follows the chain rule):

- eq 123 merges eq 121–122 as z⁽ˡ⁾ = W⁽ˡ⁾ f_l(z⁽ˡ⁻¹⁾) + b⁽ˡ⁾; by eq 122 a⁽ˡ⁻¹⁾ = f_{l−1}(z⁽ˡ⁻¹⁾),
  the previous layer's activation (they differ whenever the layers' activations differ).
- The definition of ‖W‖²_F under eq 125–126 reads Σ_l Σ_{j=1}^{n^{l+1}} Σ_{j=1}^{n^l} W_ij⁽ˡ⁾:
  the square is missing (without it the penalty's gradient would be the constant ½λ, not
  λW), the index j appears twice, and the bounds are shifted: W⁽ˡ⁾ is n^l × n^{l−1}, so
  i = 1 … n^l and j = 1 … n^{l−1}.
- eq 129 and step (3) of the algorithm box write the sample as (x⁽ˡ⁾, y⁽ˡ⁾), with the layer
  index; the sample index is i.
- The sentence after eq 141 calls ⊙ the vector dot product; it is the elementwise (Hadamard)
  product, as the same sentence goes on to say.

Batched: rows of ``x`` are samples, the objective averages over the B samples (see
:func:`jaxnn.models.mlp.loss`), so each row of δ carries a 1/B factor and the per-sample
outer products δ a ᵀ are summed into one matmul ``δᵀ A``.

The output error δ⁽ᴸ⁾ depends on the loss and the output layer:

- cross-entropy with softmax: δ⁽ᴸ⁾ = (softmax(z⁽ᴸ⁾) − y)/B (eq 99–101 folded through the log);
- BCE with sigmoid: δ⁽ᴸ⁾ = (σ(z⁽ᴸ⁾) − y)/B;
- squared error ½‖a⁽ᴸ⁾ − y‖²: δ⁽ᴸ⁾ = g′(z⁽ᴸ⁾) ⊙ (a⁽ᴸ⁾ − y)/B for an elementwise output, and the
  softmax Jacobian (diag(a) − a aᵀ)(a − y)/B (eq 44) for a softmax output.

Only compared against ``jax.grad`` in the tests; never used by the layers below.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxnn.models import mlp
from jaxnn.nn import activations as act

Array = jax.Array


def output_delta(z_out: Array, a_out: Array, y: Array, *, output: str, loss: str) -> Array:
    """δ⁽ᴸ⁾ = ∂J/∂z⁽ᴸ⁾ for the batch-mean loss.

    Args:
        z_out: (B, nᴸ) last pre-activation.
        a_out: (B, nᴸ) network output g⁽ᴸ⁾(z⁽ᴸ⁾).
        y: integer labels (B,) or one-hot (B, nᴸ) for cross-entropy; (B, nᴸ) otherwise.
        output: output activation name.
        loss: ``"cross_entropy"``, ``"bce"`` or ``"squared"``.

    Returns:
        (B, nᴸ) error term, dtype of ``z_out``.
    """
    B = z_out.shape[0]
    if loss == "cross_entropy":
        target = jax.nn.one_hot(y, z_out.shape[1], dtype=z_out.dtype) if y.ndim == 1 else y
        return (act.softmax(z_out) - target) / B
    if loss == "bce":
        return (act.sigmoid(z_out) - y) / B
    r = (a_out - y) / B
    if output == "softmax":
        return a_out * (r - jnp.sum(a_out * r, axis=1, keepdims=True))
    return act.get(output).prime(z_out) * r


def backprop(params: mlp.Params, x: Array, y: Array, *, config: mlp.MLPConfig) -> mlp.Params:
    """Gradient of :func:`jaxnn.models.mlp.loss` by the δ-recursion of eq 132–141.

    Args:
        params: ``{"layer1": {"W": (n¹, n⁰), "b": (n¹,)}, …}`` from :func:`jaxnn.models.mlp.init`.
        x: (B, n⁰) inputs.
        y: targets as in :func:`jaxnn.models.mlp.loss`.
        config: :class:`jaxnn.models.mlp.MLPConfig` (activations, output, loss, λ = ``l2``;
            no dropout: the gradient is that of ``mlp.loss`` with ``key=None``).

    Returns:
        the same pytree as ``jax.grad(mlp.loss)(params, (x, y), config=config)``: for every
        layer l, ``{"W": ∂J/∂W⁽ˡ⁾ (nˡ, nˡ⁻¹), "b": ∂J/∂b⁽ˡ⁾ (nˡ,)}``.
    """
    L = config.num_layers
    names = config.hidden_activations
    zs, as_ = mlp.forward(params, x, config=config)
    delta = output_delta(zs[-1], as_[-1], y, output=config.output, loss=config.loss)
    grads: mlp.Params = {}
    for l in range(L, 0, -1):
        W = params[mlp.layer_name(l)]["W"]
        grads[mlp.layer_name(l)] = {
            "W": delta.T @ as_[l - 1] + config.l2 * W,            # eq 136 summed over the batch
            "b": jnp.sum(delta, axis=0),                           # eq 137
        }
        if l > 1:
            delta = act.get(names[l - 2]).prime(zs[l - 2]) * (delta @ W)  # eq 141, batched
    return {k: grads[k] for k in params}
