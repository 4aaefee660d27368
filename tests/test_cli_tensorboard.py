"""`jaxnn run ... --tensorboard DIR`: the JSONL training records stream to TensorBoard event
files (tensorboardX), which read back to the same numbers; without tensorboardX it is a clear
error naming the pip command, and jaxnn imports without it."""

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import optax
import pytest

from jaxnn import cli
from jaxnn.errors import JaxnnError
from jaxnn.train import fit, progress, read_jsonl, tensorboard

pytest.importorskip("tensorboardX")


def _fit(log_path=None, label="line", epochs=4):
    x = jnp.linspace(-1.0, 1.0, 32)[:, None]
    data = (x, 3.0 * x)
    loss = lambda p, b: jnp.mean((b[0] @ p["w"] - b[1]) ** 2)  # noqa: E731
    return fit({"w": jnp.zeros((1, 1))}, loss, optax.sgd(0.2), data, epochs=epochs,
               batch_size=8, key=jax.random.key(0), valid_data=data, log_path=log_path,
               progress=label)


def test_fit_streams_its_history_and_it_reads_back(tmp_path):
    with tensorboard.streaming(tmp_path / "tb"):
        res = _fit(log_path=tmp_path / "log.jsonl")
    scalars = tensorboard.read_scalars(tmp_path / "tb")
    assert list(scalars) == ["line"]
    assert set(scalars["line"]) == {"train_loss", "valid_loss", "time_s"}   # epoch is the step
    logged = read_jsonl(tmp_path / "log.jsonl")
    assert logged == res.history and len(logged) == 4
    for tag in ("train_loss", "valid_loss"):
        steps, values = zip(*scalars["line"][tag])
        assert steps == (1, 2, 3, 4)
        assert values == pytest.approx([r[tag] for r in logged], rel=1e-6)  # float32 events
    assert logged[-1]["train_loss"] < logged[0]["train_loss"]


def test_no_stream_outside_the_block_and_a_restarted_run_gets_a_new_folder(tmp_path):
    _fit()                                        # no stream active: nothing is written
    with tensorboard.streaming(tmp_path) as stream:
        _fit(epochs=2)
        _fit(epochs=3)                            # same label, steps start again at 1
        progress.append_jsonl(tmp_path / "mlp9.jsonl", {"tokens": 512, "valid_perplexity": 300.0,
                                                        "markers": "no"})
    assert stream._writers == {}                  # closed with the block
    scalars = tensorboard.read_scalars(tmp_path)
    assert sorted(scalars) == ["line", "line-2", "mlp9"]
    assert [s for s, _ in scalars["line"]["train_loss"]] == [1, 2]
    assert [s for s, _ in scalars["line-2"]["train_loss"]] == [1, 2, 3]
    assert scalars["mlp9"] == {"valid_perplexity": [(512, 300.0)]}


def test_a_corrupt_event_file_is_refused(tmp_path):
    with tensorboard.streaming(tmp_path):
        _fit(epochs=1)
    (path,) = tmp_path.rglob("events.out.tfevents.*")
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(JaxnnError, match="CRC mismatch"):
        tensorboard.read_scalars(tmp_path)


TINY = """
import jax, jax.numpy as jnp, optax
from jaxnn.train import fit
from jaxnn_experiments._base import Result

TITLE = "A tiny fit"
QUICK = {"epochs": 3}
FULL = QUICK


def run(config, out, seed):
    x = jnp.linspace(-1.0, 1.0, 16)[:, None]
    res = fit({"w": jnp.zeros((1, 1))}, lambda p, b: jnp.mean((b[0] @ p["w"] - 2 * b[0]) ** 2),
              optax.sgd(0.2), (x,), epochs=config["epochs"], batch_size=4,
              key=jax.random.key(seed), progress="tiny fit")
    return Result(metrics={"train_loss": res.history[-1]["train_loss"]},
                  extra={"history": res.history})
"""


@pytest.fixture
def tiny(tmp_path, register_experiment):
    register_experiment("tiny", "tiny_tb_exp", TINY)
    return tmp_path


def test_jaxnn_run_tensorboard_writes_the_runs_scalars(tiny, capsys):
    import json

    tb = tiny / "tb"
    assert cli.main(["run", "tiny", "--quick", "--out", str(tiny / "out"),
                     "--tensorboard", str(tb)]) == 0
    history = json.loads((tiny / "out" / "results.json").read_text())["extra"]["history"]
    scalars = tensorboard.read_scalars(tb / "tiny")
    assert list(scalars) == ["tiny_fit"]
    assert scalars["tiny_fit"]["train_loss"] == [
        (r["epoch"], pytest.approx(r["train_loss"], rel=1e-6)) for r in history]


def test_without_tensorboardx_the_option_is_a_clear_error(tiny, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)       # import -> ImportError
    assert cli.main(["run", "tiny", "--quick", "--out", str(tiny / "out"),
                     "--tensorboard", str(tiny / "tb")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'jaxnn[tensorboard]'" in err and "tensorboardX==2.6.5" in err
    assert not (tiny / "out").exists() and not (tiny / "tb").exists()   # refused up front


def test_jaxnn_imports_and_trains_without_tensorboardx(tmp_path):
    code = textwrap.dedent("""
        import sys
        sys.modules["tensorboardX"] = None          # as if it were not installed
        import jaxnn, jaxnn.cli, jaxnn.train
        from jaxnn.train import progress
        progress.append_jsonl(None, {"epoch": 1, "train_loss": 0.5})
        print("OK")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr
