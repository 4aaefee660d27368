"""Build one Markdown report (plots embedded) from the experiments in a run folder."""

from __future__ import annotations

import json
from pathlib import Path

from ._base import comparison_table


def build(run_dir: Path) -> Path:
    """Write ``run_dir/report.md`` from every ``*/results.json`` below it; return its path."""
    run_dir = Path(run_dir)
    records = [json.loads(p.read_text()) for p in sorted(run_dir.glob("*/results.json"))]
    lines = [f"# jaxnn run report: {run_dir.name}", ""]
    summary = ["| experiment | mode | seed | seconds | key metrics |", "|---|---|---|---|---|"]
    for r in records:
        key = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in list(r["metrics"].items())[:4])
        summary.append(f"| [{r['experiment']}](#{r['experiment']}) | {r['mode']} | {r['seed']} "
                       f"| {r['seconds']} | {key} |")
    lines += summary + [""]
    for r in records:
        folder = r["experiment"]
        lines += [f"## {r['experiment']}", "", f"*{r['title']}*", ""]
        lines += [comparison_table(r["metrics"], r["reference"]), ""]
        if r.get("reference_source"):
            lines += [f"Reference: {r['reference_source']}", ""]
        if r.get("notes"):
            lines += [r["notes"], ""]
        for p in r.get("plots", []):
            lines += [f"![{p}]({folder}/{p})", ""]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines))
    return path
