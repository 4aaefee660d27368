"""The notes' optimizers (Qiu eq 61–69): many steps against optax and against the formulas
written out in NumPy."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import optim
from jaxnn.errors import JaxnnError

STEPS = 60
RTOL = 1e-10


def _grad_fn(theta):
    """Gradient of a non-quadratic objective over a two-leaf pytree (so updates vary)."""
    def f(p):
        return (jnp.sum(jnp.sin(3.0 * p["w"]) + 0.5 * p["w"] ** 2)
                + jnp.sum(jnp.log1p(p["b"] ** 2)) + jnp.sum(p["w"]) * p["b"][0])
    return jax.grad(f)(theta)


def _theta0():
    rng = np.random.default_rng(0)
    return {"w": jnp.asarray(rng.normal(size=(3, 4))), "b": jnp.asarray(rng.normal(size=(2,)))}


def _run(opt, steps=STEPS):
    """Optimize with ``opt`` under jit; return the trajectory of params (list of numpy dicts)."""
    theta = _theta0()
    state = opt.init(theta)

    @jax.jit
    def step(theta, state):
        updates, state = opt.update(_grad_fn(theta), state, theta)
        return optax.apply_updates(theta, updates), state

    traj = []
    for _ in range(steps):
        theta, state = step(theta, state)
        traj.append(jax.tree.map(np.asarray, theta))
    return traj


def _run_numpy(update_rule, steps=STEPS):
    """Same loop with the formula in NumPy: ``update_rule(g, mem) -> (delta, mem)`` per leaf."""
    theta = jax.tree.map(np.asarray, _theta0())
    mem = {k: None for k in theta}
    traj = []
    for t in range(steps):
        g = jax.tree.map(np.asarray, _grad_fn(jax.tree.map(jnp.asarray, theta)))
        new = {}
        for k in theta:
            d, mem[k] = update_rule(g[k], mem[k], t)
            new[k] = theta[k] + d
        theta = new
        traj.append(theta)
    return traj


def _assert_same(a, b, rtol=RTOL):
    for pa, pb in zip(a, b, strict=True):
        for k in pa:
            np.testing.assert_allclose(pa[k], pb[k], rtol=rtol, atol=1e-12)


def test_sgd_equals_optax(x64):
    _assert_same(_run(optim.sgd(0.05)), _run(optax.sgd(0.05)))


def test_momentum_equals_optax_for_constant_rate(x64):
    _assert_same(_run(optim.momentum(0.02, rho=0.9)), _run(optax.sgd(0.02, momentum=0.9)))


def test_momentum_follows_eq64_under_a_schedule(x64):
    """Eq 64 puts λₜ inside the velocity; optax's trace puts it outside, so they part."""
    def sched(t):
        return 0.05 * 0.8 ** t

    def rule(g, delta, t):
        delta = (0.0 if delta is None else 0.9 * delta) - sched(t) * g
        return delta, delta

    ours = _run(optim.momentum(sched, rho=0.9))
    _assert_same(ours, _run_numpy(rule))
    theirs = _run(optax.sgd(sched, momentum=0.9))
    assert not np.allclose(ours[-1]["w"], theirs[-1]["w"], rtol=1e-3)


def test_adagrad_equals_optax_without_its_offsets(x64):
    ours = _run(optim.adagrad(0.3))
    _assert_same(ours, _run(optax.adagrad(0.3, initial_accumulator_value=0.0, eps=0.0)))
    # optax's defaults (accumulator 0.1, eps inside the root) are a different method
    default = _run(optax.adagrad(0.3))
    assert not np.allclose(ours[0]["w"], default[0]["w"], rtol=1e-3)


def test_adagrad_eps_outside_root_as_duchi(x64):
    eps = 0.5  # large, so placement matters

    def rule(g, s, t):
        s = g * g + (0.0 if s is None else s)
        return -0.3 * g / (np.sqrt(s) + eps), s

    _assert_same(_run(optim.adagrad(0.3, eps=eps)), _run_numpy(rule))
    inside = _run(optax.adagrad(0.3, initial_accumulator_value=0.0, eps=eps))
    assert not np.allclose(_run(optim.adagrad(0.3, eps=eps))[0]["w"], inside[0]["w"], rtol=1e-3)


def test_adagrad_zero_gradient_gives_zero_update(x64):
    opt = optim.adagrad(1.0)
    params = {"w": jnp.zeros(3)}
    upd, state = opt.update({"w": jnp.array([0.0, 2.0, -1.0])}, opt.init(params))
    np.testing.assert_array_equal(upd["w"], [0.0, -1.0, 1.0])  # first step: −ρ sign(g)


@pytest.mark.parametrize("rho, eps", [(0.95, 1e-6), (0.9, 1e-3)])
def test_adadelta_equals_optax_and_formula(rho, eps, x64):
    ours = _run(optim.adadelta(rho=rho, eps=eps))
    _assert_same(ours, _run(optax.adadelta(learning_rate=1.0, rho=rho, eps=eps)))

    def rule(g, mem, t):
        eg, ex = (0.0, 0.0) if mem is None else mem
        eg = rho * eg + (1 - rho) * g * g                         # eq 66
        dx = -np.sqrt(ex + eps) / np.sqrt(eg + eps) * g           # eq 67
        ex = rho * ex + (1 - rho) * dx * dx                       # eq 68
        return dx, (eg, ex)                                       # eq 69: θ += Δθ

    _assert_same(ours, _run_numpy(rule))


def test_chains_with_optax_and_decreases_loss():
    opt = optax.chain(optax.clip_by_global_norm(1.0), optim.momentum(0.05))
    traj = _run(opt, steps=40)

    def f(p):
        return float(np.sum(np.sin(3 * p["w"]) + 0.5 * p["w"] ** 2) + np.sum(np.log1p(p["b"] ** 2))
                     + np.sum(p["w"]) * p["b"][0])

    assert f(traj[-1]) < f(jax.tree.map(np.asarray, _theta0())) - 0.5


def test_states_are_namedtuples():
    p = {"w": jnp.ones(2)}
    assert optim.momentum(0.1).init(p)._fields == ("count", "delta")
    assert optim.adagrad(0.1).init(p)._fields == ("count", "sum_sq")
    assert optim.adadelta().init(p)._fields == ("e_g2", "e_dx2")


@pytest.mark.parametrize("make", [optim.sgd, optim.momentum, optim.adagrad])
def test_negative_learning_rate_raises(make):
    with pytest.raises(JaxnnError, match="-0.1"):
        make(-0.1)


def test_bad_hyperparameters_raise():
    with pytest.raises(JaxnnError, match="1.5"):
        optim.momentum(0.1, rho=1.5)
    with pytest.raises(JaxnnError, match="-1"):
        optim.adagrad(0.1, eps=-1.0)
    with pytest.raises(JaxnnError, match="0.0"):
        optim.adadelta(eps=0.0)


# --------------------------------------------------------------------------- penalties


def _embedding_params():
    """A layout where a rule on name prefixes (W…, U…, kernel) would miss a matrix: E."""
    rng = np.random.default_rng(1)
    return {"E": jnp.asarray(rng.normal(size=(5, 3))), "W": jnp.asarray(rng.normal(size=(2, 3))),
            "b": jnp.asarray(rng.normal(size=(2,)))}


def test_mask_leaves_states_the_choice_by_path_and_leaf():
    p = {"layers": [{"W": jnp.ones((2, 3)), "b": jnp.ones(2)}], "E": jnp.ones((4, 2))}
    assert optim.mask_leaves(p, lambda path, w: w.ndim >= 2) == {
        "layers": [{"W": True, "b": False}], "E": True}
    seen = []
    optim.mask_leaves(p, lambda path, w: seen.append(path) or False)
    assert sorted(seen, key=str) == sorted([("layers", 0, "W"), ("layers", 0, "b"), ("E",)],
                                           key=str)


def test_l2_adds_lambda_theta_on_the_masked_leaves_only(x64):
    p = _embedding_params()
    g = jax.tree.map(lambda a: jnp.full_like(a, 0.25), p)
    lam = 0.3
    for mask in (optim.mask_leaves(p, lambda _, w: w.ndim >= 2),
                 lambda q: optim.mask_leaves(q, lambda _, w: w.ndim >= 2)):
        opt = optim.l2(lam, mask)
        u, _ = opt.update(g, opt.init(p), p)
        np.testing.assert_allclose(u["E"], 0.25 + lam * p["E"], rtol=1e-14)  # E is decayed
        np.testing.assert_allclose(u["W"], 0.25 + lam * p["W"], rtol=1e-14)
        np.testing.assert_array_equal(u["b"], g["b"])
    u, _ = optim.l2(lam, None).update(g, optim.l2(lam, None).init(p), p)  # None: every leaf
    np.testing.assert_allclose(u["b"], 0.25 + lam * p["b"], rtol=1e-14)


def test_l2_shares_the_mask_convention_of_the_penalties(x64):
    p = _embedding_params()
    g = jax.tree.map(jnp.zeros_like, p)
    opt = optim.l2(1.0, {"E": True, "W": False, "b": False})
    np.testing.assert_array_equal(opt.update(g, opt.init(p), p)[0]["E"], p["E"])
    with pytest.raises(JaxnnError, match="structure of params"):
        opt = optim.l2(1.0, {"E": True, "W": True})  # b missing
        opt.update(g, opt.init(p), p)


def test_l2_in_a_jitted_step_is_bitwise_the_gradient_of_the_penalised_loss():
    # chain(l2(λ, mask), rule) must reproduce differentiating loss + λ·½Σ‖W‖² to the bit
    # (written as g + λW, XLA may fuse it into one FMA and miss the last bit on most draws)
    from jaxnn.nn.losses import l2_penalty

    lam = 1e-3

    def loss(q, x, y):
        h = jnp.tanh(x @ q["W1"].T + q["b1"][None, :])
        return optax.softmax_cross_entropy_with_integer_labels(
            h @ q["W2"].T + q["b2"][None, :], y).mean()

    def chained(q, x, y):
        opt = optim.l2(lam, optim.mask_leaves(q, lambda _, w: w.ndim >= 2))
        return opt.update(jax.grad(loss)(q, x, y), opt.init(q), q)[0]

    penalised = jax.jit(jax.grad(lambda q, x, y: loss(q, x, y) + lam * l2_penalty(
        q, {"W1": True, "b1": False, "W2": True, "b2": False})))
    chained = jax.jit(chained)
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = {"W1": jnp.asarray(rng.normal(size=(16, 5)), jnp.float32), "b1": jnp.zeros(16),
             "W2": jnp.asarray(rng.normal(size=(2, 16)), jnp.float32), "b2": jnp.zeros(2)}
        x = jnp.asarray(rng.normal(size=(8, 5)), jnp.float32)
        y = jnp.asarray(rng.integers(0, 2, 8))
        a, b = chained(q, x, y), penalised(q, x, y)
        for k in q:
            np.testing.assert_array_equal(a[k], b[k])


def test_l1_adds_lambda_sign_and_nothing_at_zero(x64):
    p = {"W": jnp.array([[-2.0, 0.0, 3.0]]), "b": jnp.array([1.0])}
    g = jax.tree.map(jnp.zeros_like, p)
    opt = optim.l1(0.5, {"W": True, "b": False})
    u, _ = opt.update(g, opt.init(p), p)
    np.testing.assert_array_equal(u["W"], [[-0.5, 0.0, 0.5]])
    np.testing.assert_array_equal(u["b"], [0.0])


def test_penalties_need_params_and_zero_is_the_identity():
    p = {"W": jnp.ones((2, 2))}
    for make in (optim.l2, optim.l1):
        opt = make(0.1, None)
        with pytest.raises(JaxnnError, match="needs params"):
            opt.update(p, opt.init(p))
        zero = make(0.0, None)
        u, _ = zero.update(p, zero.init(p), p)
        assert u["W"] is p["W"]
