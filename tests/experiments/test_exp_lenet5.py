"""Smoke test of experiments/lenet5.py (tiny config on the bundled 8×8 digits)."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_experiments import lenet5 as E
from jaxnn_experiments._base import execute


def test_distort_is_identity_at_zero_and_keeps_shape():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((3, 32, 32)), jnp.float32)
    same = jax.jit(lambda k, x: E.distort(k, x, rotate=0.0, scale=0.0, shear=0.0, shift=0.0,
                                          alpha=0.0))(jax.random.key(0), x)
    np.testing.assert_allclose(np.asarray(same), np.asarray(x), atol=1e-5)
    moved = jax.jit(E.distort)(jax.random.key(1), x)
    assert moved.shape == x.shape and float(jnp.abs(moved - x).mean()) > 0.05


def test_inputs_are_padded_and_scaled_like_the_paper():
    x = np.zeros((2, 28, 28), np.float32)
    x[:, 14, 14] = 1.0
    y = E.to_lenet_input(x)
    assert y.shape == (2, 32, 32)
    assert np.isclose(y.min(), E.BACKGROUND) and np.isclose(y[0, 16, 16], E.INK)
    assert E.to_lenet_input(np.ones((1, 8, 8), np.float32)).shape == (1, 32, 32)


@pytest.mark.slow
def test_run_smoke(tmp_path, monkeypatch):
    # the distorted run reuses train_one with distort() in the loss (tested above): left out
    small = dict(E.QUICK, n_train=64, epochs=1, modern_epochs=0, distorted_epochs=0,
                 batch_size=32)
    monkeypatch.setattr(E, "QUICK", small)
    rec = execute("lenet5", quick=True, out=tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["metrics"] == rec["metrics"]
    m = rec["metrics"]
    assert 0.0 <= m["test_error"] <= 1.0 and m["seconds_per_epoch_paper"] > 0
    assert np.isfinite(m["train_loss_paper"])
    assert rec["reference"]["test_error"] == 0.0095
    for name in rec["plots"]:
        assert (tmp_path / name).stat().st_size > 1000
    assert "5,880" in rec["extra"]["summary"]


@pytest.mark.slow
def test_without_validation_split_reports_the_last_epoch(tmp_path, monkeypatch):
    # valid_fraction 0 trains on every training image, as the paper did; the reported test
    # error is then the last epoch's, never a choice made on the test set
    small = dict(E.QUICK, n_train=96, epochs=2, modern_epochs=0, distorted_epochs=0,
                 batch_size=32, valid_fraction=0)
    monkeypatch.setattr(E, "QUICK", small)
    m = execute("lenet5", quick=True, out=tmp_path)
    metrics, notes = m["metrics"], m["notes"]
    assert metrics["test_error"] == metrics["test_error_last_epoch"]
    assert metrics["best_epoch_paper"] == 2
    assert "96 training images" in notes and "after the last of 2 epochs" in notes
    assert [sorted(h) for h in m["extra"]["history_paper"]] == [
        ["epoch", "test_error", "test_loss", "time_s", "train_loss"]] * 2
