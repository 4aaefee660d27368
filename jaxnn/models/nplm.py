"""The fixed-window neural probabilistic language model (Bengio, Ducharme, Vincent & Jauvin 2003).

Bengio et al., "A Neural Probabilistic Language Model", JMLR 3 (2003), eq (1): the probability
of word w_t given its n − 1 predecessors is the softmax of

    y = b + W·x + U·tanh(d + H·x),

where x = (C(w_{t−1}), C(w_{t−2}), …, C(w_{t−n+1})) is the concatenation of the n − 1 rows of
the shared word-vector matrix C (|V| × m) — one lookup table for every position of the window —
H (h × (n−1)m) and d (h,) the hidden layer, U (|V| × h) and b (|V|,) the output layer and W
(|V| × (n−1)m) the optional direct connections from the word vectors to the output (zero in the
paper's MLP9 and other "no direct connections" rows of Table 1). Qiu Xipeng,
《神经网络与深度学习》 (2015), the text-application slides of the last chapter (the feedforward
language model: a window of n − 1 words, a shared lookup matrix, concatenation, a hidden layer,
a softmax over the vocabulary, the next word predicted) describe the same network.

Layout here: ``contexts`` (B, n − 1) holds the history *oldest first* (as
:func:`jaxnn.data.text.windows` returns it: ``ids[t-n+1:t]``), so x is the rows of C in
reading order; the paper's order (newest first) is a fixed permutation of H's and W's columns
and changes nothing. Parameters::

    {"C": (V, m), "hidden": {"H": (h, (n-1)m), "d": (h,)}, "output": {"U": (V, h), "b": (V,)},
     "direct": {"W": (V, (n-1)m)}}            # "direct" only with NPLMConfig.direct

The loss is the mean negative log-likelihood in nats through a stable log-softmax. Weight
decay: the JMLR text (§2, after eq (2)) says its R(θ) is "a weight decay penalty applied only to
the weights of the neural network and to the C matrix, not to the biases"; the text issue asks
for decay on the weights H, U, W and not on the word vectors. :func:`penalty_mask` gives the
issue's choice by default and the paper's with ``decay_C=True``.

Speed: at |V| ≈ 18k the (B, V) output layer is nearly all the cost. :func:`apply` forms the
logits with one matmul of the features [x; tanh(d + H·x)] against [W U] (so the forward and
backward passes each make one (B, V) product instead of two plus a sum), and :func:`loss`'s
custom VJP makes the backward pass from the one (B, V) array δ = softmax(y) − onehot(t) (the
closed-form gradient of the softmax cross-entropy), so no other (B, V) temporary is kept.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError, check_labels, check_ndim
from jaxnn.models import _config as cfgcheck
from jaxnn.nn.layers import dense, dropout, embedding
from jaxnn.nn.softmax_nll import softmax_nll, vocab_logits

Array = jax.Array
Params = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class NPLMConfig:
    """Static choices of the NPLM (frozen and hashable: a ``jit`` static argument).

    Attributes:
        vocab_size: |V| ≥ 2, the rows of C and U.
        n: the model's order: n − 1 ≥ 1 words of history.
        m: word-vector width (columns of C).
        h: hidden units (0 allowed: then y = b + W·x, a log-linear model, needs ``direct``).
        direct: the direct connections W from x to the output.
        c_scale: C starts uniform in (−c_scale, c_scale).
        weight_scale: H, U and W start uniform in ±weight_scale/√fan_in (biases at 0).
        dropout: probability of dropping each entry of x (the word vectors, so also W's
            input) and of the hidden activation a while training; 0, the paper's model, is the
            default. Not in Bengio et al. 2003: a regulariser for when the model overfits.
        dtype: floating dtype of the parameters (stored as its name).
    """

    vocab_size: int
    n: int = 5
    m: int = 60
    h: int = 50
    direct: bool = True
    c_scale: float = 0.1
    weight_scale: float = 1.0
    dropout: float = 0.0
    dtype: Any = "float32"

    def __post_init__(self):
        cfgcheck.int_field(self, "vocab_size", minimum=2)
        cfgcheck.int_field(self, "n", minimum=2)
        cfgcheck.int_field(self, "m", minimum=1)
        cfgcheck.int_field(self, "h", minimum=0)
        if not isinstance(self.direct, (bool, np.bool_)):
            raise JaxnnError(f"NPLMConfig.direct must be a bool; got {self.direct!r}")
        cfgcheck.set_field(self, "direct", bool(self.direct))
        if self.h == 0 and not self.direct:
            raise JaxnnError("NPLMConfig with h=0 needs direct=True (else y = b only)")
        cfgcheck.float_field(self, "c_scale", lo=0.0, lo_open=True)
        cfgcheck.float_field(self, "weight_scale", lo=0.0)
        cfgcheck.float_field(self, "dropout", lo=0.0, hi=1.0, hi_open=True)
        cfgcheck.dtype_field(self, "dtype")

    @property
    def context(self) -> int:
        """n − 1, the words of history."""
        return self.n - 1

    @property
    def features(self) -> int:
        """(n − 1)·m, the width of x."""
        return self.context * self.m


def mlp1(vocab_size: int, **overrides: Any) -> NPLMConfig:
    """The paper's MLP1 (Table 1): n = 5, h = 50, m = 60, direct connections."""
    return NPLMConfig(vocab_size, **{"n": 5, "h": 50, "m": 60, "direct": True, **overrides})


def mlp9(vocab_size: int, **overrides: Any) -> NPLMConfig:
    """The paper's MLP9 (Table 1): n = 5, h = 100, m = 30, no direct connections."""
    return NPLMConfig(vocab_size, **{"n": 5, "h": 100, "m": 30, "direct": False, **overrides})


def _shapes(config: NPLMConfig) -> dict[str, Any]:
    V, m, h, F = config.vocab_size, config.m, config.h, config.features
    s: dict[str, Any] = {"C": (V, m), "hidden": {"H": (h, F), "d": (h,)},
                         "output": {"U": (V, h), "b": (V,)}}
    if config.direct:
        s["direct"] = {"W": (V, F)}
    return s


def penalty_mask(config: NPLMConfig, *, decay_C: bool = False) -> dict[str, Any]:
    """Which leaves weight decay penalises: H, U and W (and C with ``decay_C``); never d or b.

    Args:
        config: :class:`NPLMConfig`.
        decay_C: also decay the word vectors C (the JMLR text's R(θ); the default leaves
            them out, as the text issue asks).

    Returns:
        a bool pytree with the structure of :func:`init`'s params, for
        ``jaxnn.optim.l2(λ, mask)`` and ``jaxnn.nn.losses.l2_penalty``.
    """
    mask: dict[str, Any] = {"C": bool(decay_C), "hidden": {"H": True, "d": False},
                            "output": {"U": True, "b": False}}
    if config.direct:
        mask["direct"] = {"W": True}
    return mask


def init(key: Array, config: NPLMConfig) -> Params:
    """Initialise the NPLM.

    Args:
        key: a ``jax.random`` key.
        config: :class:`NPLMConfig`.

    Returns:
        ``{"C": (V, m), "hidden": {"H": (h, (n-1)m), "d": (h,)}, "output": {"U": (V, h),
        "b": (V,)}, ["direct": {"W": (V, (n-1)m)}]}``; C uniform ±c_scale, H, U, W uniform
        ±weight_scale/√fan_in, d and b zeros.
    """
    cfgcheck.require_config(config, NPLMConfig, "nplm.init")
    dt = jnp.dtype(config.dtype)
    kC, kH, kU, kW = jax.random.split(key, 4)

    def weight(k, shape):
        lim = config.weight_scale / np.sqrt(max(shape[1], 1))
        return jax.random.uniform(k, shape, dt, -lim, lim)

    V, m, h, F = config.vocab_size, config.m, config.h, config.features
    params: Params = {
        "C": jax.random.uniform(kC, (V, m), dt, -config.c_scale, config.c_scale),
        "hidden": {"H": weight(kH, (h, F)), "d": jnp.zeros((h,), dt)},
        "output": {"U": weight(kU, (V, h)), "b": jnp.zeros((V,), dt)},
    }
    if config.direct:
        params["direct"] = {"W": weight(kW, (V, F))}
    return params


def _check_params(params: Params, config: NPLMConfig) -> None:
    want = _shapes(config)
    got = jax.tree.map(lambda x: tuple(np.shape(x)), params)
    if not isinstance(params, dict) or got != want:
        raise ShapeError(f"params must have the shapes {want} for {config}; got {got}")


def _check_contexts(contexts: Any, config: NPLMConfig) -> None:
    check_ndim(contexts, 2, "contexts")
    if np.shape(contexts)[1] != config.context:
        raise ShapeError(f"contexts must be (B, n-1) = (B, {config.context}); got "
                         f"{tuple(np.shape(contexts))}")


def features(params: Params, contexts: Array, *, config: NPLMConfig, key: Array | None = None,
             train: bool = False) -> tuple[Array, Array]:
    """x and the hidden activation a = tanh(d + H·x), each after dropout when training.

    Args:
        params: from :func:`init`.
        contexts: (B, n − 1) integer word ids, oldest first, in [0, V).
        config: :class:`NPLMConfig`.
        key: PRNG key, needed when ``train`` and ``config.dropout > 0``.
        train: apply ``config.dropout`` to x and to a (inverted dropout: nothing to rescale at
            evaluation).

    Returns:
        ``(x, a)``: x (B, (n−1)m) the concatenated rows of C, a (B, h).

    Raises:
        JaxnnError: ``train`` with ``config.dropout > 0`` and no key.
    """
    _check_params(params, config)
    _check_contexts(contexts, config)
    rate = float(config.dropout)
    drop = train and rate > 0.0
    if drop and key is None:
        raise JaxnnError("train=True with NPLMConfig.dropout > 0 needs a PRNG key; got "
                         "key=None")
    kx, ka = jax.random.split(key) if drop else (None, None)
    B = np.shape(contexts)[0]
    x = embedding(params["C"], contexts).reshape(B, config.features)
    x = dropout(x, rate, key=kx, train=drop)
    a = jnp.tanh(dense({"W": params["hidden"]["H"], "b": params["hidden"]["d"]}, x))
    return x, dropout(a, rate, key=ka, train=drop)


def _output(params: Params, x: Array, a: Array, config: NPLMConfig) -> Array:
    """y = b + W·x + U·a as one matmul [x; a]·[W U]ᵀ (one (B, V) product, not two)."""
    out = params["output"]
    if not config.direct:
        return vocab_logits(a, out["U"], out["b"])
    WU = jnp.concatenate([params["direct"]["W"], out["U"]], axis=1)
    return vocab_logits(jnp.concatenate([x, a], axis=1), WU, out["b"])


def apply(params: Params, contexts: Array, *, config: NPLMConfig, key: Array | None = None,
          train: bool = False) -> Array:
    """Logits y = b + W·x + U·tanh(d + H·x) (Bengio et al. 2003, eq (1)) for a batch.

    Args:
        params: from :func:`init`.
        contexts: (B, n − 1) integer word ids, oldest first, in [0, V).
        config: :class:`NPLMConfig`.
        key, train: dropout (see :func:`features`); without ``train`` the key is unused.

    Returns:
        (B, V) logits, dtype of the parameters; softmax over the last axis is
        P(w_t = i | context).

    Raises:
        ShapeError: params that do not fit ``config``, contexts not (B, n − 1).
        JaxnnError: (concrete) ids outside [0, V); ``train`` with dropout and no key.
    """
    x, a = features(params, contexts, config=config, key=key, train=train)
    return _output(params, x, a, config)


# --------------------------------------------------------------------------- loss


def _check_targets(contexts: Any, targets: Any, vocab_size: int) -> None:
    check_ndim(targets, 1, "targets")
    if np.shape(targets)[0] != np.shape(contexts)[0]:
        raise ShapeError(f"contexts and targets must share the batch size; got "
                         f"{tuple(np.shape(contexts))} and {tuple(np.shape(targets))}")
    if not jnp.issubdtype(jnp.result_type(targets), jnp.integer):
        raise JaxnnError(f"targets must be integer ids; got dtype {jnp.result_type(targets)}")
    check_labels(targets, vocab_size, "targets")


def loss(params: Params, batch: tuple[Array, Array], *, config: NPLMConfig,
         key: Array | None = None, train: bool = True) -> Array:
    """Mean negative log-likelihood −(1/B) Σᵢ ln P(tᵢ | contextᵢ), in nats.

    The data term only: weight decay belongs in the optimizer chain
    (``jaxnn.optim.l2(λ, penalty_mask(config))``). The gradient with respect to the logits is
    the closed form (softmax(y) − onehot(t))/B (custom VJP, checked against autodiff).

    Args:
        params: from :func:`init`.
        batch: ``(contexts (B, n − 1) int, targets (B,) int)``, ids in [0, V).
        config: :class:`NPLMConfig`.
        key: PRNG key for dropout; needed only when ``config.dropout > 0`` and ``train``.
        train: dropout on (the default for a training loss; it changes nothing at
            ``config.dropout == 0``).

    Returns:
        scalar, dtype of the parameters.
    """
    contexts, targets = batch
    _check_targets(contexts, targets, config.vocab_size)
    return softmax_nll(apply(params, contexts, config=config, key=key, train=train), targets)


def logprob(params: Params, contexts: Array, targets: Array, *, config: NPLMConfig) -> Array:
    """ln P(tᵢ | contextᵢ) for every row.

    Args:
        params: from :func:`init`.
        contexts: (B, n − 1) integer ids; targets: (B,) integer ids.
        config: :class:`NPLMConfig`.

    Returns:
        (B,) natural-log probabilities (float of the parameters' dtype).
    """
    _check_targets(contexts, targets, config.vocab_size)
    y = apply(params, contexts, config=config)
    lse = jax.nn.logsumexp(y, axis=1)
    return jnp.take_along_axis(y, targets[:, None], axis=1)[:, 0] - lse


def evaluate_logprob(params: Params, contexts: Any, targets: Any, *, config: NPLMConfig,
                     batch_size: int = 1024) -> np.ndarray:
    """:func:`logprob` over a whole split in jitted batches (the last one padded).

    Args:
        params: from :func:`init`.
        contexts: (N, n − 1) ids; targets: (N,) ids (numpy or jax).
        config: :class:`NPLMConfig`.
        batch_size: rows per jitted call.

    Returns:
        (N,) float64 numpy array of ln p.
    """
    contexts, targets = np.asarray(contexts), np.asarray(targets)
    if not cfgcheck.is_int(batch_size) or batch_size < 1:
        raise JaxnnError(f"batch_size must be an integer >= 1; got {batch_size!r}")
    _check_contexts(contexts, config)
    N = len(targets)
    if N == 0:
        return np.zeros((0,), np.float64)
    B = min(int(batch_size), N)
    pad = (-N) % B
    c = np.concatenate([contexts, np.zeros((pad, config.context), contexts.dtype)])
    t = np.concatenate([targets, np.zeros((pad,), targets.dtype)])
    fn = _jitted_logprob(config)
    out = [np.asarray(fn(params, c[i:i + B], t[i:i + B])) for i in range(0, N + pad, B)]
    return np.concatenate(out)[:N].astype(np.float64)


_LOGPROB_CACHE: dict[NPLMConfig, Any] = {}


def _jitted_logprob(config: NPLMConfig):
    if config not in _LOGPROB_CACHE:
        _LOGPROB_CACHE[config] = jax.jit(
            lambda p, c, t: logprob(p, c, t, config=config))
    return _LOGPROB_CACHE[config]
