"""Run folders that say what happened: results.json carries the status from the start
(running, then done / interrupted / failed), every file is written atomically, a folder in
use or holding another run's results is refused, and Ctrl-C ends `jaxnn run` with 130 and no
traceback, during compilation too."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import matplotlib.figure
import matplotlib.pyplot as plt
import pytest

from jaxnn import cli
from jaxnn.errors import JaxnnError
from jaxnn_experiments import _base
from jaxnn_experiments._base import Result, execute, savefig


def _fake(monkeypatch, run):
    """Make ``execute("fake", ...)`` run ``run(config, out, seed)``."""
    module = types.SimpleNamespace(TITLE="A fake experiment", QUICK={"n": 1}, FULL={"n": 2},
                                   run=run)
    monkeypatch.setattr(_base, "load", lambda name: module)
    monkeypatch.setattr(_base, "canonical", lambda name: name)


def _plot(out, name):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    ax.set(title="a curve", xlabel="x", ylabel="y")  # a plot that passes the audit
    return savefig(fig, out, name)


def _read(out):
    return json.loads((Path(out) / "results.json").read_text())


def test_status_is_running_during_the_run_and_done_after(tmp_path, monkeypatch):
    seen = {}

    def run(config, out, seed):
        seen.update(_read(out))
        assert (out / ".jaxnn.lock").exists()
        return Result(metrics={"m": 1.0}, plots=[_plot(out, "a.png")])

    _fake(monkeypatch, run)
    record = execute("fake", quick=True, out=tmp_path, seed=3)
    assert seen["status"] == "running" and seen["experiment"] == "fake"
    assert seen["seed"] == 3 and seen["config"] == {"n": 1} and seen["pid"] == os.getpid()
    saved = _read(tmp_path)
    assert saved["status"] == record["status"] == "done" and saved["metrics"] == {"m": 1.0}
    assert not (tmp_path / ".jaxnn.lock").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "results.json"]


def test_keyboard_interrupt_records_what_was_finished(tmp_path, monkeypatch):
    def run(config, out, seed):
        _plot(out, "first.png")
        raise KeyboardInterrupt

    _fake(monkeypatch, run)
    with pytest.raises(KeyboardInterrupt):
        execute("fake", quick=True, out=tmp_path)
    saved = _read(tmp_path)
    assert saved["status"] == "interrupted" and saved["plots"] == ["first.png"]
    assert saved["error"] == "KeyboardInterrupt" and saved["seconds"] >= 0
    assert not (tmp_path / ".jaxnn.lock").exists()


def test_a_failure_records_the_error(tmp_path, monkeypatch):
    def run(config, out, seed):
        raise RuntimeError("the data went missing")

    _fake(monkeypatch, run)
    with pytest.raises(RuntimeError, match="went missing"):
        execute("fake", quick=True, out=tmp_path)
    saved = _read(tmp_path)
    assert saved["status"] == "failed"
    assert saved["error"] == "RuntimeError: the data went missing"
    assert "went missing" in saved["traceback"]
    assert not (tmp_path / ".jaxnn.lock").exists()


def test_a_folder_in_use_is_refused_and_a_stale_lock_is_taken_over(tmp_path, monkeypatch):
    import socket

    _fake(monkeypatch, lambda config, out, seed: Result(metrics={"m": 2.0}))
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".jaxnn.lock").write_text(json.dumps(
            {"pid": live.pid, "host": socket.gethostname(), "started": "earlier"}))
        with pytest.raises(JaxnnError, match=rf"in use by process {live.pid}.*\.jaxnn\.lock"):
            execute("fake", quick=True, out=tmp_path)
        assert not (tmp_path / "results.json").exists()
    finally:
        live.kill()
        live.wait()
    # the holder is gone: its lock is stale, the next run takes it over
    assert execute("fake", quick=True, out=tmp_path)["status"] == "done"
    assert not (tmp_path / ".jaxnn.lock").exists()


def test_two_concurrent_runs_into_one_folder_do_not_mix(tmp_path, monkeypatch):
    started, release = threading.Event(), threading.Event()

    def slow(config, out, seed):
        started.set()
        assert release.wait(30)
        return Result(metrics={"m": 1.0})

    _fake(monkeypatch, slow)
    first = threading.Thread(target=execute, args=("fake",),
                             kwargs={"quick": True, "out": tmp_path})
    first.start()
    try:
        assert started.wait(30)
        with pytest.raises(JaxnnError, match="in use by process"):
            execute("fake", quick=True, out=tmp_path)
    finally:
        release.set()
        first.join(30)
    assert _read(tmp_path)["status"] == "done"


def test_a_folder_holding_another_runs_results_is_refused(tmp_path, monkeypatch):
    _fake(monkeypatch, lambda config, out, seed: Result(metrics={"m": 1.0}))
    execute("fake", quick=True, out=tmp_path)
    before = (tmp_path / "results.json").read_bytes()
    with pytest.raises(JaxnnError, match=r"already holds the results of a run \('fake', "
                                         r"status 'done'.*another --out"):
        execute("fake", quick=True, out=tmp_path)
    assert (tmp_path / "results.json").read_bytes() == before


def test_an_interrupted_plot_save_leaves_no_broken_file(tmp_path, monkeypatch):
    real = matplotlib.figure.Figure.savefig

    def dies_half_way(self, fname, **kw):
        Path(fname).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 116)  # a broken 124-byte PNG
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        _plot(tmp_path, "curve.png")
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary file
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", real)
    assert _plot(tmp_path, "curve.png") == "curve.png"
    assert [p.name for p in tmp_path.iterdir()] == ["curve.png"]
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_reader_never_sees_a_partial_results_json(tmp_path, monkeypatch):
    reads, bad, done = [], [], threading.Event()

    def reader():
        while not done.is_set():
            try:
                text = (tmp_path / "results.json").read_text()
            except FileNotFoundError:
                continue
            try:
                reads.append(json.loads(text)["status"])
            except ValueError:
                bad.append(len(text))

    def run(config, out, seed):
        deadline = time.time() + 10
        while not reads and time.time() < deadline:
            time.sleep(0.01)
        for _ in range(50):  # rewrites of a large record while the reader reads
            _base.write_results(out, {"status": "running", "extra": list(range(20000))})
        return Result(metrics={"m": 1.0}, extra={"big": list(range(20000))})

    _fake(monkeypatch, run)
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        execute("fake", quick=True, out=tmp_path)
    finally:
        done.set()
        thread.join(10)
    assert bad == [] and reads and set(reads) <= {"running", "done"}
    assert "running" in reads
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_run_all_refuses_a_folder_with_results_before_running_anything(tmp_path, capsys):
    (tmp_path / "xor").mkdir()
    (tmp_path / "xor" / "results.json").write_text('{"experiment": "xor", "status": "done"}')
    assert cli.main(["run", "all", "--quick", "--out", str(tmp_path)]) == 2
    assert "already holds the results of a run ('xor', status 'done'" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xor"]


# --------------------------------------------------------------------------- Ctrl-C


def _wait_for(predicate, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        time.sleep(0.02)
    pytest.fail("timed out waiting for the run to start")


@pytest.mark.parametrize("when", ["imports", "compilation"])
def test_ctrl_c_ends_jaxnn_run_cleanly(tmp_path, when):
    out = tmp_path / "run"
    out.mkdir()  # a folder the run did not create keeps its record (a new one would go)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jaxnn", "run", "xor", "--quick", "--out", str(out),
         "--set", "steps=200000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        if when == "imports":  # JAX's extension is being loaded (where an interrupt got lost)
            maps = Path(f"/proc/{proc.pid}/maps")
            if not maps.exists():
                pytest.skip("needs /proc to see the child's imports")
            _wait_for(lambda: "jaxlib" in maps.read_text(), proc)
        else:  # execute has started: the first jitted call is being traced and compiled
            _wait_for(lambda: (out / "results.json").exists(), proc)
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, output[-3000:]
    assert "Traceback" not in output and "jaxnn: interrupted" in output, output[-3000:]
    if when == "compilation":
        saved = _read(out)
        assert saved["status"] == "interrupted" and saved["experiment"] == "xor"
        assert not (out / ".jaxnn.lock").exists()
