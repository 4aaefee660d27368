"""The GRU of Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 193–196, reset before or after U.

G = 3 gate blocks (r, z, n = h̃) in one fused ``W: (3H, D)``, ``U: (3H, H)``, ``b: (3H,)``;
the reset-after variant also has ``bU: (H,)``, the recurrent bias of the candidate. State ``h``.

Step, with ``a = W x_t + b`` split into (a_r, a_z, a_n) (hoisted out of the time loop)::

    r = σ(a_r + U_r h_{t−1})                                  (eq 193)
    z = σ(a_z + U_z h_{t−1})                                  (eq 194)
    h̃ = tanh(a_n + U_n (r ⊙ h_{t−1}))                          (eq 195, reset *before* U)
    h̃ = tanh(a_n + r ⊙ (U_n h_{t−1} + bU))                    (reset_after: cuDNN, PyTorch, Flax)
    h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃                           (eq 196)

From PyTorch's GRU: ``b = b_ih + [b_hh_r; b_hh_z; 0]``, ``bU = b_hh_n``.

Backward through one step (BPTT applied to eq 193–196), ``n = h̃``, ``dh = ∂J/∂h_t``::

    δz = dh ⊙ (h_{t−1} − n) ⊙ z(1−z),   δn = dh ⊙ (1−z) ⊙ (1−n²)

reset before U:

    ρ  = U_nᵀ δn                 (= ∂J/∂(r⊙h_{t−1}))
    δr = ρ ⊙ h_{t−1} ⊙ r(1−r)
    ∂J/∂h_{t−1} = dh ⊙ z + ρ ⊙ r + [U_r; U_z]ᵀ [δr; δz]
    ∂J/∂[U_r; U_z] = Σ [δr; δz] h_{t−1}ᵀ,   ∂J/∂U_n = Σ δn (r ⊙ h_{t−1})ᵀ

reset after U:

    δr = δn ⊙ (U_n h_{t−1} + bU) ⊙ r(1−r)
    ∂J/∂(U h_{t−1}) = [δr; δz; δn ⊙ r],   ∂J/∂h_{t−1} = dh ⊙ z + Uᵀ[δr; δz; δn ⊙ r]
    ∂J/∂U = Σ [δr; δz; δn ⊙ r] h_{t−1}ᵀ,   ∂J/∂bU = Σ δn ⊙ r

The weight sums run once after the backward scan (:meth:`GRU.weight_grads`).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxnn.nn.cells.base import Cell, sig_prime


@dataclasses.dataclass(frozen=True)
class GRU(Cell):
    """The GRU cell (eq 193–196).

    Attributes:
        reset_after: apply the reset gate after ``U_n`` (with the bias ``bU: (H,)``), as
            cuDNN, PyTorch and Flax do; False is the notes' eq 195.
        kernel_init, recurrent_init, bias_init: see :class:`jaxnn.nn.cells.Cell`.

    State ``h: (B, H)``. Residuals of a step: ``(B, 3H)`` = (r, z, h̃), or ``(B, 4H)`` =
    (r, z, h̃, U_n h + bU) with ``reset_after``.
    """

    reset_after: bool = False

    gates = 3
    gate_names = ("r", "z", "n")

    @property
    def name(self) -> str:
        return "gru_reset_after" if self.reset_after else "gru"

    def extra_shapes(self, hidden_size):
        return {"bU": (hidden_size,)} if self.reset_after else {}

    def loop_params(self, params):
        """Reset before U: ``U_rz = [U_r; U_z]: (2H, H)`` and ``U_n: (H, H)`` added, split once
        before the time loop (sliced inside it, XLA:CPU copied both blocks at every step)."""
        if self.reset_after:
            return params
        U = params["U"]
        H = U.shape[-1]
        return {**params, "U_rz": U[:2 * H], "U_n": U[2 * H:]}

    def step(self, params, state, a_t):
        """One step (eq 193–196); ``state: (B, H)``, ``a_t: (B, 3H)``; returns ``(h_t, gates)``.
        ``params``: :meth:`loop_params`'s result."""
        h = state
        H = h.shape[-1]
        uh = h @ (params["U"] if self.reset_after else params["U_rz"]).T
        r = jax.nn.sigmoid(a_t[:, :H] + uh[:, :H])
        z = jax.nn.sigmoid(a_t[:, H:2 * H] + uh[:, H:2 * H])
        # Gates joined by concatenate, not ``blocks``' selects: measured faster on XLA:CPU.
        if not self.reset_after:
            n = jnp.tanh(a_t[:, 2 * H:] + (r * h) @ params["U_n"].T)
            gates = jnp.concatenate([r, z, n], axis=-1)
        else:
            hn = uh[:, 2 * H:] + params["bU"][None, :]
            n = jnp.tanh(a_t[:, 2 * H:] + r * hn)
            gates = jnp.concatenate([r, z, n, hn], axis=-1)
        return z * h + (1.0 - z) * n, gates

    def backward(self, rec, dstate, prev, new, residuals):
        """Back through one step (module docstring); returns ``(δa_t: (B, 3H), ∂J/∂h_{t−1})``."""
        del new
        dh, h_prev = dstate, prev
        B, H = dh.shape
        r, z, n = residuals[:, :H], residuals[:, H:2 * H], residuals[:, 2 * H:3 * H]
        dzz = dh * (h_prev - n) * sig_prime(z)
        dzn = dh * (1.0 - z) * (1.0 - n * n)
        if not self.reset_after:
            dr_h = dzn @ rec["U_n"]                        # ∂J/∂(r⊙h_{t−1})
            dzr = dr_h * h_prev * sig_prime(r)
            drz = jnp.concatenate([dzr, dzz], axis=-1)
            dhp = dh * z + dr_h * r + drz @ rec["U_rz"]
            return jnp.concatenate([drz, dzn], axis=-1), dhp
        dzr = dzn * residuals[:, 3 * H:] * sig_prime(r)
        # (B, H) deltas joined by concatenate (not ``blocks``' selects): measured faster.
        duh = jnp.concatenate([dzr, dzz, dzn * r], axis=-1)  # ∂J/∂(U h_{t−1})
        return jnp.concatenate([dzr, dzz, dzn], axis=-1), dh * z + duh @ rec["U"]

    def weight_grads(self, rec, da, prevs, news, residuals, a):
        """``∂J/∂U`` (and ``∂J/∂bU``) from ``da: (T, B, 3H)`` (module docstring)."""
        del news
        hp = prevs
        H = hp.shape[-1]
        gs = self.recompute(rec, a, hp) if residuals is None else residuals
        r = gs[..., :H]
        if not self.reset_after:
            return {"U": jnp.concatenate([
                jnp.einsum("tbg,tbh->gh", da[..., :2 * H], hp),
                jnp.einsum("tbg,tbh->gh", da[..., 2 * H:], r * hp)])}
        dzn_r = da[..., 2 * H:] * r
        # Two contractions joined after (3H·H floats), not one over the joined (T, B, 3H)
        # deltas: that join copied the whole stack (the hand BPTT's (G·H, T, B) buffer).
        return {"U": jnp.concatenate([jnp.einsum("tbg,tbh->gh", da[..., :2 * H], hp),
                                      jnp.einsum("tbg,tbh->gh", dzn_r, hp)]),
                "bU": dzn_r.sum((0, 1))}
