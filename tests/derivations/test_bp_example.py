"""The BP worked example of aopu's 《神经网络》 notes: every printed number, both update orders.

Target: the example reproduces the notes' printed numbers to 6 decimals under the order the
notes used ("output_first"). Printed numbers that no order reproduces are listed in SLIPS
with the value the arithmetic gives; they are tested to be wrong *and* to be corrected.
"""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.derivations import bp_example as bp
from jaxnn.errors import JaxnnError, ShapeError

# Printed in the notes (copied by hand from the slides, not computed here).
PRINTED_FORWARD = {"net_h1": 2.35, "out_h1": 0.912934, "out_h2": 0.979164,
                   "out_o1": 0.891090, "out_o2": 0.904330, "E_total": 0.391829}
PRINTED_DE_DOUT_O1 = 0.88109  # 5 decimals
PRINTED_DOUT_DNET_O1 = 0.097049
PRINTED_DE_DW7 = 0.078064
PRINTED_DEO1_DOUT_H1 = 0.030866
PRINTED_W_PLUS = [0.094534, 0.139069, 0.198211, 0.246422, 0.299497, 0.348993,
                  0.360968, 0.453383, 0.458137, 0.553629, 0.557448, 0.653688]
PRINTED_OUT = {10: (0.662866, 0.908195), 100: (0.073889, 0.945864), 1000: (0.022971, 0.977675)}
PRINTED_W1000 = ["0.214925", "0.379850", "0.262855", "0.375711", "0.323201", "0.396402",
                 "-1.48972", "0.941715", "-1.50182", "1.049019", "-1.42756", "1.151881"]

# Printed value -> the value the arithmetic gives (computed independently, numpy, float64).
SLIPS = {
    "out_h3": (0.995275, 0.995274),  # sigma(5.35) = 0.99527429...
    "net_o1": (2.1019206, 2.1019201),  # 7 decimals; the notes summed their rounded out_h
    "dE_dw1": (0.011204, 0.010931),  # notes' own w1+ = 0.1 - 0.5 * 0.010931
    "w5_plus": (0.299497, 0.299496),
    "w9_plus": (0.458137, 0.458136),
    "out_o2_after_100": (0.945864, 0.945865),
    "w7_1000": (-1.48972, -1.48973),  # printed with 5 decimals
}
# Index slips: the notes' "10th iteration" output is after 9 updates, "w^1000" after 1001.
ROW_OF_PRINTED_OUT = {10: 9, 100: 100, 1000: 1000}
ROW_OF_PRINTED_W1000 = 1001

NOTES_ORDER = bp.BPExampleConfig(order="output_first")
SIMULT = bp.BPExampleConfig(order="simultaneous")


def _x_t():
    return jnp.asarray(bp.NOTES_X), jnp.asarray(bp.NOTES_TARGET)


def _r(v, d=6):
    return round(float(v), d)


def test_forward_pass_matches_notes(x64):
    x, t = _x_t()
    p = bp.notes_params()
    f = bp.forward(p, x)
    got = {"net_h1": f.net_h[0], "out_h1": f.out_h[0], "out_h2": f.out_h[1], "out_o1": f.out_o[0], "out_o2": f.out_o[1],
           "E_total": bp.loss(p, (x, t))}
    assert {k: _r(v) for k, v in got.items()} == PRINTED_FORWARD
    assert (SLIPS["out_h3"][0], _r(f.out_h[2])) == SLIPS["out_h3"]
    assert (SLIPS["net_o1"][0], _r(f.net_o[0], 7)) == SLIPS["net_o1"]
    # the printed net_o1 is the sum of the printed (rounded) hidden outputs
    printed_h = jnp.asarray([0.912934, 0.979164, 0.995275])
    assert _r(p["layer2"]["W"][0] @ printed_h + bp.NOTES_B2, 7) == SLIPS["net_o1"][0]
    np.testing.assert_array_equal(bp.apply(p, x), f.out_o)


def test_output_layer_gradient_matches_notes(x64):
    x, t = _x_t()
    p = bp.notes_params()
    f = bp.forward(p, x)
    assert _r(-(t[0] - f.out_o[0]), 5) == PRINTED_DE_DOUT_O1
    assert _r(f.out_o[0] * (1 - f.out_o[0])) == PRINTED_DOUT_DNET_O1
    _, g2 = bp.grad_output(f, t)
    assert _r(g2["W"][0, 0]) == PRINTED_DE_DW7  # W2[0, 0] is w7
    # The notes' σ' slip: x/(1-x) at out_o1 is not the 0.097049 they then use.
    assert _r(f.out_o[0] / (1 - f.out_o[0])) != PRINTED_DOUT_DNET_O1


def test_notes_use_updated_w7_in_hidden_gradient(x64):
    x, t = _x_t()
    p = bp.notes_params()
    f = bp.forward(p, x)
    delta_o, g2 = bp.grad_output(f, t)
    w7_new = p["layer2"]["W"][0, 0] - bp.NOTES_LR * g2["W"][0, 0]
    assert _r(w7_new) == PRINTED_W_PLUS[6]
    assert _r(delta_o[0] * w7_new) == PRINTED_DEO1_DOUT_H1
    assert _r(delta_o[0] * p["layer2"]["W"][0, 0]) != PRINTED_DEO1_DOUT_H1  # old w7: no


def test_dE_dw1_slip(x64):
    x, t = _x_t()
    p = bp.notes_params()
    printed, correct = SLIPS["dE_dw1"]
    _, g_notes = bp.update(p, (x, t), config=NOTES_ORDER)
    _, g_true = bp.update(p, (x, t), config=SIMULT)
    assert _r(g_notes["layer1"]["W"][0, 0]) == correct
    assert _r(g_true["layer1"]["W"][0, 0]) == 0.012268
    assert printed not in (_r(g_notes["layer1"]["W"][0, 0]), _r(g_true["layer1"]["W"][0, 0]))
    # How the slip arises: w7+ used for both output units in dE/dout_h1.
    f = bp.forward(p, x)
    delta_o, g2 = bp.grad_output(f, t)
    w7_new = p["layer2"]["W"][0, 0] - bp.NOTES_LR * g2["W"][0, 0]
    wrong = (delta_o[0] + delta_o[1]) * w7_new * f.out_h[0] * (1 - f.out_h[0]) * x[0]
    assert _r(wrong) == printed


def _check_w(printed, got, slips):
    for i, (pv, gv) in enumerate(zip(printed, got), start=1):
        if f"w{i}" in slips:
            bad, good = slips[f"w{i}"]
            assert (float(pv), _r(gv, len(str(pv).split(".")[1]))) == (bad, good), f"w{i}"
        else:
            d = len(str(pv).split(".")[1])
            assert _r(gv, d) == float(pv), f"w{i}: {float(gv)!r} vs printed {pv}"


def test_first_update_reproduces_notes_under_output_first(x64):
    x, t = _x_t()
    new, _ = bp.update(bp.notes_params(), (x, t), config=NOTES_ORDER)
    slips = {"w5": SLIPS["w5_plus"], "w9": SLIPS["w9_plus"]}
    _check_w(PRINTED_W_PLUS, bp.to_w12(new), slips)


def test_first_update_simultaneous_differs_in_hidden_layer(x64):
    x, t = _x_t()
    new, _ = bp.update(bp.notes_params(), (x, t), config=SIMULT)
    w = [_r(v) for v in bp.to_w12(new)]
    assert all(w[i] != PRINTED_W_PLUS[i] for i in range(6))  # hidden weights w1..w6 differ
    assert w[6:] == pytest.approx(PRINTED_W_PLUS[6:], abs=1.5e-6)  # output layer identical


def test_iterations_reproduce_notes_under_output_first(x64):
    x, t = _x_t()
    traj = bp.train(bp.notes_params(), (x, t), steps=1001, config=NOTES_ORDER)
    assert traj.out_o.shape == (1002, 2) and traj.w12.shape == (1002, 12)
    for it, row in ROW_OF_PRINTED_OUT.items():
        o1, o2 = (_r(v) for v in traj.out_o[row])
        p1, p2 = PRINTED_OUT[it]
        assert o1 == p1, it
        if it == 100:
            assert (p2, o2) == SLIPS["out_o2_after_100"]
        else:
            assert o2 == p2, it
    # after exactly 10 updates the output is not the printed one (index slip)
    assert _r(traj.out_o[10][0]) != PRINTED_OUT[10][0]
    _check_w(PRINTED_W1000, traj.w12[ROW_OF_PRINTED_W1000], {"w7": SLIPS["w7_1000"]})
    assert _r(traj.w12[1000][0]) != float(PRINTED_W1000[0])
    assert bool(jnp.all(jnp.diff(traj.error) < 0))  # E decreases monotonically here


def test_simultaneous_does_not_reproduce_iterations(x64):
    x, t = _x_t()
    traj = bp.train(bp.notes_params(), (x, t), steps=1000, config=SIMULT)
    assert tuple(_r(v) for v in traj.out_o[1000]) != PRINTED_OUT[1000]
    assert tuple(_r(v) for v in traj.out_o[9]) != PRINTED_OUT[10]


def test_closed_form_gradient_equals_autodiff(x64, key):
    x, t = _x_t()
    kw, kb = jax.random.split(key)
    w = jax.random.normal(kw, (12,), jnp.float64)
    b1, b2 = jax.random.normal(kb, (2,), jnp.float64)
    for p in (bp.notes_params(), bp.from_w12(w), bp.from_w12(w, b1=b1, b2=b2)):
        chex.assert_trees_all_close(bp.grad_bp_example(p, (x, t)),
                                    jax.grad(bp.loss)(p, (x, t)), rtol=1e-10, atol=0)


def test_closed_form_gradient_finite_differences(x64):
    x, t = _x_t()
    w = jnp.asarray(bp.NOTES_W12)
    grads = bp.grad_bp_example(bp.from_w12(w), (x, t))
    g = bp.to_w12(grads)
    eps = 1e-6
    fd = [(bp.loss(bp.from_w12(w.at[i].add(eps)), (x, t))
           - bp.loss(bp.from_w12(w.at[i].add(-eps)), (x, t))) / (2 * eps) for i in range(12)]
    np.testing.assert_allclose(np.asarray(g), np.asarray(fd), rtol=1e-7, atol=1e-11)
    # the shared biases: one parameter per layer, moved together for all its units
    for name, layer, b in (("b1", "layer1", bp.NOTES_B1), ("b2", "layer2", bp.NOTES_B2)):
        fd_b = (bp.loss(bp.from_w12(w, **{name: b + eps}), (x, t))
                - bp.loss(bp.from_w12(w, **{name: b - eps}), (x, t))) / (2 * eps)
        np.testing.assert_allclose(float(grads[layer]["b"]), float(fd_b), rtol=1e-7, atol=1e-11)


def test_simultaneous_update_is_gradient_descent(x64):
    x, t = _x_t()
    p = bp.notes_params()
    new, g = bp.update(p, (x, t), config=bp.BPExampleConfig(lr=0.3, order="simultaneous"))
    true = jax.grad(bp.loss)(p, (x, t))
    # gradient descent on the weights; the notes never update the shared biases
    want = {l: {"W": p[l]["W"] - 0.3 * true[l]["W"], "b": p[l]["b"]} for l in p}
    chex.assert_trees_all_close(new, want, rtol=1e-12)
    chex.assert_trees_all_close(g, true, rtol=1e-12)


def test_output_first_hidden_step_uses_updated_output_weights(x64):
    x, t = _x_t()
    p = bp.notes_params()
    new, g = bp.update(p, (x, t), config=NOTES_ORDER)
    f = bp.forward(p, x)
    delta_o, _ = bp.grad_output(f, t)
    _, g1 = bp.grad_hidden(f, x, delta_o, new["layer2"]["W"])
    chex.assert_trees_all_close(g["layer1"], g1, rtol=1e-12)
    assert not np.allclose(g["layer1"]["W"], jax.grad(bp.loss)(p, (x, t))["layer1"]["W"],
                           rtol=1e-3)


def test_train_matches_repeated_update_and_jit():
    x, t = _x_t()
    p = bp.notes_params()
    traj = bp.train(p, (x, t), steps=3)
    q = p
    for _ in range(3):
        q, _ = bp.update(q, (x, t))
    np.testing.assert_allclose(traj.w12[3], bp.to_w12(q), rtol=1e-6)
    f_jit = jax.jit(bp.loss)(p, (x, t))
    assert float(f_jit) == pytest.approx(float(bp.loss(p, (x, t))), rel=1e-6)


def test_w12_roundtrip_and_interleaving():
    w = jnp.arange(1.0, 13.0)
    p = bp.from_w12(w)
    assert p["layer1"]["W"][1].tolist() == [3.0, 4.0]  # h2 = w3 i1 + w4 i2
    assert p["layer2"]["W"][0].tolist() == [7.0, 9.0, 11.0]
    assert p["layer2"]["W"][1].tolist() == [8.0, 10.0, 12.0]
    np.testing.assert_array_equal(bp.to_w12(p), w)
    assert jax.tree.map(jnp.shape, p) == bp.SHAPES
    assert p["layer1"]["b"].dtype == w.dtype  # the biases take the weights' dtype
    assert (p["layer1"]["b"], p["layer2"]["b"]) == (w.dtype.type(0.35), w.dtype.type(0.65))


def test_bad_inputs_raise():
    x, t = _x_t()
    p = bp.notes_params()
    with pytest.raises(JaxnnError, match="backwards"):
        bp.BPExampleConfig(order="backwards")
    with pytest.raises(JaxnnError, match="lr"):
        bp.BPExampleConfig(lr=0.0)
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        bp.forward(p, jnp.ones(3))
    with pytest.raises(ShapeError, match=r"target.*\(3,\)"):
        bp.update(p, (x, jnp.ones(3)))
    with pytest.raises(JaxnnError, match="0"):
        bp.train(p, (x, t), steps=0)
    with pytest.raises(ShapeError, match=r"\(11,\)"):
        bp.from_w12(jnp.ones(11))
    with pytest.raises(ShapeError, match=r"b1"):
        bp.from_w12(jnp.ones(12), b1=jnp.ones(3))
    with pytest.raises(JaxnnError, match="W1"):  # the flat layout is gone
        bp.forward({"W1": p["layer1"]["W"], "W2": p["layer2"]["W"]}, x)
    with pytest.raises(ShapeError, match=r"layer2.*'b'.*\(2,\)"):
        bp.forward({**p, "layer2": {"W": p["layer2"]["W"], "b": jnp.ones(2)}}, x)


def test_worked_example_reproduces_every_non_slip_number(x64):
    # the module's copy of the notes agrees with this file's hand-typed copy
    mine = {**{k: v for k, v in PRINTED_FORWARD.items()}, "dE_dw7": PRINTED_DE_DW7,
            "dEo1_dout_h1": PRINTED_DEO1_DOUT_H1, "out_h3": SLIPS["out_h3"][0],
            **{f"w{i}_plus": v for i, v in enumerate(PRINTED_W_PLUS, start=1)},
            **{f"w{i}_iter1000": float(v) for i, v in enumerate(PRINTED_W1000, start=1)}}
    for k, v in mine.items():
        assert bp.NOTES_PRINTED[k] == v, k
    got = bp.worked_example(NOTES_ORDER)
    assert bp.worked_example() == got  # the default is the notes' order
    assert set(got) == set(bp.NOTES_PRINTED)
    wrong = {k for k, v in bp.NOTES_PRINTED.items() if round(got[k], bp.decimals(k)) != v}
    assert wrong == set(bp.NOTES_SLIPS)
    for k, correct in bp.NOTES_SLIPS.items():
        assert round(got[k], bp.decimals(k)) == correct, k
    simult = bp.worked_example(SIMULT, steps=20)
    assert "out_o1_iter100" not in simult
    assert round(simult["dE_dw1"], 6) == 0.012268


def test_update_jit_matches_no_jit():
    x, t = _x_t()
    p = bp.notes_params()
    for order in bp.ORDERS:
        config = bp.BPExampleConfig(order=order)
        fast, _ = bp.update(p, (x, t), config=config)
        with jax.disable_jit():
            slow, _ = bp.update(p, (x, t), config=config)
        chex.assert_trees_all_close(fast, slow, rtol=1e-6)


def test_shared_biases_are_scalars_never_updated(x64):
    x, t = _x_t()
    p = bp.notes_params()
    assert p["layer1"]["b"].shape == () and p["layer2"]["b"].shape == ()
    f = bp.forward(p, x)
    # the one shared bias reaches every unit of its layer
    np.testing.assert_allclose(f.net_h, p["layer1"]["W"] @ x + bp.NOTES_B1, rtol=1e-15)
    np.testing.assert_allclose(f.net_o, p["layer2"]["W"] @ f.out_h + bp.NOTES_B2, rtol=1e-15)
    for config in (NOTES_ORDER, SIMULT):
        new, g = bp.update(p, (x, t), config=config)
        assert (float(new["layer1"]["b"]), float(new["layer2"]["b"])) == (0.35, 0.65)
        assert float(g["layer2"]["b"]) != 0.0  # there is a gradient; the notes do not use it
    # dE/db of a shared bias is the sum of its layer's error terms
    delta_o, g2 = bp.grad_output(f, t)
    delta_h, g1 = bp.grad_hidden(f, x, delta_o, p["layer2"]["W"])
    assert delta_o.shape == (2,) and delta_h.shape == (3,)
    assert float(g2["b"]) == pytest.approx(float(delta_o.sum()), rel=1e-15)
    assert float(g1["b"]) == pytest.approx(float(delta_h.sum()), rel=1e-15)
    traj = bp.train(p, (x, t), steps=5)
    np.testing.assert_array_equal(traj.w12[0], bp.NOTES_W12)


def test_trajectory_rows_are_the_states_after_t_updates(x64):
    x, t = _x_t()
    for config in (NOTES_ORDER, SIMULT):
        traj = bp.train(bp.notes_params(), (x, t), steps=4, config=config)
        assert traj.out_o.shape == (5, 2) and traj.error.shape == (5,)
        q = bp.notes_params()
        for row in range(5):
            np.testing.assert_allclose(traj.out_o[row], bp.apply(q, x), rtol=1e-14)
            np.testing.assert_allclose(traj.error[row], bp.loss(q, (x, t)), rtol=1e-14)
            np.testing.assert_array_equal(traj.w12[row], bp.to_w12(q))
            q, _ = bp.update(q, (x, t), config=config)


def test_config_is_frozen_hashable_and_static():
    c = bp.BPExampleConfig(lr=1, order="simultaneous")
    assert c.lr == 1.0 and isinstance(c.lr, float)
    assert hash(c) == hash(bp.BPExampleConfig(lr=1.0, order="simultaneous"))
    assert bp.NOTES_CONFIG == bp.BPExampleConfig(lr=0.5, order="output_first")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.lr = 0.1
    x, t = _x_t()
    p = bp.notes_params()
    a, _ = bp.update(p, (x, t), config=bp.BPExampleConfig(lr=0.5))
    b, _ = bp.update(p, (x, t), config=bp.BPExampleConfig(lr=0.25))
    assert not np.allclose(bp.to_w12(a), bp.to_w12(b))  # lr is not frozen into the first trace


def test_closed_form_gradient_passes_the_public_checker():
    import jaxnn.check

    x, t = _x_t()
    report = jaxnn.check.assert_gradient(bp.grad_bp_example, bp.loss, bp.notes_params(),
                                         (x, t), n_random=2)
    assert report.ok
