"""The recurrent experiments: Jacobians of rnn-gradients against eq 182 (float64), and smoke
runs of rnn-gradients, adding-problem, sequence-mnist and sunspots with tiny configs."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn_experiments import adding_problem, rnn_gradients, sequence_mnist, sunspots
from jaxnn_experiments._base import execute
from jaxnn.errors import JaxnnError
from jaxnn.nn import recurrent


def test_rnn_jacobians_equal_the_product_of_eq_182(x64, key):
    # ∂h_T/∂h_k = Π_{i=k+1}^{T} diag(f′(z_i)) U  (numerator layout; f′(z_i) = 1 − h_i² for tanh)
    T, H = 7, 4
    p = jax.tree.map(lambda a: a.astype(jnp.float64), recurrent.init(key, "rnn", 2, H))
    p["U"] = p["U"] * 1.3  # leave the orthogonal init so the factors are not all contractions
    x = jax.random.normal(jax.random.key(1), (T, 2), jnp.float64)
    jac = rnn_gradients.state_jacobians(p, "rnn", x)["h"]  # row k−1: ∂h_T/∂h_k
    hs, _ = recurrent.rnn(p, x[None], cell="rnn")
    hs = np.asarray(hs[0])
    prod = np.eye(H)
    for k in range(T, 0, -1):  # k = T … 1 (1-based), prod = ∂h_T/∂h_k
        np.testing.assert_allclose(jac[k - 1], prod, rtol=1e-10, atol=1e-14)
        if k >= 2:
            prod = prod @ (np.diag(1 - hs[k - 1] ** 2) @ np.asarray(p["U"]))
    # γ_i = ‖Uᵀ diag(f′(z_i))‖₂ and the sub-multiplicative bound ‖∂h_T/∂h_k‖ ≤ Π γ_i
    g = np.asarray(rnn_gradients.rnn_gammas(p, x))
    for i in range(T):
        m = np.asarray(p["U"]).T @ np.diag(1 - hs[i] ** 2)
        assert g[i] == pytest.approx(np.linalg.norm(m, 2), rel=1e-10)
    for k in range(1, T + 1):
        assert np.linalg.norm(jac[k - 1], 2) <= np.prod(g[k:]) * (1 + 1e-12)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_jacobians_match_a_restarted_scan(x64, key, cell):
    # independent route: restart the recurrence from (h_k, c_k) and differentiate forward.
    T, H, k = 6, 3, 2
    p = jax.tree.map(lambda a: a.astype(jnp.float64), recurrent.init(key, cell, 2, H))
    x = jax.random.normal(jax.random.key(2), (T, 2), jnp.float64)
    jac = rnn_gradients.state_jacobians(p, cell, x)
    lstm = cell == "lstm"
    _, state_k = recurrent.rnn(p, x[None, :k], cell=cell)  # state after step k

    def rest(h, c=None):
        s0 = (h[None], c[None]) if lstm else h[None]
        # autodiff scan: forward mode does not go through the hand-BPTT custom_vjp
        _, s = recurrent.rnn(p, x[None, k:], cell=cell, state0=s0, impl="autodiff")
        return s

    if lstm:
        h_k, c_k = state_k[0][0], state_k[1][0]
        dh = jax.jacfwd(lambda h: rest(h, c_k)[0][0])(h_k)
        dc = jax.jacfwd(lambda c: rest(h_k, c)[1][0])(c_k)
        np.testing.assert_allclose(jac["c"][k - 1], dc, rtol=1e-10, atol=1e-14)
    else:
        dh = jax.jacfwd(lambda h: rest(h)[0])(state_k[0])
    np.testing.assert_allclose(jac["h"][k - 1], dh, rtol=1e-10, atol=1e-14)


def test_state_jacobians_bad_input(key):
    p = recurrent.init(key, "rnn", 2, 3)
    with pytest.raises(JaxnnError, match=r"\(2, 5, 2\)"):
        rnn_gradients.state_jacobians(p, "rnn", jnp.zeros((2, 5, 2)))
    with pytest.raises(JaxnnError, match="'elman'"):
        rnn_gradients.state_jacobians(p, "elman", jnp.zeros((5, 2)))


TINY_TRAIN = {"steps": 20, "chunk": 10, "lr": 1e-2, "clip": 1.0}
TINY = {
    "rnn-gradients": {"T": 8, "cells": ["rnn"], "hidden": 4, "batch": 2,
                      "train": dict(TINY_TRAIN, T=6, batch=4)},
    "adding-problem": dict(TINY_TRAIN, lengths=[6], cells=["rnn", "lstm"], hidden=4, batch=4,
                           test_size=16, chrono=True),
    "sequence-mnist": dict(TINY_TRAIN, dataset="digits", view="rows", cells=["gru"], hidden=8,
                           batch=16, evals=2, chrono=False),
    "sunspots": dict(TINY_TRAIN, window=6, test_size=10, valid_fraction=0.2, cells=["lstm"],
                     hidden=4, seeds=1),
}
MODULES = {"rnn-gradients": rnn_gradients, "adding-problem": adding_problem,
           "sequence-mnist": sequence_mnist, "sunspots": sunspots}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TINY))
def test_experiment_smoke(name, tmp_path, monkeypatch):
    monkeypatch.setattr(MODULES[name], "QUICK", TINY[name])
    record = execute(name, quick=True, out=tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["experiment"] == name and saved["mode"] == "quick"
    assert saved["metrics"] and all(np.isfinite(v) for v in saved["metrics"].values())
    for plot in record["plots"]:
        assert (tmp_path / plot).stat().st_size > 1000
    m = saved["metrics"]
    if name == "adding-problem":
        assert m["baseline_mse"] == pytest.approx(1 / 6)
        assert 0.0 < m["test_mse_rnn_T6"] < 5.0
        assert 0.0 <= m["frac_abs_err_below_0.04_rnn_T6"] <= 1.0
        assert 0.0 < m["test_mse_lstm_T6"] < 5.0
    elif name == "rnn-gradients":
        # orthogonal U and tanh′ ≤ 1: every γ_i ≤ 1 at initialisation; the bound always holds
        assert m["gamma_max_rnn_init"] <= 1.0 + 1e-5
        assert m["bound_holds_fraction_rnn_init"] == 1.0
        assert m["bound_holds_fraction_rnn_trained"] == 1.0
    elif name == "sequence-mnist":
        assert 0.0 <= m["test_accuracy_gru"] <= 1.0
        assert m["test_error_gru"] == pytest.approx(1 - m["test_accuracy_gru"])
    else:
        assert m["test_rmse_naive"] > 0 and m["test_rmse_lstm"] > 0
        assert m["rmse_ratio_lstm_vs_naive"] == pytest.approx(
            m["test_rmse_lstm"] / m["test_rmse_naive"])


def test_adding_problem_rejects_bad_config(tmp_path):
    with pytest.raises(JaxnnError, match="T = 1"):
        adding_problem.run(dict(TINY["adding-problem"], lengths=[1]), tmp_path, 0)
    with pytest.raises(JaxnnError, match="'elman'"):
        adding_problem.run(dict(TINY["adding-problem"], cells=["elman"]), tmp_path, 0)
    with pytest.raises(JaxnnError, match="chrono must be true or false; got 'yes'"):
        adding_problem.run(dict(TINY["adding-problem"], chrono="yes"), tmp_path, 0)
