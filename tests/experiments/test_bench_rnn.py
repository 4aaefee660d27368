"""Smoke test of the recurrent benchmark at toy sizes (no PyTorch needed)."""

import math
import subprocess
import sys

import pytest

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
    assert bench.gates("lstm") == 4 and bench.gates("gru") == 3 and bench.gates("rnn") == 1


def test_the_simple_rnn_is_benched_against_flax_simple_cell():
    rows = bench.bench_cell("rnn", 2, 3, 4, 5, rounds=1, repeat=1, torch_peer=False)
    assert {r["impl"] for r in rows} == {"jaxnn", "jaxnn[autodiff]", "flax"}
    by = {r["impl"]: r for r in rows}
    # FLOPs of the step: 3 x 2*H*(H+D) per token, B*T tokens, at the same time for every impl
    assert by["jaxnn"]["gflops"] * by["jaxnn"]["median_ms"] == \
        pytest.approx(3 * 2 * 4 * (4 + 3) * 2 * 5 / 1e6)


def _in_split_process(body: str) -> str:
    """stdout of ``body`` run in a fresh process whose CPU is split in two (what the bench's
    subprocess does first), with ``rnn`` the bench module."""
    code = ("from jaxnn_experiments.bench import rnn\n"
            "from jaxnn.train import parallel\n"
            "parallel.split_host_cpu(2)\n" + body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=300).stdout


def test_split_rows_time_the_step_sharded_over_the_cpu_devices():
    # each size also gets rows of jaxnn's sharded step against the same peers and itself
    out = _in_split_process(
        "rows = rnn.bench_cell('lstm', 4, 3, 4, 5, rounds=2, repeat=1, torch_peer=False)\n"
        "for r in rows:\n"
        "    print('ROW', r['config'], '|', r['impl'], '|', r.get('ratio'))\n")
    rows = [ln[4:].split(" | ") for ln in out.splitlines() if ln.startswith("ROW ")]
    split = "B=4 D=3 H=4 T=5, batch over 2 CPU devices"
    assert {impl for cfg, impl, _ in rows if cfg == split} == {"jaxnn", bench.ONE_DEVICE, "flax"}
    assert {impl for cfg, impl, _ in rows if cfg == "B=4 D=3 H=4 T=5"} == {
        "jaxnn", "jaxnn[autodiff]", "flax"}
    ratios = {impl: r for cfg, impl, r in rows if cfg == split}
    assert ratios["jaxnn"] == "None" and float(ratios[bench.ONE_DEVICE]) > 0


def test_no_split_rows_on_one_device():
    rows = bench.bench_cell("lstm", 4, 3, 4, 5, rounds=1, repeat=1, torch_peer=False)
    assert all("CPU devices" not in r["config"] for r in rows)


def test_an_odd_batch_gets_no_split_rows():
    out = _in_split_process(
        "rows = rnn.bench_cell('gru', 3, 3, 4, 5, rounds=1, repeat=1, torch_peer=False)\n"
        "print('SPLIT', sum('CPU devices' in r['config'] for r in rows))\n")
    assert "SPLIT 0" in out


def test_a_jaxnn_only_cell_runs_without_the_flax_peer():
    steps, x = bench._jax_steps("gru", 2, 3, 4, 5, ["custom_vjp"], cell="gru")
    assert set(steps) == {"custom_vjp"} and x.shape == (2, 5, 3)
    step, p = steps["custom_vjp"]
    assert "bU" not in p                               # the reset-before GRU's parameters
    assert math.isfinite(float(step(p, x)[1]))
