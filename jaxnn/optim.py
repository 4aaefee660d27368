"""The notes' optimizers as ``optax.GradientTransformation`` s.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 61–69, written out exactly and packaged in optax's
style (``init(params) -> state``, ``update(grads, state, params=None) -> (updates, state)``,
NamedTuple states), so each one drops into ``optax.chain`` and :func:`jaxnn.train.fit` like any
optax optimizer (Adam and the rest of optax work through the same API). ``updates`` are the
parameter *changes*: apply them with ``optax.apply_updates`` (θ ← θ + updates).

Slips: eq 62 sums the per-sample gradients without eq 60's 1/N (it is the gradient of N·R);
eq 67's text calls E(∇θ²)_t the average up to the previous step while the formula, rightly,
uses E(∇θ²)_{t−1}.

Batch, mini-batch and stochastic (per-sample) gradient descent (eq 61–63) are the *same*
update θ ← θ − λ g; they differ only in which samples g is averaged over. That is a data-feeding
choice, made by ``batch_size`` in :func:`jaxnn.train.fit` (None = full batch, eq 61–62;
1 = one sample per step, eq 63; anything between = mini-batch), not by the optimizer.

``learning_rate`` may be a float or an optax schedule ``step -> rate`` (step counts from 0).

Hyperparameters are checked when the optimizer is built, not when it first steps: a float
learning rate must be finite and ≥ 0, ρ finite in [0, 1), ε finite (≥ 0 for AdaGrad, > 0 for
AdaDelta), λ of :func:`l2` / :func:`l1` finite and ≥ 0; NaN, inf, a bool or a string raise
:class:`jaxnn.errors.JaxnnError` naming the argument.

How these relate to optax's own implementations (the tests check both statements):

- :func:`sgd` = ``optax.sgd(lr)``.
- :func:`momentum` (eq 64) keeps the previous *update* Δθ and sets Δθₜ = ρΔθₜ₋₁ − λₜgₜ, the
  learning rate inside the velocity. ``optax.sgd(lr, momentum=ρ)`` keeps a trace of gradients
  mₜ = gₜ + ρmₜ₋₁ and steps −λₜmₜ, the rate outside. They agree for a constant rate and differ
  under a schedule. (Eq 64 writes ρ∇θₜ on the right with ∇θₜ = θₜ − θₜ₋₁ — the very update being
  computed; the previous update ∇θₜ₋₁ is what is meant, as in Rumelhart et al. 1986.)
- :func:`adagrad` (eq 65): θₜ = θₜ₋₁ − ρ gₜ / √(Σ_{τ≤t} g_τ²), the sum starting at zero and
  including gₜ, with no ε. ``optax.adagrad`` starts the sum at ``initial_accumulator_value=0.1``
  and puts ε = 1e-7 *inside* the root; with both set to 0 it is the notes' formula. Our optional
  ``eps`` is Duchi et al.'s δ, added *outside* the root. A coordinate whose gradients were all
  zero so far gets update 0 (0/0 read as 0, as optax does).
- :func:`adadelta` (eq 66–69) has no learning rate; ``optax.adadelta(learning_rate=1.0, rho,
  eps)`` is the same formula. The notes give no values for ρ and ε; our defaults are Zeiler
  (2012)'s ρ = 0.95, ε = 1e-6 (optax's default ρ is 0.9).

Regularisation is a link of the chain too (eq 49–50, 125): :func:`l2` adds λW to the gradient
(the gradient of ½λ‖W‖²) and :func:`l1` adds λ·sign(W) (a subgradient of λΣ|W|), each on the
leaves an explicit ``mask`` selects — a pytree of bools like the params, or a callable
``params -> mask``; :func:`mask_leaves` builds one from a predicate the caller states (e.g.
``lambda path, w: w.ndim >= 2``: the weight matrices and kernels, not the biases). Nothing is
chosen by a parameter's name. Put them *first* in the chain, before clipping and the update
rule, to clip and step on the gradient of the regularised risk::

    opt = optax.chain(l2(1e-4, mask=lambda p: mask_leaves(p, lambda path, w: w.ndim >= 2)),
                      optax.clip_by_global_norm(1.0), momentum(0.1))
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn.errors import JaxnnError, check_tree
from jaxnn.nn.losses import Mask, resolve_mask

Array = jax.Array
LearningRate = float | Callable[[Array], Array]


class SgdState(NamedTuple):
    """Step counter t (for learning-rate schedules)."""

    count: Array


class MomentumState(NamedTuple):
    """Step counter and the previous update Δθₜ₋₁ (same pytree as the params)."""

    count: Array
    delta: optax.Updates


class AdaGradState(NamedTuple):
    """Step counter and the running sum Σ_τ g_τ² (same pytree as the params)."""

    count: Array
    sum_sq: optax.Updates


class AdaDeltaState(NamedTuple):
    """The moving averages E(g²)ₜ and E(Δθ²)ₜ of eq 66 and 68 (same pytree as the params)."""

    e_g2: optax.Updates
    e_dx2: optax.Updates


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _check_lr(learning_rate: LearningRate) -> Callable[[Array], Array]:
    """Validate a float rate (finite, ≥ 0) and return it as a schedule."""
    if callable(learning_rate):
        return learning_rate
    if (not _is_number(learning_rate) or not math.isfinite(learning_rate)
            or learning_rate < 0):
        raise JaxnnError("learning_rate must be a finite number >= 0 or a schedule; "
                         f"got {learning_rate!r}")
    return lambda count: learning_rate


def _check_hyper(value: Any, name: str, *, lo: float, lo_open: bool = False,
                 hi: float | None = None) -> None:
    """Raise unless ``value`` is a finite real number in [lo, hi) (or (lo, hi) / [lo, ∞))."""
    ok = _is_number(value) and math.isfinite(value)
    if ok:
        ok = (value > lo if lo_open else value >= lo) and (hi is None or value < hi)
    if not ok:
        rng = f"{'(' if lo_open else '['}{lo}, {'inf' if hi is None else hi})"
        raise JaxnnError(f"{name} must be a finite number in {rng}; got {value!r}")


def _zeros(params):
    return jax.tree.map(jnp.zeros_like, params)


def _check_state(state_tree: Any, grads: Any, name: str) -> None:
    """The optimizer state must have been built (``init``) for parameters like ``grads``."""
    check_tree(state_tree, grads, f"optimizer state {name}",
               what="an optimizer state built for other parameters?")


def _count0() -> Array:
    return jnp.zeros([], jnp.int32)


def sgd(learning_rate: LearningRate) -> optax.GradientTransformation:
    """Gradient descent θₜ = θₜ₋₁ − λ gₜ (eq 61–63).

    Batch, mini-batch or per-sample SGD depending on what ``g`` is averaged over — chosen by
    the data feeding (``batch_size`` of :func:`jaxnn.train.fit`), not here.

    Args:
        learning_rate: λ ≥ 0, or a schedule ``step -> λ``.

    Returns:
        a ``GradientTransformation`` with state :class:`SgdState`; ``update(g, state)``
        returns −λₜ g (same pytree as g).
    """
    lr = _check_lr(learning_rate)

    def init(params):
        return SgdState(_count0())

    def update(grads, state, params=None):
        rate = lr(state.count)
        updates = jax.tree.map(lambda g: -rate * g, grads)
        return updates, SgdState(state.count + 1)

    return optax.GradientTransformation(init, update)


def momentum(learning_rate: LearningRate, rho: float = 0.9) -> optax.GradientTransformation:
    """Momentum (eq 64): Δθₜ = ρ Δθₜ₋₁ − λₜ gₜ, θₜ = θₜ₋₁ + Δθₜ, with Δθ₀ = 0.

    ρ = 0.9 is the value the notes give ("通常设为0.9"). See the module docstring for how this
    differs from ``optax.sgd(lr, momentum=ρ)`` under a schedule.

    Args:
        learning_rate: λ ≥ 0, or a schedule ``step -> λ``.
        rho: momentum factor ρ in [0, 1).

    Returns:
        a ``GradientTransformation`` with state :class:`MomentumState`.
    """
    lr = _check_lr(learning_rate)
    _check_hyper(rho, "momentum rho", lo=0.0, hi=1.0)

    def init(params):
        return MomentumState(_count0(), _zeros(params))

    def update(grads, state, params=None):
        _check_state(state.delta, grads, "delta")
        rate = lr(state.count)
        delta = jax.tree.map(lambda d, g: rho * d - rate * g, state.delta, grads)
        return delta, MomentumState(state.count + 1, delta)

    return optax.GradientTransformation(init, update)


def adagrad(learning_rate: LearningRate, eps: float = 0.0) -> optax.GradientTransformation:
    """AdaGrad (eq 65): θₜ = θₜ₋₁ − ρ gₜ / (√(Σ_{τ=1}^t g_τ²) + eps), eps = 0 in the notes.

    Args:
        learning_rate: the notes' initial rate ρ ≥ 0, or a schedule.
        eps: ≥ 0, Duchi et al. (2011)'s δ added outside the root (not in the notes). With
            eps = 0, a coordinate with Σ g² = 0 gets update 0.

    Returns:
        a ``GradientTransformation`` with state :class:`AdaGradState`.
    """
    lr = _check_lr(learning_rate)
    _check_hyper(eps, "adagrad eps", lo=0.0)

    def init(params):
        return AdaGradState(_count0(), _zeros(params))

    def step(g, s, rate):
        root = jnp.sqrt(s) + eps
        safe = jnp.where(root > 0, root, 1.0)
        return jnp.where(root > 0, -rate * g / safe, 0.0)

    def update(grads, state, params=None):
        rate = lr(state.count)
        _check_state(state.sum_sq, grads, "sum_sq")
        sum_sq = jax.tree.map(lambda s, g: s + g * g, state.sum_sq, grads)
        updates = jax.tree.map(lambda g, s: step(g, s, rate), grads, sum_sq)
        return updates, AdaGradState(state.count + 1, sum_sq)

    return optax.GradientTransformation(init, update)


def adadelta(rho: float = 0.95, eps: float = 1e-6) -> optax.GradientTransformation:
    """AdaDelta (eq 66–69), no learning rate:

        E(g²)ₜ  = ρ E(g²)ₜ₋₁ + (1 − ρ) gₜ²                         (66)
        Δθₜ     = −√(E(Δθ²)ₜ₋₁ + ε) / √(E(g²)ₜ + ε) · gₜ           (67)
        E(Δθ²)ₜ = ρ E(Δθ²)ₜ₋₁ + (1 − ρ) Δθₜ²                        (68)
        θₜ      = θₜ₋₁ + Δθₜ                                        (69)

    with both averages starting at 0. The notes give no ρ, ε; defaults are Zeiler (2012)'s.

    Args:
        rho: decay constant ρ in [0, 1).
        eps: ε > 0 inside both roots (with E(Δθ²)₀ = 0 the first step is √ε/√(…) · g).

    Returns:
        a ``GradientTransformation`` with state :class:`AdaDeltaState`.
    """
    _check_hyper(rho, "adadelta rho", lo=0.0, hi=1.0)
    _check_hyper(eps, "adadelta eps", lo=0.0, lo_open=True)

    def init(params):
        return AdaDeltaState(_zeros(params), _zeros(params))

    def update(grads, state, params=None):
        _check_state(state.e_g2, grads, "e_g2")
        e_g2 = jax.tree.map(lambda e, g: rho * e + (1 - rho) * g * g, state.e_g2, grads)
        dx = jax.tree.map(lambda g, eg, ex: -jnp.sqrt(ex + eps) / jnp.sqrt(eg + eps) * g,
                          grads, e_g2, state.e_dx2)
        e_dx2 = jax.tree.map(lambda e, d: rho * e + (1 - rho) * d * d, state.e_dx2, dx)
        return dx, AdaDeltaState(e_g2, e_dx2)

    return optax.GradientTransformation(init, update)


# --------------------------------------------------------------------------- regularisation

def mask_leaves(params: Any, predicate: Callable[[tuple, Array], bool]) -> Any:
    """The mask ``{leaf: predicate(path, leaf)}`` over a parameter pytree.

    Args:
        params: any pytree of arrays.
        predicate: ``(path, leaf) -> bool``; ``path`` is the tuple of the leaf's dict keys /
            sequence indices from the root (e.g. ``("layers", 0, "W")``), ``leaf`` the array.

    Returns:
        pytree of Python bools with the structure of ``params``.
    """
    def name(k):
        for attr in ("key", "idx", "name"):
            if hasattr(k, attr):
                return getattr(k, attr)
        return k

    return jax.tree_util.tree_map_with_path(
        lambda path, leaf: bool(predicate(tuple(name(k) for k in path), leaf)), params)


def _masked(inner: optax.GradientTransformation, mask: Mask) -> optax.GradientTransformation:
    """``inner`` on the leaves ``mask`` selects (:func:`jaxnn.nn.losses.resolve_mask`)."""
    return inner if mask is None else optax.masked(inner, lambda tree: resolve_mask(tree, mask))


def l2(weight_decay: float, mask: Mask) -> optax.GradientTransformation:
    """L2 regularisation: add λθ, the gradient of ½λ‖θ‖², to the gradient of every masked leaf θ.

    ``chain(l2(λ, mask), rule)`` steps on the structural risk loss + ½λΣ‖W‖² (eq 49–50 with
    the ½, ``jaxnn.nn.losses.l2_penalty``; eq 125). The term is computed as ``jax.grad`` of
    λ·½Σθ² and added before the data gradient, exactly as differentiating loss + λ·½Σ‖W‖² does,
    so a jitted step gives bitwise the parameters of that objective (``g + λθ`` written out,
    as ``optax.add_decayed_weights`` does, may be fused into one FMA by XLA and differ in the
    last bit).

    Args:
        weight_decay: λ ≥ 0 (0 leaves the gradient unchanged).
        mask: which leaves are penalised: a pytree of bools like the params, a callable
            ``params -> mask`` (see :func:`mask_leaves`), or ``None`` for every leaf — the
            convention of :func:`jaxnn.nn.losses.resolve_mask`, shared with
            ``jaxnn.nn.losses.l2_penalty``. Required: the choice is the caller's.

    Returns:
        a ``GradientTransformation`` (state ``optax.EmptyState``) that needs ``params`` in
        ``update``; updates have the pytree and shapes of the gradient.

    Raises:
        JaxnnError: negative ``weight_decay``.
    """
    _check_hyper(weight_decay, "l2 weight_decay", lo=0.0)
    lam = float(weight_decay)

    def decay(w):
        return jax.grad(lambda v: lam * (0.5 * jnp.sum(v * v)))(w)

    return _penalty(lam, decay, "l2", mask)


def l1(weight: float, mask: Mask) -> optax.GradientTransformation:
    """L1 regularisation: add λ·sign(θ) to the gradient of every masked leaf θ.

    λ·sign(θ) is the gradient of λΣ|θ| (``jaxnn.nn.losses.l1_penalty``) away from θ = 0, and
    the subgradient 0 at θ = 0.

    Args:
        weight: λ ≥ 0.
        mask: as for :func:`l2`.

    Returns:
        a ``GradientTransformation`` that needs ``params`` in ``update``.

    Raises:
        JaxnnError: negative ``weight``.
    """
    _check_hyper(weight, "l1 weight", lo=0.0)
    lam = float(weight)
    return _penalty(lam, lambda w: lam * jnp.sign(w), "l1", mask)


def _penalty(lam: float, term: Callable[[Array], Array], name: str,
             mask: Mask) -> optax.GradientTransformation:
    """The transformation g ↦ term(θ) + g on the masked leaves (identity for λ = 0)."""

    def init(params):
        return optax.EmptyState()

    def update(updates, state, params=None):
        if params is None:
            raise JaxnnError(f"jaxnn.optim.{name} needs params: call update(grads, state, params)")
        if lam == 0.0:
            return updates, state
        return jax.tree.map(lambda g, w: term(w) + g, updates, params), state

    return _masked(optax.GradientTransformation(init, update), mask)


#: Factories by name, for experiments and the CLI.
OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
    "sgd": sgd, "momentum": momentum, "adagrad": adagrad, "adadelta": adadelta,
}
