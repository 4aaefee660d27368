"""Where the time of a recurrent training step goes, kernel by kernel, on each CPU thread.

Traces the bench's LSTM, GRU or simple-RNN training step (:mod:`experiments.bench.rnn`) with
``jax.profiler`` and sums the trace per thread into three parts: **matmul** (the kernels whose
HLO op is a ``dot_general``: per time step the recurrent products of the forward and backward
scans, after the scans ``∂J/∂U`` and ``∂J/∂W``, before them the input projection), **other
kernels** (elementwise gate work, stacked writes, copies, reductions) and **sync** (the
all-reduce of the gradient and the waits of one device for the other, with ``--devices N``).
Kernels are named as in the optimized HLO, so each line can be looked up in
``jax.jit(step).lower(...).compile().as_text()``.

From the shell (the numbers of docs/PERF.md)::

    python -m jaxnn_experiments.bench._trace lstm --devices 2    # batch over 2 CPU devices
    python -m jaxnn_experiments.bench._trace gru --batch 32 --hidden 256 --steps 100
    python -m jaxnn_experiments.bench._trace gru --cell gru --top 10    # the reset-before GRU
    python -m jaxnn_experiments.bench._trace rnn --hidden 128 --steps 1000 --calls 5

The profiler adds its own cost to every kernel (the wall time it prints is under the profiler,
1.0–1.3× the bench's); the split between the parts is what the trace is for.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import re
import tempfile
import time
from collections.abc import Callable
from typing import Any

PARTS = ("matmul", "other kernels", "sync")
_SYNC = re.compile(r"^(all-reduce|all-gather|reduce-scatter|collective-permute|Rendezvous|Wait)")
_INSTR = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+) = ")
_OP_NAME = re.compile(r'op_name="([^"]*)"')
_CONTAINER = re.compile(r" (while|conditional|call)\(")


def hlo_ops(hlo_text: str) -> dict[str, str]:
    """Instruction name -> the JAX op it came from (the last part of its ``op_name``, e.g.
    ``dot_general``; ``""`` where XLA made the instruction itself, such as a copy) for every
    instruction of an optimized HLO module except loops, conditionals and calls, whose spans
    in a trace hold their bodies' kernels."""
    ops = {}
    for line in hlo_text.splitlines():
        m = _INSTR.match(line)
        if m and not _CONTAINER.search(line):
            op = _OP_NAME.search(line)
            ops[m.group(1)] = op.group(1).rsplit("/", 1)[-1] if op else ""
    return ops


def part_of(kernel: str, ops: dict[str, str]) -> str | None:
    """The part (:data:`PARTS`) a trace event belongs to, or None for what is not a kernel
    of the step (the executor's own spans, Python frames, loops around their bodies)."""
    if _SYNC.match(kernel):
        return "sync"
    op = ops.get(kernel)
    if op is None:
        return None
    return "matmul" if op.startswith("dot_general") else "other kernels"


def summarize(events: list[dict], ops: dict[str, str], calls: int) -> dict[str, dict]:
    """Per thread: ``{"parts": {part: ms per call}, "kernels": {kernel: ms per call}}``.

    Args:
        events: the ``traceEvents`` of a perfetto trace (complete events ``ph == "X"`` with
            ``dur`` in µs; thread names from the ``thread_name`` metadata events).
        ops: :func:`hlo_ops` of the traced executable. calls: how many calls were traced.
    """
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    out: dict[str, dict] = collections.defaultdict(
        lambda: {"parts": collections.Counter(), "kernels": collections.Counter()})
    for e in events:
        if e.get("ph") != "X":
            continue
        part = part_of(e["name"], ops)
        if part is None:
            continue
        th = names.get((e["pid"], e["tid"]), str(e["tid"]))
        ms = e["dur"] / 1e3 / calls
        out[th]["parts"][part] += ms
        out[th]["kernels"][e["name"]] += ms
    return dict(out)


def trace(call: Callable[[], Any], calls: int, folder: str) -> tuple[float, list[dict]]:
    """``(wall ms per call under the profiler, trace events)`` of ``calls`` calls of ``call``."""
    import jax

    with jax.profiler.trace(folder, create_perfetto_trace=True):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        wall = (time.perf_counter() - t0) / calls * 1e3
    path = glob.glob(f"{folder}/**/*.trace.json.gz", recursive=True)[0]
    with gzip.open(path) as f:
        data = json.load(f)
    return wall, data["traceEvents"] if isinstance(data, dict) else data


def report(kind: str, B: int, H: int, T: int, *, D: int = 64, devices: int = 1,
           calls: int = 10, top: int = 8, cell: str | None = None) -> str:
    """The text :func:`main` prints: wall time, then per thread the parts and top kernels;
    ``cell``: a jaxnn cell traced instead of the kind's (``"gru"``: the reset-before GRU)."""
    import jax

    from . import rnn
    from ._timing import block

    steps, x = rnn._jax_steps(kind, B, D, H, T, ["custom_vjp"], cell=cell)
    step, p = steps["custom_vjp"]
    if devices > 1:
        split = rnn._split_step(step, p, x)
        if split is None:
            raise SystemExit(f"cannot split B={B} over {len(jax.devices('cpu'))} CPU devices")
        _, call, args = split
    else:
        def call():
            return block(step(p, x))
        args = (p, x)
    ops = hlo_ops(step.lower(*args).compile().as_text())
    for _ in range(3):
        call()
    with tempfile.TemporaryDirectory() as folder:
        wall, events = trace(call, calls, folder)
    where = f"batch over {devices} CPU devices" if devices > 1 else "one device"
    name = kind if cell is None else f"{kind} (jaxnn cell {cell!r})"
    lines = [f"{name} B={B} D={D} H={H} T={T}, {where}: {wall:.1f} ms per step under the "
             f"profiler ({calls} steps)"]
    for th, s in sorted(summarize(events, ops, calls).items()):
        parts = ", ".join(f"{k} {s['parts'][k]:.1f}" for k in PARTS)
        lines.append(f"  thread {th}: {parts} ms (sum {sum(s['parts'].values()):.1f})")
        for name, ms in s["kernels"].most_common(top):
            lines.append(f"      {ms:6.2f} ms  {name} ({ops.get(name) or part_of(name, ops)})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m jaxnn_experiments.bench._trace",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=("lstm", "gru", "rnn"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--steps", type=int, default=100, help="T, the sequence length")
    ap.add_argument("--devices", type=int, default=1,
                    help="split the host CPU into this many devices, batch sharded over them")
    ap.add_argument("--calls", type=int, default=10, help="traced training steps")
    ap.add_argument("--top", type=int, default=8, help="kernels listed per thread")
    ap.add_argument("--cell", help="trace this jaxnn cell instead of the kind's (e.g. gru, the "
                    "reset-before GRU, which the peers do not have)")
    args = ap.parse_args(argv)
    if args.devices > 1:
        from jaxnn.train import parallel

        parallel.split_host_cpu(args.devices)
    print(report(args.kind, args.batch, args.hidden, args.steps, devices=args.devices,
                 calls=args.calls, top=args.top, cell=args.cell))


if __name__ == "__main__":
    main()
