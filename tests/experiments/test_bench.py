"""``jaxnn bench`` plumbing: table columns, missing peers, peak memory, subprocess isolation.

Runs the scaling module at its TINY sizes (``JAXNN_BENCH_TINY=1``) so the whole file takes
seconds; it must pass without torch installed (torch-only checks are skipped then).
"""

import json

import jax
import jax.numpy as jnp
import pytest

import jaxnn_experiments.bench as bench
from jaxnn_experiments.bench import _timing, scaling


@pytest.fixture
def small_ceiling(monkeypatch):
    """A 128³ matmul for the ceiling instead of 1024³ (seconds on a loaded box)."""
    monkeypatch.setattr(bench, "matmul_gflops", lambda: _timing.matmul_gflops(128, repeat=3))


def test_peak_memory_of_a_matmul_covers_its_arguments_and_output():
    f = jax.jit(lambda a, b: a @ b)
    small = (jnp.ones((64, 32)), jnp.ones((32, 16)))
    big = (jnp.ones((256, 128)), jnp.ones((128, 64)))
    mb_small, mb_big = _timing.peak_memory_mb(f, *small), _timing.peak_memory_mb(f, *big)
    # float32: both arguments and the output are live at once
    assert mb_small >= (64 * 32 + 32 * 16 + 64 * 16) * 4 / 1e6
    assert mb_big >= (256 * 128 + 128 * 64 + 256 * 64) * 4 / 1e6 > mb_small
    seconds, mb = _timing.compile_stats(f, *big)
    assert seconds > 0 and mb == pytest.approx(mb_big)


def test_peak_memory_counts_temporaries():
    # tanh(a a) is an (n, n) intermediate that must exist before the second matmul: a
    # temporary, neither argument nor output (the output is one row)
    n = 256
    g = jax.jit(lambda a: (jnp.tanh(a @ a) @ a)[0])
    assert _timing.peak_memory_mb(g, jnp.ones((n, n))) >= (2 * n * n + n) * 4 / 1e6


def test_torch_live_set_counts_parameters_and_saved_activations():
    torch = pytest.importorskip("torch")
    lin = torch.nn.Linear(100, 50)
    x = torch.randn(10, 100)
    params = lin.weight.numel() + lin.bias.numel()
    mb = _timing.torch_live_mb(torch, [x, *lin.parameters()], lambda: torch.tanh(lin(x)).sum())
    # parameters + x + the tanh output saved for backward (x is saved by linear: counted once)
    assert mb == pytest.approx((params + 10 * 100 + 10 * 50) * 4 / 1e6)
    assert lin.weight.grad is not None                  # the loss was back-propagated


def test_table_ratio_and_matmul_share():
    rows = [{"model": "m", "config": "c", "impl": "jaxnn", "median_ms": 2.0, "gflops": 5.0,
             "peak_mb": 1.5},
            {"model": "m", "config": "c", "impl": "torch", "median_ms": 3.0},
            _timing.missing_row("m", "c", "flax", "flax not installed")]
    md = bench.table_markdown(rows, ceiling=50.0)
    jaxnn_line, torch_line, flax_line = md.splitlines()[4:7]
    assert "| 2.00 |  |  |  |  | 5.0 | 10 |" in jaxnn_line and "| 1.50 |" in jaxnn_line
    assert "| 1.50× |  |  |" in torch_line        # no rounds: a plain ratio, no range
    assert "flax not installed" in flax_line
    assert "Missing peers: flax (flax not installed: m)." in md


def test_tiny_bench_in_process_without_torch(tmp_path, monkeypatch, small_ceiling):
    monkeypatch.setenv("JAXNN_BENCH_TINY", "1")
    monkeypatch.setitem(scaling.TINY, "torch", True)           # ask for the peer ...
    monkeypatch.setattr(scaling, "torch_or_none", lambda: None)  # ... which is not installed
    assert bench.main(quick=True, out=tmp_path, modules=["scaling"], isolate=False) == 0
    md = (tmp_path / "bench.md").read_text()
    data = json.loads((tmp_path / "bench.json").read_text())
    assert "| " + " | ".join(bench.COLUMNS) + " |" in md
    command = f"jaxnn bench --quick --only scaling --out {tmp_path}"
    assert md.startswith(f"Command: `{command}`") and data["command"] == command
    assert len(data["load_average"]) == 2 and "Load average (1 min)" in md
    assert data["machine"]["cores"] >= 1 and f"Machine: {data['machine']['cpu']}, " in md
    assert data["matmul_gflops"] > 0 and data["quick"] is True
    rows = data["rows"]
    got = {(r["model"], r["config"], r["impl"]) for r in rows}
    B, D, H = scaling.TINY["lstm"]
    want = {("mlp scaling", f"16-8-4 B={b}", impl) for b in scaling.TINY["batches"]
            for impl in ("jaxnn", "torch")}
    want |= {("lstm scaling", f"B={B} D={D} H={H} T={T}", impl) for T in scaling.TINY["Ts"]
             for impl in ("jaxnn", "jaxnn[remat]")}
    assert got == want
    for r in rows:
        if r["impl"] == "torch":
            assert r["median_ms"] is None and r["missing"] == "torch not installed"
        else:
            assert r["median_ms"] > 0 and r["compile_s"] > 0 and r["peak_mb"] > 0
            assert r["gflops"] > 0
    assert "Missing peers: torch (torch not installed: mlp scaling)." in md
    assert data["missing_peers"] in md


def test_isolated_module_failure_is_reported_not_raised(tmp_path, small_ceiling):
    assert bench.main(quick=True, out=tmp_path, modules=["no_such_module"]) == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    err = data["modules"]["no_such_module"]["error"]
    assert err.startswith("exit 1:") and "no_such_module" in err
    assert data["rows"] == [] and "`no_such_module` failed" in (tmp_path / "bench.md").read_text()


def test_tiny_bench_in_subprocesses_merges_rows(tmp_path, monkeypatch, small_ceiling):
    monkeypatch.setenv("JAXNN_BENCH_TINY", "1")          # inherited by the subprocess
    assert bench.main(quick=True, out=tmp_path, modules=["scaling"], isolate=True) == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    info = data["modules"]["scaling"]
    assert info["rc"] == 0 and info["max_rss_mb"] > 50 and info["matmul_gflops"] > 0
    assert data["matmul_gflops"] == max(data["matmul_gflops_all"])
    jaxnn_rows = [r for r in data["rows"] if r["impl"].startswith("jaxnn")]
    assert len(jaxnn_rows) == len(scaling.TINY["batches"]) + 2 * len(scaling.TINY["Ts"])
    assert all(r["peak_mb"] > 0 for r in jaxnn_rows)
    assert "`scaling` ran in its own process" in (tmp_path / "bench.md").read_text()
    assert not list(tmp_path.glob(".bench-*.json"))      # the hand-over file is cleaned up


def test_machine_names_cpu_cores_vector_extensions_and_versions(tmp_path):
    from jaxnn_experiments import _machine

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\n"
                    "flags\t\t: fpu sse2 avx2 fma avx512f\n\n"
                    "processor\t: 1\nmodel name\t: Other\nflags\t\t: sse2\n")
    assert _machine._cpuinfo(str(info)) == ("Test CPU 9000",
                                            ["fpu", "sse2", "avx2", "fma", "avx512f"])
    assert _machine._cpuinfo(str(tmp_path / "absent")) == ("", [])
    d = _machine.describe()
    assert d["cores"] >= 1 and d["cpu"] and d["jax"] and set(d["simd"]) <= set(_machine._SIMD)
    fake = {"cpu": "Test CPU", "cores": 2, "simd": ["avx2"], "jax": "1.0", "jaxlib": "1.0",
            "torch": None}
    assert _machine.summary(fake) == "Test CPU, 2 cores (avx2), jax 1.0, jaxlib 1.0"


def test_reruns_table_puts_each_reruns_ratio_side_by_side():
    from jaxnn_experiments.bench import _reruns as reruns

    def run(r, lo, hi, flag=""):
        return {"command": "jaxnn bench --quick", "rows": [
            {"model": "m", "config": "c", "impl": "jaxnn", "median_ms": 1.0},
            {"model": "m", "config": "c", "impl": "torch[2t]", "ratio": r, "ratio_lo": lo,
             "ratio_hi": hi, "flag": flag}]}
    md = reruns.table([run(1.2, 1.1, 1.3), run(0.9, 0.5, 1.4, "rounds disagree")])
    assert "| m | c | torch[2t] | 1.20× [1.10–1.30] | 0.90× [0.50–1.40] ⚠ | no |" in md
    assert "jaxnn |" not in md.split("|---|")[-1]          # jaxnn has no ratio to itself
    assert "| yes |" in reruns.table([run(1.2, 1.1, 1.3), run(1.0, 1.0, 1.1)])
    with pytest.raises(ValueError, match="no bench.json"):
        reruns.table([])
