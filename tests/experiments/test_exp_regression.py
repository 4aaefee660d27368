"""Smoke tests of the regression and svm experiments (tiny configs, real bundled data)."""

import pytest


@pytest.mark.slow
def test_regression_smoke(run_experiment):
    r = run_experiment("regression", {"gd_steps": 300, "gd_lr": 0.1, "cls_steps": 60, "cls_lr": 0.5, "x64": True})
    m, ref = r["metrics"], r["reference"]
    assert m["ls_test_mse"] == pytest.approx(ref["ls_test_mse"], rel=1e-6)  # = scikit-learn's fit
    assert m["normal_lstsq_distance"] < 1e-8 and m["singular_gram_detected"] == 1
    assert "rank 11 < 12" in r["extra"]["singular_gram_error"]
    assert m["ls_train_mse"] <= m["gd_train_mse"] < 1.2 * m["ls_train_mse"]
    assert m["logistic_test_accuracy"] > 0.9 and m["softmax_digits_test_accuracy"] > 0.85
    assert m["softmax_iris_test_accuracy"] > 0.8
    for name in ("iris", "wine"):
        assert m[f"generative_{name}_bayes_max_abs_diff"] < 1e-10
        assert m[f"generative_{name}_test_accuracy"] == pytest.approx(ref[f"generative_{name}_test_accuracy"])
    assert len(r["plots"]) == 2


def test_svm_smoke(run_experiment):
    r = run_experiment("svm", {"steps": 300, "lr": 0.5, "lam": 0.01, "toy_n": 60, "forget_steps": 20,
                         "forget_lr": 0.1})
    m, ref = r["metrics"], r["reference"]
    assert m["svm_test_accuracy"] > 0.9 and m["logistic_test_accuracy"] > 0.9
    assert m["svm_final_objective"] >= ref["svm_final_objective"] - 1e-6  # SVC is the exact optimum
    assert m["svm_sklearn_weight_rel_diff"] < 0.2
    assert m["toy_svm_train_accuracy"] > 0.85 and m["toy_support_vectors"] >= 1
    assert m["forgetting_max_rel_error"] < 1e-5 and m["forgetting_step_max_abs_diff"] < 1e-6
    assert m["forgetting_norm_ratio_without_data"] == pytest.approx((1 - 0.1 * 0.01) ** 20, rel=1e-5)
    assert len(r["plots"]) == 2
