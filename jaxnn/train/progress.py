"""Training records: a tqdm progress bar, per-epoch JSONL logs and loss/metric curves (PNG)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from jaxnn.errors import JaxnnError


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def append_jsonl(path: str | Path, record: dict[str, Any]) -> None:
    """Append one JSON line (a per-epoch record) to ``path``, creating parent folders."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "a") as f:
        f.write(json.dumps({k: _jsonable(v) for k, v in record.items()}) + "\n")


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """(Re)write ``path`` with one JSON line per record (used when a run resumes)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("".join(json.dumps({k: _jsonable(v) for k, v in r.items()}) + "\n"
                         for r in records))


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSONL file (one dict per line)."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def progress_bar(total: int, initial: int = 0, desc: str = "", enabled: bool = True):
    """A tqdm bar over epochs (``disable=not enabled``); ``set_postfix`` shows loss/metric."""
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc or "epochs", unit="epoch",
                disable=not enabled, dynamic_ncols=True, leave=True)


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
