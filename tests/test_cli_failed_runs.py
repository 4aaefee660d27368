"""A failed or interrupted `jaxnn run` leaves no empty folder behind: a folder the run created
with nothing but its own results.json goes, parents it created too; a folder that existed
stays, with the run's record; partial results stay, with status failed or interrupted."""

import json

import pytest

from jaxnn import cli

FAKE = """
import matplotlib.pyplot as plt
from jaxnn.errors import JaxnnError
from jaxnn_experiments._base import Result, savefig

TITLE = "A run that fails"
QUICK = {"plot": False, "error": "jaxnn"}
FULL = QUICK


def run(config, out, seed):
    if config["plot"]:
        fig, ax = plt.subplots()
        ax.plot([0, 1])
        ax.set(title="partial", xlabel="x", ylabel="y")
        savefig(fig, out, "partial.png")
    if config["error"] == "interrupt":
        raise KeyboardInterrupt
    if config["error"] == "runtime":
        raise RuntimeError("the data went missing")
    raise JaxnnError("the data went missing")
"""


@pytest.fixture
def failing(tmp_path, monkeypatch, register_experiment):
    """Register the experiment ``failing`` (module ``failing_lab_exp``) for this test."""
    register_experiment("failing", "failing_lab_exp", FAKE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(*args):
    return cli.main(["run", "failing", "--quick", *args])


def test_a_failed_run_removes_the_folders_it_created(failing, capsys):
    assert _run("--out", "a/b/run") == 2
    err = capsys.readouterr().err
    assert "the data went missing" in err and "removed" in err
    assert not (failing / "a").exists()


def test_the_default_run_folder_goes_too(failing, capsys):
    assert _run() == 2
    assert not (failing / "runs").exists()


def test_ctrl_c_without_results_removes_the_folder(failing, capsys):
    assert _run("--out", "run", "--set", "error=interrupt") == 130
    assert "jaxnn: interrupted" in capsys.readouterr().err
    assert not (failing / "run").exists()


def test_an_exception_removes_the_folder_and_propagates(failing):
    with pytest.raises(RuntimeError, match="went missing"):
        _run("--out", "run", "--set", "error=runtime")
    assert not (failing / "run").exists()


def test_a_folder_that_existed_stays_with_the_record(failing):
    (failing / "mine").mkdir()
    (failing / "mine" / "notes.txt").write_text("my notes")
    (failing / "empty").mkdir()
    for folder in ("mine", "empty"):
        assert _run("--out", folder) == 2
        record = json.loads((failing / folder / "results.json").read_text())
        assert record["status"] == "failed" and "went missing" in record["error"]
    assert (failing / "mine" / "notes.txt").read_text() == "my notes"
    assert sorted(p.name for p in (failing / "empty").iterdir()) == ["results.json"]


@pytest.mark.parametrize("error, status, rc", [("jaxnn", "failed", 2),
                                               ("interrupt", "interrupted", 130)])
def test_partial_results_stay_with_their_status(failing, error, status, rc):
    assert _run("--out", "new/run", "--set", "plot=true", f"error={error}") == rc
    out = failing / "new" / "run"
    assert sorted(p.name for p in out.iterdir()) == ["partial.png", "results.json"]
    record = json.loads((out / "results.json").read_text())
    assert record["status"] == status and record["plots"] == ["partial.png"]


def test_a_parent_holding_other_files_is_kept(failing):
    (failing / "runs").mkdir()
    (failing / "runs" / "earlier.txt").write_text("x")
    assert _run("--out", "runs/new/run") == 2
    assert sorted(p.name for p in (failing / "runs").iterdir()) == ["earlier.txt"]
