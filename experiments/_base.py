"""Shared bookkeeping for experiments: results, the comparison table, plots, ``execute``."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: experiments only ever write PNG files
import matplotlib.pyplot as plt  # noqa: E402

from . import canonical, load  # noqa: E402


@dataclasses.dataclass
class Result:
    """What an experiment's ``run`` returns.

    metrics:   flat mapping name -> number (e.g. ``test_error``), compared by machine.
    reference: flat mapping name -> published number, keyed like ``metrics`` where they
               compare directly; ``reference_source`` says where each number comes from.
    plots:     file names (relative to the experiment's out folder) of the PNGs written.
    notes:     a few lines of Markdown for the report (what the numbers show).
    extra:     anything else JSON-serialisable worth keeping (tables, per-epoch curves).
    """

    metrics: dict[str, float]
    reference: dict[str, float] = dataclasses.field(default_factory=dict)
    reference_source: str = ""
    plots: list[str] = dataclasses.field(default_factory=list)
    notes: str = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


def _clean(v: Any) -> Any:
    """Make numbers JSON-friendly (NaN/inf become strings, numpy scalars become floats)."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "tolist"):
        return _clean(v.tolist())
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def comparison_table(metrics: dict[str, float], reference: dict[str, float]) -> str:
    """Markdown table of our numbers beside the published ones (matching keys side by side)."""
    rows = ["| metric | jaxnn | reference |", "|---|---|---|"]
    for k, v in metrics.items():
        ref = reference.get(k, "")
        rows.append(f"| {k} | {_fmt(v)} | {_fmt(ref)} |")
    for k, v in reference.items():
        if k not in metrics:
            rows.append(f"| {k} |  | {_fmt(v)} |")
    return "\n".join(rows)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def execute(name: str, *, quick: bool, out: Path, seed: int = 0, config: dict | None = None,
            command: str | None = None) -> dict[str, Any]:
    """Run one experiment into ``out`` and write ``results.json``; return its contents.

    Args:
        name: the experiment's registered name (hyphens or underscores).
        quick: quick mode (its QUICK config) instead of full mode (FULL).
        out: output folder (created).
        seed: the experiment's seed.
        config: the effective config (default: a copy of QUICK or FULL, by ``quick``);
            ``jaxnn run --set`` passes the overridden one (:func:`jaxnn.cli.override`).
        command: the command line that ran it (``jaxnn run ...``), recorded as ``command``;
            None when called from Python.

    Returns:
        the record written to ``out/results.json`` (experiment, title, mode, seed, status,
        metrics, reference, config, command, ...). It is written atomically (a temporary file
        renamed), so a ``results.json`` is always complete.
    """
    module = load(name)
    name = canonical(name)
    mode = "quick" if quick else "full"
    if config is None:
        config = copy.deepcopy(module.QUICK if quick else module.FULL)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"\n=== {name} ({mode}, seed {seed}): {module.TITLE}", flush=True)
    t0 = time.perf_counter()
    result: Result = module.run(config, out, seed)
    elapsed = time.perf_counter() - t0
    import jax

    record = {
        "experiment": name,
        "title": module.TITLE,
        "mode": mode,
        "seed": seed,
        "status": "done",
        "metrics": {k: float(v) for k, v in result.metrics.items()},
        "reference": result.reference,
        "reference_source": result.reference_source,
        "plots": result.plots,
        "notes": result.notes,
        "config": config,
        "command": command,
        "extra": result.extra,
        "seconds": round(elapsed, 2),
        "environment": {
            "jax": jax.__version__,
            "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()],
            "python": platform.python_version(),
        },
    }
    tmp = out / ".results.json.tmp"
    tmp.write_text(json.dumps(_clean(record), indent=2))
    os.replace(tmp, out / "results.json")
    print(comparison_table(record["metrics"], result.reference))
    if result.reference_source:
        print(f"reference: {result.reference_source}")
    print(f"[{elapsed:.1f} s] results in {out}", flush=True)
    return record


def savefig(fig: plt.Figure, out: Path, filename: str) -> str:
    """Save ``fig`` as PNG into ``out`` and close it; return the file name for ``Result.plots``."""
    fig.tight_layout()
    fig.savefig(Path(out) / filename, dpi=110)
    plt.close(fig)
    return filename
