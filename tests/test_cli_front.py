"""What a newcomer meets first: `jaxnn info` names each device once, `jaxnn list` answers at
once without JAX, and `jaxnn run all` in full mode says how long it takes before running."""

import json
import os
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from jaxnn import _cli_run, cli
from jaxnn_experiments import _durations, discover

ROOT = Path(__file__).parents[1]


def _device(i, kind="TPU v3", platform="tpu", process=0):
    return types.SimpleNamespace(id=i, device_kind=kind, platform=platform, process_index=process)


def test_device_lines_name_each_device_once():
    assert _cli_run.device_lines([_device(i) for i in range(8)]) == ["8 × TPU v3 (tpu), ids 0-7"]
    assert _cli_run.device_lines([_device(0, "cpu", "cpu")]) == ["1 × cpu, id 0"]
    two_hosts = [_device(i, "TPU v4", process=i // 4) for i in range(8)]
    assert _cli_run.device_lines(two_hosts) == ["8 × TPU v4 (tpu), ids 0-7 on processes 0-1"]
    mixed = [_device(0), _device(1), _device(3), _device(7, "cpu", "cpu")]
    assert _cli_run.device_lines(mixed) == ["3 × TPU v3 (tpu), ids 0-1, 3", "1 × cpu, id 7"]


def test_info_prints_four_host_devices_on_one_line():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-m", "jaxnn", "info"], capture_output=True,
                          text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [ln for ln in lines if ln.startswith("devices")] == ["devices  4 × cpu, ids 0-3"]
    assert sum("cpu" in ln for ln in lines) == 2          # the backend line and the devices
    assert lines[0] == f"jaxnn    {cli.__version__}"
    assert "process  0 of 1, 4 local device(s)" in lines


def test_list_answers_in_well_under_a_second_without_jax(tmp_path):
    code = textwrap.dedent("""
        import sys, time
        t0 = time.perf_counter()
        from jaxnn.cli import main
        main(["list"])
        print("SECONDS", time.perf_counter() - t0)
        print("JAX", sorted(m for m in sys.modules if m.split(".")[0] in ("jax", "jaxlib")))
    """)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    imported = {ln.split("|")[-1].strip() for ln in proc.stderr.splitlines()
                if ln.startswith("import time:")}
    assert "jaxnn.cli" in imported and "jaxnn_experiments" in imported
    assert not {m for m in imported if m.split(".")[0] in ("jax", "jaxlib", "numpy")}
    assert "JAX []" in proc.stdout
    seconds = float(re.search(r"SECONDS (\S+)", proc.stdout).group(1))
    assert seconds < 1.0, f"jaxnn list took {seconds:.2f} s in the process"
    names = [ln.split()[0] for ln in proc.stdout.splitlines()[:-2]]
    assert names == list(discover())


@pytest.fixture
def no_running(monkeypatch):
    """Record the experiments `run_all` would run instead of running them."""
    ran = []
    monkeypatch.setattr(_cli_run, "run_all", lambda names, args, out, configs: ran.append(names) or 0)
    return ran


def test_run_all_in_full_mode_prints_the_time_and_runs_nothing(no_running, capsys, tmp_path,
                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "all", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert no_running == [] and list(tmp_path.iterdir()) == []
    for name in discover():
        assert re.search(rf"^  {re.escape(name)} +\S+ (s|min|h)  (measured|estimate)$", out,
                         re.M), name
    total = _durations.human(_durations.total(discover()))
    assert re.search(rf"^  total +{re.escape(total)}$", out, re.M)
    assert _durations.MACHINE in out
    assert "To run them all: jaxnn run all --seed 2 --yes" in out


def test_run_all_with_yes_runs_every_experiment_after_the_estimate(no_running, capsys):
    assert cli.main(["run", "all", "--yes"]) == 0
    assert no_running == [list(discover())]
    assert "total" in capsys.readouterr().out


def test_quick_and_single_runs_need_no_yes(no_running, capsys):
    assert cli.main(["run", "all", "--quick"]) == 0
    assert "total" not in capsys.readouterr().out
    assert cli.main(["run", "lenet5"]) == 0
    assert no_running == [list(discover()), ["lenet5"]]
    expected = _durations.human(_durations.FULL["lenet5"].seconds)
    assert f"full mode: about {expected} on 2 shared CPU cores" in capsys.readouterr().out


def test_every_experiment_has_a_duration_and_measured_ones_match_their_record():
    assert set(_durations.FULL) == set(discover())
    checked = 0
    for name, d in _durations.FULL.items():
        assert d.seconds > 0 and d.basis
        if d.measured and re.fullmatch(r"results/[\w-]+", d.basis):
            record = json.loads((ROOT / d.basis / "results.json").read_text())
            assert record["experiment"] == name and record["mode"] == "full"
            assert d.seconds == round(record["seconds"]), name
            checked += 1
    assert checked >= 7
    table = _durations.markdown()
    assert table.count("\n| `") == len(_durations.FULL) and "| all |" in table


def test_human_wall_times():
    assert [_durations.human(s) for s in (8, 89, 560, 5399, 11500)] == \
        ["8 s", "89 s", "9 min", "90 min", "3.2 h"]


def test_run_cpu_devices_splits_the_cpu_and_shards_over_it(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "jaxnn", "run", "chain-rule", "--quick",
                           "--cpu-devices", "2", "--out", str(out)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert proc.returncode == 0, proc.stderr
    assert "data-parallel over 2 device(s): 2 × cpu, ids 0-1" in proc.stdout
    record = json.loads((out / "results.json").read_text())
    assert record["environment"]["devices"] == ["cpu:0", "cpu:1"]
    assert "--cpu-devices 2" in record["command"]


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_run_cpu_devices_refuses_a_bad_count(bad, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "chain-rule", "--quick", "--cpu-devices", bad])
    assert e.value.code == 2
    assert "--cpu-devices" in capsys.readouterr().err
