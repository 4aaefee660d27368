"""Reruns table: several ``bench.json`` of the same benchmark side by side, one ratio per rerun.

A ratio measured once on a shared machine says little; the targets hold only if they hold in
every rerun. ``python -m jaxnn_experiments.bench._reruns OUT.md A/bench.json B/bench.json ...``
writes one row per (model, config, peer) with each rerun's median per-round ratio (peer ms /
jaxnn ms, > 1: jaxnn faster), its min–max over that rerun's rounds, ⚠ where that rerun's
rounds disagree, and whether every rerun reads ≥ 1.0×.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import _machine

__all__ = ["table", "main"]


def _cell(row: dict | None) -> str:
    if row is None or row.get("ratio") is None:
        return ""
    flag = " ⚠" if row.get("flag") else ""
    return f"{row['ratio']:.2f}× [{row['ratio_lo']:.2f}–{row['ratio_hi']:.2f}]{flag}"


def table(runs: list[dict]) -> str:
    """Markdown table over the reruns' rows that carry a ratio (peers, not jaxnn itself).

    Args:
        runs: the parsed ``bench.json`` of each rerun, in order.

    Returns:
        the table with a header line naming each rerun's command and machine.
    """
    if not runs:
        raise ValueError("reruns table: no bench.json given")
    keys: list[tuple[str, str, str]] = []
    by_run = []
    for run in runs:
        rows = {(r["model"], r["config"], r["impl"]): r for r in run["rows"]
                if r.get("ratio") is not None}
        keys += [k for k in rows if k not in keys]
        by_run.append(rows)
    n = len(runs)
    lines = [f"- rerun {i + 1}: `{run.get('command', '?')}`"
             + (f" on {_machine.summary(run['machine'])}" if run.get("machine") else "")
             for i, run in enumerate(runs)]
    lines += ["", "| model | config | peer | " + " | ".join(f"rerun {i + 1}" for i in range(n))
              + f" | all {n} ≥ 1.0× |", "|" + "---|" * (n + 4)]
    for k in keys:
        cells = [by_run[i].get(k) for i in range(n)]
        ok = all(c is not None and c["ratio"] >= 1.0 for c in cells)
        lines.append("| " + " | ".join([*k, *map(_cell, cells), "yes" if ok else "no"]) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m jaxnn_experiments.bench._reruns OUT.md A/bench.json "
              "[B/bench.json ...]", file=sys.stderr)
        return 2
    out, paths = Path(argv[0]), [Path(p) for p in argv[1:]]
    runs = [json.loads(p.read_text()) for p in paths]
    out.write_text(table(runs) + "\n")
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
