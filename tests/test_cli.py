import argparse
import json
import os
import shlex
import subprocess
import sys
import textwrap

import pytest

from jaxnn import cli
from jaxnn.errors import JaxnnError
from jaxnn_experiments import discover, load, title


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
        assert title(name) == m.TITLE       # read from the source, without importing


def test_info_prints_backend(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backend" in out and "jax" in out


def test_info_does_not_need_flax(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "flax", None)         # import flax -> ImportError
    assert cli.main(["info"]) == 0
    assert "flax not installed (pip install 'jaxnn[bench]')" in capsys.readouterr().out


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
    import jaxnn_experiments.bench as bench

    seen = {}

    def fake_main(*, quick, out, modules):
        seen.update(quick=quick, out=out, modules=modules)
        return 0

    monkeypatch.setattr(bench, "main", fake_main)
    assert cli.main(["bench", "--quick", "--only", "lenet", "rnn", "--out", str(tmp_path)]) == 0
    assert seen == {"quick": True, "out": tmp_path, "modules": ["lenet", "rnn"]}
    assert cli.main(["bench"]) == 0 and seen["modules"] is None and seen["out"] is None


def test_run_records_status_config_and_command(tmp_path):
    argv = ["run", "chain-rule", "--quick", "--seed", "3", "--out", str(tmp_path / "a b")]
    assert cli.main(argv) == 0
    record = json.loads((tmp_path / "a b" / "results.json").read_text())
    assert record["status"] == "done" and record["config"] == {} and record["seed"] == 3
    assert shlex.split(record["command"]) == ["jaxnn", *argv]
    assert "'" in record["command"]          # the space in the folder is shell-quoted
    assert not list((tmp_path / "a b").glob(".*.tmp"))


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"jaxnn {cli.__version__}"


def _options(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from ((parser.prog, a) for a in action._choices_actions)
            for sub in action.choices.values():
                yield from _options(sub)
        else:
            yield parser.prog, action


def test_every_option_and_command_has_help():
    options = list(_options(cli.build_parser()))
    assert len(options) > 20
    undocumented = [f"{prog} {a.dest}" for prog, a in options if not a.help]
    assert undocumented == []


def test_run_help_lists_the_experiments_and_the_default_mode(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in discover()) and "all" in out
    assert "Full mode" in out and "is the default" in out


def test_list_prints_every_experiment_with_its_title(capsys):
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == list(discover())
    assert lines[0].split(None, 1)[1] == title(lines[0].split()[0])


def test_list_and_help_import_no_jax(tmp_path):
    code = textwrap.dedent("""
        import sys
        from jaxnn.cli import main
        main(["list"])
        try:
            main(["run", "--help"])
        except SystemExit:
            pass
        heavy = sorted({m.split(".")[0] for m in sys.modules} & {"jax", "jaxlib", "matplotlib"})
        print("HEAVY", heavy)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout and "mlp-mnist" in proc.stdout


# ------------------------------------------------------------- third-party experiments

PLUGIN = """
from jaxnn_experiments._base import Result

TITLE = "Tiny third-party experiment"
QUICK = {"n": 2, "scale": 0.5}
FULL = {"n": 4, "scale": 1.0}


def run(config, out, seed):
    return Result(metrics={"total": config["n"] * config["scale"]})
"""


def _plugin(root, entry_points: str, dist: str = "tiny_lab_plugin"):
    """A package ``tiny_lab_plugin`` and an installed-looking ``dist-info`` in ``root``."""
    pkg = root / "tiny_lab_plugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "tiny.py").write_text(PLUGIN)
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    return root


@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    root = _plugin(tmp_path / "site", "[jaxnn.experiments]\ntiny-lab = tiny_lab_plugin.tiny\n")
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in [m for m in sys.modules if m.startswith("tiny_lab_plugin")]:
        del sys.modules[name]


def test_third_party_experiment_is_listed_and_runs(plugin_path, tmp_path, capsys):
    assert discover()["tiny-lab"] == "tiny_lab_plugin.tiny"
    assert cli.main(["list"]) == 0
    assert "tiny-lab                 Tiny third-party experiment" in capsys.readouterr().out
    out = tmp_path / "run"
    assert cli.main(["run", "tiny-lab", "--quick", "--out", str(out), "--set", "n=3"]) == 0
    record = json.loads((out / "results.json").read_text())
    assert record["experiment"] == "tiny-lab" and record["status"] == "done"
    assert record["config"] == {"n": 3, "scale": 0.5} and record["metrics"] == {"total": 1.5}
    assert record["command"] == f"jaxnn run tiny-lab --quick --out {out} --set n=3"


def test_a_name_registered_twice_is_a_clear_error(tmp_path, monkeypatch):
    root = _plugin(tmp_path / "site", "[jaxnn.experiments]\nxor = tiny_lab_plugin.tiny\n",
                   dist="clashing_plugin")
    monkeypatch.syspath_prepend(str(root))
    with pytest.raises(JaxnnError, match="'xor' is registered twice.*tiny_lab_plugin.tiny"):
        discover()


def test_python_m_jaxnn_beside_a_local_experiments_package(tmp_path):
    """A folder with its own ``experiments`` package (and a third-party experiment on the path)
    does not shadow the lab book: nothing imports a top-level ``experiments``."""
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "__init__.py").write_text("")
    site = _plugin(tmp_path / "site", "[jaxnn.experiments]\ntiny-lab = tiny_lab_plugin.tiny\n")
    proc = subprocess.run([sys.executable, "-m", "jaxnn", "list"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr
    names = [ln.split()[0] for ln in proc.stdout.splitlines()]
    assert "mlp-mnist" in names and "tiny-lab" in names and "bp-example" in names
