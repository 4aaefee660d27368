"""The lab book: one module per chapter experiment, the report builder and ``bench/``.

This folder is installed as ``jaxnn_experiments`` (its modules import each other relatively,
so it works under any name); the ``jaxnn`` command (:mod:`jaxnn.cli`) runs it.

An experiment is a module that defines::

    TITLE: str                      # one line, shown by ``jaxnn list`` (a string literal:
                                    # ``jaxnn list`` reads it without importing the module)
    HEADLINE: tuple[str, ...]       # (may be absent) the metrics the report's summary shows,
                                    # names or shell-style patterns (``test_mse_*_T*``); absent:
                                    # the first metrics
    QUICK: dict                     # config for the quick mode (embedded data, minutes on 2 cores)
    FULL: dict                      # config for the full mode (real data sets), the default
    OPTIONAL: dict                  # (may be absent) defaults of the keys ``run`` reads with
                                    # ``config.get``, so that ``jaxnn run --set`` accepts them
    def run(config: dict, out: pathlib.Path, seed: int) -> jaxnn_experiments._base.Result

and never writes outside ``out``. It is registered under its command-line name in the
entry-point group ``jaxnn.experiments`` of an installed distribution: this one's are in
``pyproject.toml``; any other package adds its own the same way::

    [project.entry-points."jaxnn.experiments"]
    my-experiment = "my_package.my_experiment"

:func:`jaxnn_experiments._base.execute` adds the bookkeeping (``results.json``, the printed
comparison with the published numbers, timing). The report (:mod:`jaxnn_experiments.report`)
reads two naming conventions: a metric named ``*_std`` is a spread over the config's ``seeds``
repeats (left out when ``seeds`` is 1); and a config names its data under one of
:data:`jaxnn_experiments._base.DATA_KEYS` (``dataset``, ``data``, ...), so that a run on other
data than FULL's (QUICK's embedded data) shows the references, measured on FULL's data, as not
comparable.

This module stays light (no JAX, no matplotlib): :func:`discover` and :func:`title` answer
``jaxnn list`` from the installed metadata and the modules' source.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from importlib import metadata
from pathlib import Path
from types import ModuleType

#: The entry-point group experiments register under.
GROUP = "jaxnn.experiments"

_CONTRACT = ("TITLE", "QUICK", "FULL", "run")


def _error(message: str) -> Exception:
    from jaxnn.errors import JaxnnError  # imports JAX: only on the error path

    return JaxnnError(message)


def canonical(name: str) -> str:
    """Command-line form of an experiment name: ``bp_example`` -> ``bp-example``."""
    return name.replace("_", "-")


def discover() -> dict[str, str]:
    """Map every registered experiment's name to its module path, sorted by name.

    Returns:
        ``{name: module}`` over the entry points of group :data:`GROUP` of every installed
        distribution (names in :func:`canonical` form).

    Raises:
        JaxnnError: two distributions register one name for different modules.
    """
    found: dict[str, str] = {}
    for ep in metadata.entry_points(group=GROUP):
        key = canonical(ep.name)
        if found.get(key, ep.module) != ep.module:
            raise _error(f"experiment {key!r} is registered twice in entry-point group "
                         f"{GROUP!r}: {found[key]} and {ep.module}")
        found[key] = ep.module
    return dict(sorted(found.items()))


def module_of(name: str) -> str:
    """The module path of experiment ``name`` (hyphens or underscores), or raise clearly."""
    known = discover()
    key = canonical(name)
    if key not in known:
        raise _error(f"unknown experiment {name!r}; known: {', '.join(known) or '(none)'}")
    return known[key]


def load(name: str) -> ModuleType:
    """Import experiment ``name`` and check that it defines TITLE, QUICK, FULL and run."""
    module = importlib.import_module(module_of(name))
    missing = [attr for attr in _CONTRACT if not hasattr(module, attr)]
    if missing:
        raise _error(f"experiment {canonical(name)!r} (module {module.__name__}) lacks "
                     f"{', '.join(missing)}")
    return module


def title(name: str, module: str | None = None) -> str:
    """Experiment ``name``'s TITLE, read from its source when it is a string literal.

    Importing an experiment imports JAX (seconds); parsing its source takes milliseconds. A
    TITLE that is not a literal is read by importing the module. ``module``: its module path
    when the caller has it from :func:`discover` (saves a scan of the entry points).
    """
    spec = importlib.util.find_spec(module or module_of(name))
    if spec is not None and spec.origin and spec.origin.endswith(".py"):
        for node in ast.parse(Path(spec.origin).read_bytes()).body:
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AnnAssign) else [])
            if (any(isinstance(t, ast.Name) and t.id == "TITLE" for t in targets)
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
                return node.value.value
    return load(name).TITLE
