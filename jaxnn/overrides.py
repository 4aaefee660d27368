"""``--set KEY=VALUE`` overrides of an experiment's config: parsing and checking.

``jaxnn run NAME --set KEY=VALUE ...`` (:mod:`jaxnn.cli`) turns its items into
``{KEY: value}`` with :func:`parse_sets` and applies them to the experiment's QUICK or FULL
config with :func:`override`, which checks every key and the type of every value against the
config's defaults. Nothing here imports JAX unless an error is raised, so ``jaxnn list`` and
``--help`` stay light.
"""

from __future__ import annotations

import copy
import json
from typing import Any

__all__ = ["parse_sets", "override"]


def _error(message: str) -> Exception:
    """A :class:`jaxnn.errors.JaxnnError` of ``message`` (also used by :mod:`jaxnn.cli`)."""
    from jaxnn.errors import JaxnnError  # imports JAX, so only when there is an error

    return JaxnnError(message)


def parse_sets(items: list[str]) -> dict[str, Any]:
    """Parse ``--set`` items ``KEY=VALUE`` into ``{KEY: value}`` (a later KEY wins).

    A value is parsed as JSON where it can be (``3000``, ``0.005``, ``[200]``, ``true``,
    ``{"steps": 10}``, ``null``), otherwise kept as the string (``tanh``, ``mnist``).

    Args:
        items: the ``KEY=VALUE`` strings, in command-line order.

    Returns:
        ``{KEY: value}``, each value the parsed JSON or the raw string.

    Raises:
        JaxnnError: an item without ``=`` or with an empty key.
    """
    sets = {}
    for item in items:
        key, eq, raw = item.partition("=")
        if not eq or not key:
            raise _error(f"--set expects KEY=VALUE, got {item!r}")
        try:
            sets[key] = json.loads(raw)
        except json.JSONDecodeError:
            sets[key] = raw
    return sets


def _expected(default: Any) -> str:
    if isinstance(default, bool):
        return "bool (true or false)"
    if isinstance(default, float):
        return "float (an int is accepted)"
    if isinstance(default, (list, tuple)):
        return "list" + (f" of {_expected(default[0])}" if default else "")
    if isinstance(default, dict):
        return "object"
    return type(default).__name__


def _check(path: str, default: Any, value: Any, experiment: str) -> Any:
    """``value`` for the config field at ``path`` whose default is ``default``, type-checked.

    The rules: a field whose default is None takes any value; bool takes only bools, int only
    ints (not bools, not floats), float ints or floats (an int becomes a float); str takes
    strings; a list takes a list whose items each pass the check against the default's first
    item (a tuple default gives a tuple); an object (dict) merges key by key into the default.
    """
    if default is None:
        return value
    ok = True
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, list)
        if ok and default:
            value = [_check(f"{path}[{i}]", default[0], v, experiment)
                     for i, v in enumerate(value)]
        value = tuple(value) if ok and isinstance(default, tuple) else value
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
        if ok:
            merged = copy.deepcopy(default)
            for k, v in value.items():
                merged[k] = _check(f"{path}.{k}", _field(default, k, path, experiment), v,
                                   experiment)
            value = merged
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise _error(f"{experiment}: --set {path} expects {_expected(default)} (default "
                     f"{default!r}), got {type(value).__name__} {value!r}")
    return value


def _field(schema: dict, key: str, parent: str, experiment: str) -> Any:
    """The default of ``schema[key]``; an empty schema (``{}``) accepts every key."""
    if key in schema:
        return schema[key]
    if not schema and parent:
        return None
    where = f"keys of {parent}" if parent else "keys"
    raise _error(f"{experiment}: --set {(parent + '.') if parent else ''}{key}: unknown config "
                 f"key; valid {where}: {', '.join(schema) or '(none)'}")


def override(config: dict, sets: dict[str, Any], *, optional: dict | None = None,
             experiment: str = "experiment") -> dict:
    """A copy of ``config`` with ``sets`` applied, each value checked against its field.

    Args:
        config: the experiment's config for the mode that runs (QUICK or FULL).
        sets: ``{key: value}`` from :func:`parse_sets`; a dotted key (``train.steps``) sets a
            field of a nested object.
        optional: defaults of keys the experiment reads but ``config`` lacks (its
            ``OPTIONAL``); they may be set too.
        experiment: the experiment's name, for messages.

    Returns:
        the effective config (``config`` itself is not modified).

    Raises:
        JaxnnError: an unknown key (the message lists the valid ones) or a value of the wrong
            type (the message names the expected type); see :func:`_check` for the rules.
    """
    schema = {**(optional or {}), **config}
    result = copy.deepcopy(config)
    for key, value in sets.items():
        *parents, leaf = key.split(".")
        node, sub, path = result, schema, ""
        for p in parents:
            sub = _field(sub, p, path, experiment)
            path = f"{path}.{p}" if path else p
            if not isinstance(sub, dict):
                raise _error(f"{experiment}: --set {key}: {path} is not an object "
                             f"(default {sub!r})")
            node = node.setdefault(p, copy.deepcopy(sub))
        node[leaf] = _check(key, _field(sub, leaf, path, experiment), value, experiment)
    return result
