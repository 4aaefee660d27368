"""The MLP benchmark runs on a tiny network and reports a missing peer instead of failing."""

import math

from jaxnn_experiments.bench import mlp


def test_tiny_bench_rows(monkeypatch):
    monkeypatch.setattr(mlp, "torch_or_none", lambda: None)  # as if torch were not installed
    rows = mlp.bench_config((16, 8, 4), 4, impls=("jaxnn", "flax-split", "torch"),
                            rounds=1, per_round=2)
    by = {r["impl"]: r for r in rows}
    assert set(by) == {"jaxnn", "flax-split", "torch"}
    assert by["torch"]["median_ms"] is None and "not installed" in by["torch"]["missing"]
    for impl in ("jaxnn", "flax-split"):
        r = by[impl]
        assert r["median_ms"] > 0 and r["config"] == "16-8-4 B4"
        assert math.isclose(r["gflops"], mlp.step_flops((16, 8, 4), 4) / (r["median_ms"] * 1e6))


def test_step_flops_counts_forward_and_backward():
    # P = 784·800 + 800·10; forward 2BP + weight grads 2BP + input grads 2B(P − 784·800)
    P = 784 * 800 + 800 * 10
    assert mlp.step_flops((784, 800, 10), 128) == 2 * 128 * P * 2 + 2 * 128 * (P - 784 * 800)
