"""Sampling text from any language model, one token at a time, inside one ``lax.scan``.

A language model is seen through its *step function* ``step_fn(state, token) -> (logits (V,),
state)``: given the token just produced it returns the logits of the next one and its new state
(the last n − 1 ids for the fixed-window NPLM, (h, c) for an LSTM). :func:`sample` draws
w_{k+1} ~ softmax(logits / T) (temperature T > 0: T < 1 sharpens the distribution, T > 1
flattens it, T = 1 is the model's own); the limit T → 0 is the argmax, offered as
:func:`greedy` (a division by 0 is not that limit, so ``temperature`` must be > 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxnn.errors import JaxnnError

Array = jax.Array
StepFn = Callable[[Any, Array], tuple[Array, Any]]


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise JaxnnError(f"n (tokens to sample) must be an integer >= 1; got {n!r}")
    return int(n)


def _scan_body(step_fn: StepFn, state: Any, first_token: Any, choose) -> tuple:
    """The scan body (feed the token, choose the next) and its initial carry."""
    def body(carry, k):
        st, tok = carry
        logits, st = step_fn(st, tok)
        nxt = choose(logits, k).astype(jnp.int32)
        return (st, nxt), nxt

    return body, (state, jnp.asarray(first_token, jnp.int32))


def sample(key: Array, step_fn: StepFn, state: Any, first_token: Any, n: int, *,
           temperature: float = 1.0) -> Array:
    """Draw ``n`` tokens after ``first_token`` with softmax(logits / temperature).

    Args:
        key: ``jax.random`` key (split into one key per token).
        step_fn: ``(state, token int32 ()) -> (logits (V,), state)``, traceable.
        state: the model's state *before* it reads ``first_token`` (any pytree).
        first_token: int, the token the sample continues from (not included in the output).
        n: tokens to draw, ≥ 1.
        temperature: T > 0 (a Python float).

    Returns:
        (n,) int32 ids.

    Raises:
        JaxnnError: temperature ≤ 0 or not finite (use :func:`greedy` for the T → 0 limit),
            or n < 1.
    """
    n = _check_n(n)
    if (isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating))
            or not np.isfinite(temperature) or temperature <= 0):
        raise JaxnnError(f"temperature must be a finite number > 0 (its limit T -> 0 is "
                         f"sampling.greedy); got {temperature!r}")
    inv = 1.0 / float(temperature)

    def choose(logits, k):
        return jax.random.categorical(k, logits * jnp.asarray(inv, logits.dtype))

    body, carry = _scan_body(step_fn, state, first_token, choose)
    _, ids = lax.scan(body, carry, jax.random.split(key, n))
    return ids


def greedy(step_fn: StepFn, state: Any, first_token: Any, n: int) -> Array:
    """The temperature → 0 limit of :func:`sample`: always the most probable next token.

    Args:
        step_fn, state, first_token, n: as in :func:`sample`.

    Returns:
        (n,) int32 ids (ties go to the smallest id, as ``argmax``).
    """
    n = _check_n(n)
    body, carry = _scan_body(step_fn, state, first_token, lambda logits, k: jnp.argmax(logits))
    _, ids = lax.scan(body, carry, jnp.zeros((n,), jnp.int32))
    return ids


def nplm_step_fn(params: Any, config: Any) -> StepFn:
    """The NPLM as a step function: state = the last n − 1 ids, oldest first.

    ``step_fn(state (n-1,) int32, token) -> (logits (V,), new state)``: the token is appended
    to the window (the oldest id dropped) and the model's logits for the word after it are
    returned. Start with ``state`` = the n − 1 ids *before* ``first_token``.

    Args:
        params: :func:`jaxnn.models.nplm.init` params.
        config: its :class:`jaxnn.models.nplm.NPLMConfig`.

    Returns:
        the step function.
    """
    from jaxnn.models import nplm

    def step_fn(state, token):
        window = jnp.concatenate([state[1:], jnp.reshape(token, (1,)).astype(state.dtype)])
        logits = nplm.apply(params, window[None, :], config=config)[0]
        return logits, window

    return step_fn


def nplm_initial_state(history: Any, config: Any) -> tuple[Array, Array]:
    """``(state, first_token)`` for :func:`sample` from a prompt of ids (any length ≥ 1).

    Args:
        history: 1-D ids of the prompt, at least 1 long; prompts shorter than n are padded
            on the left with their first id.
        config: :class:`jaxnn.models.nplm.NPLMConfig`.

    Returns:
        ``(state (n-1,) int32, first_token int32 ())``: the n − 1 ids before the prompt's last
        id, and that id.

    Raises:
        JaxnnError: an empty prompt.
    """
    h = np.asarray(history, np.int32).reshape(-1)
    if h.size == 0:
        raise JaxnnError("the prompt (history) must hold at least one id; got none")
    need = config.n
    if h.size < need:
        h = np.concatenate([np.full(need - h.size, h[0], np.int32), h])
    h = h[-need:]
    return jnp.asarray(h[:-1]), jnp.asarray(h[-1])
