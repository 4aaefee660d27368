"""Loss functions, weight penalties and the empirical / structural risk.

Sources: Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 47–50 (empirical risk R(θ) = (1/N) Σ L,
structural risk R(θ) + λ‖θ‖²), eq 51–52 (0-1), 53 (squared), 54–56 (negative log-likelihood /
cross-entropy), 57–58 (hinge); the logistic-regression notes' binary cross-entropy.

Conventions (each docstring repeats them):

- Per-batch losses return the **mean over the batch** (the empirical risk, eq 47), except
  :func:`squared_error`, whose reduction is an argument (default ``"half_sum"``, the notes'
  E = ½ Σ (y − ŷ)²).
- Shapes must match exactly: no broadcasting of (B,) against (B, 1).
- Concrete (non-traced) inputs are validated: non-finite values, labels outside [0, C),
  probabilities outside [0, 1], hinge targets outside {−1, +1}. Under ``jax.jit`` only the
  shape checks run.

Slips in the notes: Qiu eq 51 writes the 0-1 loss as 1 when y = f(x) and 0 otherwise — the
cases are swapped; eq 52, I(y ≠ f(x)), is right and is what :func:`zero_one` computes. The
feed-forward lecture notes drop the minus sign in front of the binary cross-entropy
(−[y log p + (1 − y) log(1 − p)]); without it the loss would be maximised by a good model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import xlogy

from jaxnn.errors import (JaxnnError, ShapeError, check_choice, check_finite, check_floating,
                          check_labels, check_ndim, check_positive)
from jaxnn.nn.activations import log_softmax, relu, softplus

Array = jax.Array

_REDUCTIONS = ("half_sum", "sum", "mean")


# --------------------------------------------------------------------------- validation

def _concrete(x: Any) -> np.ndarray | None:
    """A numpy view of ``x`` when it is a concrete value, else None (under jit)."""
    return None if isinstance(x, jax.core.Tracer) else np.asarray(x)


def _check_same_shape(a: Any, b: Any, a_name: str, b_name: str) -> None:
    if np.shape(a) != np.shape(b):
        raise ShapeError(f"{a_name} and {b_name} must have the same shape; got "
                         f"{tuple(np.shape(a))} and {tuple(np.shape(b))}")
    _check_nonempty(a, a_name)


def _check_nonempty(x: Any, name: str) -> None:
    """A mean over no element is NaN: refuse an empty batch (static: works under jit)."""
    if np.ndim(x) and not np.prod(np.shape(x), dtype=int):
        raise ShapeError(f"{name} is empty (shape {tuple(np.shape(x))}); a loss needs at "
                         "least one example")


def _check_interval(x: Any, lo: float, hi: float, name: str) -> None:
    a = _concrete(x)
    if a is not None and a.size and (a.min() < lo or a.max() > hi):
        bad = a[(a < lo) | (a > hi)]
        raise JaxnnError(f"{name} must lie in [{lo}, {hi}]; got {bad.ravel()[:5].tolist()}")


def _check_in_set(x: Any, allowed: Sequence[float], name: str) -> None:
    a = _concrete(x)
    if a is not None and a.size:
        bad = a[~np.isin(a, allowed)]
        if bad.size:
            raise JaxnnError(f"{name} must take values in {list(allowed)}; got {bad.ravel()[:5].tolist()}")


def _class_targets(scores: Array, labels: Array, scores_name: str,
                   allow_neg_inf: bool = False) -> tuple[Array, bool]:
    """Validate ``labels`` against ``scores: (..., C)``; return (labels, is_integer).

    Integer labels have shape ``scores.shape[:-1]`` and lie in [0, C); one-hot (or any
    probability-vector) labels have the shape of ``scores`` and rows summing to 1.
    ``allow_neg_inf`` lets log-probabilities of impossible classes be −inf.
    """
    if np.ndim(scores) == 0:
        raise ShapeError(f"{scores_name} needs a class axis (..., C); got shape ()")
    check_floating(scores, scores_name)
    _check_nonempty(scores, scores_name)
    a = _concrete(scores)
    check_finite(np.where(a == -np.inf, 0.0, a) if allow_neg_inf and a is not None else scores,
                 scores_name)
    num_classes = np.shape(scores)[-1]
    is_int = jnp.issubdtype(jnp.result_type(labels), jnp.integer)
    if is_int:
        if np.shape(labels) != np.shape(scores)[:-1]:
            raise ShapeError(
                f"integer labels must have shape {tuple(np.shape(scores)[:-1])} to match "
                f"{scores_name} {tuple(np.shape(scores))}; got {tuple(np.shape(labels))}"
                " (one-hot labels must be floating point)"
            )
        check_labels(labels, num_classes)
        return labels, True
    _check_same_shape(scores, labels, scores_name, "one-hot labels")
    check_finite(labels, "labels")
    a = _concrete(labels)
    if a is not None and a.size:
        if a.min() < 0:
            raise JaxnnError(f"one-hot labels must be non-negative; got {float(a.min())}")
        sums = a.sum(axis=-1)
        if not np.allclose(sums, 1.0, atol=1e-5):
            worst = sums.ravel()[np.argmax(np.abs(sums.ravel() - 1.0))]
            raise JaxnnError(f"one-hot label rows must sum to 1; got a row summing to {float(worst)}")
    return labels, False


def _pick(log_probs: Array, labels: Array, is_int: bool) -> Array:
    """Σ_c y_c log p_c for each position: shape ``log_probs.shape[:-1]``."""
    if is_int:
        return jnp.take_along_axis(log_probs, labels[..., None].astype(jnp.int32), axis=-1)[..., 0]
    return jnp.sum(labels * log_probs, axis=-1)


# --------------------------------------------------------------------------- losses

def squared_error(y_hat: Array, y: Array, reduction: str = "half_sum") -> Array:
    """Squared loss (Qiu eq 53, L = (y − f(x))²) summed or averaged over every element.

    Args:
        y_hat: predictions, any shape, floating dtype.
        y: targets, same shape as ``y_hat``.
        reduction: ``"half_sum"`` — ½ Σ (ŷ − y)² over all elements (the notes' error
            E = ½ Σ_k (target_k − out_k)², whose gradient is ŷ − y); ``"sum"`` — Σ (ŷ − y)²;
            ``"mean"`` — mean of (ŷ − y)² over all elements (MSE).

    Returns:
        scalar, dtype of ``y_hat``.
    """
    check_choice(reduction, _REDUCTIONS, "reduction")
    _check_same_shape(y_hat, y, "y_hat", "y")
    check_finite(y_hat, "y_hat")
    check_finite(y, "y")
    sq = (y_hat - y) ** 2
    if reduction == "mean":
        return jnp.mean(sq)
    total = jnp.sum(sq)
    return 0.5 * total if reduction == "half_sum" else total


def binary_cross_entropy(p: Array, y: Array) -> Array:
    """Binary cross-entropy from probabilities, mean of −[y log p + (1 − y) log(1 − p)].

    Uses ``xlogy`` so 0·log 0 = 0 (a confident, correct p = 0 or 1 gives loss 0, not NaN).
    Prefer :func:`binary_cross_entropy_with_logits` when you have the logit: σ(z) rounds to
    exactly 0 or 1 in float32 for |z| ≳ 17 and the loss then becomes inf.

    Args:
        p: predicted probabilities P(y = 1), any shape, values in [0, 1].
        y: targets in [0, 1] (usually 0/1), same shape as ``p``.

    Returns:
        scalar, mean over all elements.
    """
    _check_same_shape(p, y, "p", "y")
    check_finite(p, "p")
    check_finite(y, "y")
    _check_interval(p, 0.0, 1.0, "probabilities p")
    _check_interval(y, 0.0, 1.0, "targets y")
    return -jnp.mean(xlogy(y, p) + xlogy(1.0 - y, 1.0 - p))


def binary_cross_entropy_with_logits(z: Array, y: Array) -> Array:
    """Binary cross-entropy of p = σ(z), computed stably from the logit z.

    −[y log σ(z) + (1 − y) log(1 − σ(z))] = softplus(z) − y z = max(z, 0) − y z +
    log(1 + e^{−|z|}): finite for any finite z (e.g. ±1e4 in float32); gradient (σ(z) − y)/N.

    Args:
        z: logits, any shape, floating dtype.
        y: targets in [0, 1], same shape as ``z``.

    Returns:
        scalar, mean over all elements.
    """
    _check_same_shape(z, y, "z", "y")
    check_finite(z, "z")
    check_finite(y, "y")
    _check_interval(y, 0.0, 1.0, "targets y")
    # softplus = logaddexp(z, 0): exact gradient σ(z) also at z = 0, where the max/abs form
    # max(z, 0) + log1p(e^{−|z|}) would give autodiff's ½ − ½ = 0 instead of σ(0) = ½.
    return jnp.mean(softplus(z) - y * z)


def cross_entropy(logits: Array, labels: Array) -> Array:
    """Softmax cross-entropy (Qiu eq 56) from logits, via a stable log-softmax.

    L = −Σ_c y_c log softmax(z)_c = −log softmax(z)_y, averaged over every position.
    Its gradient with respect to the logits is (softmax(z) − onehot(y))/N.

    Args:
        logits: (..., C) unnormalised scores, floating dtype (usually (B, C)).
        labels: either integer class indices of shape ``logits.shape[:-1]`` in [0, C), or
            one-hot (or soft) targets of shape ``logits.shape`` with rows summing to 1.

    Returns:
        scalar, mean over all leading positions.
    """
    labels, is_int = _class_targets(logits, labels, "logits")
    return -jnp.mean(_pick(log_softmax(logits, axis=-1), labels, is_int))


def nll(log_probs: Array, labels: Array) -> Array:
    """Negative log-likelihood −log f_y(x) (Qiu eq 55) from log-probabilities.

    Args:
        log_probs: (..., C) log-probabilities (e.g. from :func:`log_softmax`), floating dtype.
        labels: integer indices of shape ``log_probs.shape[:-1]`` in [0, C), or one-hot of
            shape ``log_probs.shape``.

    Returns:
        scalar, mean over all leading positions.
    """
    labels, is_int = _class_targets(log_probs, labels, "log_probs", allow_neg_inf=True)
    a = _concrete(log_probs)
    if a is not None and a.size and np.nanmax(a) > 1e-6:
        raise JaxnnError(f"log_probs must be log-probabilities <= 0 (take log_softmax of the "
                         f"logits); got a maximum of {float(np.nanmax(a))!r}")
    return -jnp.mean(_pick(log_probs, labels, is_int))


def hinge(f: Array, y: Array) -> Array:
    """Hinge loss max(0, 1 − y f(x)) (Qiu eq 57–58), the SVM neuron's loss.

    Args:
        f: real-valued scores, any shape, floating dtype.
        y: targets in {−1, +1}, same shape as ``f``.

    Returns:
        scalar, mean over all elements.
    """
    _check_same_shape(f, y, "f", "y")
    check_finite(f, "f")
    _check_in_set(y, (-1.0, 1.0), "hinge targets y")
    # relu (gradient 0 at the kink y f = 1), not jnp.maximum (which would split it as 1/2)
    return jnp.mean(relu(1.0 - y * f))


def zero_one(y_hat: Array, y: Array) -> Array:
    """0-1 loss I(y ≠ f(x)) (Qiu eq 52, not eq 51's swapped cases), averaged: the error rate.

    Args:
        y_hat: predicted labels, any shape, any dtype.
        y: true labels, same shape.

    Returns:
        scalar float32 in [0, 1], the fraction of positions where ``y_hat != y``.
    """
    _check_same_shape(y_hat, y, "y_hat", "y")
    return jnp.mean((y_hat != y).astype(jnp.float32))


# --------------------------------------------------------------------------- penalties

#: Which leaves a penalty acts on: a pytree of bools with the structure of the params (or a
#: prefix of it), a callable ``params -> such a pytree``, or ``None`` for every leaf.
Mask = Any


def resolve_mask(params: Any, mask: Mask) -> Any:
    """The full pytree of bools that ``mask`` selects over ``params``.

    The one mask convention of the penalties here and of the regularisers in
    :mod:`jaxnn.optim`. The choice of leaves is always the caller's, stated explicitly (e.g. a
    model's ``penalty_mask`` or :func:`jaxnn.optim.mask_leaves`), never read off a name.

    Args:
        params: any pytree of arrays.
        mask: ``None`` (every leaf); a pytree of Python bools with the structure of ``params``,
            or a prefix of it (one bool then stands for a whole subtree); or a callable
            ``params -> such a pytree``.

    Returns:
        pytree of Python bools with the structure of ``params``.

    Raises:
        JaxnnError: a mask whose structure is not that of ``params`` (or a prefix of it), or
            whose leaves are not bools.
    """
    if mask is None:
        return jax.tree.map(lambda _: True, params)
    tree = mask(params) if callable(mask) else mask
    treedef = jax.tree_util.tree_structure(tree)
    try:
        subtrees = treedef.flatten_up_to(params)
    except (ValueError, TypeError) as e:
        raise JaxnnError(f"mask must have the structure of params (or a prefix of it); got mask "
                         f"{treedef} for params {jax.tree_util.tree_structure(params)}") from e
    marks = jax.tree_util.tree_leaves(tree)
    bad = [m for m in marks if not isinstance(m, (bool, np.bool_))]
    if bad:
        raise JaxnnError(f"mask leaves must be bools; got {bad[0]!r}")
    spread = [jax.tree.map(lambda _, m=bool(m): m, sub) for m, sub in zip(marks, subtrees)]
    return jax.tree_util.tree_unflatten(treedef, spread)


def _selected(params: Any, mask: Mask) -> list[Array]:
    """The leaves of ``params`` that ``mask`` marks True, in tree order."""
    marks = jax.tree_util.tree_leaves(resolve_mask(params, mask))
    return [leaf for leaf, m in zip(jax.tree_util.tree_leaves(params), marks) if m]


def l2_penalty(params: Any, mask: Mask = None) -> Array:
    """½ Σ ‖θ‖² over the leaves θ of ``params`` that ``mask`` selects; gradient θ there.

    The notes penalise the weight matrices, not the biases (Qiu eq 49–50, 125): say so with the
    mask, e.g. ``{"W": True, "b": False}`` (each model states its own: ``penalty_mask``). Note
    the ½: eq 49–50 write λ‖θ‖² (no ½), which equals 2λ·``l2_penalty``; :func:`structural_risk`
    follows the notes exactly.

    Args:
        params: pytree of arrays.
        mask: which leaves are penalised, as in :func:`resolve_mask` (``None``: every leaf).

    Returns:
        scalar (0.0 when no leaf is selected); the selected leaves are summed in tree order.
    """
    return 0.5 * sum((jnp.sum(w * w) for w in _selected(params, mask)), jnp.zeros(()))


def l1_penalty(params: Any, mask: Mask = None) -> Array:
    """Σ |θ| over the leaves θ of ``params`` that ``mask`` selects; subgradient sign(θ) there.

    |w| is computed as w·sign(w) so that ``jax.grad`` returns sign(w) — 0 at w = 0, the
    subgradient that lets exact zeros stay put — where ``jnp.abs`` would return 1 at 0.

    Args:
        params: pytree of arrays.
        mask: which leaves are penalised, as in :func:`resolve_mask` (``None``: every leaf).

    Returns:
        scalar (0.0 when no leaf is selected); the selected leaves are summed in tree order.
    """
    return sum((jnp.sum(w * jnp.sign(w)) for w in _selected(params, mask)), jnp.zeros(()))


def empirical_risk(per_example_losses: Array) -> Array:
    """R(θ) = (1/N) Σ_i L(y⁽ⁱ⁾, f(x⁽ⁱ⁾, θ)) (Qiu eq 47).

    Args:
        per_example_losses: (N,) losses, floating dtype, N ≥ 1.

    Returns:
        scalar mean.
    """
    check_ndim(per_example_losses, 1, "per_example_losses")
    if np.shape(per_example_losses)[0] == 0:
        raise ShapeError("per_example_losses is empty; got shape (0,)")
    return jnp.mean(per_example_losses)


def structural_risk(risk: Array, params: Any, lam: float, penalty: str = "l2",
                    mask: Mask = None) -> Array:
    """R(θ) + λ‖θ‖² (Qiu eq 49–50), or R(θ) + λ‖θ‖₁ with ``penalty="l1"``.

    As the notes write it: λ times the *squared* L2 norm, no ½ (``risk + 2·lam·l2_penalty``);
    θ is the leaves ``mask`` selects (the notes' weight matrices, not the biases).

    Args:
        risk: scalar empirical risk (e.g. from :func:`empirical_risk` or any loss above).
        params: parameter pytree.
        lam: regularisation strength λ ≥ 0.
        penalty: ``"l2"`` or ``"l1"``.
        mask: which leaves make θ, as in :func:`resolve_mask` (``None``: every leaf).

    Returns:
        scalar.
    """
    check_choice(penalty, ("l1", "l2"), "penalty")
    if not isinstance(lam, jax.core.Tracer):
        check_positive(lam, "lam", strict=False)
    if penalty == "l2":
        return risk + lam * 2.0 * l2_penalty(params, mask)
    return risk + lam * l1_penalty(params, mask)


# --------------------------------------------------------------------------- registry

_REGISTRY: dict[str, Callable[..., Array]] = {
    "squared_error": squared_error,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
    "nll": nll,
    "hinge": hinge,
    "zero_one": zero_one,
}

#: Names accepted by :func:`get`.
NAMES: tuple[str, ...] = tuple(_REGISTRY)


def get(name: str) -> Callable[..., Array]:
    """Look up a loss function by name.

    Args:
        name: one of :data:`NAMES`.

    Returns:
        the loss function (called as ``loss(prediction, target)``).

    Raises:
        JaxnnError: for an unknown name (the message lists the known ones).
    """
    check_choice(name, NAMES, "loss")
    return _REGISTRY[name]
