"""Smoke tests of the feedforward experiments (mlp-mnist, optimizers, vanishing-gradients)
with configs far smaller than QUICK, on the bundled 8×8 digits."""

import json
import math

import pytest

from jaxnn_experiments import _base, mlp_mnist, optimizers, vanishing_gradients


def _check(result, out, keys):
    assert isinstance(result, _base.Result)
    json.dumps(_base._clean({"metrics": result.metrics, "extra": result.extra}))
    for k in keys:
        assert k in result.metrics, k
        assert math.isfinite(result.metrics[k]), (k, result.metrics[k])
    for p in result.plots:
        assert (out / p).stat().st_size > 1000, p
    assert result.notes


@pytest.mark.slow
def test_mlp_mnist_smoke(tmp_path):
    cfg = dict(mlp_mnist.QUICK, hidden=16, epochs_linear=3, epochs_mlp=3)
    r = mlp_mnist.run(cfg, tmp_path, seed=0)
    _check(r, tmp_path, ["linear_test_error", "mlp_test_error"])
    # even 3 epochs on the digits beat chance (90% error) by far
    assert r.metrics["linear_test_error"] < 0.3 and r.metrics["mlp_test_error"] < 0.3
    assert set(r.reference) >= {"linear_test_error", "mlp_test_error"}
    assert len(r.plots) == 4
    assert sum(map(sum, r.extra["confusion_mlp"])) == r.metrics["n_test"]


@pytest.mark.slow
def test_optimizers_smoke(tmp_path):
    # two of the optimizers here (all five are checked in test_optim); momentum and Adam still
    # run in the regularization and early-stopping parts
    cfg = dict(optimizers.QUICK, hidden=8, epochs=2, n_train=200, overfit_hidden=16,
               overfit_n_train=50, overfit_epochs=6, patience=2,
               optimizers=["adagrad", "adadelta"], batch_modes=["batch", "per_sample"],
               regularization="pair")
    r = optimizers.run(cfg, tmp_path, seed=0)
    keys = ["adagrad_test_error", "adadelta_test_error", "l2_on_dropout_on_test_error"]
    _check(r, tmp_path, keys + ["early_stop_best_epoch", "sgd_per_sample_final_train_loss"])
    assert all(0 <= r.metrics[k] <= 1 for k in keys)
    # 2 epochs of per-sample SGD (400 steps) go further than 2 full-batch steps
    assert r.metrics["sgd_per_sample_final_train_loss"] < r.metrics["sgd_batch_final_train_loss"]
    assert 1 <= r.metrics["early_stop_best_epoch"] <= r.metrics["early_stop_last_epoch"] <= 6


@pytest.mark.slow
def test_vanishing_gradients_smoke(tmp_path):
    cfg = dict(vanishing_gradients.QUICK, depths=[2, 6], width=16, batch=16,
               activations=["sigmoid", "relu"], inits=["glorot"])
    r = vanishing_gradients.run(cfg, tmp_path, seed=0)
    _check(r, tmp_path, ["sigmoid_glorot_first_over_last_depth6", "sigmoid_bound_holds"])
    assert r.metrics["sigmoid_max_derivative_seen"] <= 0.25
    assert r.metrics["sigmoid_bound_holds"] == 1.0
    # eq 143: six sigmoid layers shrink the gradient reaching layer 1
    assert r.metrics["sigmoid_glorot_first_over_last_depth6"] < 0.05
