"""Validation helpers for the models' frozen configs (``__post_init__`` of each ``*Config``).

Every model keeps its static choices in one ``@dataclasses.dataclass(frozen=True)`` — hashable,
so it can be a ``jax.jit`` static argument, and not a pytree (a NamedTuple would be flattened
by ``jit``). These helpers raise :class:`jaxnn.errors.JaxnnError` naming the field and value.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError


def require_config(config: Any, cls: type, where: str) -> Any:
    """Raise :class:`JaxnnError` unless ``config`` is a ``cls`` (e.g. ``mlp.init(key, (8, 3))``
    with a bare tuple of widths, which would otherwise fail as an ``AttributeError`` — or, for
    ``(8, 2.5, 3)``, never reach the widths check at all)."""
    if not isinstance(config, cls):
        raise JaxnnError(f"{where} takes config={cls.__name__}(...); got "
                         f"{type(config).__name__} {config!r:.80}")
    return config


def field_name(config: Any, field: str) -> str:
    """``"ClassName.field"``, the name used in error messages."""
    return f"{type(config).__name__}.{field}"


def is_int(value: Any) -> bool:
    """True for Python/NumPy integers (not bools, not floats such as 2.0 or 2.5)."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)


def set_field(config: Any, field: str, value: Any) -> None:
    """Normalise a field of a frozen dataclass inside its ``__post_init__``."""
    object.__setattr__(config, field, value)


def int_field(config: Any, field: str, *, minimum: int = 1) -> None:
    """Require an integer field ≥ ``minimum``; stores it as a Python ``int``."""
    value = getattr(config, field)
    if not is_int(value) or value < minimum:
        raise JaxnnError(f"{field_name(config, field)} must be an integer >= {minimum}; "
                         f"got {value!r}")
    set_field(config, field, int(value))


def sizes_field(config: Any, field: str = "sizes", *, min_len: int = 2) -> None:
    """Require a sequence of ≥ ``min_len`` integer widths > 0; stores it as a tuple of ints."""
    value = getattr(config, field)
    try:
        sizes = tuple(value)
    except TypeError:
        raise JaxnnError(f"{field_name(config, field)} must be a sequence of layer widths; "
                         f"got {value!r}") from None
    if len(sizes) < min_len:
        raise JaxnnError(f"{field_name(config, field)} must list at least {min_len} widths "
                         f"(input first, output last); got {value!r}")
    bad = [s for s in sizes if not is_int(s) or s <= 0]
    if bad:
        raise JaxnnError(f"{field_name(config, field)} must be integers > 0; got {value!r} "
                         f"(bad: {', '.join(map(repr, bad))})")
    set_field(config, field, tuple(int(s) for s in sizes))


def float_field(config: Any, field: str, *, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = False) -> None:
    """Require a real number in the given interval; stores it as a Python ``float``."""
    value = getattr(config, field)
    ok = isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = bool(np.isfinite(v))
        if ok and lo is not None:
            ok = v > lo if lo_open else v >= lo
        if ok and hi is not None:
            ok = v < hi if hi_open else v <= hi
    if not ok:
        lo_s = "(" if lo_open else "["
        hi_s = ")" if hi_open else "]"
        rng = f"{lo_s}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{hi_s}"
        raise JaxnnError(f"{field_name(config, field)} must be a number in {rng}; got {value!r}")
    set_field(config, field, float(value))


def choice_field(config: Any, field: str, options: Iterable[str]) -> None:
    """Require one of ``options``."""
    value = getattr(config, field)
    opts = tuple(options)
    if not isinstance(value, str) or value not in opts:
        raise JaxnnError(f"{field_name(config, field)} must be one of "
                         f"{', '.join(map(repr, sorted(opts)))}; got {value!r}")


def dtype_field(config: Any, field: str = "dtype") -> None:
    """Require a floating dtype (``jnp.float32``, ``"float64"``, …); stores its name."""
    value = getattr(config, field)
    try:
        dt = None if value is None else jnp.dtype(value)
    except TypeError:
        dt = None
    if dt is None or not jnp.issubdtype(dt, jnp.floating):
        raise JaxnnError(f"{field_name(config, field)} must be a floating dtype; got {value!r}")
    set_field(config, field, dt.name)



_EXPECTED: dict = {}


def check_params(params: Any, init: Any, config: Any, name: str = "params") -> None:
    """Raise unless ``params`` has the structure and leaf shapes ``init(key, config)`` gives.

    The expected tree comes from ``jax.eval_shape`` (no arrays are drawn) and is cached per
    config; the message names the missing or extra key, or the leaf and both shapes
    (:func:`jaxnn.errors.check_tree`), instead of a ``KeyError`` deep in the model.
    """
    from jaxnn.errors import check_tree

    if not isinstance(params, dict):
        raise JaxnnError(f"{name} must be the dict init(key, config) returns; got "
                         f"{type(params).__name__}")
    try:
        cache_key = (init, config)
        like = _EXPECTED.get(cache_key)
    except TypeError:  # an unhashable config (e.g. a custom cell object)
        cache_key, like = None, None
    if like is None:
        import jax

        like = jax.eval_shape(lambda key: init(key, config), jax.random.key(0))
        if cache_key is not None:
            _EXPECTED[cache_key] = like
    check_tree(params, like, name, what=f"built for another config than {config!r:.120}")
