"""Smoke tests of the chapter-1 experiments: perceptron, xor, bp-example (tiny configs)."""

import pytest


def test_bp_example_smoke(run_experiment):
    r = run_experiment("bp-example", {"steps": 1001})
    m = r["metrics"]
    assert m["printed_numbers"] == 43 and m["slips"] == 7
    assert m["reproduced_output_first"] == 36 and m["reproduced_simultaneous"] < 20
    assert m["w1_plus"] == pytest.approx(r["reference"]["w1_plus"], abs=5e-7)
    assert m["E_after_1001_output_first"] < 1e-3 < m["E_total"]


def test_perceptron_smoke(run_experiment):
    r = run_experiment("perceptron", {"max_epochs": 20, "n_separable": 40, "gap": 0.3})
    m = r["metrics"]
    for name in ("and", "or", "separable", "iris"):
        assert m[f"{name}_converged"] == 1 and m[f"{name}_train_accuracy"] == 1
        assert 0 < m[f"{name}_mistakes"] <= m[f"{name}_novikoff_bound"]
    assert m["xor_converged"] == 0 and m["xor_separable"] == 0
    assert m["xor_train_accuracy"] <= r["reference"]["xor_train_accuracy"]
    assert len(r["plots"]) == 4


def test_xor_smoke(run_experiment):
    r = run_experiment("xor", {"steps": 300, "seeds": 4, "hidden": [4], "lr": 0.05})
    m = r["metrics"]
    assert m["threshold_xor_accuracy"] == 0 and m["threshold_xnor_accuracy"] == 1
    assert m["threshold_negated_xor_accuracy"] == 1
    assert r["extra"]["truth_table"][1] == [0, 1, 0, 1, 0]
    assert 0 <= m["mlp_2_4_1_success_rate"] <= 1
    assert m["mlp_2_4_1_median_final_loss"] < 0.69  # below chance-level BCE ln 2
    assert len(r["plots"]) == 3
