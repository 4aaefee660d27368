"""A sentence vector from its word vectors: the masked mean and the masked max.

The notes' second fix for variable-length text (Qiu Xipeng, 《神经网络与深度学习》 (2015),
text applications): after the lookup x_1 … x_L of a padded sentence, summarise it by one
fixed-size vector, the mean (1/n) Σ_{t real} x_t (a "bag of word vectors"; Iyyer et al. 2015
average before their deep network) or the coordinate-wise max, max_{t real} x_t (Kim 2014
takes the max over time of convolution features). Padded positions (mask False) never
contribute.

**All-masked rows** (an empty sentence): the mean and the max are both 0 (a zero vector,
no NaN), and their gradients with respect to ``vectors`` are 0.

**Gradients.** The mean gives each real position 1/n of the upstream gradient, padded ones 0.
The max sends the upstream gradient of each coordinate to one position only, the arg-max
(the first one among ties, as ``jnp.argmax``), unlike ``jnp.max``, which splits it among tied
positions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError

__all__ = ["masked_mean", "masked_max"]

Array = jax.Array


def _check(vectors, mask) -> Array:
    if np.ndim(vectors) < 2:
        raise ShapeError(f"vectors must be (..., L, d); got shape {tuple(np.shape(vectors))}")
    if tuple(np.shape(mask)) != tuple(np.shape(vectors))[:-1]:
        raise ShapeError(f"mask must have shape vectors.shape[:-1] = "
                         f"{tuple(np.shape(vectors))[:-1]}; got {tuple(np.shape(mask))}")
    if jnp.result_type(mask) != jnp.bool_:
        raise JaxnnError(f"mask must be a bool array (True = real token); got dtype "
                         f"{jnp.result_type(mask)}")
    return jnp.asarray(mask)


def masked_mean(vectors: Array, mask: Array) -> Array:
    """Mean of the word vectors at the real (mask True) positions.

    Args:
        vectors: (..., L, d) float array, the word vectors of each sentence.
        mask: (..., L) bool, True at real tokens (e.g. from :func:`jaxnn.data.text.pad_truncate`).

    Returns:
        (..., d): Σ_t mask_t x_t / max(n, 1), n = Σ_t mask_t (0 for an all-masked row).

    Raises:
        ShapeError: vectors has fewer than 2 axes or mask's shape is not vectors.shape[:-1].
    """
    m = _check(vectors, mask)
    w = m[..., None].astype(vectors.dtype)  # (..., L, 1)
    total = jnp.sum(vectors * w, axis=-2)  # (..., d)
    n = jnp.sum(w, axis=-2)  # (..., 1)
    return total / jnp.maximum(n, 1.0)


def masked_max(vectors: Array, mask: Array) -> Array:
    """Coordinate-wise max of the word vectors at the real (mask True) positions.

    Args:
        vectors: (..., L, d) float array.
        mask: (..., L) bool, True at real tokens.

    Returns:
        (..., d): max over real t of x_t, per coordinate; 0 for an all-masked row. The
        gradient goes to the (first) arg-max position of each coordinate only.

    Raises:
        ShapeError: as :func:`masked_mean`.
    """
    m = _check(vectors, mask)
    scores = jnp.where(m[..., None], jax.lax.stop_gradient(vectors), -jnp.inf)  # (..., L, d)
    idx = jnp.argmax(scores, axis=-2)  # (..., d), first among ties; 0 if all masked
    picked = jnp.take_along_axis(vectors, idx[..., None, :], axis=-2)[..., 0, :]  # (..., d)
    return jnp.where(jnp.any(m, axis=-1)[..., None], picked, jnp.zeros_like(picked))
