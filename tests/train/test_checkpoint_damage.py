"""Checkpoints that survive damage: every kind of damage to the newest checkpoint is reported
with a warning naming it and the previous intact step is used; with none intact, a clear
JaxnnError. Non-finite trees are never saved. Resuming with another optimizer, other
hyperparameters or another training config is refused, saying how to start fresh."""

import re
import shutil
import warnings

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn.errors import JaxnnError
from jaxnn.train import Checkpointer, fit
from jaxnn.train.checkpoint import CheckpointWarning

OPT = optax.adam(1e-3)


def _state(v: float):
    p = {"layer1": {"W": jnp.full((32, 16), v) + jnp.arange(16.0)[None, :], "b": jnp.full(32, v)},
         "layer2": {"W": jnp.full((4, 32), -v), "b": jnp.zeros(4)}}
    return {"params": p, "opt_state": OPT.init(p), "best_params": p,
            "key": jax.random.key(int(v))}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A folder with intact checkpoints 1 and 2 (values 1.0 and 2.0), written by orbax."""
    d = tmp_path_factory.mktemp("pristine") / "ck"
    ck = Checkpointer(d, max_to_keep=2)
    ck.save(1, _state(1.0), {"epoch": 1})
    ck.save(2, _state(2.0), {"epoch": 2})
    ck.close()
    return d


def _data_files(step):
    files = sorted((step / "state" / "d").iterdir(), key=lambda f: -f.stat().st_size)
    assert files and files[0].stat().st_size > 100
    return files


def _truncate(f, keep=0.5):
    b = f.read_bytes()
    f.write_bytes(b[:int(len(b) * keep)])


def _flip(f, where):
    b = bytearray(f.read_bytes())
    b[int(where * (len(b) - 1))] ^= 0xFF
    f.write_bytes(bytes(b))


def _meta(step):
    return step / "meta" / "metadata"


def _swap_state(step):  # valid orbax arrays, but another step's: only the checksum can tell
    shutil.rmtree(step / "state")
    shutil.copytree(step.parent / "1" / "state", step / "state")


def _alter_checksum(step):
    text = _meta(step).read_text()
    digest = re.search(r'"params": "([0-9a-f]{64})"', text).group(1)
    _meta(step).write_text(text.replace(digest, "0" * 64))


def _empty(step):
    shutil.rmtree(step)
    step.mkdir()


DAMAGE = {
    "data file truncated to half": lambda s: _truncate(_data_files(s)[0]),
    "data file truncated to 0 bytes": lambda s: _truncate(_data_files(s)[0], 0.0),
    "data file: first byte flipped": lambda s: _flip(_data_files(s)[0], 0.0),
    "data file: middle byte flipped": lambda s: _flip(_data_files(s)[0], 0.5),
    "data file: last byte flipped": lambda s: _flip(_data_files(s)[0], 1.0),
    "data file deleted": lambda s: _data_files(s)[0].unlink(),
    "manifest deleted": lambda s: (s / "state" / "manifest.ocdbt").unlink(),
    "manifest truncated": lambda s: _truncate(s / "state" / "manifest.ocdbt"),
    "manifest overwritten": lambda s: (s / "state" / "manifest.ocdbt").write_bytes(b"garbage"),
    "array metadata deleted": lambda s: (s / "state" / "_METADATA").unlink(),
    "array metadata broken": lambda s: (s / "state" / "_METADATA").write_text("{not json"),
    "meta deleted": lambda s: _meta(s).unlink(),
    "meta broken JSON": lambda s: _meta(s).write_text('{"epoch": 2, '),
    "meta without checksums": lambda s: _meta(s).write_text('{"epoch": 2}'),
    "meta checksum altered": _alter_checksum,
    "arrays of another step": _swap_state,
    "state folder deleted": lambda s: shutil.rmtree(s / "state"),
    "empty step folder": _empty,
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_newest_checkpoint_falls_back_to_the_previous_one(pristine, tmp_path, kind,
                                                                  capfd):
    d = tmp_path / "ck"
    shutil.copytree(pristine, d)
    DAMAGE[kind](d / "2")
    capfd.readouterr()
    with pytest.warns(CheckpointWarning, match=r"checkpoint epoch 2 .* damaged.*epoch 1"):
        state, meta = Checkpointer(d).restore(_state(0.0))
    assert meta["epoch"] == 1
    chex.assert_trees_all_equal(state["params"], _state(1.0)["params"])
    chex.assert_trees_all_equal(state["opt_state"], _state(1.0)["opt_state"])
    np.testing.assert_array_equal(jax.random.key_data(state["key"]),
                                  jax.random.key_data(jax.random.key(1)))
    assert "Traceback" not in capfd.readouterr().err  # no raw orbax/tensorstore traceback
    # the damaged step is kept for inspection, out of the way of the next save
    assert not (d / "2").exists() and len(list((d / "damaged").iterdir())) == 1
    ck = Checkpointer(d)
    ck.save(2, _state(3.0), {"epoch": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again, meta = ck.restore(_state(0.0))
    assert meta["epoch"] == 2
    chex.assert_trees_all_equal(again["params"], _state(3.0)["params"])


def test_no_intact_checkpoint_is_a_clear_error(pristine, tmp_path, capfd):
    d = tmp_path / "ck"
    shutil.copytree(pristine, d)
    DAMAGE["data file: middle byte flipped"](d / "2")
    DAMAGE["meta broken JSON"](d / "1")
    with pytest.warns(CheckpointWarning), \
            pytest.raises(JaxnnError, match=r"no intact checkpoint.*epoch 2: .*epoch 1: .*"
                                            r"start fresh"):
        Checkpointer(d).restore(_state(0.0))
    assert "Traceback" not in capfd.readouterr().err
    with pytest.warns(CheckpointWarning), pytest.raises(JaxnnError, match="epoch 2"):
        Checkpointer(d).restore(_state(0.0), epoch=2)


# --------------------------------------------------------------------------- through fit


def _data(n=24):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    return x, y


def _loss(p, batch, key=None):
    x, y = batch
    return jnp.mean((x @ p["W"].T + p["b"][None, :] - y) ** 2)


def _params():
    return {"W": jnp.zeros((1, 3)), "b": jnp.zeros(1)}


def _fit(ckpt, opt=None, epochs=3, batch_size=8, key=0, data=None):
    return fit(_params(), _loss, opt or optax.adam(1e-2), data or _data(), epochs=epochs,
               batch_size=batch_size, key=jax.random.key(key), checkpoint_dir=ckpt,
               progress=False)


def test_fit_resumes_from_the_previous_step_when_the_newest_is_damaged(tmp_path):
    _fit(tmp_path / "ck", epochs=3)
    DAMAGE["data file: middle byte flipped"](tmp_path / "ck" / "3")
    with pytest.warns(CheckpointWarning, match="epoch 3"):
        resumed = _fit(tmp_path / "ck", epochs=3)
    fresh = _fit(None, epochs=3)
    chex.assert_trees_all_equal(resumed.params, fresh.params)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]


def test_fit_with_every_checkpoint_damaged_raises_instead_of_starting_over(tmp_path):
    _fit(tmp_path / "ck", epochs=2)
    for step in ("1", "2"):
        _empty(tmp_path / "ck" / step)
    with pytest.warns(CheckpointWarning), pytest.raises(JaxnnError, match="no intact"):
        _fit(tmp_path / "ck", epochs=3)


# --------------------------------------------------------------------------- non-finite


def test_a_non_finite_tree_is_never_saved(tmp_path):
    s = _state(1.0)
    s["params"]["layer2"]["W"] = s["params"]["layer2"]["W"].at[0, 0].set(jnp.nan)
    ck = Checkpointer(tmp_path / "ck")
    with pytest.raises(JaxnnError, match=r"checkpoint 1.*params\['layer2'\]\['W'\].*1 of 128"):
        ck.save(1, s, {"epoch": 1})
    assert ck.epochs() == []
    s = _state(1.0)  # an optimizer state holding inf is refused too
    mu = s["opt_state"][0].mu
    s["opt_state"] = (s["opt_state"][0]._replace(mu={**mu, "layer1": {
        **mu["layer1"], "b": jnp.full(32, jnp.inf)}}),) + tuple(s["opt_state"][1:])
    with pytest.raises(JaxnnError, match=r"opt_state.*mu.*layer1.*\['b'\]"):
        ck.save(1, s, {"epoch": 1})


def test_fit_stops_before_saving_nan_parameters_and_keeps_the_last_good_checkpoint(tmp_path):
    # the loss stays finite (0 at W = 0) while its gradient is NaN: W becomes NaN
    def loss(p, batch, key=None):
        return jnp.sqrt(jnp.sum(p["W"] ** 2)) + 0.0 * jnp.sum(batch[0])

    x, y = _data()
    with pytest.raises(JaxnnError, match=r"params\['W'\]"):
        fit(_params(), loss, optax.sgd(0.1), (x, y), epochs=2, batch_size=None,
            key=jax.random.key(0), checkpoint_dir=tmp_path / "ck", progress=False)
    assert Checkpointer(tmp_path / "ck").epochs() == []


# --------------------------------------------------------------------------- signatures


def test_resuming_with_another_learning_rate_is_refused(tmp_path):
    _fit(tmp_path / "ck", opt=optax.adam(1e-3), epochs=2)
    with pytest.raises(JaxnnError, match=r"different training run.*step_size: stored -0.001, "
                                         r"given -0.1.*start fresh"):
        _fit(tmp_path / "ck", opt=optax.adam(1e-1), epochs=4)
    with pytest.raises(JaxnnError, match=r"different training run.*optimizer"):
        _fit(tmp_path / "ck", opt=optax.sgd(1e-3), epochs=4)


def test_resuming_with_another_training_config_is_refused(tmp_path):
    _fit(tmp_path / "ck", epochs=2)
    with pytest.raises(JaxnnError, match=r"batch_size: stored 8, given 6.*start fresh"):
        _fit(tmp_path / "ck", epochs=4, batch_size=6)
    with pytest.raises(JaxnnError, match=r"different training run.*key"):
        _fit(tmp_path / "ck", epochs=4, key=1)
    x, y = _data(32)
    with pytest.raises(JaxnnError, match=r"n: stored 24, given 32"):
        _fit(tmp_path / "ck", epochs=4, data=(x, y))
    # the same run may grow its epochs: that resumes
    longer = _fit(tmp_path / "ck", epochs=4)
    chex.assert_trees_all_equal(longer.params, _fit(None, epochs=4).params)


def test_readme_example_changing_adam_rate_does_not_return_the_old_run(tmp_path):
    from jaxnn.models import mlp

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(40, 8)).astype(np.float32)
    y = rng.integers(0, 3, 40).astype(np.int32)
    config = mlp.MLPConfig((8, 16, 3), activation="relu", dropout=0.1)
    params = mlp.init(jax.random.key(0), config)

    def loss(p, batch, key=None):
        return mlp.loss(p, batch, config=config, key=key)

    def run(opt):
        return fit(params, loss, opt, (x, y), epochs=2, batch_size=8, key=jax.random.key(1),
                   checkpoint_dir=tmp_path / "ckpt", progress=False)

    run(optax.adam(1e-3))
    with pytest.raises(JaxnnError, match="start fresh"):
        run(optax.adam(1e-1))
