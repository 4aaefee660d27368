"""Hand-run computation graphs vs jax.grad and central differences (through
:mod:`jaxnn.check`), and the numbers the notes state."""

import pytest

import jaxnn.check as check
from jaxnn.derivations import graphs as G
from jaxnn.errors import JaxnnError


def _L(a, b, c):
    return c * (a + 2 * b)


def _f(x, y, z):
    return (x + y) * z


def _hand_grads(graph, leaves):
    """Closed form for jaxnn.check: (x, y, ...) -> the hand reverse pass's ∂out/∂leaf, as a tuple."""
    return lambda *values: tuple(G.backward(graph, dict(zip(leaves, values))).grads[k]
                                 for k in leaves)


def test_f_graph_matches_notes_and_autodiff(x64):
    r = G.backward(G.F_GRAPH, G.F_INPUTS)
    x, y, z = G.F_INPUTS["x"], G.F_INPUTS["y"], G.F_INPUTS["z"]
    # eq 12 of the backprop notes: ∂f/∂x = ∂f/∂y = z, ∂f/∂z = q = x + y
    assert r.values["q"] == 3.0 and r.values["f"] == -12.0
    assert (r.grads["x"], r.grads["y"], r.grads["z"]) == (z, z, x + y)
    check.assert_gradient(_hand_grads(G.F_GRAPH, "xyz"), _f, x, y, z, argnums=(0, 1, 2),
                          n_random=2, rtol=1e-12, atol=0)
    # upstream of q is ∂f/∂q, which autodiff gives for f = q z with q as the variable
    check.assert_gradient(lambda q: r.grads["q"], lambda q: q * z, r.values["q"], rtol=1e-12, atol=0)


def test_L_graph_edges_and_autodiff(x64):
    r = G.backward(G.L_GRAPH, G.L_INPUTS)
    a, b, c = G.L_INPUTS["a"], G.L_INPUTS["b"], G.L_INPUTS["c"]
    assert (r.values["d"], r.values["e"], r.values["L"]) == (2 * b, a + 2 * b, _L(a, b, c))
    check.assert_gradient(_hand_grads(G.L_GRAPH, "abc"), _L, a, b, c, argnums=(0, 1, 2),
                          n_random=2, rtol=1e-12, atol=0)
    # the notes' own example: ∂L/∂a = (upstream ∂L/∂e) × (local ∂e/∂a)
    edge = next(e for e in r.edges if (e.node, e.source) == ("e", "a"))
    assert edge.upstream == c and edge.local == 1.0 and edge.downstream == c
    # ∂L/∂b = ∂L/∂e · ∂e/∂d · ∂d/∂b = c · 1 · 2
    edge = next(e for e in r.edges if (e.node, e.source) == ("d", "b"))
    assert (edge.upstream, edge.local, edge.downstream) == (c, 2.0, 2 * c)
    for name, fn in {"e": lambda e: c * e, "d": lambda d: c * (a + d)}.items():
        check.assert_gradient(lambda v, name=name: r.grads[name], fn, r.values[name],
                              rtol=1e-12, atol=0)


def test_fan_out_sums_downstream_gradients(x64):
    # g = x·x + x: x feeds two nodes (and one twice); autodiff: 2x + 1
    graph = (("s", "mul", ("x", "x")), ("g", "add", ("s", "x")))
    check.assert_gradient(_hand_grads(graph, "x"), lambda x: x * x + x, 3.0, argnums=(0,),
                          n_random=2, rtol=1e-12, atol=0)


def test_table_lists_every_edge():
    text = G.table(G.backward(G.F_GRAPH, G.F_INPUTS))
    assert text.count("\n") == 1 + 4  # header, rule, four edges
    assert "| q | x | -2 | -4 | 1 | -4 |" in text


def test_bad_graphs():
    with pytest.raises(JaxnnError, match="'pow'"):
        G.forward((("p", "pow", ("x", 2.0)),), {"x": 1.0})
    with pytest.raises(JaxnnError, match="'w'"):
        G.forward((("p", "mul", ("x", "w")),), {"x": 1.0})
    with pytest.raises(JaxnnError, match="no operations"):
        G.backward((), {"x": 1.0})
