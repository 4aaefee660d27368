"""Progress bars where the output goes: plain lines (no \\r frames, a bounded number) when it
is not a terminal, tqdm's widget in a notebook with ipywidgets, plain lines in one without."""

import io
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import optax
import pytest
from tqdm import std as tqdm_std

from jaxnn.train import fit, progress

ROOT = Path(__file__).parents[1]


class Tty(io.StringIO):
    def isatty(self):
        return True


class Clock:
    """A fake ``time.time`` that moves only when told."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(tqdm_std, "time", c)
    return c


def test_a_log_gets_at_most_one_line_per_interval_and_the_last_state(clock):
    log = io.StringIO()
    bar = progress.tqdm(total=1000, desc="steps", file=log, interval=5.0, mininterval=0)
    for _ in range(1000):          # 1000 updates over 23 s of the fake clock
        clock.now += 0.023
        bar.update(1)
        bar.set_postfix(loss="0.5")
    bar.close()
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert 4 <= len(lines) <= 23 / 5 + 1, lines      # one per 5 s, plus the final one
    assert lines[-1].startswith("steps: 100% 1000/1000 [") and "loss=0.5" in lines[-1]
    counts = [int(re.search(r" (\d+)/1000 ", ln).group(1)) for ln in lines]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)


def _epochs(bar, clock, postfix_first):
    for epoch in range(4):
        clock.now += 30.0          # longer than the interval
        if postfix_first:          # what fit does: the line shows this epoch's loss
            bar.set_postfix({"train_loss": f"{1 / (epoch + 1):.3g}"}, refresh=False)
            bar.update(1)
        else:
            bar.update(1)
            bar.set_postfix({"train_loss": f"{1 / (epoch + 1):.3g}"})
    bar.close()


def test_slow_epochs_give_one_line_each(clock):
    log = io.StringIO()
    _epochs(progress.progress_bar(4, desc="lenet5", file=log), clock, postfix_first=True)
    lines = log.getvalue().splitlines()
    assert [ln.split(" [")[0] for ln in lines] == \
        ["lenet5:  25% 1/4", "lenet5:  50% 2/4", "lenet5:  75% 3/4", "lenet5: 100% 4/4"]
    assert [ln.rsplit("=", 1)[1] for ln in lines] == ["1]", "0.5]", "0.333]", "0.25]"]


def test_a_postfix_set_after_the_update_shows_in_the_closing_line(clock):
    log = io.StringIO()
    _epochs(progress.progress_bar(4, desc="lenet5", file=log), clock, postfix_first=False)
    lines = log.getvalue().splitlines()
    assert len(lines) == 5 and lines[-2].split(" [")[0] == lines[-1].split(" [")[0]
    assert lines[-2].endswith("train_loss=0.333]") and lines[-1].endswith("train_loss=0.25]")


def test_no_total_nested_and_disabled_bars(clock):
    log = io.StringIO()
    outer = progress.tqdm(range(3), desc="outer", file=log, interval=1.0)
    for _ in outer:
        inner = progress.tqdm(desc="inner", file=log, interval=1.0, leave=False)
        clock.now += 2.0
        inner.update(7)
        inner.close()
    off = progress.tqdm(total=5, file=log, disable=True)
    off.update(5)
    off.close()
    for _ in progress.tqdm(range(4), desc="brief", file=log, leave=False, interval=10.0):
        clock.now += 0.5           # a transient bar done within the interval: no line at all
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert [ln.split(" [")[0] for ln in lines if ln.startswith("inner")] == ["inner: 7"] * 3
    assert lines[-1].startswith("outer: 100% 3/3") and "brief" not in log.getvalue()


def test_bar_kind_follows_the_stream_and_the_notebook(monkeypatch):
    assert progress.bar_kind(io.StringIO()) == "lines"
    assert progress.bar_kind(Tty()) == "terminal"
    bar = progress.tqdm(total=1, file=Tty())
    assert type(bar) is tqdm_std.tqdm
    bar.close()
    monkeypatch.setitem(sys.modules, "ipykernel.zmqshell", object())
    monkeypatch.setattr("importlib.util.find_spec",
                        lambda name, *a: None if name == "ipywidgets" else object())
    assert progress.bar_kind(Tty()) == "lines"             # a kernel without widgets
    bar = progress.tqdm(total=1, file=io.StringIO())
    assert isinstance(bar, progress.LineBar)
    bar.close()
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: object())
    assert progress.bar_kind(io.StringIO()) == "notebook"


def test_fit_into_a_non_terminal_writes_one_line_per_slow_epoch(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    ticks = iter(range(10**6))
    monkeypatch.setattr(tqdm_std, "time", lambda: 1000.0 + 30.0 * next(ticks))  # slow epochs
    x = jnp.linspace(-1.0, 1.0, 32)[:, None]
    params = {"w": jnp.zeros((1, 1))}
    fit(params, lambda p, b: jnp.mean((b[0] @ p["w"] - 2.0 * b[0]) ** 2), optax.sgd(0.1), (x,),
        epochs=5, batch_size=8, key=jax.random.key(0), progress="regress")
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue()
    assert [ln.split(" [")[0] for ln in lines] == [f"regress: {20 * e:3d}% {e}/5"
                                                   for e in range(1, 6)]
    assert all("train_loss=" in ln for ln in lines)


def test_no_experiment_imports_tqdm_directly():
    """Every bar of the lab book goes through jaxnn.train.progress (so logs read cleanly)."""
    direct = [p.name for p in (ROOT / "experiments").rglob("*.py")
              if re.search(r"^\s*(from tqdm|import tqdm)", p.read_text(), re.M)]
    assert direct == []


@pytest.mark.slow  # a quick experiment in a subprocess (~20 s on 2 cores)
def test_a_quick_run_into_a_log_file_has_no_carriage_returns(tmp_path):
    code = textwrap.dedent(f"""
        from jaxnn.cli import main
        raise SystemExit(main(["run", "svm", "--quick", "--out", {str(tmp_path / "run")!r}]))
    """)
    with open(tmp_path / "log", "w") as log:
        proc = subprocess.run([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT,
                              cwd=tmp_path, timeout=300)
    text = (tmp_path / "log").read_text()
    assert proc.returncode == 0, text[-3000:]
    assert "\r" not in text and "svm: 100% 3/3" in text
