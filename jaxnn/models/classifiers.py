"""Text classifiers over word vectors: a bag of word vectors, Kim's CNN, an LSTM.

Qiu Xipeng, 《神经网络与深度学习》 (2015), the text-application slides: a document is a sequence
of word ids, each looked up as a row of the word-vector matrix C (|V| × m); the variable length
is fixed by padding and truncation to L positions with a mask (the first fix), and the sentence
vector is the mean or the max of its word vectors (the second fix), read by a classifier. Every
model here takes the same input, ``x = (ids (B, L) int32, mask (B, L) bool)`` (True = a real
token), and returns class logits (B, K); positions where the mask is False never change the
output (padding invariance), whatever id they hold.

- :class:`BagConfig` — bag of word vectors: s = masked mean (or max) of C[ids], then an MLP
  (:mod:`jaxnn.models.mlp`). With ``hidden=()`` and mean pooling it is fastText's linear model
  (Joulin et al. 2016, "Bag of Tricks for Efficient Text Classification"), whose bigram trick
  is ``bigrams=N``: every adjacent pair of real tokens (a, b) also gets a vector, row
  V + hash(a, b) mod N of C (the hashing trick); with hidden layers and ``word_dropout`` it is
  the deep averaging network (Iyyer et al. 2015, "Deep Unordered Composition Rivals Syntactic
  Methods for Text Classification"). :func:`bigram_tokens` is the vocabulary form instead
  (the pairs as words of their own, built before encoding).
- :class:`CNNConfig` — Kim 2014 ("Convolutional Neural Networks for Sentence
  Classification"), CNN-rand: for each filter width w (3, 4, 5) ``maps`` filters of shape
  (m, w) slide over the word vectors (:func:`jaxnn.nn.conv.conv`, wide convolution: Kim's
  w − 1 zero vectors on each side), ReLU, max over time, dropout, a softmax layer. Masked
  positions are zero vectors, and the max runs over the windows holding at least one real
  token, so trailing padding adds only windows that are skipped.
- :class:`LSTMConfig` — an LSTM (any cell of :mod:`jaxnn.nn.cells`) over the word vectors
  with the mask (:func:`jaxnn.nn.recurrent.rnn`: a padded step leaves the state unchanged),
  read out from the last valid state or the masked mean of the states.

Parameters: ``{"C": (V', m), ...}`` with V' = V (+ N bigram buckets); the bag's head is
``"mlp"`` (``{"layer1": {"W", "b"}, ...}``), the CNN's ``"conv"`` (one ``{"W": (F, m, w),
"b": (F,)}`` per width, keyed ``"w3"``, …) and ``"output"`` (``{"W": (K, F·len(widths)),
"b"}``), the LSTM's ``"rnn"`` (the cell's params) and ``"output"``. :func:`penalty_mask`
marks the weight matrices for weight decay (not C, not the biases).

API::

    config = BagConfig(vocab_size=V, num_classes=K, m=64, pool="mean")
    params = init(key, config)
    logits = apply(params, (ids, mask), config=config, key=None, train=False)   # (B, K)
    J = loss(params, (ids, mask, labels), config=config, key=key)              # scalar
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError, check_ndim
from jaxnn.models import _config as cfgcheck
from jaxnn.models import mlp
from jaxnn.nn import bag, cells, conv, layers, losses, recurrent
from jaxnn.nn.init import glorot_uniform

__all__ = ["BagConfig", "CNNConfig", "LSTMConfig", "init", "apply", "loss", "penalty_mask",
           "bigram_tokens", "hashed_bigrams", "check_inputs"]

Array = jax.Array
#: multipliers of the bigram hash (large odd numbers; the hash is taken modulo 2³²)
_HASH = (2654435761, 40503)


def _common_fields(config) -> None:
    cfgcheck.int_field(config, "vocab_size")
    cfgcheck.int_field(config, "num_classes", minimum=2)
    cfgcheck.int_field(config, "m")
    cfgcheck.float_field(config, "dropout", lo=0.0, hi=1.0, hi_open=True)
    cfgcheck.float_field(config, "word_dropout", lo=0.0, hi=1.0, hi_open=True)
    cfgcheck.float_field(config, "embed_scale", lo=0.0, lo_open=True)
    cfgcheck.dtype_field(config, "dtype")


@dataclasses.dataclass(frozen=True)
class BagConfig:
    """Bag of word vectors + MLP (frozen, hashable: a static ``jit`` argument).

    Attributes:
        vocab_size: V, ids lie in [0, V).
        num_classes: K ≥ 2.
        m: word-vector size.
        pool: ``"mean"`` or ``"max"`` (masked, :mod:`jaxnn.nn.bag`).
        hidden: widths of the MLP's hidden layers (``()``: a linear softmax on s).
        activation: hidden activation (a name of :mod:`jaxnn.nn.activations`).
        bigrams: N > 0 adds the hashed bigram of every adjacent pair of real tokens, N buckets
            (rows V … V + N − 1 of C); 0: unigrams only.
        dropout: probability of dropping a unit of s and of each hidden layer (training).
        word_dropout: probability of dropping a whole token (unigram or bigram) before pooling
            (Iyyer et al. 2015), training only.
        embed_scale: C starts N(0, embed_scale²).
        dtype: float dtype of the parameters.
    """

    vocab_size: int
    num_classes: int
    m: int = 64
    pool: str = "mean"
    hidden: tuple[int, ...] = ()
    activation: str = "relu"
    bigrams: int = 0
    dropout: float = 0.0
    word_dropout: float = 0.0
    embed_scale: float = 0.1
    dtype: Any = "float32"

    def __post_init__(self):
        _common_fields(self)
        cfgcheck.choice_field(self, "pool", ("mean", "max"))
        cfgcheck.int_field(self, "bigrams", minimum=0)
        cfgcheck.sizes_field(self, "hidden", min_len=0)
        cfgcheck.choice_field(self, "activation", mlp.act.NAMES)
        self.head

    @property
    def rows(self) -> int:
        """Rows of C: V plus the bigram buckets."""
        return self.vocab_size + self.bigrams

    @property
    def head(self) -> mlp.MLPConfig:
        """The MLP read-out s (m) → hidden → K logits."""
        return mlp.MLPConfig((self.m, *self.hidden, self.num_classes),
                             activation=self.activation, dropout=self.dropout,
                             dtype=self.dtype)


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    """Kim 2014's CNN over word vectors (frozen, hashable).

    Attributes:
        vocab_size, num_classes, m: as :class:`BagConfig`.
        widths: filter widths w (Kim: 3, 4, 5); each must be ≤ the padded length L.
        maps: feature maps F per width (Kim: 100).
        dropout: on the max-pooled features (Kim: 0.5).
        method: :func:`jaxnn.nn.conv.conv`'s ``method``. Default ``"auto"``, which on CPU
            takes the unfolded-window product (``"unfold"``): for one width of these layers
            (m = 64 maps in, 100 out, L = 60, w = 5, batch 50; gradient, CPU) it measured
            19 ms against ``"xla"``'s 314 ms and the Toeplitz product's 3.4 s.
        word_dropout, embed_scale, dtype: as :class:`BagConfig`.
    """

    vocab_size: int
    num_classes: int
    m: int = 64
    widths: tuple[int, ...] = (3, 4, 5)
    maps: int = 100
    dropout: float = 0.5
    method: str = "auto"
    word_dropout: float = 0.0
    embed_scale: float = 0.1
    dtype: Any = "float32"

    def __post_init__(self):
        _common_fields(self)
        cfgcheck.choice_field(self, "method", conv.METHODS)
        cfgcheck.sizes_field(self, "widths", min_len=1)
        cfgcheck.int_field(self, "maps")

    @property
    def features(self) -> int:
        return self.maps * len(self.widths)


@dataclasses.dataclass(frozen=True)
class LSTMConfig:
    """A recurrent classifier with the mask (frozen, hashable).

    Attributes:
        vocab_size, num_classes, m: as :class:`BagConfig`.
        hidden_size: H.
        cell: a registered cell name of :mod:`jaxnn.nn.cells` (``"lstm"``, ``"gru"``, …).
        readout: ``"last"`` (the last valid state) or ``"mean"`` (masked mean of the states).
        dropout: on the word vectors and on the read-out state (training).
        word_dropout, embed_scale, dtype: as :class:`BagConfig`.
    """

    vocab_size: int
    num_classes: int
    m: int = 64
    hidden_size: int = 64
    cell: str = "lstm"
    readout: str = "last"
    dropout: float = 0.0
    word_dropout: float = 0.0
    embed_scale: float = 0.1
    dtype: Any = "float32"

    def __post_init__(self):
        _common_fields(self)
        cfgcheck.int_field(self, "hidden_size")
        cfgcheck.choice_field(self, "cell", cells.NAMES)
        cfgcheck.choice_field(self, "readout", ("last", "mean"))


CONFIGS = (BagConfig, CNNConfig, LSTMConfig)


def _check_config(config) -> None:
    if not isinstance(config, CONFIGS):
        raise JaxnnError(f"config must be a BagConfig, CNNConfig or LSTMConfig; got "
                         f"{type(config).__name__}")


# --------------------------------------------------------------------------- input helpers


def check_inputs(x: Any, config) -> tuple[Array, Array]:
    """Validate ``x = (ids (B, L), mask (B, L))``; return them as arrays.

    Raises:
        ShapeError: ids not 2-D, or mask not of ids' shape.
        JaxnnError: ids not integers, mask not bool, or (concrete) ids outside [0, V) — the
            message names the offending id; CNN filter widths longer than L.
    """
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise JaxnnError("x must be the pair (ids (B, L) int, mask (B, L) bool)")
    ids, mask = x
    check_ndim(ids, 2, "ids (B, L)")
    if np.shape(mask) != np.shape(ids):
        raise ShapeError(f"mask must have the shape of ids {tuple(np.shape(ids))}; got "
                         f"{tuple(np.shape(mask))}")
    if not jnp.issubdtype(jnp.result_type(ids), jnp.integer):
        raise JaxnnError(f"ids must be integers; got dtype {jnp.result_type(ids)}")
    if jnp.result_type(mask) != jnp.bool_:
        raise JaxnnError(f"mask must be bool; got dtype {jnp.result_type(mask)}")
    if not isinstance(ids, jax.core.Tracer):
        a = np.asarray(ids)
        bad = a[(a < 0) | (a >= config.vocab_size)]
        if bad.size:
            raise JaxnnError(f"token id {int(bad.flat[0])} is outside the vocabulary "
                             f"[0, {config.vocab_size}) (vocab_size={config.vocab_size})")
    if isinstance(config, CNNConfig) and max(config.widths) > np.shape(ids)[1]:
        raise ShapeError(f"filter width {max(config.widths)} is longer than the padded "
                         f"length L = {np.shape(ids)[1]}; pad to at least that length")
    return jnp.asarray(ids), jnp.asarray(mask)


def hashed_bigrams(ids: Array, mask: Array, vocab_size: int, buckets: int
                   ) -> tuple[Array, Array]:
    """Hashed ids of the adjacent pairs, rows V … V + N − 1 of C (fastText's bigram trick).

    Args:
        ids: (B, L) int token ids. mask: (B, L) bool. vocab_size: V. buckets: N ≥ 1.

    Returns:
        ``(bigram_ids (B, L − 1) int32, bigram_mask (B, L − 1) bool)``: pair t is
        (ids[t], ids[t+1]), real when both tokens are.
    """
    if not cfgcheck.is_int(buckets) or buckets < 1:
        raise JaxnnError(f"buckets must be an integer >= 1; got {buckets!r}")
    a = ids[:, :-1].astype(jnp.uint32)
    b = ids[:, 1:].astype(jnp.uint32)
    h = a * jnp.uint32(_HASH[0]) + b * jnp.uint32(_HASH[1])
    h = (h ^ (h >> jnp.uint32(15))) % jnp.uint32(buckets)
    return (h.astype(jnp.int32) + jnp.int32(vocab_size)), mask[:, :-1] & mask[:, 1:]


def bigram_tokens(tokens: list[str], sep: str = " ") -> list[str]:
    """The tokens followed by their adjacent pairs as tokens of their own (vocabulary bigrams).

    Args:
        tokens: one document's tokens. sep: joins a pair (``["a", "b"]`` → ``"a b"``).

    Returns:
        ``tokens + [t0 sep t1, t1 sep t2, …]`` (length 2n − 1 for n ≥ 1 tokens).
    """
    return list(tokens) + [f"{a}{sep}{b}" for a, b in zip(tokens[:-1], tokens[1:])]


def _word_dropout(mask: Array, rate: float, key, train: bool) -> Array:
    if not train or rate == 0.0:
        return mask
    return mask & jax.random.bernoulli(key, 1.0 - rate, mask.shape)


def _vectors(C: Array, ids: Array, mask: Array) -> Array:
    """C[ids] with masked positions set to zero vectors: (B, L, m)."""
    v = jnp.take(C, ids, axis=0)
    return jnp.where(mask[..., None], v, jnp.zeros((), v.dtype))


# --------------------------------------------------------------------------- init


def init(key: Array, config) -> dict:
    """Parameters of the classifier ``config`` describes.

    Args:
        key: PRNG key.
        config: :class:`BagConfig`, :class:`CNNConfig` or :class:`LSTMConfig`.

    Returns:
        ``{"C": (V', m), ...}`` as the module docstring lists; biases zero.
    """
    _check_config(config)
    dt = jnp.dtype(config.dtype)
    k_C, k_body, k_out = jax.random.split(key, 3)
    rows = config.rows if isinstance(config, BagConfig) else config.vocab_size
    params = {"C": config.embed_scale * jax.random.normal(k_C, (rows, config.m), dt)}
    K = config.num_classes
    if isinstance(config, BagConfig):
        params["mlp"] = mlp.init(k_body, config.head)
        return params
    if isinstance(config, CNNConfig):
        keys = jax.random.split(k_body, len(config.widths))
        params["conv"] = {f"w{w}": conv.init_conv(k, config.m, config.maps, (w,), scale=None,
                                                  dtype=dt)
                          for k, w in zip(keys, config.widths)}
        F = config.features
    else:
        params["rnn"] = jax.tree.map(lambda a: a.astype(dt), recurrent.init(
            k_body, config.cell, config.m, config.hidden_size))
        F = config.hidden_size
    params["output"] = {"W": glorot_uniform(k_out, (K, F), dt), "b": jnp.zeros((K,), dt)}
    return params


def penalty_mask(config) -> dict:
    """Which leaves weight decay touches: the weight matrices/filters; not C, not biases.

    Returns:
        a bool pytree with the structure of :func:`init`'s params.
    """
    _check_config(config)
    mask: dict = {"C": False}
    if isinstance(config, BagConfig):
        mask["mlp"] = mlp.penalty_mask(config.head)
        return mask
    if isinstance(config, CNNConfig):
        mask["conv"] = {f"w{w}": {"W": True, "b": False} for w in config.widths}
    else:
        shapes = cells.get(config.cell).param_shapes(config.m, config.hidden_size)
        mask["rnn"] = {name: len(shape) == 2 for name, shape in shapes.items()}
    mask["output"] = {"W": True, "b": False}
    return mask


# --------------------------------------------------------------------------- forward


def _features(params: dict, ids: Array, mask: Array, config, keys, train: bool) -> Array:
    """The representation the output layer reads: s (B, m) for the bag, (B, F) else."""
    C = params["C"]
    if isinstance(config, BagConfig):
        if config.bigrams:
            b_ids, b_mask = hashed_bigrams(ids, mask, config.vocab_size, config.bigrams)
            ids = jnp.concatenate([ids, b_ids], axis=1)
            mask = jnp.concatenate([mask, b_mask], axis=1)
        mask = _word_dropout(mask, config.word_dropout, keys[0], train)
        pool = bag.masked_mean if config.pool == "mean" else bag.masked_max
        return pool(jnp.take(C, ids, axis=0), mask)
    mask = _word_dropout(mask, config.word_dropout, keys[0], train)
    v = _vectors(C, ids, mask)                                        # (B, L, m)
    if isinstance(config, CNNConfig):
        pooled = []
        for w in config.widths:
            p = params["conv"][f"w{w}"]
            z = conv.conv(v, p["W"], p["b"], padding="full", kind="correlation",
                          channels_last=True, method=config.method)                         # (B, L + w − 1, F)
            # window j covers positions j − w + 1 … j; it counts when one of them is real
            padded = jnp.pad(mask, ((0, 0), (w - 1, w - 1)))
            windows = jnp.stack([padded[:, k:k + z.shape[1]] for k in range(w)], axis=0)
            pooled.append(bag.masked_max(jax.nn.relu(z), jnp.any(windows, axis=0)))
        return jnp.concatenate(pooled, axis=1)
    v = layers.dropout(v, config.dropout, key=keys[2], train=train)
    cell = cells.get(config.cell)
    hs, state = recurrent.rnn(params["rnn"], v, cell=cell, mask=mask)
    if config.readout == "last":
        return cell.output(state)
    return bag.masked_mean(hs, mask)


def apply(params: dict, x: tuple[Array, Array], *, config, key: Array | None = None,
          train: bool = False) -> Array:
    """Class logits of a batch of padded documents.

    Args:
        params: from :func:`init` with the same ``config``.
        x: ``(ids (B, L) int, mask (B, L) bool)``; ids in [0, V) (checked when concrete),
            True marks real tokens (any pattern; masked ids are never read into the output).
        config: :class:`BagConfig`, :class:`CNNConfig` or :class:`LSTMConfig`.
        key: PRNG key, needed when ``train`` and a dropout rate is > 0.
        train: apply (word) dropout.

    Returns:
        (B, K) logits, dtype of the parameters. An all-masked row gives the logits of a zero
        representation (the masked mean and max of nothing are 0).

    Raises:
        JaxnnError / ShapeError: see :func:`check_inputs`; dropout in training without a key.
    """
    _check_config(config)
    ids, mask = check_inputs(x, config)
    cfgcheck.check_params(params, init, config)
    drop = train and (config.dropout > 0 or config.word_dropout > 0)
    if drop and key is None:
        raise JaxnnError("dropout with train=True needs a PRNG key; got key=None")
    keys = jax.random.split(key, 4) if drop else (None,) * 4
    h = _features(params, ids, mask, config, keys, drop)
    if isinstance(config, BagConfig):
        h = layers.dropout(h, config.dropout, key=keys[1], train=drop)
        return mlp.apply(params["mlp"], h, config=config.head, key=keys[3], train=drop)
    h = layers.dropout(h, config.dropout, key=keys[1], train=drop)
    return layers.dense(params["output"], h)


def loss(params: dict, batch: tuple, *, config, key: Array | None = None) -> Array:
    """Batch-mean softmax cross-entropy (Qiu eq 56) of the logits.

    Args:
        params: from :func:`init`.
        batch: ``(ids (B, L), mask (B, L), labels (B,) int in [0, K))``.
        config: the model's config.
        key: PRNG key: given (training), dropout is applied; ``None`` (evaluation) disables it.

    Returns:
        scalar, dtype of the parameters. Weight decay is the optimizer's
        (``jaxnn.optim.l2(λ, penalty_mask(config))``).
    """
    if not isinstance(batch, (tuple, list)) or len(batch) != 3:
        raise JaxnnError("batch must be (ids (B, L), mask (B, L), labels (B,))")
    ids, mask, y = batch
    if np.shape(y) != np.shape(ids)[:1]:
        raise ShapeError(f"labels must have shape ({np.shape(ids)[0]},) to match ids "
                         f"{tuple(np.shape(ids))}; got {tuple(np.shape(y))}")
    logits = apply(params, (ids, mask), config=config, key=key, train=key is not None)
    return losses.cross_entropy(logits, y)
