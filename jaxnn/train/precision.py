"""Mixed precision: compute in bfloat16, keep float32 parameters, loss and updates.

``with_policy(loss_fn, Policy.bf16())`` returns a loss function that casts the floating
parameters and inputs to ``compute_dtype`` on the way in and the loss to float32 on the way
out. Because the cast is differentiable, ``jax.grad`` of the wrapped loss returns float32
gradients for the float32 master parameters, so any optax optimizer updates them in full
precision (the usual master-weights recipe; no loss scaling is needed for bfloat16, whose
exponent range equals float32's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxnn.errors import JaxnnError, check_choice
from jaxnn.train.step import as_keyed

_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


class Policy(NamedTuple):
    """Which dtype each stage uses (names as strings: 'float32', 'bfloat16', 'float16')."""

    compute_dtype: str = "float32"
    output_dtype: str = "float32"

    @classmethod
    def bf16(cls) -> "Policy":
        return cls(compute_dtype="bfloat16")

    @classmethod
    def fp32(cls) -> "Policy":
        return cls()


def _cast_floating(tree: Any, dtype: Any) -> Any:
    def cast(x):
        if isinstance(x, (jax.Array, jnp.ndarray)) or hasattr(x, "dtype"):
            if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating):
                return jnp.asarray(x).astype(dtype)
        return x

    return jax.tree.map(cast, tree)


def check_supported(policy: Policy, backend: str | None = None) -> None:
    """Raise :class:`JaxnnError` if ``backend`` cannot compute in ``policy.compute_dtype``."""
    check_choice(policy.compute_dtype, _DTYPES, "compute dtype")
    check_choice(policy.output_dtype, _DTYPES, "output dtype")
    backend = backend or jax.default_backend()
    try:
        x = jax.device_put(jnp.ones((2, 2), _DTYPES[policy.compute_dtype]),
                           jax.devices(backend)[0])
        jax.block_until_ready(x @ x)
    except Exception as exc:  # noqa: BLE001 - any failure means: not supported here
        raise JaxnnError(f"backend {backend!r} cannot compute in {policy.compute_dtype}: "
                         f"{type(exc).__name__}: {exc}") from exc


def with_policy(loss_fn: Callable[..., Any], policy: Policy) -> Callable[..., Any]:
    """Wrap ``loss_fn(params, batch[, key]) -> loss | (loss, aux)`` to run under ``policy``.

    The result is a ``(params, batch, key=None)`` function, ready for
    :func:`jaxnn.train.make_train_step` and :func:`jaxnn.train.fit`.

    Floating leaves of ``params`` and ``batch`` are cast to ``policy.compute_dtype``; the
    loss (and floating aux leaves) come back in ``policy.output_dtype``. Integer leaves (labels)
    pass through untouched.
    """
    check_choice(policy.compute_dtype, _DTYPES, "compute dtype")
    compute = _DTYPES[policy.compute_dtype]
    output = _DTYPES[policy.output_dtype]
    if policy.compute_dtype == "float32":
        return loss_fn

    keyed = as_keyed(loss_fn)

    def wrapped(params, batch, key=None):
        out = keyed(_cast_floating(params, compute), _cast_floating(batch, compute), key)
        return _cast_floating(out, output)

    wrapped.__doc__ = f"{loss_fn.__doc__ or ''}\n\n(computed in {policy.compute_dtype})"
    return wrapped


def dtype_of(name: str) -> Any:
    """The jnp dtype called ``name``; JaxnnError for unknown names."""
    if name not in _DTYPES:
        raise JaxnnError(f"unknown dtype {name!r}; choose one of {', '.join(_DTYPES)}")
    return _DTYPES[name]
