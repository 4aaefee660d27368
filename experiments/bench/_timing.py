"""Timing helpers shared by every benchmark module (one process, side by side, medians).

A benchmark module ``experiments/bench/<model>.py`` exposes ``run(quick: bool) -> list[dict]``:
one row per (configuration, implementation) with at least ``model``, ``config`` (short str),
``impl`` ("jaxnn", "flax", "torch"), ``median_ms``, and optionally ``compile_s``, ``gflops``
(achieved), ``peak_mb``. Peers that are not installed are reported as rows with
``missing`` = reason instead of failing.

Peak memory (``peak_mb``, in MB = 10⁶ bytes):

- jaxnn / Flax rows: XLA's own accounting of the compiled step, :func:`memory_mb` of
  ``jitted.lower(*args).compile().memory_analysis()``: ``argument + output + temp − alias``
  bytes. ``temp`` is the executable's scratch allocation after XLA's buffer assignment (buffers
  with disjoint lifetimes already share it), ``alias`` the outputs written into donated
  arguments. The stats' own ``peak_memory_in_bytes`` is not used: on the CPU backend (jax
  0.10.2) it equals ``argument + output`` and leaves out the temporaries entirely (an LSTM
  training step at T = 1000 reported 9 MB there against 303 MB of temp).
- torch rows: :func:`torch_live_mb`, the bytes of the persistent tensors (parameters,
  gradients, optimizer state, batch) plus every tensor autograd saved for the backward pass
  (``torch.autograd.graph.saved_tensors_hooks``), deduplicated by storage: the live set at the
  end of the forward pass. It leaves out short-lived temporaries and allocator slack, so it is
  a lower bound on the process's real peak.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def block(x: Any) -> Any:
    """Wait for every array in a pytree (JAX async dispatch; torch tensors pass through)."""
    return jax.block_until_ready(x)


def median_ms(fn: Callable[[], Any], *, warmup: int = 3, repeat: int = 20,
              min_time: float = 0.0) -> float:
    """Median wall time of ``fn()`` in milliseconds after ``warmup`` calls.

    ``fn`` must itself wait for its result (call :func:`block` on JAX outputs).
    ``min_time`` (seconds) raises ``repeat`` for very fast functions.
    """
    for _ in range(warmup):
        fn()
    times = []
    t_start = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - t_start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


#: A peer's per-round ratio range wider than this share of its median ratio flags the row:
#: the rounds disagree, so the single median ratio is not to be read as a speed difference.
SPREAD_LIMIT = 0.25


def interleaved_rounds(fns: dict[str, Callable[[], Any]], *, warmup: int = 3, rounds: int = 5,
                       per_round: int = 5, setup: dict[str, Callable[[], Any]] | None = None,
                       timer: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Per-round median milliseconds of each ``fns[name]()``, timed in interleaved rounds.

    Each round calls every function ``per_round`` times in turn (A A A, B B B, …, then the next
    round A A A, …), so a load that drifts during the benchmark (a shared machine) hits all of
    them alike, and a round where one of them was disturbed shows up as a round, not as noise
    mixed into every sample.

    Args:
        fns: name -> zero-argument callable that waits for its own result.
        warmup: untimed calls of each function before the first round.
        rounds: number of rounds R.
        per_round: timed calls of each function per round.
        setup: optional name -> callable run (untimed) before that function's calls in every
            round, e.g. setting torch's thread count for a ``torch[1t]`` / ``torch[2t]`` pair.
        timer: seconds clock (a fake one in tests).

    Returns:
        name -> list of R medians in ms, one per round, in round order.
    """
    setup = setup or {}
    for name, fn in fns.items():
        if name in setup:
            setup[name]()
        for _ in range(warmup):
            fn()
    out: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            if name in setup:
                setup[name]()
            ts = []
            for _ in range(per_round):
                t0 = timer()
                fn()
                ts.append(timer() - t0)
            out[name].append(1e3 * statistics.median(ts))
    return out


def round_stats(rounds_ms: dict[str, list[float]], *, base: str = "jaxnn",
                spread_limit: float = SPREAD_LIMIT) -> dict[str, dict]:
    """Median time, its range, and (for peers) the median per-round ratio with its range.

    Args:
        rounds_ms: name -> per-round medians in ms (:func:`interleaved_rounds`), all of the
            same length R.
        base: the name the ratios are taken against (peer ms / base ms per round, > 1 means
            ``base`` is faster); when it is absent no ratios are computed.
        spread_limit: flag a peer whose per-round ratios span more than this share of their
            median ((max − min) / median > spread_limit).

    Returns:
        name -> row fields: ``median_ms`` (median over rounds), ``ms_lo``, ``ms_hi``,
        ``rounds_ms``; peers also ``ratio`` (median of the per-round ratios), ``ratio_lo``,
        ``ratio_hi`` and ``flag`` ("" or a short reason).
    """
    out = {}
    ref = rounds_ms.get(base)
    for name, ts in rounds_ms.items():
        row = {"median_ms": statistics.median(ts), "ms_lo": min(ts), "ms_hi": max(ts),
               "rounds_ms": list(ts)}
        if ref is not None and name != base:
            if len(ts) != len(ref):
                raise ValueError(f"{name} has {len(ts)} rounds, {base} has {len(ref)}")
            ratios = [t / r for t, r in zip(ts, ref)]
            ratio = statistics.median(ratios)
            lo, hi = min(ratios), max(ratios)
            spread = (hi - lo) / ratio
            row.update(ratio=ratio, ratio_lo=lo, ratio_hi=hi,
                       flag=f"rounds disagree: {lo:.2f}–{hi:.2f}× ({100 * spread:.0f}% spread)"
                       if spread > spread_limit else "")
        out[name] = row
    return out


def interleaved_medians(fns: dict[str, Callable[[], Any]], *, warmup: int = 3, rounds: int = 7,
                        per_round: int = 5) -> dict[str, float]:
    """Median over rounds of each function's per-round median ms (:func:`interleaved_rounds`)."""
    return {k: statistics.median(v) for k, v in
            interleaved_rounds(fns, warmup=warmup, rounds=rounds, per_round=per_round).items()}


def torch_threads(torch: Any, fn: Callable[[], Any], counts=(1, 2)):
    """The same torch step timed at several intra-op thread counts.

    Args:
        torch: the torch module. fn: the step closure. counts: thread counts.

    Returns:
        ``(fns, setup)`` for :func:`interleaved_rounds`: ``{"torch[1t]": fn, "torch[2t]": fn}``
        and the setups that set ``torch.set_num_threads`` before each one's calls.
    """
    fns = {f"torch[{n}t]": fn for n in counts}
    setup = {f"torch[{n}t]": (lambda n=n: torch.set_num_threads(n)) for n in counts}
    return fns, setup


def compare(fns: dict[str, Callable[[], Any]], *, setup=None, warmup: int = 2, rounds: int = 5,
            per_round: int = 5, base: str = "jaxnn") -> dict[str, dict]:
    """:func:`interleaved_rounds` then :func:`round_stats`: name -> row fields."""
    return round_stats(interleaved_rounds(fns, warmup=warmup, rounds=rounds,
                                          per_round=per_round, setup=setup), base=base)


def compile_seconds(jitted: Callable, *args: Any) -> float:
    """Seconds to lower and compile ``jitted`` for ``args`` (no execution)."""
    t0 = time.perf_counter()
    jitted.lower(*args).compile()
    return time.perf_counter() - t0


def memory_mb(compiled: Any) -> float | None:
    """Peak bytes of a compiled XLA executable in MB (see the module docstring), or None.

    Args:
        compiled: a ``jax.stages.Compiled`` (``jitted.lower(*args).compile()``).

    Returns:
        ``(argument + output + temp − alias) / 1e6``; None when the backend has no memory
        analysis.
    """
    stats = compiled.memory_analysis()
    if stats is None:
        return None
    return (stats.argument_size_in_bytes + stats.output_size_in_bytes
            + stats.temp_size_in_bytes - stats.alias_size_in_bytes) / 1e6


def peak_memory_mb(jitted: Callable, *args: Any) -> float | None:
    """Peak memory in MB of ``jitted`` compiled for ``args`` (:func:`memory_mb`; no execution)."""
    return memory_mb(jitted.lower(*args).compile())


def compile_stats(jitted: Callable, *args: Any) -> tuple[float, float | None]:
    """``(compile seconds, peak MB)`` of ``jitted`` for ``args`` from one lower + compile."""
    t0 = time.perf_counter()
    compiled = jitted.lower(*args).compile()
    return time.perf_counter() - t0, memory_mb(compiled)


def torch_live_mb(torch: Any, tensors: Any, forward: Callable[[], Any]) -> float:
    """MB live at the end of a torch forward pass (see the module docstring).

    Args:
        torch: the torch module.
        tensors: iterable of the persistent tensors (parameters, their ``.grad``, optimizer
            state, the batch); None entries are skipped.
        forward: ``() -> loss`` tensor; it is run once under ``saved_tensors_hooks`` and its
            loss back-propagated (so call it where a training step would).

    Returns:
        Bytes of the union of ``tensors`` and the tensors saved for backward, by storage, / 1e6.
    """
    storages: dict[int, int] = {}

    def note(t):
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()

    def pack(t):
        note(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = forward()
    for t in tensors:
        if t is not None:
            note(t)
    loss.backward()
    return sum(storages.values()) / 1e6


def matmul_gflops(n: int = 1024, repeat: int = 10) -> float:
    """Achieved GFLOP/s of an n×n float32 matmul in JAX: the ceiling to report against."""
    a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)), jnp.float32)
    f = jax.jit(lambda x, y: x @ y)
    ms = median_ms(lambda: block(f(a, a)), warmup=2, repeat=repeat)
    return 2 * n**3 / (ms * 1e-3) / 1e9


def torch_or_none():
    """Return the ``torch`` module, or ``None`` when it is not installed (a peer only).

    ``JAXNN_BENCH_TORCH_THREADS=n`` sets torch's intra-op threads to n (its OpenMP threads
    spin-wait and collapse on an oversubscribed machine; see ``mlp``); unset: torch's default.
    """
    try:
        import torch
    except ImportError:
        return None
    threads = os.environ.get("JAXNN_BENCH_TORCH_THREADS")
    torch.set_num_threads(int(threads) if threads else max(1, torch.get_num_threads()))
    return torch


def stat_rows(model: str, config: str, stats: dict[str, dict], *, flops: float | None = None,
              meta: dict[str, dict] | None = None) -> list[dict]:
    """Table rows from :func:`compare`'s stats: one per implementation, with GFLOP/s from
    ``flops`` (per call) and the extra fields ``meta[impl]`` (compile_s, peak_mb, note)."""
    rows = []
    for impl, st in stats.items():
        row = {"model": model, "config": config, "impl": impl, **st}
        if flops:
            row["gflops"] = flops / (st["median_ms"] * 1e-3) / 1e9
        row.update((meta or {}).get(impl, {}))
        rows.append(row)
    return rows


def missing_row(model: str, config: str, impl: str, reason: str) -> dict:
    return {"model": model, "config": config, "impl": impl, "median_ms": None, "missing": reason}
