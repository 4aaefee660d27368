"""The simple (Elman) RNN of Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 177, and its BPTT.

Step, from the hoisted input projection ``a_t = W x_t + b`` (G = 1, block ``(h̃,)``)::

    z_t = U h_{t−1} + a_t,        h_t = f(z_t),        f = tanh or the logistic σ

Backward through one step (eq 180–183), given ``dh = ∂J/∂h_t`` (the future's share and this
step's own loss already summed by the engine)::

    δ_t = f′(z_t) ⊙ dh           f′(z_t) = 1 − h_t² (tanh) or h_t (1 − h_t) (σ), read off h_t
    ∂J/∂h_{t−1} = Uᵀ δ_t         (the future reaches h_{t−1} only through z_t)
    ∂J/∂U = Σ_t δ_t h_{t−1}ᵀ     (one matmul after the backward scan: :meth:`Cell.weight_grads`)

with ``∂J/∂W = Σ_t δ_t x_tᵀ`` and ``∂J/∂b = Σ_t δ_t`` left to JAX (the input projection).
The literal double sum of eq 183 and an independent δ-recursion are in
:mod:`jaxnn.derivations.bptt`.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxnn.errors import check_choice
from jaxnn.nn.cells.base import Cell, sig_prime

ACTIVATIONS = {"tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "logistic": jax.nn.sigmoid}


def activation(name: str):
    """The simple RNN's f (eq 177): ``"tanh"`` or ``"sigmoid"``/``"logistic"``."""
    check_choice(name, ACTIVATIONS, "activation")
    return ACTIVATIONS[name]


@dataclasses.dataclass(frozen=True)
class SimpleRNN(Cell):
    """``h_t = f(U h_{t−1} + W x_t + b)`` (eq 177).

    Attributes:
        activation: f, ``"tanh"`` (default) or ``"sigmoid"``/``"logistic"``.
        kernel_init, recurrent_init, bias_init: see :class:`jaxnn.nn.cells.Cell`.

    Parameters: ``W: (H, D)``, ``U: (H, H)``, ``b: (H,)``; state ``h: (B, H)``; no residuals.
    """

    activation: str = "tanh"

    gates = 1
    gate_names = ("h",)
    family = "rnn"

    def __post_init__(self):
        check_choice(self.activation, ACTIVATIONS, "activation")

    def step(self, params, state, a_t):
        """``h_t = f(a_t + h_{t−1} Uᵀ)``; ``state, a_t: (B, H)``; returns ``(h_t, None)``."""
        return activation(self.activation)(a_t + state @ params["U"].T), None

    def backward(self, rec, dstate, prev, new, residuals):
        """``δ_t = f′(z_t) ⊙ dh`` (read off ``h_t``), ``∂J/∂h_{t−1} = δ_t U``; all ``(B, H)``."""
        del prev, residuals
        fp = 1.0 - new * new if self.activation == "tanh" else sig_prime(new)
        da = dstate * fp
        return da, da @ rec["U"]
