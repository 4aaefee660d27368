"""Smoke tests of the neuron and chain-rule experiments (tiny configs, into tmp_path)."""

import json

import pytest

from experiments._base import execute, load


def _run(name, config, tmp_path, monkeypatch):
    module = load(name)
    monkeypatch.setattr(module, "QUICK", config)
    record = execute(name, quick=True, out=tmp_path, seed=0)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["experiment"] == name and saved["metrics"] == record["metrics"]
    assert saved["plots"]
    for plot in saved["plots"]:
        assert (tmp_path / plot).stat().st_size > 1000
    return saved


def test_neuron_smoke(tmp_path, monkeypatch):
    r = _run("neuron", {"points": 41, "x_max": 4.0, "depth": 3}, tmp_path, monkeypatch)
    m, ref = r["metrics"], r["reference"]
    assert m["sigmoid_prime_max"] == ref["sigmoid_prime_max"] == 0.25
    assert m["tanh_prime_max"] == ref["tanh_prime_max"] == 1.0
    assert m["tanh_identity_max_abs_err"] < 1e-14
    assert m["softplus_prime_minus_sigmoid_max_abs_err"] < 1e-14
    errs = [v for k, v in m.items() if k.endswith("_vs_autodiff_max_abs_err")]
    assert len(errs) == 10 and max(errs) < 1e-13
    assert m["relu_prime_at_0"] == m["relu_prime_at_0_jax_grad"] == 0.0
    assert ref["relu_prime_at_0"] == 1.0  # the notes' figure 15
    assert m["sigmoid_chain_bound_3_layers"] == pytest.approx(1 / 64)


def test_chain_rule_smoke(tmp_path, monkeypatch):
    r = _run("chain-rule", {}, tmp_path, monkeypatch)
    m, ref = r["metrics"], r["reference"]
    assert m["max_abs_diff_vs_jax_grad"] == 0.0
    for k in ("f", "df_dx", "df_dy", "df_dz", "L", "dL_da", "dL_db", "dL_dc"):
        assert m[k] == ref[k], k
    assert (m["f"], m["df_dx"], m["df_dz"]) == (-12.0, -4.0, 3.0)  # the notes' point (−2, 5, −4)
    assert "| q | x | -2 | -4 | 1 | -4 |" in r["extra"]["tables"]["f"]
