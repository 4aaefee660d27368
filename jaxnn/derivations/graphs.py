"""Computation graphs and the chain rule, node by node, as the lecture notes draw them.

Two graphs from the notes:

- feed-forward lecture notes: L(a, b, c) = c(a + 2b), split into d = 2b, e = a + d, L = c e,
  with ∂L/∂e = c, ∂L/∂c = e, ∂e/∂a = ∂e/∂d = 1, ∂d/∂b = 2. The notes give no numbers; we
  evaluate it at a = 3, b = 1, c = −2 (the values of the textbook example these notes follow,
  Jurafsky & Martin, *Speech and Language Processing*, 3rd ed., ch. 7), giving L = −10.
- backprop lecture notes §4 (figure 9, eq 10–12): f(x, y, z) = (x + y) z at
  (x, y, z) = (−2, 5, −4), split into q = x + y, f = q z, with ∂f/∂x = ∂f/∂y = z = −4 and
  ∂f/∂z = q = 3; f = −12.

Slip in the backprop lecture notes §4: after the f = (x + y)z example they say the chain rule
runs from the network's output f "back to the network's output" (倒推回网络的输出); it runs
back to the inputs x, y, z, as the gradients they compute show.

For an edge from input ``u`` into node ``v`` the notes name three gradients (taking
∂L/∂a = ∂L/∂e · ∂e/∂a as their example):

- **upstream** ∂L/∂v — what arrives at ``v`` from the output (上游梯度),
- **local** ∂v/∂u — the node's own derivative, needing only its inputs' values (局部梯度),
- **downstream** ∂L/∂u along that edge = upstream × local (下游梯度); a value used by
  several nodes sums its downstream gradients.

A graph is a tuple of operations ``(name, op, (arg, arg))`` in forward order, with ``op`` in
``"add"`` / ``"mul"`` and each ``arg`` either a node name or a number (a constant). This is
a hand-written reverse-mode pass over a few scalars, for teaching; tests compare it with
``jax.grad``. It is not used by any model.
"""

from __future__ import annotations

from typing import NamedTuple

from jaxnn.errors import JaxnnError, check_choice

Operation = tuple[str, str, tuple]

#: L = c(a + 2b) as d = 2b, e = a + d, L = c e.
L_GRAPH: tuple[Operation, ...] = (
    ("d", "mul", (2.0, "b")),
    ("e", "add", ("a", "d")),
    ("L", "mul", ("c", "e")),
)
L_INPUTS = {"a": 3.0, "b": 1.0, "c": -2.0}

#: f = (x + y) z as q = x + y, f = q z; the backprop notes' point (−2, 5, −4).
F_GRAPH: tuple[Operation, ...] = (
    ("q", "add", ("x", "y")),
    ("f", "mul", ("q", "z")),
)
F_INPUTS = {"x": -2.0, "y": 5.0, "z": -4.0}

_OPS = ("add", "mul")


class Edge(NamedTuple):
    """One input ``source`` of node ``node`` and the three gradients along it."""

    node: str
    source: str
    upstream: float  # ∂out/∂node
    local: float  # ∂node/∂source
    downstream: float  # upstream × local


class GraphResult(NamedTuple):
    """Forward values, per-edge gradients (output first), and ∂out/∂v for every named value."""

    values: dict[str, float]
    edges: list[Edge]
    grads: dict[str, float]


def _value(arg, values: dict[str, float]) -> float:
    return float(arg) if isinstance(arg, (int, float)) else values[arg]


def forward(graph: tuple[Operation, ...], inputs: dict[str, float]) -> dict[str, float]:
    """Evaluate ``graph`` at ``inputs``.

    Args:
        graph: operations ``(name, "add" | "mul", (arg1, arg2))`` in forward order.
        inputs: value of every leaf the graph reads.

    Returns:
        dict of every leaf's and every node's value (Python floats), in evaluation order.
    """
    values = {k: float(v) for k, v in inputs.items()}
    for name, op, args in graph:
        check_choice(op, _OPS, "graph operation")
        for a in args:
            if not isinstance(a, (int, float)) and a not in values:
                raise JaxnnError(f"node {name!r} reads {a!r}, which has no value; known: {list(values)}")
        x, y = (_value(a, values) for a in args)
        values[name] = x + y if op == "add" else x * y
    return values


def _local(op: str, args: tuple, values: dict[str, float], i: int) -> float:
    """∂(node)/∂(args[i]): 1 for add; the other factor for mul."""
    return 1.0 if op == "add" else _value(args[1 - i], values)


def backward(graph: tuple[Operation, ...], inputs: dict[str, float]) -> GraphResult:
    """Reverse pass: upstream, local and downstream gradient on every edge.

    The output is the last operation's node; its upstream gradient is 1.

    Args:
        graph: as in :func:`forward`.
        inputs: as in :func:`forward`.

    Returns:
        :class:`GraphResult` — ``edges`` in the order the reverse pass visits them and
        ``grads[v]`` = ∂out/∂v for every leaf and node (constants are skipped).
    """
    if not graph:
        raise JaxnnError("graph has no operations")
    values = forward(graph, inputs)
    grads = {name: 0.0 for name in values}
    grads[graph[-1][0]] = 1.0
    edges = []
    for name, op, args in reversed(graph):
        upstream = grads[name]
        for i, a in enumerate(args):
            if isinstance(a, (int, float)):
                continue
            local = _local(op, args, values, i)
            edges.append(Edge(name, a, upstream, local, upstream * local))
            grads[a] += upstream * local
    return GraphResult(values, edges, grads)


def table(result: GraphResult) -> str:
    """Markdown table of the edges of :func:`backward`: node, input, value, the three gradients."""
    rows = ["| node | input | input value | upstream ∂out/∂node | local ∂node/∂input "
            "| downstream ∂out/∂input |", "|---|---|---|---|---|---|"]
    for e in result.edges:
        rows.append(f"| {e.node} | {e.source} | {result.values[e.source]:g} | {e.upstream:g} "
                    f"| {e.local:g} | {e.downstream:g} |")
    return "\n".join(rows)
