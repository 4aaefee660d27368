"""The BP worked example of aopu's 《神经网络》 notes, reproduced number by number.

The 2-3-2 sigmoid network (inputs 5, 10; targets 0.01, 0.99; w1 … w12 = 0.10 … 0.65; shared
biases 0.35, 0.65; η = 0.5) in both update orders: standard simultaneous back-propagation and
the notes' order (output layer first, hidden gradient through the *updated* output weights).
Everything runs in float64. Metrics are the notes' order; ``*_simultaneous`` keys the other.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from . import _style
from ._base import Result, savefig
from jaxnn.derivations import bp_example as bp

TITLE = "BP worked example (2-3-2 sigmoid net): forward pass, first update, 1000 iterations"
HEADLINE = ("reproduced_output_first", "printed_numbers", "E_total")
QUICK = {"steps": 1001}
FULL = {"steps": 5000}

_SOURCE = ("aopu, 《神经网络》 lecture notes, slides 'BP算法例子' (forward pass, ∂E/∂w7, ∂E/∂w1, "
           "w1⁺…w12⁺, outputs after 10/100/1000 iterations, w¹⁰⁰⁰)")


def _table(notes_order: dict, simult: dict) -> list[list]:
    rows = []
    for k, printed in bp.NOTES_PRINTED.items():
        if k not in notes_order:
            continue
        d = bp.decimals(k)
        a, b = round(notes_order[k], d), round(simult[k], d)
        verdict = "match" if a == printed else ("slip" if k in bp.NOTES_SLIPS else "MISMATCH")
        rows.append([k, printed, a, b, verdict])
    return rows


def _print_table(rows) -> None:
    print(f"{'quantity':18s} {'notes':>12s} {'output_first':>13s} {'simultaneous':>13s}  verdict")
    for k, printed, a, b, verdict in rows:
        print(f"{k:18s} {printed:12.8g} {a:13.8g} {b:13.8g}  {verdict}")


def _plot(trajs: dict, out: Path) -> list[str]:
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for j, (order, tr) in enumerate(trajs.items()):   # the orders nearly coincide: the first
        it = np.arange(len(tr.error))                    # is drawn wide underneath, the second
        axes[0].semilogy(it, np.asarray(tr.error), label=order,  # thin and dashed on top
                         **{**_style.series(j, len(trajs)), "marker": None})
        for k in (0, 1):
            axes[1].plot(it, np.asarray(tr.out_o[:, k]), color=_style.COLORS[k],
                         lw=3.2 if j == 0 else 1.2, ls="-" if j == 0 else "--",
                         alpha=0.45 if j == 0 else 1.0, label=f"out_o{k + 1} ({order})")
    for label in ("iter10", "iter100", "iter1000"):
        row = bp.NOTES_ROWS[label]
        if row < len(trajs["output_first"].error):
            for k in (1, 2):
                axes[1].plot(row, bp.NOTES_PRINTED[f"out_o{k}_{label}"], "k*", ms=9)
    diff = np.abs(np.asarray(trajs["output_first"].out_o - trajs["simultaneous"].out_o))
    axes[2].semilogy(np.arange(1, len(diff)), diff[1:, 0], label="|Δ out_o1|")
    axes[2].semilogy(np.arange(1, len(diff)), diff[1:, 1], label="|Δ out_o2|")
    axes[2].axhline(5e-7, color="k", lw=0.8, ls=":", label="6-decimal resolution")
    axes[2].set(xlabel="updates", ylabel="|difference of the outputs|",
                title="output_first − simultaneous")
    axes[2].legend()
    axes[0].set(xlabel="updates", ylabel="E_total", title="error, both update orders")
    axes[1].set(xlabel="updates", ylabel="output", xscale="symlog",
                title="outputs (★ = numbers printed in the notes)")
    axes[0].legend()
    axes[1].legend(fontsize=7)
    return [savefig(fig, out, "bp_example_trajectory.png")]


def run(config: dict, out: Path, seed: int) -> Result:
    """Reproduce the example; ``config["steps"]`` updates (≥ 1001 for every printed number)."""
    steps = int(config["steps"])
    with jax.enable_x64(True):
        configs = {o: bp.BPExampleConfig(lr=bp.NOTES_LR, order=o) for o in bp.ORDERS}
        notes_order = bp.worked_example(configs["output_first"], steps=steps)
        simult = bp.worked_example(configs["simultaneous"], steps=steps)
        batch = (jnp.asarray(bp.NOTES_X), jnp.asarray(bp.NOTES_TARGET))
        trajs = {o: bp.train(bp.notes_params(), batch, steps=steps, config=c)
                 for o, c in configs.items()}
        final = {o: float(tr.error[-1]) for o, tr in trajs.items()}
        plots = _plot(trajs, out)
    rows = _table(notes_order, simult)
    _print_table(rows)
    matched = sum(r[4] == "match" for r in rows)
    simult_matched = sum(round(r[3], bp.decimals(r[0])) == r[1] for r in rows)
    metrics = dict(notes_order)
    metrics.update({f"{k}_simultaneous": v for k, v in simult.items()
                    if notes_order[k] != v})
    metrics.update({
        "printed_numbers": float(len(rows)),
        "reproduced_output_first": float(matched),
        "reproduced_simultaneous": float(simult_matched),
        "slips": float(len(rows) - matched),
        f"E_after_{steps}_output_first": final["output_first"],
        f"E_after_{steps}_simultaneous": final["simultaneous"],
    })
    notes = (
        f"Under the notes' order (output layer updated first, hidden gradient through the "
        f"updated output weights) {matched} of {len(rows)} printed numbers are reproduced to "
        f"the printed decimals; standard simultaneous backprop reproduces {simult_matched}. "
        "The rest are slips: " + ", ".join(f"{k} printed {bp.NOTES_PRINTED[k]} is "
                                            f"{v}" for k, v in bp.NOTES_SLIPS.items())
        + ". The '10th iteration' output is the state after 9 updates and the printed w¹⁰⁰⁰ "
        "the state after 1001 updates; σ′ is written x/(1−x) but used as σ(1−σ); "
        "∂E/∂w1 = 0.011204 comes from using w7⁺ in place of w8⁺ for ∂E_o2/∂out_h1."
    )
    return Result(
        metrics=metrics,
        reference=dict(bp.NOTES_PRINTED),
        reference_source=_SOURCE,
        plots=plots,
        notes=notes,
        extra={"table": [dict(zip(("quantity", "notes", "output_first", "simultaneous",
                                   "verdict"), r)) for r in rows],
               "slips": bp.NOTES_SLIPS, "rows": bp.NOTES_ROWS},
    )
