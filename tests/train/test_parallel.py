import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxnn.errors import JaxnnError
from jaxnn.train import parallel

SCRIPT = Path(__file__).with_name("_sharded_run.py")


def _run(n_dev: int, out: Path) -> dict:
    subprocess.run([sys.executable, str(SCRIPT), str(n_dev), str(out)], check=True,
                   timeout=300)
    with np.load(out) as f:
        return dict(f)


@pytest.mark.slow
def test_eight_devices_match_one_device(tmp_path):
    one = _run(1, tmp_path / "one.npz")
    eight = _run(8, tmp_path / "eight.npz")
    assert set(one) == set(eight)
    for k in one:
        np.testing.assert_allclose(eight[k], one[k], rtol=2e-5, atol=2e-6, err_msg=k)
    # the run really trained (loss well below ln 10 of a uniform guess)
    assert one["loss"] < 1.0


def test_batch_not_divisible_is_a_clear_error(tmp_path):
    code = ("import os; os.environ['XLA_FLAGS']='--xla_force_host_platform_device_count=8'\n"
            "import numpy as np\n"
            "from jaxnn.train import parallel\n"
            "from jaxnn.errors import JaxnnError\n"
            "try:\n"
            "    parallel.shard_batch((np.zeros((10, 2)), np.zeros(10)), parallel.make_mesh())\n"
            "except JaxnnError as e:\n"
            "    print('ERR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert "ERR batch size 10 does not divide over 8 devices" in out


def test_batch_arrays_must_agree():
    mesh = parallel.make_mesh()
    with pytest.raises(JaxnnError, match=r"sizes \[3, 4\]"):
        parallel.shard_batch((np.zeros((3, 2)), np.zeros(4)), mesh)


def test_missing_backend_is_named():
    missing = next(b for b in ("tpu", "gpu") if b not in parallel.available_backends())
    with pytest.raises(JaxnnError, match=f"backend '{missing}' is not present"):
        parallel.make_mesh(backend=missing)


def test_num_devices_range():
    with pytest.raises(JaxnnError, match="num_devices"):
        parallel.make_mesh(len(jax.devices()) + 1)


def test_empty_batch_is_refused():
    with pytest.raises(JaxnnError, match="batch size must be >= 1"):
        parallel.shard_batch((np.zeros((0, 2)), np.zeros(0)), parallel.make_mesh())


def test_split_host_cpu_in_a_fresh_process():
    # before JAX runs anything it splits the CPU (overriding the XLA flag); a second call with
    # the same count is fine; another count, once the backend has started, is a clear error
    code = ("import os; os.environ['XLA_FLAGS']='--xla_force_host_platform_device_count=4'\n"
            "import jax\n"
            "from jaxnn.train import parallel\n"
            "from jaxnn.errors import JaxnnError\n"
            "print('DEV', len(parallel.split_host_cpu(2)), len(jax.devices('cpu')))\n"
            "print('AGAIN', len(parallel.split_host_cpu(2)))\n"
            "try:\n"
            "    parallel.split_host_cpu(3)\n"
            "except JaxnnError as e:\n"
            "    print('ERR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert "DEV 2 2" in out and "AGAIN 2" in out
    assert "ERR the CPU backend already started with 2 device(s), so it cannot be split " \
           "into 3" in out


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_split_host_cpu_refuses_a_bad_count(bad):
    with pytest.raises(JaxnnError, match="num_devices must be a positive integer"):
        parallel.split_host_cpu(bad)


def test_split_host_cpu_after_start_names_the_counts():
    jax.devices()                                    # this process's backend has started
    n = len(jax.devices("cpu"))
    assert parallel.split_host_cpu(n) == jax.devices("cpu")
    with pytest.raises(JaxnnError, match=f"already started with {n} device"):
        parallel.split_host_cpu(n + 1)
