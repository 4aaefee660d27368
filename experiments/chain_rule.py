"""Computation graphs and the chain rule: upstream × local = downstream, edge by edge.

The two graphs of the notes (see :mod:`jaxnn.derivations.graphs`): L = c(a + 2b) from the
feed-forward lecture notes (evaluated at a = 3, b = 1, c = −2; the notes give no numbers) and
f = (x + y)z at (−2, 5, −4) from the backprop notes §4 (figure 9, eq 10–12). For each edge the
table lists the upstream, local and downstream gradient; the leaves' gradients are compared with
``jax.grad``, and the reference column holds the notes' closed forms (∂f/∂x = ∂f/∂y = z,
∂f/∂z = x + y; ∂L/∂a = c, ∂L/∂b = 2c, ∂L/∂c = a + 2b) evaluated at the same point.
"""

from __future__ import annotations

from pathlib import Path

import jax
import matplotlib.pyplot as plt

from ._base import Result, savefig
from jaxnn.derivations import graphs as G

TITLE = "Computation graphs: L = c(a + 2b) and f = (x + y)z with upstream/local/downstream gradients"
HEADLINE = ("L", "f", "max_abs_diff_vs_jax_grad")
QUICK: dict = {}
FULL: dict = {}

_SOURCE = ("feed-forward lecture notes (computation graph L(a, b, c) = c(a + 2b), closed forms "
           "∂L/∂e = c, ∂e/∂a = 1, ∂d/∂b = 2); backprop lecture notes §4, figure 9 and eq 12 "
           "(f = (x + y)z at x = −2, y = 5, z = −4: ∂f/∂x = ∂f/∂y = z, ∂f/∂z = x + y)")

_CASES = {
    "L": (G.L_GRAPH, G.L_INPUTS, lambda a, b, c: c * (a + 2 * b)),
    "f": (G.F_GRAPH, G.F_INPUTS, lambda x, y, z: (x + y) * z),
}


def _reference() -> dict[str, float]:
    """The notes' symbolic gradients, evaluated at the same points."""
    a, b, c = G.L_INPUTS["a"], G.L_INPUTS["b"], G.L_INPUTS["c"]
    x, y, z = G.F_INPUTS["x"], G.F_INPUTS["y"], G.F_INPUTS["z"]
    return {"L": c * (a + 2 * b), "dL_da": c, "dL_db": 2 * c, "dL_dc": a + 2 * b,
            "f": (x + y) * z, "df_dx": z, "df_dy": z, "df_dz": x + y}


def _layout(graph, leaves) -> dict[str, tuple[float, float]]:
    """Operations on one line, left to right by depth; each leaf one column before the first
    operation that reads it, alternately above and below the line."""
    depth = {k: 0 for k in leaves}
    for name, _, args in graph:
        depth[name] = 1 + max(depth.get(a, 0) for a in args if isinstance(a, str))
    for k in leaves:
        depth[k] = min(depth[n] for n, _, args in graph if k in args) - 1
    pos, side = {}, 1.0
    for name, _, _ in graph:
        pos[name] = (2.2 * depth[name], 0.0)
    for d in sorted({depth[k] for k in leaves}):
        col = [k for k in leaves if depth[k] == d]
        if any(depth[n] == d for n, _, _ in graph):
            for k in col:
                pos[k], side = (2.2 * d, 1.2 * side), -side
        else:
            for i, k in enumerate(col):
                pos[k] = (2.2 * d, 1.2 * ((len(col) - 1) / 2 - i))
    return pos


def _draw(ax, graph, result: G.GraphResult, title: str) -> None:
    ops = {name: op for name, op, _ in graph}
    pos = _layout(graph, [k for k in result.values if k not in ops])
    for e in result.edges:
        (x0, y0), (x1, y1) = pos[e.source], pos[e.node]
        ax.annotate("", xy=(x1 - 0.25, y1), xytext=(x0 + 0.25, y0),
                    arrowprops={"arrowstyle": "->", "color": "0.4"})
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        ax.text(xm, ym + 0.12, f"{result.values[e.source]:g}", color="green", ha="center")
        ax.text(xm, ym - 0.22, f"{e.downstream:g}", color="red", ha="center")
    for k, (x, y) in pos.items():
        label = f"{k}\n{'+' if ops.get(k) == 'add' else '×' if k in ops else ''}"
        ax.add_patch(plt.Circle((x, y), 0.25, fc="lightyellow", ec="k"))
        ax.text(x, y, label.strip(), ha="center", va="center", fontsize=9)
    out = graph[-1][0]
    x, y = pos[out]
    ax.text(x + 0.35, y, f"= {result.values[out]:g}\n∂/∂{out} = 1", va="center", color="k")
    for name, _, args in graph:  # constants, e.g. the 2 in d = 2b
        for a in args:
            if not isinstance(a, str):
                x, y = pos[name]
                ax.text(x, y - 0.45, f"(const {a:g})", fontsize=8, color="0.3", ha="center")
    ax.set_title(title + "  (green: value, red: ∂out/∂input)")
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.margins(0.15)
    ax.axis("off")


def run(config: dict, out: Path, seed: int) -> Result:
    """Forward values and per-edge gradients of both graphs, checked against jax.grad."""
    del config, seed  # nothing to configure: two fixed graphs
    metrics: dict[str, float] = {}
    tables = {}
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5))
    max_diff = 0.0
    with jax.enable_x64(True):
        for ax, (out_name, (graph, inputs, fn)) in zip(axes, _CASES.items()):
            r = G.backward(graph, inputs)
            leaves = list(inputs)
            auto = jax.grad(fn, argnums=tuple(range(len(leaves))))(*inputs.values())
            max_diff = max(max_diff, *(abs(r.grads[k] - float(g)) for k, g in zip(leaves, auto)))
            metrics[out_name] = r.values[out_name]
            metrics.update({f"d{out_name}_d{k}": r.grads[k] for k in leaves})
            tables[out_name] = G.table(r)
            print(f"\n{out_name}: inputs {inputs}\n{tables[out_name]}")
            _draw(ax, graph, r, {"L": "L = c(a + 2b)", "f": "f = (x + y)z"}[out_name])
    metrics["max_abs_diff_vs_jax_grad"] = max_diff
    plots = [savefig(fig, out, "chain_rule_graphs.png")]
    notes = ("Each downstream gradient is upstream × local; a leaf's gradient is the sum over its "
             f"outgoing edges. All leaf gradients equal jax.grad (max |diff| = {max_diff:g}).\n\n"
             + "\n\n".join(tables.values()))
    return Result(metrics=metrics, reference=_reference(), reference_source=_SOURCE,
                  plots=plots, notes=notes, extra={"tables": tables})
