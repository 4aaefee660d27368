"""Multi-host data parallelism for real: two processes on this machine, joined through
``jax.distributed`` (gloo collectives on CPU), each with one device of a two-device mesh.

The README's multi-host command line, ``jaxnn run NAME --distributed --coordinator ...
--data-parallel``, runs here with a localhost coordinator; both processes must end with the
numbers a single process gets.
"""

import json
import os
import socket
import subprocess
import sys

import pytest

from jaxnn_experiments._base import execute


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    port = _free_port()
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    procs = [subprocess.Popen(
        [sys.executable, "-m", "jaxnn", "run", "mlp-mnist", "--quick", "--out",
         str(tmp_path / f"p{i}"), "--distributed", "--coordinator", f"127.0.0.1:{port}",
         "--num-processes", "2", "--process-id", str(i), "--data-parallel"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) for i in range(2)]
    outs = []
    for p in procs:
        try:
            outs.append(p.communicate(timeout=400)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("distributed run timed out")
    for i, (p, out) in enumerate(zip(procs, outs)):
        assert p.returncode == 0, out[-3000:]
        assert f"process {i} of 2: 1 local / 2 global device(s)" in out
    single = execute("mlp-mnist", quick=True, out=tmp_path / "single", seed=0)["metrics"]
    for i in range(2):
        metrics = json.loads((tmp_path / f"p{i}" / "results.json").read_text())["metrics"]
        for k in ("linear_test_error", "mlp_test_error", "mlp_final_train_loss"):
            assert metrics[k] == pytest.approx(single[k], rel=1e-4, abs=1e-6), (i, k)
