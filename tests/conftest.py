"""Strict test configuration, after equinox: rank promotion raises, so a (B,) vs (B, 1)
slip in hand backprop fails loudly instead of broadcasting to (B, B).

Derivation checks run in float64 through the ``x64`` fixture (``jax.enable_x64``), so the
rest of the suite keeps testing the float32 default users get.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
# every plot an experiment saves passes jaxnn_experiments._style.audit, or its test fails
os.environ["JAXNN_STRICT_PLOTS"] = "1"

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def x64():
    """Run the test body with 64-bit floats enabled."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def run_experiment(tmp_path, monkeypatch):
    """Run experiment ``name`` with ``config`` as its quick config into ``tmp_path``.

    Checks the bookkeeping every experiment owes (results.json equals what ``execute``
    returned, plots written and non-trivial) and returns the saved record.
    """
    import json

    from jaxnn_experiments import load
    from jaxnn_experiments._base import execute

    def run(name: str, config: dict) -> dict:
        monkeypatch.setattr(load(name), "QUICK", config)
        record = execute(name, quick=True, out=tmp_path, seed=0)
        saved = json.loads((tmp_path / "results.json").read_text())
        assert saved["experiment"] == name and saved["metrics"] == record["metrics"]
        for plot in saved["plots"]:
            assert (tmp_path / plot).stat().st_size > 1000
        return saved

    return run


@pytest.fixture
def register_experiment(tmp_path, monkeypatch):
    """Register a throwaway experiment: ``register(name, module, source)`` writes ``source``
    as module ``module`` under ``tmp_path/site`` and adds ``name`` to the lab book's registry
    for this test (the module is unloaded afterwards)."""
    import sys
    import textwrap

    import jaxnn_experiments as lab

    modules = []

    def register(name: str, module: str, source: str) -> None:
        site = tmp_path / "site"
        site.mkdir(exist_ok=True)
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(site))
        known = lab.discover()
        monkeypatch.setattr(lab, "discover", lambda: {**known, name: module})
        modules.append(module)

    yield register
    for module in modules:
        sys.modules.pop(module, None)
