"""``jaxnn bench``: per-model speed benchmarks against Flax and PyTorch, one table.

Each module here (``mlp``, ``lenet``, ``rnn``, ...) exposes ``run(quick) -> list[dict]``
(see :mod:`experiments.bench._timing`); :func:`main` runs the ones present and writes the table.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import time
from pathlib import Path

from experiments.bench._timing import matmul_gflops

# Run order; modules that are not there yet are skipped.
ORDER = ("mlp", "lenet", "rnn", "scaling")


def _modules() -> list[str]:
    import experiments.bench as pkg

    present = {m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")}
    return [m for m in ORDER if m in present] + sorted(present - set(ORDER))


def table_markdown(rows: list[dict], ceiling: float) -> str:
    """Markdown table: median ms, ratio of each peer's time to jaxnn's (>1 = jaxnn faster)."""
    lines = [f"Large-matmul ceiling measured in this run: {ceiling:.1f} GFLOP/s", "",
             "| model | config | impl | median ms | jaxnn speed-up vs impl | GFLOP/s | compile s | note |",
             "|---|---|---|---|---|---|---|---|"]
    ours = {(r["model"], r["config"]): r["median_ms"] for r in rows if r["impl"] == "jaxnn"}
    for r in rows:
        ms = r.get("median_ms")
        base = ours.get((r["model"], r["config"]))
        ratio = f"{ms / base:.2f}×" if ms and base and r["impl"] != "jaxnn" else ""
        gf = f"{r['gflops']:.1f}" if r.get("gflops") else ""
        cs = f"{r['compile_s']:.2f}" if r.get("compile_s") is not None else ""
        note = r.get("missing", "") or r.get("note", "")
        lines.append(f"| {r['model']} | {r['config']} | {r['impl']} | "
                     f"{'' if ms is None else f'{ms:.2f}'} | {ratio} | {gf} | {cs} | {note} |")
    return "\n".join(lines)


def main(*, quick: bool = False, out: Path | None = None) -> int:
    out = Path(out) if out else Path("runs") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    ceiling = matmul_gflops()
    rows: list[dict] = []
    for name in _modules():
        print(f"--- bench {name}", flush=True)
        rows += importlib.import_module(f"experiments.bench.{name}").run(quick)
    md = table_markdown(rows, ceiling)
    (out / "bench.md").write_text(md + "\n")
    (out / "bench.json").write_text(json.dumps({"matmul_gflops": ceiling, "rows": rows}, indent=2))
    print(md)
    print(f"\nbench table: {out / 'bench.md'}")
    return 0
