"""``jaxnn bench``: per-model speed benchmarks against Flax and PyTorch, one table.

Each module here (``mlp``, ``lenet``, ``rnn``, ``scaling``, ...) exposes
``run(quick) -> list[dict]`` (see :mod:`jaxnn_experiments.bench._timing` for the row keys) and
optionally ``setup_process()``, called in its subprocess before JAX runs anything.
:func:`main` runs each module in its own Python subprocess (so one model's compiled caches,
thread pools and allocator state do not disturb the next; ``isolate=False`` runs them in this
process, for tests), merges the rows and writes ``bench.md`` and ``bench.json``:

- median step time and its range over interleaved rounds; the ratio of each peer's time to
  jaxnn's for the same model and config (> 1: jaxnn is faster), as the median of the per-round
  ratios with its range, and a flag where the rounds disagree (``_timing.round_stats``);
  PyTorch at 1 and at 2 intra-op threads (``torch[1t]``, ``torch[2t]``);
- achieved GFLOP/s and its share of the ceiling: the best GFLOP/s of a 1024³ float32 matmul
  measured in this run — once in the parent and once in each module's subprocess just before
  it runs, because on a shared machine a single measurement taken under a load spike
  understates the ceiling;
- compile seconds and peak memory (``peak_mb``, how it is measured: ``_timing``'s docstring);
- a summary line naming the peers that were missing (e.g. torch not installed), and notes: the
  machine (CPU model, cores, vector extensions, versions) and the subprocess max RSS of each
  module.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .. import _machine
from ._timing import SPREAD_LIMIT, matmul_gflops

# Run order; modules that are not there yet are skipped.
ORDER = ("mlp", "lenet", "rnn", "language", "scaling")
#: Modules run only when named (``jaxnn bench --only gpu``): they need hardware this one may
#: lack.
OPT_IN = ("gpu",)
COLUMNS = ("model", "config", "impl", "median ms", "ms range", "jaxnn speed-up vs impl",
           "speed-up range", "flag", "GFLOP/s", "% of matmul", "compile s", "peak MB", "note")


def _modules() -> list[str]:
    from .. import bench as pkg

    present = {m.name for m in pkgutil.iter_modules(pkg.__path__)
               if not m.name.startswith("_") and m.name not in OPT_IN}
    return [m for m in ORDER if m in present] + sorted(present - set(ORDER))


def _fmt(v, spec: str) -> str:
    return "" if v is None else format(v, spec)


def missing_summary(rows: list[dict]) -> str:
    """One line naming every implementation reported missing, with the models and reasons."""
    missing: dict[str, dict[str, set[str]]] = {}
    for r in rows:
        if r.get("missing"):
            missing.setdefault(r["impl"], {}).setdefault(r["missing"], set()).add(r["model"])
    if not missing:
        return "Missing peers: none."
    parts = [f"{impl} ({reason}: {', '.join(sorted(models))})"
             for impl, reasons in missing.items() for reason, models in reasons.items()]
    return "Missing peers: " + "; ".join(parts) + "."


def notes(modules: dict[str, dict]) -> list[str]:
    """Table notes: per-module subprocess stats and failures."""
    lines = []
    for name, m in modules.items():
        if m.get("max_rss_mb") is not None:
            lines.append(f"`{name}` ran in its own process: {m['wall_s']:.0f} s, max RSS "
                         f"{m['max_rss_mb']:.0f} MB (whole process: Python, XLA, torch), "
                         f"matmul {m['matmul_gflops']:.1f} GFLOP/s before it; malloc keeps "
                         f"freed memory (jaxnn.host, every implementation in the process): "
                         f"{'yes' if m.get('keep_freed_memory') else 'no'}.")
        if m.get("error"):
            lines.append(f"`{name}` failed: {m['error']}")
    return lines


def table_markdown(rows: list[dict], ceiling: float, extra_notes: Sequence[str] = ()) -> str:
    """Markdown table of ``rows`` (ratios: peer ms / jaxnn ms, > 1 = jaxnn faster)."""
    lines = [f"Large-matmul ceiling measured in this run: {ceiling:.1f} GFLOP/s "
             "(best 1024³ float32 matmul)", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    ours = {(r["model"], r["config"]): r["median_ms"] for r in rows if r["impl"] == "jaxnn"}
    for r in rows:
        ms = r.get("median_ms")
        base = ours.get((r["model"], r["config"]))
        ratio = r.get("ratio")
        if ratio is None and ms and base and r["impl"] != "jaxnn":
            ratio = ms / base
        lo, hi = r.get("ratio_lo"), r.get("ratio_hi")
        ms_range = (f"{r['ms_lo']:.2f}–{r['ms_hi']:.2f}" if r.get("ms_lo") is not None else "")
        gf = r.get("gflops") or None
        share = _fmt(100 * gf / ceiling if gf and ceiling else None, ".0f")
        note = r.get("missing", "") or r.get("note", "")
        flag = f"⚠ {r['flag']}" if r.get("flag") else ""
        cells = (r["model"], r["config"], r["impl"], _fmt(ms, ".2f"), ms_range,
                 "" if ratio is None else f"{ratio:.2f}×",
                 "" if lo is None else f"{lo:.2f}–{hi:.2f}×", flag, _fmt(gf, ".1f"),
                 share, _fmt(r.get("compile_s"), ".2f"), _fmt(r.get("peak_mb"), ".2f"), note)
        lines.append("| " + " | ".join(cells) + " |")
    n_flag = sum(bool(r.get("flag")) for r in rows)
    lines += ["", f"Ratios: the median over interleaved rounds of (peer ms / jaxnn ms) in the same "
              f"round; ranges: min–max over rounds; ⚠: the rounds disagree by more than "
              f"{100 * SPREAD_LIMIT:.0f}% of the median ratio ({n_flag} rows), so read that ratio "
              "as load, not as a speed difference."]
    lines += ["", missing_summary(rows)]
    if extra_notes:
        lines += ["", *(f"- {n}" for n in extra_notes)]
    return "\n".join(lines)


def run_module(name: str, quick: bool) -> list[dict]:
    """Rows of ``jaxnn_experiments.bench.<name>.run(quick)`` in this process."""
    return importlib.import_module(f"{__name__}.{name}").run(quick)


def _child(name: str, quick: str, path: str) -> None:
    """Subprocess entry: measure the matmul ceiling, run one module, write its rows, the
    ceiling and the process's max RSS (MB) as JSON to ``path``."""
    import resource

    from jaxnn import host

    kept = host.apply_from_environment()      # as ``jaxnn bench`` does in its own process
    module = importlib.import_module(f"{__name__}.{name}")     # fail fast
    if hasattr(module, "setup_process"):      # before JAX runs anything (e.g. split the CPU)
        module.setup_process()
    ceiling = matmul_gflops(128 if os.environ.get("JAXNN_BENCH_TINY") == "1" else 1024)
    rows = module.run(quick == "1")
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss     # kilobytes on Linux
    Path(path).write_text(json.dumps({"rows": rows, "matmul_gflops": ceiling,
                                      "max_rss_mb": rss_kb * 1024 / 1e6,
                                      "keep_freed_memory": kept}))


def run_isolated(name: str, quick: bool, workdir: Path) -> tuple[list[dict], dict]:
    """Run one module in a fresh Python process; a failure becomes a note, not an exception."""
    path = workdir / f".bench-{name}.json"
    code = f"from {__name__} import _child; _child({name!r}, {'1' if quick else '0'!r}, " \
           f"{str(path)!r})"
    t0 = time.perf_counter()
    root = str(Path(__file__).resolve().parents[2])      # the folder holding ``experiments``
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True,
                          env=env)
    info: dict = {"wall_s": time.perf_counter() - t0, "rc": proc.returncode}
    if proc.returncode != 0 or not path.exists():
        tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-1:] or ["no output"]
        info["error"] = f"exit {proc.returncode}: {tail[0]}"
        sys.stderr.write(proc.stderr[-4000:])
        return [], info
    data = json.loads(path.read_text())
    path.unlink()
    info["max_rss_mb"], info["matmul_gflops"] = data["max_rss_mb"], data["matmul_gflops"]
    info["keep_freed_memory"] = data["keep_freed_memory"]
    return data["rows"], info


def main(*, quick: bool = False, out: Path | None = None, modules: list[str] | None = None,
         isolate: bool = True) -> int:
    """Run the benchmark modules and write ``out/bench.md`` and ``out/bench.json``.

    Args:
        quick: each module's quick sizes.
        out: output folder (default ``runs/bench-<timestamp>``).
        modules: module names (default: every module here, in :data:`ORDER`).
        isolate: run each module in its own subprocess (default); False runs them in-process.

    Returns:
        0 (a module that fails is reported in the notes, not raised, when isolated).
    """
    out = Path(out) if out else Path("runs") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    load = [os.getloadavg()[0]]
    ceilings = [matmul_gflops()]
    rows: list[dict] = []
    info: dict[str, dict] = {}
    for name in modules if modules is not None else _modules():
        print(f"--- bench {name}", flush=True)
        if isolate:
            mod_rows, info[name] = run_isolated(name, quick, out)
        else:
            t0 = time.perf_counter()
            mod_rows = run_module(name, quick)
            info[name] = {"wall_s": time.perf_counter() - t0}
        rows += mod_rows
        ceilings += [info[name]["matmul_gflops"]] if "matmul_gflops" in info[name] else []
    ceiling = max(ceilings)
    load.append(os.getloadavg()[0])
    machine = _machine.describe()
    extra = [f"Machine: {_machine.summary(machine)}.",
             f"Load average (1 min): {load[0]:.1f} at the start, {load[1]:.1f} at the end, on "
             f"{os.cpu_count()} cores (above the core count, other jobs shared them).",
             *notes(info)]
    command = " ".join(["jaxnn bench", *(["--quick"] if quick else []),
                        *(["--only", *modules] if modules is not None else []), "--out", str(out)])
    md = f"Command: `{command}`\n\n" + table_markdown(rows, ceiling, extra)
    (out / "bench.md").write_text(md + "\n")
    (out / "bench.json").write_text(json.dumps(
        {"command": command, "machine": machine, "load_average": load, "matmul_gflops": ceiling, "matmul_gflops_all": ceilings,
         "quick": quick, "isolated": isolate, "modules": info,
         "missing_peers": missing_summary(rows), "notes": extra, "rows": rows}, indent=2))
    print(md)
    print(f"\nbench table: {out / 'bench.md'}")
    return 0
