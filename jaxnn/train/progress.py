"""Training records: progress bars, per-epoch JSONL logs and loss/metric curves (PNG).

Progress bars fit where the output goes (:func:`tqdm`, a drop-in for ``tqdm.tqdm``): tqdm's
bar on a terminal; tqdm's widget bar in a notebook that has ``ipywidgets``; otherwise (a log
file, a pipe, a notebook without widgets) plain lines, one every few seconds at most and one
at the end, never a ``\\r`` frame. The per-epoch records go to the JSONL log and, while
:func:`jaxnn.train.tensorboard.streaming` is active, to TensorBoard (:func:`append_jsonl`).
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tqdm import std as _tqdm_std

from jaxnn.errors import JaxnnError
from jaxnn.train import tensorboard


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def append_jsonl(path: str | Path | None, record: dict[str, Any], run: str = "") -> None:
    """Append one JSON line (a per-epoch record) to ``path`` and stream it to TensorBoard.

    Args:
        path: the JSONL log (parent folders are created); None writes no log.
        record: flat ``{name: value}`` of one epoch (or evaluation), e.g. ``fit``'s history
            record ``{"epoch": 3, "train_loss": 0.21, ...}``.
        run: the TensorBoard run the record goes to while
            :func:`jaxnn.train.tensorboard.streaming` is active (default: ``path``'s stem,
            else ``"fit"``); without an active stream nothing else happens.
    """
    if path is not None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "a") as f:
            f.write(json.dumps({k: _jsonable(v) for k, v in record.items()}) + "\n")
    tensorboard.log(run or (Path(path).stem if path is not None else "fit"), record)


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """(Re)write ``path`` with one JSON line per record (used when a run resumes)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("".join(json.dumps({k: _jsonable(v) for k, v in r.items()}) + "\n"
                         for r in records))


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSONL file (one dict per line)."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


#: seconds between two plain progress lines (environment variable ``JAXNN_PROGRESS_SECONDS``)
LINE_SECONDS = 10.0


def bar_kind(file: Any = None) -> str:
    """How a progress bar shows on ``file`` (default ``sys.stderr``).

    Returns:
        ``"notebook"`` (a Jupyter/Colab kernel with ``ipywidgets``: tqdm's widget bar),
        ``"terminal"`` (``file`` is a tty: tqdm's redrawn bar) or ``"lines"`` (anything else,
        a notebook without ``ipywidgets`` included: plain lines, see :func:`tqdm`).
    """
    if "ipykernel.zmqshell" in sys.modules:  # the test tqdm.autonotebook makes
        import importlib.util

        return "notebook" if importlib.util.find_spec("ipywidgets") is not None else "lines"
    file = sys.stderr if file is None else file
    try:
        return "terminal" if file.isatty() else "lines"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "lines"


class LineBar(_tqdm_std.tqdm):
    """tqdm that prints plain lines: at most one every ``interval`` seconds while it moves,
    and the last state when it ends (full, or closed), never a ``\\r`` or cursor move.

    The line is tqdm's status without the bar (``desc: 40% 8/20 [00:12<00:18, 1.5 epoch/s,
    loss=0.12]``); a bar over slow epochs prints one line per epoch. A transient bar
    (``leave=False``, which a terminal erases) that ends before its first line prints nothing:
    a log does not fill with the final lines of short inner loops. Lines are printed when
    the count moves (``update``, or the next item of an iterated bar), so a postfix set before
    the update is the one shown; a postfix set after it shows in the next line, and the
    closing line repeats the last state if its postfix changed since.
    """

    _FORMAT = "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} [{elapsed}<{remaining}, " \
              "{rate_fmt}{postfix}]"
    _FORMAT_NO_TOTAL = "{desc}: {n_fmt} [{elapsed}, {rate_fmt}{postfix}]"

    def __init__(self, *args: Any, interval: float | None = None, **kwargs: Any) -> None:
        if interval is None:
            interval = float(os.environ.get("JAXNN_PROGRESS_SECONDS", LINE_SECONDS))
        self._interval = interval
        self._line = (kwargs.get("initial", 0), None)  # (count, postfix) of the last line
        self._line_t = _tqdm_std.time()
        self._counting = False
        self._printed = False
        ours = kwargs.setdefault("bar_format", self._FORMAT) is self._FORMAT
        kwargs.update(dynamic_ncols=False, ncols=None)
        super().__init__(*args, **kwargs)
        if ours and self.total is None:
            self.bar_format = self._FORMAT_NO_TOTAL

    def update(self, n: float = 1):
        self._counting = True
        try:
            return super().update(n)
        finally:
            self._counting = False

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        if msg is None and self._counting:  # not a clear, nor a redraw for a new postfix
            self._print_line(final=False)
        return True

    def _print_line(self, final: bool) -> None:
        now = self._time()
        done = self.leave is not False and self.total is not None and self.n >= self.total
        moved = self.n != self._line[0]
        if (moved and (final or done or now - self._line_t >= self._interval)) or \
                (final and self.postfix != self._line[1] and self._line[1] is not None):
            self.fp.write(self.__str__().replace("\r", " ") + "\n")
            getattr(self.fp, "flush", lambda: None)()
            self._line, self._line_t = (self.n, self.postfix), now
            self._printed = True

    def clear(self, nolock: bool = False) -> None:  # nothing is drawn in place
        pass

    def moveto(self, n: int) -> None:  # no cursor movement in a log
        pass

    def close(self) -> None:
        if getattr(self, "disable", True):
            return
        if self.leave is not False or self._printed:
            with self._lock:
                self._print_line(final=True)
        self.disable = True
        self._decr_instances(self)


def tqdm(iterable: Iterable | None = None, *args: Any, interval: float | None = None,
         **kwargs: Any):
    """A drop-in for ``tqdm.tqdm``: the bar :func:`bar_kind` picks for its ``file``.

    Args:
        iterable, *args, **kwargs: as for ``tqdm.tqdm`` (``total``, ``desc``, ``unit``,
            ``file``, ``disable``, ...).
        interval: for plain lines, the seconds between two lines (default
            ``$JAXNN_PROGRESS_SECONDS`` or :data:`LINE_SECONDS`).

    Returns:
        a ``tqdm.notebook.tqdm``, ``tqdm.std.tqdm`` or :class:`LineBar`.
    """
    kind = bar_kind(kwargs.get("file"))
    if kind == "notebook":
        from tqdm.notebook import tqdm as notebook_bar

        return notebook_bar(iterable, *args, **kwargs)
    if kind == "terminal":
        return _tqdm_std.tqdm(iterable, *args, **kwargs)
    return LineBar(iterable, *args, interval=interval, **kwargs)


def progress_bar(total: int, initial: int = 0, desc: str = "", enabled: bool = True,
                 file: Any = None):
    """A :func:`tqdm` bar over epochs (``disable=not enabled``); ``set_postfix`` shows the
    loss and metrics. ``file``: where it goes (default ``sys.stderr``)."""
    return tqdm(total=total, initial=initial, desc=desc or "epochs", unit="epoch",
                disable=not enabled, dynamic_ncols=True, leave=True, file=file)


def postfix(record: dict[str, Any], max_items: int = 4) -> dict[str, str]:
    """Short ``{name: "value"}`` of a history record for the bar (losses and first metrics)."""
    skip = {"epoch", "time_s"}
    items = [(k, v) for k, v in record.items() if k not in skip and isinstance(v, (int, float))]
    return {k: f"{v:.4g}" for k, v in items[:max_items]}


def plot_history(history: Sequence[dict[str, Any]], path: str | Path | None,
                 keys: Sequence[str] | None = None, title: str = "",
                 labels: dict[str, str] | None = None):
    """Plot learning curves of a ``fit`` history to a PNG.

    Keys containing "loss" go to the left panel, the other metrics (accuracy, error, …) to the
    right one (omitted when there are none). Each panel is titled and its y axis labelled by
    the curves it shows, named by ``labels`` (say on which data each was measured: training,
    validation or test); series take their colours and dashes from matplotlib's rcParams.

    Args:
        history: list of per-epoch dicts with an ``"epoch"`` entry (``FitResult.history``).
        path: output .png path (parent folders are created), or None to return the figure.
        keys: which entries to plot (default: every numeric entry except epoch, time_s).
        title: figure title.
        labels: display name per key, e.g. ``{"error": "validation error"}``; by default a
            key is its own name with ``train_``/``valid_``/``test_`` spelt out
            (``valid_loss`` -> "validation loss").

    Returns:
        the path written; with ``path`` None the open matplotlib Figure instead (the caller
        saves and closes it).

    Raises:
        JaxnnError: empty history or a requested key not in it.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if not history:
        raise JaxnnError("plot_history: the history is empty")
    present = [k for k in history[-1] if k not in ("epoch", "time_s")
               and isinstance(history[-1][k], (int, float))]
    keys = list(keys) if keys is not None else present
    missing = [k for k in keys if k not in history[-1]]
    if missing:
        raise JaxnnError(f"plot_history: keys {missing} not in the history (has {present})")
    spelt = {"train": "training", "valid": "validation", "val": "validation", "test": "test"}

    def name(k: str) -> str:
        if labels and k in labels:
            return labels[k]
        head, _, rest = k.partition("_")
        return f"{spelt[head]} {rest.replace('_', ' ')}" if head in spelt and rest \
            else k.replace("_", " ")

    losses = [k for k in keys if "loss" in k]
    others = [k for k in keys if "loss" not in k]
    panels = [g for g in (losses, others) if g]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    epochs = [r["epoch"] for r in history]
    for ax, group in zip(axes[0], panels):
        for k in group:
            ax.plot(epochs, [r.get(k, float("nan")) for r in history], marker=".", label=name(k))
        names = [name(k) for k in group]
        ax.set_xlabel("epoch")
        ax.set_ylabel(names[0] if len(names) == 1 else "loss" if group is losses else "value")
        ax.set_title(", ".join(names))
        if group is losses and all(r.get(k, 1) > 0 for r in history for k in group
                                   if isinstance(r.get(k), (int, float))):
            ax.set_yscale("log")
            ax.set_ylabel(ax.get_ylabel() + " (log scale)")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    if path is None:
        return fig
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
