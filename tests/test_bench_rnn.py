"""Smoke test of the recurrent benchmark at toy sizes (no PyTorch needed)."""

import math

from jaxnn_experiments.bench import rnn as bench


def test_bench_rows_are_complete_and_sane():
    rows = bench.bench_cell("gru", 2, 3, 4, 5, rounds=1, repeat=2, torch_peer=False)
    assert {r["impl"] for r in rows} == {"jaxnn", "jaxnn[custom_vjp]", "jaxnn[autodiff]",
                                         "flax"} - {f"jaxnn[{bench_default()}]"}
    for r in rows:
        assert r["model"] == "gru" and r["config"] == "B=2 D=3 H=4 T=5"
        assert r["median_ms"] > 0 and math.isfinite(r["gflops"]) and r["gflops"] > 0
    rows = bench.compile_rows("lstm", 2, 3, 4, Ts=(3,))
    assert len(rows) == 3 and all(r["compile_s"] > 0 for r in rows)


def bench_default():
    from jaxnn.nn.recurrent import DEFAULT_IMPL
    return DEFAULT_IMPL
