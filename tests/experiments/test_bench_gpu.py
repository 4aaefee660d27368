"""The GPU benchmark is opt-in and skips cleanly where JAX has no GPU (this suite's machines)."""

import jax
import pytest

import jaxnn_experiments.bench as bench
from jaxnn_experiments.bench import gpu


def test_gpu_module_is_opt_in():
    assert "gpu" in bench.OPT_IN and "gpu" not in bench._modules()


@pytest.mark.skipif(jax.default_backend() == "gpu", reason="this machine has a GPU")
def test_without_a_gpu_it_returns_missing_rows_only(tmp_path, monkeypatch):
    assert gpu.jax_gpu() is None
    rows = gpu.run(quick=True)
    assert [r["config"] for r in rows] == ["B={} D={} H={} T={}".format(*gpu.SIZES[0])]
    assert all(r["median_ms"] is None and "no GPU" in r["missing"] for r in rows)
    monkeypatch.setattr(bench, "matmul_gflops", lambda: 1.0)
    assert bench.main(quick=True, out=tmp_path, modules=["gpu"], isolate=False) == 0
    assert "no GPU" in (tmp_path / "bench.md").read_text()


def test_a_torch_without_cuda_is_not_used(monkeypatch):
    class NoCuda:
        class cuda:
            @staticmethod
            def is_available():
                return False

    monkeypatch.setattr(gpu, "torch_or_none", lambda: NoCuda)
    assert gpu.torch_cuda() is None
    monkeypatch.setattr(gpu, "torch_or_none", lambda: None)
    assert gpu.torch_cuda() is None


def test_rows_at_toy_sizes_with_the_cpu_standing_in(monkeypatch):
    monkeypatch.setattr(gpu, "_device", lambda: jax.devices("cpu")[0])
    rows = gpu.bench_size(2, 3, 4, 5, rounds=2, per_round=1, torch=None)
    by = {r["impl"]: r for r in rows}
    assert set(by) == {"jaxnn", "jaxnn[autodiff]", "flax", "torch[cudnn]"}
    assert by["torch[cudnn]"]["missing"] == "torch sees no CUDA device"
    for k in ("jaxnn", "jaxnn[autodiff]", "flax"):
        assert by[k]["median_ms"] > 0 and len(by[k]["rounds_ms"]) == 2
    assert by["flax"]["ratio"] > 0 and "ratio" not in by["jaxnn"]
