"""Learning-rate decay on a plateau: the scale link of the chain and the state edit."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn.errors import JaxnnError
from jaxnn.train import Checkpointer, plateau


def _params():
    k1, k2 = jax.random.split(jax.random.key(0))
    return {"W": jax.random.normal(k1, (3, 4)), "b": jax.random.normal(k2, (4,))}


def _grads(i):
    return jax.tree.map(lambda x: jnp.sin(x * (i + 1.0)), _params())


def _run(opt, steps, state=None):
    p = _params()
    s = opt.init(p) if state is None else state
    outs = []
    for i in range(steps):
        u, s = opt.update(_grads(i), s, p)
        p = optax.apply_updates(p, u)
        outs.append(u)
    return outs, s


def test_scale_one_leaves_the_updates_bitwise():
    base, _ = _run(optax.adam(1e-2), 3)
    scaled, s = _run(optax.chain(optax.adam(1e-2), plateau.scale_by_plateau()), 3)
    for a, b in zip(base, scaled):
        jax.tree.map(np.testing.assert_array_equal, a, b)
    assert plateau.scale(s) == 1.0


@pytest.mark.parametrize("rule", [optax.sgd, optax.adam])
def test_decay_equals_the_lower_learning_rate(rule):
    opt = optax.chain(rule(0.1), plateau.scale_by_plateau())
    s = plateau.decay(plateau.decay(opt.init(_params()), 0.5), 0.5)
    assert plateau.scale(s) == 0.25
    got, _ = _run(opt, 3, s)
    want, _ = _run(rule(0.025), 3)
    for a, b in zip(got, want):
        jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6), a, b)


def test_decay_keeps_the_structure_so_a_jitted_step_does_not_retrace():
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2),
                      plateau.scale_by_plateau())
    traces = []

    @jax.jit
    def step(p, s, g):
        traces.append(1)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s

    p = _params()
    s = opt.init(p)
    p, s = step(p, s, _grads(0))
    s2 = plateau.decay(s, 0.1)
    assert jax.tree.structure(s2) == jax.tree.structure(s)
    p, s2 = step(p, s2, _grads(1))
    assert len(traces) == 1
    assert plateau.scale(s2) == pytest.approx(0.1)


def test_the_scale_is_saved_and_restored_with_the_state(tmp_path):
    opt = optax.chain(optax.adam(1e-2), plateau.scale_by_plateau())
    p = _params()
    s = plateau.decay(opt.init(p), 0.5)
    ck = Checkpointer(tmp_path / "ck")
    ck.save(1, {"params": p, "opt_state": s}, {"evals": 1})
    state, _ = ck.restore({"params": p, "opt_state": opt.init(p)})
    ck.close()
    assert plateau.scale(state["opt_state"]) == 0.5


@pytest.mark.parametrize("factor", [0, 0.0, -0.5, 1.5, float("nan"), float("inf"), True, "0.5"])
def test_bad_factors_are_rejected_with_the_value(factor):
    s = optax.chain(optax.sgd(0.1), plateau.scale_by_plateau()).init(_params())
    with pytest.raises(JaxnnError, match="factor"):
        plateau.decay(s, factor)


def test_a_state_without_the_scale_is_an_error():
    s = optax.adam(1e-2).init(_params())
    with pytest.raises(JaxnnError, match="scale_by_plateau"):
        plateau.decay(s, 0.5)
    with pytest.raises(JaxnnError, match="scale_by_plateau"):
        plateau.scale(s)


def test_after_evaluation_decays_unless_the_value_beats_the_best_by_the_threshold():
    s = optax.chain(optax.sgd(0.1), plateau.scale_by_plateau()).init(_params())
    assert plateau.scale(plateau.after_evaluation(s, 9.0, 10.0, 0.5)) == 1.0
    assert plateau.scale(plateau.after_evaluation(s, 10.0, 10.0, 0.5)) == 0.5
    assert plateau.scale(plateau.after_evaluation(s, float("nan"), 10.0, 0.5)) == 0.5
    assert plateau.scale(plateau.after_evaluation(s, 9.95, 10.0, 0.5, 0.01)) == 0.5
    assert plateau.scale(plateau.after_evaluation(s, 9.8, 10.0, 0.5, 0.01)) == 1.0
    assert plateau.scale(plateau.after_evaluation(s, 3.0, float("inf"), 0.5, 0.01)) == 1.0
    assert plateau.after_evaluation(s, 11.0, 10.0, 1.0) is s
    for bad in (1.0, -0.1, True, "0"):
        with pytest.raises(JaxnnError, match="threshold"):
            plateau.check_threshold(bad)
