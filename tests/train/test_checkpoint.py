"""Checkpoints: a run killed with SIGKILL and resumed ends with the same parameters as an
uninterrupted run; a different model's folder is refused; round trip of the state."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn.errors import JaxnnError
from jaxnn.train import Checkpointer, fit, read_jsonl

# One training script, run in a child process (to be killed) and in this process.
SCRIPT = textwrap.dedent("""
    import sys, time
    import jax, jax.numpy as jnp, numpy as np, optax
    from jaxnn.nn.layers import dense, dropout
    from jaxnn.train import fit

    def data():
        rng = np.random.default_rng(0)
        x = rng.standard_normal((40, 5)).astype(np.float32)
        y = (x[:, 0] - x[:, 1] > 0).astype(np.int32)
        return x, y

    def init():
        k1, k2 = jax.random.split(jax.random.key(0))
        return {"h": {"W": 0.5 * jax.random.normal(k1, (8, 5)), "b": jnp.zeros(8)},
                "o": {"W": 0.5 * jax.random.normal(k2, (2, 8)), "b": jnp.zeros(2)}}

    def loss(p, batch, key):
        x, y = batch
        h = dropout(jnp.tanh(dense(p["h"], x)), 0.2, key=key, train=key is not None)
        logits = dense(p["o"], h)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def train(ckpt, epochs, sleep=0.0, log=None):
        x, y = data()
        return fit(init(), loss, optax.sgd(0.1, momentum=0.9), (x, y), epochs=epochs,
                   batch_size=8, key=jax.random.key(42), valid_data=(x[:16], y[:16]),
                   checkpoint_dir=ckpt, progress=False, log_path=log,
                   callback=(lambda r: time.sleep(sleep)) if sleep else None)

    if __name__ == "__main__":
        train(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
""")

EPOCHS = 8


def _load_script(tmp_path: Path):
    path = tmp_path / "train_script.py"
    path.write_text(SCRIPT)
    sys.path.insert(0, str(tmp_path))
    try:
        import importlib

        import train_script
        return importlib.reload(train_script), path
    finally:
        sys.path.remove(str(tmp_path))


def _epochs_saved(ckpt: Path) -> list[int]:
    return sorted(int(p.name) for p in ckpt.glob("*") if p.name.isdigit()) if ckpt.exists() else []


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_parameters(tmp_path):
    mod, script = _load_script(tmp_path)
    ckpt = tmp_path / "ckpt"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    log = tmp_path / "log.jsonl"
    child = subprocess.Popen([sys.executable, str(script), str(ckpt), str(EPOCHS), "0.3",
                              str(log)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not any(e >= 3 for e in _epochs_saved(ckpt)):
            assert child.poll() is None, child.stdout.read().decode()[-2000:]
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    killed_at = Checkpointer(ckpt).latest_epoch()
    assert killed_at is not None and 3 <= killed_at < EPOCHS, killed_at

    resumed = mod.train(str(ckpt), EPOCHS, log=log)  # picks up at killed_at + 1
    fresh = mod.train(None, EPOCHS)                  # never interrupted, no checkpoints
    assert len(resumed.history) == len(fresh.history) == EPOCHS
    chex.assert_trees_all_equal(resumed.params, fresh.params)
    chex.assert_trees_all_equal(resumed.opt_state, fresh.opt_state)
    chex.assert_trees_all_equal(resumed.best_params, fresh.best_params)
    assert resumed.best_epoch == fresh.best_epoch
    np.testing.assert_array_equal([r["train_loss"] for r in resumed.history],
                                  [r["train_loss"] for r in fresh.history])

    # the log was rewritten from the restored history: one line per epoch, no repeats
    assert [r["epoch"] for r in read_jsonl(log)] == list(range(1, EPOCHS + 1))

    # a finished run resumes to itself without training further
    again = mod.train(str(ckpt), EPOCHS)
    chex.assert_trees_all_equal(again.params, fresh.params)


def _quad(p, batch, key=None):
    return jnp.mean((batch[0] @ p["W"].T - batch[1]) ** 2)


def test_checkpoint_of_a_different_model_is_refused(tmp_path):
    x = np.ones((6, 3), np.float32)
    y = np.ones((6, 1), np.float32)
    fit({"W": jnp.zeros((1, 3))}, _quad, optax.sgd(0.1), (x, y), epochs=1,
        key=jax.random.key(0), checkpoint_dir=tmp_path, progress=False)
    x4 = np.ones((6, 4), np.float32)
    with pytest.raises(JaxnnError, match=r"different model.*\['W'\].*\[1, 3\].*\[1, 4\]"):
        fit({"W": jnp.zeros((1, 4))}, _quad, optax.sgd(0.1), (x4, y), epochs=2,
            key=jax.random.key(0), checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(JaxnnError, match="not in the checkpoint"):
        fit({"W": jnp.zeros((1, 3)), "b": jnp.zeros(1)}, _quad, optax.sgd(0.1), (x, y),
            epochs=2, key=jax.random.key(0), checkpoint_dir=tmp_path, progress=False)


def test_round_trip_of_state_with_typed_key(tmp_path):
    opt = optax.adam(1e-3)
    p = {"W": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(2)}
    state = {"params": p, "opt_state": opt.init(p), "best_params": p,
             "key": jax.random.key(7)}
    ck = Checkpointer(tmp_path)
    ck.save(5, state, {"epoch": 5, "history": [{"epoch": 5, "train_loss": 0.5}]})
    zero = jax.tree.map(jnp.zeros_like, p)
    template = {"params": zero, "opt_state": opt.init(zero), "best_params": zero,
                "key": jax.random.key(0)}
    got, meta = Checkpointer(tmp_path).restore(template)
    chex.assert_trees_all_equal(got["params"], p)
    chex.assert_trees_all_equal(got["opt_state"], state["opt_state"])
    np.testing.assert_array_equal(jax.random.key_data(got["key"]),
                                  jax.random.key_data(jax.random.key(7)))
    assert meta["epoch"] == 5 and meta["history"][0]["train_loss"] == 0.5
    with pytest.raises(JaxnnError, match="no checkpoint"):
        Checkpointer(tmp_path / "empty").restore(template)
