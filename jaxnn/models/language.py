"""Recurrent language models: word or character LMs on the project's cells, trained by
truncated backpropagation through time over one continuous stream.

The model (Mikolov et al. 2010, "Recurrent neural network based language model"; Zaremba,
Sutskever & Vinyals 2014, "Recurrent Neural Network Regularization"): token ``w_t`` is looked
up in the shared word-vector matrix ``C`` (|V| × m, as in Bengio et al. 2003), run through L
stacked recurrent layers (any cell of :mod:`jaxnn.nn.cells`; Qiu Xipeng, 《神经网络与深度学习》
(2015), eq 176–196) and read out by a softmax over the vocabulary::

    x_t = C[w_t]                                   (m,)
    h_t^(1) = cell(h_{t−1}^(1), x_t),  h_t^(l) = cell(h_{t−1}^(l), h_t^(l−1))
    y_t = b + U h_t^(L)                            (|V|,)   p(w_{t+1} | w_≤t) = softmax(y_t)

Dropout (``rate`` = probability of dropping) as in Zaremba et al.: on the embeddings, between
layers and before the softmax — never on the recurrent connections. ``tie=True`` uses
``U = C`` (Press & Wolf 2017; needs m = h).

Parameters: ``{"C": (V, m), "rnn": [cell params of layer 1, …, layer L], "output": {"U":
(V, h), "b": (V,)}}`` (``output`` holds only ``b`` when tied). The state is a tuple of the L
cells' states (``h: (B, h)``, or ``(h, c)`` for an LSTM).

API::

    config = LMConfig(vocab_size=V, m=200, h=200, layers=2, cell="lstm", dropout=0.5)
    params = init(key, config)
    logits, state = apply(params, ids, config=config, state=None, key=k, train=True)
    J, state = loss(params, (inputs, targets), config=config, state=state, key=k)
    run = make_stream_trainer(config, optimizer)    # one jitted scan over BPTT chunks
    logp = logprob(params, stream, start, stop, config=config)       # (stop − start,) nats
    step_fn = make_step_fn(params, config=config)   # for jaxnn.models.sampling.sample
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxnn.models import _config as cfgcheck
from jaxnn.errors import JaxnnError, ShapeError, check_choice
from jaxnn.models._config import check_params, float_field, int_field, is_int
from jaxnn.nn import cells, layers, recurrent
from jaxnn.nn.init import glorot_uniform
from jaxnn.nn.softmax_nll import softmax_nll, vocab_logits

__all__ = ["LMConfig", "init", "initial_state", "apply", "loss", "token_logprobs",
           "make_stream_trainer", "logprob", "make_step_fn", "flops_per_token", "DTYPES"]

DTYPES = ("float32", "float64", "bfloat16")


@dataclasses.dataclass(frozen=True)
class LMConfig:
    """Static description of a recurrent LM (hashable: a static ``jax.jit`` argument).

    Attributes:
        vocab_size: |V| (ids are in ``[0, V)``).
        m: word-vector size (columns of ``C``).
        h: hidden size of every recurrent layer.
        layers: L stacked recurrent layers.
        cell: a registered cell name (``"lstm"``, ``"gru"``, ``"rnn"``, …) or a
            :class:`jaxnn.nn.cells.Cell`.
        dropout: probability of dropping a unit on the embeddings, between layers and before
            the softmax (Zaremba et al. 2014); 0 disables it.
        tie: output weights ``U = C`` (needs ``m == h``); ``output`` then holds ``b`` only.
        init_scale: None: ``C ~ U(−0.1, 0.1)``, the cells' own initialisers (Glorot input
            weights, orthogonal recurrent weights, LSTM forget bias 1), Glorot ``U``, zero
            ``b``. A float s: every parameter ``~ U(−s, s)`` (Zaremba et al.: 0.1 small,
            0.05 medium, 0.04 large) but an LSTM's forget-gate bias, ``forget_bias``.
        forget_bias: overrides an LSTM's forget-gate bias at init (None: the cell's, 1.0).
        impl, unroll: passed to :func:`jaxnn.nn.recurrent.rnn` (``"auto"``: the hand BPTT
            where the cell has one).
        dtype: parameter dtype name, ``"float32"`` (default), ``"float64"``, ``"bfloat16"``.
    """

    vocab_size: int
    m: int
    h: int
    layers: int = 1
    cell: str | cells.Cell = "lstm"
    dropout: float = 0.0
    tie: bool = False
    init_scale: float | None = None
    forget_bias: float | None = None
    impl: str = recurrent.DEFAULT_IMPL
    unroll: int = 1
    dtype: str = "float32"

    def __post_init__(self):
        for f in ("vocab_size", "m", "h", "layers", "unroll"):
            int_field(self, f)
        cells.get(self.cell)
        float_field(self, "dropout", lo=0.0, hi=1.0, hi_open=True)
        check_choice(self.impl, recurrent.IMPLS, "LMConfig.impl")
        check_choice(self.dtype, DTYPES, "LMConfig.dtype")
        if self.tie and self.m != self.h:
            raise JaxnnError(f"LMConfig.tie needs m == h (U = C); got m={self.m}, h={self.h}")
        if self.init_scale is not None:
            float_field(self, "init_scale", lo=0.0, lo_open=True)

    @property
    def core(self) -> cells.Cell:
        """The cell object (name resolved, ``forget_bias`` applied)."""
        return cells.get(self.cell, forget_bias=self.forget_bias)

    @property
    def param_dtype(self):
        return jnp.dtype(self.dtype)


def _check_config(config) -> LMConfig:
    return cfgcheck.require_config(config, LMConfig, "language")


def init(key: jax.Array, config: LMConfig) -> dict:
    """Draw the parameters.

    Args:
        key: PRNG key (split into C's, each layer's and the output's).
        config: :class:`LMConfig`.

    Returns:
        ``{"C": (V, m), "rnn": [L cell-param dicts], "output": {"U": (V, h), "b": (V,)}}``
        (``{"b"}`` only when tied), dtype ``config.dtype``.
    """
    _check_config(config)
    V, m, h, dt = config.vocab_size, config.m, config.h, config.param_dtype
    kC, kU, *kl = jax.random.split(key, 2 + config.layers)
    cell = config.core
    s = config.init_scale
    if s is not None:
        def draw(k, shape, dtype=dt):
            return jax.random.uniform(k, shape, dtype, -float(s), float(s))
        cell = dataclasses.replace(cell, kernel_init=draw, recurrent_init=draw, bias_init=draw)
    rnn = [cell.init(k, m if i == 0 else h, h, dt) for i, k in enumerate(kl)]
    C = jax.random.uniform(kC, (V, m), dt, -0.1, 0.1) if s is None else draw(kC, (V, m))
    if s is None:
        out = {"U": glorot_uniform(kU, (V, h), dt), "b": jnp.zeros((V,), dt)}
    else:
        k1, k2 = jax.random.split(kU)
        out = {"U": draw(k1, (V, h)), "b": draw(k2, (V,))}
    if config.tie:
        del out["U"]
    return {"C": C, "rnn": rnn, "output": out}


def initial_state(config: LMConfig, batch: int):
    """The zero state of every layer: a tuple of L cell states (``(B, h)`` or ``(h, c)``)."""
    _check_config(config)
    if not is_int(batch) or batch < 1:
        raise JaxnnError(f"batch must be an integer >= 1; got {batch!r}")
    cell = config.core
    return tuple(cell.init_state(int(batch), config.h, config.param_dtype)
                 for _ in range(config.layers))


def _check_ids(ids, V: int, name: str = "ids") -> jax.Array:
    if np.ndim(ids) != 2:
        raise ShapeError(f"{name} must be (batch, time) token ids; got shape {np.shape(ids)}")
    if not jnp.issubdtype(jnp.result_type(ids), jnp.integer):
        raise JaxnnError(f"{name} must be integer token ids; got dtype {jnp.result_type(ids)}")
    if not isinstance(ids, jax.core.Tracer):
        a = np.asarray(ids)
        bad = a[(a < 0) | (a >= V)]
        if bad.size:
            raise JaxnnError(f"token id {int(bad[0])} in {name} is outside the vocabulary "
                             f"[0, {V}) ({bad.size} such ids)")
    return jnp.asarray(ids)


def _weights(params):
    """``(U, b)`` of the softmax layer (U = C when tied)."""
    out = params["output"]
    return (out["U"] if "U" in out else params["C"]), out["b"]


def hidden(params: dict, ids, *, config: LMConfig, state=None, key=None, train: bool = False):
    """The top layer's outputs before the softmax (dropout applied when training).

    Args: as :func:`apply`.

    Returns:
        ``(hs: (B, T, h), state)``.
    """
    _check_config(config)
    ids = _check_ids(ids, config.vocab_size)
    check_params(params, init, config)
    B = ids.shape[0]
    L, rate = config.layers, float(config.dropout)
    if len(params["rnn"]) != L:
        raise JaxnnError(f"params hold {len(params['rnn'])} recurrent layers; config.layers={L}")
    if state is None:
        state = initial_state(config, B)
    drop = train and rate > 0.0
    if drop and key is None:
        raise JaxnnError("train=True with dropout > 0 needs a PRNG key; got key=None")
    keys = jax.random.split(key, L + 1) if drop else [None] * (L + 1)
    x = layers.dropout(jnp.take(params["C"], ids, axis=0), rate, key=keys[0], train=drop)
    finals = []
    for i, (p, s0) in enumerate(zip(params["rnn"], state)):
        x, s = recurrent.rnn(p, x, cell=config.core, state0=s0, impl=config.impl,
                             unroll=config.unroll)
        finals.append(s)
        x = layers.dropout(x, rate, key=keys[i + 1], train=drop)
    return x, tuple(finals)


def apply(params: dict, ids, *, config: LMConfig, state=None, key=None,
          train: bool = False):
    """Next-token logits at every position.

    Args:
        params: from :func:`init` with the same ``config``.
        ids: ``(B, T)`` integer token ids in ``[0, V)``.
        config: :class:`LMConfig`.
        state: the state to start from (a tuple of L cell states for batch B); zeros when None.
        key: PRNG key for dropout (needed when ``train`` and ``config.dropout > 0``).
        train: apply dropout.

    Returns:
        ``(logits: (B, T, V), state)``: ``logits[b, t]`` scores ``ids[b, t+1]``; the final
        state of every layer.

    Raises:
        ShapeError: ``ids`` not 2-D. JaxnnError: an id outside ``[0, V)`` (named), non-integer
        ids, a layer count that does not match.
    """
    hs, state = hidden(params, ids, config=config, state=state, key=key, train=train)
    return vocab_logits(hs, *_weights(params)), state


def token_logprobs(params: dict, hs: jax.Array, targets: jax.Array) -> jax.Array:
    """``ln softmax(b + U h)[target]`` at every position: ``hs: (..., h)`` -> ``(...)``.

    Computed as ``y[target] − logsumexp(y)`` (no normalised (…, V) array is formed).
    """
    z = vocab_logits(hs, *_weights(params))
    picked = jnp.take_along_axis(z, targets[..., None], axis=-1)[..., 0]
    return picked - jax.nn.logsumexp(z, axis=-1)


def loss(params: dict, batch, *, config: LMConfig, state=None, key=None, train: bool = True):
    """Mean next-token negative log-likelihood of one BPTT chunk.

    Args:
        params: from :func:`init`.
        batch: ``(inputs, targets)``, both ``(B, T)`` ints (``targets`` the stream shifted by
            one, as :func:`jaxnn.data.text.stream_batches` cuts it).
        config: :class:`LMConfig`.
        state: the state the previous chunk ended in (zeros when None). It passes through
            ``lax.stop_gradient``: truncated BPTT, the gradient reaches back T steps.
        key: PRNG key for dropout. train: dropout on (the default for a training loss).

    Returns:
        ``(J, state)``: J the mean NLL in nats (scalar; its gradient with respect to the
        logits is the closed form of :func:`jaxnn.nn.softmax_nll.softmax_nll`), the final
        state (carry it to the next chunk).
    """
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise JaxnnError("batch must be (inputs, targets), both (B, T) token ids")
    inputs, targets = batch
    targets = _check_ids(targets, config.vocab_size, "targets")
    if np.shape(targets) != np.shape(inputs):
        raise ShapeError(f"targets must have the inputs' shape {np.shape(inputs)}; "
                         f"got {np.shape(targets)}")
    if state is not None:
        state = lax.stop_gradient(state)
    hs, state = hidden(params, inputs, config=config, state=state, key=key, train=train)
    return softmax_nll(vocab_logits(hs, *_weights(params)), targets), state


def make_stream_trainer(config: LMConfig, optimizer, *, jit: bool = True):
    """Truncated BPTT over a continuous stream as one ``lax.scan`` over its chunks.

    Args:
        config: :class:`LMConfig`.
        optimizer: an optax transformation (clipping chained in).
        jit: compile the returned function.

    Returns:
        ``run(params, opt_state, state, inputs, targets, key) -> (params, opt_state, state,
        losses)``: ``inputs, targets: (K, B, T)`` consecutive chunks (from
        :func:`jaxnn.data.text.stream_batches`), ``state`` the carried state (from
        :func:`initial_state`), ``key`` the dropout key (chunk k uses ``fold_in(key, k)``);
        ``losses: (K,)`` each chunk's mean NLL before its update.
    """
    from jaxnn.train import make_train_step

    _check_config(config)

    def loss_fn(p, batch, k):
        x, y, s = batch
        return loss(p, (x, y), config=config, state=s, key=k)

    step = make_train_step(loss_fn, optimizer, has_aux=True, jit=False)

    def run(params, opt_state, state, inputs, targets, key):
        def body(carry, xs):
            p, o, s = carry
            k_i, x, y = xs
            p, o, J, s = step(p, o, (x, y, s), jax.random.fold_in(key, k_i))
            return (p, o, s), J

        ks = jnp.arange(inputs.shape[0], dtype=jnp.int32)
        (params, opt_state, state), losses = lax.scan(body, (params, opt_state, state),
                                                      (ks, inputs, targets))
        return params, opt_state, state, losses

    return jax.jit(run) if jit else run


def logprob(params: dict, stream, start: int = 1, stop: int | None = None, *,
            config: LMConfig, rows: int = 1, chunk: int = 200, context: int | None = None
            ) -> np.ndarray:
    """``ln p(w_t | w_<t)`` for every t in ``[start, stop)`` of one stream (every token).

    The model reads the stream from ``start − 1 − context`` (from the stream's start when
    ``context`` is None, or when the stream is shorter) with a zero state, so histories may
    cross split boundaries (one stream), as for the n-gram models. ``rows > 1`` scores the
    range as ``rows`` contiguous pieces in parallel, each reading its own ``context`` tokens
    first (faster; with a finite ``context`` every piece sees at least that much history).

    Args:
        params: from :func:`init`. stream: ``(N,)`` integer ids in ``[0, V)``.
        start, stop: the positions scored, ``1 ≤ start < stop ≤ N`` (position 0 has no
            history: start a stream with a boundary symbol).
        config: :class:`LMConfig`. rows: pieces scored in parallel. chunk: steps per scan
            iteration (memory: ``rows·chunk·V`` logits). context: tokens read before each
            piece (None: all of them for ``rows=1``; must be given for ``rows > 1``).

    Returns:
        ``(stop − start,)`` float64 natural-log probabilities.
    """
    _check_config(config)
    a = np.asarray(stream)
    if a.ndim != 1:
        raise ShapeError(f"stream must be (N,) token ids; got shape {a.shape}")
    _check_ids(a[None, :], config.vocab_size, "stream")
    stop = a.size if stop is None else int(stop)
    if not 1 <= start < stop <= a.size:
        raise JaxnnError(f"need 1 <= start < stop <= {a.size}; got start={start}, stop={stop}")
    if rows > 1 and context is None:
        raise JaxnnError("logprob with rows > 1 needs a finite context (tokens read first)")
    L = stop - start
    R = max(1, min(int(rows), L))
    P = -(-L // R)                                     # targets per row
    ctx = start - 1 if context is None else int(context)
    width = -(-(ctx + P) // chunk) * chunk
    lead = width - (ctx + P)
    # row r scores t in [s_r, s_r + P), s_r = start + r·P; column j holds target position
    # t = s_r − ctx − lead + j and its input a[t − 1]; columns before the stream's start or
    # after ``stop`` are masked (they leave the state as it is: the leading ones keep zeros)
    s_r = start + P * np.arange(R)[:, None]
    t = s_r - ctx - lead + np.arange(width)[None, :]
    valid = (t >= 1) & (t < stop)
    scored = valid & (t >= s_r)
    x = np.where(valid, a[np.clip(t - 1, 0, a.size - 1)], 0).astype(np.int32)
    y = np.where(valid, a[np.clip(t, 0, a.size - 1)], 0).astype(np.int32)
    K = width // chunk

    def cut(z):
        return jnp.asarray(z.reshape(R, K, chunk).transpose(1, 0, 2))

    lp = _score_fn(config)(params, cut(x), cut(y), cut(valid), cut(scored),
                           initial_state(config, R))
    lp = np.asarray(lp, np.float64).transpose(1, 0, 2).reshape(R, width)
    return lp[scored]


@functools.lru_cache(maxsize=16)
def _score_fn(config: LMConfig):
    @jax.jit
    def score(params, x, y, valid, scored, state):
        def body(s, xs):
            xk, yk, vk, sk = xs
            hs, s = _masked_hidden(params, xk, vk, s, config)
            # the softmax only where something is scored (context chunks skip it)
            lp = lax.cond(jnp.any(sk), lambda: token_logprobs(params, hs, yk),
                          lambda: jnp.zeros(yk.shape, hs.dtype))
            return s, lp
        return lax.scan(body, state, (x, y, valid, scored))[1]
    return score


def _masked_hidden(params, ids, valid, state, config: LMConfig):
    """:func:`hidden` (no dropout) where invalid steps leave each layer's state unchanged."""
    x = jnp.take(params["C"], ids, axis=0)
    finals = []
    for p, s0 in zip(params["rnn"], state):
        x, s = recurrent.rnn(p, x, cell=config.core, state0=s0, mask=valid, impl=config.impl,
                             unroll=config.unroll)
        finals.append(s)
    return x, tuple(finals)


def make_step_fn(params: dict, *, config: LMConfig):
    """One-token step for :func:`jaxnn.models.sampling.sample`.

    Returns:
        ``step_fn(state, token) -> (logits: (V,), state)`` with ``state`` a batch-1 state
        (:func:`initial_state` ``(config, 1)``) and ``token`` an int scalar.
    """
    _check_config(config)

    def step_fn(state, token):
        ids = jnp.reshape(jnp.asarray(token, jnp.int32), (1, 1))
        logits, state = apply(params, ids, config=config, state=state)
        return logits[0, 0], state

    return step_fn


def flops_per_token(config: LMConfig) -> float:
    """Forward multiply-adds ×2 per token: the cells' ``2·G·h·(D + h)`` and the softmax
    layer's ``2·V·h`` (a training step costs about 3× this)."""
    G, h = config.core.gates, config.h
    rec = sum(2 * G * h * ((config.m if i == 0 else h) + h) for i in range(config.layers))
    return float(rec + 2 * config.vocab_size * h)

