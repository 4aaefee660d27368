"""Shared bookkeeping for experiments: results, the comparison table, plots, ``execute``."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: experiments only ever write PNG files
import matplotlib.pyplot as plt  # noqa: E402

from jaxnn import _atomic as atomic  # noqa: E402

from . import _style, canonical, load  # noqa: E402

_style.apply()


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


#: the config keys that name an experiment's data (the contract in :mod:`jaxnn_experiments`)
DATA_KEYS = ("dataset", "datasets", "data", "corpus")


def other_data(record: dict[str, Any]) -> str:
    """The data a run used, when they are not its experiment's FULL data; else ``""``.

    The references of an experiment are measured on the data of its FULL config (the real
    data sets); a run on other data (QUICK's small embedded data, or ``--set dataset=...``)
    is not comparable with them.

    Args:
        record: a ``results.json`` record (``experiment``, ``mode``, ``config``).

    Returns:
        ``""`` when the config's :data:`DATA_KEYS` entries equal FULL's, or it has none (the
        data do not change with the mode); else the run's, e.g. ``"dataset=digits"``. When
        the experiment is not installed here (FULL unknown), a quick-mode run that names its
        data counts as a run on other data.
    """
    from jaxnn.errors import JaxnnError

    config = record.get("config") or {}
    named = {k: config[k] for k in DATA_KEYS if k in config}
    if not named:
        return ""
    try:
        full = load(record["experiment"]).FULL
        differs = any(full.get(k) != v for k, v in named.items())
    except (JaxnnError, ImportError, KeyError, AttributeError):
        differs = record.get("mode") == "quick"
    if not differs:
        return ""
    return "; ".join(f"{k}={', '.join(map(str, v)) if isinstance(v, list) else v}"
                     for k, v in named.items())


def comparison_rows(metrics: dict[str, Any], reference: dict[str, Any], *,
                    comparable: bool = True, seeds: Any = None
                    ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """The comparison table's content: our numbers beside the references, as text.

    Args:
        metrics: name -> our number (a ``results.json``'s ``metrics``).
        reference: name -> reference number, keyed like ``metrics`` where they compare.
        comparable: False when the run is on other data than the references' (see
            :func:`other_data`): a reference beside a metric then reads ``"0.12 (full-mode
            data; not comparable)"``, and the references no metric matches are left out.
        seeds: the config's ``seeds``; when it is 1 the ``*_std`` metrics (a spread over one
            run, always 0) are left out.

    Returns:
        ``(rows, others)``: ``rows`` holds ``(name, ours, reference)`` for each metric that
        has a value (``reference`` ``""`` where there is none); ``others`` holds ``(name,
        reference)`` for the references no metric matches.
    """
    rows = []
    for k, v in metrics.items():
        if v is None or v == "" or (seeds == 1 and k.endswith("_std")):
            continue
        ref = reference.get(k)
        cell = "" if ref is None else _fmt(ref)
        if cell and not comparable:
            cell += " (full-mode data; not comparable)"
        rows.append((k, _fmt(v), cell))
    others = ([(k, _fmt(v)) for k, v in reference.items() if k not in metrics]
              if comparable else [])
    return rows, others


def comparison_table(metrics: dict[str, Any], reference: dict[str, Any], *,
                     comparable: bool = True, seeds: Any = None) -> str:
    """Markdown table of our numbers beside the references (see :func:`comparison_rows`).

    Returns:
        the table (``| metric | ours | reference |``), followed, when some references match
        no metric, by a line listing them.
    """
    rows, others = comparison_rows(metrics, reference, comparable=comparable, seeds=seeds)
    head = "reference" if comparable else "reference (full-mode data)"
    lines = [f"| metric | ours | {head} |", "|---|---|---|"]
    lines += [f"| {k} | {v} | {ref} |" for k, v, ref in rows]
    if others:
        lines += ["", "Other reference numbers: " + ", ".join(f"{k} {v}" for k, v in others)]
    return "\n".join(lines)


def record_table(record: dict[str, Any]) -> str:
    """:func:`comparison_table` of a ``results.json`` record, under the report's rules.

    Returns:
        the table, preceded by a line saying so when the run is on other data than the
        references (:func:`other_data`).
    """
    data = other_data(record)
    table = comparison_table(record.get("metrics") or {}, record.get("reference") or {},
                             comparable=not data, seeds=(record.get("config") or {}).get("seeds"))
    return f"{other_data_note(record, data)}\n\n{table}" if data else table


def other_data_note(record: dict[str, Any], data: str) -> str:
    """The sentence above the table of a run on other data (``data``: :func:`other_data`)."""
    return (f"This {record.get('mode', '')} run used {data}, not the full-mode data the "
            "references were measured on: not comparable.")


def _fmt(v: Any) -> str:
    """A number as the tables print it (6 significant digits); anything else as ``str``."""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


#: the states a run folder's ``results.json`` can be in (its ``status``)
STATUSES = ("running", "done", "interrupted", "failed")
#: files written by :func:`savefig` during the current :func:`execute` (the partial results
#: an interrupted or failed run records)
_written: list[str] | None = None


def _environment() -> dict[str, Any]:
    import jax

    from . import _machine

    m = _machine.describe()
    return {"jax": jax.__version__, "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()],
            **{k: m[k] for k in ("python", "cpu", "cores", "simd")}}


def write_results(out: Path, record: dict[str, Any]) -> None:
    """Write ``out/results.json`` atomically (a reader never sees a partial file)."""
    atomic.write_text(Path(out) / "results.json", json.dumps(_clean(record), indent=2))


def check_free(out: Path) -> None:
    """Raise :class:`~jaxnn.errors.JaxnnError` if ``out`` holds another run's results.

    A run folder holds one run: ``results.json`` there means a finished (or killed) run's
    record, and writing beside it would mix the two runs' files. The caller picks another
    folder (``jaxnn run`` defaults to a fresh ``runs/<timestamp>``) or deletes this one.
    """
    from jaxnn.errors import JaxnnError

    path = Path(out) / "results.json"
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text())
        what = (f"{old.get('experiment')!r}, status {old.get('status', 'done')!r}"
                f"{', started ' + old['started'] if old.get('started') else ''}")
    except (OSError, ValueError):
        what = "unreadable"
    raise JaxnnError(f"{out} already holds the results of a run ({what}); a run folder holds "
                     "one run: pass another --out (or out=), or delete the folder")


def execute(name: str, *, quick: bool, out: Path, seed: int = 0, config: dict | None = None,
            command: str | None = None) -> dict[str, Any]:
    """Run one experiment into ``out`` and write ``results.json``; return its contents.

    Args:
        name: the experiment's registered name (hyphens or underscores).
        quick: quick mode (its QUICK config) instead of full mode (FULL).
        out: output folder (created). It must not be in use by another run (a lock file
            ``.jaxnn.lock`` with the pid; a stale one, whose process is gone, is taken over)
            nor hold another run's ``results.json``: both refuse (:func:`check_free`).
        seed: the experiment's seed.
        config: the effective config (default: a copy of QUICK or FULL, by ``quick``);
            ``jaxnn run --set`` passes the overridden one (:func:`jaxnn.cli.override`).
        command: the command line that ran it (``jaxnn run ...``), recorded as ``command``;
            None when called from Python.

    Returns:
        the record written to ``out/results.json`` (experiment, title, mode, seed, status,
        metrics, reference, config, command, ...). ``results.json`` is written at the start
        with ``status: running``, and at the end with ``done``; on ``KeyboardInterrupt`` with
        ``interrupted`` and on an exception with ``failed`` and the ``error`` (then the
        exception propagates), listing the plots finished so far. Every write is atomic
        (temporary file + rename in the folder), so a reader never sees a partial file.
        A failed or interrupted run that created ``out`` and wrote nothing into it but its
        ``results.json`` removes it again (and the parent folders it created, when empty):
        no empty run folders are left behind. A folder that existed before, or one holding
        partial results (a plot, a checkpoint, any file of the run), stays with its status.

    Raises:
        JaxnnError: ``out`` is in use or holds another run's results.
    """
    global _written
    from jaxnn.errors import JaxnnError

    module = load(name)
    name = canonical(name)
    mode = "quick" if quick else "full"
    if config is None:
        config = copy.deepcopy(module.QUICK if quick else module.FULL)
    out = Path(out)
    created = [d for d in (out, *out.parents) if not d.exists()]  # innermost first
    out.mkdir(parents=True, exist_ok=True)
    lock = atomic.FolderLock(out)
    failed = False
    try:
        lock.acquire()
    except atomic.FolderInUse as exc:
        raise JaxnnError(str(exc)) from None
    try:
        check_free(out)
        record: dict[str, Any] = {
            "experiment": name, "title": module.TITLE, "mode": mode, "seed": seed,
            "status": "running", "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "metrics": {}, "reference": {}, "reference_source": "", "plots": [], "notes": "",
            "config": config, "command": command, "extra": {}, "seconds": 0.0,
            "environment": _environment()}
        write_results(out, record)
        print(f"\n=== {name} ({mode}, seed {seed}): {module.TITLE}", flush=True)
        t0 = time.perf_counter()
        _written = []
        try:
            result: Result = module.run(config, out, seed)
        except BaseException as exc:
            interrupted = isinstance(exc, KeyboardInterrupt)
            record.update(status="interrupted" if interrupted else "failed",
                          plots=list(_written), seconds=round(time.perf_counter() - t0, 2),
                          error=("KeyboardInterrupt" if interrupted else
                                 f"{type(exc).__name__}: {exc}"))
            if not interrupted:
                record["traceback"] = traceback.format_exc(limit=-8)
            with _no_interrupt(redeliver=not interrupted):
                write_results(out, record)
            failed = True
            raise
        finally:
            _written = None
        elapsed = time.perf_counter() - t0
        record.update({
            "status": "done",
            "metrics": {k: float(v) for k, v in result.metrics.items()},
            "reference": result.reference,
            "reference_source": result.reference_source,
            "plots": result.plots,
            "notes": result.notes,
            "extra": result.extra,
            "seconds": round(elapsed, 2),
        })
        write_results(out, record)
    finally:
        lock.release()
        if failed and created:
            _remove_if_nothing_written(out, created)
    print(record_table(record))
    if result.reference_source:
        print(f"reference: {result.reference_source}")
    print(f"[{elapsed:.1f} s] results in {out}", flush=True)
    return record


def _remove_if_nothing_written(out: Path, created: list[Path]) -> None:
    """Remove the run folder ``out`` (created by this run) if it holds nothing but the run's
    own ``results.json``, then each folder in ``created`` (innermost first) left empty."""
    if any(p.name != "results.json" for p in out.iterdir()):
        return  # partial results: they stay, results.json says failed or interrupted
    (out / "results.json").unlink(missing_ok=True)
    for folder in created:
        try:
            folder.rmdir()
        except OSError:  # not empty (another run's files), or already gone
            break
    print(f"(the run wrote nothing: {out} removed)", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _no_interrupt(redeliver: bool):
    """Hold off SIGINT while the final status is written (a Ctrl-C meanwhile waits for it,
    and is delivered afterwards if ``redeliver``)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = signal.signal(signal.SIGINT, lambda *a: pending.append(a))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending and redeliver and callable(previous):
        previous(*pending[0])


def savefig(fig: plt.Figure, out: Path, filename: str) -> str:
    """Save ``fig`` as PNG into ``out`` and close it; return the file name for ``Result.plots``.

    The figure is first checked by :func:`jaxnn_experiments._style.audit` (titles, axis
    labels, legends, colour bars, empty axes): with the environment variable
    ``JAXNN_STRICT_PLOTS=1`` (the test suite sets it) a finding raises
    :class:`~jaxnn.errors.JaxnnError`, otherwise it is printed as a warning and the plot is
    saved. Written atomically (temporary file in ``out``, then renamed): an interrupted save
    leaves no broken PNG under ``filename``.
    """
    try:
        problems = _style.audit(fig)
        if problems:
            msg = f"plot {filename} does not read at a glance: " + "; ".join(problems)
            if os.environ.get("JAXNN_STRICT_PLOTS", "") not in ("", "0"):
                from jaxnn.errors import JaxnnError

                raise JaxnnError(msg)
            warnings.warn(msg, stacklevel=2)
        if fig.get_layout_engine() is None:
            fig.tight_layout()
        with atomic.atomic_path(Path(out) / filename) as tmp:
            fig.savefig(tmp, dpi=_style.DPI, format=Path(filename).suffix[1:] or "png")
    finally:
        plt.close(fig)
    if _written is not None:
        _written.append(filename)
    return filename
