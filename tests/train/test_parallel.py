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
