"""Smoke test of the recurrent benchmark at toy sizes (no PyTorch needed)."""

import math

from jaxnn.nn import cells, recurrent
from jaxnn_experiments.bench import rnn as bench


def test_bench_rows_are_complete_and_sane():
    rows = bench.bench_cell("gru", 2, 3, 4, 5, rounds=1, repeat=2, torch_peer=False)
    default = recurrent.resolve_impl(cells.get("gru_reset_after"), recurrent.DEFAULT_IMPL)
    assert default == "custom_vjp"            # "auto" picks the hand BPTT for the built-in GRU
    assert {r["impl"] for r in rows} == {"jaxnn", "jaxnn[custom_vjp]", "jaxnn[autodiff]",
                                         "flax"} - {f"jaxnn[{default}]"}
    for r in rows:
        assert r["model"] == "gru" and r["config"] == "B=2 D=3 H=4 T=5"
        assert r["median_ms"] > 0 and math.isfinite(r["gflops"]) and r["gflops"] > 0
    rows = bench.compile_rows("lstm", 2, 3, 4, Ts=(3,))
    assert len(rows) == 3 and all(r["compile_s"] > 0 for r in rows)


def test_gate_counts_come_from_the_cells():
    assert bench.gates("lstm") == 4 and bench.gates("gru") == 3
