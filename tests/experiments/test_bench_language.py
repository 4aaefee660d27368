"""Smoke test of the language-model benchmark at toy sizes (no PyTorch needed)."""

import importlib.util
import math

from jaxnn_experiments import bench
from jaxnn_experiments.bench import language


def test_language_bench_rows_are_complete_and_sane():
    rows = language.bench_nplm(V=50, n=3, m=4, h=5, B=8, rounds=2, repeat=2)
    rows += language.bench_lstm_lm(V=50, m=4, h=6, T=5, B=3, rounds=2, repeat=2)
    ours = [r for r in rows if r["impl"] == "jaxnn"]
    assert [r["model"] for r in ours] == ["nplm", "lstm-lm"]
    for r in ours:
        assert r["median_ms"] > 0 and len(r["rounds_ms"]) == 2
        assert math.isclose(r["tokens_per_s"], (8 if r["model"] == "nplm" else 15)
                            / (r["median_ms"] * 1e-3))
        assert math.isfinite(r["gflops"]) and r["gflops"] > 0 and r["compile_s"] > 0
    peers = [r for r in rows if r["impl"] != "jaxnn"]
    if importlib.util.find_spec("torch") is None:
        assert [r["impl"] for r in peers] == ["torch", "torch"]
        assert all(r["missing"] == "torch not installed" for r in peers)
    else:  # torch at 1 and 2 threads, each with its median per-round ratio and range
        assert [r["impl"] for r in peers] == ["torch[1t]", "torch[2t]"] * 2
        for r in peers:
            assert r["ratio_lo"] <= r["ratio"] <= r["ratio_hi"] and len(r["rounds_ms"]) == 2
            assert math.isclose(r["tokens_per_s"], (8 if r["model"] == "nplm" else 15)
                                / (r["median_ms"] * 1e-3))
    md = bench.table_markdown(rows, ceiling=10.0)
    assert "lstm-lm" in md and "tokens/s" in md


def test_flop_counts():
    # MLP1 at Brown's |V|: 3 × 2 × (50·240 + 17905·50 + 17905·240) per window
    assert language.nplm_flops(17905, 5, 60, 50, True) == 6 * (50 * 240 + 17905 * 290)
    assert "language" in bench.ORDER
