"""The LSTM of Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 187–192, with and without peepholes.

G = 4 gate blocks (i, f, g = c̃, o) — the order of PyTorch and Flax — in one fused
``W: (4H, D)``, ``U: (4H, H)``, ``b: (4H,)``; with peepholes also diagonal ``V_i, V_f, V_o: (H,)``.
The notes write the gates without biases; we add ``b`` (zero except the forget gate, see
``forget_bias``), as every framework does. State ``(h, c)``.

Step, with ``a = W x_t + b`` split into (a_i, a_f, a_g, a_o) (hoisted out of the time loop)::

    i = σ(a_i + U_i h_{t−1} + V_i ⊙ c_{t−1})                 (eq 187)
    f = σ(a_f + U_f h_{t−1} + V_f ⊙ c_{t−1})                 (eq 188)
    c̃ = tanh(a_g + U_g h_{t−1})                              (eq 190)
    c_t = f ⊙ c_{t−1} + i ⊙ c̃                                (eq 191)
    o = σ(a_o + U_o h_{t−1} + V_o ⊙ c_t)                     (eq 189: o sees the *new* cell)
    h_t = o ⊙ tanh(c_t)                                      (eq 192)

(``peephole=False`` drops the V terms: the LSTM of Flax and PyTorch.) The four gates are one
``tanh``: σ(x) = ½·tanh(½x) + ½, so gate = s·tanh(s·z) + t (:func:`lstm_gate_scale`).

Backward through one step (BPTT, eq 178–183 applied to eq 187–192). Given ``dh = ∂J/∂h_t`` and
``dc = ∂J/∂c_t`` from the future (c_t feeds c_{t+1}, i_{t+1}, f_{t+1})::

    δo  = dh ⊙ tanh(c_t) ⊙ o(1−o)
    dc̄  = dc + dh ⊙ o ⊙ (1 − tanh²c_t) + V_o ⊙ δo           (o sees c_t, eq 189)
    δi  = dc̄ ⊙ c̃ ⊙ i(1−i),   δf = dc̄ ⊙ c_{t−1} ⊙ f(1−f),   δg = dc̄ ⊙ i ⊙ (1 − c̃²)
    ∂J/∂c_{t−1} = dc̄ ⊙ f + V_i ⊙ δi + V_f ⊙ δf             (i, f see c_{t−1}, eq 187–188)
    ∂J/∂h_{t−1} = Uᵀ [δi; δf; δg; δo]

and after the backward scan, once for all steps,
``∂J/∂U = Σ_t δ_t h_{t−1}ᵀ``, ``∂J/∂V_i = Σ δi ⊙ c_{t−1}``, ``∂J/∂V_f = Σ δf ⊙ c_{t−1}``,
``∂J/∂V_o = Σ δo ⊙ c_t`` (without peepholes drop the V terms).

Initialisation: see :class:`jaxnn.nn.cells.Cell`; the forget-gate bias ``b[H:2H]`` starts at
``forget_bias`` (default 1.0, Gers et al. 2000 and Jozefowicz et al. 2015; 0.0 gives the
notes' bias-free gates at initialisation), peepholes at zero. ``chrono=T_max`` instead draws the
chrono initialisation of Tallec & Ollivier 2018 ("Can recurrent neural networks warp time?",
ICLR): ``b_f = log u`` with ``u ~ U[1, T_max − 1]`` per unit and ``b_i = −b_f``, so unit j
starts with a forget gate near ``1 − 1/u_j`` and a memory of about ``u_j`` steps, the spread of
time scales a task with dependencies up to ``T_max`` steps needs. With ``forget_bias = 1`` every
unit forgets by ``σ(1)^T ≈ 0.73^T`` (``10^-68`` at T = 500) and the adding problem stays on
its 1/6 plateau; with chrono it is solved at T = 500 and 1000.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError
from jaxnn.nn.cells.base import Cell, blocks, sig_prime


def lstm_gate_scale(H: int, dtype) -> tuple[jax.Array, jax.Array]:
    """``(s, t)`` of shape (1, 4, H): gate = s·tanh(s·z) + t is σ for i, f, o and tanh for c̃."""
    s = jnp.asarray([0.5, 0.5, 1.0, 0.5], dtype)[None, :, None]
    t = jnp.asarray([0.5, 0.5, 0.0, 0.5], dtype)[None, :, None]
    return jnp.broadcast_to(s, (1, 4, H)), jnp.broadcast_to(t, (1, 4, H))


@dataclasses.dataclass(frozen=True)
class LSTM(Cell):
    """The LSTM cell (eq 187–192).

    Attributes:
        peephole: add the diagonal peepholes ``V_i, V_f, V_o: (H,)`` of the notes.
        forget_bias: initial value of the forget-gate bias ``b[H:2H]`` (default 1.0).
        chrono: ``T_max`` (int >= 2) for the chrono initialisation of ``b[0:H]`` and ``b[H:2H]``
            (module docstring; replaces ``forget_bias``), or None.
        kernel_init, recurrent_init, bias_init: see :class:`jaxnn.nn.cells.Cell`.

    State ``(h, c)``, both ``(B, H)``. Residuals of a step: the gates ``(B, 4H)`` = (i, f, c̃, o).
    """

    peephole: bool = False
    forget_bias: float = 1.0
    chrono: int | None = None

    gates = 4
    gate_names = ("i", "f", "g", "o")
    state_names = ("h", "c")

    def __post_init__(self):
        T = self.chrono
        if T is not None and (not isinstance(T, (int, np.integer)) or isinstance(T, bool)
                              or T < 2):
            raise JaxnnError(f"LSTM chrono must be the longest dependency T_max, an int >= 2, "
                             f"or None; got {T!r}")

    @property
    def name(self) -> str:
        return "lstm_peephole" if self.peephole else "lstm"

    def extra_shapes(self, hidden_size):
        return {n: (hidden_size,) for n in ("V_i", "V_f", "V_o")} if self.peephole else {}

    def init(self, key, input_size, hidden_size, dtype=jnp.float32):
        params = super().init(key, input_size, hidden_size, dtype)
        h = int(hidden_size)
        if self.chrono is None:
            params["b"] = params["b"].at[h:2 * h].set(self.forget_bias)
            return params
        u = jax.random.uniform(jax.random.fold_in(key, 3), (h,), dtype, 1.0,
                               float(self.chrono) - 1.0)
        b_f = jnp.log(u)                                # Tallec & Ollivier 2018, chrono init
        params["b"] = params["b"].at[h:2 * h].set(b_f).at[:h].set(-b_f)
        return params

    def step(self, params, state, a_t):
        """One step (eq 187–192); ``state = (h, c)``, ``a_t: (B, 4H)``; returns
        ``((h_t, c_t), gates: (B, 4H))``."""
        U = params["U"]
        B = a_t.shape[0]
        h, c = state
        H = h.shape[-1]
        z = (a_t + h @ U.T).reshape(B, 4, H)
        if self.peephole:
            z = z + blocks([params["V_i"][None, :] * c, params["V_f"][None, :] * c, 0.0, 0.0])
        s, t = lstm_gate_scale(H, z.dtype)
        gates = s * jnp.tanh(s * z) + t               # σ(x) = ½·tanh(½x) + ½: one tanh, 4 gates
        i, f, g, o = gates[:, 0], gates[:, 1], gates[:, 2], gates[:, 3]
        c_new = f * c + i * g
        if self.peephole:
            o = jax.nn.sigmoid(z[:, 3] + params["V_o"][None, :] * c_new)
            gates = blocks([i, f, g, o])
        return (o * jnp.tanh(c_new), c_new), gates.reshape(B, 4 * H)

    def backward(self, rec, dstate, prev, new, residuals):
        """Back through one step (module docstring); returns ``(δa_t: (B, 4H), (∂J/∂h_{t−1},
        ∂J/∂c_{t−1}))``."""
        U = rec["U"]
        dh, dc = dstate
        c_prev = prev[1]
        c_new = new[1]
        B, H = dh.shape
        g3 = residuals.reshape(B, 4, H)
        i, f, g, o = g3[:, 0], g3[:, 1], g3[:, 2], g3[:, 3]
        tc = jnp.tanh(c_new)
        do = dh * tc * sig_prime(o)
        dct = dc + dh * o * (1.0 - tc * tc)
        if self.peephole:
            dct = dct + do * rec["V_o"][None, :]
        di = dct * g * sig_prime(i)
        df = dct * c_prev * sig_prime(f)
        dcp = dct * f
        if self.peephole:
            dcp = dcp + di * rec["V_i"][None, :] + df * rec["V_f"][None, :]
        # Four (B, H) deltas joined by one concatenate: measured faster on XLA:CPU than one
        # (B, 4, H) expression assembled with selects (``blocks``), which XLA evaluated twice
        # per step (for the matmul and for the stacked output) with a 4-way select per element.
        da = jnp.concatenate([di, df, dct * i * (1.0 - g * g), do], axis=-1)
        return da, (da @ U, dcp)

    def weight_grads(self, rec, da, prevs, news, residuals, a):
        """``∂J/∂U = Σ δa h_{t−1}ᵀ`` and, with peepholes, ``∂J/∂V_·`` (module docstring)."""
        H = prevs[0].shape[-1]
        hp, cp = prevs
        drec = {"U": jnp.einsum("tbg,tbh->gh", da, hp)}
        if self.peephole:
            cs = news[1]
            drec["V_i"] = (da[..., :H] * cp).sum((0, 1))
            drec["V_f"] = (da[..., H:2 * H] * cp).sum((0, 1))
            drec["V_o"] = (da[..., 3 * H:] * cs).sum((0, 1))
        return drec
