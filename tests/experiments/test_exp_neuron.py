"""Smoke tests of the neuron and chain-rule experiments (tiny configs, into tmp_path)."""

import json

import pytest

from jaxnn_experiments import load
from jaxnn_experiments._base import execute


def _check_neuron(m, ref, extra):
    assert m["sigmoid_prime_max"] == ref["sigmoid_prime_max"] == 0.25
    assert m["tanh_prime_max"] == ref["tanh_prime_max"] == 1.0
    assert m["tanh_identity_max_abs_err"] < 1e-14
    assert m["softplus_prime_minus_sigmoid_max_abs_err"] < 1e-14
    errs = [v for k, v in m.items() if k.endswith("_vs_autodiff_max_abs_err")]
    assert len(errs) == 10 and max(errs) < 1e-13
    assert m["relu_prime_at_0"] == m["relu_prime_at_0_jax_grad"] == 0.0
    assert ref["relu_prime_at_0"] == 1.0  # the notes' figure 15
    assert m["sigmoid_chain_bound_3_layers"] == pytest.approx(1 / 64)
    assert 0 < m["sigmoid_chain_grad_max_3_layers"] <= 1 / 64


def _check_chain_rule(m, ref, extra):
    assert m["max_abs_diff_vs_jax_grad"] == 0.0
    for k in ("f", "df_dx", "df_dy", "df_dz", "L", "dL_da", "dL_db", "dL_dc"):
        assert m[k] == ref[k], k
    assert (m["f"], m["df_dx"], m["df_dz"]) == (-12.0, -4.0, 3.0)  # the notes' point (−2, 5, −4)
    assert "| q | x | -2 | -4 | 1 | -4 |" in extra["tables"]["f"]


@pytest.mark.parametrize("name, config, check", [
    ("neuron", {"points": 41, "x_max": 4.0, "depth": 3}, _check_neuron),
    ("chain-rule", {}, _check_chain_rule),
])
def test_experiment_smoke(name, config, check, tmp_path, monkeypatch):
    monkeypatch.setattr(load(name), "QUICK", config)
    record = execute(name, quick=True, out=tmp_path, seed=0)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["metrics"] == record["metrics"] and saved["mode"] == "quick"
    assert saved["plots"] and all((tmp_path / p).stat().st_size > 1000 for p in saved["plots"])
    check(saved["metrics"], saved["reference"], saved["extra"])
