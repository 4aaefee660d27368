import json

import pytest

from experiments import cli
from experiments._base import discover, load
from jaxnn.errors import JaxnnError


def test_unknown_experiment_is_a_clear_error(capsys):
    assert cli.main(["run", "no-such-thing", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'no-such-thing'" in err


def test_load_raises_named_error():
    with pytest.raises(JaxnnError, match="no-such"):
        load("no-such")


def test_every_experiment_has_the_contract():
    for name in discover():
        m = load(name)
        assert isinstance(m.TITLE, str) and m.TITLE
        assert isinstance(m.QUICK, dict) and isinstance(m.FULL, dict)


def test_info_prints_backend(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backend" in out and "jax" in out


def test_run_data_parallel_writes_results(tmp_path, capsys):
    assert cli.main(["run", "chain-rule", "--quick", "--data-parallel", "--out",
                     str(tmp_path)]) == 0
    assert "data-parallel over 1 device(s)" in capsys.readouterr().out
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["experiment"] == "chain-rule" and record["mode"] == "quick"
    assert set(record) >= {"experiment", "mode", "seed", "metrics", "reference"}


def test_too_many_devices_is_a_clear_error(capsys):
    assert cli.main(["run", "chain-rule", "--quick", "--devices", "999"]) == 2
    assert "num_devices must lie in [1, " in capsys.readouterr().err


def test_distributed_flags_go_together(capsys):
    assert cli.main(["run", "chain-rule", "--quick", "--distributed",
                     "--coordinator", "localhost:1234"]) == 2
    assert "go together" in capsys.readouterr().err


def test_bench_only_runs_the_named_modules(tmp_path, monkeypatch):
    import experiments.bench as bench

    seen = {}

    def fake_main(*, quick, out, modules):
        seen.update(quick=quick, out=out, modules=modules)
        return 0

    monkeypatch.setattr(bench, "main", fake_main)
    assert cli.main(["bench", "--quick", "--only", "lenet", "rnn", "--out", str(tmp_path)]) == 0
    assert seen == {"quick": True, "out": tmp_path, "modules": ["lenet", "rnn"]}
    assert cli.main(["bench"]) == 0 and seen["modules"] is None and seen["out"] is None
