"""Classification metrics: accuracy, per-class precision / recall / F1, confusion matrix.

Source: Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 105 (accuracy), 107 (precision); recall and
the F value are described in words on the same slide. For class c, with ŷ the predictions:

    P_c = #{i : ŷ_i = c and y_i = c} / #{i : ŷ_i = c}
    R_c = #{i : ŷ_i = c and y_i = c} / #{i : y_i = c}
    F1_c = 2 P_c R_c / (P_c + R_c)

Slip in the notes: eq 107's numerator is written Σ_i I(y_i = ŷ_i) over *all* i — every correct
prediction of any class; it must be restricted to ŷ_i = c (the true positives of c), as above.

Empty denominators (a class never predicted, or absent from the labels) give 0, as
scikit-learn's ``zero_division=0``. Macro averages are the unweighted means over all
``num_classes`` classes (scikit-learn's ``average="macro"`` with ``labels=range(C)``).

All functions are jit-compatible (``num_classes`` must be static); concrete labels are
validated to lie in [0, C).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError, check_finite, check_labels, check_positive

Array = jax.Array


def _as_predictions(y_pred_or_logits: Array, labels: Array) -> Array:
    """Class indices from either indices (shape of ``labels``) or scores (labels.shape + (C,))."""
    if y_pred_or_logits is None or labels is None:
        raise JaxnnError("accuracy needs predictions (or scores) and labels; got None")
    ps, ls = tuple(np.shape(y_pred_or_logits)), tuple(np.shape(labels))
    if not np.prod(ls, dtype=int):
        raise ShapeError(f"accuracy needs at least one example; got labels of shape {ls}")
    if ps == ls:
        return y_pred_or_logits
    if len(ps) == len(ls) + 1 and ps[:-1] == ls:
        check_finite(y_pred_or_logits, "scores")
        check_labels(labels, ps[-1])
        return jnp.argmax(y_pred_or_logits, axis=-1)
    raise ShapeError(
        f"predictions must have the labels' shape {ls} (class indices) or {ls + ('C',)} "
        f"(scores/logits); got {ps}"
    )


def accuracy(y_pred_or_logits: Array, labels: Array) -> Array:
    """Acc = (1/N) Σ_i I(y_i = ŷ_i) (Qiu eq 105).

    Args:
        y_pred_or_logits: predicted class indices of the labels' shape, or scores/logits/
            probabilities of shape ``labels.shape + (C,)`` (argmax taken over the last axis).
        labels: true class indices, any shape (usually (N,)), integer dtype.

    Returns:
        scalar float32 in [0, 1]. The error rate is ``1 − accuracy``.
    """
    pred = _as_predictions(y_pred_or_logits, labels)
    return jnp.mean((pred == labels).astype(jnp.float32))


def _checked(pred: Array, labels: Array, num_classes: int) -> None:
    if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool):
        raise JaxnnError(f"num_classes must be an integer; got {num_classes!r}")
    check_positive(num_classes, "num_classes")
    if np.size(labels) == 0:
        raise ShapeError("metrics need at least one example; got empty labels")
    if np.shape(pred) != np.shape(labels):
        raise ShapeError(
            f"pred and labels must have the same shape; got {tuple(np.shape(pred))} and "
            f"{tuple(np.shape(labels))}"
        )
    check_labels(pred, num_classes, "pred")
    check_labels(labels, num_classes, "labels")


def confusion_matrix(pred: Array, labels: Array, num_classes: int) -> Array:
    """Counts M[i, j] = #{samples with true class i predicted as j} (scikit-learn's layout).

    Args:
        pred: predicted class indices, any shape, integer dtype, in [0, C).
        labels: true class indices, same shape as ``pred``, in [0, C).
        num_classes: C (static under jit).

    Returns:
        (C, C) int32 matrix; rows = true class, columns = predicted class; sums to N.
    """
    _checked(pred, labels, num_classes)
    flat = labels.ravel().astype(jnp.int32) * num_classes + pred.ravel().astype(jnp.int32)
    counts = jnp.zeros((num_classes * num_classes,), jnp.int32).at[flat].add(1)
    return counts.reshape(num_classes, num_classes)


class PrecisionRecallF1(NamedTuple):
    """Per-class arrays of shape (C,) and their unweighted (macro) means, all float32."""

    precision: Array
    recall: Array
    f1: Array
    macro_precision: Array
    macro_recall: Array
    macro_f1: Array


def _safe_div(num: Array, den: Array) -> Array:
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1), 0.0)


def precision_recall_f1(pred: Array, labels: Array, num_classes: int) -> PrecisionRecallF1:
    """Per-class precision (Qiu eq 107, corrected), recall, F1, and their macro averages.

    Args:
        pred: predicted class indices, any shape, integer dtype, in [0, C).
        labels: true class indices, same shape, in [0, C).
        num_classes: C (static under jit).

    Returns:
        :class:`PrecisionRecallF1` with ``precision``, ``recall``, ``f1`` of shape (C,) and the
        scalars ``macro_precision``, ``macro_recall``, ``macro_f1`` (means over all C classes;
        ``macro_f1`` is the mean of per-class F1, not the F1 of the macro P and R).
    """
    cm = confusion_matrix(pred, labels, num_classes).astype(jnp.float32)
    tp = jnp.diagonal(cm)
    precision = _safe_div(tp, jnp.sum(cm, axis=0))  # column sums: predicted as c
    recall = _safe_div(tp, jnp.sum(cm, axis=1))  # row sums: truly c
    f1 = _safe_div(2.0 * precision * recall, precision + recall)
    return PrecisionRecallF1(precision, recall, f1, jnp.mean(precision), jnp.mean(recall),
                             jnp.mean(f1))


def perplexity(logp) -> float:
    """Perplexity exp(−mean ln p) of a language model over every scored token.

    Args:
        logp: (T,) (any shape) natural-log probabilities ln p(w_t | history), T ≥ 1, one per token
            of the split — unknown-word symbols included, so every model is counted the same way.

    Returns:
        Python float ≥ 1 (inf if some token had probability 0).
    """
    from jaxnn.errors import JaxnnError  # local: keeps this appended block self-contained

    try:
        a = np.asarray(logp, dtype=np.float64)
    except (TypeError, ValueError):
        raise JaxnnError(f"logp must be an array of log-probabilities; got {logp!r:.40}") from None
    if a.size == 0:
        raise ShapeError("perplexity needs at least one log-probability; got an empty array")
    if np.isnan(a).any() or (a > 1e-12).any():
        finite = a[~np.isnan(a)]
        largest = f"max {float(finite.max())!r}" if finite.size else "only NaN"
        raise JaxnnError(f"logp must be log-probabilities ≤ 0; got {largest}"
                         f" ({int(np.isnan(a).sum())} NaN)")
    return float(np.exp(-np.mean(a)))


def nearest_neighbours(C, ids, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of a word-vector matrix by cosine similarity, the word excluded.

    cos(u, v) = u·v / (‖u‖ ‖v‖); a zero row has similarity 0 with everything.

    Args:
        C: (V, m) word vectors (row i is word i), numpy or JAX.
        ids: (Q,) integer ids in [0, V) of the query words (a scalar is taken as one query).
        k: neighbours per query, 1 ≤ k ≤ V − 1.

    Returns:
        ``(neighbours (Q, k) int64, similarities (Q, k) float64)``, most similar first (ties to
        the smaller id); the query word itself is never among its neighbours.

    Raises:
        ShapeError: C not 2-D.
        JaxnnError: ids outside [0, V) (naming the id) or k outside [1, V − 1].
    """
    from jaxnn.errors import JaxnnError  # local: keeps this appended block self-contained

    E = np.asarray(C, dtype=np.float64)
    if E.ndim != 2:
        raise ShapeError(f"C must be a (V, m) matrix; got shape {E.shape}")
    if not np.all(np.isfinite(E)):
        raise JaxnnError("C contains non-finite values (NaN or inf)")
    V = E.shape[0]
    q = np.asarray(ids).reshape(-1)
    if q.size and not np.issubdtype(q.dtype, np.integer):
        raise JaxnnError(f"ids must be integers; got dtype {q.dtype}")
    q = q.astype(np.int64)
    bad = q[(q < 0) | (q >= V)]
    if bad.size:
        raise JaxnnError(f"ids must lie in [0, {V}); got id {int(bad[0])}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= V - 1:
        raise JaxnnError(f"k must be an integer in [1, {V - 1}]; got {k!r}")
    norms = np.linalg.norm(E, axis=1)
    unit = E / np.where(norms > 0, norms, 1.0)[:, None]
    sims = unit[q] @ unit.T  # (Q, V)
    sims[np.arange(q.size), q] = -np.inf
    order = np.lexsort((np.broadcast_to(np.arange(V), sims.shape), -sims), axis=1)[:, :k]
    return order, np.take_along_axis(sims, order, axis=1)
