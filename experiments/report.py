"""The run's report: ``report.md`` and a self-contained ``report.html`` from a run folder.

A run folder holds one subfolder per experiment, each with its ``results.json`` and plots
(:func:`jaxnn_experiments._base.execute`). :func:`build` reads them all into
:class:`Section` s, and writes them twice: as Markdown (plots linked, for a viewer or a
repository page) and as one HTML file (plots inlined, no network needed:
:mod:`jaxnn_experiments.report_html`).

Rules for what is printed (shared by both, from :func:`jaxnn_experiments._base.comparison_rows`):
a run on other data than its experiment's FULL config (quick mode on small embedded data)
shows its references as the full-mode data's, not comparable; metrics without a value and
``*_std`` metrics over one seed are left out; the summary's key metrics are the experiment's
``HEADLINE`` (the first metrics when it has none).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from pathlib import Path
from typing import Any

from jaxnn import _atomic as atomic

from . import load, report_html
from ._base import comparison_rows, other_data, record_table

#: how many metrics the summary shows per experiment
MAX_KEY_METRICS = 6


@dataclasses.dataclass(frozen=True)
class Section:
    """One experiment's part of the report (everything as display text).

    folder:     the experiment's subfolder of the run folder (the section's anchor).
    record:     its ``results.json``, as read.
    key:        ``(name, value)`` of the summary's key metrics.
    rows:       ``(metric, ours, reference)`` of the comparison table.
    others:     ``(name, reference)`` for the references no metric matches.
    other_data: the data the run used when they are not the references' (``""``: they are).
    """

    folder: str
    record: dict[str, Any]
    key: list[tuple[str, str]]
    rows: list[tuple[str, str, str]]
    others: list[tuple[str, str]]
    other_data: str

    @property
    def experiment(self) -> str:
        return str(self.record.get("experiment", self.folder))

    @property
    def status(self) -> str:
        """``""`` for a finished run; else its status and error (``"failed: ValueError: x"``)."""
        status = str(self.record.get("status", "done"))
        if status == "done":
            return ""
        return status + (f": {self.record['error']}" if self.record.get("error") else "")

    @property
    def subtitle(self) -> str:
        """The experiment's title, after its name when the folder is named otherwise."""
        title = str(self.record.get("title", ""))
        return title if self.experiment == self.folder else f"{self.experiment}: {title}"


def headline(record: dict[str, Any]) -> list[str]:
    """The names of the summary's key metrics of one ``results.json`` record.

    Returns:
        the metrics matching the experiment's ``HEADLINE`` (names or shell-style patterns, in
        its order), or its first metrics when the experiment has no ``HEADLINE``, none of
        them matches, or it is not installed here; at most :data:`MAX_KEY_METRICS`.
    """
    from jaxnn.errors import JaxnnError

    metrics = [k for k, v in (record.get("metrics") or {}).items() if v not in (None, "")]
    try:
        patterns = tuple(getattr(load(record["experiment"]), "HEADLINE", ()))
    except (JaxnnError, ImportError, KeyError):  # a folder from elsewhere, not installed here
        patterns = ()
    chosen: list[str] = []
    for pattern in patterns:
        chosen += [k for k in metrics if fnmatch.fnmatchcase(k, pattern) and k not in chosen]
    return (chosen or metrics[:4])[:MAX_KEY_METRICS]


def _value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def section(folder: str, record: dict[str, Any]) -> Section:
    """The :class:`Section` of the experiment in subfolder ``folder`` with record ``record``."""
    metrics = record.get("metrics") or {}
    data = other_data(record)
    rows, others = comparison_rows(metrics, record.get("reference") or {}, comparable=not data,
                                   seeds=(record.get("config") or {}).get("seeds"))
    shown = {name for name, _, _ in rows}
    key = [(k, _value(metrics[k])) for k in headline(record) if k in shown]
    return Section(folder, record, key, rows, others, data)


def collect(run_dir: Path) -> list[Section]:
    """The sections of every ``*/results.json`` in ``run_dir``, sorted by folder."""
    return [section(p.parent.name, json.loads(p.read_text()))
            for p in sorted(Path(run_dir).glob("*/results.json"))]


def markdown(title: str, sections: list[Section]) -> str:
    """The Markdown report: a contents table (key metrics) and one section per experiment."""
    lines = [f"# {title}", "",  # the table is the contents: before the first section
             "| experiment | mode | seed | seconds | key metrics |", "|---|---|---|---|---|"]
    for s in sections:
        r = s.record
        mode = r.get("mode", "") + (f" ({r.get('status')})" if s.status else "")
        lines.append(f"| [{s.folder}](#{s.folder.lower()}) | {mode} | {r.get('seed', '')} | "
                     f"{r.get('seconds', '')} | {', '.join(f'{k}={v}' for k, v in s.key)} |")
    for s in sections:
        r = s.record
        lines += ["", f"## {s.folder}", "", f"*{s.subtitle}*", ""]
        if s.status:
            lines += [f"**Run {s.status}**", ""]
        lines += [record_table(r), ""]
        if r.get("reference_source"):
            lines += [f"Reference: {r['reference_source']}", ""]
        if r.get("notes"):
            lines += [r["notes"], ""]
        lines += [f"![{p}]({s.folder}/{p})\n" for p in r.get("plots", [])]
    return "\n".join(lines)


def build(run_dir: Path) -> Path:
    """Write ``report.md`` and ``report.html`` into ``run_dir``; return ``report.md``'s path.

    Args:
        run_dir: a run folder (one subfolder per experiment, each with its ``results.json``).

    Returns:
        the path of ``report.md``; ``report.html`` lies beside it (self-contained: plots
        inlined, no network needed to open it).
    """
    run_dir = Path(run_dir)
    sections = collect(run_dir)
    title = f"jaxnn run report: {run_dir.resolve().name}"
    path = run_dir / "report.md"
    for target, text in ((path, markdown(title, sections)),
                         (run_dir / "report.html", report_html.render(title, sections, run_dir))):
        atomic.write_text(target, text)
        target.chmod(0o644)  # a page to share, not a private file (the temporary's mode)
    return path
